/* tritune-gen — expands gen/manifest.txt into GEMV and GEMM variant sources and one registry table.
 *
 *   tritune-gen --manifest M --arch x86|arm --out DIR   write DIR/<fmt>_<isa>.c and DIR/<fmt>_<op>_<isa>.c for
 *                                                       non-GEMV ops (one file per family and ISA: the unit of ISA
 *                                                       flags, and a fixed output list for meson) and DIR/registry.c
 *   tritune-gen --manifest M [--arch A] --list          print the variant names, one per line
 *   tritune-gen --manifest M [--arch A] --emit NAME     print one variant's source as it is compiled
 *
 * Output is deterministic: the same manifest gives byte-identical files (no dates, no paths, sorted by manifest
 * order). A manifest row that could break an overflow budget is refused with the rule it breaks (exit 2). */
#include "gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Families in output order: one file per (family, ISA). */
static const gen_family *const families[] = {&gen_family_i2s, &gen_family_tl1, &gen_family_tl2, &gen_family_b3,
                                             &gen_family_i2s_gemm};
#define N_FAMILIES (int)(sizeof families / sizeof families[0])

static const gen_family *family_of(tt_fmt fmt, tt_op op)
{
    for (int i = 0; i < N_FAMILIES; i++)
        if (families[i]->fmt == fmt && families[i]->op == op) return families[i];
    return NULL;
}

/* ---- manifest ---- */
#define MAX_VARIANTS 4096
static gen_variant variants[MAX_VARIANTS];
static int n_variants;

typedef struct axis {
    char key[8];
    int vals[16];
    int n;
} axis;

static int set_param(tt_params *p, const char *key, int v)
{
    static const struct { const char *k; size_t off; } keys[] = {
        {"r", offsetof(tt_params, rows)}, {"u", offsetof(tt_params, unroll)}, {"f", offsetof(tt_params, fold)},
        {"p", offsetof(tt_params, pf)},   {"il", offsetof(tt_params, il)},    {"bm", offsetof(tt_params, bm)},
        {"bk", offsetof(tt_params, bk)},  {"lut", offsetof(tt_params, lut)}, {"n", offsetof(tt_params, n)},
        {"st", offsetof(tt_params, st)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i].k)) {
            *(int *)((char *)p + keys[i].off) = v;
            return 0;
        }
    return -1;
}

static unsigned skipped_isas; /* --skip-isa: ISAs the compiler cannot build (bit per tt_isa) */

static int arch_has_isa(const char *arch, tt_isa isa)
{
    if (isa == TT_ISA_SCALAR) return 1;
    if (skipped_isas & (1u << isa)) return 0;
    if (!strcmp(arch, "x86")) return gen_isa_is_x86(isa);
    if (!strcmp(arch, "arm")) return gen_isa_is_arm(isa);
    return 1; /* "all" */
}

static void expand(const char *file, int line, const gen_family *fam, tt_isa isa, const char *trick, axis *ax,
                   int nax, int a, tt_params *p)
{
    if (a < nax) {
        for (int i = 0; i < ax[a].n; i++) {
            set_param(p, ax[a].key, ax[a].vals[i]);
            expand(file, line, fam, isa, trick, ax, nax, a + 1, p);
        }
        return;
    }
    gen_variant v = {0};
    v.x.fmt = fam->fmt;
    v.x.op = fam->op;
    v.x.isa = isa;
    v.x.p = *p;
    snprintf(v.x.trick, sizeof v.x.trick, "%s", trick);
    const char *why = fam->derive(&v);
    if (!why && p->st && fam->fmt != TT_FMT_B3 && !(fam->fmt == TT_FMT_I2S && fam->op == TT_OP_GEMV))
        why = "st (a stream per row of a block) is a b3 and i2s GEMV parameter";
    if (!why && (p->st < 0 || p->st > 1)) why = "st is a flag: 0 or 1";
    if (why && !strncmp(why, "skip:", 5)) return;
    tt_name_format(&v.x, v.name, sizeof v.name);
    if (why) {
        fprintf(stderr, "%s:%d: refused %s: %s\n", file, line, v.name, why);
        exit(2);
    }
    for (int i = 0; i < n_variants; i++)
        if (!strcmp(variants[i].name, v.name)) {
            fprintf(stderr, "%s:%d: %s is listed twice\n", file, line, v.name);
            exit(2);
        }
    if (n_variants == MAX_VARIANTS) {
        fprintf(stderr, "%s:%d: more than %d variants\n", file, line, MAX_VARIANTS);
        exit(2);
    }
    variants[n_variants++] = v;
}

