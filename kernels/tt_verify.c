/* tt_verify.c — see tt_verify.h. */
#include "tt_verify.h"
#include "tt_plan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL 0x5a5a5a5a

void tt_vcase_free(tt_vcase *c)
{
    tt_tern_free(&c->w);
    free(c->q);
    free(c->sum_q);
    free(c->want);
    memset(c, 0, sizeof *c);
}

tt_status tt_vcase_make(tt_vcase *c, int m, int k, int n, size_t pad, int mode, int qlo, int qhi, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    tt_status st = tt_tern_alloc(&c->w, m, k);
    if (st) return st;
    c->n = n;
    c->ldq = (size_t)k + pad;
    c->q = malloc(c->ldq * (size_t)n);
    c->sum_q = malloc(sizeof(int32_t) * (size_t)n);
    c->want = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
    if (!c->q || !c->sum_q || !c->want) {
        tt_vcase_free(c);
        return tt_fail(TT_ERR_NOMEM, "verify case %dx%d, %d tokens", m, k, n);
    }
    memset(c->q, 0x7f, c->ldq * (size_t)n); /* padding bytes a kernel must not read into a dot */
    if (mode == 0) tt_tern_random(&c->w, seed);
    else memset(c->w.t, mode > 0 ? 1 : -1, (size_t)m * (size_t)k);
    uint64_t s = seed ^ 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < n; t++) {
        int8_t *q = c->q + (size_t)t * c->ldq;
        int32_t sq = 0;
        for (int j = 0; j < k; j++) {
            int v = mode == 0 ? qlo + (int)(tt_rand_next(&s) % (uint64_t)(qhi - qlo + 1)) : (t % 2 ? qlo : qhi);
            q[j] = (int8_t)v;
            sq += v;
        }
        c->sum_q[t] = sq;
        if (mode == 0 || t < 2) tt_oracle_dot(&c->w, q, c->want + (size_t)t * m);
        else memcpy(c->want + (size_t)t * m, c->want + (size_t)(t % 2) * m, sizeof(int32_t) * (size_t)m);
    }
    return TT_OK;
}

/* Tokens [0, nt) of got against the oracle over rows [r0, r1), SENTINEL elsewhere. */
static tt_status compare(const tt_variant *v, const tt_vcase *c, int nt, const int32_t *got, int r0, int r1,
                         const char *what, char *detail, size_t dlen)
{
    int m = c->w.m;
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < m; r++) {
            int32_t want = r >= r0 && r < r1 ? c->want[(size_t)t * m + r] : SENTINEL;
            if (got[(size_t)t * m + r] != want) {
                snprintf(detail, dlen, "%s %s %dx%d n=%d ldq=%zu rows [%d,%d): token %d row %d: got %d, %s %d",
                         v->name, what, m, c->w.k, nt, c->ldq, r0, r1, t, r, got[(size_t)t * m + r],
                         r >= r0 && r < r1 ? "oracle" : "untouched row should hold", want);
                return TT_ERR_MISMATCH;
            }
        }
    return TT_OK;
}

