/* tritune tune: on this machine, for every GEMV shape of a model and every thread count the topology suggests,
 * verify every eligible exact variant against the oracle, race the survivors in interleaved Google Benchmark
 * rounds (rank-test elimination), measure winner / runner-up / baseline in both regimes, and record it all in a
 * profile signed by the CPU identity and the registry hash. Interrupted runs keep finished entries; reruns resume. */
#include "tt_cli.h"
#include "tt_gbench.h"
#include "tt_gemm_bench.h"
#include "tt_harness.h"
#include "tt_head.h"
#include "tt_load.h"
#include "tt_opt.h"
#include "tt_membw.h"
#include "tt_papi.h"
#include "tt_profile.h"
#include "tt_race.h"
#include "tt_topo.h"
#include "tt_tune.h"
#include "tt_workload.h"
#include "gguf.h"
#include "model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

json_t *tt_machine_json(const tt_topo *topo);

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    if (g_stop) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static FILE *g_log;
static bool g_tty;
static double g_t0;

__attribute__((format(printf, 1, 2))) static void logf_(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g_tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "[%6.1fs] %s\n", now_s() - g_t0, buf);
    if (g_log) {
        fprintf(g_log, "[%6.1fs] %s\n", now_s() - g_t0, buf);
        fflush(g_log);
    }
}

/* Progress line with elapsed time and ETA: redrawn in place on a terminal, plain lines otherwise (rate-limited). */
static void progress(int done_combos, int combos, double budget_s, const char *what)
{
    static double last;
    double el = now_s() - g_t0, t = now_s();
    double eta = budget_s - el > 0 ? budget_s - el : 0;
    if (g_tty) {
        fprintf(stderr, "\r\033[K[%d/%d] %s | elapsed %.0fs, ETA %.0fs", done_combos, combos, what, el, eta);
        fflush(stderr);
    } else if (t - last > 10) {
        fprintf(stderr, "[%d/%d] %s | elapsed %.0fs, ETA %.0fs\n", done_combos, combos, what, el, eta);
        last = t;
    }
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static void bind_cb(void *ctx, int idx) { tt_topo_bind_thread(ctx, idx); }

static void fill_stat(tt_prof_stat *s, const tt_variant *v, const tt_gb_stats *g, double bytes, double bw)
{
    snprintf(s->variant, sizeof s->variant, "%s", v->name);
    s->median_ns = g->median_ns;
    s->p25_ns = tt_quantile(g->samples_ns, g->reps, 0.25);
    s->p75_ns = tt_quantile(g->samples_ns, g->reps, 0.75);
    s->cv = g->cv;
    s->samples = g->reps;
    s->gbps = bytes / g->median_ns;
    s->bw_frac = bw > 0 ? s->gbps / bw : 0;
}

static const tt_variant *find_baseline(tt_fmt f)
{
    for (int i = 0; i < tt_registry_count; i++)
        if (tt_registry[i].baseline && tt_registry[i].op == TT_OP_GEMV && tt_registry[i].fmt == f) return &tt_registry[i];
    return NULL;
}

typedef struct tune_opts {
    double budget_s;
    int threads[16], nthreads;
    const char *out_root, *model;
    bool force, exhaustive, force_bake;
    tt_regime regime;
    const char *shapes; /* optional "MxK,MxK" override */
    double cold_mib;    /* optional cap on the rotating copies per layout */
    double probe_mib;   /* optional size of the bandwidth probe's buffer */
} tune_opts;

/* One shape's verified candidates and data, shared by every thread count (the cold copies are made once). */
typedef struct shape_ctx {
    tt_harness h;
    size_t cold_full; /* the calibrated rotation size, used for the final measurement of a few variants */
    const tt_variant **cand;
    int nc, considered, excluded;
} shape_ctx;

static int shape_setup(shape_ctx *c, const tt_shape *sh, size_t cold_bytes, int done, int combos, double budget)
{
    const tt_cpu *cpu = tt_cpu_get();
    memset(c, 0, sizeof *c);
    if (tt_harness_init(&c->h, sh->m, sh->k, (uint64_t)sh->m * 7919 + sh->k, cold_bytes)) {
        logf_("error: %s", tt_last_error());
        return 1;
    }
    c->cold_full = cold_bytes;
    c->cand = malloc(sizeof *c->cand * (size_t)tt_registry_count);
    char what[240];
    for (int i = 0; i < tt_registry_count && !g_stop; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op != TT_OP_GEMV || !v->exact || !tt_variant_eligible(v, cpu, NULL, 0) ||
            tt_variant_check_shape(v, sh->m, sh->k))
            continue;
        c->considered++;
        char detail[256] = "";
        snprintf(what, sizeof what, "%s %dx%d: verifying %s", sh->name, sh->m, sh->k, v->name);
        progress(done, combos, budget, what);
        if (tt_harness_verify(&c->h, v, detail, sizeof detail)) {
            logf_("excluded %s on %dx%d: does not match the oracle: %s", v->name, sh->m, sh->k, detail);
            c->excluded++;
            continue;
        }
        c->cand[c->nc++] = v;
    }
    /* every layout gets its own rotating copies: share the memory budget among them */
    int nlay = tt_harness_layouts(&c->h, c->cand, c->nc);
    size_t per = tt_cold_budget_total() / (size_t)(nlay > 0 ? nlay : 1);
    if (c->h.cold_bytes > per) {
        logf_("cold copies for the race: %d layouts share %.1f GiB: %.0f MiB per layout; the final measurement of "
              "winner, runner-up, baseline and the best of other formats rotates the full %.0f MiB", nlay,
              (double)tt_cold_budget_total() / (1 << 30), (double)per / (1 << 20), (double)c->h.cold_bytes / (1 << 20));
        c->h.cold_bytes = per;
    }
    logf_("%s %dx%d: %d candidates, %d verified against the oracle, %d excluded, %d layouts", sh->name, sh->m, sh->k,
          c->considered, c->nc, c->excluded, nlay);
    return g_stop ? -1 : (c->nc ? 0 : 1);
}

static void shape_free(shape_ctx *c)
{
    free(c->cand);
    tt_harness_free(&c->h);
}

#define MT_PREFER_GAP 0.10

/* Race one (shape, threads) and fill the entry. Returns 0, or -1 when interrupted (entry not filled). */
/* prefer: the winner of this shape at one thread (NULL for the single-thread race itself): it is kept unless the
 * leader is faster by MT_PREFER_GAP with confidence (tt_race_prefer_gap), so neither a tie nor a small isolated
 * lead on a bandwidth-capped host settles the choice. */
