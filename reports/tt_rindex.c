/* tritune report --index: one table across the committed per-CPU bundles (reports/cpus/<cpu-id>/), one row per
 * CPU. Energy numbers carry their source, as everywhere. */
#include "tt_registry.h"
#include "tt_report_int.h"
#include "tt_rstats.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ISA levels tritune has kernels for, that this CPU can use (machine.isa_os, else profile cpu.features). */
static void isa_cell(const tt_bundle *b, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    json_t *os = tt_jget(b->machine, "isa_os");
    for (int i = 1; i < TT_ISA_COUNT; i++) { /* 0 is scalar: always there */
        const char *name = tt_isa_name((tt_isa)i);
        bool has = json_is_true(json_object_get(os, name));
        if (!json_is_object(os)) {
            size_t q;
            json_t *v;
            json_array_foreach(tt_jget(b->profile, "cpu.features"), q, v) has |= json_is_string(v) && !strcmp(json_string_value(v), name);
        }
        if (has) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " " : "", name);
    }
    if (!n) snprintf(buf, len, "scalar");
}

static void bw_cell(const tt_bundle *b, char *buf, size_t len)
{
    if (!b->nbw) {
        snprintf(buf, len, "–");
        return;
    }
    int lo = 0, hi = 0;
    for (int i = 1; i < b->nbw; i++) {
        if (b->bw_threads[i] < b->bw_threads[lo]) lo = i;
        if (b->bw_threads[i] > b->bw_threads[hi]) hi = i;
    }
    if (lo == hi) snprintf(buf, len, "%.1f (%dt)", b->bw_gbps[lo], b->bw_threads[lo]);
    else snprintf(buf, len, "%.1f (%dt) · %.1f (%dt)", b->bw_gbps[lo], b->bw_threads[lo], b->bw_gbps[hi], b->bw_threads[hi]);
}

/* tg128 at the highest thread count measured (decode is what the kernels are for). */
static const tt_re2e_row *tg_row(const tt_bundle *b)
{
    const tt_re2e_row *best = NULL;
    for (int i = 0; i < b->e2e.n; i++) {
        const tt_re2e_row *r = &b->e2e.rows[i];
        /* decode rows: tg128 preferred, another tgN (labelled in the cell) if that is all the bundle has */
        if (strncmp(r->test, "tg", 2)) continue;
        bool want128 = !strcmp(r->test, "tg128"), best128 = best && !strcmp(best->test, "tg128");
        if (!best || (want128 && !best128) || (want128 == best128 && r->threads > best->threads)) best = r;
    }
    return best;
}

/* Per shape, the entry at the highest thread count tuned; returns count, speedups in sp[] (NAN when no baseline). */
static int best_cells(const tt_bundle *b, char *buf, size_t len, double *geo, int *nsp)
{
    size_t n = 0;
    double *sp = calloc((size_t)b->ne + 1, sizeof *sp);
    int nshapes = 0, ns = 0;
    buf[0] = 0;
    for (int i = 0; i < b->ne; i++) {
        const tt_rentry *e = &b->e[i];
        bool better = false; /* the same shape was tuned at more threads */
        for (int j = 0; j < b->ne; j++)
            better |= b->e[j].m == e->m && b->e[j].k == e->k && !strcmp(b->e[j].shape, e->shape) &&
                      b->e[j].threads > e->threads;
        if (better) continue;
        bool dup = false; /* same shape at the same max thread count listed twice: first wins */
        for (int j = 0; j < i; j++)
            dup |= b->e[j].m == e->m && b->e[j].k == e->k && !strcmp(b->e[j].shape, e->shape) && b->e[j].threads == e->threads;
        if (dup) continue;
        double s = e->baseline.present && e->baseline.median_ns > 0 ? e->baseline.median_ns / e->winner.median_ns : NAN;
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s (t%d): `%s`", nshapes ? "<br>" : "", e->shape,
                              e->threads, e->winner.variant);
        if (isfinite(s)) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " %.2f×", s);
        if (sp && isfinite(s)) sp[ns++] = s;
        nshapes++;
    }
    if (n >= len && len > 4) strcpy(buf + len - 4, "...");
    *geo = sp ? tt_rstat_geomean(sp, ns) : NAN;
    *nsp = ns;
    free(sp);
    return nshapes;
}

