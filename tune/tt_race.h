/* tt_race.h — racing over candidates timed in interleaved rounds. A candidate is dropped only when it is slower
 * than the current leader with statistical confidence: a one-sided Mann-Whitney U test on all its samples so far
 * (p < alpha) AND a median gap beyond min_gap (so practical ties are never eliminated early). Pure logic: tested on
 * synthetic timings. */
#ifndef TT_RACE_H
#define TT_RACE_H

#include <stdbool.h>

typedef struct tt_race_cand {
    double *s; /* samples (ns) */
    int n, cap;
    bool alive;
    int dropped_round; /* round in which it was eliminated, -1 alive */
    double p_drop;     /* p-value when dropped */
} tt_race_cand;

typedef struct tt_race {
    int n;
    tt_race_cand *c;
    double alpha;   /* default 0.001 */
    double min_gap; /* default 0.02 (2 %) */
    int min_samples; /* default 5: no decision before each side has this many */
    int round;
} tt_race;

int tt_race_init(tt_race *r, int n);
void tt_race_free(tt_race *r);
int tt_race_add(tt_race *r, int i, double sample_ns);
int tt_race_alive(const tt_race *r);
/* End of a round: eliminate what is confidently slower than the leader. Returns how many were dropped. */
int tt_race_round_end(tt_race *r);
/* Leader (lowest median among the alive) and runner-up (next lowest among all measured, alive or not). */
int tt_race_leader(const tt_race *r, int *runner_up);

/* a is faster than b with confidence: median of a below b's by more than min_gap and a one-sided Mann-Whitney U
 * p < alpha that b's samples are larger (the race's elimination rule, seen from the faster side). */
bool tt_race_faster(const double *a, int na, const double *b, int nb, double alpha, double min_gap);
/* The leader to keep when outside evidence prefers candidate `prefer` (e.g. the single-thread winner of the shape):
 * prefer, if it is alive and the leader is not faster with confidence; else lead. On a shared host whose bandwidth
 * caps every candidate at the same speed, the race cannot rank the alive, and its lowest median is noise. */
int tt_race_prefer(const tt_race *r, int lead, int prefer);
/* The same with a wider margin, and whether or not `prefer` is still alive (it needs samples): prefer, unless the
 * leader is faster with confidence by more than gap. The tuner's rule at more than one thread, where an isolated
 * race's small lead did not hold inside the model (app/cmd_tune.c). */
int tt_race_prefer_gap(const tt_race *r, int lead, int prefer, double gap);

/* The final session's rule between formats: of nch challengers (samples s[c], n[c] each), the one with the lowest
 * median among those faster than the current winner (cur, ncur) with confidence (tt_race_faster); -1 if none. */
int tt_race_challenger(const double *cur, int ncur, const double *const *s, const int *n, int nch, double alpha,
                       double min_gap);

/* Statistics helpers. */
double tt_median(const double *x, int n);             /* copies; n >= 1 */
double tt_quantile(const double *x, int n, double q); /* linear interpolation */
/* One-sided p-value that samples a tend to be larger than b (normal approximation with tie and continuity
 * correction; exact enumeration when na + nb <= 16). */
double tt_mwu_p_greater(const double *a, int na, const double *b, int nb);

#endif
