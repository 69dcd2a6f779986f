/* The report's charts: roofline (achieved weight GB/s against the measured bandwidth line), thread scaling of the
 * winners, and speedup over the baseline in both regimes. Data files are tab-separated, '?' marks a missing value. */
#include "tt_report_int.h"
#include "tt_rplot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static FILE *open_dat(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) tt_fail(TT_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return f;
}

/* " — <CPU brand> (<cpu-id>)": every chart names the machine it was measured on. */
static char g_machine[256];
static void set_machine(const tt_bundle *b)
{
    const char *brand = tt_jstr(b->machine, "cpu.brand", tt_jstr(b->profile, "cpu.brand", "unknown CPU"));
    const char *id = tt_jstr(b->machine, "cpu_id", NULL);
    const char *slash = strrchr(b->dir, '/');
    if (!id) id = slash && slash[1] ? slash + 1 : b->dir;
    snprintf(g_machine, sizeof g_machine, "\nmeasured on %.100s (%.120s)", brand, id);
}
static const char *titled(const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", what, g_machine);
    return buf;
}

static void put(FILE *f, double v)
{
    if (isfinite(v) && v > 0) fprintf(f, "\t%.6g", v);
    else fprintf(f, "\t?");
}

static const char *const roofline_cap =
    "Achieved weight bandwidth (packed weight bytes / median time) of the winner, runner-up and baseline per shape, in "
    "the regime the race ran in, with every variant timed (grey) and the measured DRAM read bandwidth at that thread "
    "count as the roofline.";

static tt_status roofline(const tt_bundle *b, const int *ix, const char *dir)
{
    FILE *d = open_dat(dir, "roofline.dat"), *all = open_dat(dir, "roofline_all.dat");
    if (!d || !all) {
        if (d) fclose(d);
        if (all) fclose(all);
        return TT_ERR_IO;
    }
    fprintf(d, "# idx\tlabel\twinner_gbps\trunner_up_gbps\tbaseline_gbps\tmeasured_read_gbps\n");
    fprintf(all, "# idx\tgbps (every variant gbench timed for this shape, threads and regime)\n");
    bool any_cold = false, any_warm = false;
    for (int q = 0; q < b->ne; q++) {
        const tt_rentry *e = &b->e[ix[q]];
        any_cold |= !strcmp(e->regime, "cold"), any_warm |= !strcmp(e->regime, "warm");
        fprintf(d, "%d\t%s t%d %s", q, e->shape, e->threads, e->regime);
        put(d, e->winner.gbps), put(d, e->runner_up.present ? e->runner_up.gbps : NAN);
        put(d, e->baseline.present ? e->baseline.gbps : NAN), put(d, tt_bundle_bw(b, e->threads));
        fprintf(d, "\n");
        for (int i = 0; i < b->gb.n; i++) {
            const tt_rgb_bench *x = &b->gb.b[i];
            if (x->shaped && x->m == e->m && x->k == e->k && x->threads == e->threads && !strcmp(x->regime, e->regime) &&
                tt_rgb_gbps(x) > 0)
                fprintf(all, "%d\t%.6g\n", q, tt_rgb_gbps(x));
        }
    }
    fprintf(all, "-1\t?\n"); /* never empty: gnuplot refuses a plot clause without points */
    fclose(d);
    fclose(all);
    char ttl[400];
    FILE *gp = tt_plot_begin(dir, "roofline", titled("Achieved weight bandwidth per shape vs measured DRAM read bandwidth",
                                                     ttl, sizeof ttl), 1400, 800);
    if (!gp) return TT_ERR_IO;
    fprintf(gp, "set ylabel \"achieved weight bandwidth [GB/s]\"\n"
                "set xlabel \"shape, threads, race regime%s\"\n"
                "set xrange [-0.6:%d.6]\nset yrange [0:*]\n"
                "set xtics rotate by 90 right nomirror font \",10\"\nset bmargin 12\nset key outside right top vertical\n"
                "plot 'roofline.dat' using ($1-0.42):6:(0.84):(0) with vectors nohead lw 3 lc rgb 'black' "
                "title \"measured DRAM read bandwidth (roofline)\", \\\n"
                "     'roofline_all.dat' using 1:2 with points pt 7 ps 0.6 lc rgb '#b0b0b0' title \"all variants timed "
                "(gbench)\", \\\n"
                "     'roofline.dat' using 1:5 with points pt 5 ps 1.6 lc rgb '#d62728' title \"baseline\", \\\n"
                "     '' using 1:4 with points pt 9 ps 1.9 lc rgb '#ff7f0e' title \"runner-up\", \\\n"
                "     '' using 1:3:xtic(2) with points pt 7 ps 1.9 lc rgb '#1f77b4' title \"winner\"\n",
            any_warm && !any_cold ? " (warm: cache-resident, may exceed the DRAM line)" : "", b->ne - 1);
    return tt_plot_end(gp, dir, "roofline");
}

