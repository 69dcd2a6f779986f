/* tt_pool.h — a small persistent pthread pool that splits a GEMV's rows. Kernels compute a row range; threading
 * lives here. Workers spin briefly between jobs (decode GEMVs are ~100 us: a sleep/wake per call would cost more
 * than the work), then block on a condition variable. The caller takes part as thread 0. */
#ifndef TT_POOL_H
#define TT_POOL_H

#include "tt_registry.h"

#include <stdbool.h>
#ifndef __cplusplus
#include <stdatomic.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_pool tt_pool;

/* How rows are split among threads (a tunable parameter). */
typedef enum tt_split {
    TT_SPLIT_EVEN = 0, /* one contiguous, equal (row_align-rounded) range per thread */
    TT_SPLIT_CHUNK,    /* dynamic: threads take chunks of 8*row_align... rows from a shared counter */
    TT_SPLIT_COUNT
} tt_split;

const char *tt_split_name(tt_split s);

/* bind(ctx, thread_index) is called once in each worker (and for index 0 in the caller) — hwloc binding. */
tt_pool *tt_pool_new(int nthreads, void (*bind)(void *ctx, int idx), void *bind_ctx);
void tt_pool_free(tt_pool *p);
int tt_pool_threads(const tt_pool *p);

/* Run fn(arg, tid, nthreads) on every thread, return when all are done. */
void tt_pool_run(tt_pool *p, void (*fn)(void *arg, int tid, int n), void *arg);

/* Whole GEMV over rows [0, a->m) of a prepared call (prep already done), split by 'split'. */
void tt_pool_gemv(tt_pool *p, const tt_variant *v, const tt_gemv_args *a, int32_t *dot, tt_split split);

/* Guided self-scheduling of rows [0, m) over nth threads, for one pool call whose threads each loop
 *     while (tt_guided_take(&next, m, unit, min_rows, nth, &r0, &r1)) work(r0, r1);
 * on a counter set to 0 before the call. Each take is about a (2·nth)-th of the rows left, rounded up to whole
 * units (the last take may be short), never under min_rows: the first takes are long streams, the last short, so a
 * thread that streams slower (its pages, the host's other tenants) simply takes fewer rows and the threads finish
 * within about one small take of each other. One thread takes all the rows at once. Returns false when no rows
 * are left. */
#ifndef __cplusplus
bool tt_guided_take(_Atomic int *next, int m, int unit, int min_rows, int nth, int *r0, int *r1);
#endif

/* The row range thread tid of n gets under TT_SPLIT_EVEN (exposed for tests). */
void tt_split_even(int m, int align, int tid, int n, int *r0, int *r1);

#ifdef __cplusplus
}
#endif
#endif
