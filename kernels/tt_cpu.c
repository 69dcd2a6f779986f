#include "tt_cpu.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define TT_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define TT_ARM 1
#endif

const tt_feature_name tt_feature_names[] = {
    {TT_F_SSE42, "sse4.2"},         {TT_F_AVX2, "avx2"},           {TT_F_FMA, "fma"},
    {TT_F_AVXVNNI, "avxvnni"},      {TT_F_AVX512F, "avx512f"},     {TT_F_AVX512BW, "avx512bw"},
    {TT_F_AVX512VL, "avx512vl"},    {TT_F_AVX512VNNI, "avx512vnni"}, {TT_F_AVX512VBMI, "avx512vbmi"},
    {TT_F_AMX_TILE, "amx-tile"},    {TT_F_AMX_INT8, "amx-int8"},   {TT_F_F16C, "f16c"},   {TT_F_NEON, "neon"},
    {TT_F_DOTPROD, "dotprod"},      {TT_F_I8MM, "i8mm"},           {TT_F_SVE, "sve"},
};
const int tt_feature_count = (int)(sizeof tt_feature_names / sizeof tt_feature_names[0]);

/* ISA levels: each implies a feature set (the cap keeps only these). */
static const struct { const char *name; uint32_t mask; } isa_levels[] = {
    {"scalar", 0},
    {"sse4.2", TT_F_SSE42},
    {"avx2", TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C},
    {"avxvnni", TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI},
    {"avx512bw", TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI | TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL},
    {"avx512vnni", TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI | TT_F_AVX512F | TT_F_AVX512BW |
                       TT_F_AVX512VL | TT_F_AVX512VNNI},
    {"avx512vbmi", TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI | TT_F_AVX512F | TT_F_AVX512BW |
                       TT_F_AVX512VL | TT_F_AVX512VNNI | TT_F_AVX512VBMI},
    {"amx", TT_F_SSE42 | TT_F_AVX2 | TT_F_FMA | TT_F_F16C | TT_F_AVXVNNI | TT_F_AVX512F | TT_F_AVX512BW |
                TT_F_AVX512VL | TT_F_AVX512VNNI | TT_F_AVX512VBMI | TT_F_AMX_TILE | TT_F_AMX_INT8},
    {"neon", TT_F_NEON},
    {"dotprod", TT_F_NEON | TT_F_DOTPROD},
    {"i8mm", TT_F_NEON | TT_F_DOTPROD | TT_F_I8MM},
    {"all", 0xffffffffu},
};

bool tt_isa_level_mask(const char *name, uint32_t *mask)
{
    for (size_t i = 0; i < sizeof isa_levels / sizeof isa_levels[0]; i++)
        if (!strcmp(name, isa_levels[i].name)) {
            *mask = isa_levels[i].mask;
            return true;
        }
    return false;
}

const char *tt_features_str(uint32_t mask, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < tt_feature_count; i++)
        if (mask & tt_feature_names[i].bit)
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "", tt_feature_names[i].name);
    return buf;
}

#ifdef TT_X86
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Linux gates AMX tile data behind arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). */
static bool amx_os_permitted(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
#else
    return false;
#endif
}

