/* Profile: write/read round trip, refusal of another CPU and of a stale registry, clear errors on truncated,
 * corrupted or future-version files. */
#include "tt_profile.h"
#include "tt_profile_diff.h"
#include "tt_registry.h"
#include "tt_baked.h"
#include "tt_wisdom.h"
#include "tt_test.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    fputs(s, f);
    fclose(f);
}

/* A GEMV entry with a winner, a runner-up and a baseline (medians in ns; ru_ns 0: no runner-up). */
static void diff_entry(tt_profile *p, const char *shape, int m, int threads, const char *regime, const char *win,
                       double win_ns, const char *ru, double ru_ns, double base_ns)
{
    tt_prof_entry *e = tt_profile_add(p);
    snprintf(e->shape, sizeof e->shape, "%s", shape);
    e->m = m, e->k = 2560, e->threads = threads;
    snprintf(e->regime, sizeof e->regime, "%s", regime);
    snprintf(e->winner.variant, sizeof e->winner.variant, "%s", win);
    e->winner.median_ns = win_ns;
    if (ru_ns > 0) snprintf(e->runner_up.variant, sizeof e->runner_up.variant, "%s", ru), e->runner_up.median_ns = ru_ns;
    snprintf(e->baseline.variant, sizeof e->baseline.variant, "base");
    e->baseline.median_ns = base_ns;
}

static const tt_prof_diff_row *diff_row(const tt_prof_diff *d, const char *kind, int m, int threads, const char *regime)
{
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->rows[i].kind, kind) && d->rows[i].m == m && d->rows[i].threads == threads &&
            !strcmp(d->rows[i].regime, regime))
            return &d->rows[i];
    return NULL;
}

/* tt_profile_diff: verdicts (same, near tie either way, differs, only in one), the tie threshold, each session's own
 * gain and their geometric means, prefill and head rows. */
