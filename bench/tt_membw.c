/* tt_membw.c — streaming-read bandwidth probe; see tt_membw.h. The probe times itself with the monotonic clock:
 * it measures the machine, not a kernel, so Google Benchmark's iteration logic brings nothing here. */
#include "tt_membw.h"
#include "tt_cpu.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MIB ((size_t)1 << 20)
#define TT_MEMBW_MAX_THREADS 1024
#define SLICE_ALIGN 256 /* both loops consume 256 bytes per step */

typedef uint64_t (*read_fn)(const uint8_t *p, size_t bytes, size_t pf, int streams);

/* Four independent accumulators keep several loads in flight; the sum is returned and stored to a volatile so
 * the loads are live. */
static inline uint64_t ld64(const uint8_t *p) /* any alignment (tt_membw_read_span); one plain load */
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

static uint64_t read_scalar(const uint8_t *p, size_t bytes, size_t pf, int streams)
{
    (void)pf, (void)streams;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < bytes / 8; i += 32) {
        for (size_t j = 0; j < 32; j += 4) {
            a += ld64(p + 8 * (i + j));
            b += ld64(p + 8 * (i + j + 1));
            c += ld64(p + 8 * (i + j + 2));
            d += ld64(p + 8 * (i + j + 3));
        }
    }
    return a + b + c + d;
}

#if defined(__x86_64__)
/* acc[j] += the 64-bit lanes of the 32 bytes at x + j, j < 4: four independent accumulators keep loads in flight */
__attribute__((target("avx2"), always_inline)) static inline void add_lines(__m256i *acc, const __m256i *x)
{
    for (int j = 0; j < 4; j++) acc[j] = _mm256_add_epi64(acc[j], _mm256_loadu_si256(x + j));
}

__attribute__((target("avx2"), always_inline)) static inline uint64_t sum_acc(const __m256i *acc)
{
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3]));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

/* pf = 0: plain streaming loads; pf > 0: also software prefetch pf bytes ahead — on server parts one core's demand
 * misses alone do not keep enough lines in flight, and the kernels prefetch, so the roofline must be what a
 * prefetching reader gets too. */
__attribute__((target("avx2"))) static inline uint64_t read_avx2_body(const uint8_t *p, size_t bytes, size_t pf)
{
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (size_t i = 0; i < bytes; i += 256) {
        const __m256i *q = (const __m256i *)(p + i);
        if (pf)
            for (int l = 0; l < 4; l++) _mm_prefetch((const char *)(p + i + pf + 64 * l), _MM_HINT_T0);
        add_lines(acc, q);
        add_lines(acc, q + 4);
    }
    return sum_acc(acc);
}

/* S plain streams: the span cut into S parts (whole 256-byte steps), 128 bytes of each part in turn per step, the
 * bytes past S equal parts read as one stream. One core's single stream does not always keep enough lines in flight:
 * on the 2-core Zen 3 VM two or four streams read ~1.2x one stream, with or without prefetch (docs/MEASUREMENT.md),
 * and the LM head's streams members read that way. */
__attribute__((target("avx2"))) static inline uint64_t read_avx2_streams(const uint8_t *p, size_t bytes, const int S)
{
    size_t part = bytes / (size_t)S / 256 * 256;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (size_t i = 0; i < part; i += 128)
        for (int q = 0; q < S; q++) add_lines(acc, (const __m256i *)(p + (size_t)q * part + i));
    return sum_acc(acc) + read_avx2_body(p + (size_t)S * part, bytes - (size_t)S * part, 0);
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t bytes, size_t pf, int streams)
{
    if (streams == 2) return read_avx2_streams(p, bytes, 2);
    if (streams == 4) return read_avx2_streams(p, bytes, 4);
    return pf ? read_avx2_body(p, bytes, pf) : read_avx2_body(p, bytes, 0);
}
#endif

uint64_t tt_membw_read_span(const void *p, size_t bytes, size_t prefetch)
{
    return tt_membw_read_span_streams(p, bytes, prefetch, 1);
}

