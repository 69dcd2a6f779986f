/* `tritune bench-gemm`: verifies (kernels/tt_verify.h, on the bytes it times and through the timing pool) and then
 * times GEMM (batched prefill) variants against token-by-token GEMV on one shape. */
#include "tt_cli.h"
#include "tt_opt.h"
#include "tt_gbench.h"
#include "tt_gemm_bench.h"
#include "tt_harness.h"
#include "tt_papi.h"
#include "tt_plan.h"
#include "tt_pool.h"
#include "tt_topo.h"
#include "tt_verify.h"

#include <stdlib.h>
#include <string.h>

/* ---- bench-gemm ---- */
typedef struct gm_arg {
    const tt_variant *v; /* GEMM variant, or the GEMV variant run token by token */
    tt_plan plan;        /* v's plan: its packed bytes */
    const tt_vcase *c;
    void *ws;            /* every token's prep, done once outside the timing (GEMM: the kernel's; GEMV: one per token) */
    int32_t *dot;
    tt_pool *pool;
    int t; /* token for the GEMV path */
} gm_arg;

static void gm_gemv_worker(void *arg, int tid, int nth)
{
    const gm_arg *a = arg;
    int r0, r1;
    tt_plan_split(&a->plan, tid, nth, &r0, &r1);
    if (r0 < r1) {
        const tt_vcase *c = a->c;
        const size_t wsn = tt_variant_ws_size(a->v, c->w.k); /* token t's prepped vector at ws + t * wsn */
        tt_plan_gemv_ws(&a->plan, c->q + (size_t)a->t * c->ldq, wsn ? (const int8_t *)a->ws + (size_t)a->t * wsn : NULL,
                        c->sum_q[a->t], a->dot + (size_t)a->t * c->w.m, r0, r1);
    }
}

static void gm_run_once(gm_arg *a)
{
    const tt_vcase *c = a->c;
    if (a->v->op == TT_OP_GEMM) {
        tt_plan_run_gemm(&a->plan, a->pool, c->q, c->ldq, a->ws, c->sum_q, c->n, a->dot);
        return;
    }
    for (a->t = 0; a->t < c->n; a->t++) tt_pool_run(a->pool, gm_gemv_worker, a);
}

static void gm_bench_fn(void *arg, int64_t iters)
{
    for (int64_t i = 0; i < iters; i++) gm_run_once(arg);
}

static void gm_bind(void *ctx, int idx) { tt_topo_bind_thread(ctx, idx); }

struct tt_gemm_bench {
    tt_vcase c;
};

tt_gemm_bench *tt_gemm_bench_new(int m, int k, int n, uint64_t seed)
{
    tt_gemm_bench *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (tt_vcase_make(&b->c, m, k, n, 0, 0, -128, 127, seed)) {
        free(b);
        return NULL;
    }
    return b;
}

void tt_gemm_bench_free(tt_gemm_bench *b)
{
    if (!b) return;
    tt_vcase_free(&b->c);
    free(b);
}