static void check_diff(void)
{
    tt_profile a, b;
    tt_profile_init(&a), tt_profile_init(&b);
    b.cpu = a.cpu; /* both zeroed: the same identity */
    diff_entry(&a, "q", 2560, 1, "cold", "k1", 100, "k2", 104, 200);  /* gain 2 */
    diff_entry(&b, "q", 2560, 1, "cold", "k1", 150, "k2", 160, 240);  /* the same winner, gain 1.6 */
    diff_entry(&a, "q", 2560, 2, "cold", "k1", 100, "k2", 104, 150);  /* A timed B's winner 4 % slower: near tie */
    diff_entry(&b, "q", 2560, 2, "cold", "k2", 100, "k3", 101, 150);
    diff_entry(&a, "o", 3840, 1, "cold", "k4", 100, "k5", 120, 150);  /* B timed A's winner 2 % slower: near tie */
    diff_entry(&b, "o", 3840, 1, "cold", "k6", 100, "k4", 102, 150);
    diff_entry(&a, "d", 6912, 1, "cold", "k7", 100, "k8", 101, 150);  /* neither timed the other's winner */
    diff_entry(&b, "d", 6912, 1, "cold", "k9", 100, "k8", 101, 150);
    diff_entry(&a, "d", 6912, 1, "warm", "k7", 100, "", 0, 150);      /* another regime: only in A */
    snprintf(a.e[a.n - 1].flags, sizeof a.e[a.n - 1].flags, "read bandwidth moved");
    diff_entry(&b, "g", 1024, 1, "cold", "k7", 100, "", 0, 150);      /* only in B */
    tt_prof_gemm *g = tt_profile_add_gemm(&a);
    snprintf(g->shape, sizeof g->shape, "q"), g->m = 2560, g->k = 2560, g->threads = 1, g->tokens = 64;
    snprintf(g->winner, sizeof g->winner, "gA"), snprintf(g->shared, sizeof g->shared, "gB");
    g->winner_ns = 1000, g->shared_ns = 1030, g->gemv_ns = 4000;
    g = tt_profile_add_gemm(&b);
    snprintf(g->shape, sizeof g->shape, "q"), g->m = 2560, g->k = 2560, g->threads = 1, g->tokens = 64;
    snprintf(g->winner, sizeof g->winner, "gB"), g->winner_ns = 900, g->gemv_ns = 2700;
    tt_prof_head *h = tt_profile_add_head(&a);
    snprintf(h->kind, sizeof h->kind, "f16"), h->m = 128256, h->k = 2560, h->threads = 1;
    snprintf(h->winner, sizeof h->winner, "hA"), snprintf(h->deflt, sizeof h->deflt, "hD");
    h->winner_ns = 30e6, h->default_ns = 45e6;
    h = tt_profile_add_head(&b);
    *h = a.h[0];
    snprintf(h->winner, sizeof h->winner, "hB"), h->winner_ns = 28e6; /* B's default hD; A's winner not timed in B */

    tt_prof_diff d;
    CHECK(tt_profile_diff(&a, &b, 0.05, &d) == TT_OK);
    CHECK(d.n == 8 && d.same == 1 && d.near == 3 && d.other == 2 && d.only_a == 1 && d.only_b == 1);
    const tt_prof_diff_row *r = diff_row(&d, "gemv", 2560, 1, "cold");
    CHECK(r && r->verdict == TT_DIFF_SAME && fabs(r->a_gain - 2.0) < 1e-12 && fabs(r->b_gain - 1.6) < 1e-12 &&
          r->a_ns == 100 && r->b_ns == 150);
    r = diff_row(&d, "gemv", 2560, 2, "cold");
    CHECK(r && r->verdict == TT_DIFF_NEAR && fabs(r->margin - 1.04) < 1e-12);
    r = diff_row(&d, "gemv", 3840, 1, "cold");
    CHECK(r && r->verdict == TT_DIFF_NEAR && fabs(r->margin - 1.02) < 1e-12);
    r = diff_row(&d, "gemv", 6912, 1, "cold");
    CHECK(r && r->verdict == TT_DIFF_OTHER);
    r = diff_row(&d, "gemv", 6912, 1, "warm");
    CHECK(r && r->verdict == TT_DIFF_ONLY_A && !strcmp(r->a, "k7") && !r->b[0] && r->b_ns == 0 && r->a_flagged &&
          !r->b_flagged);
    CHECK(d.flagged == 1);
    r = diff_row(&d, "gemv", 1024, 1, "cold");
    CHECK(r && r->verdict == TT_DIFF_ONLY_B && !r->a[0] && !strcmp(r->b, "k7"));
    r = diff_row(&d, "prefill", 2560, 1, "");
    CHECK(r && r->verdict == TT_DIFF_NEAR && fabs(r->margin - 1.03) < 1e-12 && fabs(r->a_gain - 4) < 1e-12 &&
          fabs(r->b_gain - 3) < 1e-12);
    r = diff_row(&d, "head", 128256, 1, "");
    CHECK(r && r->verdict == TT_DIFF_OTHER && !strcmp(r->name, "f16") && fabs(r->a_gain - 1.5) < 1e-12);
    /* geometric means over the four GEMV races in both: A (2, 1.5, 1.5, 1.5), B (1.6, 1.5, 1.5, 1.5) */
    CHECK(d.n_gain == 4 && fabs(d.gain_a - pow(2 * 1.5 * 1.5 * 1.5, 0.25)) < 1e-12 &&
          fabs(d.gain_b - pow(1.6 * 1.5 * 1.5 * 1.5, 0.25)) < 1e-12);
    CHECK(d.cpu == TT_ID_SAME && d.same_registry);
    tt_profile_diff_free(&d);
    /* a tighter tie: the 4 % and 3 % margins differ, the 2 % one stays a near tie */
    CHECK(tt_profile_diff(&a, &b, 0.025, &d) == TT_OK && d.near == 1 && d.other == 4);
    tt_profile_diff_free(&d);
    /* B against A: the same rows from the other side */
    CHECK(tt_profile_diff(&b, &a, 0.05, &d) == TT_OK && d.same == 1 && d.near == 3 && d.only_a == 1 && d.only_b == 1);
    tt_profile_diff_free(&d);
    CHECK(tt_profile_diff(&a, &b, -0.1, &d) == TT_ERR_VALUE);
    b.cpu.family = a.cpu.family + 1;
    CHECK(tt_profile_diff(&a, &b, 0.05, &d) == TT_OK && d.cpu == TT_ID_OTHER && strstr(d.cpu_why, "family"));
    tt_profile_diff_free(&d);
    tt_profile_free(&a), tt_profile_free(&b);
}