static int tune_one(const tt_shape *sh, int threads, tt_topo *topo, const tune_opts *o, double bw, shape_ctx *sc,
                    double combo_budget, const char *gb_json, tt_prof_entry *e, int done, int combos,
                    const char *prefer)
{
    double t_start = now_s();
    const tt_cpu *cpu = tt_cpu_get();
    tt_harness h_ = sc->h; /* packsets are shared through the pointer table */
    tt_harness *hp = &sc->h;
    (void)h_;
    const tt_variant **cand = sc->cand;
    int nc = sc->nc, considered = sc->considered, excluded = sc->excluded;
    char what[240];
    tt_pool *pool = tt_pool_new(threads, bind_cb, topo);
    tt_bench_arg *args = calloc((size_t)nc, sizeof *args);
    for (int i = 0; i < nc; i++) {
        if (i % 16 == 0) {
            snprintf(what, sizeof what, "%s %dx%d t%d: preparing cold weight copies (%d/%d)", sh->name, sh->m, sh->k,
                     threads, i, nc);
            progress(done, combos, o->budget_s, what);
        }
        if (tt_bench_arg_init(&args[i], cand[i], hp, o->regime, pool, TT_SPLIT_EVEN)) {
            logf_("error: %s", tt_last_error());
            return 1;
        }
    }
    /* per-GEMV time estimate from the measured bandwidth, to size repetitions */
    double est = (double)tt_bench_bytes(&args[0]) / (bw > 0 ? bw * 1e9 : 20e9) / threads;
    tt_race race;
    tt_race_init(&race, nc);
    int rounds = 0;
    int *idx = malloc(sizeof(int) * (size_t)nc);
    while (!g_stop) {
        int alive = tt_race_alive(&race);
        double left = combo_budget - (now_s() - t_start);
        if (alive <= 1 || (rounds > 0 && left < 0.15 * combo_budget)) break;
        int reps = rounds == 0 ? 5 : 3;
        /* a round gets a share of what is left (the first at most half); every repetition runs >= 6 GEMVs */
        double round_s = rounds == 0 ? 0.5 * combo_budget : fmax(0.25 * left, 0.05);
        /* Google Benchmark adds an iteration-count probe per benchmark: about 4 extra min_times */
        double min_time = round_s / (alive * (reps + 4.0));
        if (min_time < 6 * est) min_time = 6 * est;
        tt_gb_session *s = tt_gb_new();
        tt_gb_set(s, min_time, reps, true);
        int na = 0;
        for (int i = 0; i < nc; i++) {
            if (!race.c[i].alive) continue;
            tt_gb_add(s, cand[i]->name, tt_bench_fn, &args[i], tt_bench_bytes(&args[i]));
            idx[na++] = i;
        }
        snprintf(what, sizeof what, "%s %dx%d t%d: round %d, %d of %d candidates alive", sh->name, sh->m, sh->k,
                 threads, rounds + 1, alive, nc);
        progress(done, combos, o->budget_s, what);
        if (tt_gb_run(s, NULL)) {
            logf_("error: benchmark run failed: %s", tt_last_error());
            tt_gb_free(s);
            break;
        }
        for (int j = 0; j < na; j++) {
            const tt_gb_stats *g = tt_gb_get(s, j);
            for (int r = 0; g && !g->error && r < g->reps; r++) tt_race_add(&race, idx[j], g->samples_ns[r]);
        }
        tt_gb_free(s);
        rounds++;
        int dropped = o->exhaustive ? 0 : tt_race_round_end(&race);
        if (o->exhaustive) race.round++;
        logf_("%s %dx%d t%d: round %d (%.2f ms per repetition): %d timed, %d dropped (slower, p < %.3g), %d alive",
              sh->name, sh->m, sh->k, threads, rounds, 1e3 * min_time, na, dropped, race.alpha, tt_race_alive(&race));
    }
    int runner = -1, lead = tt_race_leader(&race, &runner);
    bool kept_preferred = false;
    for (int i = 0; prefer && lead >= 0 && i < nc; i++) {
        if (strcmp(cand[i]->name, prefer)) continue;
        /* The single-thread winner stays unless the leader beats it by MT_PREFER_GAP with confidence: an isolated
         * race at several threads on a bandwidth-capped host ranks contention more than kernels, and a small lead
         * there need not hold inside the model, where every GEMV shares the stream with the others (the evidence
         * that set the gap is in the published bundle's NOTES.md, reports/cpus/). */
        int chosen = tt_race_prefer_gap(&race, lead, i, MT_PREFER_GAP);
        if (chosen != lead) {
            logf_("%s %dx%d t%d: %s leads by median but not by %.0f %% with confidence: keeping the single-thread "
                  "winner %s", sh->name, sh->m, sh->k, threads, cand[lead]->name, 100 * MT_PREFER_GAP, prefer);
            runner = lead;
            lead = chosen;
            kept_preferred = true;
        }
        break;
    }
    if (g_stop || lead < 0) {
        for (int i = 0; i < nc; i++) tt_bench_arg_free(&args[i]);
        free(args), free(idx);
        tt_race_free(&race);
        tt_pool_free(pool);
        return g_stop ? -1 : 1;
    }
    /* final: winner, runner-up and the baselines, both regimes, interleaved, Google Benchmark JSON kept */
    const tt_variant *win = cand[lead], *run = runner >= 0 ? cand[runner] : NULL, *base = find_baseline(TT_FMT_I2S);
    if (base && (tt_variant_check_shape(base, sh->m, sh->k) || !tt_variant_eligible(base, cpu, NULL, 0)))
        base = find_baseline(win->fmt);
    if (base && (tt_variant_check_shape(base, sh->m, sh->k) || !tt_variant_eligible(base, cpu, NULL, 0))) base = NULL;
    /* The race shares the memory budget among all layouts; the final measurement of these few variants uses the
     * full calibrated rotation, so the cold numbers recorded are really from DRAM. */
    size_t race_cold = hp->cold_bytes;
    hp->cold_bytes = sc->cold_full;
    /* Challengers: the two fastest of every other format in the race (by median, dropped or not). The race's
     * rotation is a share of the memory budget and can be partly cache-resident (logged above), which favours
     * kernels that compute less per byte over formats that read fewer bytes; the final session rotates the full
     * calibrated size, so it decides between formats (below). */
    const tt_variant *chal[2 * TT_FMT_COUNT];
    int nch = 0;
    for (int f = 0; f < TT_FMT_COUNT; f++) {
        if (f == (int)win->fmt) continue;
        int best[2] = {-1, -1};
        double bmed[2] = {0, 0};
        for (int i = 0; i < nc; i++) {
            if ((int)cand[i]->fmt != f || race.c[i].n < 1) continue;
            double md = tt_median(race.c[i].s, race.c[i].n);
            if (best[0] < 0 || md < bmed[0]) best[1] = best[0], bmed[1] = bmed[0], best[0] = i, bmed[0] = md;
            else if (best[1] < 0 || md < bmed[1]) best[1] = i, bmed[1] = md;
        }
        for (int b = 0; b < 2; b++)
            if (best[b] >= 0 && cand[best[b]] != run && cand[best[b]] != base) chal[nch++] = cand[best[b]];
    }
    const tt_variant *uniq[3 + 2 * TT_FMT_COUNT + TT_CEILINGS];
    int nu = 0;
    const tt_variant *roles[3] = {win, run, base};
    for (int i = 0; i < 3; i++) {
        bool dup = !roles[i];
        for (int j = 0; j < nu && !dup; j++) dup = uniq[j] == roles[i];
        if (!dup) uniq[nu++] = roles[i];
    }
    for (int i = 0; i < nch; i++) uniq[nu++] = chal[i];
    tt_papi *papi;
    tt_gb_session *s = tt_bench_session(sh->m, sh->k, threads, fmax(0.002, 10 * est), 8, &papi);
    /* the cold ceiling (a pure read of the same bytes, no compute) joins the cold session: what any GEMV could reach */
    for (int c = 0; c < TT_CEILINGS; c++)
        if (tt_ceiling_variant(c, sh->m, sh->k)) uniq[nu++] = tt_ceiling_variant(c, sh->m, sh->k);
    tt_bench_arg fa[2 * (3 + 2 * TT_FMT_COUNT + TT_CEILINGS)];
    const tt_variant *fv[2 * (3 + 2 * TT_FMT_COUNT + TT_CEILINGS)];
    bool fwarm[2 * (3 + 2 * TT_FMT_COUNT + TT_CEILINGS)];
    int nf = 0;
    for (int i = 0; i < nu; i++)
        for (int r = 0; r < 2; r++) {
            tt_regime reg = r ? TT_REGIME_WARM : TT_REGIME_COLD;
            if (r && tt_is_ceiling(uniq[i])) continue;
            if (tt_bench_arg_init(&fa[nf], uniq[i], hp, reg, pool, TT_SPLIT_EVEN)) continue;
            char name[240];
            snprintf(name, sizeof name, "%s/%dx%d/t%d/%s", tt_bench_name(uniq[i]), sh->m, sh->k, threads, tt_regime_name(reg));
            tt_gb_add(s, name, tt_bench_fn, &fa[nf], tt_bench_bytes(&fa[nf]));
            fv[nf] = uniq[i];
            fwarm[nf++] = r;
        }
    snprintf(what, sizeof what, "%s %dx%d t%d: final measurement (winner, runner-up, baseline, %d of other formats; cold and warm; "
             "cold read ceiling)", sh->name, sh->m, sh->k, threads, nch);
    progress(done, combos, o->budget_s, what);
    tt_status st = tt_gb_run(s, gb_json);
    if (st) logf_("error: final benchmark run failed: %s", tt_last_error());
    memset(e, 0, sizeof *e);
    snprintf(e->shape, sizeof e->shape, "%s", sh->name);
    e->m = sh->m;
    e->k = sh->k;
    e->threads = threads;
    snprintf(e->split, sizeof e->split, "%s", tt_split_name(TT_SPLIT_EVEN));
    snprintf(e->regime, sizeof e->regime, "%s", tt_regime_name(o->regime));
    e->candidates = considered;
    e->verified = nc;
    e->excluded = excluded;
    e->rounds = rounds;
    for (int j = 0; j < nf && !st; j++) {
        const tt_gb_stats *g = tt_gb_get(s, j);
        bool main_regime = fwarm[j] == (o->regime == TT_REGIME_WARM);
        if (fv[j] == win) {
            if (main_regime) {
                fill_stat(&e->winner, win, g, tt_bench_bytes(&fa[j]), bw);
                for (int c = 0; c < g->ncounters && e->ncounters < TT_PROF_MAX_COUNTERS; c++) {
                    snprintf(e->counter_names[e->ncounters], 32, "%s", g->counter_names[c]);
                    e->counters[e->ncounters++] = g->counters[c];
                }
            }
            *(fwarm[j] ? &e->warm_winner_ns : &e->cold_winner_ns) = g->median_ns;
        }
        if (fv[j] == run && main_regime) fill_stat(&e->runner_up, run, g, tt_bench_bytes(&fa[j]), bw);
        if (fv[j] == base) {
            if (main_regime) fill_stat(&e->baseline, base, g, tt_bench_bytes(&fa[j]), bw);
            *(fwarm[j] ? &e->warm_baseline_ns : &e->cold_baseline_ns) = g->median_ns;
        }
        if (tt_is_ceiling(fv[j]) && !fwarm[j] && g->median_ns > 0 &&
            (!e->cold_ceiling_ns || g->median_ns < e->cold_ceiling_ns))
            e->cold_ceiling_ns = g->median_ns;
        /* the fastest of each storage format in this session: what the in-model stage (tune-model) races */
        tt_prof_stat *fb = (int)fv[j]->fmt < TT_PROF_MAX_FMTS ? &e->fmt_best[fv[j]->fmt] : NULL;
        if (fb && main_regime && !tt_is_ceiling(fv[j]) && fv[j]->exact && g && !g->error && g->median_ns > 0 &&
            (!fb->variant[0] || g->median_ns < fb->median_ns))
            fill_stat(fb, fv[j], g, tt_bench_bytes(&fa[j]), bw);
    }
    /* The final interleaved session may reorder a near-tie; the profile's winner is the faster of the two there
     * (when the single-thread winner was kept: only if the runner-up is faster with confidence by the same
     * MT_PREFER_GAP that kept it, or the final session would undo the rule on a 2 % lead). */
    const double keep_gap = MT_PREFER_GAP > race.min_gap ? MT_PREFER_GAP : race.min_gap;
    bool swap = !st && run && e->runner_up.median_ns > 0 && e->runner_up.median_ns < e->winner.median_ns;
    if (swap && kept_preferred) {
        const tt_gb_stats *gw = NULL, *gr = NULL;
        for (int j = 0; j < nf; j++)
            if (fwarm[j] == (o->regime == TT_REGIME_WARM)) {
                if (fv[j] == win) gw = tt_gb_get(s, j);
                if (fv[j] == run) gr = tt_gb_get(s, j);
            }
        swap = gw && gr && tt_race_faster(gr->samples_ns, gr->reps, gw->samples_ns, gw->reps, race.alpha, keep_gap);
    }
    if (swap) {
        tt_prof_stat t = e->winner;
        e->winner = e->runner_up;
        e->runner_up = t;
        for (int j = 0; j < nf; j++)
            if (fv[j] == run) *(fwarm[j] ? &e->warm_winner_ns : &e->cold_winner_ns) = tt_gb_get(s, j)->median_ns;
        e->ncounters = 0;
    }
    /* Between formats the final session decides: a challenger faster than the winner with confidence (the race's
     * rule: median gap and Mann-Whitney p) in the main regime takes its place, the former winner becomes runner-up.
     * Where the winner is the single-thread winner of a multi-thread race, the challenger must beat it by
     * MT_PREFER_GAP, as the race's own leader must. */
    const tt_variant *cur = swap ? run : win;
    const double ch_gap = prefer && !strcmp(cur->name, prefer) ? keep_gap : race.min_gap;
    const tt_gb_stats *gcur = NULL;
    const double *cs[2 * TT_FMT_COUNT];
    int cn[2 * TT_FMT_COUNT], cj[2 * TT_FMT_COUNT], ncs = 0;
    for (int j = 0; j < nf && !st; j++) {
        if (fwarm[j] != (o->regime == TT_REGIME_WARM)) continue;
        const tt_gb_stats *g = tt_gb_get(s, j);
        if (fv[j] == cur) gcur = g;
        for (int c = 0; c < nch; c++)
            if (fv[j] == chal[c] && g && !g->error) cs[ncs] = g->samples_ns, cn[ncs] = g->reps, cj[ncs++] = j;
    }
    int pick = gcur ? tt_race_challenger(gcur->samples_ns, gcur->reps, cs, cn, ncs, race.alpha, ch_gap) : -1;
    if (pick >= 0) {
        int jbest = cj[pick];
        const tt_gb_stats *gbest = tt_gb_get(s, jbest);
        logf_("%s %dx%d t%d: %s (%s) beats the race's winner %s in the final measurement (full cold rotation, by "
              "more than %.0f %% with confidence): %.1f vs %.1f us", sh->name, sh->m, sh->k, threads, fv[jbest]->name,
              tt_fmt_name(fv[jbest]->fmt), cur->name, 100 * ch_gap, gbest->median_ns / 1e3, gcur->median_ns / 1e3);
        e->runner_up = e->winner;
        fill_stat(&e->winner, fv[jbest], gbest, tt_bench_bytes(&fa[jbest]), bw);
        for (int j = 0; j < nf; j++)
            if (fv[j] == fv[jbest]) *(fwarm[j] ? &e->warm_winner_ns : &e->cold_winner_ns) = tt_gb_get(s, j)->median_ns;
        e->ncounters = 0;
    }
    for (int j = 0; j < nf; j++) tt_bench_arg_free(&fa[j]);
    hp->cold_bytes = race_cold;
    tt_gb_free(s);
    tt_papi_close(papi);
    for (int i = 0; i < nc; i++) tt_bench_arg_free(&args[i]);
    free(args), free(idx);
    tt_race_free(&race);
    tt_pool_free(pool);
    return st ? 1 : 0;
}