tt_status tt_verify_case(const tt_variant *v, const tt_vcase *c, const uint8_t *packed, int splits, tt_pool *pool,
                         char *detail, size_t dlen)
{
    int m = c->w.m, k = c->w.k, n = v->op == TT_OP_GEMM ? c->n : 1;
    bool gemm = v->op == TT_OP_GEMM;
    detail[0] = 0;
    /* the kernel runs as every caller runs it: through a plan (its own packing, or a view of the given bytes) */
    tt_plan p;
    tt_status st = packed ? tt_plan_view(&p, v, packed, tt_variant_packed_size(v, m, k), m, k, 1)
                          : tt_plan_for(&p, v, &c->w, 1);
    if (st) {
        snprintf(detail, dlen, "%s %dx%d: %s", v->name, m, k, tt_last_error());
        return st;
    }
    size_t wsn = gemm ? tt_plan_gemm_ws_size(&p, n, c->ldq) : 0;
    void *ws = wsn ? tt_alloc(wsn) : NULL;
    int32_t *dot = malloc(sizeof(int32_t) * (size_t)m * (size_t)n);
    if ((wsn && !ws) || !dot) {
        st = tt_fail(TT_ERR_NOMEM, "verify %s %dx%d", v->name, m, k);
        snprintf(detail, dlen, "%s", tt_last_error());
        goto out;
    }
    if (ws) tt_plan_gemm_prep(&p, c->q, c->ldq, n, ws);
    /* whole, on the caller */
    for (size_t i = 0; i < (size_t)m * n; i++) dot[i] = SENTINEL;
    if (gemm) tt_plan_run_gemm(&p, NULL, c->q, c->ldq, ws, c->sum_q, n, dot);
    else tt_plan_run_gemv(&p, NULL, c->q, c->sum_q[0], dot, TT_SPLIT_EVEN);
    if ((st = compare(v, c, n, dot, 0, m, "whole", detail, dlen))) goto out;
    /* row ranges [r0, r1) at the variant's row alignment; other rows untouched (the GEMV prep is still in place) */
    int al = v->row_align > 0 ? v->row_align : 1;
    for (int s = 0; s < splits && !st; s++) {
        int r0 = (s * 7 + 1) % (m + 1), r1 = m - (s * 3) % (m - r0 + 1);
        r0 -= r0 % al;
        if (r1 != m) r1 -= r1 % al;
        if (r1 < r0) r1 = r0;
        for (size_t i = 0; i < (size_t)m * n; i++) dot[i] = SENTINEL;
        if (gemm) tt_plan_gemm(&p, c->q, c->ldq, ws, c->sum_q, n, dot, r0, r1);
        else tt_plan_gemv(&p, c->q, c->sum_q[0], dot, r0, r1);
        st = compare(v, c, n, dot, r0, r1, "range", detail, dlen);
    }
    if (pool && !st) { /* rows split over the pool's threads as the model splits them */
        for (size_t i = 0; i < (size_t)m * n; i++) dot[i] = SENTINEL;
        if (gemm) tt_plan_run_gemm(&p, pool, c->q, c->ldq, ws, c->sum_q, n, dot);
        else tt_plan_run_gemv(&p, pool, c->q, c->sum_q[0], dot, TT_SPLIT_EVEN);
        st = compare(v, c, n, dot, 0, m, "pool", detail, dlen);
    }
out:
    tt_plan_free(&p);
    tt_free(ws);
    free(dot);
    return st;
}

tt_status tt_verify_edges(const tt_variant *v, int m, int k, char *detail, size_t dlen)
{
    tt_status st = TT_OK;
    for (int mode = -1; mode <= 1 && !st; mode += 2) {
        tt_vcase c;
        /* two tokens for a GEMM (q = max, then q = min); a GEMV checks each edge as its own token 0 */
        for (int edge = 0; edge < (v->op == TT_OP_GEMM ? 1 : 2) && !st; edge++) {
            int qhi = edge ? v->act_min : v->act_max;
            if ((st = tt_vcase_make(&c, m, k, v->op == TT_OP_GEMM ? 2 : 1, 0, mode, v->act_min, qhi, 0))) {
                snprintf(detail, dlen, "%s", tt_last_error());
                return st;
            }
            st = tt_verify_case(v, &c, NULL, 1, NULL, detail, dlen);
            tt_vcase_free(&c);
        }
    }
    return st;
}

/* Shared pools for the sweep's thread splits, made once. */
static tt_pool *sweep_pool(int threads)
{
    static tt_pool *p[4];
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    if (!p[threads]) p[threads] = tt_pool_new(threads, NULL, NULL);
    pthread_mutex_unlock(&mu);
    return p[threads];
}

