/* cmd_tune_model.c — `tritune tune-model`: the tuner's in-model stage.
 *
 * The race (`tritune tune`) times each kernel alone on its shape. Inside the model the same matrices share the
 * memory stream with the other GEMVs, the attention and the LM head, and there an isolated lead has not always held:
 * at stop 37 a tune whose isolated races put I2_S on most shapes decoded 0.87-0.90x as fast as one with B3 on them
 * (docs/MEASUREMENT.md, "Zen 5, stop 37"). This stage settles inside the model, per thread count, first how each
 * group of matrices that share an input is arranged (q/k/v and gate/up: one stacked matrix or apart; the load
 * decides it from the race's medians, tt_plan_fuse, and the stage races that against the other arrangement,
 * tt_model_alt_fusion), then the storage format per profile entry (shape and thread count): with the profile's
 * picks installed it loads the model once per thread count,
 * and for each shape the model runs, in decode order, it repacks every matrix of that shape for the race's
 * runner-up where that is another kernel of the winner's format (a near tie in isolation), and for the fastest kernel
 * of each other format that the entry's final session timed (within IM_ALT_MAX of the winner), then decodes passes
 * of n tokens with the race's winner and each alternative in turn (order rotated every round), timing the decode
 * phases that hold the shape (tt_model.prof). An alternative replaces the winner when its phases are faster with
 * confidence (IM_GAIN median gap and a one-sided Mann-Whitney p < IM_ALPHA: the race's rule, tt_race_faster) and
 * the whole token is not slower with confidence (the same test, no gap). A phase is a few percent of a token, so a
 * tie of whole tokens is the common case and does not veto. Every format is exact, so no
 * pick changes a bit of the logits (nor does an arrangement). The result goes to the entry's "in_model"
 * (tt_prof_in_model; an arrangement to the stacked shape's entry, which tt_plan_fuse then reads), written after
 * each entry (an interrupted run keeps what it decided; a rerun does the rest), and the baked table next to the
 * profile is written again. */
#include "model.h"
#include "tt_baked.h"
#include "tt_cli.h"
#include "tt_opt.h"
#include "tt_profile.h"
#include "tt_race.h"
#include "tt_topo.h"
#include "tt_tune.h"
#include "tt_wisdom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IM_ALT_MAX 1.5 /* an alternative joins when its median in the final session is within this of the winner's */
#define IM_GAIN 0.02   /* the median gap an alternative's phases must beat the winner's by */
#define IM_ALPHA 0.05  /* and the Mann-Whitney p */
#define IM_SHAPES 16

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tritune tune-model -m FILE.gguf [--profile results/<cpu-id>/profile.json] [-t 1,2] [-n 32] [-r 6]\n"
            "                          [--force] [--oversubscribe]\n"
            "The tuner's in-model stage (make tune runs it after the races). For each thread count of the profile\n"
            "(-t: only these), the model is loaded with the profile's picks. First q/k/v and gate/up are each raced\n"
            "stacked (one GEMV) against apart, the load's arrangement (from the race's medians) against the other;\n"
            "then, for each matrix shape the model runs, in\n"
            "decode order, the race's winner, its runner-up where that is another kernel of the same format (a near\n"
            "tie in isolation), and the fastest kernel of each other storage format that the race's final session\n"
            "timed (within %.1fx of the winner there) run every matrix of that shape in turn: after one warm-up\n"
            "round, -r rounds of one decode pass each (-n tokens from position 0), the order rotated every round,\n"
            "timing the decode phases that hold the shape. An alternative replaces the winner when its phases are\n"
            "faster with confidence (median gap over %.0f %%, Mann-Whitney p < %.2f) and whole tokens are not slower with\n"
            "confidence (the same test); so does the other arrangement. Every format and arrangement is exact: the\n"
            "logits do not change by a bit.\n"
            "The decisions go to each entry's \"in_model\" in the profile (tritune wisdom show lists them); the model\n"
            "verbs and the baked table (written again next to the profile) then run the in-model pick. Entries that\n"
            "already have one are skipped (--force: measured again). The model file should be the one the profile\n"
            "was tuned for (make tune uses the synthetic 2B4T, results/models/2b4t.gguf).\n",
            IM_ALT_MAX, 100 * IM_GAIN, IM_ALPHA);
}

