/* tt_membw.h — streaming-read memory bandwidth, the roofline that decode GEMV (a weight stream) is held against.
 *
 * Each thread reads its own slice of a buffer much larger than the last-level cache, bound one thread per core
 * (tt_topo), with loads summed into a result so the compiler cannot drop them. Built for the baseline ISA; an AVX2
 * loop is picked at run time when tt_cpu_get() says AVX2 is usable. */
#ifndef TT_MEMBW_H
#define TT_MEMBW_H

#include "tt_common.h"
#include "tt_topo.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_membw_opts {
    size_t bytes;  /* total buffer over all threads; 0 = tt_membw_default_bytes() (quick: 32 MiB) */
    int runs;      /* timed passes; the median is reported; 0 = 5 (quick: 3) */
    int threads;   /* 0 = all physical cores */
    bool quick;    /* tests: small buffer, few runs — a sanity number, not a roofline */
    int place;     /* > 0: the buffer goes onto the fastest 2 MiB pages first (tt_alloc_place, this many rounds), as
                    * a placed model's weights do: the probe then reads pages like theirs */
} tt_membw_opts;

typedef struct tt_membw_result {
    int threads;
    size_t bytes;       /* buffer actually read per pass */
    int runs;
    double gbps_median; /* 1e9 bytes per second */
    double gbps_min, gbps_max;
    bool bound;         /* every thread was bound to its PU */
    char method[64];    /* the winning reader: "avx2-load, best of 7 readers", "avx2-load+prefetch-<D>B, best of 7
                         * readers", "avx2-load, <S> streams, best of 7 readers" or "scalar-u64" */
    size_t prefetch;    /* the winning reader's software prefetch distance in bytes (0: plain loads) */
    int streams;        /* the winning reader's streams per thread (1, or one of tt_membw_stream_counts: plain loads) */
    bool placed;        /* the buffer was placed (tt_membw_opts.place) */
} tt_membw_result;

/* 8 x the L3 (all instances), at least 256 MiB, at most 1 GiB and at most a quarter of the memory available now:
 * large enough that caches (even a 300 MB L3 of a shared host, reported in full inside a VM) hold little of it,
 * small enough for the probe to finish in about a second or two. */
size_t tt_membw_default_bytes(const tt_topo *t);

/* Reads [p, p + bytes) with the probe's loop (any alignment and length): a pure streaming reader with no compute,
 * the ceiling a GEMV over the same bytes is held against in the same run (tritune bench). prefetch > 0: the loop
 * also prefetches that many bytes ahead, as the kernels do. Returns, mod 2^64, the sum of the little-endian 64-bit words of
 * the first bytes & ~255 bytes plus the remaining bytes one by one (so the loads are live and testable). */
uint64_t tt_membw_read_span(const void *p, size_t bytes, size_t prefetch);

/* tt_membw_read_span as `streams` streams (1, 2 or 4; others read as one): the span's 256-byte steps cut into that
 * many equal parts read in turn with plain loads (prefetch applies to one stream only); the same sum. */
uint64_t tt_membw_read_span_streams(const void *p, size_t bytes, size_t prefetch, int streams);

/* The software prefetch distances (bytes) the probe tries besides plain loads; returns their count. */
int tt_membw_prefetch_distances(const size_t **d);

/* The stream counts (> 1, plain loads) the probe tries besides one stream; returns their count. */
int tt_membw_stream_counts(const int **s);

/* One thread count: the best median of a plain reader, the prefetching ones (tt_membw_prefetch_distances) and the
 * multi-stream ones (tt_membw_stream_counts).
 * t may be NULL (no binding, no topology-sized default). */
tt_status tt_membw_measure(const tt_topo *t, const tt_membw_opts *opts, tt_membw_result *out);

/* The sweep over tt_topo_thread_counts(); returns how many results were written (<= max), or -1 on error. */
int tt_membw_sweep(const tt_topo *t, const tt_membw_opts *opts, tt_membw_result *out, int max);

#ifdef __cplusplus
}
#endif
#endif