static void load_manifest(const char *path, const char *arch)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tritune-gen: cannot open manifest %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char buf[1024];
    int line = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash) *hash = 0;
        char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save);
        if (!tok) continue;
        int fmt = tt_fmt_from_name(tok);
        if (fmt < 0) {
            fprintf(stderr, "%s:%d: unknown format '%s'\n", path, line, tok);
            exit(2);
        }
        tok = strtok_r(NULL, " \t\r\n", &save);
        int isa = tok ? tt_isa_from_name(tok) : -1;
        if (isa < 0) {
            fprintf(stderr, "%s:%d: unknown ISA '%s'\n", path, line, tok ? tok : "");
            exit(2);
        }
        axis ax[8];
        int nax = 0;
        char trick[16] = "";
        tt_op op = TT_OP_GEMV;
        while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
            char *eq = strchr(tok, '=');
            if (!eq || eq == tok || eq - tok >= 8) {
                fprintf(stderr, "%s:%d: expected axis=values, got '%s'\n", path, line, tok);
                exit(2);
            }
            *eq = 0;
            if (!strcmp(tok, "trick")) {
                snprintf(trick, sizeof trick, "%s", eq + 1);
                continue;
            }
            if (!strcmp(tok, "op")) {
                int o = tt_op_from_name(eq + 1);
                if (o < 0) {
                    fprintf(stderr, "%s:%d: unknown op '%s'\n", path, line, eq + 1);
                    exit(2);
                }
                op = (tt_op)o;
                continue;
            }
            if (nax == 8) {
                fprintf(stderr, "%s:%d: too many axes\n", path, line);
                exit(2);
            }
            axis *a = &ax[nax++];
            snprintf(a->key, sizeof a->key, "%s", tok);
            tt_params probe = {0};
            if (set_param(&probe, tok, 0)) {
                fprintf(stderr, "%s:%d: unknown axis '%s'\n", path, line, tok);
                exit(2);
            }
            a->n = 0;
            for (char *s2 = NULL, *v = strtok_r(eq + 1, ",", &s2); v; v = strtok_r(NULL, ",", &s2)) {
                char *end;
                long x = strtol(v, &end, 10);
                if (*end || x < 0 || x > 1 << 16 || a->n == 16) {
                    fprintf(stderr, "%s:%d: bad value '%s' for axis %s\n", path, line, v, a->key);
                    exit(2);
                }
                a->vals[a->n++] = (int)x;
            }
        }
        const gen_family *fam = family_of((tt_fmt)fmt, op);
        if (!fam) {
            fprintf(stderr, "%s:%d: refused: no %s family for format %s\n", path, line, tt_op_name(op),
                    tt_fmt_name((tt_fmt)fmt));
            exit(2);
        }
        if (!arch_has_isa(arch, (tt_isa)isa)) continue;
        tt_params p = {0};
        expand(path, line, fam, (tt_isa)isa, trick, ax, nax, 0, &p);
    }
    fclose(f);
}

/* ---- output ---- */
static const char *isa_includes(tt_isa isa)
{
    if (isa == TT_ISA_SCALAR) return "";
    if (isa == TT_ISA_AMX) return "#include <immintrin.h>\n#include \"tt_amx.h\"\n";
    return gen_isa_is_arm(isa) ? "#include <arm_neon.h>\n" : "#include <immintrin.h>\n";
}

static void emit_file_head(FILE *o, const gen_family *fam, tt_isa isa)
{
    char what[96];
    if (fam->op == TT_OP_GEMV) snprintf(what, sizeof what, "Family %s, ISA %s.", tt_fmt_name(fam->fmt), tt_isa_name(isa));
    else snprintf(what, sizeof what, "Family %s %s, ISA %s.", tt_fmt_name(fam->fmt), tt_op_name(fam->op), tt_isa_name(isa));
    gen_banner(o, what);
    fprintf(o, "#include \"tt_registry.h\"\n\n#include <assert.h>\n#include <stddef.h>\n#include <stdint.h>\n%s\n",
            isa_includes(isa));
    if (fam->prelude) fam->prelude(o, isa);
}

