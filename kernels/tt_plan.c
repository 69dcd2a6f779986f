/* tt_plan.c — see tt_plan.h. */
#include "tt_plan.h"
#include "tt_baked.h"
#include "tt_errctx.h"
#include "tt_format.h"
#include "tt_pool.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---- the oracle backend: plain I2_S read by the scalar format oracle ---- */
static void oracle_gemv(const tt_gemv_args *a, int32_t *dot, int r0, int r1)
{
    size_t rb = (size_t)a->k / 4;
    /* The oracle checks src_len against the rows it reads plus the tail; the rows after r1 are valid bytes. */
    tt_fmt_oracle_dot(TT_FMT_I2S, a->w + (size_t)r0 * rb, (size_t)(a->m - r0) * rb + TT_TAIL_BYTES, r1 - r0, a->k,
                      a->q, dot + r0);
}

static const tt_variant oracle_variant = {
    .name = "plan_oracle_i2s", .fmt = TT_FMT_I2S, .isa = TT_ISA_SCALAR, .layout = TT_LAYOUT_I2S, .exact = true,
    .act_min = -128, .act_max = 127, .row_align = 1, .k_align = 128, .k_max = TT_K_MAX, .gemv = oracle_gemv};

static const tt_variant *oracle_select(tt_fmt fmt, int m, int k, int threads)
{
    if (fmt != TT_FMT_I2S || tt_fmt_check_shape(fmt, m, k)) return NULL;
    return &oracle_variant;
}

/* The oracle's GEMM: one oracle GEMV per token. */
static void oracle_gemm(const tt_gemm_args *a, int32_t *dot, int r0, int r1)
{
    for (int t = 0; t < a->n; t++) {
        tt_gemv_args g = {a->w, a->q + (size_t)t * a->ldq, NULL, a->sum_q[t], a->m, a->k};
        oracle_gemv(&g, dot + (size_t)t * a->m, r0, r1);
    }
}

static const tt_variant oracle_gemm_variant = {
    .name = "plan_oracle_i2s_gemm", .fmt = TT_FMT_I2S, .isa = TT_ISA_SCALAR, .layout = TT_LAYOUT_I2S, .exact = true,
    .act_min = -128, .act_max = 127, .row_align = 1, .k_align = 128, .k_max = TT_K_MAX, .p = {.rows = 1, .n = 1},
    .op = TT_OP_GEMM, .gemm = oracle_gemm};

static const tt_variant *oracle_select_gemm(tt_fmt fmt, int m, int k, int threads, const tt_variant *gemv)
{
    if (fmt != TT_FMT_I2S || tt_fmt_check_shape(fmt, m, k)) return NULL;
    return &oracle_gemm_variant;
}
static size_t oracle_packed_size(const tt_variant *v, int m, int k) { return tt_fmt_size(v->fmt, m, k); }
static tt_status oracle_pack(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len)
{
    return tt_fmt_pack(v->fmt, w, dst, len);
}
static size_t oracle_ws_size(const tt_variant *v, int k) { return 0; }

const tt_plan_backend tt_plan_backend_oracle = {"oracle", oracle_select, oracle_packed_size, oracle_pack,
                                                oracle_ws_size, oracle_select_gemm};

/* ---- the registry backend ---- */
static const tt_variant *registry_select_gemm(tt_fmt fmt, int m, int k, int threads, const tt_variant *gemv)
{
    return tt_pick_gemm(fmt, m, k, threads, gemv, NULL, 0);
}

const tt_plan_backend tt_plan_backend_registry = {"registry", tt_pick, tt_variant_packed_size, tt_variant_pack,
                                                  tt_variant_ws_size, registry_select_gemm};

/* ---- plans ---- */
void tt_plan_free(tt_plan *p)
{
    if (!p) return;
    tt_free(p->packed_own);
    tt_free(p->ws);
    tt_free(p->packed_g_own);
    memset(p, 0, sizeof *p);
}

/* The format a plan's GEMM runs in: the GEMV's when the registry has GEMM kernels for it, else I2_S. Every layout
 * packs from the same trits, so a GEMM in another format is one more packed copy, as for any layout that differs. */
static tt_fmt gemm_fmt(tt_fmt fmt)
{
    for (int i = 0; i < tt_registry_count; i++)
        if (tt_registry[i].op == TT_OP_GEMM && tt_registry[i].fmt == fmt) return fmt;
    return TT_FMT_I2S;
}

