/* tritune list | verify | bench: the registry, the exactness sweep, and Google Benchmark timing of variants. */
#include "tt_cli.h"
#include "tt_dense.h"
#include "tt_cpu.h"
#include "tt_opt.h"
#include "tt_verify.h"
#include "tt_gbench.h"
#include "tt_harness.h"
#include "tt_papi.h"
#include "tt_race.h"
#include "tt_topo.h"

#include <jansson.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static void list_usage(FILE *f)
{
    fprintf(f, "usage: tritune list [--format i2s|tl1|tl2|b3] [--isa ISA] [--eligible] [--json] [PATTERN]\n"
               "       tritune list --heads [--eligible] [--json] [PATTERN]\n"
               "  one row per registry variant: name, format, ISA, layout parameters, exactness, activation\n"
               "  domain, and whether this CPU/OS can run it (with the missing feature if not).\n"
               "  --heads: the LM-head kernel family instead (f16, i8, q6_K, q8_0, q4_0 members: kind, rows per\n"
               "  step, prefetch, whether this CPU/OS can run it); the names TRITUNE_HEAD_KERNEL and\n"
               "  bench-ab --head-kernel take.\n");
}

/* The LM-head family (kernels/tt_dense.h). */
static int list_heads(const char *pat, bool eligible_only, bool json)
{
    int n, shown = 0, usable_n = 0;
    const tt_dense_variant *vs = tt_dense_variants(&n);
    const uint32_t have = tt_cpu_get()->usable;
    json_t *arr = json_array();
    if (!json)
        printf("%-36s %-5s %4s %7s %8s %s\n", "head kernel", "kind", "rows", "streams", "prefetch", "usable here");
    for (int i = 0; i < n; i++) {
        const tt_dense_variant *v = &vs[i];
        if (pat && !tt_match(pat, v->name)) continue;
        bool u = tt_dense_variant_usable(v);
        if (eligible_only && !u) continue;
        char why[200] = "", miss[160];
        if (!u) snprintf(why, sizeof why, "missing %s", tt_features_str(v->needs & ~have, miss, sizeof miss));
        shown++, usable_n += u;
        if (json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:s}", "name", v->name, "kind",
                                                 tt_dense_kind_name(v->kind), "rows", v->rows, "streams",
                                                 v->streams ? v->streams : 1, "prefetch", v->prefetch_blocks,
                                                 "prefetch_bytes", v->prefetch_bytes, "usable", u, "why_not", why));
        else {
            char pf[16]; /* blocks of rows ahead (rows ahead in each stream for q6_K _s), or bytes ahead ("1024B") */
            if (v->prefetch_bytes) snprintf(pf, sizeof pf, "%dB", v->prefetch_bytes);
            else snprintf(pf, sizeof pf, "%d", v->prefetch_blocks);
            printf("%-36s %-5s %4d %7d %8s %s%s\n", v->name, tt_dense_kind_name(v->kind), v->rows,
                   v->streams ? v->streams : 1, pf, u ? "yes" : "no: ", why);
        }
    }
    if (json) {
        json_dumpf(arr, stdout, JSON_INDENT(1));
        printf("\n");
    } else {
        printf("%d head kernels listed, %d usable here\n", shown, usable_n);
    }
    json_decref(arr);
    return 0;
}