/* ---- the conditions of a measurement ---- */
/* The bandwidth probe's buffer: 0 (no --probe-mib) is the probe's own default (tt_membw_default_bytes). */
static size_t probe_bytes(const tune_opts *o)
{
    return (size_t)o->probe_mib << 20;
}

static double probe_bw(tt_topo *topo, int threads, const tune_opts *o)
{
    tt_membw_result r;
    return tt_membw_measure(topo, &(tt_membw_opts){.threads = threads, .runs = 3, .bytes = probe_bytes(o)}, &r)
               ? 0
               : r.gbps_median;
}

static void add_flag(char *flags, size_t n, const char *what)
{
    size_t len = strlen(flags);
    snprintf(flags + len, n - len, "%s%s", len ? "; " : "", what);
}

/* The conditions of any race (a GEMV entry's or an LM head's): another process or the hypervisor took CPU time
 * during it, or the read bandwidth moved by more than 20 % between the probes around it (a bimodal host). */
static void race_conditions(double bw_before, double bw_after, const tt_load *l, char *flags, size_t n)
{
    char why[160];
    if (tt_load_interfered(l, why, sizeof why)) add_flag(flags, n, why);
    if (bw_before > 0 && bw_after > 0 && fmax(bw_before, bw_after) > 1.2 * fmin(bw_before, bw_after)) {
        snprintf(why, sizeof why, "read bandwidth moved from %.1f to %.1f GB/s around the measurement", bw_before,
                 bw_after);
        add_flag(flags, n, why);
    }
}

/* What is physically implausible or contended about an entry: the race's conditions (race_conditions), its cold
 * I2_S winner ran faster than a pure read of the same bytes in the same session, it read faster than the measured
 * bandwidth (cold), or it ran slower at several threads than the same shape at one. */
static void entry_flags(const tt_prof_entry *e, const tt_load *l, const tt_prof_entry *one, char *flags, size_t n)
{
    char why[160];
    flags[0] = 0;
    race_conditions(e->bw_before_gbps, e->bw_after_gbps, l, flags, n);
    const tt_variant *w = tt_variant_find(e->winner.variant);
    bool cold = !strcmp(e->regime, "cold");
    if (cold && w && w->fmt == TT_FMT_I2S && e->cold_ceiling_ns > 0 && e->cold_winner_ns < 0.97 * e->cold_ceiling_ns) {
        snprintf(why, sizeof why, "faster than a pure read of its bytes (%.1f vs %.1f us)", e->cold_winner_ns / 1e3,
                 e->cold_ceiling_ns / 1e3);
        add_flag(flags, n, why);
    }
    if (cold && e->winner.bw_frac > 1.05) {
        snprintf(why, sizeof why, "%.0f %% of the measured read bandwidth", 100 * e->winner.bw_frac);
        add_flag(flags, n, why);
    }
    if (one && e->threads > 1 && one->winner.median_ns > 0 && e->winner.median_ns > 1.05 * one->winner.median_ns) {
        snprintf(why, sizeof why, "slower at %d threads than at 1 (%.1f vs %.1f us)", e->threads,
                 e->winner.median_ns / 1e3, one->winner.median_ns / 1e3);
        add_flag(flags, n, why);
    }
}