static void probe_x86(tt_cpu *c)
{
    unsigned a, b, cx, d, max;
    strcpy(c->arch, "x86_64");
    __cpuid(0, max, b, cx, d);
    memcpy(c->vendor, &b, 4);
    memcpy(c->vendor + 4, &d, 4);
    memcpy(c->vendor + 8, &cx, 4);
    c->vendor[12] = 0;
    unsigned ext;
    __cpuid(0x80000000, ext, b, cx, d);
    if (ext >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++) __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        memcpy(c->brand, r, 48);
        c->brand[48] = 0;
        char *s = c->brand; /* trim */
        while (*s == ' ') s++;
        memmove(c->brand, s, strlen(s) + 1);
        for (size_t n = strlen(c->brand); n && c->brand[n - 1] == ' ';) c->brand[--n] = 0;
    }
    __cpuid(1, a, b, cx, d);
    int fam = (a >> 8) & 15, mod = (a >> 4) & 15;
    if (fam == 15) fam += (a >> 20) & 255;
    if (fam == 6 || fam >= 15) mod |= ((a >> 16) & 15) << 4;
    c->family = fam;
    c->model = mod;
    c->stepping = a & 15;
    uint32_t f = 0;
    bool osxsave = cx & (1u << 27);
    if (cx & (1u << 20)) f |= TT_F_SSE42;
    if (cx & (1u << 12)) f |= TT_F_FMA;
    bool f16c = cx & (1u << 29);
    unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    if (max >= 7) {
        __cpuid_count(7, 0, a, b7, c7, d7);
        __cpuid_count(7, 1, a71, b, cx, d);
    }
    if (b7 & (1u << 5)) f |= TT_F_AVX2;
    if (b7 & (1u << 16)) f |= TT_F_AVX512F;
    if (b7 & (1u << 30)) f |= TT_F_AVX512BW;
    if (b7 & (1u << 31)) f |= TT_F_AVX512VL;
    if (c7 & (1u << 1)) f |= TT_F_AVX512VBMI;
    if (c7 & (1u << 11)) f |= TT_F_AVX512VNNI;
    if (a71 & (1u << 4)) f |= TT_F_AVXVNNI;
    if (f16c) f |= TT_F_F16C;
    if (d7 & (1u << 24)) f |= TT_F_AMX_TILE;
    if (d7 & (1u << 25)) f |= TT_F_AMX_INT8;
    c->cpuid_features = f;

    uint32_t os = f & TT_F_SSE42;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6, tiles = (xcr0 & 0x60000) == 0x60000;
    if (ymm) os |= f & (TT_F_AVX2 | TT_F_FMA | TT_F_AVXVNNI | TT_F_F16C);
    if (zmm) os |= f & (TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL | TT_F_AVX512VNNI | TT_F_AVX512VBMI);
    if (tiles && (f & TT_F_AMX_TILE) && amx_os_permitted()) os |= f & (TT_F_AMX_TILE | TT_F_AMX_INT8);
    c->os_features = os;
    if (!osxsave && (f & ~TT_F_SSE42))
        snprintf(c->os_note, sizeof c->os_note, "OSXSAVE off: AVX state not enabled by the OS");
    else if (!zmm && (f & TT_F_AVX512F))
        snprintf(c->os_note, sizeof c->os_note, "XCR0=0x%llx: OS does not save ZMM state, AVX-512 unusable",
                 (unsigned long long)xcr0);
    else if ((f & TT_F_AMX_TILE) && !(os & TT_F_AMX_TILE))
        snprintf(c->os_note, sizeof c->os_note, "AMX present but tile data not permitted by the OS");
#ifdef TT_AMX_EMU
    /* Test build only (tests/meson.build): the AMX kernels run on the scalar tile model of tt_amx.h, and their
     * weight decode is AVX-512BW, so "AMX" is usable wherever AVX-512BW is. */
    const uint32_t bw = TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL;
    if ((c->os_features & bw) == bw) {
        c->cpuid_features |= TT_F_AMX_TILE | TT_F_AMX_INT8;
        c->os_features |= TT_F_AMX_TILE | TT_F_AMX_INT8;
        snprintf(c->os_note, sizeof c->os_note, "AMX emulated: test build with the scalar tile model (tt_amx.h)");
    }
#endif
}
#endif

#ifdef TT_ARM
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP_SVE
#define HWCAP_SVE (1 << 22)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
static void probe_arm(tt_cpu *c)
{
    strcpy(c->arch, "aarch64");
    unsigned long h = getauxval(AT_HWCAP), h2 = getauxval(AT_HWCAP2);
    uint32_t f = TT_F_NEON; /* Advanced SIMD is mandatory on AArch64 Linux */
    if (h & HWCAP_ASIMDDP) f |= TT_F_DOTPROD;
    if (h & HWCAP_SVE) f |= TT_F_SVE;
    if (h2 & HWCAP2_I8MM) f |= TT_F_I8MM;
    c->cpuid_features = c->os_features = f; /* HWCAP already means kernel support */
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (fp && fgets(line, sizeof line, fp)) {
        unsigned v;
        if (sscanf(line, "CPU implementer : %x", &v) == 1) snprintf(c->vendor, sizeof c->vendor, "0x%02x", v);
        else if (sscanf(line, "CPU part : %x", &v) == 1) c->model = (int)v;
        else if (sscanf(line, "CPU variant : %x", &v) == 1) c->family = (int)v;
        else if (sscanf(line, "CPU revision : %u", &v) == 1) c->stepping = (int)v;
    }
    if (fp) fclose(fp);
    snprintf(c->brand, sizeof c->brand, "ARM implementer %s part 0x%03x", c->vendor[0] ? c->vendor : "?",
             c->model);
}
#endif

void tt_cpu_probe(tt_cpu *c, const char *isa_cap)
{
    memset(c, 0, sizeof *c);
#if defined(TT_X86)
    probe_x86(c);
#elif defined(TT_ARM)
    probe_arm(c);
#else
    strcpy(c->arch, "unknown");
#endif
    c->usable = c->os_features;
    if (isa_cap && *isa_cap) {
        uint32_t m;
        snprintf(c->cap, sizeof c->cap, "%s", isa_cap);
        if (tt_isa_level_mask(isa_cap, &m)) c->usable &= m;
        else {
            fprintf(stderr, "tritune: TRITUNE_ISA=%s is not a known ISA level; using scalar only\n", isa_cap);
            c->usable = 0;
        }
    }
}

