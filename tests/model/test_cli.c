/* test_cli.c — the model commands end to end on a tiny model: synth, info, run, bench-e2e (with its JSON), bench-ab, and
 * usage errors (exit 2) and --help (exit 0); synth's --arch, --layers and --ternary. */
#include "tt_baked.h"
#include "tt_cli.h"
#include "tt_model_cli.h"
#include "tt_model_test.h"
#include "tt_plan.h"
#include "tt_profile.h"
#include "tt_registry.h"

#include <jansson.h>
#include <sys/stat.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])))

/* Every key of keys (NULL-terminated) in the JSON object r is a number above 0. */
static void check_positive(json_t *r, const char *const *keys)
{
    for (; *keys; keys++) CHECKF(json_real_value(json_object_get(r, *keys)) > 0, "%s", *keys);
}

/* bench-ab -m model --weights i2s OPT LIST -n N -r R -t 1 --json json, for a LIST of two entries that each load a copy
 * of their own: the run, its JSON (two rows, model copies 1 and 2) checked; the rows for the caller (NULL: none) */
static json_t *ab_two_copies(char *model, char *json, char *opt, char *list, char *n, char *r)
{
    char *ab[] = {"bench-ab", "-m", model, "--weights", "i2s", opt, list, "-n", n, "-r", r, "-t", "1", "--json", json};
    CHECK(tt_cmd_bench_ab(ARGC(ab), ab) == 0);
    json_error_t err;
    json_t *root = json_load_file(json, 0, &err);
    CHECKF(root != NULL, "%s", err.text);
    CHECK(json_is_array(root) && json_array_size(root) == 2);
    for (size_t i = 0; root && i < json_array_size(root) && i < 2; i++)
        CHECK(json_integer_value(json_object_get(json_array_get(root, i), "model_copy")) == (json_int_t)i + 1);
    return root;
}

/* An exact GEMV kernel of format f that runs m x k here (not `not`), or NULL. */
static const tt_variant *gemv_of(tt_fmt f, int m, int k, const tt_variant *not)
{
    for (int r = 0; r < tt_registry_count; r++) {
        const tt_variant *c = &tt_registry[r];
        if (c->op == TT_OP_GEMV && c->exact && c->fmt == f && c != not && tt_variant_eligible(c, tt_cpu_get(), NULL, 0) &&
            !tt_variant_check_shape(c, m, k))
            return c;
    }
    return NULL;
}

static void put_stat(tt_prof_stat *s, const tt_variant *v, double ns)
{
    snprintf(s->variant, sizeof s->variant, "%s", v->name);
    s->median_ns = s->p25_ns = s->p75_ns = ns, s->samples = 8, s->gbps = 1, s->bw_frac = 0.5;
}

/* tune-model on the tiny model: a profile whose 256x256 entry timed a B3 kernel within 1.5x of its I2_S winner and
 * whose 128x256 entry timed one at 2x. The first, whose race also had another I2_S kernel close behind (its
 * runner-up), gets an in-model decision among those three (which one depends on this machine; the record must name
 * them, winner first, runner-up next), the second none; the baked table next to the profile is
 * written again with the pick; a rerun keeps the decision; bad arguments are refused. */