static void emit_variant(FILE *o, const gen_variant *v)
{
    char what[400], nn[16] = "";
    if (v->x.op == TT_OP_GEMM) snprintf(nn, sizeof nn, " n=%d", v->x.p.n);
    snprintf(what, sizeof what, "%s: r=%d%s u=%d f=%d p=%d il=%d bm=%d bk=%d lut=%d%s%s%s; exact on q in [%d, %d]",
             v->name, v->x.p.rows, nn, v->x.p.unroll, v->x.p.fold, v->x.p.pf, v->x.p.il, v->x.p.bm, v->x.p.bk,
             v->x.p.lut, v->x.p.st ? " st=1" : "", v->x.trick[0] ? " trick=" : "", v->x.trick, v->act_min, v->act_max);
    fprintf(o, "\n/* ---- %s ---- */\n", what);
    family_of(v->x.fmt, v->x.op)->emit(o, v);
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *o = fopen(path, "w");
    if (!o) {
        fprintf(stderr, "tritune-gen: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return o;
}

static const char *const layout_enum[TT_LAYOUT_COUNT] = {"TT_LAYOUT_I2S", "TT_LAYOUT_I2S_IL", "TT_LAYOUT_TL1_TILE",
                                                         "TT_LAYOUT_TL2_TILE", "TT_LAYOUT_TL2_BYTE",
                                                         "TT_LAYOUT_TL1_QUAD", "TT_LAYOUT_B3"};
static const char *const fmt_enum[TT_FMT_COUNT] = {"TT_FMT_I2S", "TT_FMT_TL1", "TT_FMT_TL2", "TT_FMT_B3"};
static const char *const isa_enum[TT_ISA_COUNT] = {"TT_ISA_SCALAR", "TT_ISA_AVX2", "TT_ISA_AVXVNNI",
                                                   "TT_ISA_AVX512BW", "TT_ISA_AVX512VNNI", "TT_ISA_AVX512VBMI",
                                                   "TT_ISA_NEON", "TT_ISA_DOTPROD", "TT_ISA_I8MM",
                                                   "TT_ISA_AMX"};

static void prep_name(const gen_variant *v, char *buf, size_t n)
{
    if (!v->has_prep) snprintf(buf, n, "NULL");
    else if (v->x.fmt == TT_FMT_I2S) snprintf(buf, n, "tt_i2s_prep_q256");
    else snprintf(buf, n, "%s_prep", v->name);
}

static void write_all(const char *dir, const char *arch)
{
    for (int f = 0; f < N_FAMILIES; f++)
        for (int isa = 0; isa < TT_ISA_COUNT; isa++) {
            const gen_family *fam = families[f];
            if (!arch_has_isa(arch, (tt_isa)isa)) continue;
            char name[64];
            if (fam->op == TT_OP_GEMV)
                snprintf(name, sizeof name, "%s_%s.c", tt_fmt_name(fam->fmt), tt_isa_name((tt_isa)isa));
            else
                snprintf(name, sizeof name, "%s_%s_%s.c", tt_fmt_name(fam->fmt), tt_op_name(fam->op),
                         tt_isa_name((tt_isa)isa));
            FILE *o = open_out(dir, name);
            emit_file_head(o, fam, (tt_isa)isa);
            for (int i = 0; i < n_variants; i++)
                if (variants[i].x.fmt == fam->fmt && variants[i].x.op == fam->op && variants[i].x.isa == (tt_isa)isa)
                    emit_variant(o, &variants[i]);
            fclose(o);
        }
    FILE *o = open_out(dir, "registry.c");
    gen_banner(o, "The registry: one row per variant (docs/DESIGN.md §2).");
    fprintf(o, "#include \"tt_registry.h\"\n\n#include <stddef.h>\n\n");
    fprintf(o, "void tt_i2s_prep_q256(const int8_t *q, int k, void *ws);\n");
    for (int i = 0; i < n_variants; i++) {
        fprintf(o, "void %s(const %s *, int32_t *, int, int);\n", variants[i].name,
                variants[i].x.op == TT_OP_GEMM ? "tt_gemm_args" : "tt_gemv_args");
        if (variants[i].has_prep && variants[i].x.fmt != TT_FMT_I2S)
            fprintf(o, "void %s_prep(const int8_t *, int, void *);\n", variants[i].name);
    }
    fprintf(o, "\nconst tt_variant tt_registry[] = {\n");
    for (int i = 0; i < n_variants; i++) {
        const gen_variant *v = &variants[i];
        char prep[200];
        prep_name(v, prep, sizeof prep);
        int gemm = v->x.op == TT_OP_GEMM;
        fprintf(o,
                "    {.name = \"%s\", .fmt = %s, .isa = %s, .layout = %s,\n"
                "     .p = {.rows = %d, .unroll = %d, .fold = %d, .pf = %d, .il = %d, .bm = %d, .bk = %d, .lut = %d, .n = %d, .st = %d},\n"
                "     .exact = %s, .baseline = %s, .act_min = %d, .act_max = %d, .row_align = %d, .k_align = %d, .k_max = %d,\n"
                "     .prep = %s, .op = %s, .%s = %s},\n",
                v->name, fmt_enum[v->x.fmt], isa_enum[v->x.isa], layout_enum[v->layout], v->x.p.rows, v->x.p.unroll,
                v->x.p.fold, v->x.p.pf, v->x.p.il, v->x.p.bm, v->x.p.bk, v->x.p.lut, v->x.p.n, v->x.p.st, v->exact ? "true" : "false",
                !strcmp(v->x.trick, "base") ? "true" : "false", v->act_min, v->act_max, v->row_align, v->k_align,
                v->k_max, prep, gemm ? "TT_OP_GEMM" : "TT_OP_GEMV", gemm ? "gemm" : "gemv", v->name);
    }
    fprintf(o, "};\n\nconst int tt_registry_count = %d;\n", n_variants);
    fclose(o);
}

static void usage(FILE *o)
{
    fprintf(o, "usage: tritune-gen --manifest FILE [--arch x86|arm|all] [--skip-isa ISA]... (--out DIR | --list | --emit NAME)\n"
               "  --skip-isa   leave an ISA's variants out (the build's compiler cannot compile them)\n"
               "  --out DIR    write <fmt>_<isa>.c per family and ISA plus registry.c\n"
               "  --list       print every variant name the manifest yields for the arch\n"
               "  --emit NAME  print the source of one variant (with its file prelude)\n");
}

int main(int argc, char **argv)
{
    const char *manifest = NULL, *arch = "all", *out = NULL, *emit = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--manifest") && i + 1 < argc) manifest = argv[++i];
        else if (!strcmp(argv[i], "--arch") && i + 1 < argc) arch = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--emit") && i + 1 < argc) emit = argv[++i];
        else if (!strcmp(argv[i], "--list")) list = 1;
        else if (!strcmp(argv[i], "--skip-isa") && i + 1 < argc) {
            int isa = tt_isa_from_name(argv[++i]);
            if (isa <= 0) {
                fprintf(stderr, "tritune-gen: --skip-isa %s: not an ISA that can be skipped\n", argv[i]);
                return 2;
            }
            skipped_isas |= 1u << isa;
        }
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!manifest || (!out && !list && !emit) || (strcmp(arch, "x86") && strcmp(arch, "arm") && strcmp(arch, "all"))) {
        usage(stderr);
        return 2;
    }
    load_manifest(manifest, arch);
    if (list)
        for (int i = 0; i < n_variants; i++) printf("%s\n", variants[i].name);
    if (emit) {
        for (int i = 0; i < n_variants; i++)
            if (!strcmp(variants[i].name, emit)) {
                emit_file_head(stdout, family_of(variants[i].x.fmt, variants[i].x.op), variants[i].x.isa);
                emit_variant(stdout, &variants[i]);
                return 0;
            }
        fprintf(stderr, "tritune-gen: no variant named %s in %s (arch %s)\n", emit, manifest, arch);
        return 1;
    }
    if (out) write_all(out, arch);
    return 0;
}
