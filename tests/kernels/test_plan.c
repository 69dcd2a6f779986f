/* Plans (kernels/tt_plan.h): a plan made through the registry or the oracle backend gives the oracle's dots on
 * every thread split it hands out (GEMV after tt_plan_prep, and GEMM on a token chunk), the splits tile the rows
 * without overlap on the kernel's alignment, a GEMM whose layout differs from the GEMV kernel's gets its own
 * packed copy (and only then), and bad input is refused. */
#include "tt_baked.h"
#include "tt_plan.h"
#include "tt_test.h"
#include "tt_verify.h"

#include <stdlib.h>
#include <string.h>

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

static void check_plan_g(const tt_plan_backend *be, int m, int k, int threads, int batch, int granule, const char *what)
{
    const int n = batch > 1 ? 5 : 1; /* tokens of the GEMM chunk: not a multiple of any token block */
    tt_vcase c;
    if (tt_vcase_make(&c, m, k, n, 16, 0, -128, 127, (uint64_t)m * 7 + k)) {
        CHECKF(0, "case: %s", tt_last_error());
        return;
    }
    tt_plan p;
    tt_status st = tt_plan_create(&p, TT_FMT_I2S, &c.w, &(tt_plan_opts){.threads = threads, .batch = batch, .be = be, .granule = granule});
    CHECKF(st == TT_OK, "%s %dx%d: %s", what, m, k, tt_last_error());
    if (st) {
        tt_vcase_free(&c);
        return;
    }
    CHECK(p.m == m && p.k == k && p.threads == threads && p.v && p.packed && tt_plan_bytes(&p) >= p.packed_bytes);
    int32_t *dot = malloc(sizeof(int32_t) * (size_t)m * n);
    /* GEMV: every thread's share, in reverse order (the shares are independent) */
    memset(dot, 0x5a, sizeof(int32_t) * (size_t)m);
    tt_plan_prep(&p, c.q);
    int covered = 0, align = p.v->row_align > 0 ? p.v->row_align : 1, g = granule > 1 ? granule : 1;
    align = align / gcd(align, g) * g; /* the split's unit: lcm(kernel alignment, granule) */
    for (int t = threads - 1; t >= 0; t--) {
        int r0, r1;
        tt_plan_split(&p, t, threads, &r0, &r1);
        CHECKF(r0 <= r1 && (r0 % align == 0 || r0 == m) && (r1 % align == 0 || r1 == m), /* empty at the end: fine */ "%s split %d of %d: [%d, %d)", what, t,
               threads, r0, r1);
        covered += r1 - r0;
        if (r0 < r1) tt_plan_gemv(&p, c.q, c.sum_q[0], dot, r0, r1);
    }
    CHECKF(covered == m, "%s: the splits cover %d of %d rows", what, covered, m);
    CHECKF(!memcmp(dot, c.want, sizeof(int32_t) * (size_t)m), "%s %dx%d t%d (%s): GEMV dots differ from the oracle",
           what, m, k, threads, p.v->name);
    /* GEMM on the chunk, when planned */
    if (batch > 1 && p.vg) {
        CHECK(p.packed_g && (p.packed_g == p.packed) == (p.packed_g_own == NULL));
        CHECK(tt_variant_layouts_agree(p.vg, p.v) == (p.packed_g == p.packed));
        int8_t *ws = p.vg->prep ? malloc(c.ldq * (size_t)n) : NULL;
        for (int t = 0; ws && t < n; t++) p.vg->prep(c.q + (size_t)t * c.ldq, k, ws + (size_t)t * c.ldq);
        memset(dot, 0x5a, sizeof(int32_t) * (size_t)m * n);
        for (int t = 0; t < threads; t++) {
            int r0, r1;
            tt_plan_split_gemm(&p, t, threads, &r0, &r1);
            CHECKF((r0 % g == 0 || r0 == m) && (r1 % g == 0 || r1 == m), "%s GEMM split %d of %d: [%d, %d) off granule %d", what,
                   t, threads, r0, r1, g);
            if (r0 < r1) tt_plan_gemm(&p, c.q, c.ldq, ws, c.sum_q, n, dot, r0, r1);
        }
        CHECKF(!memcmp(dot, c.want, sizeof(int32_t) * (size_t)m * n), "%s %dx%d t%d (%s): GEMM dots differ", what, m,
               k, threads, p.vg->name);
        free(ws);
    }
    free(dot);
    tt_plan_free(&p);
    CHECK(!p.packed && !p.v); /* freed plans are empty: a second free is harmless */
    tt_plan_free(&p);
    tt_vcase_free(&c);
}