tt_status tt_plan_create(tt_plan *p, tt_fmt fmt, const tt_tern *w, const tt_plan_opts *o)
{
    if (!p || !w || !o) return tt_fail(TT_ERR_NULL, "tt_plan_create: NULL argument");
    memset(p, 0, sizeof *p);
    int threads = o->threads, batch = o->batch;
    if (threads < 1) return tt_fail(TT_ERR_VALUE, "tt_plan_create: threads = %d", threads);
    if (o->granule < 0 || o->granule > (1 << 20)) return tt_fail(TT_ERR_VALUE, "tt_plan_create: granule = %d", o->granule);
    const tt_plan_backend *be = p->be = o->be ? o->be : &tt_plan_backend_registry;
    p->fmt = fmt, p->m = w->m, p->k = w->k, p->threads = threads, p->granule = o->granule > 1 ? o->granule : 1;
    p->v = be->select(fmt, w->m, w->k, threads);
    if (!p->v)
        return tt_fail(TT_ERR_UNSUPPORTED, "backend %s has no kernel for %s %dx%d", be->name, tt_fmt_name(fmt), w->m,
                       w->k);
    tt_status st = TT_OK;
    p->packed_bytes = be->packed_size(p->v, w->m, w->k);
    p->packed = p->packed_own = p->packed_bytes ? tt_alloc(p->packed_bytes) : NULL;
    size_t ws = be->ws_size(p->v, w->k);
    p->ws = ws ? tt_alloc(ws) : NULL;
    if (!p->packed || (ws && !p->ws)) st = tt_fail(TT_ERR_NOMEM, "no memory to pack %dx%d", w->m, w->k);
    else if ((st = be->pack(p->v, w, p->packed_own, p->packed_bytes)))
        st = tt_fail_prefix(st, "packing for %s", p->v->name);
    /* The GEMM kernel reads the GEMV kernel's copy when the layouts agree, else a second copy in its own layout
     * (the backend only picks one that needs it where that is worth it: tt_pick_gemm). */
    p->vg = !st && batch > 1 && be->select_gemm ? be->select_gemm(gemm_fmt(fmt), w->m, w->k, threads, p->v) : NULL;
    if (p->vg && tt_variant_layouts_agree(p->vg, p->v)) {
        p->packed_g = p->packed;
    } else if (p->vg) {
        p->packed_g_bytes = be->packed_size(p->vg, w->m, w->k);
        p->packed_g_own = p->packed_g_bytes ? tt_alloc(p->packed_g_bytes) : NULL;
        if (!p->packed_g_own) st = tt_fail(TT_ERR_NOMEM, "no memory to pack for %s", p->vg->name);
        else if ((st = be->pack(p->vg, w, p->packed_g_own, p->packed_g_bytes)))
            st = tt_fail_prefix(st, "packing for %s", p->vg->name);
        p->packed_g = p->packed_g_own;
    }
    if (st) tt_plan_free(p);
    return st;
}

/* A plan for the given kernel over bytes (own: packed from w here; else a view of `bytes` at `packed`). */
static tt_status plan_given(tt_plan *p, const tt_variant *v, const tt_tern *w, const uint8_t *packed, size_t bytes,
                            int m, int k, int threads)
{
    memset(p, 0, sizeof *p);
    if (!v) return tt_fail(TT_ERR_NULL, "tt_plan_for: NULL kernel");
    if (threads < 1) return tt_fail(TT_ERR_VALUE, "plan for %s: threads = %d", v->name, threads);
    if (v->op != TT_OP_GEMV && v->op != TT_OP_GEMM)
        return tt_fail(TT_ERR_VALUE, "%s is not a GEMV or GEMM kernel", v->name);
    char why[200];
    if (!tt_variant_eligible(v, tt_cpu_get(), why, sizeof why))
        return tt_fail(TT_ERR_UNSUPPORTED, "%s not runnable here: %s", v->name, why);
    tt_status st = tt_variant_check_shape(v, m, k);
    if (st) return tt_fail_prefix(st, "plan for %s", v->name);
    size_t need = tt_variant_packed_size(v, m, k);
    if (!w && bytes < need)
        return tt_fail(TT_ERR_VALUE, "plan for %s %dx%d: %zu packed bytes, needs %zu", v->name, m, k, bytes, need);
    p->be = &tt_plan_backend_registry;
    p->fmt = v->fmt, p->m = m, p->k = k, p->threads = threads, p->granule = 1;
    if (v->op == TT_OP_GEMM) p->vg = v;
    else p->v = v;
    p->packed_bytes = need;
    size_t ws = tt_variant_ws_size(v, k);
    p->ws = ws && v->op == TT_OP_GEMV ? tt_alloc(ws) : NULL;
    if (w) p->packed_own = need ? tt_alloc(need) : NULL;
    if ((w && !p->packed_own) || (ws && v->op == TT_OP_GEMV && !p->ws))
        st = tt_fail(TT_ERR_NOMEM, "no memory to plan %s %dx%d", v->name, m, k);
    else if (w && (st = tt_variant_pack(v, w, p->packed_own, need))) st = tt_fail_prefix(st, "packing for %s", v->name);
    p->packed = w ? p->packed_own : packed;
    if (v->op == TT_OP_GEMM) p->packed_g = p->packed;
    if (st) tt_plan_free(p);
    return st;
}