int tt_rep_index(const char *cpus_dir, const char *out)
{
    DIR *d = opendir(cpus_dir);
    if (!d) {
        fprintf(stderr, "tritune report --index: cannot open %s: %s\n", cpus_dir, strerror(errno));
        return 1;
    }
    char *names[512];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 512) {
        if (de->d_name[0] == '.') continue;
        char path[1200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", cpus_dir, de->d_name);
        if (!stat(path, &st) && S_ISDIR(st.st_mode)) names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    char outpath[1200], tmp[1300];
    if (out) snprintf(outpath, sizeof outpath, "%s", out);
    else snprintf(outpath, sizeof outpath, "%s/README.md", cpus_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", outpath);
    FILE *md = fopen(tmp, "w");
    if (!md) {
        fprintf(stderr, "tritune report --index: cannot write %s: %s\n", tmp, strerror(errno));
        for (int i = 0; i < n; i++) free(names[i]);
        return 1;
    }
    fprintf(md, "# tritune results per CPU\n\n"
                "One row per committed bundle in this folder (each is a `results/<cpu-id>/` folder from "
                "`tritune tune`). Regenerate with `tritune report --index %s`. read GB/s: measured DRAM read "
                "bandwidth at the lowest and highest thread count; tokens/s: tg128 decode at the highest thread "
                "count measured; best kernel per shape: the tuned winner at the highest thread count tuned, with its "
                "speedup over the bitnet.cpp-style baseline; speedup: geometric mean of those. Every J/token names "
                "its energy source (`estimated-model` is a model, not a measurement).\n\n",
            cpus_dir);
    fprintf(md, "| CPU | cores | ISA | read GB/s | tokens/s (tg128, threads) | J/token [energy source] | best kernel "
                "per shape | speedup over baseline |\n|---|---|---|---|---|---|---|---|\n");
    int rows = 0, skipped = 0;
    char *notes = calloc(1, 8192);
    size_t nn = 0;
    for (int i = 0; i < n; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%s", cpus_dir, names[i]);
        tt_bundle b;
        if (tt_bundle_load(dir, &b)) {
            if (notes) nn += (size_t)snprintf(notes + nn, nn < 8192 ? 8192 - nn : 0, "- `%s` skipped: %s\n", names[i],
                                              tt_last_error());
            skipped++;
            tt_bundle_free(&b);
            continue;
        }
        char isa[256], bw[96], best[4096], tps[96], jpt[128];
        const char *brand = tt_jstr(b.machine, "cpu.brand", tt_jstr(b.profile, "cpu.brand", names[i]));
        double cores = tt_jnum(b.machine, "topology.cores", tt_jnum(b.profile, "cpu.cores", 0));
        double pus = tt_jnum(b.machine, "topology.pus", tt_jnum(b.profile, "cpu.pus", 0));
        isa_cell(&b, isa, sizeof isa);
        bw_cell(&b, bw, sizeof bw);
        const tt_re2e_row *tg = tg_row(&b);
        if (tg && !strcmp(tg->test, "tg128")) snprintf(tps, sizeof tps, "%.2f (%dt)", tg->ts_mean, tg->threads);
        else if (tg) snprintf(tps, sizeof tps, "%.2f (%dt, %s)", tg->ts_mean, tg->threads, tg->test);
        else snprintf(tps, sizeof tps, "– (no e2e)");
        if (tg && isfinite(tg->j_per_token))
            snprintf(jpt, sizeof jpt, "%.4g J [%s]", tg->j_per_token, tg->energy_source[0] ? tg->energy_source : "source unknown");
        else snprintf(jpt, sizeof jpt, "–");
        double geo;
        int nsp;
        int nshapes = best_cells(&b, best, sizeof best, &geo, &nsp);
        char report[1400], spd[96];
        struct stat st;
        snprintf(report, sizeof report, "%s/report/report.md", dir);
        bool has_report = !stat(report, &st);
        if (isfinite(geo)) snprintf(spd, sizeof spd, "%.2f× (geomean, %d shape%s)", geo, nsp, nsp == 1 ? "" : "s");
        else snprintf(spd, sizeof spd, "–");
        fprintf(md, "| %s<br>[`%s`](%s/%s) | %.0f (%.0f PUs) | %s | %s | %s | %s | %s | %s |\n", brand, names[i],
                names[i], has_report ? "report/report.md" : "", cores, pus, isa, bw, tps, jpt,
                nshapes ? best : "– (no profile)", spd);
        rows++;
        tt_bundle_free(&b);
    }
    if (!rows) fprintf(md, "| (no bundles) | | | | | | | |\n");
    if (nn) fprintf(md, "\n%s", notes);
    free(notes);
    for (int i = 0; i < n; i++) free(names[i]);
    int bad = ferror(md);
    bad |= fclose(md);
    if (bad || rename(tmp, outpath)) {
        fprintf(stderr, "tritune report --index: writing %s failed: %s\n", outpath, strerror(errno));
        return 1;
    }
    printf("wrote %s (%d CPU%s%s)\n", outpath, rows, rows == 1 ? "" : "s", skipped ? ", some folders skipped" : "");
    return 0;
}