static const char *const scaling_cap =
    "Thread scaling: the winner's achieved weight bandwidth per shape against the thread count, one series per shape "
    "and race regime (a cold race's winners and a warm race's are never joined), with the measured DRAM read "
    "bandwidth per thread count (dashed).";

static tt_status scaling(const tt_bundle *b, const int *ix, const char *dir, int *nthreads)
{
    FILE *d = open_dat(dir, "scaling.dat"), *bw = open_dat(dir, "scaling_bw.dat");
    if (!d || !bw) {
        if (d) fclose(d);
        if (bw) fclose(bw);
        return TT_ERR_IO;
    }
    int tlist[64], nt = 0;
    fprintf(bw, "# threads\tmeasured_read_gbps\n");
    for (int i = 0; i < b->nbw; i++) fprintf(bw, "%d\t%.6g\n", b->bw_threads[i], b->bw_gbps[i]);
    if (!b->nbw) fprintf(bw, "1\t?\n");
    fclose(bw);
    /* One block per (shape M×K, race regime), each listing threads → winner GB/s and µs: a cold race's winners and
     * a warm race's are separate series, never one line through both. */
    const char *titles[128];
    char titlebuf[128][128];
    int nblocks = 0;
    for (int q = 0; q < b->ne && nblocks < 128; q++) {
        const tt_rentry *e = &b->e[ix[q]];
        bool seen = false;
        for (int p = 0; p < q; p++) {
            const tt_rentry *f = &b->e[ix[p]];
            seen |= f->m == e->m && f->k == e->k && !strcmp(f->shape, e->shape) && !strcmp(f->regime, e->regime);
        }
        if (seen) continue;
        fprintf(d, "%s# %s %dx%d %s race\n", nblocks ? "\n\n" : "", e->shape, e->m, e->k, e->regime);
        for (int r = q; r < b->ne; r++) {
            const tt_rentry *f = &b->e[ix[r]];
            if (f->m != e->m || f->k != e->k || strcmp(f->shape, e->shape) || strcmp(f->regime, e->regime)) continue;
            fprintf(d, "%d", f->threads);
            put(d, f->winner.gbps), put(d, f->winner.median_ns / 1e3);
            fprintf(d, "\n");
            int t = 0;
            while (t < nt && tlist[t] != f->threads) t++;
            if (t == nt && nt < 64) tlist[nt++] = f->threads;
        }
        snprintf(titlebuf[nblocks], sizeof titlebuf[nblocks], "%s %d×%d, %s race", e->shape, e->m, e->k, e->regime);
        titles[nblocks] = titlebuf[nblocks];
        nblocks++;
    }
    fclose(d);
    for (int i = 0; i < b->nbw; i++) {
        int t = 0;
        while (t < nt && tlist[t] != b->bw_threads[i]) t++;
        if (t == nt && nt < 64) tlist[nt++] = b->bw_threads[i];
    }
    *nthreads = nt;
    int tmax = 1;
    for (int t = 0; t < nt; t++) tmax = tlist[t] > tmax ? tlist[t] : tmax;
    char ttl[400];
    FILE *gp = tt_plot_begin(dir, "scaling", titled("Thread scaling of the winners per race regime",
                                                    ttl, sizeof ttl), 1200, 700);
    if (!gp) return TT_ERR_IO;
    fprintf(gp, "set xlabel \"threads\"\nset ylabel \"winner's achieved weight bandwidth [GB/s]\"\n"
                "set xrange [0.5:%d.5]\nset yrange [0:*]\nset xtics 1\nset key outside right top\n",
            tmax);
    fprintf(gp, "plot 'scaling_bw.dat' using 1:2 with linespoints lw 3 dt 2 pt 6 ps 1.5 lc rgb 'black' "
                "title \"measured DRAM read bandwidth\"");
    for (int i = 0; i < nblocks; i++) {
        char t[200];
        bool warm = strstr(titles[i], ", warm race") != NULL; /* warm races: squares, dotted */
        fprintf(gp, ", \\\n     'scaling.dat' index %d using 1:2 with linespoints lw 2 %s ps 1.5 title \"%s\"", i,
                warm ? "dt 3 pt 5" : "pt 7", tt_plot_str(titles[i], t, sizeof t));
    }
    fprintf(gp, "\n");
    return tt_plot_end(gp, dir, "scaling");
}

