/* tt_pick_gemm and the baked tables' CPU check: the model's prefill kernel choice from a baked prefill table
 * (defined here, overriding the weak empty default). The winner when it reads the GEMV kernel's bytes; the fastest
 * GEMM on those bytes when the winner would need a second packed copy and is less than TT_GEMM_SECOND_COPY_GAIN
 * faster; the winner when it is faster than that, or when no GEMM can read the GEMV kernel's bytes; the static
 * default without an entry, with a stale one, or with one measured against another GEMV kernel; TRITUNE_GEMM_KERNEL
 * over everything; and no baked table (GEMV or GEMM) at all when it was tuned on another CPU. */
#include "tt_baked.h"
#include "tt_plan.h"
#include "tt_test.h"

static tt_baked_gemm g_table[4];
static int g_n;
static const tt_cpu_id *g_cpu; /* the CPU the table claims; NULL: none recorded (applies anywhere) */

const tt_cpu_id *tt_baked_cpu_of_table(void) { return g_cpu; }

static tt_baked_entry g_gemv[1]; /* a one-row GEMV table, for the CPU check of tt_baked_find */
static int g_ngemv;
const tt_baked_entry *tt_baked_table(int *n, const char **source)
{
    *n = g_ngemv;
    if (source) *source = "test table";
    return g_gemv;
}

const tt_baked_gemm *tt_baked_gemm_table(int *n)
{
    *n = g_n;
    return g_table;
}

static tt_baked_gemm row(int m, int k, int threads, const tt_variant *w, double wns, const tt_variant *s, double sns)
{
    return (tt_baked_gemm){m, k, threads, w->name, w->gemm, wns, s ? s->name : NULL, s ? s->gemm : NULL, sns};
}