/* A shape of the model's matrices at this thread count, the decode phases that hold it and its matrices. */
typedef struct im_shape {
    int m, k, nlin;
    unsigned phases;     /* 1 << tt_prof_phase */
    const tt_variant *v; /* the kernel the model runs for it (its first matrix's, in layer 0) */
} im_shape;

static int model_shapes(const tt_model *md, im_shape *s)
{
    int n = 0;
    for (int l = 0; l < md->config.n_layers; l++) {
        const tt_layer_weights *w = &md->w.layers[l];
        const struct {
            const tt_linear *L;
            tt_prof_phase p;
        } all[] = {{&w->wqkv, TT_PROF_QKV},       {&w->wq, TT_PROF_QKV},        {&w->wk, TT_PROF_QKV},
                   {&w->wv, TT_PROF_QKV},         {&w->wo, TT_PROF_WO},         {&w->w_gate_up, TT_PROF_GATE_UP},
                   {&w->w_gate, TT_PROF_GATE_UP}, {&w->w_up, TT_PROF_GATE_UP},  {&w->w_down, TT_PROF_DOWN}};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            const tt_plan *p = &all[i].L->plan;
            if (!p->m) continue;
            int j = 0;
            while (j < n && (s[j].m != p->m || s[j].k != p->k)) j++;
            if (j == n) {
                if (n == IM_SHAPES) continue;
                s[n++] = (im_shape){.m = p->m, .k = p->k, .v = p->v};
            }
            s[j].nlin++;
            s[j].phases |= 1u << all[i].p;
        }
    }
    return n;
}

static void phase_names(unsigned phases, char *buf, size_t n)
{
    static const struct {
        tt_prof_phase p;
        const char *name;
    } nm[] = {{TT_PROF_QKV, "qkv"}, {TT_PROF_WO, "o"}, {TT_PROF_GATE_UP, "gate_up"}, {TT_PROF_DOWN, "down"}};
    buf[0] = 0;
    for (size_t i = 0; i < sizeof nm / sizeof nm[0]; i++)
        if (phases & (1u << nm[i].p))
            snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? "," : "", nm[i].name);
}

/* One decode pass: n tokens from position 0, greedy, logits every token; the phases' time and the pass's. */
static tt_status pass(tt_model *md, int n, uint64_t seed, unsigned phases, double *phase_ns, double *secs)
{
    memset(md->prof_ns, 0, sizeof md->prof_ns);
    md->prof = true;
    int tok = (int)(seed % (uint64_t)md->config.vocab_size);
    double t0 = now_s();
    tt_status st = TT_OK;
    for (int i = 0; i < n && !st; i++)
        if (!(st = tt_model_forward(md, tok, i, true))) tok = tt_argmax(md->s.logits, md->config.vocab_size);
    *secs = now_s() - t0;
    md->prof = false;
    double t = 0;
    for (int p = 0; p < TT_PROF_COUNT; p++)
        if (phases & (1u << p)) t += md->prof_ns[p];
    *phase_ns = t;
    return st;
}

static double median_of(const double *x, int n) { return n > 0 ? tt_median(x, n) : 0; }

/* Decode passes with the model's own plans (candidate 0) and each alternative alt[1..nc) swapped in, in turn, the
 * order rotated every round, after one warm-up round: ph[c * reps + r] and tk[...] get candidate c's phase time and
 * token time per token in round r. The model runs its own plans again at the end. 0, or 1 (printed). */
