/* tt_energy.h — energy of a measured interval, always with where the number came from.
 *
 * Sources are tried in order and the first that works is used:
 *   1. measured-RAPL:  powercap sysfs (intel-rapl:N package zones and their core/uncore/dram subzones; AMD Zen uses
 *                      the same driver), energy_uj deltas corrected for wrap-around at max_energy_range_uj;
 *   2. measured-PAPI:  PAPI's rapl or powercap component, when this PAPI build has one enabled;
 *   3. measured-perf:  the perf "power" PMU event energy-pkg (perf_event_open, system wide on CPU 0);
 *   4. estimated-model: no meter — a model from time, DRAM bytes and operation counts (bench/ENERGY.md). These
 *                      numbers are labelled estimated everywhere; they are not measurements.
 * tt_energy_describe says which source is used and why each earlier one is not. */
#ifndef TT_ENERGY_H
#define TT_ENERGY_H

#include "tt_common.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_energy_source {
    TT_ENERGY_RAPL,
    TT_ENERGY_PAPI,
    TT_ENERGY_PERF,
    TT_ENERGY_ESTIMATED,
    TT_ENERGY_SOURCE_COUNT
} tt_energy_source;

/* "measured-RAPL", "measured-PAPI", "measured-perf", "estimated-model". */
const char *tt_energy_source_name(tt_energy_source s);

/* Model constants (derivations and sources in bench/ENERGY.md). */
#define TT_ENERGY_PJ_PER_DRAM_BYTE 162.5 /* Horowitz 2014: DRAM 1.3 nJ per 64-bit access, low end = 1300 / 8 */
#define TT_ENERGY_PJ_PER_OP 2.2175       /* 70 pJ instruction overhead / 32 int8 lanes + 0.03 pJ 8-bit add */
#define TT_ENERGY_W_PER_CORE 4.0         /* static + clock power of one active core (TDP / cores of server parts) */

/* Modelled joules: W_PER_CORE * threads * seconds + PJ_PER_DRAM_BYTE * dram_bytes + PJ_PER_OP * ops (pJ -> J).
 * Negative or non-finite inputs count as 0, threads < 1 as 1. */
double tt_energy_estimate(double seconds, double dram_bytes, double ops, int threads);

#define TT_ENERGY_MAX_DOMAINS 16

typedef struct tt_energy_opts {
    const char *powercap_root;   /* NULL: /sys/class/powercap */
    const char *perf_power_root; /* NULL: /sys/bus/event_source/devices/power */
    bool skip_papi, skip_perf;   /* tests: keep the host's meters out of a fabricated scenario */
    /* Test seam for opening sysfs files (root ignores chmod 000, so tests inject EACCES here). NULL: open(2). */
    int (*open_fn)(const char *path, int flags);
} tt_energy_opts;

/* The work an interval did, for the model (ignored by measured sources). */
typedef struct tt_energy_work {
    double dram_bytes; /* bytes streamed from DRAM (cold weights + activations) */
    double ops;        /* elementary operations (one ternary multiply-accumulate = 1) */
    int threads;       /* active cores */
} tt_energy_work;

typedef struct tt_energy_domain_reading {
    char name[32];   /* "package-0", "core", "dram", "psys", or the PAPI/perf event name */
    double joules;
    bool in_total;   /* psys (whole platform) and core/uncore (inside package) are shown but not summed */
} tt_energy_domain_reading;

typedef struct tt_energy_reading {
    tt_energy_source source;
    const char *label;   /* tt_energy_source_name(source) */
    bool estimated;      /* source == TT_ENERGY_ESTIMATED */
    double joules;       /* package(s) + dram, or the model's total */
    double seconds;      /* wall time between begin and end */
    double watts;        /* joules / seconds */
    int wraps;           /* counter wrap-arounds corrected */
    int ndomains;
    tt_energy_domain_reading domains[TT_ENERGY_MAX_DOMAINS];
} tt_energy_reading;

typedef struct tt_energy tt_energy;

/* Picks a source (never fails for lack of a meter: the model is the last source). NULL only when out of memory. */
tt_energy *tt_energy_open(const char *powercap_root);
tt_energy *tt_energy_open_ex(const tt_energy_opts *opts);
void tt_energy_close(tt_energy *e);

tt_energy_source tt_energy_source_of(const tt_energy *e);

/* "measured-RAPL: package-0, core, dram" or "estimated-model: RAPL: no /sys/class/powercap/intel-rapl:* (VM
 * without RAPL); PAPI: ...; perf: ...". */
const char *tt_energy_describe(const tt_energy *e, char *buf, size_t len);

tt_status tt_energy_begin(tt_energy *e);
/* work may be NULL (the model then has only its static term, 1 thread). The reading always carries its label. */
tt_status tt_energy_end(tt_energy *e, const tt_energy_work *work, tt_energy_reading *out);

/* Idle power over `seconds` of sleep, to subtract from measured intervals. Only where a meter exists:
 * TT_ERR_UNSUPPORTED with the estimated model (a modelled idle baseline would be a number about nothing). */
tt_status tt_energy_idle_watts(tt_energy *e, double seconds, double *watts);

#ifdef __cplusplus
}
#endif
#endif
