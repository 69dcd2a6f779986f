/* tt_harness.h — one GEMV shape's test data, packed weights shared by every variant that reads the same layout,
 * rotating copies for the cold regime, the oracle answer, and the timed callback used by bench and tune. */
#ifndef TT_HARNESS_H
#define TT_HARNESS_H

#include "tt_plan.h"
#include "tt_pool.h"
#include "tt_registry.h"

typedef enum tt_regime { TT_REGIME_COLD = 0, TT_REGIME_WARM } tt_regime;
const char *tt_regime_name(tt_regime r);

typedef struct tt_packset {
    char key[96];
    size_t size;      /* bytes of one packed copy (weights + tail) */
    size_t stride;    /* 4 KiB-rounded distance between copies */
    int ncopies;      /* rotating copies (cold); copy 0 is also the warm one */
    uint8_t *buf;
} tt_packset;

typedef struct tt_harness {
    int m, k;
    tt_tern w;
    int8_t *q;
    int32_t sum_q;
    int32_t *ref; /* oracle dots */
    size_t cold_bytes;
    tt_packset **sets; /* individually allocated: bench args keep pointers to them */
    int nsets;
} tt_harness;

tt_status tt_harness_init(tt_harness *h, int m, int k, uint64_t seed, size_t cold_bytes);
void tt_harness_free(tt_harness *h);
/* Packed copies for v (shared with every variant of the same layout key); ncopies > 1 only if cold. */
tt_status tt_harness_packset(tt_harness *h, const tt_variant *v, bool cold, tt_packset **out);
/* The verifier (kernels/tt_verify.h) on this shape's case, run on v's packed bytes that will be timed, and the
 * adversarial edges (q at both ends of v's domain, T all +1 and all -1) at this K. detail gets the first mismatch. */
tt_status tt_harness_verify(tt_harness *h, const tt_variant *v, char *detail, size_t len);

typedef struct tt_bench_arg {
    const tt_variant *v;
    const tt_harness *h;
    tt_packset *ps;
    int ncopies, next;
    tt_plan plan; /* a view of the packed set, bound to the next copy before each GEMV */
    int32_t *dot;
    tt_pool *pool;
    tt_split split;
} tt_bench_arg;

tt_status tt_bench_arg_init(tt_bench_arg *a, const tt_variant *v, tt_harness *h, tt_regime regime, tt_pool *pool,
                            tt_split split);
void tt_bench_arg_free(tt_bench_arg *a);
/* Google Benchmark body: iters GEMVs through the plan (per-token prep included), rotating copies in the cold regime. */
void tt_bench_fn(void *arg, int64_t iters);
/* Bytes of weights one GEMV reads. */
double tt_bench_bytes(const tt_bench_arg *a);

/* The cold ceiling: pseudo-variants that read the same plain I2_S rows with a pure streaming reader and compute
 * nothing (which 0: plain loads; 1: also software prefetch 8 KiB ahead; 2: 1 KiB ahead; 3: four plain streams per
 * thread; which reader streams best depends on the machine). An I2_S GEMV must read every byte, so none beats the fastest of them by more than
 * noise (TL formats read fewer bytes and may): timed beside the variants, they bound the speedup over the baseline
 * that this machine allows. They share the plain-layout copies (the I2_S baseline's). NULL when no plain I2_S
 * variant runs this shape here. Never in the registry; never verified (they compute no dot). */
#define TT_CEILINGS 4
const tt_variant *tt_ceiling_variant(int which, int m, int k);
bool tt_is_ceiling(const tt_variant *v);
/* A Google Benchmark name for v: its registry name, or ceiling_stream_read[_pf|_pf1k|_s4]. */
const char *tt_bench_name(const tt_variant *v);

/* Cold-regime size: the smallest buffer whose streaming read runs at DRAM speed, measured, times 4. */
size_t tt_cold_bytes_measure(double *threshold_mb, double *dram_gbps, double *cache_gbps);

/* Memory the cold copies of all layouts may take together: 30 % of available memory, at most 4 GiB. */
size_t tt_cold_budget_total(void);
/* Distinct packed layouts among n variants (each needs its own cold copies). */
int tt_harness_layouts(const tt_harness *h, const tt_variant *const *v, int n);

/* A Google Benchmark session for one shape: interleaved repetitions, the machine/shape context in GB's JSON, and
 * PAPI counters where the CPU offers them (*papi to close with tt_papi_close after the run). */
struct tt_gb_session;
struct tt_papi;
struct tt_gb_session *tt_bench_session(int m, int k, int threads, double min_time, int reps, struct tt_papi **papi);

#endif