/* A resumed entry is kept unless it carries flags (measured under interference, or implausible) and --force-bake was
 * not given: a rerun measures such entries again, so `make tune` run again on a quieter machine finishes the table
 * instead of keeping what blocked the bake. */
static bool entry_kept(const tt_prof_entry *e, const tune_opts *o)
{
    return e && (!e->flags[0] || o->force_bake);
}

/* the prefill entry of (m, k, threads) raced against the GEMV `gemv`, if any, out of the profile */
static void drop_gemm(tt_profile *p, int m, int k, int threads, const char *gemv)
{
    for (int i = 0; i < p->ng; i++)
        if (p->g[i].m == m && p->g[i].k == k && p->g[i].threads == threads && !strcmp(p->g[i].gemv, gemv)) {
            memmove(&p->g[i], &p->g[i + 1], sizeof *p->g * (size_t)(p->ng - i - 1));
            p->ng--;
            return;
        }
}

/* tune_one under watch (entry_flags): a flagged entry is measured once more after a pause; flags that stay are
 * recorded on the entry, and such entries are neither baked nor used as wisdom unless --force-bake. */
static int tune_watched(const tt_shape *sh, int threads, tt_topo *topo, const tune_opts *o, double bw, shape_ctx *sc,
                        double combo_budget, const char *gb_json, tt_prof_entry *e, int done, int combos,
                        const tt_prof_entry *one)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        double bw0 = probe_bw(topo, threads, o);
        tt_load_snap a, b;
        tt_load_snap_now(&a);
        int r = tune_one(sh, threads, topo, o, bw, sc, combo_budget, gb_json, e, done, combos,
                         one ? one->winner.variant : NULL);
        tt_load_snap_now(&b);
        if (r) return r;
        e->bw_before_gbps = bw0;
        e->bw_after_gbps = probe_bw(topo, threads, o);
        tt_load l;
        tt_load_between(&a, &b, &l);
        e->others_cpus = l.others_cpus;
        e->steal_cpus = l.steal_cpus;
        e->remeasured = attempt > 0;
        entry_flags(e, &l, one, e->flags, sizeof e->flags);
        if (!e->flags[0] || g_stop) return 0;
        logf_("%s %dx%d t%d: measurement conditions: %s — %s", sh->name, sh->m, sh->k, threads, e->flags,
              attempt ? "flagged on the entry (not baked, not used as wisdom without --force-bake)"
                      : "measuring again after a pause");
        if (!attempt) sleep(2);
    }
    return 0;
}

/* ---- prefill: GEMM races, after the GEMV winners (whose layout decides which GEMM can share the packed copy) ----
 * Per (shape, threads): every eligible exact GEMM row is checked against the oracle's dots on this shape through the
 * pool, then timed in two interleaved Google Benchmark sessions with warm weights on the model's prefill chunk
 * (TT_MODEL_BATCH_DEFAULT tokens): a short one over all of them, then a longer one over the four fastest, the
 * fastest that reads the GEMV winner's bytes, and the GEMV winner run token by token (the reference). */
static int cmp_ns(const void *a, const void *b)
{
    const tt_gemm_timing *x = *(const tt_gemm_timing *const *)a, *y = *(const tt_gemm_timing *const *)b;
    return (x->median_ns > y->median_ns) - (x->median_ns < y->median_ns);
}

static int tune_prefill_one(const tt_shape *sh, int threads, tt_topo *topo, const tt_profile *prof, const char *regime,
                            tt_gemm_bench *b, tt_prof_gemm *out)
{
    const tt_cpu *cpu = tt_cpu_get();
    const int tokens = TT_MODEL_BATCH_DEFAULT;
    const tt_prof_entry *ge = tt_profile_find(prof, sh->m, sh->k, threads, regime);
    const tt_variant *gemv = ge ? tt_variant_find(ge->winner.variant) : NULL;
    const tt_variant **vs = malloc(sizeof *vs * (size_t)(tt_registry_count + 1));
    tt_gemm_timing *r1 = calloc((size_t)tt_registry_count + 1, sizeof *r1);
    const tt_gemm_timing **sorted = malloc(sizeof *sorted * (size_t)(tt_registry_count + 1));
    int nv = 0, rc = 1;
    if (!vs || !r1 || !sorted) {
        logf_("error: prefill %s: out of memory", sh->name);
        goto done;
    }
    for (int i = 0; i < tt_registry_count; i++) {
        const tt_variant *v = &tt_registry[i];
        if (v->op == TT_OP_GEMM && v->exact && v->fmt == TT_FMT_I2S && tt_variant_eligible(v, cpu, NULL, 0) &&
            !tt_variant_check_shape(v, sh->m, sh->k))
            vs[nv++] = v;
    }
    if (!nv) {
        logf_("prefill %s %dx%d t%d: no eligible GEMM kernel", sh->name, sh->m, sh->k, threads);
        goto done;
    }
    int ngemm = nv; /* the GEMV reference joins the final session only */
    if (tt_gemm_bench_time(b, vs, nv, threads, topo, 0.01, 3, NULL, r1)) {
        logf_("error: prefill %s: %s", sh->name, tt_last_error());
        goto done;
    }
    memset(out, 0, sizeof *out);
    int ns = 0;
    for (int i = 0; i < ngemm; i++) {
        if (r1[i].excluded) {
            logf_("excluded %s on %dx%d: %s", vs[i]->name, sh->m, sh->k, r1[i].why);
            out->excluded++;
        } else if (r1[i].median_ns > 0) sorted[ns++] = &r1[i];
    }
    out->candidates = ngemm;
    out->verified = ngemm - out->excluded;
    if (!ns || g_stop) goto done;
    qsort(sorted, (size_t)ns, sizeof *sorted, cmp_ns);
    const tt_variant *fin[8];
    int nf = 0;
    for (int i = 0; i < ns && nf < 4; i++) fin[nf++] = sorted[i]->v;
    for (int i = 0; gemv && i < ns; i++)
        if (tt_variant_layouts_agree(sorted[i]->v, gemv)) {
            bool have = false;
            for (int j = 0; j < nf; j++) have |= fin[j] == sorted[i]->v;
            if (!have) fin[nf++] = sorted[i]->v;
            break;
        }
    if (gemv) fin[nf++] = gemv;
    tt_gemm_timing r2[8];
    if (tt_gemm_bench_time(b, fin, nf, threads, topo, 0.05, 8, NULL, r2)) {
        logf_("error: prefill %s: %s", sh->name, tt_last_error());
        goto done;
    }
    snprintf(out->shape, sizeof out->shape, "%s", sh->name);
    out->m = sh->m, out->k = sh->k, out->threads = threads, out->tokens = tokens;
    for (int i = 0; i < nf; i++) {
        if (!(r2[i].median_ns > 0)) continue;
        if (fin[i]->op == TT_OP_GEMV) {
            snprintf(out->gemv, sizeof out->gemv, "%s", fin[i]->name);
            out->gemv_ns = r2[i].median_ns;
            continue;
        }
        if (!out->winner_ns || r2[i].median_ns < out->winner_ns) {
            snprintf(out->winner, sizeof out->winner, "%s", fin[i]->name);
            out->winner_ns = r2[i].median_ns;
        }
        if (gemv && tt_variant_layouts_agree(fin[i], gemv) && (!out->shared_ns || r2[i].median_ns < out->shared_ns)) {
            snprintf(out->shared, sizeof out->shared, "%s", fin[i]->name);
            out->shared_ns = r2[i].median_ns;
        }
    }
    rc = out->winner_ns > 0 ? 0 : 1;
    if (!rc) {
        double gmac = (double)sh->m * sh->k * tokens / out->winner_ns;
        char sbuf[300] = "no GEMM reads the GEMV winner's layout";
        if (out->shared[0])
            snprintf(sbuf, sizeof sbuf, "fastest on the GEMV winner's bytes %s at %.2fx the winner's time", out->shared,
                     out->shared_ns / out->winner_ns);
        logf_("prefill %s %dx%d t%d (%d tokens): winner %s %.1f us (%.0f GMAC/s)%s%.2fx token-by-token GEMV; %s; %d "
              "verified, %d excluded", sh->name, sh->m, sh->k, threads, tokens, out->winner, out->winner_ns / 1e3, gmac,
              out->gemv_ns > 0 ? ", " : "", out->gemv_ns > 0 ? out->gemv_ns / out->winner_ns : 0.0, sbuf,
              out->verified, out->excluded);
    }
done:
    free(vs), free(r1), free(sorted);
    return rc;
}