int main(void)
{
    const tt_cpu *cpu = tt_cpu_get();
    const int m = 640, k = 2560;
    /* a GEMV kernel G, a GEMM S that reads G's bytes, and a GEMM X that does not */
    const tt_variant *G = NULL, *S = NULL, *X = NULL;
    for (int i = 0; i < tt_registry_count && !(G && S && X); i++) {
        const tt_variant *g = &tt_registry[i];
        if (g->op != TT_OP_GEMV || !g->exact || g->fmt != TT_FMT_I2S || !tt_variant_eligible(g, cpu, NULL, 0) ||
            tt_variant_check_shape(g, m, k))
            continue;
        S = X = NULL;
        for (int j = 0; j < tt_registry_count; j++) {
            const tt_variant *v = &tt_registry[j];
            if (v->op != TT_OP_GEMM || !v->exact || !tt_variant_eligible(v, cpu, NULL, 0) || tt_variant_check_shape(v, m, k))
                continue;
            if (tt_variant_layouts_agree(v, g)) {
                if (!S) S = v;
            } else if (!X) X = v;
        }
        G = g;
    }
    if (!(G && S && X)) {
        printf("skip: this CPU has no GEMV kernel with both a sharing and a non-sharing GEMM kernel\n");
        return 77;
    }
    printf("GEMV %s, on its bytes %s, elsewhere %s\n", G->name, S->name, X->name);
    char why[300];
    unsetenv("TRITUNE_GEMM_KERNEL");
    const tt_variant *def = tt_dispatch_default_gemm(TT_FMT_I2S, m, k, G);

    g_n = 0; /* no table: the static default */
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == def && strstr(why, "static default"));
    g_table[0] = row(m, k, 1, S, 100, S, 100), g_n = 1; /* the winner reads G's bytes */
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == S);
    g_table[0] = row(m, k, 1, X, 100, S, 110); /* 1.10x faster: not worth a second copy */
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == S && strstr(why, "second copy"));
    g_table[0] = row(m, k, 1, X, 100, S, 200); /* 2x faster: its own copy */
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == X && strstr(why, "own packed copy"));
    /* no GEMM on the table's GEMV bytes, yet one reads G's: the entry was measured against another GEMV kernel, so
     * the static default (on G's bytes) decides, not a second copy without a measured gain */
    g_table[0] = row(m, k, 1, X, 100, NULL, 0);
    if (tt_variant_layouts_agree(def, G))
        CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == def && strstr(why, "another GEMV"));
    else /* the static default needs a copy of its own as well (its ISA, AMX, reads no GEMV's bytes): the measured
          * winner, in its own copy */
        CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == X && strstr(why, "own packed copy"));
    /* a TL2 GEMV kernel (no GEMM reads its bytes): the prefill winner, on its own copy, whatever the entry's shared
     * kernel was */
    bool tl2_seen = false;
    for (int i = 0; i < tt_registry_count && !tl2_seen; i++) {
        const tt_variant *t = &tt_registry[i];
        if (t->op != TT_OP_GEMV || t->fmt != TT_FMT_TL2 || !tt_variant_eligible(t, cpu, NULL, 0) ||
            tt_variant_check_shape(t, m, k))
            continue;
        g_table[0] = row(m, k, 1, X, 100, S, 90);
        CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, t, why, sizeof why) == X && strstr(why, "tl2 GEMV"));
        tl2_seen = true;
    }
    CHECK(tl2_seen); /* the scalar TL2 kernels run everywhere */
    g_table[0] = row(m, k, 1, X, 100, NULL, 0);
    /* the same when the table's shared kernel does not read G's bytes */
    g_table[0] = row(m, k, 1, X, 100, X, 100.5);
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == def);
    /* a GEMV kernel no GEMM can share (TL layouts): the winner in its own copy is the only way */
    const tt_variant *T = NULL;
    for (int i = 0; i < tt_registry_count && !T; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op == TT_OP_GEMV && v->exact && v->fmt != TT_FMT_I2S && tt_variant_eligible(v, cpu, NULL, 0) &&
            !tt_variant_check_shape(v, m, k))
            T = v;
    }
    if (T) {
        g_table[0] = row(m, k, 1, X, 100, NULL, 0);
        CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, T, why, sizeof why) == X && strstr(why, "own packed copy"));
    }
    /* the winner not runnable (a stale symbol), the shared one is: the shared one */
    g_table[0] = row(m, k, 1, X, 100, S, 200);
    g_table[0].winner_fn = S->gemm;
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == S);
    g_table[0] = row(m, k, 1, X, 100, NULL, 0);
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, NULL, why, sizeof why) == X); /* no GEMV kernel given */
    g_table[0] = row(m, k, 2, X, 100, S, 200); /* only 2 threads tuned: the nearest count is used */
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == X);
    CHECK(tt_pick_gemm(TT_FMT_I2S, 2 * m, k, 1, G, why, sizeof why) == tt_dispatch_default_gemm(TT_FMT_I2S, 2 * m, k, G));
    g_table[0] = row(m, k, 1, X, 100, S, 200);
    g_table[0].winner_fn = S->gemm; /* a stale table: the name's kernel is not the one baked */
    g_table[0].shared_fn = X->gemm;
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == def);
    g_table[0] = row(m, k, 1, X, 100, S, 200);
    /* a table tuned on another CPU is not used; one tuned here is */
    tt_cpu_id here, other, rebranded;
    tt_cpu_id_current(&here);
    other = here, other.family++;
    rebranded = here;
    snprintf(rebranded.brand, sizeof rebranded.brand, "Some Other Brand");
    g_gemv[0] = (tt_baked_entry){m, k, 1, G->name, G->gemv, 1000, 0}, g_ngemv = 1;
    g_cpu = &other;
    CHECK(!tt_baked_for_this_cpu(why, sizeof why) && strstr(why, "family"));
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == def);
    CHECK(tt_baked_find(m, k, 1) == NULL && tt_baked_median_ns(m, k, 1) == 0 && tt_baked_best_threads() == 0);
    /* runtime wisdom replaces the baked table, whatever CPU that one claims; removing it restores the baked one */
    tt_baked_entry wg = {m, k, 2, G->name, G->gemv, 700, 0};
    tt_baked_gemm wgm = row(m, k, 2, X, 100, S, 200);
    CHECK(tt_wisdom_install(&(tt_wisdom){.e = &wg, .n = 1, .g = &wgm, .ng = 1, .source = "test wisdom"}) == TT_OK);
    CHECK(tt_baked_find(m, k, 1) == G && tt_baked_median_ns(m, k, 1) == 700 && tt_baked_best_threads() == 2);
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == X && !strcmp(tt_wisdom_source(), "test wisdom"));
    CHECK(tt_wisdom_install(NULL) == TT_OK && tt_baked_find(m, k, 1) == NULL && strstr(tt_wisdom_source(), "none"));
    /* the same part under another brand string: used */
    g_cpu = &rebranded;
    CHECK(tt_baked_for_this_cpu(why, sizeof why) && strstr(why, "brand"));
    CHECK(tt_baked_find(m, k, 1) == G);
    g_cpu = &here;
    CHECK(tt_baked_for_this_cpu(why, sizeof why) && !why[0]);
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == X);
    CHECK(tt_baked_find(m, k, 1) == G && tt_baked_median_ns(m, k, 1) == 1000 && tt_baked_best_threads() == 1);
    g_ngemv = 0;
    g_cpu = NULL;
    /* the fusion decision reads the same medians: fused only when the stacked shape was timed faster than its parts */
    {
        tt_baked_entry wf[3] = {{m, k, 1, G->name, G->gemv, 400, 0}, {m / 2, k, 1, G->name, G->gemv, 300, 0},
                                {m + m / 2, k, 1, G->name, G->gemv, 650, 0}};
        CHECK(tt_wisdom_install(&(tt_wisdom){.e = wf, .n = 3, .source = "fuse wisdom"}) == TT_OK);
        CHECK(tt_plan_fuse((const int[]){m, m / 2}, 2, k, 1, why, sizeof why) && strstr(why, "0.7 µs separate"));
        wf[2].median_ns = 750; /* slower than 400 + 300 (the wisdom is copied at install: install it again) */
        CHECK(tt_wisdom_install(&(tt_wisdom){.e = wf, .n = 3, .source = "fuse wisdom"}) == TT_OK);
        CHECK(!tt_plan_fuse((const int[]){m, m / 2}, 2, k, 1, why, sizeof why) && strstr(why, "0.8 µs fused"));
        CHECK(!tt_plan_fuse((const int[]){m, m / 4}, 2, k, 1, why, sizeof why) && !strcmp(why, "no tuned medians"));
        /* the in-model stage's arrangement, recorded on the fused shape's entry, decides over the medians, at its own
         * thread count only */
        wf[2].fuse = TT_FUSE_MEASURED_ON;
        CHECK(tt_wisdom_install(&(tt_wisdom){.e = wf, .n = 3, .source = "fuse wisdom"}) == TT_OK);
        CHECK(tt_plan_fuse((const int[]){m, m / 2}, 2, k, 1, why, sizeof why) && strstr(why, "in the model"));
        CHECK(tt_baked_fuse_measured(m + m / 2, k, 1) == TT_FUSE_MEASURED_ON && !tt_baked_fuse_measured(m + m / 2, k, 2));
        CHECK(!tt_plan_fuse((const int[]){m, m / 2}, 2, k, 2, why, sizeof why) && strstr(why, "0.8 µs fused"));
        wf[2].fuse = TT_FUSE_MEASURED_OFF, wf[2].median_ns = 650; /* apart in the model, though faster alone */
        CHECK(tt_wisdom_install(&(tt_wisdom){.e = wf, .n = 3, .source = "fuse wisdom"}) == TT_OK);
        CHECK(!tt_plan_fuse((const int[]){m, m / 2}, 2, k, 1, why, sizeof why) && strstr(why, "in the model"));
        CHECK(tt_wisdom_install(NULL) == TT_OK);
    }
    setenv("TRITUNE_GEMM_KERNEL", S->name, 1); /* forced: over the table */
    CHECK(tt_pick_gemm(TT_FMT_I2S, m, k, 1, G, why, sizeof why) == S);
    unsetenv("TRITUNE_GEMM_KERNEL");
    return tt_test_end("pick_gemm");
}
