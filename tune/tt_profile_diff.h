/* tt_profile_diff.h — two tuning profiles side by side (`tritune wisdom diff A B`): per race present in either,
 * both winners, whether they agree, and each winner's gain over the reference its own session timed beside it.
 *
 * Times from two tuning runs come from two processes, often two machines or two host states; on a shared VM they
 * drift by tens of percent between runs, so B's time over A's is shown but judged by nothing. What does carry from
 * one session to the other is a ratio inside each session: the winner over the reference raced with it (the GEMV
 * baseline, the LM head's static default, the prefill race's token-by-token GEMV). Two winners that differ are a
 * near tie when the profile that picked one measured the other within `tie` of it (its runner-up), a real
 * difference otherwise. */
#ifndef TT_PROFILE_DIFF_H
#define TT_PROFILE_DIFF_H

#include "tt_profile.h"

typedef enum tt_diff_verdict {
    TT_DIFF_SAME = 0, /* the same winner */
    TT_DIFF_NEAR,     /* different winners, one profile measured the other's winner within tie of its own */
    TT_DIFF_OTHER,    /* different winners, no such measurement */
    TT_DIFF_ONLY_A,   /* the race is in A only */
    TT_DIFF_ONLY_B,
} tt_diff_verdict;

typedef struct tt_prof_diff_row {
    char kind[8];    /* "gemv", "prefill", "head" */
    char name[32];   /* the GEMV entry's shape name, the prefill entry's, or the head's kind (f16, i8, q6_K, ...) */
    int m, k, threads;
    char regime[8];  /* GEMV entries: "cold" / "warm"; else "" */
    char a[160], b[160];       /* winners ("" where absent) */
    double a_ns, b_ns;         /* their medians, each in its own session (0 where absent) */
    double a_gain, b_gain;     /* reference / winner in the same session (> 1: the winner is faster); 0: no reference */
    double margin;             /* TT_DIFF_NEAR: other's winner / own winner in the profile that measured both */
    bool a_flagged, b_flagged; /* GEMV entry measured under interference (tt_prof_entry.flags): not used by a model */
    tt_diff_verdict verdict;
} tt_prof_diff_row;

typedef struct tt_prof_diff {
    tt_prof_diff_row *rows;
    int n;
    int same, near, other, only_a, only_b;
    int flagged;           /* rows with a flagged entry on either side */
    double gain_a, gain_b; /* geometric means of a_gain and b_gain over the races in both with both gains; 0: none */
    int n_gain;
    tt_id_match cpu;       /* B's CPU against A's (tt_cpu_id_match) */
    char cpu_why[160];
    bool same_registry;
} tt_prof_diff;

/* Compare b against a. tie: the relative margin below which two different winners count as a near tie (0.05 = 5 %);
 * must be >= 0. Rows in order: a's GEMV entries, then b's that a lacks; prefill; heads. */
tt_status tt_profile_diff(const tt_profile *a, const tt_profile *b, double tie, tt_prof_diff *d);
void tt_profile_diff_free(tt_prof_diff *d);
const char *tt_diff_verdict_name(tt_diff_verdict v);

#endif