void tt_tune_write_summary(const tt_profile *p, const char *path, FILE *also)
{
    FILE *f = fopen(path, "w");
    FILE *outs[2] = {f, also};
    for (int o = 0; o < 2; o++) {
        FILE *x = outs[o];
        if (!x) continue;
        fprintf(x, "\n## tritune tune — %s (%s)\n\n", p->cpu.brand, p->model);
        fprintf(x, "'raced' is the regime a winner was chosen in (cold: weights stream from DRAM, the decode case; warm: "
                   "cache-resident). Winner, runner-up and baseline are then measured in both regimes in one interleaved "
                   "Google Benchmark run; speedups are ratios of those medians. %% of read BW is in the raced regime. "
                   "Ceiling: a pure streaming read of the same I2_S bytes (no compute) in the same cold session, over the "
                   "baseline: no I2_S GEMV can be faster than that here (TL formats read fewer bytes).\n\n");
        fprintf(x, "| shape | MxK | thr | raced | winner | median us | GB/s | %% of read BW | vs baseline (cold) | ceiling (cold) | vs baseline (warm) | vs runner-up |\n");
        fprintf(x, "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < p->n; i++) {
            const tt_prof_entry *e = &p->e[i];
            double sc = e->cold_baseline_ns > 0 && e->cold_winner_ns > 0 ? e->cold_baseline_ns / e->cold_winner_ns : 0;
            double sw = e->warm_baseline_ns > 0 && e->warm_winner_ns > 0 ? e->warm_baseline_ns / e->warm_winner_ns : 0;
            double sr = e->runner_up.median_ns > 0 ? e->runner_up.median_ns / e->winner.median_ns : 0;
            double cc = e->cold_ceiling_ns > 0 && e->cold_baseline_ns > 0 ? e->cold_baseline_ns / e->cold_ceiling_ns : 0;
            char cbuf[24] = "-";
            if (cc > 0) snprintf(cbuf, sizeof cbuf, "%.2fx", cc);
            fprintf(x, "| %s | %dx%d | %d | %s | `%s` | %.1f | %.1f | %.0f%% | %.2fx | %s | %.2fx | %.3fx |\n", e->shape, e->m,
                    e->k, e->threads, e->regime, e->winner.variant, e->winner.median_ns / 1e3, e->winner.gbps, 100 * e->winner.bw_frac,
                    sc, cbuf, sw, sr);
        }
        int nflag = 0;
        for (int i = 0; i < p->n; i++) nflag += p->e[i].flags[0] != 0;
        if (nflag) {
            fprintf(x, "\n**Measurement conditions: %d entries flagged%s.**\n\n", nflag,
                    p->flags_accepted ? " (accepted with --force-bake)" : "; they are not baked and not used as wisdom");
            for (int i = 0; i < p->n; i++)
                if (p->e[i].flags[0])
                    fprintf(x, "- %s %dx%d t%d (%s): %s%s\n", p->e[i].shape, p->e[i].m, p->e[i].k, p->e[i].threads,
                            p->e[i].regime, p->e[i].flags, p->e[i].remeasured ? " (after one re-measurement)" : "");
        }
        fprintf(x, "\nBaseline: `%s` (bitnet.cpp's published I2_S decode loop). Read bandwidth measured per thread count:",
                find_baseline(TT_FMT_I2S) ? find_baseline(TT_FMT_I2S)->name : "none");
        for (int i = 0; i < p->nbw; i++) fprintf(x, " %d thr %.1f GB/s;", p->bw_threads[i], p->bw_gbps[i]);
        fprintf(x, "\n");
        if (p->nh) {
            fprintf(x, "\n### LM head (dense row dots, weights streaming from memory)\n\n"
                       "f16: the file's f16 head; i8: the 8-bit copy of `--lm-head q8`. Every member gives the portable "
                       "member's bits (checked first); the static default is what the model takes without this entry.\n\n");
            fprintf(x, "| kind | vocab x dim | thr | winner | median ms | GB/s | static default | default / winner |\n");
            fprintf(x, "|---|---|---|---|---:|---:|---|---:|\n");
            for (int i = 0; i < p->nh; i++) {
                const tt_prof_head *h = &p->h[i];
                char r[24] = "-";
                if (h->default_ns > 0) snprintf(r, sizeof r, "%.2fx", h->default_ns / h->winner_ns);
                fprintf(x, "| %s | %dx%d | %d | `%s` | %.2f | %.1f | `%s` | %s |\n", h->kind, h->m, h->k, h->threads,
                        h->winner, h->winner_ns / 1e6, h->gbps, h->deflt[0] ? h->deflt : "-", r);
            }
        }
        int nim = 0;
        for (int i = 0; i < p->n; i++) nim += p->e[i].in_model.variant[0] != 0;
        if (nim) {
            fprintf(x, "\n### In the model (`tritune tune-model`)\n\n"
                       "Per shape and thread count, the race's winner, its runner-up of the same format and the fastest "
                       "kernel of each other format run "
                       "every matrix of the shape inside the model, in interleaved decode passes; the phases are the "
                       "decode phases holding the shape, the ratio the race winner's phase time over the candidate's "
                       "(median over rounds; above 1: faster). The model runs the pick.\n\n");
            fprintf(x, "| shape | MxK | thr | race winner | candidates: phase µs/token (ratio, rounds faster) | "
                       "model runs | why |\n|---|---|---|---|---|---|---|\n");
            for (int i = 0; i < p->n; i++) {
                const tt_prof_entry *e = &p->e[i];
                const tt_prof_in_model *im = &e->in_model;
                if (!im->variant[0]) continue;
                fprintf(x, "| %s | %dx%d | %d | `%s` | ", e->shape, e->m, e->k, e->threads, e->winner.variant);
                for (int c = 0; c < im->ncand; c++)
                    fprintf(x, "%s`%s` %.0f (%.3fx, %d/%d)", c ? "; " : "", im->cand[c].variant, im->cand[c].phase_us,
                            im->cand[c].ratio, im->cand[c].faster, im->rounds);
                fprintf(x, " | `%s` | %s |\n", im->variant, im->why);
            }
        }
        if (!p->ng) continue;
        fprintf(x, "\n### Prefill (batched GEMM, warm weights, %d tokens per weight pass)\n\n"
                   "Winner and the fastest GEMM that reads the GEMV winner's packed bytes (one copy for decode and "
                   "prefill), measured interleaved with the GEMV winner run token by token.\n\n", p->g[0].tokens);
        fprintf(x, "| shape | MxK | thr | winner | median us | GMAC/s | vs token-by-token GEMV | on the GEMV's bytes | its time / winner's |\n");
        fprintf(x, "|---|---|---|---|---:|---:|---:|---|---:|\n");
        for (int i = 0; i < p->ng; i++) {
            const tt_prof_gemm *g = &p->g[i];
            char vs[32] = "-", sh[24] = "-";
            if (g->gemv_ns > 0) snprintf(vs, sizeof vs, "%.2fx", g->gemv_ns / g->winner_ns);
            if (g->shared_ns > 0) snprintf(sh, sizeof sh, "%.2fx", g->shared_ns / g->winner_ns);
            fprintf(x, "| %s | %dx%d | %d | `%s` | %.1f | %.0f | %s | %s%s%s | %s |\n", g->shape, g->m, g->k, g->threads,
                    g->winner, g->winner_ns / 1e3, (double)g->m * g->k * g->tokens / g->winner_ns, vs,
                    g->shared[0] ? "`" : "", g->shared[0] ? g->shared : "none", g->shared[0] ? "`" : "", sh);
        }
    }
    if (f) fclose(f);
}

static double bw_for(const tt_profile *p, int threads)
{
    for (int i = 0; i < p->nbw; i++)
        if (p->bw_threads[i] == threads) return p->bw_gbps[i];
    return 0;
}

static void measure_bw(tt_profile *prof, tt_topo *topo, const tune_opts *o)
{
    for (int i = 0; i < o->nthreads; i++) {
        tt_membw_opts mo = {.threads = o->threads[i], .runs = 9, .bytes = probe_bytes(o)};
        tt_membw_result r;
        if (tt_membw_measure(topo, &mo, &r) != TT_OK) continue;
        int j = 0;
        while (j < prof->nbw && prof->bw_threads[j] != o->threads[i]) j++;
        if (j == prof->nbw) {
            if (prof->nbw == 16) continue;
            prof->nbw++;
            prof->bw_threads[j] = o->threads[i];
            prof->bw_gbps[j] = 0;
        }
        logf_("read bandwidth, %d thread(s): %.1f GB/s now (median of %d passes over %zu MiB, %s); kept %.1f GB/s",
              o->threads[i], r.gbps_median, r.runs, r.bytes >> 20, r.method,
              r.gbps_median > prof->bw_gbps[j] ? r.gbps_median : prof->bw_gbps[j]);
        if (r.gbps_median > prof->bw_gbps[j]) prof->bw_gbps[j] = r.gbps_median;
    }
}

