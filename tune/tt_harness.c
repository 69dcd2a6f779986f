#include "tt_harness.h"
#include "tt_verify.h"
#include "tt_membw.h"
#include "tt_gbench.h"
#include "tt_papi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const regime_names[] = {"cold", "warm"};

/* Large buffers come straight from mmap with transparent huge pages requested: gigabytes of cold copies would
 * otherwise cost millions of 4 KiB page faults. */
static void *big_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

static void big_free(void *p, size_t n)
{
    if (p) munmap(p, n);
}
const char *tt_regime_name(tt_regime r) { return regime_names[r == TT_REGIME_WARM]; }

tt_status tt_harness_init(tt_harness *h, int m, int k, uint64_t seed, size_t cold_bytes)
{
    memset(h, 0, sizeof *h);
    h->m = m;
    h->k = k;
    h->cold_bytes = cold_bytes;
    tt_status st = tt_tern_alloc(&h->w, m, k);
    if (st) return st;
    tt_tern_random(&h->w, seed);
    h->w.scale = 1.0f;
    h->q = tt_alloc((size_t)k);
    h->ref = malloc(sizeof(int32_t) * (size_t)m);
    if (!h->q || !h->ref) return tt_fail(TT_ERR_NOMEM, "harness %dx%d", m, k);
    uint64_t s = seed ^ 0x9e37;
    for (int j = 0; j < k; j++) h->sum_q += h->q[j] = (int8_t)((int)(tt_rand_next(&s) % 255) - 127);
    return tt_oracle_dot(&h->w, h->q, h->ref);
}

void tt_harness_free(tt_harness *h)
{
    for (int i = 0; i < h->nsets; i++) {
        big_free(h->sets[i]->buf, h->sets[i]->stride * (size_t)h->sets[i]->ncopies);
        free(h->sets[i]);
    }
    free(h->sets);
    tt_tern_free(&h->w);
    tt_free(h->q);
    free(h->ref);
    memset(h, 0, sizeof *h);
}

/* Variants reading the same bytes share one packed set: layout, and the parameters a layout depends on. */
static void layout_key(const tt_variant *v, char *buf, size_t n, bool cold)
{
    int vb = tt_variant_il_granule(v);
    if (v->layout == TT_LAYOUT_I2S) snprintf(buf, n, "i2s/%s", cold ? "cold" : "warm");
    else if (v->layout == TT_LAYOUT_I2S_IL) snprintf(buf, n, "i2s_il/r%d/g%d/%s", v->p.rows, vb, cold ? "cold" : "warm");
    else snprintf(buf, n, "%d/bm%d/bk%d/%s/%s", (int)v->layout, v->p.bm, v->p.bk, tt_isa_name(v->isa), cold ? "cold" : "warm");
}

tt_status tt_harness_packset(tt_harness *h, const tt_variant *v, bool cold, tt_packset **out)
{
    char key[96];
    layout_key(v, key, sizeof key, cold);
    if (cold) { /* the rotation size is part of the key: a final measurement may use larger copies than a race */
        size_t n = strlen(key);
        snprintf(key + n, sizeof key - n, "/%zuM", h->cold_bytes >> 20);
    }
    for (int i = 0; i < h->nsets; i++)
        if (!strcmp(h->sets[i]->key, key)) {
            *out = h->sets[i];
            return TT_OK;
        }
    size_t size = tt_variant_packed_size(v, h->m, h->k);
    if (!size) return tt_fail(TT_ERR_SHAPE, "%s rejects %dx%d: %s", v->name, h->m, h->k, tt_last_error());
    size_t stride = (size + 4095) & ~(size_t)4095;
    int n = 1;
    if (cold) {
        size_t want = h->cold_bytes / stride + 1;
        n = want < 2 ? 2 : (want > 100000 ? 100000 : (int)want);
    }
    uint8_t *buf = big_alloc(stride * (size_t)n);
    if (!buf) return tt_fail(TT_ERR_NOMEM, "%d copies of %zu bytes for %s", n, stride, key);
    tt_status st = tt_variant_pack(v, &h->w, buf, size);
    if (st) {
        big_free(buf, stride * (size_t)n);
        return st;
    }
    for (int c = 1; c < n; c++) memcpy(buf + stride * (size_t)c, buf, size);
    tt_packset **s = realloc(h->sets, sizeof *s * (size_t)(h->nsets + 1));
    tt_packset *ps = calloc(1, sizeof *ps);
    if (!s || !ps) {
        big_free(buf, stride * (size_t)n);
        free(ps);
        if (s) h->sets = s;
        return tt_fail(TT_ERR_NOMEM, "packsets");
    }
    h->sets = s;
    h->sets[h->nsets++] = ps;
    snprintf(ps->key, sizeof ps->key, "%s", key);
    ps->size = size;
    ps->stride = stride;
    ps->ncopies = n;
    ps->buf = buf;
    *out = ps;
    return TT_OK;
}

