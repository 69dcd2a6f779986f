/* Registry queries, eligibility, shape checks and default dispatch over the generated table. */
#include "tt_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t isa_required[TT_ISA_COUNT] = {
    [TT_ISA_SCALAR] = 0,
    [TT_ISA_AVX2] = TT_F_AVX2 | TT_F_FMA,
    [TT_ISA_AVXVNNI] = TT_F_AVX2 | TT_F_FMA | TT_F_AVXVNNI,
    [TT_ISA_AVX512BW] = TT_F_AVX2 | TT_F_FMA | TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL,
    [TT_ISA_AVX512VNNI] = TT_F_AVX2 | TT_F_FMA | TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL | TT_F_AVX512VNNI,
    [TT_ISA_AVX512VBMI] = TT_F_AVX2 | TT_F_FMA | TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL | TT_F_AVX512VNNI |
                          TT_F_AVX512VBMI,
    [TT_ISA_NEON] = TT_F_NEON,
    [TT_ISA_DOTPROD] = TT_F_NEON | TT_F_DOTPROD,
    [TT_ISA_I8MM] = TT_F_NEON | TT_F_DOTPROD | TT_F_I8MM,
    [TT_ISA_AMX] = TT_F_AVX2 | TT_F_FMA | TT_F_AVX512F | TT_F_AVX512BW | TT_F_AVX512VL | TT_F_AMX_TILE | TT_F_AMX_INT8,
};

uint32_t tt_isa_required(tt_isa i) { return (unsigned)i < TT_ISA_COUNT ? isa_required[i] : 0xffffffffu; }

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

uint64_t tt_registry_hash(void)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        h = fnv(h, v->name, strlen(v->name) + 1);
        int f[] = {v->fmt, v->isa, v->layout, v->exact, v->act_min, v->act_max, v->row_align, v->k_align, v->k_max};
        h = fnv(h, f, sizeof f);
        h = fnv(h, &v->p, sizeof v->p);
        h = fnv(h, &v->op, sizeof v->op);
    }
    return h;
}

const tt_variant *tt_variant_find(const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < tt_registry_count; i++)
        if (!strcmp(tt_registry[i].name, name)) return &tt_registry[i];
    return NULL;
}

bool tt_variant_eligible(const tt_variant *v, const tt_cpu *cpu, char *why, size_t why_len)
{
    uint32_t need = tt_isa_required(v->isa), missing = need & ~cpu->usable;
    if (!missing) return true;
    if (why) {
        char buf[200];
        tt_features_str(missing, buf, sizeof buf);
        if ((need & ~cpu->os_features) == 0)
            snprintf(why, why_len, "capped by TRITUNE_ISA=%s (needs %s)", cpu->cap, buf);
        else if ((need & ~cpu->cpuid_features) == 0)
            snprintf(why, why_len, "OS does not enable %s", buf);
        else
            snprintf(why, why_len, "CPU lacks %s", buf);
    }
    return false;
}

size_t tt_variant_gemm_ws_size(const tt_variant *v, int k, int n, size_t ldq)
{
    size_t one = tt_variant_ws_size(v, k);
    if (!one || n < 1) return 0;
    return (size_t)(n - 1) * ldq + one;
}

void tt_variant_gemm_prep(const tt_variant *v, const int8_t *q, size_t ldq, int k, int n, void *ws)
{
    if (!v->prep) return;
    for (int t = 0; t < n; t++) v->prep(q + (size_t)t * ldq, k, (int8_t *)ws + (size_t)t * ldq);
}

/* Static preference when no profile exists: widest exact ISA first, then the registry's order within it; the
 * tuner replaces this with measured winners. */
static int isa_rank(tt_isa i)
{
    static const int rank[TT_ISA_COUNT] = {
        [TT_ISA_SCALAR] = 0,     [TT_ISA_AVX2] = 2, [TT_ISA_AVXVNNI] = 3, [TT_ISA_AVX512BW] = 4,
        [TT_ISA_AVX512VNNI] = 6, [TT_ISA_AVX512VBMI] = 5, [TT_ISA_NEON] = 2, [TT_ISA_DOTPROD] = 4, [TT_ISA_I8MM] = 3,
        [TT_ISA_AMX] = 7,
    };
    return rank[i];
}