tt_status tt_gemm_bench_time(tt_gemm_bench *b, const tt_variant *const *vs, int nv, int threads, tt_topo *topo,
                             double min_time, int reps, const char *json_path, tt_gemm_timing *out)
{
    const tt_vcase *c = &b->c;
    const int m = c->w.m, k = c->w.k, n = c->n;
    tt_pool *pool = tt_pool_new(threads, topo ? gm_bind : NULL, topo);
    gm_arg *args = calloc((size_t)(nv ? nv : 1), sizeof *args);
    int *slot = calloc((size_t)(nv ? nv : 1), sizeof *slot);
    tt_papi *papi = NULL;
    tt_gb_session *s = pool && args && slot ? tt_bench_session(m, k, threads, min_time, reps, &papi) : NULL;
    if (!s) {
        tt_pool_free(pool), free(args), free(slot);
        return tt_fail(TT_ERR_NOMEM, "GEMM timing session");
    }
    char nbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    tt_gb_set_context(s, "tritune_tokens", nbuf);
    tt_status st = TT_OK;
    int nb = 0;
    for (int i = 0; i < nv && !st; i++) {
        const tt_variant *v = vs[i];
        tt_gemm_timing *o = &out[i];
        memset(o, 0, sizeof *o);
        o->v = v;
        slot[i] = -1;
        gm_arg *a = &args[i];
        a->v = v, a->c = c, a->pool = pool;
        if (tt_plan_for(&a->plan, v, &c->w, threads)) { /* owned by args[i] from here on: freed below */
            o->excluded = true;
            snprintf(o->why, sizeof o->why, "cannot plan: %s", tt_last_error());
            continue;
        }
        size_t pn = a->plan.packed_bytes, one = tt_variant_ws_size(v, k);
        size_t wsn = v->op == TT_OP_GEMM ? tt_plan_gemm_ws_size(&a->plan, n, c->ldq) : (size_t)n * one;
        a->ws = wsn ? tt_alloc(wsn) : NULL;
        a->dot = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
        if ((wsn && !a->ws) || !a->dot) {
            st = tt_fail(TT_ERR_NOMEM, "GEMM timing: buffers for %s", v->name);
            break;
        }
        /* the per-token prep (AVX-512 q interleave, TL tables) is done once, outside the timing, for both paths */
        if (a->ws) {
            if (v->op == TT_OP_GEMM) tt_plan_gemm_prep(&a->plan, c->q, c->ldq, n, a->ws);
            else
                for (int t = 0; t < n; t++) v->prep(c->q + (size_t)t * c->ldq, k, (int8_t *)a->ws + (size_t)t * one);
        }
        char detail[400];
        if (tt_verify_case(v, c, a->plan.packed, 1, pool, detail, sizeof detail)) { /* the bytes it times, this pool */
            o->excluded = true;
            snprintf(o->why, sizeof o->why, "MISMATCH %s", detail);
            continue;
        }
        char name[240];
        snprintf(name, sizeof name, "%s%s/%dx%d/n%d/t%d", v->op == TT_OP_GEMM ? "" : "(gemv x n) ", v->name, m, k, n,
                 threads);
        tt_gb_add(s, name, gm_bench_fn, a, (double)pn);
        slot[i] = nb++;
    }
    if (!st && nb && (st = tt_gb_run(s, json_path)) == TT_OK)
        for (int i = 0; i < nv; i++) {
            const tt_gb_stats *g = slot[i] >= 0 ? tt_gb_get(s, slot[i]) : NULL;
            if (!g) continue;
            if (g->error) {
                out[i].excluded = true;
                snprintf(out[i].why, sizeof out[i].why, "benchmark error: %s", g->error_message);
                continue;
            }
            out[i].median_ns = g->median_ns;
            out[i].cv = g->cv;
            out[i].reps = g->reps;
            snprintf(out[i].name, sizeof out[i].name, "%s", g->name);
        }
    for (int i = 0; i < nv; i++) {
        tt_plan_free(&args[i].plan);
        tt_free(args[i].ws);
        free(args[i].dot);
    }
    free(args), free(slot);
    tt_gb_free(s);
    tt_papi_close(papi);
    tt_pool_free(pool);
    return st;
}

static void bench_gemm_usage(FILE *f)
{
    fprintf(f, "usage: tritune bench-gemm [--variant PATTERN] [--shape MxK] [--tokens N] [--threads T]\n"
               "                          [--reps R] [--min-time S] [--no-gemv] [--json FILE] [--oversubscribe]\n"
               "  Batched prefill kernels: every eligible exact GEMM variant matching PATTERN (default: all\n"
               "  GEMM rows; '*' wildcards, A,B either) on one MxK ternary matrix and N tokens (default\n"
               "  2560x2560, 128 tokens, 1 thread). Each is first checked bit for bit against the oracle (a\n"
               "  mismatch is excluded and makes the exit status 1), then all are timed interleaved in one\n"
               "  Google Benchmark run with warm weights (prefill reuses each weight over N tokens: compute,\n"
               "  not memory, is what it measures). A reference row runs the default GEMV kernel token by\n"
               "  token (N pool calls; --no-gemv: off). Prints median ms, GMAC/s (M*K*N / time) and the\n"
               "  speedup over the reference.\n");
}

