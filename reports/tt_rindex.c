/* tritune report --index: one table across the committed per-CPU bundles (reports/cpus/<cpu-id>/), one row per
 * CPU. Energy numbers carry their source, as everywhere. */
#include "tt_registry.h"
#include "tt_report_int.h"
#include "tt_rstats.h"

#include <ctype.h>
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
        /* AMX is two features in machine.json / the profile (amx-tile, amx-int8): the kernels need both */
        bool amx = !strcmp(name, "amx");
        const char *f1 = amx ? "amx-tile" : name, *f2 = amx ? "amx-int8" : name;
        bool has = json_is_true(json_object_get(os, f1)) && json_is_true(json_object_get(os, f2));
        if (!json_is_object(os)) {
            size_t q;
            json_t *v;
            bool h1 = false, h2 = false;
            json_array_foreach(tt_jget(b->profile, "cpu.features"), q, v)
            {
                const char *fs = json_string_value(v);
                h1 |= fs && !strcmp(fs, f1), h2 |= fs && !strcmp(fs, f2);
            }
            has = h1 && h2;
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
static const tt_re2e_row *tg_row(const tt_re2e *e2e)
{
    const tt_re2e_row *best = NULL;
    for (int i = 0; e2e && i < e2e->n; i++) {
        const tt_re2e_row *r = &e2e->rows[i];
        /* decode rows: tg128 preferred, another tgN (labelled in the cell) if that is all the bundle has */
        if (strncmp(r->test, "tg", 2)) continue;
        bool want128 = !strcmp(r->test, "tg128"), best128 = best && !strcmp(best->test, "tg128");
        if (!best || (want128 && !best128) || (want128 == best128 && r->threads > best->threads)) best = r;
    }
    return best;
}

/* Per shape, the entry at the highest thread count tuned, the cold race's where both races ran (cold is what gets
 * baked), labelled with its race regime; the geometric mean of the speedups is per regime, never across both
 * (spd gets "1.17× cold (geomean, 6 shapes)", plus a warm one where some shapes only had a warm race). */
static int best_cells(const tt_bundle *b, char *buf, size_t len, char *spd, size_t spd_len, int *nsp)
{
    size_t n = 0;
    double *sp[2] = {calloc((size_t)b->ne + 1, sizeof(double)), calloc((size_t)b->ne + 1, sizeof(double))};
    int nshapes = 0, ns[2] = {0, 0};
    buf[0] = 0;
    for (int i = 0; i < b->ne; i++) {
        const tt_rentry *e = &b->e[i];
        bool skip = false;
        for (int j = 0; j < b->ne && !skip; j++) {
            const tt_rentry *f = &b->e[j];
            if (j == i || f->m != e->m || f->k != e->k || strcmp(f->shape, e->shape)) continue;
            bool fcold = !strcmp(f->regime, "cold"), ecold = !strcmp(e->regime, "cold");
            skip |= f->threads > e->threads;                            /* tuned at more threads */
            skip |= f->threads == e->threads && fcold && !ecold;        /* the cold race's entry wins */
            skip |= f->threads == e->threads && fcold == ecold && j < i; /* listed twice: first wins */
        }
        if (skip) continue;
        int r = !strcmp(e->regime, "cold") ? 0 : 1;
        double s = e->baseline.present && e->baseline.median_ns > 0 ? e->baseline.median_ns / e->winner.median_ns : NAN;
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s (t%d, %s): `%s`", nshapes ? "<br>" : "", e->shape,
                              e->threads, e->regime, e->winner.variant);
        if (isfinite(s)) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " %.2f×", s);
        if (sp[r] && isfinite(s)) sp[r][ns[r]++] = s;
        nshapes++;
    }
    if (n >= len && len > 4) strcpy(buf + len - 4, "...");
    size_t q = 0;
    spd[0] = 0;
    static const char *const rn[] = {"cold", "warm"};
    for (int r = 0; r < 2; r++) {
        double g = sp[r] ? tt_rstat_geomean(sp[r], ns[r]) : NAN;
        if (isfinite(g))
            q += (size_t)snprintf(spd + q, q < spd_len ? spd_len - q : 0, "%s%.2f× %s (geomean, %d shape%s)", q ? "<br>" : "",
                                  g, rn[r], ns[r], ns[r] == 1 ? "" : "s");
    }
    if (!q) snprintf(spd, spd_len, "–");
    *nsp = ns[0] + ns[1];
    free(sp[0]), free(sp[1]);
    return nshapes;
}