/* One random case of the sweep; counts it when the variant accepts the shape. */
static tt_status sweep_case(const tt_variant *v, int m, int k, int n, size_t pad, int splits, tt_pool *pool,
                            uint64_t seed, int *cases, char *detail, size_t dlen)
{
    if (tt_variant_check_shape(v, m, k)) return TT_OK;
    tt_vcase c;
    tt_status st = tt_vcase_make(&c, m, k, n, pad, 0, v->act_min, v->act_max, seed);
    if (st) {
        snprintf(detail, dlen, "%s", tt_last_error());
        return st;
    }
    st = tt_verify_case(v, &c, NULL, splits, pool, detail, dlen);
    tt_vcase_free(&c);
    if (!st) ++*cases;
    return st;
}

tt_status tt_verify_variant(const tt_variant *v, bool quick, int *cases_out, char *detail, size_t dlen)
{
    int cases = 0, idx = (int)(v - tt_registry);
    tt_status st = TT_OK;
    detail[0] = 0;
    int blk = v->row_align > 1 ? v->row_align : (v->p.rows > 1 ? v->p.rows : (v->p.bm > 0 ? v->p.bm : 1));
    int ms[] = {1, blk > 1 ? blk - 1 : 2, blk, blk + 1, 2 * blk + 3};
    int kcap = quick ? 1 << 14 : 1 << 20;
    if (v->op == TT_OP_GEMV) {
        static const int ks[] = {32, 64, 96, 128, 160, 192, 256, 288, 384, 512, 640, 768, 1024, 1536, 2560};
        for (size_t a = 0; a < sizeof ks / sizeof *ks && !st; a++)
            for (size_t b = 0; b < sizeof ms / sizeof *ms && !st; b++)
                if (!quick || (a % 3 == 0 && b % 2 == 0))
                    st = sweep_case(v, ms[b], ks[a], 1, 0, b == 3 ? 3 : 0, NULL, (uint64_t)(idx * 131 + a * 17 + b),
                                    &cases, detail, dlen);
        static const int big[][2] = {{640, 2560}, {96, 6912}}; /* 2B4T: k/v projection, the down projection's K */
        for (size_t a = 0; a < 2 && !quick && !st; a++)
            st = sweep_case(v, big[a][0], big[a][1], 1, 0, 1, sweep_pool(a ? 3 : 2), (uint64_t)(7 + idx), &cases,
                            detail, dlen);
        int kmax = v->k_max < kcap ? v->k_max : kcap;
        kmax -= kmax % (v->k_align > 96 ? v->k_align : 96 * 4);
        if (!st && !tt_variant_check_shape(v, blk + 1, kmax)) {
            st = tt_verify_edges(v, blk + 1, kmax, detail, dlen);
            cases += !st;
        }
    } else {
        static const int ks[] = {128, 256, 384, 512, 640, 896, 1024, 2560};
        int R = v->p.rows > 0 ? v->p.rows : 1, N = v->p.n > 0 ? v->p.n : 1;
        int gms[] = {1, R > 1 ? R - 1 : 2, R, R + 1, 2 * R + 3};
        for (size_t a = 0; a < sizeof ks / sizeof *ks && !st; a++)
            for (size_t b = 0; b < sizeof gms / sizeof *gms && !st; b++)
                for (int n = 1; n <= 2 * N + 1 && !st; n++) /* every token count from 1 to 2n+1 */
                    if ((a + b + (size_t)n) % (quick ? 5 : 2) == 0)
                        st = sweep_case(v, gms[b], ks[a], n, (a + (size_t)n) % 2 ? 0 : 64 + 32 * (b % 2), 3, NULL,
                                        (uint64_t)(idx * 1009 + a * 101 + b * 11 + (size_t)n), &cases, detail, dlen);
        if (!quick && !st) /* 2B4T k/v projection, a prefill chunk of 2n+1 tokens, split over 2 threads */
            st = sweep_case(v, 640, 2560, 2 * N + 1, 0, 1, sweep_pool(2), (uint64_t)(77 + idx), &cases, detail, dlen);
        int kbig = (quick ? 1 << 14 : 1 << 17) + 128; /* an odd block count */
        if (!st && !tt_variant_check_shape(v, R + 1, kbig)) {
            st = tt_verify_edges(v, R + 1, kbig, detail, dlen);
            cases += !st;
        }
        blk = R;
    }
    /* pool splits over 2 and 3 threads: an odd M, or an odd number of row blocks where M must fill whole blocks */
    int pm = tt_variant_check_shape(v, 203, 768) ? 7 * blk : 203;
    for (int th = 2; th <= 3 && !st; th++)
        st = sweep_case(v, pm, 768, v->op == TT_OP_GEMM ? 5 : 1, 32, 0, sweep_pool(th), (uint64_t)(5 + idx), &cases,
                        detail, dlen);
    if (!st && !cases) {
        snprintf(detail, dlen, "%s accepts none of the sweep's shapes", v->name);
        st = TT_ERR_SHAPE;
    }
    if (cases_out) *cases_out = cases;
    return st;
}