static const char *const speedup_cap =
    "Speedup of the tuned winner over the bitnet.cpp-style baseline per shape and thread count, cold (weights "
    "streamed from DRAM) and warm (weights in cache); the dashed line is 1× (no gain).";

static tt_status speedup(const tt_bundle *b, const int *ix, const char *dir)
{
    FILE *d = open_dat(dir, "speedup.dat");
    if (!d) return TT_ERR_IO;
    fprintf(d, "# label\tcold_speedup\twarm_speedup\n");
    for (int q = 0; q < b->ne; q++) {
        const tt_rentry *e = &b->e[ix[q]];
        fprintf(d, "%s t%d %s race", e->shape, e->threads, e->regime);
        put(d, e->cold_winner_ns > 0 && e->cold_baseline_ns > 0 ? e->cold_baseline_ns / e->cold_winner_ns : NAN);
        put(d, e->warm_winner_ns > 0 && e->warm_baseline_ns > 0 ? e->warm_baseline_ns / e->warm_winner_ns : NAN);
        fprintf(d, "\n");
    }
    fclose(d);
    char ttl[400];
    FILE *gp = tt_plot_begin(dir, "speedup", titled("Speedup over the bitnet.cpp-style baseline, cold and warm regimes",
                                                    ttl, sizeof ttl), 1200, 700);
    if (!gp) return TT_ERR_IO;
    fprintf(gp, "set ylabel \"speedup: baseline time / winner time [×]\"\nset xlabel \"shape, threads, race regime "
                "(each race measures its winner in both regimes)\"\n"
                "set style data histograms\nset style histogram clustered gap 1\n"
                "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset yrange [0:*]\n"
                "set xtics rotate by 30 right nomirror\nset key outside top center horizontal\n"
                "set xrange [-0.6:%d.4]\n"
                "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2 lc rgb 'black' front\n"
                "plot 'speedup.dat' using 2:xtic(1) title \"cold (weights from DRAM)\" lc rgb '#1f77b4', \\\n"
                "     '' using 3 title \"warm (weights in cache)\" lc rgb '#ff7f0e'\n",
            b->ne - 1);
    return tt_plot_end(gp, dir, "speedup");
}

int tt_rep_charts(FILE *md, const tt_bundle *b, const char *dir, const char *rel)
{
    fprintf(md, "## Charts\n\n");
    if (!b->ne) {
        fprintf(md, "> No profile entries, so no charts.\n\n");
        return 0;
    }
    int *ix = tt_rep_order(b);
    if (!ix) return 0;
    set_machine(b);
    static const char *const names[] = {"roofline", "scaling", "speedup"};
    const char *caps[] = {roofline_cap, scaling_cap, speedup_cap};
    int nthreads = 0;
    tt_status st[3] = {roofline(b, ix, dir), scaling(b, ix, dir, &nthreads), speedup(b, ix, dir)};
    free(ix);
    char exe[1024], why[1200];
    bool have = tt_gnuplot_find(exe, sizeof exe, why, sizeof why);
    if (!have) {
        fprintf(md, "> Charts not drawn: gnuplot was not found (%s). The chart scripts and data are in `%s/`; "
                    "install gnuplot and run `gnuplot roofline.gp` (and scaling.gp, speedup.gp) there.\n\n",
                why, rel);
        return -1;
    }
    int drawn = 0;
    for (int c = 0; c < 3; c++) {
        if (!st[c]) st[c] = tt_plot_draw(dir, names[c]);
        if (st[c]) {
            fprintf(md, "> Chart %s not drawn: %s\n\n", names[c], tt_last_error());
            fprintf(stderr, "tritune report: chart %s: %s\n", names[c], tt_last_error());
            continue;
        }
        drawn++;
        fprintf(md, "![%s](%s/%s.png)\n\n*%s%s* ([SVG](%s/%s.svg))\n\n", names[c], rel, names[c], caps[c],
                c == 1 && nthreads < 2 ? " Only one thread count was measured, so there is no slope to read." : "",
                rel, names[c]);
    }
    return drawn;
}