/* ---- caveats: every published figure carries its provenance and its known limits ---- */
typedef struct notes {
    char *buf;
    size_t n, cap;
    int count;
} notes;

/* Adds footnote text for bundle `name` and returns its number; the cell shows "[n]". */
static int note_add(notes *nt, const char *cpus_dir, const char *name, const char *text)
{
    char nm[1400], path[1400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/NOTES.md", cpus_dir, name);
    bool has_notes = !stat(path, &st);
    if (has_notes) snprintf(nm, sizeof nm, " See [%s/NOTES.md](%s/NOTES.md).", name, name);
    else nm[0] = 0;
    size_t need = strlen(text) + strlen(nm) + strlen(name) + 64;
    if (nt->n + need >= nt->cap) {
        size_t cap = (nt->cap + need) * 2;
        char *nb = realloc(nt->buf, cap);
        if (!nb) return 0;
        nt->buf = nb, nt->cap = cap;
    }
    nt->count++;
    nt->n += (size_t)snprintf(nt->buf + nt->n, nt->cap - nt->n, "%s**[%d]** `%s`: %s%s\n", nt->n ? "\n" : "",
                              nt->count, name, text, nm);
    return nt->count;
}

static void mark(char *cell, size_t len, int n)
{
    size_t l = strlen(cell);
    if (n > 0) snprintf(cell + l, len > l ? len - l : 0, " **[%d]**", n);
}

static bool unknown(const char *v) { return !v || !*v || !strcmp(v, "unknown") || !strcmp(v, "not recorded"); }

/* Whether an e2e file ran this bundle's tuned kernels: its decode kernel is one of the profile's winners and it
 * names no other CPU. Returns false (untuned) when it cannot tell (no kernel recorded, no profile). */
static bool e2e_tuned(const tt_bundle *b, const tt_re2e *e)
{
    const char *id = tt_jstr(b->machine, "cpu_id", "");
    if (*e->cpu_id && *id && strcmp(e->cpu_id, id)) return false;
    if (!*e->kernel) return false;
    if (!strncmp(e->winners, "none", 4)) return false; /* bench-e2e recorded that no tuned table was loaded */
    for (int i = 0; i < b->ne; i++)
        if (!strcmp(b->e[i].winner.variant, e->kernel)) return true;
    return false;
}

static int cmp_str2(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* e2e.json of the bundle and of its sub-folders (e.g. a second session's amx-run/e2e.json): up to max, loaded. */
static int load_e2e_all(const char *dir, tt_re2e *out, int max)
{
    int n = 0;
    char path[1400];
    snprintf(path, sizeof path, "%s/e2e.json", dir);
    if (tt_re2e_load(path, &out[n]) == TT_OK && out[n].present) n++;
    else tt_re2e_free(&out[n]);
    DIR *d = opendir(dir);
    if (!d) return n;
    char *subs[64];
    int ns = 0;
    struct dirent *de;
    while ((de = readdir(d)) && ns < 64) {
        if (de->d_name[0] == '.') continue;
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s/e2e.json", dir, de->d_name) >= (int)sizeof path) continue;
        if (!stat(path, &st) && S_ISREG(st.st_mode)) subs[ns++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(subs, (size_t)ns, sizeof *subs, cmp_str2);
    for (int i = 0; i < ns; i++) {
        if (snprintf(path, sizeof path, "%s/%s/e2e.json", dir, subs[i]) >= (int)sizeof path) {
            free(subs[i]);
            continue;
        }
        if (n < max && tt_re2e_load(path, &out[n]) == TT_OK && out[n].present) n++;
        else if (n < max) tt_re2e_free(&out[n]);
        free(subs[i]);
    }
    return n;
}

/* The file name relative to the bundle folder. */
static const char *rel_to(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return !strncmp(path, dir, l) && path[l] == '/' ? path + l + 1 : path;
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
                "bandwidth at the lowest and highest thread count; tokens/s: decode (tg128, else the tgN the bundle "
                "has) at the highest thread count measured, mean ± standard deviation over the repetitions, from the "
                "bundle's end-to-end file that ran its own tuned kernels where there is one; best kernel per shape: "
                "the tuned winner at the highest thread count tuned, with its speedup over the bitnet.cpp-style "
                "baseline, labelled with the regime its race ran in (the cold race's entry where both ran); speedup: "
                "geometric mean of those per regime (cold and warm never averaged together); provenance: "
                "commit, date and tritune version of the tuning run and of the end-to-end run (\"unknown\" where the "
                "files do not record them: never filled in). GB/s everywhere is bytes over real (wall) time. Every "
                "J/token names its energy source (`estimated-model` is a model, not a measurement). **[n]** marks a "
                "caveat, listed below the table.\n\n",
            cpus_dir);
    fprintf(md, "| CPU | cores | ISA | read GB/s | tokens/s (decode, threads) | J/token [energy source] | best kernel "
                "per shape | speedup over baseline | provenance |\n|---|---|---|---|---|---|---|---|---|\n");
    int rows = 0, skipped = 0;
    char *skips = calloc(1, 8192);
    size_t nn = 0;
    notes nt = {0};
    for (int i = 0; i < n; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%s", cpus_dir, names[i]);
        tt_bundle b;
        if (tt_bundle_load(dir, &b)) {
            if (skips) nn += (size_t)snprintf(skips + nn, nn < 8192 ? 8192 - nn : 0, "- `%s` skipped: %s\n", names[i],
                                              tt_last_error());
            skipped++;
            tt_bundle_free(&b);
            continue;
        }
        char isa[256], bw[256], best[4096], tps[512], jpt[128], why[2048];
        const char *brand = tt_jstr(b.machine, "cpu.brand", tt_jstr(b.profile, "cpu.brand", names[i]));
        double cores = tt_jnum(b.machine, "topology.cores", tt_jnum(b.profile, "cpu.cores", 0));
        double pus = tt_jnum(b.machine, "topology.pus", tt_jnum(b.profile, "cpu.pus", 0));
        isa_cell(&b, isa, sizeof isa);
        bw_cell(&b, bw, sizeof bw);

        /* read-bandwidth probe caveats: the probe's method, and kernels that read faster than it */
        {
            char txt[768] = "";
            size_t tn = 0;
            if (*b.bw_method && !strstr(b.bw_method, "prefetch"))
                tn += (size_t)snprintf(txt + tn, sizeof txt - tn, "the bandwidth probe read with `%s`, without software "
                                       "prefetch (tune.log); ", b.bw_method);
            double worst = 0;
            int wt = 0;
            for (int q = 0; q < b.ne; q++) {
                const tt_rentry *e = &b.e[q];
                double bwq = tt_bundle_bw(&b, e->threads);
                if (!strcmp(e->regime, "cold") && bwq > 0 && e->winner.gbps / bwq > worst) worst = e->winner.gbps / bwq, wt = q;
            }
            if (worst > 1.0)
                tn += (size_t)snprintf(txt + tn, tn < sizeof txt ? sizeof txt - tn : 0,
                                       "a cold winner read %.1f GB/s at %d thread(s), %.0f %% of the probe's %.1f GB/s: "
                                       "the probe is low for this CPU (or the cold run was partly cache-served); ",
                                       b.e[wt].winner.gbps, b.e[wt].threads, 100 * worst, tt_bundle_bw(&b, b.e[wt].threads));
            if (tn) {
                txt[tn - 2] = '.', txt[tn - 1] = 0;
                txt[0] = (char)toupper((unsigned char)txt[0]);
                mark(bw, sizeof bw, note_add(&nt, cpus_dir, names[i], txt));
            }
        }

        /* end to end: the tuned file over an untuned one */
        tt_re2e e2es[8];
        int ne2e = load_e2e_all(dir, e2es, 8), pick = -1;
        bool tuned = false;
        for (int q = 0; q < ne2e; q++) {
            bool t = e2e_tuned(&b, &e2es[q]);
            if (!tg_row(&e2es[q])) continue;
            if (pick < 0 || (t && !tuned)) pick = q, tuned = t;
        }
        const tt_re2e *E = pick >= 0 ? &e2es[pick] : NULL;
        const tt_re2e_row *tg = tg_row(E);
        if (tg) {
            const char *src = rel_to(E->path, dir);
            size_t tl = (size_t)snprintf(tps, sizeof tps, "%.2f", tg->ts_mean);
            if (isfinite(tg->ts_std)) tl += (size_t)snprintf(tps + tl, sizeof tps - tl, " ± %.2f", tg->ts_std);
            tl += (size_t)snprintf(tps + tl, sizeof tps - tl, " (%dt%s%s%s)", tg->threads, strcmp(tg->test, "tg128") ? ", " : "",
                                   strcmp(tg->test, "tg128") ? tg->test : "", "");
            if (strcmp(src, "e2e.json")) snprintf(tps + tl, sizeof tps - tl, "<br>from `%s`", src);
            if (!tuned && !*E->kernel) {
                snprintf(why, sizeof why, "Tuned kernels not shown: `%s` does not record its decode kernel, so whether "
                         "it ran this CPU's tuned table is unknown; treat it as untuned.", src);
                mark(tps, sizeof tps, note_add(&nt, cpus_dir, names[i], why));
            } else if (!tuned) {
                snprintf(why, sizeof why, "Untuned kernels: `%s` decoded with `%s`, which is not a winner in this "
                         "bundle's profile%s%s%s, so these tokens/s were not measured with this CPU's tuned table.", src,
                         *E->kernel ? E->kernel : "(kernel not recorded)",
                         *E->cpu_id && strcmp(E->cpu_id, tt_jstr(b.machine, "cpu_id", E->cpu_id)) ? "; it records CPU " : "",
                         *E->cpu_id && strcmp(E->cpu_id, tt_jstr(b.machine, "cpu_id", E->cpu_id)) ? E->cpu_id : "", "");
                mark(tps, sizeof tps, note_add(&nt, cpus_dir, names[i], why));
            }
            for (int q = 0; q < ne2e; q++) { /* the other end-to-end files, so none is hidden */
                const tt_re2e_row *o = tg_row(&e2es[q]);
                if (q == pick || !o) continue;
                bool t = e2e_tuned(&b, &e2es[q]);
                char sd[48] = "";
                if (isfinite(o->ts_std)) snprintf(sd, sizeof sd, " ± %.2f", o->ts_std);
                snprintf(why, sizeof why, "The bundle also has `%s`: %s %.2f%s t/s at %d thread(s), decode kernel "
                         "`%s` (%s). Not shown in the row.", rel_to(e2es[q].path, dir), o->test, o->ts_mean, sd, o->threads,
                         *e2es[q].kernel ? e2es[q].kernel : "not recorded",
                         t ? "a winner of this bundle's profile" : "not a winner of this bundle's profile: untuned here");
                mark(tps, sizeof tps, note_add(&nt, cpus_dir, names[i], why));
            }
        } else {
            snprintf(tps, sizeof tps, "– (no e2e)");
        }
        if (tg && isfinite(tg->j_per_token))
            snprintf(jpt, sizeof jpt, "%.4g J [%s]", tg->j_per_token, tg->energy_source[0] ? tg->energy_source : "source unknown");
        else snprintf(jpt, sizeof jpt, "–");

        int nsp;
        char report[1400], spd[256];
        int nshapes = best_cells(&b, best, sizeof best, spd, sizeof spd, &nsp);
        struct stat st;
        snprintf(report, sizeof report, "%s/report/report.md", dir);
        bool has_report = !stat(report, &st);

        /* cold rotation under 2x the LLC: the "cold" numbers were partly served from cache */
        double rot = tt_jnum(b.machine, "cold.rotating_bytes", tt_jnum(b.profile, "cold_bytes", 0));
        double l3 = tt_jnum(b.machine, "topology.l3_bytes", tt_jnum(b.profile, "cpu.l3", 0));
        bool any_cold = false;
        for (int q = 0; q < b.ne; q++) any_cold |= !strcmp(b.e[q].regime, "cold");
        if (any_cold && rot > 0 && l3 > 0 && rot < 2 * l3) {
            char t1[32], t2[32];
            snprintf(why, sizeof why, "Cold rotation under 2x the last-level cache: %s of rotating weight copies per "
                     "layout against an L3 of %s, so the cold numbers (speedups, GB/s) were partly served from cache.",
                     tt_fmt_bytes(rot, t1, sizeof t1), tt_fmt_bytes(l3, t2, sizeof t2));
            int k = note_add(&nt, cpus_dir, names[i], why);
            mark(spd, sizeof spd, k);
            mark(best, sizeof best, k);
        }
        /* entries the tuner's measurement-conditions check flagged */
        {
            char txt[1024];
            size_t tn = 0;
            int nf = 0;
            for (int q = 0; q < b.ne; q++) {
                if (!b.e[q].flags[0]) continue;
                nf++;
                if (tn < 700)
                    tn += (size_t)snprintf(txt + tn, sizeof txt - tn, "%s%s t%d %s race: %s", nf > 1 ? "; " : "",
                                           b.e[q].shape, b.e[q].threads, b.e[q].regime, b.e[q].flags);
            }
            if (nf) {
                snprintf(why, sizeof why, "%d profile entr%s flagged by the tuner's measurement-conditions check "
                         "(contention, steal or bandwidth drop during the race): %s.", nf, nf == 1 ? "y" : "ies", txt);
                int k = note_add(&nt, cpus_dir, names[i], why);
                mark(best, sizeof best, k);
                mark(spd, sizeof spd, k);
            }
        }
        /* provenance: never invented */
        char prov[512];
        const char *mc = tt_jstr(b.machine, "commit", NULL), *mdt = tt_jstr(b.machine, "date", tt_jstr(b.profile, "created", NULL));
        const char *ver = tt_jstr(b.profile, "tritune_version", NULL);
        bool unk = unknown(mc) || unknown(mdt) || unknown(ver);
        size_t pl = (size_t)snprintf(prov, sizeof prov, "tune: commit %s, %s, tritune %s", unknown(mc) ? "unknown" : mc,
                                     unknown(mdt) ? "date unknown" : mdt, unknown(ver) ? "version unknown" : ver);
        if (E) {
            bool eu = unknown(E->commit) || unknown(E->date) || unknown(E->version);
            unk |= eu;
            pl += (size_t)snprintf(prov + pl, sizeof prov - pl, "<br>e2e: commit %s, %s, tritune %s",
                                   unknown(E->commit) ? "unknown" : E->commit, unknown(E->date) ? "date unknown" : E->date,
                                   unknown(E->version) ? "version unknown" : E->version);
        }
        if (unk) {
            snprintf(why, sizeof why, "Provenance incomplete: the files do not record %s%s%s%s; shown as unknown, not "
                     "filled in.", unknown(mc) ? "the tuning run's commit; " : "", unknown(mdt) ? "the tuning run's date; " : "",
                     unknown(ver) ? "the tuning run's tritune version; " : "",
                     E && (unknown(E->commit) || unknown(E->date) || unknown(E->version))
                         ? "the end-to-end run's commit, date or version (written by bench-e2e since this change)"
                         : "");
            mark(prov, sizeof prov, note_add(&nt, cpus_dir, names[i], why));
        }
        fprintf(md, "| %s<br>[`%s`](%s/%s) | %.0f (%.0f PUs) | %s | %s | %s | %s | %s | %s | %s |\n", brand, names[i],
                names[i], has_report ? "report/report.md" : "", cores, pus, isa, bw, tps, jpt,
                nshapes ? best : "– (no profile)", spd, prov);
        rows++;
        for (int q = 0; q < ne2e; q++) tt_re2e_free(&e2es[q]);
        tt_bundle_free(&b);
    }
    if (!rows) fprintf(md, "| (no bundles) | | | | | | | | |\n");
    if (nt.count) fprintf(md, "\n## Caveats\n\n%s", nt.buf);
    if (nn) fprintf(md, "\n%s", skips);
    free(skips);
    free(nt.buf);
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
