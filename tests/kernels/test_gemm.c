/* Every GEMM (batched prefill) variant eligible here vs the oracle, bit for bit: n tokens from 1 to 2n+1 around the
 * variant's token block, M around its row block, K at and around block sizes (odd block counts included, for the
 * 256-bit tail of the AVX-512 kernels), padded activation strides, a 2B4T shape, adversarial inputs (q = -128 and
 * 127 with T all +1 / -1 at large K), row-range splits [r0, r1) that must leave other rows untouched, and whole
 * GEMMs split over the thread pool. Variants this CPU cannot run are reported skipped with the reason.
 * Usage: test_gemm [PATTERN] (substring filter). */
#include "tt_pool.h"
#include "tt_test.h"

typedef struct gcase {
    tt_tern w;
    int n;
    size_t ldq;
    int8_t *q;      /* n x ldq */
    int32_t *sum_q; /* n */
    int32_t *want;  /* n x m */
} gcase;

#define SENTINEL 0x5a5a5a5a

/* mode 0: random T and q over [-128, 127]; mode ±1: T all ±1, tokens alternate q = 127 / q = -128 */
static void make_case(gcase *c, int m, int k, int n, size_t pad, int mode, uint64_t seed)
{
    tt_tern_alloc(&c->w, m, k);
    c->n = n;
    c->ldq = (size_t)k + pad;
    c->q = malloc(c->ldq * (size_t)n);
    c->sum_q = malloc(sizeof(int32_t) * (size_t)n);
    c->want = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
    memset(c->q, 0x7f, c->ldq * (size_t)n); /* padding bytes a kernel must not read into the dot */
    uint64_t s = seed;
    if (mode == 0) tt_tern_random(&c->w, seed);
    else memset(c->w.t, mode > 0 ? 1 : -1, (size_t)m * k);
    for (int t = 0; t < n; t++) {
        int8_t *q = c->q + (size_t)t * c->ldq;
        int32_t sq = 0;
        for (int j = 0; j < k; j++) {
            int v = mode == 0 ? -128 + (int)(tt_rand_next(&s) % 256u) : (t % 2 ? -128 : 127);
            q[j] = (int8_t)v;
            sq += v;
        }
        c->sum_q[t] = sq;
        if (mode == 0 || t < 2) tt_oracle_dot(&c->w, q, c->want + (size_t)t * m);
        else memcpy(c->want + (size_t)t * m, c->want + (size_t)(t % 2) * m, sizeof(int32_t) * (size_t)m);
    }
}

static void free_case(gcase *c)
{
    tt_tern_free(&c->w);
    free(c->q);
    free(c->sum_q);
    free(c->want);
}

static int mismatches;

static int compare(const tt_variant *v, const gcase *c, const int32_t *got, int r0, int r1, const char *what)
{
    int m = c->w.m;
    for (int t = 0; t < c->n; t++)
        for (int r = 0; r < m; r++) {
            int32_t want = r >= r0 && r < r1 ? c->want[(size_t)t * m + r] : SENTINEL;
            if (got[(size_t)t * m + r] != want) {
                fprintf(stderr, "MISMATCH %s %s m=%d k=%d n=%d ldq=%zu rows [%d,%d) token %d row %d: got %d want %d\n",
                        v->name, what, m, c->w.k, c->n, c->ldq, r0, r1, t, r, got[(size_t)t * m + r], want);
                return 1;
            }
        }
    return 0;
}

typedef struct pool_job {
    const tt_variant *v;
    const tt_gemm_args *a;
    int32_t *dot;
} pool_job;

static void pool_worker(void *arg, int tid, int nth)
{
    const pool_job *j = arg;
    int r0, r1;
    tt_split_even(j->a->m, j->v->row_align, tid, nth, &r0, &r1);
    if (r0 < r1) j->v->gemm(j->a, j->dot, r0, r1);
}