static int race_alts(tt_model *md, tt_model_alt *const *alt, int nc, unsigned phases, int n_tok, int reps, double *ph,
                     double *tk)
{
    int swapped = 0; /* the candidate whose plans the model runs now */
    tt_status st = TT_OK;
    for (int r = -1; r < reps && !st; r++) {
        for (int j = 0; j < nc && !st; j++) {
            int c = (j + (r < 0 ? 0 : r)) % nc;
            if (swapped != c) {
                if (swapped) tt_model_alt_swap(md, alt[swapped]); /* back to the model's own */
                if (c) tt_model_alt_swap(md, alt[c]);
                swapped = c;
            }
            double pns, secs;
            st = pass(md, n_tok, 0x5eed + (uint64_t)(r + 1), phases, &pns, &secs);
            if (r >= 0) ph[c * reps + r] = pns / n_tok, tk[c * reps + r] = secs / n_tok;
        }
        if (r >= 0 && !st) {
            printf("  round %d/%d: phases us/token", r + 1, reps);
            for (int c = 0; c < nc; c++) printf(" %.1f", ph[c * reps + r] / 1e3);
            printf("; t/s");
            for (int c = 0; c < nc; c++) printf(" %.2f", 1 / tk[c * reps + r]);
            printf("\n");
            fflush(stdout);
        }
    }
    if (swapped) tt_model_alt_swap(md, alt[swapped]);
    if (st) fprintf(stderr, "tritune tune-model: %s\n", tt_last_error());
    return st ? 1 : 0;
}

/* Candidate c (> 0) against candidate 0 over reps rounds: the median ratios (0's time over c's) of the phases and the
 * tokens, the rounds c's phases were faster, and whether c wins: its phases faster with confidence and whole tokens
 * not slower with confidence (the guard against a kernel that moves its cost outside its phases: a tie of whole
 * tokens does not veto a faster phase). */
static bool decide(const double *ph, const double *tk, int c, int reps, double *ratio, double *tok_ratio, int *faster)
{
    double rt[128], rk[128];
    int n = reps < 128 ? reps : 128;
    *faster = 0;
    for (int r = 0; r < n; r++) {
        rt[r] = ph[r] / ph[c * reps + r];
        rk[r] = tk[r] / tk[c * reps + r];
        *faster += ph[c * reps + r] < ph[r];
    }
    *ratio = median_of(rt, n), *tok_ratio = median_of(rk, n);
    return tt_race_faster(ph + c * reps, reps, ph, reps, IM_ALPHA, IM_GAIN) &&
           !tt_race_faster(tk, reps, tk + c * reps, reps, IM_ALPHA, 0.0);
}

/* Race the candidates of one entry inside the model; fills e->in_model and leaves the model running the pick.
 * Returns 0, or 1 on an error (printed). */