/* An exact GEMV kernel that runs m x k here, of another format than `not` where one exists (else another kernel). */
static const tt_variant *other_gemv(int m, int k, const tt_variant *not)
{
    const tt_variant *same = NULL;
    for (int r = 0; r < tt_registry_count; r++) {
        const tt_variant *c = &tt_registry[r];
        if (c->op != TT_OP_GEMV || !c->exact || c == not || !tt_variant_eligible(c, tt_cpu_get(), NULL, 0) ||
            tt_variant_check_shape(c, m, k))
            continue;
        if (!not || c->fmt != not->fmt) return c;
        if (!same) same = c;
    }
    return same;
}

/* Rewrite path's JSON: set entries[0].in_model.<key> to v (a new reference), or drop it when v is NULL. */
static void edit_in_model(const char *src, const char *dst, const char *key, json_t *v)
{
    json_t *j = json_load_file(src, 0, NULL);
    json_t *im = json_object_get(json_array_get(json_object_get(j, "entries"), 0), "in_model");
    CHECK(im != NULL);
    if (v) json_object_set_new(im, key, v);
    else json_object_del(im, key);
    CHECK(json_dump_file(j, dst, JSON_INDENT(1)) == 0);
    json_decref(j);
}

/* 1.4: the fastest kernel of each format (formats) and the in-model stage's record (in_model) read back as written;
 * the kernel an entry stands for is the in-model pick (wisdom and bake), its time the race winner's; a record whose
 * first candidate is not the winner, whose pick is none of its candidates or not a GEMV of this registry that runs
 * the shape is refused. */