tt_status tt_plan_for(tt_plan *p, const tt_variant *v, const tt_tern *w, int threads)
{
    if (!p || !w) return tt_fail(TT_ERR_NULL, "tt_plan_for: NULL argument");
    return plan_given(p, v, w, NULL, 0, w->m, w->k, threads);
}

tt_status tt_plan_view(tt_plan *p, const tt_variant *v, const uint8_t *packed, size_t bytes, int m, int k, int threads)
{
    if (!p || !packed) return tt_fail(TT_ERR_NULL, "tt_plan_view: NULL argument");
    return plan_given(p, v, NULL, packed, bytes, m, k, threads);
}

void tt_plan_bind(tt_plan *p, const uint8_t *packed)
{
    assert(!p->packed_own && !p->packed_g_own); /* only a view moves: a plan's own copies stay where they are */
    if (p->packed_g == p->packed) p->packed_g = packed;
    p->packed = packed;
}

size_t tt_plan_bytes(const tt_plan *p) { return p->packed_bytes + p->packed_g_bytes; }

bool tt_plan_fuse(const int *ms, int n, int k, int threads, char *why, size_t why_n)
{
    int mf = 0;
    for (int i = 0; i < n; i++) mf += ms[i];
    int fm = tt_baked_fuse_measured(mf, k, threads);
    if (fm) { /* the in-model stage raced the two arrangements at this thread count */
        snprintf(why, why_n, "measured in the model (tune-model)");
        return fm == TT_FUSE_MEASURED_ON;
    }
    double parts = 0;
    for (int i = 0; i < n; i++) {
        double t = tt_baked_median_ns(ms[i], k, threads);
        parts = t > 0 && parts >= 0 ? parts + t : -1;
    }
    double fused = tt_baked_median_ns(mf, k, threads);
    if (!(fused > 0) || !(parts > 0)) {
        snprintf(why, why_n, "no tuned medians");
        return false;
    }
    snprintf(why, why_n, "profile: %.1f µs fused vs %.1f µs separate", fused / 1e3, parts / 1e3);
    return fused < parts;
}

static int align_of(const tt_variant *v) { return v && v->row_align > 0 ? v->row_align : 1; }

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }
static int lcm(int a, int b) { return a / gcd(a, b) * b; }

void tt_plan_split(const tt_plan *p, int tid, int nth, int *r0, int *r1)
{
    tt_split_even(p->m, lcm(align_of(p->v), p->granule > 0 ? p->granule : 1), tid, nth, r0, r1);
}

void tt_plan_split_gemm(const tt_plan *p, int tid, int nth, int *r0, int *r1)
{
    int a = align_of(p->vg); /* a GEMM kernel's block of rows may exceed its layout's alignment */
    a = p->vg && p->vg->p.rows > a ? p->vg->p.rows : a;
    tt_split_even(p->m, lcm(a, p->granule > 0 ? p->granule : 1), tid, nth, r0, r1);
}

void tt_plan_prep(const tt_plan *p, const int8_t *q)
{
    if (p->v && p->v->prep) p->v->prep(q, p->k, p->ws);
}