int tt_cmd_list(int argc, char **argv)
{
    const char *fmt = NULL, *isa = NULL, *pat = NULL;
    bool json = false, eligible_only = false, heads = false;
    const tt_opt opts[] = {
        TT_O_STR("--format", NULL, &fmt),
        TT_O_STR("--isa", NULL, &isa),
        TT_O_FLAG("--json", NULL, &json),
        TT_O_FLAG("--eligible", NULL, &eligible_only),
        TT_O_FLAG("--heads", NULL, &heads),
    };
    int rc = tt_opt_parse(&(tt_cmd){.verb = "list", .usage = list_usage, .opts = opts, .nopts = TT_NOPTS(opts),
                                    .pos = &pat, .max_pos = 1},
                          argc, argv);
    if (rc >= 0) return rc;
    if (heads) {
        if (fmt || isa) {
            fprintf(stderr, "tritune list: --heads takes no --format or --isa (filter by PATTERN)\n");
            return 2;
        }
        return list_heads(pat, eligible_only, json);
    }
    if (fmt && tt_fmt_from_name(fmt) < 0) {
        fprintf(stderr, "tritune list: unknown format '%s' (i2s, tl1, tl2, b3)\n", fmt);
        return 2;
    }
    if (isa && tt_isa_from_name(isa) < 0) {
        fprintf(stderr, "tritune list: unknown ISA '%s'\n", isa);
        return 2;
    }
    const tt_cpu *cpu = tt_cpu_get();
    json_t *arr = json_array();
    int shown = 0, elig = 0;
    if (!json) printf("%-48s %-4s %-11s %-5s %-9s %s\n", "variant", "fmt", "isa", "exact", "domain", "eligible here");
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (fmt && strcmp(tt_fmt_name(v->fmt), fmt)) continue;
        if (isa && strcmp(tt_isa_name(v->isa), isa)) continue;
        if (pat && !tt_match(pat, v->name)) continue;
        char why[200] = "";
        bool e = tt_variant_eligible(v, cpu, why, sizeof why);
        if (eligible_only && !e) continue;
        shown++;
        elig += e;
        if (json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:b, s:i, s:i, s:i, s:i}, s:b, s:b, "
                                                 "s:[i, i], s:i, s:i, s:b, s:s}",
                                                 "name", v->name, "op", tt_op_name(v->op), "format", tt_fmt_name(v->fmt), "isa", tt_isa_name(v->isa),
                                                 "params", "rows", v->p.rows, "unroll", v->p.unroll, "fold", v->p.fold,
                                                 "prefetch", v->p.pf, "interleaved", v->p.il, "bm", v->p.bm, "bk", v->p.bk,
                                                 "lut", v->p.lut, "tokens", v->p.n, "exact", v->exact, "baseline", v->baseline, "domain",
                                                 v->act_min, v->act_max, "row_align", v->row_align, "k_align", v->k_align,
                                                 "eligible", e, "why_not", why));
        else
            printf("%-48s %-4s %-11s %-5s [%d,%d] %s%s\n", v->name, tt_fmt_name(v->fmt), tt_isa_name(v->isa),
                   v->exact ? "yes" : "NO", v->act_min, v->act_max, e ? "yes" : "no: ", why);
    }
    if (json) {
        json_dumpf(arr, stdout, JSON_INDENT(1));
        printf("\n");
    } else {
        printf("%d variants listed, %d eligible here (registry: %d)\n", shown, elig, tt_registry_count);
    }
    json_decref(arr);
    return 0;
}

/* ---- verify: the exactness sweep of tests/kernels/test_variants.c, as a user command ---- */
static void verify_usage(FILE *f)
{
    fprintf(f, "usage: tritune verify [--quick] [PATTERN]\n"
               "Runs every eligible variant (matching PATTERN: '*' wildcards, A,B alternatives, else a substring) through\n"
               "the verifier (kernels/tt_verify.h) against the scalar oracle, bit for bit: K around every block size, M\n"
               "around the row block, 2B4T shapes, adversarial inputs (q at both ends of the variant's domain, T all +1\n"
               "/ -1, K up to 2^20, 2^14 with --quick), row-range and thread-pool splits; GEMM rows also every token\n"
               "count around the token block and padded strides. Prints ok / MISMATCH (first differing token, row and\n"
               "values) / skipped (missing feature). Exit 1 on any mismatch or when PATTERN matches nothing.\n");
}

int tt_cmd_verify(int argc, char **argv)
{
    const char *pat = NULL;
    bool quick = false;
    const tt_opt opts[] = {TT_O_FLAG("--quick", NULL, &quick)};
    int rc = tt_opt_parse(&(tt_cmd){.verb = "verify", .usage = verify_usage, .opts = opts, .nopts = TT_NOPTS(opts),
                                    .pos = &pat, .max_pos = 1},
                          argc, argv);
    if (rc >= 0) return rc;
    const tt_cpu *cpu = tt_cpu_get();
    int ok = 0, bad = 0, skip = 0;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (pat && !tt_match(pat, v->name)) continue;
        char why[256];
        if (!tt_variant_eligible(v, cpu, why, sizeof why)) {
            printf("skipped   %s: %s\n", v->name, why);
            skip++;
            continue;
        }
        char detail[400] = "";
        int cases = 0;
        tt_status st = tt_verify_variant(v, quick, &cases, detail, sizeof detail);
        if (st) {
            printf("MISMATCH  %s: %s\n", v->name, detail[0] ? detail : tt_last_error());
            bad++;
        } else {
            printf("ok        %s (%d %sshapes)\n", v->name, cases, v->op == TT_OP_GEMM ? "GEMM " : "");
            ok++;
        }
        fflush(stdout);
    }
    printf("verify: %d ok, %d mismatching, %d skipped (CPU/OS lacks the ISA)\n", ok, bad, skip);
    if (!ok && !bad && !skip) {
        fprintf(stderr, "tritune verify: no variant matches '%s' (tritune list shows the names)\n", pat ? pat : "");
        return 1;
    }
    return bad ? 1 : 0;
}