uint64_t tt_membw_read_span_streams(const void *p, size_t bytes, size_t prefetch, int streams)
{
    const uint8_t *b = p;
    size_t body = bytes & ~(size_t)(SLICE_ALIGN - 1);
    uint64_t sum = 0;
#if defined(__x86_64__)
    if (tt_cpu_get()->usable & TT_F_AVX2) sum = read_avx2(b, body, prefetch, streams);
    else sum = read_scalar(b, body, 0, 1);
#else
    sum = read_scalar(b, body, prefetch, streams);
#endif
    for (size_t i = body; i < bytes; i++) sum += b[i];
    return sum;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The probe's software prefetch distances (bytes), tried besides plain loads where AVX2 runs; and its stream counts
 * (plain loads), tried besides one stream. */
static const size_t pf_distances[] = {512, 1024, 2048, 8192};
#define N_PF (int)(sizeof pf_distances / sizeof pf_distances[0])
static const int stream_counts[] = {2, 4};
#define N_ST (int)(sizeof stream_counts / sizeof stream_counts[0])

typedef struct membw_shared {
    const tt_topo *topo;
    pthread_barrier_t barrier;
    read_fn fn;
    size_t pf[1 + N_PF + N_ST]; /* the readers: software prefetch distance in bytes, 0: none */
    int streams[1 + N_PF + N_ST]; /* and streams (1, or stream_counts[]: plain loads) */
    int nm;       /* how many readers */
    size_t slice;
    int runs;
    double *start, *end; /* [(run * nm + reader) * threads + thread] */
    int nthreads;
    int place; /* tt_membw_opts.place */
    int bind_failures;
    int alloc_failures;
    pthread_mutex_t lock;
    pthread_cond_t gate;
    bool gate_open, abort;
} membw_shared;

typedef struct membw_thread {
    membw_shared *sh;
    int index;
    pthread_t tid;
    volatile uint64_t sink;
} membw_thread;

static void *membw_worker(void *arg)
{
    membw_thread *th = arg;
    membw_shared *sh = th->sh;
    pthread_mutex_lock(&sh->lock);
    while (!sh->gate_open)
        pthread_cond_wait(&sh->gate, &sh->lock);
    bool abort = sh->abort;
    pthread_mutex_unlock(&sh->lock);
    if (abort)
        return NULL;
    bool bound = sh->topo && tt_topo_bind_thread(sh->topo, th->index) == TT_OK;
    /* Allocated and first touched by the reading thread after binding, so its pages are local to it. */
    /* (placement needs tt_alloc's own mappings; first touched here, after binding, so local all the same) */
    const bool local = sh->topo && !sh->place;
    uint8_t *buf = local ? tt_topo_alloc_local(sh->topo, sh->slice) : tt_alloc(sh->slice);
#ifdef MADV_HUGEPAGE
    /* huge pages as for the weights (tt_alloc does this itself): the bound must not be a 4 KiB-page bound */
    if (buf && local) {
        uintptr_t a = ((uintptr_t)buf + 4095) & ~(uintptr_t)4095, b = ((uintptr_t)buf + sh->slice) & ~(uintptr_t)4095;
        if (b > a) madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
#endif
    if (buf)
        memset(buf, 0x5a, sh->slice);
    pthread_mutex_lock(&sh->lock);
    sh->bind_failures += !bound;
    sh->alloc_failures += !buf;
    pthread_mutex_unlock(&sh->lock);
    pthread_barrier_wait(&sh->barrier); /* everyone allocated: main checks for failures */
    pthread_barrier_wait(&sh->barrier); /* main's verdict is in alloc_failures */
    if (!sh->alloc_failures) {
        th->sink += sh->fn(buf, sh->slice, 0, 1); /* warm-up pass: TLB and page tables, not timed */
        for (int r = 0; r < sh->runs; r++) /* the readers in turn within each run: drift falls on all alike */
            for (int q = 0; q < sh->nm; q++) {
                pthread_barrier_wait(&sh->barrier);
                double t0 = now_s();
                th->sink += sh->fn(buf, sh->slice, sh->pf[q], sh->streams[q]);
                sh->start[(r * sh->nm + q) * sh->nthreads + th->index] = t0;
                sh->end[(r * sh->nm + q) * sh->nthreads + th->index] = now_s();
            }
    }
    if (buf) {
        if (local)
            tt_topo_free_local(sh->topo, buf, sh->slice);
        else
            tt_free(buf);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

size_t tt_membw_default_bytes(const tt_topo *t)
{
    size_t want = 512 * MIB;
    if (t && t->l3_bytes && t->l3_count)
        want = 8 * t->l3_bytes * (size_t)t->l3_count;
    if (want < 256 * MIB)
        want = 256 * MIB;
    if (want > 1024 * MIB)
        want = 1024 * MIB;
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0) {
        size_t cap = (size_t)pages * (size_t)psz / 4;
        if (cap < want)
            want = cap > 16 * MIB ? cap : 16 * MIB;
    }
    return want;
}

/* The read bandwidth is the best median of a plain streaming reader, prefetching ones (x86 with AVX2), one per
 * distance in pf_distances, and multi-stream ones, one per count in stream_counts, taken in turn within each run on
 * one buffer: which reader streams fastest depends on the machine (on the 2-core Xeon VM 0.5-2 KiB read ~1.2x a plain
 * reader and 8 KiB gained nothing; on the Zen 5 VM 8 KiB did best; on the Zen 3 VM two and four streams did best), and
 * the kernels' prefetch distances and stream counts are tuned per machine, so the roofline is the best of them. */
tt_status tt_membw_measure(const tt_topo *t, const tt_membw_opts *opts, tt_membw_result *out)
{
    if (!out)
        return tt_fail(TT_ERR_NULL, "tt_membw_measure: result is NULL");
    memset(out, 0, sizeof *out);
    tt_membw_opts o = opts ? *opts : (tt_membw_opts){0};
    int threads = o.threads > 0 ? o.threads : (t && t->cores > 0 ? t->cores : 1);
    if (threads > TT_MEMBW_MAX_THREADS)
        return tt_fail(TT_ERR_VALUE, "tt_membw_measure: %d threads is more than the %d supported", threads,
                       TT_MEMBW_MAX_THREADS);
    size_t bytes = o.bytes ? o.bytes : o.quick ? 32 * MIB : tt_membw_default_bytes(t);
    int runs = o.runs > 0 ? o.runs : o.quick ? 3 : 5;
    size_t slice = bytes / (size_t)threads / SLICE_ALIGN * SLICE_ALIGN;
    if (slice == 0)
        return tt_fail(TT_ERR_SIZE, "tt_membw_measure: %zu bytes cannot be split over %d threads", bytes, threads);

    membw_shared sh = {.topo = t && t->handle ? t : NULL, .slice = slice, .runs = runs, .nthreads = threads,
                       .place = o.place};
    const uint64_t mark = tt_alloc_seq(); /* the probe's buffers are the big ones made after this */
    sh.fn = read_scalar;
    sh.nm = 1; /* plain loads first */
    sh.streams[0] = 1;
#if defined(__x86_64__)
    if (tt_cpu_get()->usable & TT_F_AVX2) {
        sh.fn = read_avx2;
        for (int i = 0; i < N_PF; i++) sh.pf[sh.nm] = pf_distances[i], sh.streams[sh.nm++] = 1;
        for (int i = 0; i < N_ST; i++) sh.pf[sh.nm] = 0, sh.streams[sh.nm++] = stream_counts[i];
    }
#endif
    const int nm = sh.nm;
    sh.start = calloc((size_t)runs * (size_t)nm * (size_t)threads, sizeof(double));
    sh.end = calloc((size_t)runs * (size_t)nm * (size_t)threads, sizeof(double));
    membw_thread *th = calloc((size_t)threads, sizeof *th);
    double *gbps = calloc((size_t)runs * (size_t)nm, sizeof(double));
    tt_status st = TT_OK;
    if (!sh.start || !sh.end || !th || !gbps) {
        st = tt_fail(TT_ERR_NOMEM, "tt_membw_measure: out of memory");
        goto done;
    }
    pthread_mutex_init(&sh.lock, NULL);
    pthread_cond_init(&sh.gate, NULL);
    /* The main thread joins every barrier so it can stop the workers when an allocation failed. */
    pthread_barrier_init(&sh.barrier, NULL, (unsigned)threads + 1);
    int started = 0;
    for (; started < threads; started++) {
        th[started].sh = &sh;
        th[started].index = started;
        int e = pthread_create(&th[started].tid, NULL, membw_worker, &th[started]);
        if (e) {
            st = tt_fail(TT_ERR_UNSUPPORTED, "tt_membw_measure: pthread_create: %s", strerror(e));
            break;
        }
    }
    /* Open the gate: workers wait there so that a failed pthread_create can send the started ones home before
     * they reach a barrier that counts threads that do not exist. */
    pthread_mutex_lock(&sh.lock);
    sh.gate_open = true;
    sh.abort = started < threads;
    pthread_cond_broadcast(&sh.gate);
    pthread_mutex_unlock(&sh.lock);
    if (started < threads)
        for (int i = 0; i < started; i++)
            pthread_join(th[i].tid, NULL);
    if (started == threads) {
        pthread_barrier_wait(&sh.barrier);
        if (sh.alloc_failures)
            st = tt_fail(TT_ERR_NOMEM, "tt_membw_measure: %d of %d threads could not allocate %zu bytes",
                         sh.alloc_failures, threads, slice);
        else if (o.place > 0) { /* the workers wait at the barrier: nothing reads the buffers meanwhile */
            tt_place_report pr;
            out->placed = tt_alloc_place(mark, o.place, &pr) == TT_OK && pr.pages > 0;
        }
        pthread_barrier_wait(&sh.barrier);
        if (!sh.alloc_failures)
            for (int r = 0; r < runs * nm; r++)
                pthread_barrier_wait(&sh.barrier);
        for (int i = 0; i < threads; i++)
            pthread_join(th[i].tid, NULL);
    }
    pthread_barrier_destroy(&sh.barrier);
    pthread_mutex_destroy(&sh.lock);
    pthread_cond_destroy(&sh.gate);
    if (st != TT_OK)
        goto done;

    /* Per reader: each run's wall time from the first thread's start to the last one's end (a straggler counts
     * against the machine), then the median over runs; the best median is the result. */
    for (int q = 0; q < nm; q++) {
        double *g = gbps + (size_t)q * runs;
        for (int r = 0; r < runs; r++) {
            double t0 = INFINITY, t1 = 0;
            for (int i = 0; i < threads; i++) {
                t0 = fmin(t0, sh.start[(r * nm + q) * threads + i]);
                t1 = fmax(t1, sh.end[(r * nm + q) * threads + i]);
            }
            g[r] = t1 > t0 ? (double)slice * threads / (t1 - t0) / 1e9 : 0;
        }
        qsort(g, (size_t)runs, sizeof g[0], cmp_double);
        double med = runs % 2 ? g[runs / 2] : 0.5 * (g[runs / 2 - 1] + g[runs / 2]);
        if (q > 0 && !(med > out->gbps_median)) continue;
        out->gbps_median = med;
        out->gbps_min = g[0];
        out->gbps_max = g[runs - 1];
        out->prefetch = sh.pf[q];
        out->streams = sh.streams[q];
    }
    out->threads = threads;
    out->bytes = slice * (size_t)threads;
    out->runs = runs;
    out->bound = sh.topo && sh.bind_failures == 0;
    if (sh.fn == read_scalar) snprintf(out->method, sizeof out->method, "scalar-u64");
    else if (out->streams > 1)
        snprintf(out->method, sizeof out->method, "avx2-load, %d streams, best of %d readers", out->streams, nm);
    else if (out->prefetch)
        snprintf(out->method, sizeof out->method, "avx2-load+prefetch-%zuB, best of %d readers", out->prefetch, nm);
    else snprintf(out->method, sizeof out->method, "avx2-load, best of %d readers", nm);
    if (!(out->gbps_median > 0) || !isfinite(out->gbps_median))
        st = tt_fail(TT_ERR_VALUE, "tt_membw_measure: timing produced no positive bandwidth (clock too coarse?)");
done:
    free(sh.start);
    free(sh.end);
    free(th);
    free(gbps);
    return st;
}

int tt_membw_sweep(const tt_topo *t, const tt_membw_opts *opts, tt_membw_result *out, int max)
{
    if (!out || max <= 0) {
        tt_fail(TT_ERR_NULL, "tt_membw_sweep: no room for results");
        return -1;
    }
    int counts[TT_TOPO_MAX_THREAD_COUNTS];
    int n = tt_topo_thread_counts(t, counts, TT_TOPO_MAX_THREAD_COUNTS);
    int w = 0;
    for (int i = 0; i < n && w < max; i++) {
        tt_membw_opts o = opts ? *opts : (tt_membw_opts){0};
        o.threads = counts[i];
        if (tt_membw_measure(t, &o, &out[w]) != TT_OK)
            return -1;
        w++;
    }
    return w;
}

int tt_membw_prefetch_distances(const size_t **d)
{
    if (d) *d = pf_distances;
    return N_PF;
}

int tt_membw_stream_counts(const int **s)
{
    if (s) *s = stream_counts;
    return N_ST;
}