static tt_cpu g_cpu;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void probe_once(void)
{
    tt_cpu_probe(&g_cpu, getenv("TRITUNE_ISA"));
    char b1[256], b2[256];
    tt_debug("cpu %s %s family %d model %d stepping %d; usable features: %s%s%s%s", g_cpu.vendor, g_cpu.brand,
             g_cpu.family, g_cpu.model, g_cpu.stepping, tt_features_str(g_cpu.usable, b1, sizeof b1),
             g_cpu.cap[0] ? " (capped by TRITUNE_ISA=" : "", g_cpu.cap, g_cpu.cap[0] ? ")" : "");
    if (g_cpu.os_note[0]) tt_debug("%s", g_cpu.os_note);
    (void)b2;
}

const tt_cpu *tt_cpu_get(void)
{
    pthread_once(&g_once, probe_once);
    return &g_cpu;
}

bool tt_debug_enabled(void)
{
    const char *d = getenv("TRITUNE_DEBUG");
    return d && *d && strcmp(d, "0");
}

void tt_debug(const char *fmt, ...)
{
    if (!tt_debug_enabled()) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("tritune: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- identity ---- */
static struct {
    size_t l1d, l2, l3;
    int cores, pus;
} id_topo;

void tt_cpu_id_set_topology(size_t l1d, size_t l2, size_t l3, int cores, int pus)
{
    id_topo.l1d = l1d, id_topo.l2 = l2, id_topo.l3 = l3, id_topo.cores = cores, id_topo.pus = pus;
}

void tt_cpu_id_current(tt_cpu_id *id)
{
    const tt_cpu *c = tt_cpu_get();
    memset(id, 0, sizeof *id);
    _Static_assert(sizeof id->arch == sizeof c->arch && sizeof id->vendor == sizeof c->vendor &&
                       sizeof id->brand == sizeof c->brand, "tt_cpu_id and tt_cpu name fields");
    memcpy(id->arch, c->arch, sizeof id->arch);
    memcpy(id->vendor, c->vendor, sizeof id->vendor);
    memcpy(id->brand, c->brand, sizeof id->brand);
    id->arch[sizeof id->arch - 1] = id->vendor[sizeof id->vendor - 1] = id->brand[sizeof id->brand - 1] = 0;
    id->family = c->family, id->model = c->model, id->stepping = c->stepping;
    id->features = c->os_features;
    id->l1d = id_topo.l1d, id->l2 = id_topo.l2, id->l3 = id_topo.l3, id->cores = id_topo.cores, id->pus = id_topo.pus;
}

tt_id_match tt_cpu_id_match(const tt_cpu_id *t, const tt_cpu_id *h, char *why, size_t why_n)
{
    char own[2], a[256], b[256];
    if (!why) why = own, why_n = sizeof own;
    why[0] = 0;
#define SAME_S(f)                                                                                                      \
    if (strcmp(t->f, h->f)) {                                                                                         \
        snprintf(why, why_n, "tuned on another CPU: cpu." #f " is '%s', this machine has '%s'", t->f, h->f);           \
        return TT_ID_OTHER;                                                                                           \
    }
#define SAME_I(f)                                                                                                      \
    if (t->f != h->f && (t->f && h->f)) {                                                                             \
        snprintf(why, why_n, "tuned on another CPU: cpu." #f " is %lld, this machine has %lld", (long long)t->f,       \
                 (long long)h->f);                                                                                    \
        return TT_ID_OTHER;                                                                                           \
    }
    SAME_S(arch) SAME_S(vendor)
    if (t->family != h->family || t->model != h->model || t->stepping != h->stepping) {
        snprintf(why, why_n, "tuned on another CPU: family %d model %d stepping %d, this machine is family %d model %d "
                 "stepping %d", t->family, t->model, t->stepping, h->family, h->model, h->stepping);
        return TT_ID_OTHER;
    }
    if (t->features != h->features) {
        snprintf(why, why_n, "tuned with other ISA features: cpu.features [%s], this machine [%s]",
                 tt_features_str(t->features, a, sizeof a), tt_features_str(h->features, b, sizeof b));
        return TT_ID_OTHER;
    }
    SAME_I(cores) SAME_I(pus) SAME_I(l1d) SAME_I(l2) SAME_I(l3)
#undef SAME_S
#undef SAME_I
    if (strcmp(t->brand, h->brand)) {
        snprintf(why, why_n, "tuned on the same part under another brand string ('%s'; here '%s'): used", t->brand,
                 h->brand);
        return TT_ID_SAME_BUT_BRAND;
    }
    return TT_ID_SAME;
}
