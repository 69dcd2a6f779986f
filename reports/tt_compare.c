/* tritune compare: two Google Benchmark JSON files (or two end-to-end JSON files), benchmark by benchmark, in the
 * manner of Google Benchmark's tools/compare.py: relative change of the median time, a two-sided Mann-Whitney U test
 * over the repetitions, and the geometric mean of the ratios. Exit status 1 flags a regression CI should fail on. */
#include "tt_opt.h"
#include "tt_rdata.h"
#include "tt_report_cli.h"
#include "tt_rstats.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_REPS 4 /* below this the U test cannot reach usual alphas: say so, give no verdict */

/* Both kinds of file become a list of named sample sets of "time" (lower is better). For e2e rows that is
 * milliseconds per token (1000 / tokens/s), so a throughput drop reads as a slowdown. */
typedef struct cmp_set {
    const char *unit; /* "ns" (GB) or "ms/token" (e2e) */
    tt_rgb_file f;
} cmp_set;

static bool is_e2e(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    bool e = j && json_is_array(json_object_get(j, "rows")) && !json_object_get(j, "benchmarks");
    json_decref(j);
    return e;
}

static tt_status load_set(const char *path, cmp_set *s)
{
    memset(s, 0, sizeof *s);
    if (!is_e2e(path)) {
        s->unit = "ns";
        return tt_rgb_load(path, &s->f);
    }
    s->unit = "ms/token";
    tt_re2e e;
    tt_status st = tt_re2e_load(path, &e);
    if (st) return st;
    if (!e.present) {
        st = tt_fail(TT_ERR_FORMAT, "%s: %s", path, e.problems);
        tt_re2e_free(&e);
        return st;
    }
    s->f.b = calloc((size_t)e.n, sizeof *s->f.b);
    if (!s->f.b) {
        tt_re2e_free(&e);
        return tt_fail(TT_ERR_NOMEM, "compare");
    }
    for (int i = 0; i < e.n; i++) {
        const tt_re2e_row *r = &e.rows[i];
        tt_rgb_bench *b = &s->f.b[s->f.n++];
        snprintf(b->name, sizeof b->name, "%s/t%d", r->test, r->threads);
        int n = r->nsamples ? r->nsamples : 1;
        b->t_ns = calloc((size_t)n, sizeof *b->t_ns);
        b->bps = calloc((size_t)n, sizeof *b->bps);
        if (!b->t_ns || !b->bps) {
            tt_re2e_free(&e);
            return tt_fail(TT_ERR_NOMEM, "compare");
        }
        for (int q = 0; q < n; q++) {
            double ts = r->nsamples ? r->samples[q] : r->ts_mean;
            if (ts > 0) b->t_ns[b->n++] = 1000.0 / ts;
        }
        b->cap = n;
    }
    tt_re2e_free(&e);
    return TT_OK;
}

/* --relative-to: every shaped benchmark of a Google Benchmark file becomes its per-repetition time divided by the
 * median time of the reference benchmark (variant matching pattern) of the same shape, threads and regime in the
 * same file, i.e. of the same interleaved session. The host's drift between two processes moves both alike, so
 * ratios from two runs compare where absolute times do not. Reference rows themselves, and rows without a
 * reference in their file, are dropped (and counted in *dropped). */
static tt_status relate(cmp_set *s, const char *pattern, int *dropped)
{
    tt_rgb_file *f = &s->f;
    double *ref_ns = calloc((size_t)f->n + 1, sizeof *ref_ns);
    if (!ref_ns) return tt_fail(TT_ERR_NOMEM, "compare");
    for (int i = 0; i < f->n; i++) {
        const tt_rgb_bench *b = &f->b[i];
        ref_ns[i] = NAN;
        if (!b->shaped || b->error || !fnmatch(pattern, b->variant, 0)) continue; /* no shape, or a reference */
        for (int j = 0; j < f->n; j++) {
            const tt_rgb_bench *r = &f->b[j];
            if (r->shaped && !r->error && !fnmatch(pattern, r->variant, 0) && r->m == b->m && r->k == b->k &&
                r->threads == b->threads && !strcmp(r->regime, b->regime)) {
                ref_ns[i] = tt_rgb_median_ns(r);
                break;
            }
        }
    }
    int kept = 0;
    for (int i = 0; i < f->n; i++) {
        tt_rgb_bench *b = &f->b[i];
        if (!(ref_ns[i] > 0)) {
            free(b->t_ns), free(b->bps);
            (*dropped)++;
            continue;
        }
        for (int q = 0; q < b->n; q++) b->t_ns[q] /= ref_ns[i];
        b->agg_median_ns /= ref_ns[i];
        f->b[kept++] = *b;
    }
    f->n = kept;
    free(ref_ns);
    s->unit = "x ref";
    return TT_OK;
}

static const char *fmt_time(double v, const char *unit, char *buf, size_t len)
{
    if (!isfinite(v)) snprintf(buf, len, "–");
    else if (strcmp(unit, "ns")) snprintf(buf, len, "%.4g %s", v, unit);
    else if (v >= 1e9) snprintf(buf, len, "%.3g s", v / 1e9);
    else if (v >= 1e6) snprintf(buf, len, "%.4g ms", v / 1e6);
    else if (v >= 1e3) snprintf(buf, len, "%.4g µs", v / 1e3);
    else snprintf(buf, len, "%.4g ns", v);
    return buf;
}

