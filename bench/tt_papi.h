/* tt_papi.h — hardware counters through PAPI, attached to Google Benchmark runs as user counters.
 *
 * Counters are optional by nature: VMs rarely expose a PMU (PAPI then initialises but its perf_event component
 * is disabled), and perf_event_paranoid can forbid them. Every entry point therefore reports *why* counters are
 * missing instead of failing, and a measurement without counters still runs. */
#ifndef TT_PAPI_H
#define TT_PAPI_H

#include "tt_common.h"
#include "tt_gbench.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TT_PAPI_MAX_EVENTS 6

/* Initialises PAPI once per process (thread safe). Returns true when CPU counters can be used; otherwise false
 * with a one-line reason in why ("unavailable: perf_event component disabled: ..."). why may be NULL. */
bool tt_papi_init(char *why, size_t len);

/* "PAPI 7.0.0.0" (the library actually loaded), or "PAPI unavailable: <reason>". */
const char *tt_papi_version_string(void);

/* A PAPI component by name ("perf_event", "powercap", "rapl"): 1 enabled, 0 present but disabled (reason in why),
 * -1 not built into this PAPI or PAPI unusable. */
int tt_papi_component_status(const char *name, char *why, size_t len);

/* One event set: cycles, instructions and L1D/L2/L3 misses, as far as PAPI_query_event says they exist and the
 * PMU accepts them together. PAPI event sets count the thread that opens them, so open it on the thread that
 * calls tt_gb_run; threads a kernel spawns are not counted. NULL (and why) when counters are unusable. */
typedef struct tt_papi tt_papi;
tt_papi *tt_papi_open(char *why, size_t len);
void tt_papi_close(tt_papi *p);

int tt_papi_event_count(const tt_papi *p);
const char *tt_papi_event_name(const tt_papi *p, int i); /* "cycles", "instructions", "L1D_misses", ... */

tt_status tt_papi_start(tt_papi *p);
/* values: tt_papi_event_count(p) totals since start. */
tt_status tt_papi_stop(tt_papi *p, long long *values);

/* A tt_gb counter hook over p: per-iteration event counts plus IPC and bytes_per_cycle (when cycles and a byte
 * count exist). p may be NULL (PAPI unavailable): the hook then adds no counters and the run goes on. */
void tt_papi_counter_hook(tt_papi *p, tt_gb_counter_hook *out);

#ifdef __cplusplus
}
#endif
#endif