static int race_entry(tt_model *md, tt_prof_entry *e, const im_shape *sh, int n_tok, int reps)
{
    const tt_variant *cur = sh->v;
    const tt_variant *cand[TT_PROF_IM_CANDS] = {cur};
    tt_model_alt *alt[TT_PROF_IM_CANDS] = {NULL};
    int nc = 1;
    /* f = -1: the race's runner-up where it is another kernel of the winner's format (a near tie in isolation, such
     * as another prefetch distance); then the fastest of each other format */
    for (int f = -1; f < TT_PROF_MAX_FMTS; f++) {
        const tt_prof_stat *b = f < 0 ? &e->runner_up : &e->fmt_best[f];
        const tt_variant *v = b->variant[0] ? tt_variant_find(b->variant) : NULL;
        if (!v || v == cur || ((int)v->fmt == (int)cur->fmt) != (f < 0) || !v->exact || v->op != TT_OP_GEMV) continue;
        if (!(b->median_ns <= IM_ALT_MAX * e->winner.median_ns)) {
            printf("  %s: %.1f us in the race's final session, over %.1fx the winner's %.1f: not raced here\n", v->name,
                   b->median_ns / 1e3, IM_ALT_MAX, e->winner.median_ns / 1e3);
            continue;
        }
        double t0 = now_s();
        if (tt_model_alt_build(md, sh->m, sh->k, v, &alt[nc])) {
            printf("  %s: cannot be planned here: %s\n", v->name, tt_last_error());
            continue;
        }
        printf("  %s (%s): %d matrices repacked in %.1f s\n", v->name, tt_fmt_name(v->fmt),
               tt_model_alt_linears(alt[nc]), now_s() - t0);
        cand[nc++] = v;
    }
    tt_prof_in_model *im = &e->in_model;
    im->variant[0] = 0, im->ncand = 0; /* no kernel record until decided below; an arrangement on the entry stays */
    if (nc == 1) {
        printf("  nothing else to race (no runner-up of its format, and no other format within %.1fx)\n", IM_ALT_MAX);
        return 0;
    }
    double *ph = calloc((size_t)(nc * reps), sizeof *ph), *tk = calloc((size_t)(nc * reps), sizeof *tk);
    if (!ph || !tk || race_alts(md, alt, nc, sh->phases, n_tok, reps, ph, tk)) {
        if (!ph || !tk) fprintf(stderr, "tritune tune-model: no memory\n");
        free(ph), free(tk);
        for (int c = 1; c < nc; c++) tt_model_alt_free(alt[c]);
        return 1;
    }
    /* the decision */
    int pick = 0;
    double best_ratio = 1, tok_ratio[TT_PROF_IM_CANDS] = {1};
    for (int c = 0; c < nc; c++) {
        tt_prof_im_cand *x = &im->cand[c];
        bool wins = false;
        snprintf(x->variant, sizeof x->variant, "%s", cand[c]->name);
        x->phase_us = median_of(ph + c * reps, reps) / 1e3;
        x->tok_s = 1 / median_of(tk + c * reps, reps);
        x->ratio = 1, x->faster = 0;
        if (c) wins = decide(ph, tk, c, reps, &x->ratio, &tok_ratio[c], &x->faster);
        if (wins && x->ratio > best_ratio) pick = c, best_ratio = x->ratio;
    }
    im->ncand = nc;
    im->rounds = reps;
    im->tokens = n_tok;
    im->linears = sh->nlin;
    phase_names(sh->phases, im->phases, sizeof im->phases);
    snprintf(im->variant, sizeof im->variant, "%s", cand[pick]->name);
    if (pick)
        snprintf(im->why, sizeof im->why, "%s replaces the race's winner: phases %.3fx, token %.3fx (%d of %d rounds faster)",
                 cand[pick]->fmt == cur->fmt ? "its runner-up" : tt_fmt_name(cand[pick]->fmt), best_ratio,
                 tok_ratio[pick], im->cand[pick].faster, reps);
    else {
        int b = nc > 1 ? 1 : 0;
        for (int c = 2; c < nc; c++) b = im->cand[c].ratio > im->cand[b].ratio ? c : b;
        snprintf(im->why, sizeof im->why, "the race's winner stays: best other %s, phases %.3fx, token %.3fx (%d of %d rounds faster)",
                 cand[b]->fmt == cur->fmt ? "its runner-up" : tt_fmt_name(cand[b]->fmt), im->cand[b].ratio,
                 tok_ratio[b], im->cand[b].faster, reps);
    }
    printf("  -> %s: %s\n", im->variant, im->why);
    if (pick) tt_model_alt_swap(md, alt[pick]); /* the model runs the pick for the shapes after this one */
    free(ph), free(tk);
    for (int c = 1; c < nc; c++) tt_model_alt_free(alt[c]);
    return 0;
}

/* The cold entry (m, k, T) of the profile (which this stage writes), or NULL. */
static tt_prof_entry *cold_entry(tt_profile *p, int m, int k, int T)
{
    return (tt_prof_entry *)tt_profile_find(p, m, k, T, "cold");
}

/* The arrangement of group g (0 q/k/v, 1 gate/up) raced inside the model: the one the load chose (the race's medians,
 * tt_plan_fuse) against the other (tt_model_alt_fusion), decided as the kernels are; recorded on the fused shape's
 * entry, the model left running the pick. -1: nothing to do here (said why), 0 decided, 1 error. */
