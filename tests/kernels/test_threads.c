/* The thread pool: each split with 1, 2 and 3 threads gives the oracle's output, for one variant of each layout
 * and ISA runnable here; tt_split_even and tt_guided_take cover every row exactly once. */
#include "tt_pool.h"
#include "tt_test.h"

/* tt_guided_take from every thread of a pool: each row counted once, every take in whole units (but the last row's),
 * at least min rows (but the last), no longer than a (2n)-th of the rows left when taken, rounded up (one thread:
 * all of them in one take). */
typedef struct guided_arg {
    _Atomic int next;
    int m, unit, min;
    _Atomic int *owner; /* per row: how many takes held it */
    _Atomic int bad;
} guided_arg;

static void guided_worker(void *ctx, int tid, int nth)
{
    guided_arg *g = ctx;
    int r0, r1;
    (void)tid;
    while (tt_guided_take(&g->next, g->m, g->unit, g->min, nth, &r0, &r1)) {
        int left = g->m - r0, cap = nth == 1 ? left : left / (2 * nth);
        cap = cap < g->min ? g->min : cap;
        cap = (cap + g->unit - 1) / g->unit * g->unit;
        if (r0 < 0 || r1 > g->m || r1 <= r0 || r0 % g->unit || (r1 % g->unit && r1 != g->m) ||
            (r1 - r0 < g->min && r1 != g->m) || r1 - r0 > cap)
            atomic_fetch_add(&g->bad, 1);
        for (int r = r0; r < r1; r++) atomic_fetch_add(&g->owner[r], 1);
    }
}

int main(void)
{
    /* split arithmetic */
    for (int m = 1; m < 70; m += 7)
        for (int align = 1; align <= 16; align *= 4)
            for (int n = 1; n <= 5; n++) {
                int next = 0;
                for (int t = 0; t < n; t++) {
                    int r0, r1;
                    tt_split_even(m, align, t, n, &r0, &r1);
                    CHECK(r0 == next && r1 >= r0 && (r0 % align == 0 || r0 == m) && (r1 % align == 0 || r1 == m));
                    next = r1;
                }
                CHECK(next == m);
            }
    /* guided takes, from 1-4 threads at once */
    for (int threads = 1; threads <= 4; threads++) {
        tt_pool *p = tt_pool_new(threads, NULL, NULL);
        const int ms[] = {1, 63, 64, 65, 1000, 128256}, units[] = {1, 8, 64}, mins[] = {1, 64, 256};
        for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t c = 0; c < 3; c++) {
                    guided_arg g = {.m = ms[a], .unit = units[b], .min = mins[c]};
                    g.owner = calloc((size_t)g.m, sizeof *g.owner);
                    tt_pool_run(p, guided_worker, &g);
                    int once = 1;
                    for (int r = 0; r < g.m; r++) once &= g.owner[r] == 1;
                    CHECKF(once && !g.bad, "guided m=%d unit=%d min=%d threads=%d", g.m, g.unit, g.min, threads);
                    int r0, r1;
                    CHECK(!tt_guided_take(&g.next, g.m, g.unit, g.min, threads, &r0, &r1)); /* all taken */
                    if (threads == 1) { /* one take of everything */
                        atomic_store(&g.next, 0);
                        CHECK(tt_guided_take(&g.next, g.m, g.unit, g.min, 1, &r0, &r1) && r0 == 0 && r1 == g.m);
                    }
                    free(g.owner);
                }
        tt_pool_free(p);
    }
    const int m = 203, k = 640;
    tt_tern w;
    tt_tern_alloc(&w, m, k);
    tt_tern_random(&w, 9);
    int8_t q[640];
    int32_t sq = 0, want[203], got[203];
    uint64_t s = 5;
    for (int j = 0; j < k; j++) sq += q[j] = (int8_t)((int)(tt_rand_next(&s) % 255) - 127);
    tt_oracle_dot(&w, q, want);
    const tt_cpu *cpu = tt_cpu_get();
    int seen_isa_layout[TT_ISA_COUNT][TT_LAYOUT_COUNT] = {{0}};
    int tested = 0;
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMV || !tt_variant_eligible(v, cpu, NULL, 0) || tt_variant_check_shape(v, m, k)) continue;
        if (seen_isa_layout[v->isa][v->layout]++ > 1) continue; /* two per (ISA, layout) */
        size_t n = tt_variant_packed_size(v, m, k), wsn = tt_variant_ws_size(v, k);
        uint8_t *buf = tt_alloc(n);
        void *ws = wsn ? tt_alloc(wsn) : NULL;
        CHECK(tt_variant_pack(v, &w, buf, n) == TT_OK);
        if (ws) v->prep(q, k, ws);
        tt_gemv_args a = {buf, q, ws, sq, m, k};
        for (int threads = 1; threads <= 3; threads++) {
            tt_pool *p = tt_pool_new(threads, NULL, NULL);
            CHECK(tt_pool_threads(p) == threads);
            for (int sp = 0; sp < TT_SPLIT_COUNT; sp++)
                for (int rep = 0; rep < 3; rep++) {
                    memset(got, 0x77, sizeof got);
                    tt_pool_gemv(p, v, &a, got, (tt_split)sp);
                    CHECKF(!memcmp(got, want, sizeof want), "%s threads=%d split=%s", v->name, threads,
                           tt_split_name((tt_split)sp));
                }
            tt_pool_free(p);
        }
        tt_free(buf);
        tt_free(ws);
        tested++;
    }
    CHECK(tested > 0);
    printf("threads: %d variants checked with 1-3 threads and every split\n", tested);
    tt_tern_free(&w);
    return tt_test_end("threads");
}