static void check_plan(const tt_plan_backend *be, int m, int k, int threads, int batch, const char *what)
{
    check_plan_g(be, m, k, threads, batch, 1, what);
}

/* Plans for given kernels (tt_plan_for, tt_plan_view): a GEMV and a GEMM kernel, whole on a pool of `threads`
 * (the GEMV also with the chunked split), a view moved between two copies of the bytes, and refusals. */
static void check_given(const tt_variant *v, int threads)
{
    const int m = 3 * (v->row_align > 0 ? v->row_align : 1) + 1; /* a partial last row block */
    const int k = 512, n = v->op == TT_OP_GEMM ? 7 : 1;
    if (tt_variant_check_shape(v, m, k)) return;
    tt_vcase c;
    if (tt_vcase_make(&c, m, k, n, 64, 0, v->act_min, v->act_max, 77)) return;
    tt_pool *pool = tt_pool_new(threads, NULL, NULL);
    int32_t *dot = malloc(sizeof(int32_t) * (size_t)m * n);
    tt_plan p;
    CHECKF(tt_plan_for(&p, v, &c.w, threads) == TT_OK, "plan for %s: %s", v->name, tt_last_error());
    CHECK((p.v == v) == (v->op == TT_OP_GEMV) && (p.vg == v) == (v->op == TT_OP_GEMM) && p.packed == p.packed_own);
    size_t wsn = tt_plan_gemm_ws_size(&p, n, c.ldq);
    void *ws = wsn ? malloc(wsn) : NULL;
    if (ws) tt_plan_gemm_prep(&p, c.q, c.ldq, n, ws);
    for (int sp = 0; sp < (v->op == TT_OP_GEMV ? TT_SPLIT_COUNT : 1); sp++) {
        memset(dot, 0x5a, sizeof(int32_t) * (size_t)m * n);
        if (v->op == TT_OP_GEMM) tt_plan_run_gemm(&p, pool, c.q, c.ldq, ws, c.sum_q, n, dot);
        else tt_plan_run_gemv(&p, pool, c.q, c.sum_q[0], dot, (tt_split)sp);
        CHECKF(!memcmp(dot, c.want, sizeof(int32_t) * (size_t)m * n), "plan for %s, %d threads, split %d: dots differ",
               v->name, threads, sp);
    }
    /* a view over two copies: the second one zeroed (all T = -1 for I2_S codes 0), so binding it changes the dots */
    uint8_t *two = tt_alloc(2 * p.packed_bytes);
    memcpy(two, p.packed, p.packed_bytes);
    memset(two + p.packed_bytes, 0, p.packed_bytes);
    tt_plan vw;
    CHECK(tt_plan_view(&vw, v, two, p.packed_bytes - 1, m, k, threads) == TT_ERR_VALUE); /* too short */
    CHECK(tt_plan_view(&vw, v, two, p.packed_bytes, m, k, threads) == TT_OK && !vw.packed_own && vw.packed == two);
    for (int copy = 0; copy < 2; copy++) {
        tt_plan_bind(&vw, two + (size_t)copy * p.packed_bytes);
        memset(dot, 0x5a, sizeof(int32_t) * (size_t)m * n);
        if (v->op == TT_OP_GEMM) tt_plan_run_gemm(&vw, pool, c.q, c.ldq, ws, c.sum_q, n, dot);
        else tt_plan_run_gemv(&vw, NULL, c.q, c.sum_q[0], dot, TT_SPLIT_EVEN);
        bool same = !memcmp(dot, c.want, sizeof(int32_t) * (size_t)m * n);
        CHECKF(same == (copy == 0), "view of %s, copy %d: dots %s the oracle's", v->name, copy,
               same ? "equal" : "differ from");
    }
    tt_plan_free(&vw);
    CHECK(vw.packed == NULL); /* the view's bytes are the caller's: still here */
    tt_free(two);
    free(ws);
    free(dot);
    tt_plan_free(&p);
    tt_pool_free(pool);
    tt_vcase_free(&c);
}