/* Pack, prep, run whole and split; threads > 0 also runs it over a pool of that many threads. */
static int run_case(const tt_variant *v, gcase *c, const char *what, int splits, tt_pool *pool)
{
    int m = c->w.m, k = c->w.k, n = c->n;
    if (tt_variant_check_shape(v, m, k)) return 0;
    size_t nb = tt_variant_packed_size(v, m, k), wsn = tt_variant_gemm_ws_size(v, k, n, c->ldq);
    uint8_t *buf = tt_alloc(nb);
    void *ws = wsn ? tt_alloc(wsn) : NULL;
    int32_t *dot = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
    CHECKF(tt_variant_pack(v, &c->w, buf, nb) == TT_OK, "%s pack %dx%d: %s", v->name, m, k, tt_last_error());
    int bad = 0;
    /* the convenience entry point */
    for (size_t i = 0; i < (size_t)m * n; i++) dot[i] = SENTINEL;
    tt_status st = tt_variant_run_gemm(v, buf, m, k, n, c->q, c->ldq, c->sum_q, dot);
    CHECKF(st == TT_OK, "%s run %dx%d n=%d: %s", v->name, m, k, n, tt_last_error());
    bad |= compare(v, c, dot, 0, m, what);
    /* row ranges: [r0, r1) only, other rows untouched */
    if (ws) tt_variant_gemm_prep(v, c->q, c->ldq, k, n, ws);
    tt_gemm_args a = {buf, c->q, c->ldq, ws, c->sum_q, m, k, n};
    int al = v->row_align;
    for (int s = 0; s < splits && !bad; s++) {
        int r0 = (s * 7 + 1) % (m + 1), r1 = m - (s * 3) % (m - r0 + 1);
        r0 -= r0 % al;
        if (r1 != m) r1 -= r1 % al;
        if (r1 < r0) r1 = r0;
        for (size_t i = 0; i < (size_t)m * n; i++) dot[i] = SENTINEL;
        v->gemm(&a, dot, r0, r1);
        bad |= compare(v, c, dot, r0, r1, what);
    }
    if (pool && !bad) {
        for (size_t i = 0; i < (size_t)m * n; i++) dot[i] = SENTINEL;
        pool_job j = {v, &a, dot};
        tt_pool_run(pool, pool_worker, &j);
        bad |= compare(v, c, dot, 0, m, "pool");
    }
    CHECK(!bad);
    mismatches += bad;
    tt_free(buf);
    tt_free(ws);
    free(dot);
    return 1;
}

int main(int argc, char **argv)
{
    const char *pat = argc > 1 ? argv[1] : "";
    const tt_cpu *cpu = tt_cpu_get();
    int quick = tt_test_quick();
    int tested = 0, skipped = 0, total = 0;
    static const int ks[] = {128, 256, 384, 512, 640, 896, 1024, 2560};
    int seen[TT_ISA_COUNT][TT_LAYOUT_COUNT] = {{0}};
    tt_pool *pool2 = tt_pool_new(2, NULL, NULL), *pool3 = tt_pool_new(3, NULL, NULL);
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMM || !strstr(v->name, pat)) continue;
        total++;
        char why[200];
        if (!tt_variant_eligible(v, cpu, why, sizeof why)) {
            if (skipped++ < 3 || tt_debug_enabled()) printf("skip %s: %s\n", v->name, why);
            continue;
        }
        int R = v->p.rows, N = v->p.n, cases = 0;
        int ms[] = {1, R > 1 ? R - 1 : 2, R, R + 1, 2 * R + 3};
        for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
            for (size_t b = 0; b < sizeof ms / sizeof *ms; b++)
                for (int c = 1; c <= 2 * N + 1; c++) { /* every token count from 1 to 2n+1 */
                    if ((a + b + (size_t)c) % (quick ? 5 : 2)) continue;
                    gcase g;
                    make_case(&g, ms[b], ks[a], c, (a + (size_t)c) % 2 ? 0 : 64 + 32 * (b % 2), 0,
                              (uint64_t)(i * 1009 + a * 101 + b * 11 + (size_t)c));
                    cases += run_case(v, &g, "random", 3, NULL);
                    free_case(&g);
                }
        /* a 2B4T shape: k/v projection 640 x 2560, a prefill chunk of 2n+1 tokens, split over 2 threads */
        if (!quick) {
            gcase g;
            make_case(&g, 640, 2560, 2 * N + 1, 0, 0, 77 + i);
            cases += run_case(v, &g, "2b4t", 1, pool2);
            free_case(&g);
        }
        /* adversarial: T all +1 / -1 with q = 127 and q = -128 tokens at large K */
        int kmax = quick ? 16384 : 1 << 17;
        for (int mode = -1; mode <= 1; mode += 2) {
            gcase g;
            make_case(&g, R + 1, kmax + 128, N + 1, 0, mode, 0); /* an odd block count */
            cases += run_case(v, &g, "adversarial", 1, NULL);
            free_case(&g);
        }
        /* thread pool splits: two variants per (ISA, layout), 2 and 3 threads */
        if (seen[v->isa][v->layout]++ < 2) {
            gcase g;
            make_case(&g, 203, 640, N + 3, 32, 0, 5 + i);
            cases += run_case(v, &g, "pool2", 0, pool2);
            cases += run_case(v, &g, "pool3", 0, pool3);
            free_case(&g);
        }
        CHECKF(cases > 0, "%s: no shape in the sweep was accepted", v->name);
        tested++;
    }
    tt_pool_free(pool2);
    tt_pool_free(pool3);
    /* a GEMV row is refused by the GEMM entry point, and vice versa */
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op == TT_OP_GEMV) {
            int8_t q[128] = {0};
            int32_t sq = 0, dot[1];
            uint8_t w[64] = {0};
            CHECK(tt_variant_run_gemm(v, w, 1, 128, 1, q, 128, &sq, dot) == TT_ERR_VALUE);
            break;
        }
    }
    printf("gemm variants: %d of %d verified, %d skipped (CPU/OS lacks the ISA), %d mismatching\n", tested, total,
           skipped, mismatches);
    if (!tested && skipped) {
        printf("no GEMM variant runnable here\n");
        return 77;
    }
    CHECK(total > 0);
    return tt_test_end("gemm");
}