static int race_fusion(tt_model *md, tt_profile *p, int g, int T, int n_tok, int reps)
{
    const tt_model_config *c = &md->config;
    const int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    const int ms[3] = {g ? c->hidden_dim : qd, g ? c->hidden_dim : kvd, kvd}, np = g ? 2 : 3;
    int mf = 0;
    for (int i = 0; i < np; i++) mf += ms[i];
    const char *name = g ? "gate/up" : "q/k/v";
    tt_prof_entry *e = cold_entry(p, mf, c->dim, T);
    bool parts = true;
    for (int i = 0; i < np; i++) parts &= cold_entry(p, ms[i], c->dim, T) != NULL;
    if (!e || !parts) {
        printf("%s t%d: the profile has no cold entries for both the fused %dx%d and its parts: arrangement not raced\n",
               name, T, mf, c->dim);
        return -1;
    }
    if (e->in_model.fuse) {
        printf("%s t%d: arrangement measured in the model before (--force measures again)\n", name, T);
        return -1;
    }
    bool fused = g ? md->fused_gate_up : md->fused_qkv;
    printf("%s t%d: %s at load (%s); the other arrangement raced in the model\n", name, T, fused ? "fused" : "apart",
           md->fuse_note);
    tt_model_alt *alt[2] = {NULL, NULL};
    double t0 = now_s();
    if (tt_model_alt_fusion(md, g, &alt[1])) {
        fprintf(stderr, "tritune tune-model: %s: %s\n", name, tt_last_error());
        return 1;
    }
    printf("  %s: %d matrices planned in %.1f s\n", fused ? "apart" : "fused", tt_model_alt_linears(alt[1]),
           now_s() - t0);
    double *ph = calloc((size_t)(2 * reps), sizeof *ph), *tk = calloc((size_t)(2 * reps), sizeof *tk);
    unsigned phases = 1u << (g ? TT_PROF_GATE_UP : TT_PROF_QKV);
    if (!ph || !tk || race_alts(md, alt, 2, phases, n_tok, reps, ph, tk)) {
        if (!ph || !tk) fprintf(stderr, "tritune tune-model: no memory\n");
        free(ph), free(tk);
        tt_model_alt_free(alt[1]);
        return 1;
    }
    tt_prof_in_model *im = &e->in_model;
    bool other = decide(ph, tk, 1, reps, &im->fuse_ratio, &im->fuse_token, &im->fuse_faster);
    bool now = other ? !fused : fused;
    im->fuse = now ? TT_FUSE_MEASURED_ON : TT_FUSE_MEASURED_OFF;
    im->fuse_rounds = reps;
    snprintf(im->fuse_why, sizeof im->fuse_why, "%s %s: the other arrangement's phases %.3fx, token %.3fx (%d of %d rounds faster)",
             now ? "fused" : "apart", other ? "replaces the medians' choice" : "as the medians chose", im->fuse_ratio,
             im->fuse_token, im->fuse_faster, reps);
    printf("  -> %s\n", im->fuse_why);
    if (other) tt_model_alt_swap(md, alt[1]); /* the model runs the pick from now on */
    free(ph), free(tk);
    tt_model_alt_free(alt[1]);
    return 0;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void bind_cb(void *ctx, int idx) { tt_topo_bind_thread(ctx, idx); }

int tt_cmd_tune_model(int argc, char **argv)
{
    const char *path = NULL, *prof_path = NULL;
    tt_opt_ints th = {0};
    long n_tok = 32, reps = 6;
    bool force = false, over = false;
    const tt_opt opts[] = {
        TT_O_STR("--model", "-m", &path),
        TT_O_STR("--profile", NULL, &prof_path),
        TT_O_INTS("--threads", "-t", &th, 1, 4096),
        TT_O_INT("--n-gen", "-n", &n_tok, 4, 4096),
        TT_O_INT("--repetitions", "-r", &reps, 3, 100),
        TT_O_FLAG("--force", NULL, &force),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "tune-model", .usage = usage, .opts = opts, .nopts = TT_NOPTS(opts)},
                           argc, argv);
    if (prc >= 0) return prc;
    if (!path) {
        fprintf(stderr, "tritune tune-model: -m FILE.gguf is required (make tune passes results/models/2b4t.gguf)\n");
        return 2;
    }
    tt_topo topo;
    bool have_topo = tt_topo_load(&topo) == TT_OK;
    char def[4200];
    if (!prof_path) {
        tt_cpu_id id;
        char slug[128];
        tt_cpu_id_here(&id, have_topo ? &topo : NULL);
        tt_cpu_id_slug(&id, slug, sizeof slug);
        snprintf(def, sizeof def, "results/%s/profile.json", slug);
        prof_path = def;
    }
    tt_profile p;
    if (tt_profile_read(prof_path, &p)) {
        fprintf(stderr, "tritune tune-model: %s\n", tt_last_error());
        if (have_topo) tt_topo_free(&topo);
        return 1;
    }
    tt_cpu_id here;
    tt_cpu_id_here(&here, have_topo ? &topo : NULL);
    char note[400];
    if (tt_profile_check(&p, &here, tt_registry_hash(), note, sizeof note)) {
        fprintf(stderr, "tritune tune-model: %s: %s\n", prof_path, tt_last_error());
        tt_profile_free(&p);
        if (have_topo) tt_topo_free(&topo);
        return 1;
    }
    /* thread counts: -t, else every count of the profile's cold entries */
    int tc[TT_OPT_INTS_MAX], ntc = 0;
    if (th.n) {
        for (int i = 0; i < th.n; i++) tc[ntc++] = th.v[i];
    } else {
        for (int i = 0; i < p.n && ntc < TT_OPT_INTS_MAX; i++) {
            bool seen = strcmp(p.e[i].regime, "cold") != 0;
            for (int j = 0; j < ntc && !seen; j++) seen = tc[j] == p.e[i].threads;
            if (!seen) tc[ntc++] = p.e[i].threads;
        }
        qsort(tc, (size_t)ntc, sizeof *tc, cmp_int);
    }
    if ((prc = tt_opt_check_threads("tune-model", tc, ntc, over)) >= 0) {
        tt_profile_free(&p);
        if (have_topo) tt_topo_free(&topo);
        return prc;
    }
    tt_wisdom_saved *saved = tt_wisdom_detach(); /* the profile under tuning is installed below; put back at the end */
    if (!saved) {
        fprintf(stderr, "tritune tune-model: no memory\n");
        tt_profile_free(&p);
        if (have_topo) tt_topo_free(&topo);
        return 1;
    }
    if (note[0]) printf("tritune tune-model: %s\n", note);
    printf("tritune tune-model: %s, model %s, threads", prof_path, path);
    for (int i = 0; i < ntc; i++) printf(" %d", tc[i]);
    printf(", %ld rounds of %ld tokens per shape\n", reps, n_tok);
    int rc = 0, decided = 0;
    double t_all = now_s();
    for (int ti = 0; ti < ntc && !rc; ti++) {
        const int T = tc[ti];
        /* the cold entries at T this stage measures (their earlier decisions dropped with --force) */
        int todo = 0, here_n = 0;
        for (int i = 0; i < p.n; i++) {
            tt_prof_entry *e = &p.e[i];
            if (e->threads != T || strcmp(e->regime, "cold")) continue;
            if (force) memset(&e->in_model, 0, sizeof e->in_model);
            here_n++;
            todo += !e->in_model.variant[0] && !e->in_model.fuse;
        }
        if (!todo) {
            printf("threads %d: %s\n", T, here_n ? "every entry already measured in the model (--force measures again)"
                                                 : "the profile has no cold entry at this thread count");
            continue;
        }
        if (tt_wisdom_install_profile(&p, prof_path)) {
            fprintf(stderr, "tritune tune-model: %s\n", tt_last_error());
            rc = 1;
            break;
        }
        tt_model *md = NULL;
        tt_model_opts o = {.threads = T, .n_ctx = (int)n_tok};
        if (have_topo) o.bind = bind_cb, o.bind_ctx = &topo;
        double t0 = now_s();
        if (tt_model_open(path, &o, &md)) {
            fprintf(stderr, "tritune tune-model: %s\n", tt_last_error());
            rc = 1;
            break;
        }
        printf("threads %d: model loaded in %.1f s; %s\n", T, now_s() - t0, md->fmt_note);
        for (int g = 0; g < 2 && !rc; g++) { /* the arrangements first: they decide the shapes the model runs */
            int fr = race_fusion(md, &p, g, T, (int)n_tok, (int)reps);
            if (fr > 0) rc = 1;
            else if (fr == 0) {
                decided++;
                if (tt_profile_write(&p, prof_path)) {
                    fprintf(stderr, "tritune tune-model: %s\n", tt_last_error());
                    rc = 1;
                }
            }
        }
        im_shape sh[IM_SHAPES];
        int ns = rc ? 0 : model_shapes(md, sh);
        for (int s = 0; s < ns && !rc; s++) {
            tt_prof_entry *e = cold_entry(&p, sh[s].m, sh[s].k, T);
            const tt_variant *cur = sh[s].v;
            if (!e || e->in_model.variant[0]) {
                printf("%dx%d t%d: %s\n", sh[s].m, sh[s].k, T,
                       e ? "measured in the model before (--force measures again)" : "no cold entry in the profile");
                continue;
            }
            if (!cur || strcmp(cur->name, e->winner.variant)) {
                printf("%dx%d t%d: the model runs %s, not the entry's winner %s (flagged, or forced): skipped\n",
                       sh[s].m, sh[s].k, T, cur ? cur->name : "?", e->winner.variant);
                continue;
            }
            bool any = false;
            for (int f = 0; f < TT_PROF_MAX_FMTS; f++) any |= e->fmt_best[f].variant[0] != 0;
            if (!any) {
                printf("%dx%d t%d: the entry has no per-format results (a profile before 1.4): race it again "
                       "(FORCE=1 make tune)\n", sh[s].m, sh[s].k, T);
                continue;
            }
            char ph[48];
            phase_names(sh[s].phases, ph, sizeof ph);
            printf("%dx%d t%d (%s, %d matrices, phases %s): race winner %s\n", sh[s].m, sh[s].k, T, e->shape,
                   sh[s].nlin, ph, cur->name);
            if (race_entry(md, e, &sh[s], (int)n_tok, (int)reps)) rc = 1;
            else if (e->in_model.variant[0]) {
                decided++;
                if (tt_profile_write(&p, prof_path)) {
                    fprintf(stderr, "tritune tune-model: %s\n", tt_last_error());
                    rc = 1;
                }
            }
        }
        tt_model_close(md);
    }
    tt_wisdom_restore(saved);
    if (!rc && decided) { /* the baked table next to the profile, when the tuner wrote one there */
        char dir[4096], baked[4200];
        snprintf(dir, sizeof dir, "%s", prof_path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
        snprintf(baked, sizeof baked, "%s/baked.c", dir);
        char sum[4200];
        snprintf(sum, sizeof sum, "%s/summary.md", dir);
        struct stat sb;
        if (!stat(sum, &sb)) tt_tune_write_summary(&p, sum, NULL); /* with the in-model section */
        if (!stat(baked, &sb)) {
            if (tt_bake_write(&p, prof_path, baked)) {
                fprintf(stderr, "tritune tune-model: bake: %s\n", tt_last_error());
                rc = 1;
            } else printf("baked table written again: %s\n", baked);
        }
    }
    if (!rc) printf("tritune tune-model: %d entr%s decided in %.0f s; %s\n", decided, decided == 1 ? "y" : "ies",
                    now_s() - t_all, prof_path);
    tt_profile_free(&p);
    if (have_topo) tt_topo_free(&topo);
    return rc;
}