static void usage(FILE *f)
{
    char names[128];
    fprintf(f, "usage: tritune tune [--model PRESET|FILE.gguf] [--budget SECONDS] [--threads 1,2,...] [--out DIR]\n"
           "                    [--force] [--regime cold|warm] [--shapes MxK,...] [--exhaustive] [--cold-mib N]\n"
           "                    [--probe-mib N] [--force-bake]\n"
           "  For each GEMV shape of the model (preset: %s, default 2b4t, as `tritune model synth`\n"
           "  writes it, kernels/tt_preset.c; or a .gguf file's config) and each thread count\n"
           "  (default: the topology's levels: 1, ..., all cores, all PUs), verifies every eligible exact variant\n"
           "  against the oracle, races them in interleaved Google Benchmark rounds (a candidate is dropped only\n"
           "  when a Mann-Whitney U test says it is slower, p < 0.001, by more than 2%%), then measures winner,\n"
           "  runner-up and baseline in both regimes. Writes DIR/<cpu-id>/ (default results/): profile.json,\n"
           "  machine.json, gbench/*.json (Google Benchmark JSON), tune.log, summary.md, baked.c.\n"
           "  An existing profile for this CPU and registry is resumed (finished entries are kept); --force\n"
           "  starts over. A profile from another CPU or registry is refused with the field that differs.\n"
           "  Each entry is watched: other processes' CPU time and VM steal during its race (/proc/stat), the read\n"
           "  bandwidth probed before and after, and physical sanity (a cold winner faster than a pure read of its\n"
           "  bytes, above the measured bandwidth, slower at N threads than at 1). A flagged entry is measured again;\n"
           "  flags that stay are recorded, and flagged entries are not baked or used unless --force-bake. A rerun\n"
           "  measures the flagged entries again (without --force-bake) and keeps the others.\n"
           "  Ctrl-C stops after the current step and keeps what was measured.\n"
           "  --probe-mib N: the bandwidth probe's buffer (default 8x the L3, 256 MiB to 1 GiB); a buffer that fits\n"
           "  in a cache measures the cache, so keep it well above the L3 (the tests use 256 to stay quick).\n",
            tt_preset_names(names, sizeof names, ", ", true));
}