tt_status tt_verify_dense(const tt_dense_variant *v, const void *w, const float *scale, const float *x, int m, int k,
                          char *detail, size_t dlen)
{
    if (detail && dlen) detail[0] = 0;
    if (!v || !w || !x || m < 1 || k < 16 || k % 16 || (v->kind == TT_DENSE_I8 && !scale) ||
        !tt_dense_row_bytes(v->kind, k))
        return tt_fail(TT_ERR_VALUE, "tt_verify_dense: bad arguments");
    /* the reference: the kind's portable member (no ISA needed) */
    const tt_dense_variant *ref = NULL;
    int nv;
    const tt_dense_variant *all = tt_dense_variants(&nv);
    for (int i = 0; i < nv && !ref; i++)
        if (all[i].kind == v->kind && !all[i].needs) ref = &all[i];
    if (!ref) return tt_fail(TT_ERR_NOTFOUND, "tt_verify_dense: no portable %s head kernel", tt_dense_kind_name(v->kind));
    float *want = malloc(sizeof(float) * (size_t)m), *got = malloc(sizeof(float) * (size_t)m);
    void *packed = NULL;
    tt_qin in = {0};
    tt_status st = TT_OK;
    if (!want || !got || (tt_dense_kind_quantized(v->kind) && tt_qin_alloc(&in, k))) {
        st = tt_fail(TT_ERR_NOMEM, "tt_verify_dense: no memory");
        goto out;
    }
    if (in.q) tt_qin_quantize(v->kind, x, k, &in); /* the input as the model gives it to a quantized head */
    tt_dense_run(ref, w, scale, x, &in, k, want, 0, m);
    const void *vw = w; /* the rows in v's layout (an interleaving member reads a packed copy) */
    if (v->il) {
        if (!(packed = malloc(tt_dense_packed_bytes(v, m, k)))) {
            st = tt_fail(TT_ERR_NOMEM, "tt_verify_dense: no memory");
            goto out;
        }
        tt_dense_pack(v, w, m, k, packed);
        vw = packed;
    }
    const int ranges[4][2] = {{0, m}, {m > 5 ? 5 : 0, m > 29 ? 29 : m}, {m > 3 ? m - 3 : 0, m}, {m / 2, m / 2 + (m > 1)}};
    for (int t = 0; t < 4 && !st; t++) {
        int r0 = ranges[t][0], r1 = ranges[t][1];
        const uint32_t sentinel = 0x7fc5a5a5u; /* a NaN no kernel computes */
        for (int r = 0; r < m; r++) memcpy(&got[r], &sentinel, 4);
        tt_dense_run(v, vw, scale, x, &in, k, got, r0, r1);
        for (int r = 0; r < m; r++) {
            bool inside = r >= r0 && r < r1;
            if (inside ? !memcmp(&got[r], &want[r], 4) : !memcmp(&got[r], &sentinel, 4)) continue;
            if (detail)
                snprintf(detail, dlen, "%s, rows [%d, %d): row %d %s (%.9g, portable %.9g)", v->name, r0, r1, r,
                         inside ? "differs from the portable bits" : "outside the range was written", (double)got[r],
                         (double)want[r]);
            st = tt_fail(TT_ERR_MISMATCH, "%s", detail ? detail : v->name);
            break;
        }
    }
out:
    free(want), free(got), free(packed);
    tt_qin_free(&in);
    return st;
}