static void check_tune_model(char *model)
{
    char dir[] = "/tmp/tt_tmXXXXXX", prof[300], baked[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(prof, sizeof prof, "%s/profile.json", dir);
    snprintf(baked, sizeof baked, "%s/baked.c", dir);
    const tt_variant *w1 = gemv_of(TT_FMT_I2S, 256, 256, NULL), *b1 = gemv_of(TT_FMT_B3, 256, 256, NULL),
                     *r1 = w1 ? gemv_of(TT_FMT_I2S, 256, 256, w1) : NULL,
                     *w2 = gemv_of(TT_FMT_I2S, 128, 256, NULL), *b2 = gemv_of(TT_FMT_B3, 128, 256, NULL);
    CHECK(w1 && b1 && w2 && b2 && r1);
    if (!w1 || !b1 || !w2 || !b2 || !r1) return;
    tt_profile pf;
    tt_profile_init(&pf);
    tt_cpu_id_here(&pf.cpu, NULL);
    pf.registry_hash = tt_registry_hash(), pf.registry_count = tt_registry_count;
    snprintf(pf.compiler, sizeof pf.compiler, "test"), snprintf(pf.flags, sizeof pf.flags, "test");
    for (int i = 0; i < 2; i++) {
        tt_prof_entry *e = tt_profile_add(&pf);
        CHECK(e != NULL);
        if (!e) return;
        snprintf(e->shape, sizeof e->shape, i ? "attn_k_v" : "attn_q_o");
        e->m = i ? 128 : 256, e->k = 256, e->threads = 1, e->candidates = e->verified = 2, e->rounds = 1;
        snprintf(e->split, sizeof e->split, "even"), snprintf(e->regime, sizeof e->regime, "cold");
        put_stat(&e->winner, i ? w2 : w1, 1000);
        put_stat(&e->fmt_best[TT_FMT_I2S], i ? w2 : w1, 1000);
        put_stat(&e->fmt_best[TT_FMT_B3], i ? b2 : b1, i ? 2000 : 1100);
        e->cold_winner_ns = 1000;
    }
    put_stat(&pf.e[0].runner_up, r1, 1010); /* another I2_S kernel, a near tie: raced too */
    /* 512x256 (the gate, and q/k/v stacked) and 1024x256 (gate/up stacked): both groups' arrangements are raced (their
     * medians put both fused at load: 300 against 1000 + 2 x 1000, 500 against 2 x 300) */
    const int fm[2] = {512, 1024};
    for (int i = 0; i < 2; i++) {
        const tt_variant *w = gemv_of(TT_FMT_I2S, fm[i], 256, NULL);
        tt_prof_entry *e = w ? tt_profile_add(&pf) : NULL;
        CHECK(e != NULL);
        if (!e) return;
        snprintf(e->shape, sizeof e->shape, i ? "ffn_gate_up_fused" : "ffn_gate_up");
        e->m = fm[i], e->k = 256, e->threads = 1, e->candidates = e->verified = 1, e->rounds = 1;
        snprintf(e->split, sizeof e->split, "even"), snprintf(e->regime, sizeof e->regime, "cold");
        put_stat(&e->winner, w, i ? 500 : 300);
        put_stat(&e->fmt_best[TT_FMT_I2S], w, e->winner.median_ns);
        e->cold_winner_ns = e->winner.median_ns;
    }
    CHECK(tt_profile_write(&pf, prof) == TT_OK);
    tt_profile_free(&pf);
    FILE *f = fopen(baked, "w");
    if (f) fputs("/* an older table */\n", f), fclose(f);
    char *tm[] = {"tune-model", "-m", model, "--profile", prof, "-t", "1", "-n", "4", "-r", "3"};
    CHECK(tt_cmd_tune_model(ARGC(tm), tm) == 0);
    tt_profile q;
    CHECKF(tt_profile_read(prof, &q) == TT_OK, "%s", tt_last_error());
    const tt_prof_entry *e1 = q.n == 4 ? &q.e[0] : NULL, *e2 = q.n == 4 ? &q.e[1] : NULL;
    CHECK(e1 && e2);
    if (e1 && e2) {
        const tt_prof_in_model *im = &e1->in_model;
        CHECK(!strcmp(im->variant, w1->name) || !strcmp(im->variant, b1->name) || !strcmp(im->variant, r1->name));
        CHECK(im->ncand == 3 && !strcmp(im->cand[0].variant, w1->name) && !strcmp(im->cand[1].variant, r1->name) &&
              !strcmp(im->cand[2].variant, b1->name));
        /* both arrangements recorded on the stacked shapes' entries (q/k/v stacked is 512x256), and the wisdom of the
         * profile now arranges the model so */
        for (int i = 2; i < 4; i++) {
            const tt_prof_in_model *f = &q.e[i].in_model;
            CHECKF(f->fuse && f->fuse_rounds == 3 && f->fuse_ratio > 0 && f->fuse_token > 0 && strstr(f->fuse_why, "phases"),
                   "%dx256: fuse %d (%s)", q.e[i].m, f->fuse, f->fuse_why);
        }
        const bool qkv_fused = q.e[2].in_model.fuse == TT_FUSE_MEASURED_ON;
        char why[200];
        CHECK(tt_wisdom_use(prof, "test") == 0);
        CHECK(tt_plan_fuse((const int[]){256, 128, 128}, 3, 256, 1, why, sizeof why) == qkv_fused && strstr(why, "in the model"));
        CHECK(tt_plan_fuse((const int[]){512, 512}, 2, 256, 1, why, sizeof why) ==
              (q.e[3].in_model.fuse == TT_FUSE_MEASURED_ON));
        CHECK(tt_wisdom_use("none", "test") == 0);
        /* 256x256: q and o apart, o alone with q/k/v fused */
        CHECKF(im->rounds == 3 && im->tokens == 4 && im->why[0] &&
                   (qkv_fused ? im->linears == 2 && !strcmp(im->phases, "o")
                              : im->linears == 4 && !strcmp(im->phases, "qkv,o")),
               "%d linears, phases %s", im->linears, im->phases);
        CHECK(im->cand[0].ratio == 1 && im->cand[1].ratio > 0 && im->cand[0].phase_us > 0 && im->cand[1].tok_s > 0);
        CHECK(!strcmp(tt_prof_entry_kernel(e1), im->variant) && !strcmp(tt_prof_entry_kernel(e2), w2->name));
        CHECK(!e2->in_model.variant[0]); /* its B3 kernel was 2x the winner in the race: not raced in the model */
        /* the table next to the profile now bakes the in-model pick */
        char buf[8192] = "";
        f = fopen(baked, "r");
        if (f) buf[fread(buf, 1, sizeof buf - 1, f)] = 0, fclose(f);
        CHECKF(strstr(buf, im->variant) && !strstr(buf, "an older table"), "baked.c: %.200s", buf);
        /* a rerun keeps the decision (the profile is not rewritten: nothing is left to decide) */
        struct stat before, after;
        CHECK(!stat(prof, &before));
        CHECK(tt_cmd_tune_model(ARGC(tm), tm) == 0);
        CHECK(!stat(prof, &after) && before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
              before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    }
    tt_profile_free(&q);
    char *no_m[] = {"tune-model", "--profile", prof};
    char *no_prof[] = {"tune-model", "-m", model, "--profile", "/nonexistent/profile.json"};
    char *bad_r[] = {"tune-model", "-m", model, "-r", "1"};
    CHECK(tt_cmd_tune_model(ARGC(no_m), no_m) == 2 && tt_cmd_tune_model(ARGC(no_prof), no_prof) == 1 &&
          tt_cmd_tune_model(ARGC(bad_r), bad_r) == 2);
    unlink(prof), unlink(baked), rmdir(dir);
}

int main(void)
{
    char model[256], json[256];
    tt_test_tmp(model, sizeof model, "cli-model");
    tt_test_tmp(json, sizeof json, "cli-json");

    char *synth[] = {"model", "synth", "--preset", "tiny", "--out", model, "--seed", "3"};
    CHECK(tt_cmd_model(ARGC(synth), synth) == 0);
    char *info[] = {"model", "info", model};
    CHECK(tt_cmd_model(ARGC(info), info) == 0);

    char *run[] = {"run", "-m", model, "-p", "hello world", "-n", "8", "-t", "2"};
    CHECK(tt_cmd_run(ARGC(run), run) == 0);
    char *run_q8[] = {"run", "-m", model, "-p", "x", "-n", "4", "--lm-head", "q8", "--kernel", "oracle"};
    CHECK(tt_cmd_run(ARGC(run_q8), run_q8) == 0);

    /* chat: one turn from -p, then two turns read from standard input over one KV cache */
    char *chat1[] = {"run", "-m", model, "--chat", "--system", "Be brief.", "-p", "hello", "-n", "6", "-c", "256"};
    CHECK(tt_cmd_run(ARGC(chat1), chat1) == 0);
    char lines[256];
    tt_test_tmp(lines, sizeof lines, "cli-chat");
    FILE *lf = fopen(lines, "w");
    fputs("first question\nsecond question\n", lf);
    fclose(lf);
    int saved = dup(0);
    CHECK(freopen(lines, "r", stdin) != NULL);
    char *chat2[] = {"run", "-m", model, "--chat", "-n", "5", "-c", "256"};
    CHECK(tt_cmd_run(ARGC(chat2), chat2) == 0);
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    char *chat3[] = {"run", "-m", model, "--chat", "-n", "50", "-c", "16", "-p", "a long first turn that cannot fit"};
    CHECK(tt_cmd_run(ARGC(chat3), chat3) == 1); /* the context is full: said, not a crash */
    char *badsys[] = {"run", "-m", model, "--system", "x"};
    CHECK(tt_cmd_run(ARGC(badsys), badsys) == 2);
    unlink(lines);

    char *bench[] = {"bench-e2e", "-m", model, "-p", "16", "-n", "8", "-t", "1,2", "-r", "2", "--json", json};
    CHECK(tt_cmd_bench_e2e(ARGC(bench), bench) == 0);
    json_error_t err;
    json_t *root = json_load_file(json, 0, &err);
    CHECKF(root != NULL, "%s", err.text);
    json_t *rows = json_object_get(root, "rows");
    CHECK(json_is_array(rows) && json_array_size(rows) == 4); /* {pp16, tg8} x {1, 2} threads */
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        json_t *samples = json_object_get(r, "samples_ts");
        CHECK(json_is_array(samples) && json_array_size(samples) == 2);
        check_positive(r, (const char *const[]){"avg_ts", "bytes_per_token", NULL});
        CHECK(json_integer_value(json_object_get(r, "peak_rss_bytes")) > 0);
        CHECK(json_integer_value(json_object_get(r, "model_rss_bytes")) > 0);
        CHECK(json_is_string(json_object_get(r, "huge_pages"))); /* how much of the buffers huge pages back */
        json_t *hf = json_object_get(r, "huge_pages_frac");
        CHECK(!hf || (json_real_value(hf) >= 0 && json_real_value(hf) <= 1));
        const char *test = json_string_value(json_object_get(r, "test"));
        CHECK(test && (!strcmp(test, "pp16") || !strcmp(test, "tg8")));
        /* the decode read ceiling: one value per probe point for tg, none for pp */
        json_t *cp = json_object_get(r, "read_ceiling_ts_probes");
        if (test && !strcmp(test, "tg8")) {
            CHECK(json_is_array(cp) && json_array_size(cp) == 3);
            /* and the compute ceiling beside it: the same kernels on cache-resident rows, one value per probe point */
            json_t *kp = json_object_get(r, "compute_ceiling_ts_probes");
            CHECK(json_is_array(kp) && json_array_size(kp) == 3);
            check_positive(r, (const char *const[]){"read_ceiling_ts", "ceiling_frac", "compute_ceiling_ts",
                                                    "compute_ceiling_frac", "compute_gemv_gbps", "compute_head_gbps",
                                                    NULL});
        } else
            CHECK(cp == NULL);
    }
    json_decref(root);
    /* -d: the tests run from position DEPTH over a filled cache, named so, the cache's bytes counted; a depth past
     * the model's context is an error, said before anything runs */
    double bpt[2] = {0, 0};
    for (int d = 0; d < 2; d++) {
        char *bd[] = {"bench-e2e", "-m", model, "-p", "8", "-n", "4", "-d", d ? "40" : "0", "-t", "1", "-r", "1",
                      "--no-ceiling", "--json", json};
        CHECK(tt_cmd_bench_e2e(ARGC(bd), bd) == 0);
        root = json_load_file(json, 0, &err);
        rows = json_object_get(root, "rows");
        CHECK(json_is_array(rows) && json_array_size(rows) == 2);
        for (size_t i = 0; i < json_array_size(rows); i++) {
            json_t *r = json_array_get(rows, i);
            const char *test = json_string_value(json_object_get(r, "test"));
            CHECK(json_integer_value(json_object_get(r, "n_depth")) == (d ? 40 : 0));
            CHECK(test && (!strcmp(test, d ? "pp8 @ d40" : "pp8") || !strcmp(test, d ? "tg4 @ d40" : "tg4")));
            CHECK(json_real_value(json_object_get(r, "avg_ts")) > 0);
            if (test && test[0] == 't') bpt[d] = json_real_value(json_object_get(r, "bytes_per_token"));
        }
        json_decref(root);
    }
    CHECK(bpt[0] > 0 && bpt[1] > bpt[0]); /* 40 more positions of cache read per token */
    char *bdeep[] = {"bench-e2e", "-m", model, "-n", "4", "-p", "0", "-d", "100000", "-t", "1", "-r", "1"};
    CHECK(tt_cmd_bench_e2e(ARGC(bdeep), bdeep) != 0);

    /* bench-ab: the configurations raced in one process, each with its rounds; the first is the reference */
    char *ab[] = {"bench-ab", "-m", model, "--weights", "i2s,tl2", "--lm-head", "file,q8", "-n", "4", "-r", "3",
                  "-t", "1", "--json", json};
    CHECK(tt_cmd_bench_ab(ARGC(ab), ab) == 0);
    root = json_load_file(json, 0, &err);
    CHECKF(root != NULL, "%s", err.text);
    CHECK(json_is_array(root) && json_array_size(root) == 4); /* {i2s, tl2} x {file, q8} */
    for (size_t i = 0; root && i < json_array_size(root); i++) {
        json_t *r = json_array_get(root, i);
        json_t *ts = json_object_get(r, "tokens_per_s");
        CHECK(json_is_array(ts) && json_array_size(ts) == 3 && json_real_value(json_array_get(ts, 0)) > 0);
        double ratio = json_real_value(json_object_get(r, "median_ratio_to_first"));
        CHECK(i ? ratio > 0 : ratio == 1.0);
        const char *w = json_string_value(json_object_get(r, "weights"));
        CHECK(w && strstr(w, i < 2 ? "i2s" : "tl2"));
    }
    json_decref(root);
    /* --fuse on,off: a copy each, fused and separate; each row says which it ran */
    root = ab_two_copies(model, json, "--fuse", "on,off", "4", "2");
    for (size_t i = 0; root && i < json_array_size(root) && i < 2; i++) {
        json_t *r = json_array_get(root, i);
        const char *f = json_string_value(json_object_get(r, "fusion")), *c = json_string_value(json_object_get(r, "config"));
        CHECKF(f && strstr(f, i ? "q/k/v separate" : "q/k/v fused") && strstr(f, "forced"), "row %zu: fusion %s", i,
               f ? f : "(none)");
        CHECK(c && strstr(c, i ? "not fused" : ", fused"));
    }
    json_decref(root);
    /* head kernels share one loaded model; --kernel forces a GEMV kernel in a copy of its own; --control adds a
     * second copy of configuration 1 */
    char *abk[] = {"bench-ab", "-m", model, "--weights", "i2s", "--head-kernel", "head_f16_portable,auto", "--kernel",
                   "auto,tt_i2s_gemv_r4_u1_f0_p0__scalar", "--control", "-n", "4", "-r", "2", "-t", "1", "--json", json};
    CHECK(tt_cmd_bench_ab(ARGC(abk), abk) == 0);
    root = json_load_file(json, 0, &err);
    CHECKF(root != NULL, "%s", err.text);
    CHECK(json_is_array(root) && json_array_size(root) == 5); /* {portable, auto} x {auto, scalar} + control */
    static const int copy[] = {1, 2, 1, 2, 5};                 /* configurations in head-major order */
    for (size_t i = 0; root && i < json_array_size(root) && i < 5; i++) {
        json_t *r = json_array_get(root, i);
        CHECKF(json_integer_value(json_object_get(r, "model_copy")) == copy[i], "row %zu: model copy %lld", i,
               (long long)json_integer_value(json_object_get(r, "model_copy")));
        const char *h = json_string_value(json_object_get(r, "lm_head")), *w = json_string_value(json_object_get(r, "weights"));
        CHECK(h && w);
        if (i < 2) CHECK(h && strstr(h, "head_f16_portable"));
        const char *g = json_string_value(json_object_get(r, "gemv_kernel"));
        CHECK(g && !strcmp(g, i == 1 || i == 3 ? "tt_i2s_gemv_r4_u1_f0_p0__scalar" : "auto"));
    }
    json_decref(root);
    /* --pages: each entry loads a copy of its own, allocated with whole huge pages or as before (exact) */
    root = ab_two_copies(model, json, "--pages", "whole,exact", "2", "1");
    for (size_t i = 0; root && i < json_array_size(root) && i < 2; i++) {
        const char *pg = json_string_value(json_object_get(json_array_get(root, i), "pages"));
        CHECKF(pg && !strcmp(pg, i ? "exact" : "whole"), "row %zu: pages %s", i, pg ? pg : "(none)");
    }
    json_decref(root);
    /* --profiles: each copy loads under its own wisdom: a profile whose only winner is the tiny head's portable
     * member, and none (no tuned winner: the static default and the calibration at load); the wisdom in effect before
     * is in effect again after */
    char prof[256];
    tt_test_tmp(prof, sizeof prof, "cli-profile");
    tt_profile pf;
    tt_profile_init(&pf);
    tt_cpu_id_here(&pf.cpu, NULL); /* topology unknown (0): the identity check skips it */
    pf.registry_hash = tt_registry_hash(), pf.registry_count = tt_registry_count;
    snprintf(pf.compiler, sizeof pf.compiler, "test"), snprintf(pf.flags, sizeof pf.flags, "test");
    tt_prof_head *ph = tt_profile_add_head(&pf);
    CHECK(ph != NULL);
    if (ph) {
        snprintf(ph->kind, sizeof ph->kind, "f16"), ph->m = 512, ph->k = 256, ph->threads = 1;
        snprintf(ph->winner, sizeof ph->winner, "head_f16_portable");
        snprintf(ph->deflt, sizeof ph->deflt, "head_f16_portable");
        ph->winner_ns = ph->default_ns = 1e5, ph->gbps = 1, ph->candidates = ph->verified = 1;
    }
    CHECK(tt_profile_write(&pf, prof) == TT_OK);
    tt_profile_free(&pf);
    char before[700];
    snprintf(before, sizeof before, "%s", tt_wisdom_source());
    char profiles[600];
    snprintf(profiles, sizeof profiles, "%s,none", prof);
    root = ab_two_copies(model, json, "--profiles", profiles, "2", "1");
    for (size_t i = 0; root && i < json_array_size(root) && i < 2; i++) {
        json_t *r = json_array_get(root, i);
        const char *h = json_string_value(json_object_get(r, "lm_head")), *w = json_string_value(json_object_get(r, "wisdom"));
        CHECKF(h && (i ? !strstr(h, "wisdom head winner") : !!strstr(h, "head_f16_portable (wisdom head winner")),
               "row %zu: head %s", i, h ? h : "(none)");
        CHECK(w && !strcmp(w, i ? "none" : prof));
    }
    json_decref(root);
    CHECKF(!strcmp(before, tt_wisdom_source()), "wisdom after bench-ab --profiles: %s (before: %s)", tt_wisdom_source(),
           before);
    /* a head-kernel configuration on another's loaded model picks its head under its own profile, not under the
     * profile loaded last: {portable, auto} x {profile, none}; config 3 (auto, profile) runs on config 1's model */
    snprintf(profiles, sizeof profiles, "%s,none", prof);
    char *abh[] = {"bench-ab", "-m", model, "--profiles", profiles, "--head-kernel", "head_f16_portable,auto", "-n",
                   "2", "-r", "1", "-t", "1", "--json", json};
    CHECK(tt_cmd_bench_ab(ARGC(abh), abh) == 0);
    root = json_load_file(json, 0, &err);
    CHECK(root && json_array_size(root) == 4);
    const char *h3 = root ? json_string_value(json_object_get(json_array_get(root, 2), "lm_head")) : NULL;
    CHECKF(h3 && strstr(h3, "head_f16_portable (on config 1"), "config 3's head: %s", h3 ? h3 : "(none)");
    json_decref(root);
    snprintf(profiles, sizeof profiles, "%s,/nonexistent/profile.json", prof);
    char *abp[] = {"bench-ab", "-m", model, "--profiles", profiles};
    CHECK(tt_cmd_bench_ab(ARGC(abp), abp) == 2); /* an unreadable profile is refused before any load */
    remove(prof);
    char *abq[] = {"bench-ab", "-m", model, "--weights", "i2s", "--pages", "whole,huge"};
    CHECK(tt_cmd_bench_ab(ARGC(abq), abq) == 2);
    char *ab5[] = {"bench-ab", "-m", model, "--head-kernel", "head_f16_nope,auto"};
    char *ab6[] = {"bench-ab", "-m", model, "--kernel", "auto,tt_i2s_gemm_r1_n2_u1_f0_p0__scalar"}; /* a GEMM kernel */
    char *ab7[] = {"bench-ab", "-m", model, "--head-kernel", "head_q6k_portable,auto", "-n", "2", "-r", "1"};
    CHECK(tt_cmd_bench_ab(ARGC(ab5), ab5) == 2 && tt_cmd_bench_ab(ARGC(ab6), ab6) == 2);
    CHECK(tt_cmd_bench_ab(ARGC(ab7), ab7) == 1); /* a q6_K head kernel for an f16 head: refused at open */
    char *ab1[] = {"bench-ab", "-m", model, "--weights", "i2s"};          /* one configuration: nothing to compare */
    char *ab2[] = {"bench-ab", "-m", model, "--weights", "i2s,tl3"};      /* not a format */
    char *ab3[] = {"bench-ab", "-m", model, "--weights", "i2s,tl1", "--lm-head", "f8"};
    char *ab4[] = {"bench-ab", "--weights", "i2s,tl1"};
    CHECK(tt_cmd_bench_ab(ARGC(ab1), ab1) == 2 && tt_cmd_bench_ab(ARGC(ab2), ab2) == 2 &&
          tt_cmd_bench_ab(ARGC(ab3), ab3) == 2 && tt_cmd_bench_ab(ARGC(ab4), ab4) == 2);

    char *help1[] = {"model", "--help"}, *help2[] = {"run", "--help"}, *help3[] = {"bench-e2e", "--help"};
    CHECK(tt_cmd_model(2, help1) == 0 && tt_cmd_run(2, help2) == 0 && tt_cmd_bench_e2e(2, help3) == 0);
    char *bad1[] = {"model", "synth", "--preset", "nope", "--out", model};
    CHECK(tt_cmd_model(ARGC(bad1), bad1) == 2);
    char *bad2[] = {"run", "-m", model, "-n", "many"};
    CHECK(tt_cmd_run(ARGC(bad2), bad2) == 2);
    char *bad3[] = {"bench-e2e", "-m", model, "-t", "0"};
    CHECK(tt_cmd_bench_e2e(ARGC(bad3), bad3) == 2);
    char *bad4[] = {"run", "-m"};
    CHECK(tt_cmd_run(ARGC(bad4), bad4) == 2);
    char *bad5[] = {"run", "-m", "/nonexistent.gguf"};
    CHECK(tt_cmd_run(ARGC(bad5), bad5) == 1);
    char *bad6[] = {"model", "synth", "--preset", "tiny"};
    CHECK(tt_cmd_model(ARGC(bad6), bad6) == 2);

    /* synth --arch / --layers / --ternary: the file loads with that architecture, depth and tensor type */
    char *tq[] = {"model", "synth", "--preset", "tiny", "--out", model, "--arch", "bitnet", "--layers", "3",
                  "--ternary", "tq1_0", "--seed", "3"};
    CHECK(tt_cmd_model(ARGC(tq), tq) == 0);
    tt_gguf *g = NULL;
    CHECK(!tt_gguf_open(model, &g));
    if (g) {
        const char *arch;
        size_t n;
        uint32_t layers = 0;
        const tt_gguf_tensor *t = tt_gguf_find_tensor(g, "blk.2.ffn_down.weight");
        CHECK(!tt_gguf_get_str(g, "general.architecture", &arch, &n) && n == 6 && !memcmp(arch, "bitnet", 6));
        CHECK(!tt_gguf_get_u32(g, "bitnet.block_count", &layers) && layers == 3);
        CHECK(t && t->type == TT_GGML_TQ1_0 && !tt_gguf_find_tensor(g, "blk.3.ffn_down.weight"));
        tt_gguf_close(g);
    }
    char *run_tq[] = {"run", "-m", model, "-p", "hello", "-n", "4"};
    CHECK(tt_cmd_run(ARGC(run_tq), run_tq) == 0);
    char *tq2[] = {"model", "synth", "--preset", "tiny", "--out", model, "--ternary", "tq2_0", "--arch", "bitnet-b1.58"};
    CHECK(tt_cmd_model(ARGC(tq2), tq2) == 0);
    CHECK(tt_cmd_run(ARGC(run_tq), run_tq) == 0);
    char *bl1[] = {"model", "synth", "--preset", "tiny", "--out", model, "--layers", "0"};
    char *bl2[] = {"model", "synth", "--preset", "tiny", "--out", model, "--layers", "1025"};
    char *bl3[] = {"model", "synth", "--preset", "tiny", "--out", model, "--layers", "2x"};
    char *ba[] = {"model", "synth", "--preset", "tiny", "--out", model, "--arch", "llama"};
    char *bt[] = {"model", "synth", "--preset", "tiny", "--out", model, "--ternary", "tl2"};
    char *bv[] = {"model", "synth", "--preset", "tiny", "--out", model, "--ternary"};
    CHECK(tt_cmd_model(ARGC(bl1), bl1) == 2 && tt_cmd_model(ARGC(bl2), bl2) == 2 && tt_cmd_model(ARGC(bl3), bl3) == 2);
    CHECK(tt_cmd_model(ARGC(ba), ba) == 2 && tt_cmd_model(ARGC(bt), bt) == 2 && tt_cmd_model(ARGC(bv), bv) == 2);
    check_tune_model(model);
    /* 3b's rows (3200) are not whole TQ blocks: refused before anything is written */
    char *b3[] = {"model", "synth", "--preset", "3b", "--out", model, "--ternary", "tq2_0"};
    CHECK(tt_cmd_model(ARGC(b3), b3) == 1);

    unlink(model);
    unlink(json);
    return tt_test_end("test_cli");
}