tt_status tt_harness_verify(tt_harness *h, const tt_variant *v, char *detail, size_t len)
{
    tt_packset *ps;
    tt_status st = tt_harness_packset(h, v, false, &ps);
    if (st) {
        snprintf(detail, len, "%s", tt_last_error());
        return st;
    }
    /* this shape's case on the very bytes that will be timed, then the domain edges at this K */
    tt_vcase c = {.w = h->w, .n = 1, .ldq = (size_t)h->k, .q = h->q, .sum_q = &h->sum_q, .want = h->ref};
    st = tt_verify_case(v, &c, ps->buf, 0, NULL, detail, len);
    if (!st) st = tt_verify_edges(v, 2 * (v->row_align > 0 ? v->row_align : 1) + 1, h->k, detail, len);
    return st;
}

/* Rows [r0, r1) of the plain layout read through; the sum lands in dot[r0] so the reads stay live. One entry point
 * per prefetch distance because a GEMV function carries no context. */
static void ceiling_span(const tt_gemv_args *a, int32_t *dot, int r0, int r1, size_t prefetch, int streams)
{
    if (r0 >= r1) return;
    size_t kb = (size_t)a->k / 4;
    dot[r0] = (int32_t)tt_membw_read_span_streams(a->w + (size_t)r0 * kb, (size_t)(r1 - r0) * kb, prefetch, streams);
}
static void ceiling_read(const tt_gemv_args *a, int32_t *dot, int r0, int r1) { ceiling_span(a, dot, r0, r1, 0, 1); }
static void ceiling_read_pf(const tt_gemv_args *a, int32_t *dot, int r0, int r1) { ceiling_span(a, dot, r0, r1, 8192, 1); }
static void ceiling_read_pf1k(const tt_gemv_args *a, int32_t *dot, int r0, int r1)
{
    ceiling_span(a, dot, r0, r1, 1024, 1);
}
static void ceiling_read_s4(const tt_gemv_args *a, int32_t *dot, int r0, int r1) { ceiling_span(a, dot, r0, r1, 0, 4); }

static const struct {
    tt_gemv_fn fn;
    const char *bench, *name;
} ceilings[TT_CEILINGS] = {
    {ceiling_read, "ceiling_stream_read", "(ceiling) stream read, no compute"},
    {ceiling_read_pf, "ceiling_stream_read_pf", "(ceiling) stream read + prefetch 8 KiB, no compute"},
    {ceiling_read_pf1k, "ceiling_stream_read_pf1k", "(ceiling) stream read + prefetch 1 KiB, no compute"},
    {ceiling_read_s4, "ceiling_stream_read_s4", "(ceiling) four-stream read, no compute"},
};

bool tt_is_ceiling(const tt_variant *v)
{
    for (int c = 0; v && c < TT_CEILINGS; c++)
        if (v->gemv == ceilings[c].fn) return true;
    return false;
}

const char *tt_bench_name(const tt_variant *v)
{
    for (int c = 0; v && c < TT_CEILINGS; c++)
        if (v->gemv == ceilings[c].fn) return ceilings[c].bench;
    return v->name;
}

const tt_variant *tt_ceiling_variant(int which, int m, int k)
{
    static tt_variant cv[TT_CEILINGS];
    static const tt_variant *plain;
    const tt_cpu *cpu = tt_cpu_get();
    if (which < 0 || which >= TT_CEILINGS) return NULL;
    if (!plain || tt_variant_check_shape(plain, m, k)) {
        plain = NULL;
        for (int i = 0; i < tt_registry_count && !plain; i++) {
            const tt_variant *v = &tt_registry[i];
            if (v->op == TT_OP_GEMV && v->fmt == TT_FMT_I2S && v->layout == TT_LAYOUT_I2S && !v->prep &&
                tt_variant_eligible(v, cpu, NULL, 0) && !tt_variant_check_shape(v, m, k))
                plain = v;
        }
        if (!plain) return NULL;
    }
    cv[which] = *plain;
    cv[which].name = ceilings[which].name;
    cv[which].gemv = ceilings[which].fn;
    cv[which].baseline = false;
    cv[which].exact = false;
    cv[which].row_align = 1;
    return &cv[which];
}