void tt_plan_gemv(const tt_plan *p, const int8_t *q, int32_t sum_q, int32_t *dot, int r0, int r1)
{
    tt_plan_gemv_ws(p, q, p->ws, sum_q, dot, r0, r1);
}

void tt_plan_gemv_ws(const tt_plan *p, const int8_t *q, const void *ws, int32_t sum_q, int32_t *dot, int r0, int r1)
{
    tt_gemv_args a = {p->packed, q, ws, sum_q, p->m, p->k};
    p->v->gemv(&a, dot, r0, r1);
}

void tt_plan_gemm(const tt_plan *p, const int8_t *q, size_t ldq, const void *ws, const int32_t *sum_q, int n,
                  int32_t *dot, int r0, int r1)
{
    tt_gemm_args a = {p->packed_g, q, ldq, p->vg->prep ? ws : NULL, sum_q, p->m, p->k, n};
    p->vg->gemm(&a, dot, r0, r1);
}

size_t tt_plan_gemm_ws_size(const tt_plan *p, int n, size_t ldq)
{
    return p->vg ? tt_variant_gemm_ws_size(p->vg, p->k, n, ldq) : 0;
}

void tt_plan_gemm_prep(const tt_plan *p, const int8_t *q, size_t ldq, int n, void *ws)
{
    if (p->vg) tt_variant_gemm_prep(p->vg, q, ldq, p->k, n, ws);
}

void tt_plan_run_gemv(const tt_plan *p, tt_pool *pool, const int8_t *q, int32_t sum_q, int32_t *dot, tt_split split)
{
    tt_plan_prep(p, q);
    if (!pool) {
        tt_plan_gemv(p, q, sum_q, dot, 0, p->m);
        return;
    }
    tt_gemv_args a = {p->packed, q, p->ws, sum_q, p->m, p->k};
    tt_pool_gemv(pool, p->v, &a, dot, split);
}

typedef struct gemm_job {
    const tt_plan *p;
    const int8_t *q;
    size_t ldq;
    const void *ws;
    const int32_t *sum_q;
    int n;
    int32_t *dot;
} gemm_job;

static void gemm_worker(void *arg, int tid, int nth)
{
    const gemm_job *j = arg;
    int r0, r1;
    tt_plan_split_gemm(j->p, tid, nth, &r0, &r1);
    if (r0 < r1) tt_plan_gemm(j->p, j->q, j->ldq, j->ws, j->sum_q, j->n, j->dot, r0, r1);
}

void tt_plan_run_gemm(const tt_plan *p, tt_pool *pool, const int8_t *q, size_t ldq, const void *ws,
                      const int32_t *sum_q, int n, int32_t *dot)
{
    gemm_job j = {p, q, ldq, ws, sum_q, n, dot};
    if (pool) tt_pool_run(pool, gemm_worker, &j);
    else gemm_worker(&j, 0, 1);
}

const tt_variant *tt_variant_pf_sibling(const tt_variant *v, int pf)
{
    if (!v || v->op != TT_OP_GEMV) return NULL;
    if (v->p.pf == pf) return v;
    const tt_cpu *cpu = tt_cpu_get();
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *s = &tt_registry[i];
        tt_params a = s->p, b = v->p;
        a.pf = b.pf = 0;
        if (s->p.pf == pf && s->op == TT_OP_GEMV && s->fmt == v->fmt && s->isa == v->isa && s->layout == v->layout &&
            !memcmp(&a, &b, sizeof a) && s->exact == v->exact && s->baseline == v->baseline &&
            s->act_min == v->act_min && s->act_max == v->act_max && s->row_align == v->row_align &&
            s->k_align == v->k_align && s->k_max == v->k_max && s->prep == v->prep && tt_variant_eligible(s, cpu, NULL, 0))
            return s;
    }
    return NULL;
}

tt_status tt_plan_set_gemv(tt_plan *p, const tt_variant *v)
{
    if (!p || !p->v || !v) return tt_fail(TT_ERR_NULL, "tt_plan_set_gemv: NULL argument");
    if (tt_variant_pf_sibling(p->v, v->p.pf) != v) /* p->v itself is its own sibling */
        return tt_fail(TT_ERR_VALUE, "%s is not a prefetch sibling of the plan's kernel %s", v->name, p->v->name);
    p->v = v;
    return TT_OK;
}