/* ---- bench ---- */
static void bind_cb(void *ctx, int idx) { tt_topo_bind_thread(ctx, idx); }

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: tritune bench --variant PATTERN [--shape MxK] [--threads N] [--regime cold|warm|both]\n"
               "                     [--reps N] [--min-time S] [--split even|chunk] [--no-baseline] [--no-ceiling]\n"
               "                     [--json FILE] [--oversubscribe] [--ab LIB.so]\n"
               "  Times every eligible exact variant matching PATTERN ('*' wildcards, else substring; A,B\n"
               "  matches either) plus the baseline of each format, interleaved in random order within one\n"
               "  Google Benchmark run.\n"
               "  cold: rotating weight copies (4x the measured cache-resident size, >= 256 MiB) so weights\n"
               "  stream from DRAM; warm: one copy. Every variant is verified against the oracle first.\n"
               "  Cold runs also time four pseudo-variants marked (ceiling): a pure streaming read of the same\n"
               "  I2_S weight bytes with no compute, without software prefetch, with it 8 KiB and 1 KiB ahead,\n"
               "  and as four streams per thread. No I2_S GEMV can beat the fastest of them (TL formats and B3\n"
               "  read fewer bytes), so it bounds the I2_S speedup over the baseline this machine allows\n"
               "  (--no-ceiling: off).\n"
               "  Prints median time, GB/s of weights (bytes / wall time) and the ratio to the first baseline;\n"
               "  --json writes Google Benchmark's own JSON (compare.py works on it). More threads than online\n"
               "  CPUs are refused unless --oversubscribe.\n"
               "  --ab LIB.so: a generator A/B. LIB holds the same kernels generated by another version of the\n"
               "  generator (ci/gen_ab.sh OLD_COMMIT builds it); each selected kernel found there is verified and\n"
               "  raced beside its namesake as ab:<name>, interleaved on the same bytes in this one process.\n");
}

