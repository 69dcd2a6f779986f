/* The LM-head race (tune/tt_head.c) on a small head of every kind (f16, i8, q6_K, q8_0, q4_0): every usable member of the kind is verified and raced, the
 * winner is one of them and runs here, the static default is timed beside it, and the numbers are consistent. */
#include "tt_head.h"
#include "tt_test.h"

#include <string.h>

static void race_kind(tt_dense_kind kind, int threads, tt_topo *topo)
{
    const int m = 1000, k = 256; /* 1000 rows: not a multiple of any row block or of the 64-row thread split */
    int nv, usable = 0;
    const tt_dense_variant *vs = tt_dense_variants(&nv), *def = tt_dense_variant_default(kind);
    for (int i = 0; i < nv; i++) usable += vs[i].kind == kind && tt_dense_variant_usable(&vs[i]) && (vs[i].needs || &vs[i] == def);
    tt_prof_head h;
    char log[2000];
    {
        tt_status st = tt_tune_head(kind, m, k, threads, topo, 0, NULL, &h, log, sizeof log);
        CHECKF(st == TT_OK, "%s", tt_last_error());
        if (st) return;
        const tt_dense_variant *w = tt_dense_variant_find(h.winner);
        CHECKF(w && w->kind == kind && tt_dense_variant_usable(w), "winner %s", h.winner);
        CHECK(!strcmp(h.kind, tt_dense_kind_name(kind)) && h.m == m && h.k == k && h.threads == threads);
        CHECK(h.candidates == usable && h.verified == usable && h.excluded == 0 && !log[0]);
        CHECK(!strcmp(h.deflt, def->name) && h.default_ns >= h.winner_ns && h.winner_ns > 0);
        CHECK(h.gbps > 0 && h.gbps * h.winner_ns > 0.99 * (double)m * (double)tt_dense_row_bytes(kind, k));
        printf("head %s t%d: %d candidates, winner %s %.1f us, default %s %.1f us\n", h.kind, threads, h.candidates,
               h.winner, h.winner_ns / 1e3, h.deflt, h.default_ns / 1e3);
    }
    /* bad shapes are refused before anything runs */
    CHECK(tt_tune_head(kind, m, 250, 1, topo, 0, NULL, &h, NULL, 0) == TT_ERR_VALUE);
    CHECK(tt_tune_head(kind, 0, k, 1, topo, 0, NULL, &h, NULL, 0) == TT_ERR_VALUE);
}

int main(void)
{
    tt_topo topo;
    CHECK(tt_topo_load(&topo) == TT_OK);
    race_kind(TT_DENSE_F16, 2, &topo); /* two threads: the model's row split */
    race_kind(TT_DENSE_I8, 1, &topo);
    race_kind(TT_DENSE_Q6K, 2, &topo); /* the quantized file heads, read as stored */
    race_kind(TT_DENSE_Q80, 1, &topo);
    race_kind(TT_DENSE_Q40, 1, &topo);
    tt_topo_free(&topo);
    return tt_test_end("head");
}
