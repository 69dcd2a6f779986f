/* tt_gbench.h — a pure C face on Google Benchmark, so C code (the tuner, the kernel bench) can time callbacks
 * with GB as the timer and get GB's own JSON (compare.py keeps working) plus per-repetition samples back.
 *
 * A session is a list of benchmarks and settings; tt_gb_run registers them with GB, runs them and captures every
 * repetition through a custom reporter. GB's registry and flags are process-global, so runs are serialised by a
 * mutex and the registry is cleared before and after each run: several sessions (one after another, or from
 * several threads) in one process are fine. */
#ifndef TT_GBENCH_H
#define TT_GBENCH_H

#include "tt_common.h"
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the timed body iters times. The loop lives in C so GB's per-iteration bookkeeping does not dilute a
 * nanosecond kernel: GB hands over its whole iteration count in one call (State::KeepRunningBatch). */
typedef void (*tt_gb_fn)(void *arg, int64_t iters);

#define TT_GB_MAX_COUNTERS 12
#define TT_GB_NAME_MAX 160
#define TT_GB_COUNTER_NAME_MAX 32

/* One counter a hook reports for one GB run (one repetition, or one iteration-count probe). */
typedef struct tt_gb_counter {
    char name[TT_GB_COUNTER_NAME_MAX];
    double value;
    bool per_iteration; /* value is a total over the run; GB divides it by the iterations (kAvgIterations) */
} tt_gb_counter;

/* Optional hook around every timed loop (PAPI counters, see tt_papi.h). start runs just before GB starts its
 * timer, stop just after it stops; stop fills at most max counters and returns how many (0 is fine). */
typedef struct tt_gb_counter_hook {
    void *ctx;
    bool (*start)(void *ctx); /* false: no counters for this run */
    int (*stop)(void *ctx, int64_t iters, double bytes_per_iter, tt_gb_counter *out, int max);
} tt_gb_counter_hook;

/* Results of one benchmark: times are wall-clock (GB real time) per iteration, over the repetitions. */
typedef struct tt_gb_stats {
    char name[TT_GB_NAME_MAX];
    double median_ns, mean_ns, stddev_ns, min_ns, max_ns;
    double cv;            /* stddev / mean, a fraction (0.01 = 1 %) like GB's _cv aggregate */
    int reps;             /* repetitions captured (== samples) */
    int64_t iterations;   /* GB's iteration count of the last repetition */
    double *samples_ns;   /* reps values, one per repetition; owned by the session */
    double counters[TT_GB_MAX_COUNTERS]; /* mean over repetitions of each GB user counter (bytes_per_second, ...) */
    char counter_names[TT_GB_MAX_COUNTERS][TT_GB_COUNTER_NAME_MAX];
    int ncounters;
    bool error;           /* the run failed (error_message says why); times are 0 */
    char error_message[160];
} tt_gb_stats;

typedef struct tt_gb_session tt_gb_session;

tt_gb_session *tt_gb_new(void); /* NULL on allocation failure */
void tt_gb_free(tt_gb_session *s);

/* Adds a benchmark; bytes_per_iter > 0 makes GB report bytes_per_second. Returns its index, or -1 (NULL or empty
 * name, duplicate name, name too long, fn NULL; tt_last_error says which). */
int tt_gb_add(tt_gb_session *s, const char *name, tt_gb_fn fn, void *arg, double bytes_per_iter);

/* min_time_s: GB's minimum time per repetition (<= 0 keeps GB's default, 0.5 s); repetitions >= 1;
 * random_interleaving: GB's --benchmark_enable_random_interleaving (repetitions of all benchmarks shuffled, which
 * spreads slow drift of the machine over every candidate instead of penalising whichever runs last). */
void tt_gb_set(tt_gb_session *s, double min_time_s, int repetitions, bool random_interleaving);

/* A key/value for GB's "context" block (the machine description); a later value for the same key replaces it. */
void tt_gb_set_context(tt_gb_session *s, const char *key, const char *value);

/* Counter hook applied to every benchmark of the session (copied; NULL removes it). */
void tt_gb_set_counters(tt_gb_session *s, const tt_gb_counter_hook *hook);

/* Print GB's console table to stderr while running (default off: the tuner prints its own summary). */
void tt_gb_set_verbose(tt_gb_session *s, bool verbose);

/* Runs every benchmark. json_path: GB's own JSON reporter output written there as-is (NULL: none).
 * TT_ERR_IO if the file can't be written, TT_ERR_NOTFOUND with no benchmarks; a benchmark that reported an error
 * is flagged in its stats without failing the run. Results of a previous run of the session are replaced. */
tt_status tt_gb_run(tt_gb_session *s, const char *json_path);

int tt_gb_count(const tt_gb_session *s);
const tt_gb_stats *tt_gb_get(const tt_gb_session *s, int i); /* NULL if out of range or not run yet */

/* The Google Benchmark version this was built against, e.g. "1.7.1" (from pkg-config at build time). */
const char *tt_gb_version(void);

#ifdef __cplusplus
}
#endif
#endif