int tt_cmd_bench(int argc, char **argv)
{
    const char *pat = NULL, *json_path = NULL, *regime_s = "both", *split_s = "even", *ab_lib = NULL;
    long threads_l = 1, reps_l = 10;
    tt_opt_shape shape = {2560, 2560};
    double min_time = 0.05;
    bool no_baseline = false, no_ceiling = false, over = false;
    const tt_opt opts[] = {
        TT_O_STR("--variant", NULL, &pat),
        TT_O_SHAPE("--shape", NULL, &shape, 1 << 20, 1 << 24),
        TT_O_INT("--threads", "-t", &threads_l, 1, 4096),
        TT_O_STR("--json", NULL, &json_path),
        TT_O_CHOICE("--regime", NULL, &regime_s, "cold|warm|both"),
        TT_O_INT("--reps", NULL, &reps_l, 1, 1000),
        TT_O_NUM("--min-time", NULL, &min_time, 1e-4, 600),
        TT_O_CHOICE("--split", NULL, &split_s, "even|chunk"),
        TT_O_FLAG("--no-baseline", NULL, &no_baseline),
        TT_O_FLAG("--no-ceiling", NULL, &no_ceiling),
        TT_O_FLAG("--oversubscribe", NULL, &over),
        TT_O_STR("--ab", NULL, &ab_lib),
    };
    int rc = tt_opt_parse(&(tt_cmd){.verb = "bench", .usage = bench_usage, .opts = opts, .nopts = TT_NOPTS(opts)},
                          argc, argv);
    if (rc >= 0) return rc;
    if (!pat) {
        fprintf(stderr, "tritune bench: --variant PATTERN is required (see --help)\n");
        return 2;
    }
    int m = shape.m, k = shape.k, threads = (int)threads_l, reps = (int)reps_l;
    bool baseline = !no_baseline, ceiling = !no_ceiling;
    if ((rc = tt_opt_check_threads("bench", &threads, 1, over)) >= 0 ||
        (json_path && (rc = tt_opt_check_writable("bench", json_path)) >= 0) ||
        (rc = tt_opt_check_memory("bench", (double)m * k * 3, "the weights, their packed copies and the oracle")) >= 0)
        return rc;
    bool do_cold = strcmp(regime_s, "warm"), do_warm = strcmp(regime_s, "cold");
    if (strcmp(regime_s, "both") && strcmp(regime_s, "cold") && strcmp(regime_s, "warm")) {
        fprintf(stderr, "tritune bench: --regime is cold, warm or both\n");
        return 2;
    }
    tt_split split = !strcmp(split_s, "chunk") ? TT_SPLIT_CHUNK : TT_SPLIT_EVEN;
    const tt_cpu *cpu = tt_cpu_get();
    const tt_variant *sel[4096];
    int n = 0;
    for (int i = 0; i < tt_registry_count && n < 4096; i++) {
        const tt_variant *v = &tt_registry[i];
        bool want = tt_match(pat, v->name) || (baseline && v->baseline);
        if (!want || v->op != TT_OP_GEMV || !v->exact || !tt_variant_eligible(v, cpu, NULL, 0) ||
            tt_variant_check_shape(v, m, k))
            continue;
        sel[n++] = v;
    }
    if (!n) {
        fprintf(stderr, "tritune bench: no eligible exact variant matches '%s' for %dx%d\n", pat, m, k);
        return 1;
    }
    /* --ab LIB: the same kernels built from another generator (ci/gen_ab.sh): each selected variant's namesake in
     * LIB is raced beside it as "ab:<name>", verified like any other, on the same packed bytes */
    static tt_variant ab_v[512];
    static char ab_name[512][200];
    void *ab = NULL;
    if (ab_lib) {
        if (!(ab = dlopen(ab_lib, RTLD_NOW | RTLD_LOCAL))) {
            fprintf(stderr, "tritune bench: --ab %s: %s\n", ab_lib, dlerror());
            return 1;
        }
        int na = 0, n0 = n;
        for (int i = 0; i < n0 && na < 512 && n < 4096; i++) {
            void *f = dlsym(ab, sel[i]->name);
            if (!f) continue;
            ab_v[na] = *sel[i];
            snprintf(ab_name[na], sizeof ab_name[na], "ab:%s", sel[i]->name);
            ab_v[na].name = ab_name[na];
            ab_v[na].baseline = false;
            ab_v[na].gemv = (tt_gemv_fn)f;
            sel[n++] = &ab_v[na++];
        }
        fprintf(stderr, "--ab %s: %d of the %d selected kernels found there, raced beside their namesakes\n", ab_lib,
                na, n0);
    }
    if (do_cold && ceiling && n + TT_CEILINGS <= 4096) /* rows laid out as plain I2_S: they share the baseline's copies */
        for (int c = 0; c < TT_CEILINGS; c++)
            if (tt_ceiling_variant(c, m, k)) sel[n++] = tt_ceiling_variant(c, m, k);
    tt_topo topo;
    bool have_topo = tt_topo_load(&topo) == TT_OK;
    size_t cold = 0;
    double thr_mb = 0, dram = 0, cache = 0;
    if (do_cold) {
        cold = tt_cold_bytes_measure(&thr_mb, &dram, &cache);
        fprintf(stderr, "cold regime: streaming reads reach DRAM speed (%.1f GB/s vs %.1f in cache) at %.0f MiB; "
                        "rotating %.0f MiB of weight copies per layout\n", dram, cache, thr_mb, (double)cold / (1 << 20));
    }
    tt_harness h;
    if (tt_harness_init(&h, m, k, 12345, cold)) {
        fprintf(stderr, "tritune bench: %s\n", tt_last_error());
        return 1;
    }
    if (do_cold) { /* every layout gets its own rotating copies: share the memory budget among them */
        int nlay = tt_harness_layouts(&h, sel, n);
        size_t per = tt_cold_budget_total() / (size_t)(nlay > 0 ? nlay : 1);
        if (h.cold_bytes > per) {
            fprintf(stderr, "cold regime: %d layouts share %.1f GiB: %.0f MiB of copies each\n", nlay,
                    (double)tt_cold_budget_total() / (1 << 30), (double)per / (1 << 20));
            h.cold_bytes = per;
        }
    }
    tt_pool *pool = tt_pool_new(threads, have_topo ? bind_cb : NULL, have_topo ? &topo : NULL);
    tt_bench_arg *args = calloc((size_t)n * 2, sizeof *args);
    tt_papi *papi;
    tt_gb_session *s = tt_bench_session(m, k, threads, min_time, reps, &papi);
    int nb = 0, excluded = 0;
    for (int i = 0; i < n; i++) {
        char detail[256] = "";
        if (!tt_is_ceiling(sel[i]) && tt_harness_verify(&h, sel[i], detail, sizeof detail)) {
            fprintf(stderr, "excluded %s: does not match the oracle here: %s\n", sel[i]->name, detail);
            excluded++;
            continue;
        }
        for (int r = 0; r < 2; r++) {
            if ((r == 0 && !do_cold) || (r == 1 && (!do_warm || tt_is_ceiling(sel[i])))) continue;
            tt_regime reg = r == 0 ? TT_REGIME_COLD : TT_REGIME_WARM;
            if (tt_bench_arg_init(&args[nb], sel[i], &h, reg, pool, split)) {
                fprintf(stderr, "tritune bench: %s\n", tt_last_error());
                return 1;
            }
            char name[240];
            snprintf(name, sizeof name, "%s/%dx%d/t%d/%s", tt_bench_name(sel[i]), m, k, threads, tt_regime_name(reg));
            tt_gb_add(s, name, tt_bench_fn, &args[nb], tt_bench_bytes(&args[nb]));
            nb++;
        }
    }
    int nceil = 0;
    for (int i = 0; i < n; i++) nceil += tt_is_ceiling(sel[i]);
    fprintf(stderr, "timing %d benchmarks (%d variants x regimes%s), %d repetitions each, interleaved...\n", nb,
            n - excluded - nceil, nceil ? ", plus the cold read ceiling" : "", reps);
    if (tt_gb_run(s, json_path)) {
        fprintf(stderr, "tritune bench: %s\n", tt_last_error());
        return 1;
    }
    /* table: per regime, ratio to the first baseline of that regime */
    for (int r = 0; r < 2; r++) {
        const char *rn = r == 0 ? "cold" : "warm";
        double base = 0;
        for (int i = 0; i < nb; i++)
            if (args[i].v->baseline && strstr(tt_gb_get(s, i)->name, rn) && !base) base = tt_gb_get(s, i)->median_ns;
        bool any = false;
        for (int i = 0; i < nb; i++) {
            const tt_gb_stats *st = tt_gb_get(s, i);
            if (!strstr(st->name + strlen(st->name) - 5, rn)) continue;
            if (!any) printf("\n%s weights, %dx%d, %d thread(s):\n%-52s %10s %8s %8s %9s\n", rn, m, k, threads,
                             "variant", "median_us", "cv_%", "GB/s", "speedup");
            any = true;
            double gbs = tt_bench_bytes(&args[i]) / st->median_ns;
            if (base > 0)
                printf("%-52s %10.2f %8.2f %8.2f %8.2fx\n", args[i].v->name, st->median_ns / 1e3, 100 * st->cv, gbs,
                       base / st->median_ns);
            else /* --no-baseline: no ratio to show */
                printf("%-52s %10.2f %8.2f %8.2f %9s\n", args[i].v->name, st->median_ns / 1e3, 100 * st->cv, gbs, "-");
        }
        /* the ceiling line: fastest pure read vs the best real variant, both against the baseline */
        double best = 0, ceil_ns = 0, ceil_gbs = 0;
        const char *best_name = NULL;
        for (int i = 0; i < nb; i++) {
            const tt_gb_stats *st = tt_gb_get(s, i);
            if (!strstr(st->name + strlen(st->name) - 5, rn)) continue;
            if (tt_is_ceiling(args[i].v)) {
                if (!ceil_ns || st->median_ns < ceil_ns) {
                    ceil_ns = st->median_ns;
                    ceil_gbs = tt_bench_bytes(&args[i]) / st->median_ns;
                }
            } else if (!args[i].v->baseline && args[i].v->fmt == TT_FMT_I2S && (!best || st->median_ns < best)) {
                best = st->median_ns;
                best_name = args[i].v->name;
            }
        }
        if (any && ceil_ns > 0 && base > 0)
            printf("ceiling: the fastest pure read of the I2_S bytes is %.2fx the baseline (%.2f GB/s)%s%s%s",
                   base / ceil_ns, ceil_gbs, best_name ? "; best I2_S variant " : "",
                   best_name ? best_name : "", best_name ? "" : "\n");
        if (any && ceil_ns > 0 && base > 0 && best_name)
            printf(" at %.2fx = %.1f%% of the ceiling\n", base / best, 100 * ceil_ns / best);
    }
    if (json_path) printf("\nGoogle Benchmark JSON: %s\n", json_path);
    for (int i = 0; i < nb; i++) tt_bench_arg_free(&args[i]);
    free(args);
    tt_gb_free(s);
    tt_papi_close(papi);
    tt_pool_free(pool);
    tt_harness_free(&h);
    if (have_topo) tt_topo_free(&topo);
    return excluded ? 1 : 0;
}