static void usage(FILE *o)
{
    fprintf(o, "usage: tritune compare BASE.json NEW.json [--threshold 0.05] [--alpha 0.01] [--markdown FILE]\n"
               "                       [--relative-to PATTERN]\n"
               "  Compares two Google Benchmark JSON files (tritune bench --json, tune's gbench/*.json) benchmark by\n"
               "  benchmark (matched by run name), or two end-to-end JSON files (rows matched by test and threads,\n"
               "  compared as time per token). Per benchmark: the relative change of the median real time over the\n"
               "  repetitions (run_type \"iteration\" rows; aggregates are not samples), and a two-sided Mann-Whitney\n"
               "  U test between the two sets of repetitions (exact for small tie-free samples, else the normal\n"
               "  approximation with tie correction). A change is a REGRESSION when p < alpha AND the median is\n"
               "  slower by more than the threshold; with fewer than %d repetitions on either side there is no\n"
               "  verdict (\"too few repetitions\"). Note: with alpha 0.01, each side needs at least 5 repetitions\n"
               "  for the test to be able to reject. Prints a Markdown table and the geometric mean of the\n"
               "  new/base median ratios; --markdown also writes it to FILE.\n"
               "  --relative-to PATTERN (Google Benchmark files): first divide each benchmark's repetitions by the\n"
               "  median of the benchmark whose variant matches PATTERN (a glob, e.g. 'tt_i2s_gemv_*_base') at the\n"
               "  same shape, threads and regime in the same file, then compare those ratios: drift of the host\n"
               "  between the two runs cancels. Reference rows and rows without a reference are left out.\n"
               "  Exit status: 0 no significant regression, 1 at least one regression (for CI), 2 usage or\n"
               "  unreadable input, 3 nothing compared (no benchmark in both files).\n",
            MIN_REPS);
}

static int compare(FILE *o, const char *base_path, const char *new_path, const cmp_set *a, const cmp_set *b,
                   double threshold, double alpha, const char *relative_to, const int dropped[2])
{
    fprintf(o, "# tritune compare\n\nbase: `%s` (%d benchmarks) · new: `%s` (%d benchmarks)\n\n", base_path, a->f.n,
            new_path, b->f.n);
    if (relative_to)
        fprintf(o, "Times relative to `%s` of the same shape, threads and regime in the same file (x ref = time / "
                   "the reference's median there). Left out, as references or rows without one: %d in base, %d in "
                   "new.\n\n",
                relative_to, dropped[0], dropped[1]);
    fprintf(o, "Median of the per-repetition %s; change = new/base − 1 (positive = slower); two-sided "
               "Mann–Whitney U over the repetitions (≈: normal approximation, else exact). REGRESSION = p < %g and "
               "slower by more than %.1f %%.\n\n",
            !strcmp(a->unit, "ms/token") ? "time per token" : !strcmp(a->unit, "ns") ? "real time" : "time ratio", alpha, 100 * threshold);
    fprintf(o, "| benchmark | base median | new median | change | p-value | reps base/new | verdict |\n"
               "|---|---|---|---|---|---|---|\n");
    double *ratios = calloc((size_t)a->f.n + 1, sizeof *ratios);
    int nr = 0, regressions = 0, improvements = 0, few = 0;
    for (int i = 0; i < a->f.n; i++) {
        const tt_rgb_bench *x = &a->f.b[i], *y = NULL;
        for (int j = 0; j < b->f.n && !y; j++)
            if (!strcmp(b->f.b[j].name, x->name)) y = &b->f.b[j];
        char s1[48], s2[48];
        if (!y) {
            fprintf(o, "| `%s` | %s | – | | | %d/– | only in base |\n", x->name,
                    fmt_time(tt_rgb_median_ns(x), a->unit, s1, sizeof s1), x->n);
            continue;
        }
        if (x->error || y->error) {
            fprintf(o, "| `%s` | | | | | | error in %s: %s |\n", x->name, x->error ? "base" : "new",
                    x->error ? x->error_msg : y->error_msg);
            continue;
        }
        double ma = tt_rgb_median_ns(x), mb = tt_rgb_median_ns(y);
        double change = mb / ma - 1;
        if (isfinite(change) && ratios) ratios[nr++] = mb / ma;
        fprintf(o, "| `%s` | %s | %s | %+.1f %% | ", x->name, fmt_time(ma, a->unit, s1, sizeof s1),
                fmt_time(mb, b->unit, s2, sizeof s2), 100 * change);
        if (x->n < MIN_REPS || y->n < MIN_REPS) {
            few++;
            fprintf(o, "– | %d/%d | too few repetitions (need ≥ %d per side): no verdict |\n", x->n, y->n, MIN_REPS);
            continue;
        }
        tt_utest u = tt_rstat_utest(x->t_ns, x->n, y->t_ns, y->n);
        const char *verdict;
        if (u.p < alpha && change > threshold) verdict = "**REGRESSION**", regressions++;
        else if (u.p < alpha && change < -threshold) verdict = "improvement", improvements++;
        else if (u.p < alpha) verdict = "significant, within threshold";
        else verdict = "no significant change";
        fprintf(o, "%.4f%s | %d/%d | %s |\n", u.p, u.exact ? "" : " ≈", x->n, y->n, verdict);
    }
    for (int j = 0; j < b->f.n; j++) {
        bool found = false;
        for (int i = 0; i < a->f.n && !found; i++) found = !strcmp(a->f.b[i].name, b->f.b[j].name);
        char s1[48];
        if (!found)
            fprintf(o, "| `%s` | – | %s | | | –/%d | only in new |\n", b->f.b[j].name,
                    fmt_time(tt_rgb_median_ns(&b->f.b[j]), b->unit, s1, sizeof s1), b->f.b[j].n);
    }
    double g = ratios ? tt_rstat_geomean(ratios, nr) : NAN;
    free(ratios);
    fprintf(o, "\n");
    if (isfinite(g)) fprintf(o, "**Geometric mean of new/base median ratios over %d benchmarks: %.4f (%+.1f %%).**\n\n",
                             nr, g, 100 * (g - 1));
    else fprintf(o, "**No benchmark appears in both files: nothing to compare.**\n\n");
    if (few) fprintf(o, "%d benchmark(s) had too few repetitions for a verdict (fewer than %d per side).\n\n", few, MIN_REPS);
    if (!isfinite(g)) {
        fprintf(o, "Verdict: **nothing compared** (exit status 3): the files share no benchmark, so they say nothing "
                   "about a regression.\n");
        return 3;
    }
    if (regressions) fprintf(o, "Verdict: **%d significant regression(s)** beyond %.1f %% (exit status 1).\n", regressions,
                             100 * threshold);
    else fprintf(o, "Verdict: no significant regression beyond %.1f %%%s.\n", 100 * threshold,
                 improvements ? " (some benchmarks improved)" : "");
    return regressions ? 1 : 0;
}