static void check_in_model(const char *dir)
{
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/im.json", dir);
    snprintf(bad, sizeof bad, "%s/im_bad.json", dir);
    const tt_variant *win = other_gemv(2560, 2560, NULL), *alt = win ? other_gemv(2560, 2560, win) : NULL;
    CHECK(win && alt);
    if (!win || !alt) return;
    tt_profile p;
    tt_profile_init(&p);
    tt_cpu_id_here(&p.cpu, NULL);
    p.registry_hash = tt_registry_hash(), p.registry_count = tt_registry_count;
    tt_prof_entry *e = tt_profile_add(&p);
    snprintf(e->shape, sizeof e->shape, "attn_q_o"), snprintf(e->split, sizeof e->split, "even");
    snprintf(e->regime, sizeof e->regime, "cold");
    e->m = e->k = 2560, e->threads = 1, e->candidates = e->verified = 2;
    const tt_variant *vs[2] = {win, alt};
    for (int i = 0; i < 2; i++) {
        tt_prof_stat *st = i ? &e->fmt_best[alt->fmt == win->fmt ? (win->fmt + 1) % TT_PROF_MAX_FMTS : alt->fmt]
                             : &e->fmt_best[win->fmt];
        snprintf(st->variant, sizeof st->variant, "%s", vs[i]->name);
        st->median_ns = st->p25_ns = st->p75_ns = 1000 + 125 * i, st->samples = 8, st->gbps = 2, st->bw_frac = 0.5;
    }
    e->winner = e->fmt_best[win->fmt];
    tt_prof_in_model *im = &e->in_model;
    snprintf(im->variant, sizeof im->variant, "%s", alt->name);
    snprintf(im->phases, sizeof im->phases, "qkv,o");
    snprintf(im->why, sizeof im->why, "test");
    im->rounds = 6, im->tokens = 32, im->linears = 60, im->ncand = 2;
    im->fuse = TT_FUSE_MEASURED_OFF, im->fuse_ratio = 1.0625, im->fuse_token = 1.5, im->fuse_faster = 4;
    im->fuse_rounds = 6;
    snprintf(im->fuse_why, sizeof im->fuse_why, "apart");
    for (int i = 0; i < 2; i++) {
        snprintf(im->cand[i].variant, sizeof im->cand[i].variant, "%s", vs[i]->name);
        im->cand[i].phase_us = 100 - 10 * i, im->cand[i].tok_s = 30.5 + i, im->cand[i].ratio = 1 + 0.125 * i;
        im->cand[i].faster = 5 * i;
    }
    CHECK(tt_profile_write(&p, path) == TT_OK);
    tt_profile q;
    CHECKF(tt_profile_read(path, &q) == TT_OK, "%s", tt_last_error());
    if (q.n == 1) {
        const tt_prof_entry *r = &q.e[0];
        int nfb = 0;
        for (int f = 0; f < TT_PROF_MAX_FMTS; f++) nfb += r->fmt_best[f].variant[0] != 0;
        CHECK(nfb == 2 && !strcmp(r->fmt_best[win->fmt].variant, win->name) && r->fmt_best[win->fmt].median_ns == 1000);
        CHECK(!strcmp(r->in_model.variant, alt->name) && r->in_model.ncand == 2 && r->in_model.rounds == 6 &&
              r->in_model.tokens == 32 && r->in_model.linears == 60 && !strcmp(r->in_model.phases, "qkv,o"));
        CHECK(r->in_model.cand[1].ratio == 1.125 && r->in_model.cand[1].faster == 5 && r->in_model.cand[1].tok_s == 31.5 &&
              r->in_model.cand[1].phase_us == 90);
        CHECK(!strcmp(tt_prof_entry_kernel(r), alt->name));
        CHECK(r->in_model.fuse == TT_FUSE_MEASURED_OFF && r->in_model.fuse_ratio == 1.0625 && r->in_model.fuse_token == 1.5 &&
              r->in_model.fuse_faster == 4 && r->in_model.fuse_rounds == 6 && !strcmp(r->in_model.fuse_why, "apart"));
        const tt_prof_entry *w[1];
        int nw = 0;
        CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_OK && nw == 1);
        /* the wisdom runs the in-model pick at the race winner's time */
        CHECK(tt_wisdom_install_profile(&q, path) == TT_OK);
        CHECK(tt_baked_find(2560, 2560, 1) == alt && tt_baked_median_ns(2560, 2560, 1) == 1000);
        CHECK(tt_baked_fuse_measured(2560, 2560, 1) == TT_FUSE_MEASURED_OFF); /* the arrangement reaches the wisdom */
        CHECK(tt_wisdom_install(NULL) == TT_OK);
        /* a pick that is no GEMV of this registry, or one that does not run the shape */
        snprintf(q.e[0].in_model.variant, sizeof q.e[0].in_model.variant, "tt_i2s_gemv_gone__avx9");
        CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_ERR_FORMAT && strstr(tt_last_error(), "in-model pick"));
        snprintf(q.e[0].in_model.variant, sizeof q.e[0].in_model.variant, "%s", alt->name);
        static const int odd[][2] = {{7, 2560}, {2560, 7}, {2560, 100}, {3, 5}};
        for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
            if (!tt_variant_check_shape(alt, odd[i][0], odd[i][1])) continue; /* (a kernel that runs it) */
            q.e[0].m = odd[i][0], q.e[0].k = odd[i][1];
            CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_ERR_FORMAT && strstr(tt_last_error(), "does not run"));
            break;
        }
        tt_profile_free(&q);
    }
    /* without the 1.4 fields the entry stands for its winner */
    json_t *j = json_load_file(path, 0, NULL), *e0 = json_array_get(json_object_get(j, "entries"), 0);
    json_object_del(e0, "in_model"), json_object_del(e0, "formats");
    CHECK(json_dump_file(j, bad, 0) == 0);
    json_decref(j);
    CHECK(tt_profile_read(bad, &q) == TT_OK && q.n == 1 && !q.e[0].in_model.variant[0] && !q.e[0].fmt_best[0].variant[0] &&
          !strcmp(tt_prof_entry_kernel(&q.e[0]), win->name));
    tt_profile_free(&q);
    /* an arrangement alone (a stacked shape the model runs apart has no kernel of its own to pick) */
    edit_in_model(path, bad, "variant", NULL);
    CHECK(tt_profile_read(bad, &q) == TT_OK && q.n == 1 && !q.e[0].in_model.variant[0] &&
          q.e[0].in_model.fuse == TT_FUSE_MEASURED_OFF && !strcmp(tt_prof_entry_kernel(&q.e[0]), win->name));
    tt_profile_free(&q);
    edit_in_model(bad, bad, "fusion", NULL); /* neither */
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "neither"));
    edit_in_model(path, bad, "fusion", json_pack("{s:i}", "fused", 1)); /* not a boolean */
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "fusion"));
    /* malformed records */
    json_t *c = json_load_file(path, 0, NULL), *cands = NULL;
    cands = json_deep_copy(json_object_get(json_object_get(json_array_get(json_object_get(c, "entries"), 0), "in_model"),
                                           "candidates"));
    json_decref(c);
    json_t *swapped = json_array();
    json_array_append(swapped, json_array_get(cands, 1)), json_array_append(swapped, json_array_get(cands, 0));
    edit_in_model(path, bad, "candidates", swapped); /* the winner not first */
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "not the entry's winner"));
    edit_in_model(path, bad, "variant", json_string("some_kernel"));
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "none of its candidates"));
    edit_in_model(path, bad, "candidates", json_array());
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "candidates"));
    edit_in_model(path, bad, "rounds", json_string("six"));
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "in_model.rounds"));
    edit_in_model(path, bad, "why", NULL);
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "in_model.why"));
    json_decref(cands);
    j = json_load_file(path, 0, NULL);
    json_object_set_new(json_object_get(json_array_get(json_object_get(j, "entries"), 0), "formats"), "b4",
                        json_object());
    CHECK(json_dump_file(j, bad, 0) == 0);
    json_decref(j);
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "not a storage format"));
    tt_profile_free(&p);
    unlink(path), unlink(bad);
}