int tt_cmd_bench_gemm(int argc, char **argv)
{
    const char *pat = "gemm", *json_path = NULL;
    tt_opt_shape shape = {2560, 2560};
    long n_l = 128, threads_l = 1, reps_l = 10;
    double min_time = 0.1;
    bool no_gemv = false, over = false;
    const tt_opt opts[] = {
        TT_O_STR("--variant", NULL, &pat),
        TT_O_SHAPE("--shape", NULL, &shape, 1 << 20, 1 << 24),
        TT_O_INT("--tokens", "-n", &n_l, 1, 4096),
        TT_O_INT("--threads", "-t", &threads_l, 1, 4096),
        TT_O_INT("--reps", NULL, &reps_l, 1, 1000),
        TT_O_NUM("--min-time", NULL, &min_time, 1e-4, 600),
        TT_O_STR("--json", NULL, &json_path),
        TT_O_FLAG("--no-gemv", NULL, &no_gemv),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int rc = tt_opt_parse(&(tt_cmd){.verb = "bench-gemm", .usage = bench_gemm_usage, .opts = opts,
                                    .nopts = TT_NOPTS(opts)},
                          argc, argv);
    if (rc >= 0) return rc;
    int m = shape.m, k = shape.k, n = (int)n_l, threads = (int)threads_l, reps = (int)reps_l;
    bool gemv_ref = !no_gemv;
    if ((rc = tt_opt_check_threads("bench-gemm", &threads, 1, over)) >= 0 ||
        (json_path && (rc = tt_opt_check_writable("bench-gemm", json_path)) >= 0) ||
        (rc = tt_opt_check_memory("bench-gemm", (double)m * k * 4 + (double)n * k * 2 + (double)m * n * 8,
                                  "the weights, their packed copies, the tokens and the dots")) >= 0)
        return rc;
    const tt_cpu *cpu = tt_cpu_get();
    const tt_variant *sel[512];
    int nsel = 0;
    for (int i = 0; i < tt_registry_count && nsel < 511; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMM || !v->exact || !tt_match(pat, v->name)) continue;
        char why[200];
        if (!tt_variant_eligible(v, cpu, why, sizeof why)) {
            fprintf(stderr, "skipped %s: %s\n", v->name, why);
            continue;
        }
        if (tt_variant_check_shape(v, m, k)) {
            fprintf(stderr, "skipped %s: %s\n", v->name, tt_last_error());
            continue;
        }
        sel[nsel++] = v;
    }
    const tt_variant *ref = gemv_ref ? tt_dispatch_default(TT_FMT_I2S, m, k) : NULL;
    if (ref) sel[nsel++] = ref;
    if (!nsel || (ref && nsel == 1)) {
        fprintf(stderr, "tritune bench-gemm: no eligible exact GEMM variant matches '%s' for %dx%d\n", pat, m, k);
        return 1;
    }
    fprintf(stderr, "bench-gemm: %dx%d, %d tokens, %d thread(s); building the case and the oracle's dots...\n", m, k, n,
            threads);
    tt_gemm_bench *b = tt_gemm_bench_new(m, k, n, 4242);
    tt_gemm_timing *res = calloc((size_t)nsel, sizeof *res);
    if (!b || !res) {
        fprintf(stderr, "tritune bench-gemm: %s\n", b ? "out of memory" : tt_last_error());
        tt_gemm_bench_free(b), free(res);
        return 1;
    }
    tt_topo topo;
    bool have_topo = tt_topo_load(&topo) == TT_OK;
    fprintf(stderr, "verifying and timing %d kernels, %d repetitions each, interleaved...\n", nsel, reps);
    tt_status st = tt_gemm_bench_time(b, sel, nsel, threads, have_topo ? &topo : NULL, min_time, reps, json_path, res);
    rc = st ? 1 : 0;
    if (st) fprintf(stderr, "tritune bench-gemm: %s\n", tt_last_error());
    double refns = 0;
    for (int i = 0; i < nsel; i++) {
        if (res[i].excluded) {
            fprintf(stderr, "excluded %s: %s\n", sel[i]->name, res[i].why);
            rc = 1;
        }
        if (sel[i]->op == TT_OP_GEMV && res[i].median_ns > 0) refns = res[i].median_ns;
    }
    if (!st) {
        printf("\nprefill GEMM, %dx%d, %d tokens, %d thread(s), warm weights; CPU %s\n", m, k, n, threads, cpu->brand);
        printf("%-66s %10s %7s %9s %9s\n", "variant", "median_ms", "cv_%", "GMAC/s", refns > 0 ? "vs_gemv" : "");
        int best = -1;
        for (int i = 0; i < nsel; i++) {
            if (!(res[i].median_ns > 0)) continue;
            double gmac = (double)m * k * n / res[i].median_ns;
            char ratio[32] = "";
            if (refns > 0) snprintf(ratio, sizeof ratio, "%.2fx", refns / res[i].median_ns);
            printf("%-66s %10.3f %7.2f %9.1f %9s\n", res[i].name, res[i].median_ns / 1e6, 100 * res[i].cv, gmac, ratio);
            if (sel[i]->op == TT_OP_GEMM && (best < 0 || res[i].median_ns < res[best].median_ns)) best = i;
        }
        if (best >= 0) {
            const tt_variant *d = tt_dispatch_default_gemm(TT_FMT_I2S, m, k, ref);
            printf("fastest: %s%s%s\n", sel[best]->name, d ? "; untuned default here: " : "", d ? d->name : "");
        }
        if (json_path) printf("Google Benchmark JSON: %s\n", json_path);
    }
    free(res);
    tt_gemm_bench_free(b);
    if (have_topo) tt_topo_free(&topo);
    return rc;
}