int tt_cmd_compare(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL}, *md_path = NULL, *relative_to = NULL;
    int nf = 0;
    double threshold = 0.05, alpha = 0.01;
    const tt_opt opts[] = {
        TT_O_NUM("--threshold", NULL, &threshold, 0, 100),
        TT_O_NUM("--alpha", NULL, &alpha, 1e-12, 0.5),
        TT_O_STR("--markdown", NULL, &md_path),
        TT_O_STR("--relative-to", NULL, &relative_to),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "compare", .usage = usage, .opts = opts, .nopts = TT_NOPTS(opts),
                                     .pos = files, .min_pos = 2, .max_pos = 2, .npos = &nf},
                           argc, argv);
    if (prc >= 0) return prc;
    if (!(threshold >= 0) || !(alpha > 0 && alpha < 1)) {
        fprintf(stderr, "tritune compare: --threshold must be >= 0 and --alpha in (0, 1)\n");
        return 2;
    }
    cmp_set s[2];
    for (int i = 0; i < 2; i++)
        if (load_set(files[i], &s[i])) {
            fprintf(stderr, "tritune compare: %s\n", tt_last_error());
            tt_rgb_free(&s[0].f);
            if (i) tt_rgb_free(&s[1].f);
            return 2;
        }
    if (strcmp(s[0].unit, s[1].unit)) {
        fprintf(stderr, "tritune compare: %s and %s are different kinds of file (Google Benchmark vs end-to-end)\n",
                files[0], files[1]);
        tt_rgb_free(&s[0].f), tt_rgb_free(&s[1].f);
        return 2;
    }
    int dropped[2] = {0, 0};
    if (relative_to) {
        if (strcmp(s[0].unit, "ns")) {
            fprintf(stderr, "tritune compare: --relative-to needs Google Benchmark files, not end-to-end ones\n");
            tt_rgb_free(&s[0].f), tt_rgb_free(&s[1].f);
            return 2;
        }
        for (int i = 0; i < 2; i++)
            if (relate(&s[i], relative_to, &dropped[i])) {
                fprintf(stderr, "tritune compare: %s\n", tt_last_error());
                tt_rgb_free(&s[0].f), tt_rgb_free(&s[1].f);
                return 2;
            }
    }
    int rc = compare(stdout, files[0], files[1], &s[0], &s[1], threshold, alpha, relative_to, dropped);
    if (md_path) {
        FILE *f = fopen(md_path, "w");
        if (!f) {
            fprintf(stderr, "tritune compare: cannot write %s: %s\n", md_path, strerror(errno));
            rc = rc ? rc : 2;
        } else {
            compare(f, files[0], files[1], &s[0], &s[1], threshold, alpha, relative_to, dropped);
            if (fclose(f)) fprintf(stderr, "tritune compare: writing %s failed\n", md_path), rc = rc ? rc : 2;
        }
    }
    tt_rgb_free(&s[0].f), tt_rgb_free(&s[1].f);
    return rc;
}
