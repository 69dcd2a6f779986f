/* tt_rdata.h — reading the files the other tools write (docs/DESIGN.md "Files the tools exchange"), defensively:
 * Google Benchmark JSON (bench, tune), the profile and machine block (tune), end-to-end rows (model). A missing
 * optional file or key is recorded as a problem string for the report to state, never a crash. */
#ifndef TT_RDATA_H
#define TT_RDATA_H

#include "tt_common.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* ---- JSON helpers: dotted paths ("cpu.brand"), defaults when absent or of another type ---- */
json_t *tt_jget(json_t *o, const char *path);
const char *tt_jstr(json_t *o, const char *path, const char *def);
double tt_jnum(json_t *o, const char *path, double def);

/* ---- Google Benchmark JSON ---- */
typedef struct tt_rgb_bench {
    char name[256];    /* run name without GB's "/repeats:N", "/min_time:S", "/real_time" ... suffixes */
    char variant[160]; /* when the name follows tritune's <variant>/<M>x<K>/t<T>/<cold|warm> */
    int m, k, threads;
    char regime[8];
    char race[8];      /* regime of the race whose file this came from (<shape>_<MxK>_t<N>_<regime>.json), "" when
                        * the file name does not say (files from before the regime was in the name) */
    bool shaped;
    double *t_ns;      /* per-repetition real time (run_type "iteration"), ns */
    double *bps;       /* per-repetition bytes per second of REAL (wall) time (0 where absent): GB's own
                        * bytes_per_second where the run used real time ("/real_time" in the name), else GB's
                        * CPU-time figure rescaled by cpu_time / real_time */
    bool bps_from_cpu; /* some bytes_per_second were CPU-time based and were rescaled to real time */
    int n, cap;
    double agg_median_ns, agg_bps; /* from the "_median" aggregate row, 0 if none */
    bool error;
    char error_msg[160];
} tt_rgb_bench;

typedef struct tt_rgb_file {
    tt_rgb_bench *b;
    int n, cap;
} tt_rgb_file;

/* Appends the benchmarks of one file to f (so a folder of files merges into one list; a name seen again adds
 * repetitions). TT_ERR_IO / TT_ERR_FORMAT with tt_last_error() naming the file and the problem. */
tt_status tt_rgb_load(const char *path, tt_rgb_file *f);
/* The same, with every benchmark tagged by the race regime (race, may be "") so that files of a cold race and a
 * warm race that time the same names stay apart instead of merging as repetitions. */
tt_status tt_rgb_load_race(const char *path, const char *race, tt_rgb_file *f);
/* Race regime from a tuner gbench file name "<shape>_<MxK>_t<N>_<cold|warm>.json"; "" for the old name without it. */
const char *tt_rgb_file_race(const char *file_name);
void tt_rgb_free(tt_rgb_file *f);
double tt_rgb_median_ns(const tt_rgb_bench *b); /* per-repetition median, else the aggregate; NAN if none */
double tt_rgb_gbps(const tt_rgb_bench *b);      /* median bytes_per_second / 1e9; 0 if the bench set none */

/* ---- End-to-end rows (llama-bench-like) ---- */
typedef struct tt_re2e_row {
    char test[16];
    int threads;
    double ts_mean, ts_std;
    double *samples;
    int nsamples;
    double bytes_per_token, gbps, bw_frac; /* NAN when absent */
    double j_per_token;                    /* NAN when absent */
    double read_ceil_ts, read_ceil_frac;   /* bench-e2e's decode read ceiling (t/s) and decode's share; NAN: absent */
    double comp_ceil_ts, comp_ceil_frac;   /* its compute ceiling (the kernels on cache-resident rows); NAN: absent */
    char energy_source[48];                /* "" when absent */
} tt_re2e_row;

typedef struct tt_re2e {
    bool present;
    char problems[512]; /* what was missing or malformed, "" when none */
    char model[128], lm_head[96];
    double size_bytes, params;
    tt_re2e_row *rows;
    int n;
    /* provenance (top level of newer bench-e2e files; "" when not recorded) */
    char commit[48], date[40], cpu_id[128], version[32], model_digest[160], winners[256];
    char kernel[160]; /* the decode kernel of the rows (first row's "kernel"), "" when not recorded */
    char path[1100];  /* the file read */
} tt_re2e;

/* Never fails for a missing or malformed file: e->present says whether rows were read, e->problems says why not
 * (or which keys were missing). NOMEM only. */
tt_status tt_re2e_load(const char *path, tt_re2e *e);
void tt_re2e_free(tt_re2e *e);

/* ---- Profile entries (tune/tt_profile.c's profile_json) ---- */
typedef struct tt_rrole {
    bool present;
    char variant[160];
    double median_ns, p25_ns, p75_ns, cv, gbps, bw_frac;
    int samples;
} tt_rrole;

typedef struct tt_rentry {
    char shape[32], split[8], regime[8];
    int m, k, threads;
    tt_rrole winner, runner_up, baseline;
    double cold_winner_ns, cold_baseline_ns, warm_winner_ns, warm_baseline_ns; /* 0 when not measured */
    double cold_ceiling_ns; /* pure read of the same bytes, same cold session; 0 when not measured (older profiles) */
    int candidates, verified, excluded, rounds;
    char flags[160]; /* the tuner's measurement-conditions flags (profile 1.2 conditions.flags), joined; "" = none */
} tt_rentry;

/* ---- A results folder / committed bundle ---- */
typedef struct tt_bundle {
    char dir[1024];
    json_t *machine, *profile; /* NULL when missing or unreadable; *_problem says why */
    char machine_problem[512], profile_problem[512], gbench_problem[512];
    tt_rentry *e;
    int ne;
    tt_rgb_file gb;
    int ngb_files;
    tt_re2e e2e;
    tt_re2e e2e_q8; /* e2e_q8.json: the same with the 8-bit LM head (optional) */
    int nbw; /* measured read bandwidth per thread count (machine.membw, else profile.membw) */
    int bw_threads[32];
    double bw_gbps[32];
    char bw_method[64]; /* how the probe read (tune.log), "" when not recorded; mentions prefetch if any probe used it */
    /* tune.log run headers: budget and regime per run ("" regime when the header does not say) */
    int nruns;
    double run_budget[32];
    char run_regime[32][8];
} tt_bundle;

/* Reads what is there; TT_ERR_NOTFOUND only when the folder has neither machine.json nor profile.json. */
tt_status tt_bundle_load(const char *dir, tt_bundle *b);
void tt_bundle_free(tt_bundle *b);
/* Measured read bandwidth at this thread count: exact match, else the nearest lower count, else the first; 0 if
 * none was measured. */
double tt_bundle_bw(const tt_bundle *b, int threads);
/* Shape name ("attn_q") for MxK from the profile, or NULL. */
const char *tt_bundle_shape_name(const tt_bundle *b, int m, int k);
/* The model name the run used (tune.model, e2e.model, profile.model), or "". */
const char *tt_bundle_model(const tt_bundle *b);

/* ---- Formatting ---- */
/* "48 KiB", "1 MiB", "32 MiB" */
const char *tt_fmt_bytes(double bytes, char *buf, size_t len);
/* "%.*f" or "–" for NAN/<=0 values */
const char *tt_fmt_num(double v, int prec, char *buf, size_t len);
/* Makes directories like mkdir -p. */
tt_status tt_mkdirs(const char *path);

#endif
