/* Racing logic on synthetic timings: a known fastest survives, clearly slower ones go, ties stay. */
#include "tt_race.h"
#include "tt_format.h"
#include "tt_test.h"

#include <math.h>

static double noise(uint64_t *s) /* approx. normal(0,1): sum of 12 uniforms - 6 */
{
    double x = 0;
    for (int i = 0; i < 12; i++) x += (double)(tt_rand_next(s) >> 11) / 9007199254740992.0;
    return x - 6;
}

int main(void)
{
    /* Mann-Whitney: clearly shifted samples give tiny p, identical ones do not */
    double a[8] = {10, 11, 12, 13, 14, 15, 16, 17}, b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(tt_mwu_p_greater(a, 8, b, 8) < 0.001);          /* exact path: 1/12870 */
    CHECK(tt_mwu_p_greater(b, 8, a, 8) > 0.99);
    CHECK(tt_mwu_p_greater(a, 8, a, 8) > 0.4);
    double c[3] = {5, 5, 5};
    CHECK(tt_mwu_p_greater(c, 3, c, 3) > 0.4);            /* all ties */
    double big1[40], big2[40];
    for (int i = 0; i < 40; i++) big1[i] = 100 + i, big2[i] = 50 + i;
    CHECK(tt_mwu_p_greater(big1, 40, big2, 40) < 1e-6);   /* normal path */
    CHECK(fabs(tt_median(a, 8) - 13.5) < 1e-12);
    CHECK(fabs(tt_quantile(a, 8, 0.25) - 11.75) < 1e-12);

    /* A race: 40 candidates; #7 fastest (100), #3 and #12 tie with each other (103, within the 2 % gap of 101?
     * no: ties are *equal* distributions), others 110..200. Noise 3 %. */
    uint64_t s = 1;
    int fastest_survived = 0, tie_dropped_early = 0, slow_survived = 0;
    for (int trial = 0; trial < 20; trial++) {
        tt_race r;
        CHECK(tt_race_init(&r, 40) == 0);
        double mean[40];
        for (int i = 0; i < 40; i++) mean[i] = 110 + 2.5 * i;
        mean[7] = 100;
        mean[21] = 100; /* an exact tie with the fastest */
        for (int round = 0; round < 8; round++) {
            for (int i = 0; i < 40; i++)
                if (r.c[i].alive)
                    for (int k = 0; k < 3; k++) tt_race_add(&r, i, mean[i] * (1 + 0.03 * noise(&s)));
            tt_race_round_end(&r);
            if (round < 2 && (!r.c[21].alive || !r.c[7].alive)) tie_dropped_early++;
        }
        fastest_survived += r.c[7].alive;
        int ru, lead = tt_race_leader(&r, &ru);
        CHECK(lead == 7 || lead == 21);
        for (int i = 0; i < 40; i++)
            if (i != 7 && i != 21 && mean[i] >= 120) slow_survived += r.c[i].alive;
        tt_race_free(&r);
    }
    CHECKF(fastest_survived == 20, "fastest survived %d of 20 races", fastest_survived);
    CHECKF(tie_dropped_early == 0, "a tie was eliminated early %d times", tie_dropped_early);
    CHECKF(slow_survived == 0, "%d clearly slower candidates survived", slow_survived);
    /* no decision before min_samples */
    tt_race r;
    tt_race_init(&r, 2);
    tt_race_add(&r, 0, 1), tt_race_add(&r, 1, 100);
    CHECK(tt_race_round_end(&r) == 0 && tt_race_alive(&r) == 2);
    tt_race_free(&r);

    /* Ties settled by outside evidence: the preferred candidate (the single-thread winner) is kept while the leader
     * is not faster with confidence; a clearly faster leader, or a dead or unmeasured preferred one, keeps the lead. */
    for (int trial = 0; trial < 20; trial++) {
        tt_race q;
        CHECK(tt_race_init(&q, 3) == 0);
        for (int k = 0; k < 24; k++) {
            tt_race_add(&q, 0, 100 * (1 + 0.03 * noise(&s))); /* the same distribution as #1: a tie */
            tt_race_add(&q, 1, 100 * (1 + 0.03 * noise(&s)));
            tt_race_add(&q, 2, 80 * (1 + 0.01 * noise(&s)));  /* 20 % faster */
        }
        int lead = tt_race_leader(&q, NULL);
        CHECK(lead == 2);
        CHECK(tt_race_prefer(&q, lead, 0) == 2);               /* not a tie: the faster one stays */
        q.c[2].alive = false;                                  /* only the tied pair left */
        lead = tt_race_leader(&q, NULL);
        CHECK(tt_race_prefer(&q, lead, 0) == 0 && tt_race_prefer(&q, lead, 1) == 1);
        q.c[0].alive = false;
        CHECK(tt_race_prefer(&q, 1, 0) == 1);                  /* dropped: not preferred */
        CHECK(tt_race_prefer(&q, 1, -1) == 1);                 /* nothing preferred */
        tt_race_free(&q);
    }
    /* With a gap (the tuner's multi-thread rule) a leader must beat the preferred one by more than it, dropped or
     * alive */
    {
        tt_race q;
        CHECK(tt_race_init(&q, 3) == 0);
        for (int k = 0; k < 24; k++) {
            tt_race_add(&q, 0, 100 * (1 + 0.01 * noise(&s)));
            tt_race_add(&q, 1, 94 * (1 + 0.01 * noise(&s))); /* 6 % faster: confident at the race's 2 % gap */
            tt_race_add(&q, 2, 80 * (1 + 0.01 * noise(&s))); /* 20 % faster */
        }
        q.c[2].alive = false;
        CHECK(tt_race_prefer(&q, 1, 0) == 1);           /* the plain rule lets a 6 % lead stand */
        CHECK(tt_race_prefer_gap(&q, 1, 0, 0.10) == 0); /* not beyond 10 %: the preferred one is kept */
        CHECK(tt_race_prefer_gap(&q, 2, 0, 0.10) == 2); /* 20 %: the leader stays */
        q.c[0].alive = false;
        CHECK(tt_race_prefer_gap(&q, 1, 0, 0.10) == 0); /* dropped in the race, still kept */
        CHECK(tt_race_prefer_gap(&q, 1, -1, 0.10) == 1 && tt_race_prefer_gap(&q, 1, 1, 0.10) == 1);
        q.c[0].n = 0;
        CHECK(tt_race_prefer_gap(&q, 1, 0, 0.10) == 1); /* never measured: no evidence */
        tt_race_free(&q);
    }
    double fa[6] = {80, 81, 80, 79, 80, 81}, sl[6] = {100, 101, 99, 100, 102, 100}, ne[6] = {100, 99, 101, 100, 100, 99};
    CHECK(tt_race_faster(fa, 6, sl, 6, 0.01, 0.02) && !tt_race_faster(sl, 6, fa, 6, 0.01, 0.02));
    CHECK(!tt_race_faster(ne, 6, sl, 6, 0.01, 0.02)); /* within the 2 % gap */
    /* challengers in the final session: the fastest of those faster with confidence, else none */
    double fb[6] = {70, 71, 70, 69, 70, 72};
    const double *ch[4] = {ne, fa, NULL, fb};
    int chn[4] = {6, 6, 6, 6};
    CHECK(tt_race_challenger(sl, 6, ch, chn, 4, 0.01, 0.02) == 3);
    CHECK(tt_race_challenger(sl, 6, ch, chn, 2, 0.01, 0.02) == 1);  /* ne is a tie, fa wins */
    CHECK(tt_race_challenger(sl, 6, ch, chn, 1, 0.01, 0.02) == -1); /* a tie never displaces the winner */
    CHECK(tt_race_challenger(fb, 6, ch, chn, 4, 0.01, 0.02) == -1); /* none beats the fastest */
    chn[3] = 0;
    CHECK(tt_race_challenger(sl, 6, ch, chn, 4, 0.01, 0.02) == 1);  /* unmeasured: no evidence */
    /* against a kept single-thread winner the tuner asks for MT_PREFER_GAP (10 %): 6 % is not enough, 20 % is */
    double f6[6] = {94, 95, 94, 93, 94, 95};
    const double *c6[2] = {f6, fa};
    int n6[2] = {6, 6};
    CHECK(tt_race_challenger(sl, 6, c6, n6, 1, 0.01, 0.02) == 0 && tt_race_challenger(sl, 6, c6, n6, 1, 0.01, 0.10) == -1);
    CHECK(tt_race_challenger(sl, 6, c6, n6, 2, 0.01, 0.10) == 1);
    return tt_test_end("race");
}