/* Untuned GEMV guess. Decode streams every weight from memory once per token, so the guess is the shape that streams
 * best without tuning: the row-interleaved layout (one sequential stream per tile of rows instead of one per row:
 * what hardware prefetchers follow best), software prefetch 4 KiB ahead (about one core's bandwidth-delay product,
 * ~30 GB/s x ~130 ns), 8-row tiles with two vectors per row per step, the widest int16 fold. Measured against the
 * former guess (plain rows, 1 KiB ahead) in docs/MEASUREMENT.md. The tuner replaces the guess with measured winners. */
static int default_score(const tt_variant *v)
{
    int s = isa_rank(v->isa) * 1000;
    /* I2_S: a block of rows as independent streams (st: 1.2-1.3x the interleaved layout's one stream in the first
     * race on the 2-core Zen 3 VM, as B3's streams on the Xeon VM; docs/MEASUREMENT.md) with 1 KiB of prefetch and
     * 4 rows, then the interleaved layout with 4 KiB and 8 rows */
    if (v->fmt == TT_FMT_I2S && v->p.st)
        s += 60 + (v->p.pf == 1024 ? 20 : v->p.pf ? 10 : 0) + (v->p.rows == 4 ? 8 : 0) + (v->p.unroll == 2 ? 4 : 0) +
             (v->p.fold == 0 || v->p.fold == 64 || v->p.fold == 128 ? 1 : 0);
    else if (v->fmt == TT_FMT_I2S)
        s += (v->p.il ? 40 : 0) + (v->p.pf == 4096 ? 20 : v->p.pf ? 10 : 0) + (v->p.rows == 8 ? 8 : 0) +
             (v->p.unroll == 2 ? 4 : 0) + (v->p.fold == 0 || v->p.fold == 64 || v->p.fold == 128 ? 1 : 0);
    /* TL2 is chosen for its bytes (1.67 bits per weight in the tiled layout; the one-byte-per-triple layout of the
     * vpermb kernels holds 2.67): the tiled layout before any ISA, then prefetch, 64-row blocks, 240-column
     * blocks, the plain LUT build (the fastest TL2 shape in docs/MEASUREMENT.md's race). */
    if (v->fmt == TT_FMT_TL2)
        s += (v->layout == TT_LAYOUT_TL2_TILE ? 100000 : 0) + (v->p.pf ? 20 : 0) + (v->p.bm == 64 ? 8 : 0) +
             (v->p.bk == 240 ? 4 : 0) + (v->p.lut == 0 ? 2 : 0);
    /* B3: a block of rows as independent streams (st) first (1.2-1.3x one stream of neighbouring rows, the cold
     * in-decode pass of docs/MEASUREMENT.md), then the carry decoder (two byte dots per digit, no digit formed)
     * before the compare decoder and the tables, 4 KiB of prefetch, 4 streams (2-row blocks without st: the fastest
     * B3 shape of the first race on a 2-core Xeon). */
    if (v->fmt == TT_FMT_B3)
        s += (v->p.st ? 80 : 0) + (v->p.lut == 2 ? 40 : v->p.lut == 0 ? 10 : 0) +
             (v->p.pf == 4096 ? 20 : v->p.pf ? 10 : 0) + (v->p.rows == (v->p.st ? 4 : 2) ? 8 : 0);
    if (v->baseline) s -= 500;
    return s;
}

/* Untuned GEMM guess, the order of preference: the widest ISA; within it a kernel that reads the decode kernel's
 * packed bytes (one packed copy for decode and prefill instead of two); then more rows per block before more tokens
 * per block at the same accumulator count (a row block reuses each activation load, a token block each weight
 * load, and the weights are the larger stream), with a tile of up to 16 accumulators and software prefetch.
 * TRITUNE_GEMM_KERNEL forces another; the tuner's prefill races replace the guess (docs/MEASUREMENT.md). */
static int default_score_gemm(const tt_variant *v, const tt_variant *gemv)
{
    int s = isa_rank(v->isa) * 1000 + (gemv && tt_variant_layouts_agree(v, gemv) ? 200 : 0);
    int tile = v->p.rows * v->p.n; /* accumulators in flight, up to the 16 the register file holds beside operands */
    s += 10 * v->p.rows + 2 * (tile < 16 ? tile : 16) + (v->p.pf ? 5 : 0);
    return s;
}