int main(void)
{
    char dir[] = "/tmp/ttprofXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/profile.json", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);

    tt_profile p;
    tt_profile_init(&p);
    tt_cpu_id_here(&p.cpu, NULL);
    p.cpu.l1d = 49152, p.cpu.l2 = 1 << 20, p.cpu.l3 = 32 << 20, p.cpu.cores = 2, p.cpu.pus = 2;
    p.registry_hash = tt_registry_hash();
    p.registry_count = tt_registry_count;
    snprintf(p.compiler, sizeof p.compiler, "%s", tt_build_compiler());
    snprintf(p.flags, sizeof p.flags, "release");
    p.nbw = 1, p.bw_threads[0] = 1, p.bw_gbps[0] = 40.5;
    p.cold_bytes = 256.0 * (1 << 20);
    tt_prof_entry *e = tt_profile_add(&p);
    snprintf(e->shape, sizeof e->shape, "attn_q_o");
    e->m = 2560, e->k = 2560, e->threads = 1;
    snprintf(e->split, sizeof e->split, "even");
    snprintf(e->regime, sizeof e->regime, "cold");
    snprintf(e->winner.variant, sizeof e->winner.variant, "%s", tt_registry[0].name);
    e->winner.median_ns = 51000.5, e->winner.p25_ns = 50000, e->winner.p75_ns = 52000, e->winner.samples = 8;
    e->winner.gbps = 32.1, e->winner.bw_frac = 0.79, e->winner.cv = 0.02;
    e->cold_winner_ns = 51000.5, e->warm_winner_ns = 22000, e->cold_baseline_ns = 100000, e->warm_baseline_ns = 50000;
    e->cold_ceiling_ns = 66000.25;
    e->candidates = 300, e->verified = 299, e->excluded = 1, e->rounds = 9;
    e->others_cpus = 0.98, e->steal_cpus = 0.01, e->bw_before_gbps = 40.5, e->bw_after_gbps = 80.25, e->remeasured = true;
    snprintf(e->flags, sizeof e->flags, "other processes kept 0.98 CPUs busy");
    tt_prof_gemm *g = tt_profile_add_gemm(&p);
    CHECK(g != NULL);
    snprintf(g->shape, sizeof g->shape, "attn_q_o");
    g->m = 2560, g->k = 2560, g->threads = 1, g->tokens = 64;
    snprintf(g->winner, sizeof g->winner, "gemm_a"), g->winner_ns = 900000.5;
    snprintf(g->shared, sizeof g->shared, "gemm_b"), g->shared_ns = 950000.25;
    snprintf(g->gemv, sizeof g->gemv, "gemv_c"), g->gemv_ns = 2000000;
    g->candidates = 56, g->verified = 55, g->excluded = 1;
    tt_prof_head *h = tt_profile_add_head(&p);
    CHECK(h != NULL);
    snprintf(h->kind, sizeof h->kind, "f16");
    h->m = 128256, h->k = 2560, h->threads = 2;
    snprintf(h->winner, sizeof h->winner, "head_f16_portable"), h->winner_ns = 21000125;
    snprintf(h->deflt, sizeof h->deflt, "head_f16_portable"), h->default_ns = 21000000.5;
    h->gbps = 31.25, h->candidates = 22, h->verified = 21, h->excluded = 1;
    CHECK(tt_profile_write(&p, path) == TT_OK);

    tt_profile q;
    CHECK(tt_profile_read(path, &q) == TT_OK);
    CHECK(q.n == 1 && q.registry_hash == p.registry_hash && q.registry_count == p.registry_count);
    CHECK(!strcmp(q.cpu.brand, p.cpu.brand) && q.cpu.features == p.cpu.features && q.cpu.l3 == p.cpu.l3);
    CHECK(!strcmp(q.e[0].winner.variant, e->winner.variant) && q.e[0].winner.median_ns == 51000.5);
    CHECK(q.e[0].warm_baseline_ns == 50000 && q.e[0].rounds == 9 && !q.e[0].runner_up.variant[0]);
    CHECK(q.e[0].cold_ceiling_ns == 66000.25);
    /* measurement conditions; a flagged entry is left out of the winners until the profile accepts flags */
    CHECK(q.e[0].others_cpus == 0.98 && q.e[0].bw_after_gbps == 80.25 && q.e[0].remeasured &&
          !strcmp(q.e[0].flags, "other processes kept 0.98 CPUs busy") && !q.flags_accepted);
    {
        const tt_prof_entry *w[2];
        int nw = -1, nf = -1, ng = q.ng;
        q.ng = 0; /* the prefill rows above carry made-up kernel names */
        CHECK(tt_profile_winners(&q, w, &nw, &nf) == TT_OK && nw == 0 && nf == 1);
        /* what blocks a bake: flags on the entries that stand for winners; a flagged warm race beside a clean cold
         * entry of its shape does not (the table takes the cold one), a flagged warm entry alone does */
        CHECK(tt_profile_flagged_winners(&q) == 1);
        tt_profile wq = q;
        tt_prof_entry two[2] = {q.e[0], q.e[0]};
        snprintf(two[1].regime, sizeof two[1].regime, "warm");
        wq.e = two, wq.n = 2;
        CHECK(tt_profile_flagged_winners(&wq) == 1);
        two[0].flags[0] = 0;
        CHECK(tt_profile_flagged_winners(&wq) == 0);
        snprintf(two[0].regime, sizeof two[0].regime, "warm"), two[0].threads = 2; /* now a warm entry stands alone */
        two[0].flags[0] = 'x';
        CHECK(tt_profile_flagged_winners(&wq) == 2);
        q.flags_accepted = true;
        CHECK(tt_profile_winners(&q, w, &nw, &nf) == TT_OK && nw == 1 && nf == 0 && w[0] == &q.e[0]);
        q.flags_accepted = false;
        q.ng = ng;
    }
    CHECK(q.nbw == 1 && q.bw_gbps[0] == 40.5);
    CHECK(q.ng == 1 && q.g[0].tokens == 64 && q.g[0].winner_ns == 900000.5 && q.g[0].shared_ns == 950000.25);
    CHECK(!strcmp(q.g[0].winner, "gemm_a") && !strcmp(q.g[0].shared, "gemm_b") && !strcmp(q.g[0].gemv, "gemv_c"));
    CHECK(q.g[0].candidates == 56 && q.g[0].verified == 55 && q.g[0].excluded == 1);
    CHECK(tt_profile_find_gemm(&q, 2560, 2560, 1) != NULL && tt_profile_find_gemm(&q, 2560, 2560, 2) == NULL);
    /* LM-head races (1.3): read back, found by kind, shape and threads; a winner that is a head kernel of another
     * kind is refused by tt_profile_winners (bake and wisdom) with its name; one this build does not have (renamed
     * or replaced) is not: that head alone falls to the static default (tt_pick_head) */
    CHECK(q.nh == 1 && q.h[0].winner_ns == 21000125 && q.h[0].gbps == 31.25 && q.h[0].verified == 21 &&
          !strcmp(q.h[0].deflt, "head_f16_portable"));
    CHECK(tt_profile_find_head(&q, "f16", 128256, 2560, 2) && !tt_profile_find_head(&q, "i8", 128256, 2560, 2) &&
          !tt_profile_find_head(&q, "f16", 128256, 2560, 1));
    {
        const tt_prof_entry *w[2];
        int nw, ng = q.ng;
        q.ng = 0, q.flags_accepted = true;
        CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_OK);
        snprintf(q.h[0].kind, sizeof q.h[0].kind, "i8"); /* an f16 kernel as the i8 head's winner */
        CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_ERR_FORMAT && strstr(tt_last_error(), "head[0]") &&
              strstr(tt_last_error(), "head_f16_portable"));
        snprintf(q.h[0].kind, sizeof q.h[0].kind, "f16");
        char keep[sizeof q.h[0].winner];
        memcpy(keep, q.h[0].winner, sizeof keep);
        snprintf(q.h[0].winner, sizeof q.h[0].winner, "head_f16_gone__avx9");
        CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_OK);
        snprintf(q.h[0].kind, sizeof q.h[0].kind, "f17"); /* but the kind must be one */
        CHECK(tt_profile_winners(&q, w, &nw, NULL) == TT_ERR_FORMAT && strstr(tt_last_error(), "head[0]"));
        snprintf(q.h[0].kind, sizeof q.h[0].kind, "f16");
        memcpy(q.h[0].winner, keep, sizeof keep);
        q.ng = ng, q.flags_accepted = false;
    }
    CHECK(tt_profile_find(&q, 2560, 2560, 1, NULL) != NULL && tt_profile_find(&q, 2560, 2560, 2, NULL) == NULL);
    CHECK(tt_profile_find(&q, 2560, 2560, 1, "cold") != NULL && tt_profile_find(&q, 2560, 2560, 1, "warm") == NULL);
    char note[400];
    CHECK(tt_profile_check(&q, &p.cpu, tt_registry_hash(), note, sizeof note) == TT_OK && !note[0]);

    /* the same part under another brand string: used, with a note */
    tt_cpu_id other = p.cpu;
    snprintf(other.brand, sizeof other.brand, "Some Other Brand");
    CHECK(tt_profile_check(&q, &other, tt_registry_hash(), note, sizeof note) == TT_OK && strstr(note, "brand"));
    /* another CPU: the message names the field */
    other = p.cpu;
    other.model++;
    CHECK(tt_profile_check(&q, &other, tt_registry_hash(), NULL, 0) == TT_ERR_MISMATCH);
    CHECK(strstr(tt_last_error(), "model") != NULL);
    other = p.cpu;
    other.l2 *= 2;
    CHECK(tt_profile_check(&q, &other, tt_registry_hash(), NULL, 0) == TT_ERR_MISMATCH && strstr(tt_last_error(), "cpu.l2"));
    other = p.cpu;
    other.features ^= TT_F_AVX2;
    CHECK(tt_profile_check(&q, &other, tt_registry_hash(), NULL, 0) == TT_ERR_MISMATCH && strstr(tt_last_error(), "features"));
    /* stale registry */
    CHECK(tt_profile_check(&q, &p.cpu, tt_registry_hash() ^ 1, NULL, 0) == TT_ERR_MISMATCH);
    CHECK(strstr(tt_last_error(), "registry_hash") != NULL);
    tt_profile_free(&q);

    /* truncated at several points: a clear error, never a crash */
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    for (size_t cut = 0; cut < n; cut += n / 13 + 1) {
        FILE *g = fopen(bad, "wb");
        fwrite(buf, 1, cut, g);
        fclose(g);
        CHECKF(tt_profile_read(bad, &q) == TT_ERR_FORMAT, "truncated at %zu accepted", cut);
        CHECK(strlen(tt_last_error()) > 10);
    }
    /* corrupted: wrong types, missing fields, unknown major version, wrong schema, bad hash */
    char *v2 = strdup(buf), vq[16];
    snprintf(vq, sizeof vq, "\"%d.%d\"", TT_PROFILE_MAJOR, TT_PROFILE_MINOR);
    char *at = strstr(v2, vq);
    CHECK(at != NULL);
    if (at) at[1] = '9';
    write_text(bad, v2);
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "major"));
    free(v2);
    write_text(bad, "{\"schema\": \"something-else\", \"version\": \"1.0\"}");
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "schema"));
    write_text(bad, "[1, 2, 3]");
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT);
    char *v3 = strdup(buf);
    char *mm = strstr(v3, "\"median_ns\"");
    if (mm) memcpy(mm, "\"median_nX\"", 11);
    write_text(bad, v3);
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "median_ns"));
    free(v3);
    char *v4 = strdup(buf);
    char *hh = strstr(v4, "\"0x");
    if (hh) hh[2] = 'z';
    write_text(bad, v4);
    CHECK(tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "registry_hash"));
    free(v4);
    /* the read ceiling is optional (older profiles have none) but must be a number when present */
    char *v5 = strdup(buf);
    char *cc = strstr(v5, "\"cold_ceiling_ns\"");
    CHECK(cc != NULL);
    if (cc) memcpy(cc, "\"cold_ceilinX_ns\"", 17);
    write_text(bad, v5);
    CHECK(tt_profile_read(bad, &q) == TT_OK && q.n == 1 && q.e[0].cold_ceiling_ns == 0);
    if (q.n) tt_profile_free(&q);
    free(v5);
    char *v6 = strdup(buf);
    cc = strstr(v6, "\"cold_ceiling_ns\": 66000.25");
    if (cc) memcpy(cc + 19, "\"66000x\"", 8); /* same length: valid JSON, a string where a number belongs */
    write_text(bad, v6);
    CHECK(cc && tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "cold_ceiling_ns"));
    free(v6);
    /* prefill is optional (profiles before 1.1 have none); when present every field is checked */
    char *v7 = strdup(buf);
    char *pp = strstr(v7, "\"prefill\"");
    CHECK(pp != NULL);
    if (pp) memcpy(pp, "\"prefilX\"", 9);
    write_text(bad, v7);
    CHECK(tt_profile_read(bad, &q) == TT_OK && q.n == 1 && q.ng == 0);
    if (q.n) tt_profile_free(&q);
    free(v7);
    char *v8 = strdup(buf);
    pp = strstr(v8, "\"shared_ns\": 950000.25");
    if (pp) memcpy(pp + 13, "0.0000000", 9); /* a shared kernel without a time */
    write_text(bad, v8);
    CHECK(pp && tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "shared_ns"));
    free(v8);
    char *v9 = strdup(buf);
    pp = strstr(v9, "\"tokens\": 64");
    if (pp) memcpy(pp + 10, "0 ", 2); /* zero tokens */
    write_text(bad, v9);
    CHECK(pp && tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "prefill[0]"));
    free(v9);
    char *v10 = strdup(buf);
    pp = strstr(v10, "\"verified\": 55");
    if (pp) memcpy(pp + 12, "99", 2); /* more verified than candidates */
    write_text(bad, v10);
    CHECK(pp && tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "candidate counts"));
    free(v10);
    /* head is optional (profiles before 1.3 have none); when present every field is checked */
    char *v11 = strdup(buf);
    pp = strstr(v11, "\"head\":");
    if (pp) memcpy(pp, "\"heaX\"", 6);
    write_text(bad, v11);
    CHECK(pp && tt_profile_read(bad, &q) == TT_OK && q.nh == 0 && q.ng == 1);
    if (q.n) tt_profile_free(&q);
    free(v11);
    char *v12 = strdup(buf);
    pp = strstr(v12, "\"kind\": \"f16\"");
    if (pp) memcpy(pp + 9, "f32", 3);
    write_text(bad, v12);
    CHECK(pp && tt_profile_read(bad, &q) == TT_ERR_FORMAT && strstr(tt_last_error(), "head[0].kind"));
    free(v12);
    CHECK(tt_profile_read("/nonexistent/profile.json", &q) == TT_ERR_IO);

    tt_profile_free(&p);
    check_in_model(dir);
    unlink(path), unlink(bad), rmdir(dir);
    check_diff();
    return tt_test_end("profile");
}
