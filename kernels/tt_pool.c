#include "tt_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield")
#else
#define cpu_relax() ((void)0)
#endif

/* A worker spins this long after a job before it blocks (TRITUNE_SPIN_US overrides): long enough to catch the next
 * GEMV of a decode step, short enough not to steal a core for long. With more threads than online CPUs spinning only
 * delays the thread that holds the work, so such a pool blocks at once. */
#define SPIN_US_DEFAULT 100

struct tt_pool {
    int n;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic unsigned gen;     /* bumped for every job */
    _Atomic int pending;      /* workers still running the current job */
    _Atomic int stop;
    void (*fn)(void *, int, int);
    void *arg;
    void (*bind)(void *, int);
    void *bind_ctx;
    long spin_ns;
};

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

typedef struct worker_arg {
    tt_pool *p;
    int idx;
} worker_arg;

static const char *const split_names[TT_SPLIT_COUNT] = {"even", "chunk"};
const char *tt_split_name(tt_split s) { return (unsigned)s < TT_SPLIT_COUNT ? split_names[s] : "?"; }

static void *worker(void *va)
{
    worker_arg wa = *(worker_arg *)va;
    free(va);
    tt_pool *p = wa.p;
    if (p->bind) p->bind(p->bind_ctx, wa.idx);
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        long spins = 0, t0 = p->spin_ns ? now_ns() : 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen && !atomic_load(&p->stop)) {
            if (p->spin_ns && (++spins & 127 || now_ns() - t0 < p->spin_ns)) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        p->fn(p->arg, wa.idx, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

tt_pool *tt_pool_new(int nthreads, void (*bind)(void *ctx, int idx), void *bind_ctx)
{
    if (nthreads < 1) nthreads = 1;
    tt_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = nthreads;
    const char *su = getenv("TRITUNE_SPIN_US");
    long us = su && *su ? atol(su) : SPIN_US_DEFAULT;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p->spin_ns = (cpus > 0 && nthreads > cpus) || us < 0 ? 0 : us * 1000;
    p->bind = bind;
    p->bind_ctx = bind_ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->tid = calloc((size_t)nthreads, sizeof *p->tid);
    if (!p->tid) {
        free(p);
        return NULL;
    }
    if (bind) bind(bind_ctx, 0);
    for (int i = 1; i < nthreads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) {
            p->n = i;
            break;
        }
        wa->p = p;
        wa->idx = i;
        if (pthread_create(&p->tid[i], NULL, worker, wa)) {
            free(wa);
            p->n = i;
            break;
        }
    }
    return p;
}

void tt_pool_free(tt_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->tid);
    free(p);
}

int tt_pool_threads(const tt_pool *p) { return p ? p->n : 1; }

void tt_pool_run(tt_pool *p, void (*fn)(void *arg, int tid, int n), void *arg)
{
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        if (p->spin_ns) cpu_relax();
        else sched_yield(); /* oversubscribed: let the workers run */
    }
}

void tt_split_even(int m, int align, int tid, int n, int *r0, int *r1)
{
    int units = (m + align - 1) / align; /* row blocks */
    int per = units / n, extra = units % n;
    int u0 = tid * per + (tid < extra ? tid : extra);
    int u1 = u0 + per + (tid < extra);
    *r0 = u0 * align < m ? u0 * align : m;
    *r1 = u1 * align < m ? u1 * align : m;
}

bool tt_guided_take(_Atomic int *next, int m, int unit, int min_rows, int nth, int *r0, int *r1)
{
    if (unit < 1) unit = 1;
    if (nth < 1) nth = 1;
    int cur = atomic_load_explicit(next, memory_order_relaxed);
    for (;;) {
        int left = m - cur;
        if (left <= 0) return false;
        int take = nth == 1 ? left : left / (2 * nth); /* one thread: one stream, one take */
        if (take < min_rows) take = min_rows;
        take = (int)(((long)take + unit - 1) / unit * unit);
        if (take > left) take = left;
        if (atomic_compare_exchange_weak_explicit(next, &cur, cur + take, memory_order_relaxed, memory_order_relaxed)) {
            *r0 = cur, *r1 = cur + take;
            return true;
        }
    }
}

typedef struct gemv_job {
    const tt_variant *v;
    const tt_gemv_args *a;
    int32_t *dot;
    tt_split split;
    _Atomic int next;
    int chunk;
} gemv_job;

static void gemv_worker(void *arg, int tid, int n)
{
    gemv_job *j = arg;
    if (j->split == TT_SPLIT_EVEN) {
        int r0, r1;
        tt_split_even(j->a->m, j->v->row_align, tid, n, &r0, &r1);
        if (r0 < r1) j->v->gemv(j->a, j->dot, r0, r1);
        return;
    }
    for (;;) {
        int r0 = atomic_fetch_add(&j->next, j->chunk);
        if (r0 >= j->a->m) return;
        int r1 = r0 + j->chunk < j->a->m ? r0 + j->chunk : j->a->m;
        j->v->gemv(j->a, j->dot, r0, r1);
    }
}

void tt_pool_gemv(tt_pool *p, const tt_variant *v, const tt_gemv_args *a, int32_t *dot, tt_split split)
{
    gemv_job j = {v, a, dot, split, 0, 0};
    int align = v->row_align > 0 ? v->row_align : 1;
    j.chunk = align * ((64 + align - 1) / align); /* >= 64 rows: amortises the atomic, keeps tiles whole */
    tt_pool_run(p, gemv_worker, &j);
}