tt_status tt_bench_arg_init(tt_bench_arg *a, const tt_variant *v, tt_harness *h, tt_regime regime, tt_pool *pool,
                            tt_split split)
{
    memset(a, 0, sizeof *a);
    a->v = v;
    a->h = h;
    a->pool = pool;
    a->split = split;
    tt_status st = tt_harness_packset(h, v, regime == TT_REGIME_COLD, &a->ps);
    if (st) return st;
    a->ncopies = regime == TT_REGIME_COLD ? a->ps->ncopies : 1;
    if ((st = tt_plan_view(&a->plan, v, a->ps->buf, a->ps->size, h->m, h->k, pool ? tt_pool_threads(pool) : 1)))
        return st;
    a->dot = tt_alloc(sizeof(int32_t) * (size_t)h->m);
    if (!a->dot) return tt_fail(TT_ERR_NOMEM, "bench workspace");
    return TT_OK;
}

void tt_bench_arg_free(tt_bench_arg *a)
{
    tt_plan_free(&a->plan);
    tt_free(a->dot);
}

void tt_bench_fn(void *arg, int64_t iters)
{
    tt_bench_arg *a = arg;
    const tt_harness *h = a->h;
    for (int64_t i = 0; i < iters; i++) {
        tt_plan_bind(&a->plan, a->ps->buf + a->ps->stride * (size_t)a->next);
        if (++a->next == a->ncopies) a->next = 0;
        tt_plan_run_gemv(&a->plan, a->pool, h->q, h->sum_q, a->dot, a->split);
    }
}

double tt_bench_bytes(const tt_bench_arg *a) { return (double)(a->ps->size - TT_TAIL_BYTES); }

/* ---- cold-size calibration ---- */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((noinline)) static uint64_t read_sum(const uint64_t *p, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        a += p[i] ^ p[i + 4];
        b += p[i + 1] ^ p[i + 5];
        c += p[i + 2] ^ p[i + 6];
        d += p[i + 3] ^ p[i + 7];
    }
    return a + b + c + d;
}

static double read_gbps(const uint64_t *p, size_t bytes, int passes)
{
    volatile uint64_t sink = 0;
    double best = 0;
    for (int r = 0; r < passes; r++) {
        double t0 = now_s();
        sink += read_sum(p, bytes / 8);
        double g = (double)bytes / (now_s() - t0) / 1e9;
        if (g > best) best = g;
    }
    (void)sink;
    return best;
}

size_t tt_cold_bytes_measure(double *threshold_mb, double *dram_gbps, double *cache_gbps)
{
    const size_t big = (size_t)1 << 30;
    uint64_t *p = big_alloc(big);
    if (!p) return (size_t)256 << 20;
    memset(p, 1, big);
    double dram = read_gbps(p, big, 3);
    size_t thr = big;
    double cache = read_gbps(p, (size_t)4 << 20, 8);
    for (size_t s = (size_t)16 << 20; s < big; s *= 2)
        if (read_gbps(p, s, 4) <= dram * 1.15) {
            thr = s;
            break;
        }
    big_free(p, big);
    if (threshold_mb) *threshold_mb = (double)thr / (1 << 20);
    if (dram_gbps) *dram_gbps = dram;
    if (cache_gbps) *cache_gbps = cache;
    /* 4x the measured cache-resident limit, within [256 MiB, 1 GiB] per layout (memory is shared by layouts) */
    size_t cold = 4 * thr;
    if (cold < ((size_t)256 << 20)) cold = (size_t)256 << 20;
    if (cold > big) cold = big;
    return cold;
}

size_t tt_cold_budget_total(void)
{
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    size_t avail = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz : ((size_t)4 << 30);
    size_t b = avail * 3 / 10;
    return b > ((size_t)4 << 30) ? ((size_t)4 << 30) : b;
}

int tt_harness_layouts(const tt_harness *h, const tt_variant *const *v, int n)
{
    char keys[256][96];
    int nk = 0;
    (void)h;
    for (int i = 0; i < n && nk < 256; i++) {
        char k[96];
        layout_key(v[i], k, sizeof k, true);
        bool seen = false;
        for (int j = 0; j < nk && !seen; j++) seen = !strcmp(keys[j], k);
        if (!seen) snprintf(keys[nk++], 96, "%s", k);
    }
    return nk;
}

tt_gb_session *tt_bench_session(int m, int k, int threads, double min_time, int reps, tt_papi **papi)
{
    tt_gb_session *s = tt_gb_new();
    if (!s) return NULL;
    tt_gb_set(s, min_time, reps, true);
    char v[64];
    snprintf(v, sizeof v, "%dx%d", m, k);
    tt_gb_set_context(s, "tritune_shape", v);
    snprintf(v, sizeof v, "%d", threads);
    tt_gb_set_context(s, "tritune_threads", v);
    tt_gb_set_context(s, "cpu_brand", tt_cpu_get()->brand);
    *papi = tt_papi_open(NULL, 0);
    tt_gb_counter_hook hook;
    tt_papi_counter_hook(*papi, &hook);
    tt_gb_set_counters(s, &hook);
    return s;
}