const tt_variant *tt_dispatch_default_gemm(tt_fmt fmt, int m, int k, const tt_variant *gemv)
{
    const tt_cpu *cpu = tt_cpu_get();
    const char *forced = getenv("TRITUNE_GEMM_KERNEL");
    if (forced && *forced) {
        const tt_variant *v = tt_variant_find(forced);
        char why[200] = "";
        if (!v) fprintf(stderr, "tritune: TRITUNE_GEMM_KERNEL=%s: no such variant in the registry\n", forced);
        else if (v->op != TT_OP_GEMM) fprintf(stderr, "tritune: TRITUNE_GEMM_KERNEL=%s is not a GEMM variant; ignored\n", forced);
        else if (v->fmt != fmt) fprintf(stderr, "tritune: TRITUNE_GEMM_KERNEL=%s is %s, not %s; ignored\n", forced, tt_fmt_name(v->fmt), tt_fmt_name(fmt));
        else if (!tt_variant_eligible(v, cpu, why, sizeof why))
            fprintf(stderr, "tritune: TRITUNE_GEMM_KERNEL=%s is not runnable here (%s); ignored\n", forced, why);
        else if (tt_variant_check_shape(v, m, k))
            fprintf(stderr, "tritune: TRITUNE_GEMM_KERNEL=%s rejects %dx%d: %s; ignored\n", forced, m, k, tt_last_error());
        else {
            tt_debug("dispatch gemm %s %dx%d -> %s (forced by TRITUNE_GEMM_KERNEL)", tt_fmt_name(fmt), m, k, v->name);
            return v;
        }
    }
    const tt_variant *best = NULL;
    int best_s = -1;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMM || v->fmt != fmt || !v->exact || !tt_variant_eligible(v, cpu, NULL, 0) ||
            tt_variant_check_shape(v, m, k))
            continue;
        int s = default_score_gemm(v, gemv);
        if (s > best_s) best = v, best_s = s;
    }
    tt_debug("dispatch gemm %s %dx%d -> %s (static preference, no profile)", tt_fmt_name(fmt), m, k,
             best ? best->name : "none");
    if (!best) tt_fail(TT_ERR_NOTFOUND, "no eligible exact %s GEMM variant for %dx%d", tt_fmt_name(fmt), m, k);
    return best;
}

const tt_variant *tt_dispatch_default(tt_fmt fmt, int m, int k)
{
    const tt_cpu *cpu = tt_cpu_get();
    const char *forced = getenv("TRITUNE_KERNEL");
    if (forced && *forced) {
        const tt_variant *v = tt_variant_find(forced);
        char why[200] = "";
        if (!v) fprintf(stderr, "tritune: TRITUNE_KERNEL=%s: no such variant in the registry\n", forced);
        else if (v->op != TT_OP_GEMV)
            fprintf(stderr, "tritune: TRITUNE_KERNEL=%s is a %s variant (use TRITUNE_GEMM_KERNEL); ignored\n", forced,
                    tt_op_name(v->op));
        else if (v->fmt != fmt) fprintf(stderr, "tritune: TRITUNE_KERNEL=%s is %s, not %s; ignored\n", forced, tt_fmt_name(v->fmt), tt_fmt_name(fmt));
        else if (!tt_variant_eligible(v, cpu, why, sizeof why))
            fprintf(stderr, "tritune: TRITUNE_KERNEL=%s is not runnable here (%s); ignored\n", forced, why);
        else if (tt_variant_check_shape(v, m, k))
            fprintf(stderr, "tritune: TRITUNE_KERNEL=%s rejects %dx%d: %s; ignored\n", forced, m, k, tt_last_error());
        else {
            tt_debug("dispatch %s %dx%d -> %s (forced by TRITUNE_KERNEL)", tt_fmt_name(fmt), m, k, v->name);
            return v;
        }
    }
    const tt_variant *best = NULL;
    int best_s = -1;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMV || v->fmt != fmt || !v->exact || !tt_variant_eligible(v, cpu, NULL, 0) ||
            tt_variant_check_shape(v, m, k))
            continue;
        int s = default_score(v);
        if (s > best_s) best = v, best_s = s;
    }
    tt_debug("dispatch %s %dx%d -> %s (static preference, no profile)", tt_fmt_name(fmt), m, k, best ? best->name : "none");
    if (!best) tt_fail(TT_ERR_NOTFOUND, "no eligible exact %s variant for %dx%d", tt_fmt_name(fmt), m, k);
    return best;
}
