/* tt_gemm_bench.h — verify and time GEMM (batched prefill) kernels on one shape: one random ternary matrix and n
 * random int8 tokens with the oracle's dots, shared by every timing session made from it. Used by `tritune
 * bench-gemm` and by the tuner's prefill races. */
#ifndef TT_GEMM_BENCH_H
#define TT_GEMM_BENCH_H

#include "tt_registry.h"
#include "tt_topo.h"

typedef struct tt_gemm_bench tt_gemm_bench;

typedef struct tt_gemm_timing {
    const tt_variant *v;
    bool excluded;    /* failed to pack, or did not match the oracle through the pool: not timed */
    char why[160];
    double median_ns; /* one pass: the whole GEMM (or, for a GEMV row, n token-by-token pool calls) */
    double cv;
    int reps;
    char name[240];   /* the Google Benchmark name */
} tt_gemm_timing;

/* NULL on failure (tt_last_error). */
tt_gemm_bench *tt_gemm_bench_new(int m, int k, int n, uint64_t seed);
void tt_gemm_bench_free(tt_gemm_bench *b);

/* Each of vs (GEMM rows; GEMV rows run token by token as a reference) is packed, run once over a pool of threads
 * and compared with the oracle; the matching ones are then timed interleaved in one Google Benchmark session with
 * warm weights. out[i] belongs to vs[i]. topo may be NULL (threads unbound). */
tt_status tt_gemm_bench_time(tt_gemm_bench *b, const tt_variant *const *vs, int nv, int threads, tt_topo *topo,
                             double min_time, int reps, const char *json_path, tt_gemm_timing *out);

#endif