int main(void)
{
    /* plans for named kernels: the default GEMV and GEMM kernels of this machine, and the scalar ones */
    {
        const tt_variant *gv = tt_dispatch_default(TT_FMT_I2S, 256, 512);
        const tt_variant *gg = gv ? tt_pick_gemm(TT_FMT_I2S, 256, 512, 1, gv, NULL, 0) : NULL;
        int given = 0;
        for (int threads = 1; threads <= 3; threads += 2) {
            if (gv) check_given(gv, threads), given++;
            if (gg) check_given(gg, threads), given++;
            for (int i = 0; i < tt_registry_count; i++)
                if (tt_registry[i].isa == TT_ISA_SCALAR && tt_registry[i].fmt == TT_FMT_I2S)
                    check_given(&tt_registry[i], threads), given++;
        }
        CHECK(given >= 2);
        tt_tern w;
        CHECK(tt_tern_alloc(&w, 64, 100) == TT_OK);
        tt_plan p;
        CHECK(!gv || (tt_plan_for(&p, gv, &w, 1) != TT_OK && !p.packed)); /* K not a multiple of 128 */
        CHECK(!gv || tt_plan_for(&p, gv, &w, 0) == TT_ERR_VALUE);
        CHECK(tt_plan_for(&p, NULL, &w, 1) == TT_ERR_NULL);
        tt_tern_free(&w);
    }

    const int shapes[][2] = {{640, 2560}, {200, 384}, {37, 128}, {1, 256}};
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int threads = 1; threads <= 3; threads++) {
            check_plan(&tt_plan_backend_registry, shapes[s][0], shapes[s][1], threads, 64, "registry");
            check_plan(&tt_plan_backend_oracle, shapes[s][0], shapes[s][1], threads, 64, "oracle");
        }
    check_plan(NULL, 256, 512, 2, 1, "default backend, batch 1");
    /* an epilogue granule (a RoPE head of 128 rows, an odd 100): the splits hand out whole granules */
    for (int threads = 2; threads <= 3; threads++) {
        check_plan_g(NULL, 2560, 256, threads, 64, 128, "granule 128");
        check_plan_g(NULL, 1000, 256, threads, 64, 100, "granule 100");
        check_plan_g(&tt_plan_backend_oracle, 640, 256, threads, 64, 128, "oracle, granule 128");
    }
    /* a GEMM kernel in another layout than the GEMV kernel's: the plan keeps a second copy and stays exact */
    {
        const char *other = NULL;
        const tt_variant *gv = tt_dispatch_default(TT_FMT_I2S, 256, 512);
        for (int i = 0; gv && i < tt_registry_count && !other; i++) {
            const tt_variant *v = &tt_registry[i];
            if (v->op == TT_OP_GEMM && v->fmt == TT_FMT_I2S && v->exact && !tt_variant_layouts_agree(v, gv) &&
                tt_variant_eligible(v, tt_cpu_get(), NULL, 0) && !tt_variant_check_shape(v, 256, 512))
                other = v->name;
        }
        if (other) {
            setenv("TRITUNE_GEMM_KERNEL", other, 1);
            tt_vcase c;
            tt_vcase_make(&c, 256, 512, 1, 0, 0, -128, 127, 5);
            tt_plan p;
            CHECK(tt_plan_create(&p, TT_FMT_I2S, &c.w, &(tt_plan_opts){.threads = 2, .batch = 64}) == TT_OK);
            CHECKF(p.vg && !strcmp(p.vg->name, other) && p.packed_g_own && p.packed_g_bytes > 0 &&
                   tt_plan_bytes(&p) == p.packed_bytes + p.packed_g_bytes, "forced %s: second copy", other);
            tt_plan_free(&p);
            tt_vcase_free(&c);
            check_plan(NULL, 256, 512, 2, 64, "second copy");
            unsetenv("TRITUNE_GEMM_KERNEL");
        } else {
            printf("plan: no GEMM kernel in another layout runs here; second-copy case skipped\n");
        }
    }
    /* refused: a shape no I2_S kernel takes (K not a multiple of 128), NULL, zero threads */
    {
        tt_tern w;
        CHECK(tt_tern_alloc(&w, 64, 100) == TT_OK);
        tt_plan p;
        CHECK(tt_plan_create(&p, TT_FMT_I2S, &w, &(tt_plan_opts){.threads = 1, .batch = 1, .be = &tt_plan_backend_oracle}) == TT_ERR_UNSUPPORTED &&
              strstr(tt_last_error(), "64x100") && !p.packed);
        CHECK(tt_plan_create(&p, TT_FMT_I2S, &w, &(tt_plan_opts){.threads = 0, .batch = 1}) == TT_ERR_VALUE);
        CHECK(tt_plan_create(&p, TT_FMT_I2S, &w, &(tt_plan_opts){.threads = 1, .granule = -2}) == TT_ERR_VALUE);
        CHECK(tt_plan_create(&p, TT_FMT_I2S, &w, NULL) == TT_ERR_NULL);
        CHECK(tt_plan_create(NULL, TT_FMT_I2S, &w, &(tt_plan_opts){.threads = 1}) == TT_ERR_NULL);
        tt_tern_free(&w);
    }
    return tt_test_end("plan");
}