int tt_cmd_tune(int argc, char **argv)
{
    tune_opts o = {.budget_s = 480, .out_root = "results", .model = "2b4t", .regime = TT_REGIME_COLD};
    const char *regime = "cold";
    tt_opt_ints th = {{0}, 0};
    bool over = false;
    const tt_opt opts[] = {
        TT_O_NUM("--budget", NULL, &o.budget_s, 1, 7 * 86400),
        TT_O_INTS("--threads", "-t", &th, 1, 4096),
        TT_O_STR("--out", NULL, &o.out_root),
        TT_O_STR("--model", NULL, &o.model),
        TT_O_STR("--shapes", NULL, &o.shapes),
        TT_O_NUM("--cold-mib", NULL, &o.cold_mib, 1, 1 << 20),
        TT_O_NUM("--probe-mib", NULL, &o.probe_mib, 16, 1 << 20),
        TT_O_CHOICE("--regime", NULL, &regime, "cold|warm"),
        TT_O_FLAG("--force", NULL, &o.force),
        TT_O_FLAG("--force-bake", NULL, &o.force_bake),
        TT_O_FLAG("--exhaustive", NULL, &o.exhaustive),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "tune", .usage = usage, .opts = opts, .nopts = TT_NOPTS(opts)}, argc, argv);
    if (prc >= 0) return prc;
    o.regime = strcmp(regime, "warm") ? TT_REGIME_COLD : TT_REGIME_WARM;
    if (th.n > 16) {
        fprintf(stderr, "tritune tune: at most 16 thread counts\n");
        return 2;
    }
    o.nthreads = th.n;
    memcpy(o.threads, th.v, sizeof(int) * (size_t)th.n);
    if ((prc = tt_opt_check_threads("tune", o.threads, o.nthreads, over)) >= 0) return prc;
    g_t0 = now_s();
    g_tty = isatty(2);
    tt_shape shapes[32];
    int ns = 0, head_m = 0, head_k = 0; /* the LM head's shape (vocab x dim); 0: no head race (--shapes) */
    char model_name[64];
    if (o.shapes) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", o.shapes);
        for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t && ns < 32; t = strtok_r(NULL, ",", &save)) {
            if (!tt_parse_shape(t, &shapes[ns].m, &shapes[ns].k)) {
                fprintf(stderr, "tritune tune: --shapes wants MxK,MxK; got '%s'\n", t);
                return 2;
            }
            /* name a shape after the 2B4T GEMV it matches, if any */
            tt_shape known[32];
            int nk = tt_workload_shapes(tt_preset_find("2b4t"), known, 32);
            snprintf(shapes[ns].name, sizeof shapes[ns].name, "custom%d", ns);
            for (int q = 0; q < nk; q++)
                if (known[q].m == shapes[ns].m && known[q].k == shapes[ns].k)
                    snprintf(shapes[ns].name, sizeof shapes[ns].name, "%s", known[q].name);
            shapes[ns++].per_token = 1;
        }
        snprintf(model_name, sizeof model_name, "custom shapes");
    } else if (strlen(o.model) > 5 && !strcmp(o.model + strlen(o.model) - 5, ".gguf")) {
        /* the shapes of a model file: its config decides the GEMVs (weights are not needed to tune) */
        tt_gguf *g;
        tt_model_config c;
        if (tt_gguf_open(o.model, &g) || tt_model_config_read(g, &c)) {
            fprintf(stderr, "tritune tune: %s: %s\n", o.model, tt_last_error());
            return 1;
        }
        tt_gguf_close(g);
        head_m = c.vocab_size, head_k = c.dim;
        tt_preset d = {.name = "file", .dim = c.dim, .ffn = c.hidden_dim, .layers = c.n_layers, .heads = c.n_heads,
                       .kv_heads = c.n_kv_heads, .head_dim = c.head_dim};
        ns = tt_workload_shapes(&d, shapes, 32);
        const char *base = strrchr(o.model, '/');
        snprintf(model_name, sizeof model_name, "file %s", base ? base + 1 : o.model);
    } else {
        const tt_preset *d = tt_preset_find(o.model);
        if (!d || !d->tune) {
            char names[128];
            fprintf(stderr, "tritune tune: unknown model preset '%s' (%s, or a .gguf file)\n", o.model,
                    tt_preset_names(names, sizeof names, ", ", true));
            return 2;
        }
        ns = tt_workload_shapes(d, shapes, 32);
        snprintf(model_name, sizeof model_name, "preset %s", o.model);
        head_m = d->vocab, head_k = d->dim;
    }
    tt_topo topo;
    if (tt_topo_load(&topo)) {
        fprintf(stderr, "tritune tune: hwloc topology: %s\n", tt_last_error());
        return 1;
    }
    if (!o.nthreads) o.nthreads = tt_topo_thread_counts(&topo, o.threads, 16);
    tt_cpu_id id;
    tt_cpu_id_here(&id, &topo);
    char slug[128], dir[4096], path[4200], gbdir[4200];
    tt_cpu_id_slug(&id, slug, sizeof slug);
    snprintf(dir, sizeof dir, "%s/%s", o.out_root, slug);
    snprintf(gbdir, sizeof gbdir, "%s/gbench", dir);
    if (mkdir_p(gbdir)) {
        fprintf(stderr, "tritune tune: cannot create %s: %s\n", gbdir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/tune.log", dir);
    g_log = fopen(path, "a");
    tt_profile prof;
    char ppath[4200];
    snprintf(ppath, sizeof ppath, "%s/profile.json", dir);
    bool resumed = false;
    if (!o.force && access(ppath, F_OK) == 0) {
        if (tt_profile_read(ppath, &prof)) {
            fprintf(stderr, "tritune tune: existing profile %s is unusable: %s\n  (move it away or use --force)\n", ppath,
                    tt_last_error());
            return 1;
        }
        char note[400];
        if (tt_profile_check(&prof, &id, tt_registry_hash(), note, sizeof note)) {
            fprintf(stderr, "tritune tune: refusing to resume %s: %s\n  (use --force to start a new profile)\n", ppath,
                    tt_last_error());
            return 1;
        }
        if (note[0]) fprintf(stderr, "tritune tune: %s\n", note);
        resumed = true;
    } else {
        tt_profile_init(&prof);
        prof.cpu = id;
        prof.registry_hash = tt_registry_hash();
        prof.registry_count = tt_registry_count;
        snprintf(prof.compiler, sizeof prof.compiler, "%s", tt_build_compiler());
        snprintf(prof.flags, sizeof prof.flags, "%s", tt_build_flags());
        snprintf(prof.version, sizeof prof.version, "%s", TT_VERSION);
        time_t t = time(NULL);
        strftime(prof.created, sizeof prof.created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    }
    snprintf(prof.model, sizeof prof.model, "%s", model_name);
    if (o.force_bake) prof.flags_accepted = true;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (g_log) { /* one separator per run: tune.log is appended to by every run into this folder */
        char when[32], cmd[1024];
        time_t now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        size_t cn = 0;
        cmd[0] = 0;
        for (int a = 0; a < argc && cn < sizeof cmd; a++) cn += (size_t)snprintf(cmd + cn, sizeof cmd - cn, "%s%s", a ? " " : "tritune ", argv[a]);
        fprintf(g_log, "==== tritune tune run %s | regime %s | budget %.0fs | command: %s\n", when, tt_regime_name(o.regime), o.budget_s, cmd);
    }
    logf_("tritune tune on %s (%s), %d registry variants, model %s, regime %s, budget %.0fs, results in %s%s", id.brand, slug,
          tt_registry_count, model_name, tt_regime_name(o.regime), o.budget_s, dir, resumed ? " (resuming)" : "");
    char why[256];
    bool papi_ok = tt_papi_init(why, sizeof why);
    snprintf(prof.papi, sizeof prof.papi, "%s", papi_ok ? "available" : why);
    if (!papi_ok) logf_("PAPI: hardware counters %s — timing continues without counters", why);
    /* bandwidth per thread count (roofline): measured now and again at the end; the better median is kept, since a
     * shared host can depress one measurement (never inflate it) */
    measure_bw(&prof, &topo, &o);
    double thr_mb = 0, dram = 0, cache = 0;
    if (o.cold_mib > 0) {
        prof.cold_bytes = o.cold_mib * (1 << 20);
        logf_("cold regime: rotating %.0f MiB of weight copies per layout (set by --cold-mib, not calibrated)", o.cold_mib);
    } else if (!resumed || !(prof.cold_bytes > 0)) {
        prof.cold_bytes = (double)tt_cold_bytes_measure(&thr_mb, &dram, &cache);
        logf_("cold regime: reads fall to DRAM speed (%.1f GB/s; %.1f GB/s cache-resident) at %.0f MiB; rotating "
              "%.0f MiB of weight copies per layout (hwloc reports L3 %zu MiB)",
              dram, cache, thr_mb, prof.cold_bytes / (1 << 20), topo.l3_bytes >> 20);
    }
    /* machine.json */
    json_t *mj = tt_machine_json(&topo);
    json_t *bwj = json_array();
    for (int i = 0; i < prof.nbw; i++)
        json_array_append_new(bwj, json_pack("{s:i, s:f}", "threads", prof.bw_threads[i], "read_gbps", prof.bw_gbps[i]));
    json_object_set_new(mj, "membw", bwj);
    snprintf(path, sizeof path, "%s/machine.json", dir);
    json_t *old = resumed && thr_mb == 0 ? json_load_file(path, 0, NULL) : NULL;
    json_t *oldcold = old ? json_object_get(old, "cold") : NULL;
    if (json_is_object(oldcold) && json_number_value(json_object_get(oldcold, "threshold_mib")) > 0)
        json_object_set(mj, "cold", oldcold); /* a resumed run keeps the calibration it tuned with */
    else
        json_object_set_new(mj, "cold", json_pack("{s:f, s:f, s:f, s:f}", "threshold_mib", thr_mb, "dram_gbps", dram,
                                                  "cache_gbps", cache, "rotating_bytes", prof.cold_bytes));
    json_decref(old);
    json_object_set_new(mj, "date", json_string(prof.created));
    const char *commit = getenv("TRITUNE_COMMIT");
    json_object_set_new(mj, "commit", json_string(commit ? commit : "unknown"));
    char gov[64] = "unknown";
    FILE *gf = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
    if (gf) {
        if (fgets(gov, sizeof gov, gf)) gov[strcspn(gov, "\n")] = 0;
        fclose(gf);
    } else snprintf(gov, sizeof gov, "not exposed (VM or no cpufreq)");
    json_object_set_new(mj, "governor", json_string(gov));
    json_t *thj = json_array();
    for (int i = 0; i < o.nthreads; i++) json_array_append_new(thj, json_integer(o.threads[i]));
    json_object_set_new(mj, "tune", json_pack("{s:f, s:s, s:o, s:s}", "budget_s", o.budget_s, "model", model_name,
                                              "threads", thj, "regime", tt_regime_name(o.regime)));
    snprintf(path, sizeof path, "%s/machine.json", dir);
    json_dump_file(mj, path, JSON_INDENT(2));
    json_decref(mj);
    snprintf(prof.energy, sizeof prof.energy, "see machine.json");

    int combos = ns * o.nthreads, done = 0, todo = 0, reflag = 0, rc = 0;
    for (int s = 0; s < ns; s++)
        for (int t = 0; t < o.nthreads; t++) {
            const tt_prof_entry *pe = tt_profile_find(&prof, shapes[s].m, shapes[s].k, o.threads[t], tt_regime_name(o.regime));
            todo += !entry_kept(pe, &o);
            reflag += pe && !entry_kept(pe, &o);
        }
    if (resumed)
        logf_("resuming: %d of %d (shape, threads) entries already measured, %d to go", combos - todo, combos, todo);
    if (reflag)
        logf_("%d flagged entr%s measured again (measured under interference or implausible last time; --force-bake "
              "keeps them as they are)", reflag, reflag == 1 ? "y is" : "ies are");
    if (todo && o.budget_s < 5.0 * todo)
        logf_("note: a budget of %.0f s is below the 5 s each of the %d entries to measure needs at least (race, final "
              "session, bandwidth probes); the run will take longer than the budget", o.budget_s, todo);
    for (int s = 0; s < ns && !g_stop; s++) {
        int need = 0;
        for (int t = 0; t < o.nthreads; t++)
            need += !entry_kept(tt_profile_find(&prof, shapes[s].m, shapes[s].k, o.threads[t], tt_regime_name(o.regime)), &o);
        if (!need) {
            done += o.nthreads;
            continue;
        }
        shape_ctx sc;
        int r0 = shape_setup(&sc, &shapes[s], (size_t)prof.cold_bytes, done, combos, o.budget_s);
        if (r0) {
            shape_free(&sc);
            if (r0 < 0) break;
            rc = 1;
            continue;
        }
        for (int t = 0; t < o.nthreads && !g_stop; t++) {
            if (entry_kept(tt_profile_find(&prof, shapes[s].m, shapes[s].k, o.threads[t], tt_regime_name(o.regime)), &o)) {
                done++;
                continue;
            }
            double left = o.budget_s - (now_s() - g_t0);
            int remaining = todo--;
            double combo_budget = fmax(5.0, (left - 0.02 * o.budget_s) / remaining);
            tt_prof_entry e;
            char gbj[4400];
            snprintf(gbj, sizeof gbj, "%s/%s_%dx%d_t%d_%s.json", gbdir, shapes[s].name, shapes[s].m, shapes[s].k, o.threads[t], tt_regime_name(o.regime));
            const tt_prof_entry *one = o.threads[t] > 1 ? tt_profile_find(&prof, shapes[s].m, shapes[s].k, 1,
                                                                           tt_regime_name(o.regime)) : NULL;
            int r = tune_watched(&shapes[s], o.threads[t], &topo, &o, bw_for(&prof, o.threads[t]), &sc, combo_budget,
                                 gbj, &e, done, combos, one);
            if (r < 0) break;
            if (r > 0) {
                rc = 1;
                continue;
            }
            /* a flagged entry measured again takes its old place; a prefill race of that (shape, threads) run
             * against the old entry's winner is dropped and raced again below */
            tt_prof_entry *pe = (tt_prof_entry *)tt_profile_find(&prof, shapes[s].m, shapes[s].k, o.threads[t],
                                                                 tt_regime_name(o.regime));
            if (pe) drop_gemm(&prof, shapes[s].m, shapes[s].k, o.threads[t], pe->winner.variant);
            else pe = tt_profile_add(&prof);
            if (pe) *pe = e;
            if (tt_profile_write(&prof, ppath)) logf_("error: %s", tt_last_error());
            done++;
            double sp = e.cold_baseline_ns > 0 ? e.cold_baseline_ns / e.cold_winner_ns : 0;
            double cs = e.cold_ceiling_ns > 0 && e.cold_baseline_ns > 0 ? e.cold_baseline_ns / e.cold_ceiling_ns : 0;
            char cbuf[24] = "-";
            if (cs > 0) snprintf(cbuf, sizeof cbuf, "%.2fx", cs);
            logf_("%s %dx%d t%d: winner %s %.1f us (%.1f GB/s, %.0f%% of read BW), %.2fx the baseline (cold; a pure "
                  "read of the same I2_S bytes: %s), %.2fx (warm); %d verified, %d excluded, %d rounds",
                  e.shape, e.m, e.k, e.threads, e.winner.variant, e.winner.median_ns / 1e3, e.winner.gbps,
                  100 * e.winner.bw_frac, sp, cbuf, e.warm_baseline_ns > 0 ? e.warm_baseline_ns / e.warm_winner_ns : 0.0,
                  e.verified, e.excluded, e.rounds);
        }
        shape_free(&sc);
    }
    /* prefill races: GEMM kernels per (shape, threads), after the GEMV entries they depend on; one case (matrix,
     * tokens, oracle dots) per shape serves every thread count */
    for (int s = 0; s < ns && !g_stop; s++) {
        tt_gemm_bench *gb = NULL;
        for (int t = 0; t < o.nthreads && !g_stop; t++) {
            if (tt_profile_find_gemm(&prof, shapes[s].m, shapes[s].k, o.threads[t])) continue;
            char what[200];
            snprintf(what, sizeof what, "prefill %s %dx%d t%d: verifying and racing GEMM kernels", shapes[s].name,
                     shapes[s].m, shapes[s].k, o.threads[t]);
            progress(combos, combos, o.budget_s, what);
            if (!gb && !(gb = tt_gemm_bench_new(shapes[s].m, shapes[s].k, TT_MODEL_BATCH_DEFAULT,
                                                (uint64_t)shapes[s].m * 31 + shapes[s].k))) {
                logf_("error: prefill %s: %s", shapes[s].name, tt_last_error());
                rc = 1;
                break;
            }
            tt_prof_gemm g;
            if (tune_prefill_one(&shapes[s], o.threads[t], &topo, &prof, tt_regime_name(o.regime), gb, &g)) continue;
            tt_prof_gemm *pg = tt_profile_add_gemm(&prof);
            if (pg) *pg = g;
            if (tt_profile_write(&prof, ppath)) logf_("error: %s", tt_last_error());
        }
        tt_gemm_bench_free(gb);
    }
    /* LM-head races: the head family on the model's head in every form a head comes in: f16 (the official files),
     * i8 (--lm-head q8), and the quantized file heads read as stored (q6_K: bitnet.cpp's --quant-embd; q8_0, q4_0),
     * per thread count; the model reads the winners from the wisdom (tt_pick_head) */
    for (int kd = 0; head_m > 0 && head_k % 16 == 0 && kd < TT_DENSE_KINDS && !g_stop; kd++) {
        const char *kname = tt_dense_kind_name((tt_dense_kind)kd);
        if (!tt_dense_row_bytes((tt_dense_kind)kd, head_k)) continue; /* the head's width is not whole blocks */
        for (int t = 0; t < o.nthreads && !g_stop; t++) {
            /* resumed: an entry stays unless its winner is not a member of this build's head family (renamed or
             * removed) or the family raced here has another size (members added): then the kind is raced again
             * and the new entry takes its place */
            tt_prof_head *old = (tt_prof_head *)tt_profile_find_head(&prof, kname, head_m, head_k, o.threads[t]);
            if (old && tt_dense_variant_find(old->winner) && old->candidates == tt_head_candidates((tt_dense_kind)kd))
                continue;
            char what[200], gbj[4400], hlog[2000];
            snprintf(what, sizeof what, "LM head %s %dx%d t%d: verifying and racing head kernels", kname, head_m,
                     head_k, o.threads[t]);
            progress(combos, combos, o.budget_s, what);
            snprintf(gbj, sizeof gbj, "%s/lm_head_%s_%dx%d_t%d_cold.json", gbdir, kname, head_m, head_k, o.threads[t]);
            /* watched as a GEMV entry is (race_conditions): raced again once after a pause when another process
             * ran or the bandwidth moved; a head entry has no flags, so the second race stands, with a note */
            tt_prof_head h;
            tt_status hs = TT_OK;
            for (int attempt = 0; attempt < 2 && !g_stop; attempt++) {
                double bw0 = probe_bw(&topo, o.threads[t], &o);
                tt_load_snap la, lb;
                tt_load_snap_now(&la);
                hs = tt_tune_head((tt_dense_kind)kd, head_m, head_k, o.threads[t], &topo, (size_t)prof.cold_bytes,
                                  gbj, &h, hlog, sizeof hlog);
                tt_load_snap_now(&lb);
                if (hs) break;
                tt_load l;
                tt_load_between(&la, &lb, &l);
                char cond[300] = "";
                race_conditions(bw0, probe_bw(&topo, o.threads[t], &o), &l, cond, sizeof cond);
                if (!cond[0]) break;
                logf_("LM head %s %dx%d t%d: measurement conditions: %s — %s", kname, head_m, head_k, o.threads[t],
                      cond, attempt ? "kept as raced the second time" : "racing again after a pause");
                if (!attempt) sleep(2);
            }
            if (hlog[0]) logf_("LM head %s: %s", kname, hlog);
            if (hs) {
                logf_("error: LM head %s %dx%d t%d: %s", kname, head_m, head_k, o.threads[t], tt_last_error());
                rc = 1;
                continue;
            }
            tt_prof_head *ph = old ? old : tt_profile_add_head(&prof);
            if (ph) *ph = h;
            if (tt_profile_write(&prof, ppath)) logf_("error: %s", tt_last_error());
            logf_("LM head %s %dx%d t%d: winner %s %.2f ms (%.1f GB/s), static default %s at %.2fx its time; %d "
                  "verified, %d excluded", kname, head_m, head_k, o.threads[t], h.winner, h.winner_ns / 1e6, h.gbps,
                  h.deflt, h.default_ns > 0 ? h.default_ns / h.winner_ns : 0.0, h.verified, h.excluded);
        }
    }
    if (g_tty) fprintf(stderr, "\r\033[K");
    if (g_stop) {
        logf_("interrupted: %d of %d entries are in %s; run the same command again to resume", prof.n, combos, ppath);
        tt_profile_write(&prof, ppath);
        tt_profile_free(&prof);
        if (g_log) fclose(g_log);
        tt_topo_free(&topo);
        return 130;
    }
    measure_bw(&prof, &topo, &o);
    for (int i = 0; i < prof.n; i++) { /* fractions against the final (best) bandwidth */
        tt_prof_entry *e = &prof.e[i];
        double bw = bw_for(&prof, e->threads);
        tt_prof_stat *st[3] = {&e->winner, &e->runner_up, &e->baseline};
        for (int j = 0; j < 3; j++)
            if (st[j]->variant[0] && bw > 0) st[j]->bw_frac = st[j]->gbps / bw;
    }
    tt_profile_write(&prof, ppath);
    snprintf(path, sizeof path, "%s/machine.json", dir);
    json_t *mj2 = json_load_file(path, 0, NULL);
    if (mj2) { /* the roofline the fractions now refer to */
        json_t *bw2 = json_array();
        for (int i = 0; i < prof.nbw; i++)
            json_array_append_new(bw2, json_pack("{s:i, s:f}", "threads", prof.bw_threads[i], "read_gbps", prof.bw_gbps[i]));
        json_object_set_new(mj2, "membw", bw2);
        json_dump_file(mj2, path, JSON_INDENT(2));
        json_decref(mj2);
    }
    snprintf(path, sizeof path, "%s/summary.md", dir);
    tt_tune_write_summary(&prof, path, stdout);
    snprintf(path, sizeof path, "%s/baked.c", dir);
    /* Only flags on entries the table would take block it (a flagged warm race beside a clean cold one changes no
     * baked kernel) */
    int nflag = tt_profile_flagged_winners(&prof);
    if (nflag && !o.force_bake) { /* a stale table from an earlier run must not be built in either */
        unlink(path);
        logf_("NOT BAKED: %d of %d entries were measured under interference or are physically implausible (see "
              "'measurement conditions' above and the flags in %s). Run the same command again when the machine is "
              "quiet (make tune): the flagged entries are measured again and the others kept. Or accept them with "
              "tritune tune --force-bake (make tune FORCE_BAKE=1). Until then the model does not use those entries.",
              nflag, prof.n, ppath);
    } else {
        if (nflag) logf_("--force-bake: %d flagged entries accepted", nflag);
        if (tt_bake_write(&prof, ppath, path)) logf_("error: bake: %s", tt_last_error());
        else logf_("baked winner table: %s", path);
    }
    logf_("done in %.0fs: %s", now_s() - g_t0, ppath);
    tt_profile_free(&prof);
    if (g_log) fclose(g_log);
    tt_topo_free(&topo);
    return rc;
}
