/* tritune report: one Markdown report (plus gnuplot charts) from a results/<cpu-id>/ folder. The report opens
 * with the machine (docs/DESIGN.md §10: the experiment details BLIS puts first), then the kernels, then end-to-end
 * tokens/s and energy, every energy number labelled with its source. */
#include "tt_registry.h"
#include "tt_report_cli.h"
#include "tt_opt.h"
#include "tt_report_int.h"
#include "tt_rplot.h"
#include "tt_rstats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- machine block ---- */
static void row(FILE *md, const char *k, const char *v)
{
    if (v && *v) fprintf(md, "| %s | %s |\n", k, v);
}

static void feature_list(json_t *obj, json_t *other, bool want_other, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!json_is_true(v)) continue;
        bool in_other = json_is_true(json_object_get(other, key));
        if (want_other != in_other) continue;
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " " : "", key);
    }
    if (n >= len && len > 4) strcpy(buf + len - 4, "...");
}

static void machine_section(FILE *md, const tt_bundle *b)
{
    json_t *m = b->machine, *p = b->profile;
    char buf[2048], t1[64], t2[64], t3[64];
    fprintf(md, "## Machine\n\n");
    if (!m)
        fprintf(md, "> machine.json is missing or unreadable (%s); the CPU identity below comes from profile.json.\n\n",
                b->machine_problem);
    fprintf(md, "| | |\n|---|---|\n");
    const char *brand = tt_jstr(m, "cpu.brand", tt_jstr(p, "cpu.brand", "unknown CPU"));
    snprintf(buf, sizeof buf, "%s (%s, %s, family %.0f model %.0f stepping %.0f)", brand,
             tt_jstr(m, "cpu.vendor", tt_jstr(p, "cpu.vendor", "?")), tt_jstr(m, "cpu.arch", tt_jstr(p, "cpu.arch", "?")),
             tt_jnum(m, "cpu.family", tt_jnum(p, "cpu.family", -1)), tt_jnum(m, "cpu.model", tt_jnum(p, "cpu.model", -1)),
             tt_jnum(m, "cpu.stepping", tt_jnum(p, "cpu.stepping", -1)));
    row(md, "CPU", buf);
    row(md, "cpu-id", tt_jstr(m, "cpu_id", ""));
    json_t *topo = tt_jget(m, "topology");
    if (json_is_object(topo)) {
        snprintf(buf, sizeof buf, "%.0f package(s), %.0f cores, %.0f PUs, %.0f NUMA node(s)",
                 tt_jnum(topo, "packages", 0), tt_jnum(topo, "cores", 0), tt_jnum(topo, "pus", 0),
                 tt_jnum(topo, "numa_nodes", 0));
        row(md, "Topology", buf);
        snprintf(buf, sizeof buf, "L1d %s × %.0f, L2 %s × %.0f, L3 %s × %.0f",
                 tt_fmt_bytes(tt_jnum(topo, "l1d_bytes", 0), t1, sizeof t1), tt_jnum(topo, "l1d_count", 1),
                 tt_fmt_bytes(tt_jnum(topo, "l2_bytes", 0), t2, sizeof t2), tt_jnum(topo, "l2_count", 1),
                 tt_fmt_bytes(tt_jnum(topo, "l3_bytes", 0), t3, sizeof t3), tt_jnum(topo, "l3_count", 1));
        row(md, "Caches", buf);
    } else {
        snprintf(buf, sizeof buf, "%.0f cores, %.0f PUs; L1d %s, L2 %s, L3 %s (from profile.json; no hwloc topology)",
                 tt_jnum(p, "cpu.cores", 0), tt_jnum(p, "cpu.pus", 0), tt_fmt_bytes(tt_jnum(p, "cpu.l1d_bytes", 0), t1, sizeof t1),
                 tt_fmt_bytes(tt_jnum(p, "cpu.l2_bytes", 0), t2, sizeof t2), tt_fmt_bytes(tt_jnum(p, "cpu.l3_bytes", 0), t3, sizeof t3));
        row(md, "Topology / caches", buf);
    }
    const char *gov = tt_jstr(m, "governor", "");
    snprintf(buf, sizeof buf, "cpufreq governor: %s", *gov ? gov : "not recorded (no cpufreq in this OS/VM)");
    row(md, "Clocks", buf);
    json_t *cpuid = tt_jget(m, "isa_cpuid"), *os = tt_jget(m, "isa_os");
    if (json_is_object(os)) {
        feature_list(os, cpuid, true, buf, sizeof buf);
        row(md, "ISA usable (CPUID and OS)", *buf ? buf : "none beyond the baseline");
        feature_list(cpuid, os, false, buf, sizeof buf);
        if (*buf) row(md, "ISA in CPUID but not enabled by the OS", buf);
    } else {
        json_t *f = tt_jget(p, "cpu.features");
        size_t i, n = 0;
        json_t *v;
        buf[0] = 0;
        json_array_foreach(f, i, v) n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s", n ? " " : "",
                                                          json_string_value(v) ? json_string_value(v) : "?");
        row(md, "ISA usable (profile)", buf);
    }
    const char *cap = tt_jstr(m, "isa_cap", "");
    if (*cap) {
        snprintf(buf, sizeof buf, "TRITUNE_ISA=%s (kernels above this level were not considered)", cap);
        row(md, "ISA cap", buf);
    }
    row(md, "OS note", tt_jstr(m, "os_note", ""));
    if (b->nbw) {
        size_t n = 0;
        for (int i = 0; i < b->nbw; i++)
            n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%d thread%s: %.1f GB/s",
                                  i ? " · " : "", b->bw_threads[i], b->bw_threads[i] == 1 ? "" : "s", b->bw_gbps[i]);
        row(md, "Memory read bandwidth (measured)", buf);
    } else {
        row(md, "Memory read bandwidth (measured)", "not recorded");
    }
    json_t *cold = tt_jget(m, "cold");
    if (json_is_object(cold) && tt_jnum(cold, "threshold_mib", 0) <= 0) {
        snprintf(buf, sizeof buf, "not calibrated (set with --cold-mib): the cold regime rotates %s of weight copies",
                 tt_fmt_bytes(tt_jnum(cold, "rotating_bytes", 0), t1, sizeof t1));
        row(md, "Cold-regime calibration", buf);
    } else if (json_is_object(cold)) {
        snprintf(buf, sizeof buf,
                 "streaming reads fall to DRAM speed (%.1f GB/s vs %.1f GB/s in cache) at %.0f MiB; the cold regime "
                 "rotates %s of weight copies",
                 tt_jnum(cold, "dram_gbps", 0), tt_jnum(cold, "cache_gbps", 0), tt_jnum(cold, "threshold_mib", 0),
                 tt_fmt_bytes(tt_jnum(cold, "rotating_bytes", 0), t1, sizeof t1));
        row(md, "Cold-regime calibration", buf);
    } else if (tt_jnum(p, "cold_bytes", 0) > 0) {
        snprintf(buf, sizeof buf, "rotating %s of weight copies", tt_fmt_bytes(tt_jnum(p, "cold_bytes", 0), t1, sizeof t1));
        row(md, "Cold-regime calibration", buf);
    }
    if (tt_jget(m, "os")) {
        snprintf(buf, sizeof buf, "%s %s %s", tt_jstr(m, "os.sysname", "?"), tt_jstr(m, "os.release", "?"),
                 tt_jstr(m, "os.machine", "?"));
        row(md, "OS", buf);
    }
    snprintf(buf, sizeof buf, "%s%s%s", tt_jstr(m, "build.compiler", tt_jstr(p, "compiler", "unknown")),
             tt_jstr(p, "flags", NULL) ? "; flags: " : "", tt_jstr(p, "flags", ""));
    row(md, "Compiler", buf);
    snprintf(buf, sizeof buf, "%.0f variants, %.0f runnable here%s%s",
             tt_jnum(m, "build.registry_variants", tt_jnum(p, "registry_count", 0)), tt_jnum(m, "build.eligible_here", 0),
             tt_jstr(p, "registry_hash", NULL) ? "; registry hash " : "", tt_jstr(p, "registry_hash", ""));
    row(md, "Kernel registry", buf);
    row(md, "Commit", tt_jstr(m, "commit", "not recorded"));
    row(md, "Date", tt_jstr(m, "date", tt_jstr(p, "created", "not recorded")));
    json_t *thr = tt_jget(m, "tune.threads"), *tc = tt_jget(m, "topology.thread_counts");
    if (json_is_array(thr) || json_is_array(tc)) {
        size_t n = 0, i;
        json_t *v;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "tuned at");
        json_array_foreach(thr, i, v) n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s %lld",
                                                            i ? "," : "", (long long)json_integer_value(v));
        if (!json_array_size(thr)) n += (size_t)snprintf(buf + n, sizeof buf - n, " (not recorded)");
        n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, " thread(s), one thread per core (hwloc binding); "
                                                                          "topology suggests");
        json_array_foreach(tc, i, v) n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s %lld",
                                                           i ? "," : "", (long long)json_integer_value(v));
        row(md, "Threads", buf);
    }
    if (tt_jget(m, "tune") || b->nruns) {
        /* each regime's own budget, from the data: tune.log run headers name budget (and, from newer runs, the
         * regime); machine.json's "tune" block holds only the last run into this folder */
        size_t n = 0;
        static const char *const regs[] = {"cold", "warm"};
        for (int r = 0; r < 2; r++) {
            bool raced = false;
            for (int i = 0; i < b->ne; i++) raced |= !strcmp(b->e[i].regime, regs[r]);
            double bud[32];
            int nb = 0;
            for (int i = 0; i < b->nruns; i++)
                if (!strcmp(b->run_regime[i], regs[r])) {
                    bool seen = false;
                    for (int q = 0; q < nb; q++) seen |= bud[q] == b->run_budget[i];
                    if (!seen) bud[nb++] = b->run_budget[i];
                }
            if (!nb && !strcmp(tt_jstr(m, "tune.regime", ""), regs[r]) && tt_jnum(m, "tune.budget_s", 0) > 0)
                bud[nb++] = tt_jnum(m, "tune.budget_s", 0);
            if (!raced && !nb) continue;
            n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s race: ", n ? "; " : "", regs[r]);
            if (!nb) n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "budget not recorded");
            for (int q = 0; q < nb; q++)
                n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%sbudget %.0f s", q ? ", " : "", bud[q]);
        }
        int unl = 0;
        for (int i = 0; i < b->nruns; i++) unl += !b->run_regime[i][0];
        if (unl) {
            n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%stune.log has %d run header%s without "
                                  "a regime (budgets", n ? "; " : "", unl, unl == 1 ? "" : "s");
            for (int i = 0, k = 0; i < b->nruns; i++)
                if (!b->run_regime[i][0])
                    n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s %.0f s", k++ ? "," : "",
                                          b->run_budget[i]);
            n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, ")");
        }
        if (tt_jget(m, "tune"))
            n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%smachine.json records the last run "
                                  "only: %s regime, budget %.0f s; workload model %s", n ? "; " : "",
                                  tt_jstr(m, "tune.regime", "?"), tt_jnum(m, "tune.budget_s", 0),
                                  tt_jstr(m, "tune.model", "?"));
        row(md, "Tuning", buf);
    }
    if (tt_jget(m, "papi")) {
        bool ok = json_is_true(tt_jget(m, "papi.counters_available"));
        snprintf(buf, sizeof buf, "%s: hardware counters %s%s", tt_jstr(m, "papi.version", "?"),
                 ok ? "available" : "", ok ? "" : tt_jstr(m, "papi.reason", "unavailable (no reason recorded)"));
        row(md, "PAPI", buf);
    } else {
        row(md, "PAPI", tt_jstr(p, "papi", "not recorded"));
    }
    snprintf(buf, sizeof buf, "%s%s%s", tt_jstr(m, "energy.source", "not recorded"),
             *tt_jstr(m, "energy.detail", "") ? " — " : "", tt_jstr(m, "energy.detail", ""));
    row(md, "Energy source", buf);
    fprintf(md, "\n");
}

/* ---- kernels ---- */
static void role_row(FILE *md, const tt_bundle *b, const tt_rentry *e, const char *role, const tt_rrole *r, bool first)
{
    char s1[32], s2[32], s3[32], g[32], pct[32], sp[32];
    if (!r->present) {
        fprintf(md, "| %s | %s | %s | none | | | | | |\n", first ? e->shape : "", first ? e->regime : "", role);
        return;
    }
    double bw = tt_bundle_bw(b, e->threads);
    double frac = r->bw_frac > 0 ? r->bw_frac : (bw > 0 && r->gbps > 0 ? r->gbps / bw : NAN);
    if (e->baseline.present && e->baseline.median_ns > 0 && r->median_ns > 0)
        snprintf(sp, sizeof sp, "%.2f×", e->baseline.median_ns / r->median_ns);
    else
        snprintf(sp, sizeof sp, "–");
    if (isfinite(frac) && frac > 0) snprintf(pct, sizeof pct, "%.0f %%", 100 * frac);
    else snprintf(pct, sizeof pct, "–");
    fprintf(md, "| %s | %s | %s | `%s` | %s (%s–%s) | %s | %s | %s | %d |\n", first ? e->shape : "",
            first ? e->regime : "", role, r->variant, tt_rep_us(r->median_ns, s1, sizeof s1),
            tt_rep_us(r->p25_ns, s2, sizeof s2), tt_rep_us(r->p75_ns, s3, sizeof s3),
            tt_fmt_num(r->gbps, 2, g, sizeof g), pct, sp, r->samples);
}

static void regime_cells(FILE *md, const tt_bundle *b, const tt_rentry *e, double w_ns, double b_ns, double c_ns,
                         bool dram)
{
    char s1[32], s2[32], g[32];
    double bytes = tt_rep_bytes(&e->winner), bw = tt_bundle_bw(b, e->threads);
    double gbps = bytes > 0 && w_ns > 0 ? bytes / w_ns : NAN;
    fprintf(md, " %s | %s | ", tt_rep_us(w_ns, s1, sizeof s1), tt_rep_us(b_ns, s2, sizeof s2));
    if (w_ns > 0 && b_ns > 0) fprintf(md, "%.2f× |", b_ns / w_ns);
    else fprintf(md, "– |");
    if (dram) { /* the ceiling column (cold only) */
        if (c_ns > 0 && b_ns > 0) fprintf(md, " %.2f× |", b_ns / c_ns);
        else fprintf(md, " – |");
    }
    fprintf(md, " %s", tt_fmt_num(gbps, 2, g, sizeof g));
    if (dram && isfinite(gbps) && bw > 0) fprintf(md, " (%.0f %%)", 100 * gbps / bw);
    fprintf(md, " |");
}

static void kernels_section(FILE *md, const tt_bundle *b)
{
    fprintf(md, "## Kernels per shape\n\n");
    if (!b->profile) {
        fprintf(md, "> No profile: %s.\n\n", b->profile_problem);
        return;
    }
    if (!b->ne) {
        fprintf(md, "> profile.json has no usable entries%s%s.\n\n", *b->profile_problem ? ": " : "", b->profile_problem);
        return;
    }
    int *ix = tt_rep_order(b);
    if (!ix) return;
    fprintf(md, "Winner, runner-up and baseline of each race (medians over repetitions, p25–p75 in brackets). "
                "GB/s = packed weight bytes / median time; %% BW = share of the measured DRAM read bandwidth at that "
                "thread count; speedup = baseline median / median. The baseline is the bitnet.cpp-style kernel "
                "(`_base` trick).\n\n");
    int last_m = -1, last_k = -1, last_t = -1;
    const char *last_r = "";
    for (int q = 0; q < b->ne; q++) {
        const tt_rentry *e = &b->e[ix[q]];
        if (e->m != last_m || e->k != last_k || e->threads != last_t || strcmp(e->regime, last_r)) {
            fprintf(md, "%s### %s — %d×%d, %d thread%s (race regime: %s, %d candidates, %d verified, %d excluded)\n\n"
                        "| shape | regime | role | variant | median µs (p25–p75) | GB/s | %% BW | speedup vs baseline | "
                        "samples |\n|---|---|---|---|---|---|---|---|---|\n",
                    q ? "\n" : "", e->shape, e->m, e->k, e->threads, e->threads == 1 ? "" : "s", e->regime, e->candidates,
                    e->verified, e->excluded);
            last_m = e->m, last_k = e->k, last_t = e->threads, last_r = e->regime;
        }
        role_row(md, b, e, "winner", &e->winner, true);
        role_row(md, b, e, "runner-up", &e->runner_up, false);
        role_row(md, b, e, "baseline", &e->baseline, false);
    }
    fprintf(md, "\n### Both regimes, labelled\n\n"
                "cold = weights streamed from DRAM (rotating copies larger than the caches); warm = one copy, "
                "cache-resident where it fits. %% BW is shown for cold only: warm runs read from cache and may exceed "
                "the DRAM line. cold: ceiling = the baseline's time over a pure streaming read of the same I2_S bytes (no "
                "compute) in the same session: the largest cold I2_S speedup this machine allows (– where the profile "
                "predates it). race = the regime the entry's race ran in (a cold race and a warm race of the same "
                "shape and threads are separate rows; both measure their winner in both regimes).\n\n"
                "| shape | M×K | threads | race | cold: winner µs | cold: baseline µs | cold: speedup | cold: ceiling "
                "| cold: GB/s (%% BW) | warm: winner µs | warm: baseline µs | warm: speedup | warm: GB/s |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int q = 0; q < b->ne; q++) {
        const tt_rentry *e = &b->e[ix[q]];
        fprintf(md, "| %s | %d×%d | %d | %s race |", e->shape, e->m, e->k, e->threads, e->regime);
        regime_cells(md, b, e, e->cold_winner_ns, e->cold_baseline_ns, e->cold_ceiling_ns, true);
        regime_cells(md, b, e, e->warm_winner_ns, e->warm_baseline_ns, 0, false);
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
    free(ix);
}

/* Prefill races (profile 1.1 "prefill"): the GEMM winner per (shape, threads), the fastest GEMM on the GEMV
 * winner's bytes, and the GEMV winner token by token, from one interleaved session each. */
static void prefill_section(FILE *md, const tt_bundle *b)
{
    json_t *pre = b->profile ? json_object_get(b->profile, "prefill") : NULL;
    if (!json_is_array(pre) || !json_array_size(pre)) {
        if (b->profile) fprintf(md, "## Prefill kernels\n\n> The profile has no prefill races (made before profile 1.1, or stopped before they ran).\n\n");
        return;
    }
    fprintf(md, "## Prefill kernels\n\nBatched GEMM per shape and thread count, warm weights, `tokens` tokens per weight "
                "pass (the model's prefill chunk). Every GEMM kernel was checked against the oracle on the shape, then "
                "timed interleaved with the GEMV winner run token by token (the reference). *On the GEMV's bytes*: the "
                "fastest GEMM that reads the decode kernel's packed copy; the model keeps a second copy for the winner "
                "only when it is at least 1.25× faster than that one.\n\n"
                "| shape | M×K | threads | tokens | winner | µs | GMAC/s | vs token-by-token GEMV | on the GEMV's bytes | "
                "its time / winner's | verified (excluded) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    size_t i;
    json_t *g;
    json_array_foreach(pre, i, g)
    {
        double m = tt_jnum(g, "m", 0), k = tt_jnum(g, "k", 0), n = tt_jnum(g, "tokens", 0), w = tt_jnum(g, "winner_ns", 0);
        double gv = tt_jnum(g, "gemv_ns", 0), sh = tt_jnum(g, "shared_ns", 0);
        if (!(w > 0) || !(m > 0) || !(k > 0) || !(n > 0)) {
            fprintf(md, "| prefill[%zu] | malformed entry (no positive m, k, tokens or winner time) |||||||||||\n", i);
            continue;
        }
        char vs[32] = "–", rel[32] = "–", shn[200] = "none";
        if (gv > 0) snprintf(vs, sizeof vs, "%.2f×", gv / w);
        if (sh > 0) snprintf(rel, sizeof rel, "%.2f×", sh / w);
        if (*tt_jstr(g, "shared", "")) snprintf(shn, sizeof shn, "`%s`", tt_jstr(g, "shared", ""));
        fprintf(md, "| %s | %.0f×%.0f | %.0f | %.0f | `%s` | %.1f | %.0f | %s | %s | %s | %.0f (%.0f) |\n",
                tt_jstr(g, "shape", "?"), m, k, tt_jnum(g, "threads", 0), n, tt_jstr(g, "winner", "?"), w / 1e3,
                m * k * n / w, vs, shn, rel, tt_jnum(g, "verified", 0), tt_jnum(g, "excluded", 0));
    }
    fprintf(md, "\n");
}

/* Best variant per (shape, threads, regime) and (format, ISA), from the Google Benchmark files. */
typedef struct fmt_isa_best {
    int m, k, threads;
    char regime[8], race[8];
    int fmt, isa;
    const tt_rgb_bench *best;
    double best_ns;
    int timed;
} fmt_isa_best;

static const tt_bundle *order_b; /* the bundle cmp_best ranks shapes in (qsort has no context argument) */

/* Position of shape MxK in the profile (the order tune listed the model's shapes), else after all of them. */
static int shape_rank(int m, int k)
{
    for (int i = 0; i < order_b->ne; i++)
        if (order_b->e[i].m == m && order_b->e[i].k == k) return i;
    return order_b->ne;
}

static int cmp_best(const void *a, const void *b)
{
    const fmt_isa_best *x = a, *y = b;
    if (x->threads != y->threads) return x->threads - y->threads;
    int c = strcmp(x->regime, y->regime);
    if (c) return c;
    if ((c = strcmp(x->race, y->race))) return c;
    int rx = shape_rank(x->m, x->k), ry = shape_rank(y->m, y->k);
    if (rx != ry) return rx - ry;
    if (x->m != y->m) return x->m - y->m;
    if (x->k != y->k) return x->k - y->k;
    if (x->fmt != y->fmt) return x->fmt - y->fmt;
    return x->isa - y->isa;
}

/* The reference kernel the speedups are against: the profile's baseline (the same for every entry), else the I2_S
 * `_base` variant timed, else any `_base` variant. */
static const char *baseline_name(const tt_bundle *b)
{
    for (int i = 0; i < b->ne; i++)
        if (b->e[i].baseline.present) return b->e[i].baseline.variant;
    const char *any = NULL;
    for (int i = 0; i < b->gb.n; i++) {
        const char *v = b->gb.b[i].variant;
        size_t l = strlen(v);
        if (!b->gb.b[i].shaped || l < 5 || strcmp(v + l - 5, "_base")) continue;
        if (!strncmp(v, "tt_i2s_", 7)) return v;
        if (!any) any = v;
    }
    return any;
}

static double baseline_ns(const tt_bundle *b, const fmt_isa_best *g, const char *base)
{
    for (int i = 0; base && i < b->gb.n; i++) {
        const tt_rgb_bench *x = &b->gb.b[i];
        if (x->shaped && x->m == g->m && x->k == g->k && x->threads == g->threads && !strcmp(x->regime, g->regime) &&
            !strcmp(x->race, g->race) && !strcmp(x->variant, base))
            return tt_rgb_median_ns(x);
    }
    return NAN;
}

static void formats_section(FILE *md, const tt_bundle *b)
{
    fprintf(md, "## Best variant per format and ISA\n\n");
    if (!b->gb.n) {
        fprintf(md, "> No Google Benchmark results (%s): this section needs results/<cpu-id>/gbench/*.json.\n\n",
                *b->gbench_problem ? b->gbench_problem : "none found");
        return;
    }
    fmt_isa_best *g = calloc((size_t)b->gb.n, sizeof *g);
    if (!g) return;
    int ng = 0, unparsed = 0, errors = 0, ceilings = 0, cpu_bps = 0;
    for (int i = 0; i < b->gb.n; i++) {
        const tt_rgb_bench *x = &b->gb.b[i];
        tt_name_parts parts;
        if (x->error) {
            errors++;
            continue;
        }
        if (!strncmp(x->variant, "ceiling_stream_read", 19)) { /* the tuner's pure-read rows: in the regimes table */
            ceilings++;
            continue;
        }
        if (!x->shaped || !tt_name_parse(x->variant, &parts)) {
            unparsed++;
            continue;
        }
        double t = tt_rgb_median_ns(x);
        if (!isfinite(t)) continue;
        cpu_bps += x->bps_from_cpu;
        int j = 0;
        for (; j < ng; j++)
            if (g[j].m == x->m && g[j].k == x->k && g[j].threads == x->threads && !strcmp(g[j].regime, x->regime) &&
                !strcmp(g[j].race, x->race) && g[j].fmt == (int)parts.fmt && g[j].isa == (int)parts.isa)
                break;
        if (j == ng) {
            g[ng] = (fmt_isa_best){x->m, x->k, x->threads, "", "", (int)parts.fmt, (int)parts.isa, NULL, INFINITY, 0};
            snprintf(g[ng].regime, sizeof g[ng].regime, "%s", x->regime);
            snprintf(g[ng].race, sizeof g[ng].race, "%s", x->race);
            ng++;
        }
        g[j].timed++;
        if (t < g[j].best_ns) g[j].best_ns = t, g[j].best = x;
    }
    order_b = b; /* qsort has no context argument; reports are single-threaded */
    qsort(g, (size_t)ng, sizeof *g, cmp_best);
    const char *base = baseline_name(b);
    fprintf(md, "From %d Google Benchmark file(s) in gbench/ (median real time over repetitions; speedup against "
                "the baseline `%s` timed in the same run). GB/s = packed weight bytes / real (wall) time, the same "
                "definition as every other table here and as Google Benchmark's own `bytes_per_second` (the "
                "benchmarks use real time)%s. regime = the regime the row was measured in; race = the race whose "
                "gbench file it comes from (`<shape>_<M>x<K>_t<N>_<race>.json`; – for files named before the race "
                "was in the name), so a cold race's and a warm race's results are separate rows.\n\n"
                "| shape | M×K | threads | regime | race | format | ISA | best variant | median µs | GB/s | vs baseline | "
                "variants timed |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            b->ngb_files, base ? base : "(none timed)",
            cpu_bps ? "; these files are older, and their CPU-time `bytes_per_second` was put on real time here "
                      "(× cpu_time / real_time)" : "");
    for (int j = 0; j < ng; j++) {
        char s1[32], s2[32];
        const char *shape = tt_bundle_shape_name(b, g[j].m, g[j].k);
        double base_ns = baseline_ns(b, &g[j], base);
        fprintf(md, "| %s | %d×%d | %d | %s | %s | %s | %s | `%s` | %s | %s | ", shape ? shape : "–", g[j].m, g[j].k,
                g[j].threads, g[j].regime, *g[j].race ? g[j].race : "–", tt_fmt_name((tt_fmt)g[j].fmt), tt_isa_name((tt_isa)g[j].isa),
                g[j].best->variant, tt_rep_us(g[j].best_ns, s1, sizeof s1),
                tt_fmt_num(tt_rgb_gbps(g[j].best), 2, s2, sizeof s2));
        if (isfinite(base_ns)) fprintf(md, "%.2f× | %d |\n", base_ns / g[j].best_ns, g[j].timed);
        else fprintf(md, "– | %d |\n", g[j].timed);
    }
    if (unparsed) fprintf(md, "\n%d benchmark(s) with names outside the `<variant>/<M>x<K>/t<T>/<regime>` grammar were "
                              "left out.\n", unparsed);
    if (errors) fprintf(md, "\n%d benchmark(s) reported an error and were left out.\n", errors);
    if (ceilings) fprintf(md, "\n%d read-ceiling row(s) (a pure read of the same bytes, no compute) are not kernels: "
                              "they are in the regimes table above as \"cold: ceiling\".\n", ceilings);
    fprintf(md, "\n");
    free(g);
}

/* ---- end to end ---- */
static void e2e_table(FILE *md, const tt_bundle *b, const tt_re2e *e);

static void e2e_section(FILE *md, const tt_bundle *b)
{
    fprintf(md, "## End to end\n\n");
    if (!b->e2e.present) {
        fprintf(md, "> No end-to-end results: %s.\n\n", *b->e2e.problems ? b->e2e.problems : "e2e.json missing");
    } else {
        e2e_table(md, b, &b->e2e);
    }
    if (b->e2e_q8.present) {
        fprintf(md, "### With the 8-bit LM head (e2e_q8.json)\n\n");
        e2e_table(md, b, &b->e2e_q8);
    }
}

/* One ceiling cell of a tg row (bench-e2e's read or compute ceiling): its t/s, decode's share of it, and "lower"
 * on the one that bounds; "–" where the file has none (pp rows, --no-ceiling, files from before it). */
static void ceiling_cell(FILE *md, double ts, double frac, bool lower)
{
    if (!(isfinite(ts) && ts > 0)) {
        fprintf(md, " – |");
        return;
    }
    fprintf(md, " %.2f", ts);
    if (isfinite(frac) && frac > 0) fprintf(md, " (%.0f %%)", 100 * frac);
    fprintf(md, "%s |", lower ? ", the lower" : "");
}

static void e2e_table(FILE *md, const tt_bundle *b, const tt_re2e *e)
{
    char s1[32], s2[32], s3[32];
    char info[512];
    size_t n = (size_t)snprintf(info, sizeof info, "Model `%s`", *e->model ? e->model : "(not named)");
    if (e->size_bytes > 0)
        n += (size_t)snprintf(info + n, sizeof info - n, " · %s", tt_fmt_bytes(e->size_bytes, s1, sizeof s1));
    if (e->params > 0 && n < sizeof info) n += (size_t)snprintf(info + n, sizeof info - n, " · %.2f × 10⁹ parameters", e->params / 1e9);
    if (*e->lm_head && n < sizeof info) snprintf(info + n, sizeof info - n, " · lm_head: %s", e->lm_head);
    fprintf(md, "%s. tokens/s is the mean ± standard deviation over the samples; GB/s = bytes streamed per token × "
                "tokens/s; every J/token carries its energy source in brackets. For tg rows, bench-e2e's two ceilings "
                "beside each bandwidth probe (highest value; decode's median share): the read ceiling replays a "
                "token's weight reads with a pure reader, the compute ceiling times the same kernels on cache-resident "
                "rows; the lower one, the one decode came closer to, bounds the decode (docs/MEASUREMENT.md, "
                "\"Ceilings\").\n\n", info);
    fprintf(md, "| test | threads | tokens/s | samples | bytes/token | GB/s | %% BW | J/token [energy source] | "
                "read ceiling, t/s (decode %%) | compute ceiling, t/s (decode %%) |\n"
                "|---|---|---|---|---|---|---|---|---|---|\n");
    const char *sources[8];
    int nsrc = 0;
    for (int i = 0; i < e->n; i++) {
        const tt_re2e_row *r = &e->rows[i];
        double frac = r->bw_frac > 0 ? r->bw_frac : (r->gbps > 0 && tt_bundle_bw(b, r->threads) > 0
                                                         ? r->gbps / tt_bundle_bw(b, r->threads) : NAN);
        fprintf(md, "| %s | %d | %.2f ± %s | %d | %s | %s | ", r->test, r->threads, r->ts_mean,
                isfinite(r->ts_std) ? tt_fmt_num(r->ts_std, 2, s1, sizeof s1) : "?", r->nsamples,
                tt_fmt_bytes(r->bytes_per_token, s2, sizeof s2), tt_fmt_num(r->gbps, 2, s3, sizeof s3));
        if (isfinite(frac) && frac > 0) fprintf(md, "%.0f %% | ", 100 * frac);
        else fprintf(md, "– | ");
        const char *src = r->energy_source[0] ? r->energy_source : "source unknown";
        if (isfinite(r->j_per_token)) fprintf(md, "%.4g J [%s] |", r->j_per_token, src);
        else fprintf(md, "– (no energy reported) |");
        const bool both = isfinite(r->read_ceil_ts) && r->read_ceil_ts > 0 && isfinite(r->comp_ceil_ts) && r->comp_ceil_ts > 0,
                   comp = tt_compute_ceiling_binds(r->read_ceil_ts, r->read_ceil_frac, r->comp_ceil_ts, r->comp_ceil_frac);
        ceiling_cell(md, r->read_ceil_ts, r->read_ceil_frac, both && !comp);
        ceiling_cell(md, r->comp_ceil_ts, r->comp_ceil_frac, both && comp);
        fprintf(md, "\n");
        if (!isfinite(r->j_per_token)) continue;
        int s = 0;
        while (s < nsrc && strcmp(sources[s], r->energy_source)) s++;
        if (s == nsrc && nsrc < 8) sources[nsrc++] = r->energy_source;
    }
    if (*e->problems) fprintf(md, "\nNote: %s.\n", e->problems);
    if (nsrc) {
        fprintf(md, "\nEnergy sources:\n\n");
        for (int s = 0; s < nsrc; s++) tt_rep_energy_note(md, sources[s], b->machine);
    }
    fprintf(md, "\n");
}

/* ---- the command ---- */
static void usage(FILE *o)
{
    fprintf(o, "usage: tritune report RESULTS_DIR [--out DIR]\n"
               "       tritune report --index CPUS_DIR [--out FILE]\n"
               "  RESULTS_DIR is a results/<cpu-id>/ folder written by `tritune tune`: machine.json, profile.json,\n"
               "  gbench/*.json (Google Benchmark JSON) and, optionally, e2e.json (end-to-end tokens/s and energy).\n"
               "  Writes DIR/report.md (default RESULTS_DIR/report) opening with the machine block, then per-shape\n"
               "  kernel tables (cold and warm regimes, labelled), the best variant per format and ISA, charts\n"
               "  (DIR/charts/*.png and *.svg, drawn with gnuplot when it is on PATH; the scripts and data stay next\n"
               "  to them), and end-to-end tokens/s and J/token with the energy source of every number.\n"
               "  --index: one Markdown table across the per-CPU bundles in CPUS_DIR (each subfolder is a results\n"
               "  folder); writes CPUS_DIR/README.md unless --out says otherwise.\n"
               "  Exit status: 0 written (also without gnuplot), 1 input unreadable or output not writable, 2 usage.\n");
}

static int write_report(const char *dir, const char *out)
{
    tt_bundle b;
    if (tt_bundle_load(dir, &b)) {
        fprintf(stderr, "tritune report: %s\n", tt_last_error());
        tt_bundle_free(&b);
        return 1;
    }
    char outdir[1024], charts[1100], path[1200];
    if (out) snprintf(outdir, sizeof outdir, "%s", out);
    else snprintf(outdir, sizeof outdir, "%s/report", dir);
    snprintf(charts, sizeof charts, "%s/charts", outdir);
    if (tt_mkdirs(charts)) {
        fprintf(stderr, "tritune report: %s\n", tt_last_error());
        tt_bundle_free(&b);
        return 1;
    }
    snprintf(path, sizeof path, "%s/report.md", outdir);
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *md = fopen(tmp, "w");
    if (!md) {
        fprintf(stderr, "tritune report: cannot write %s: %s\n", tmp, strerror(errno));
        tt_bundle_free(&b);
        return 1;
    }
    const char *brand = tt_jstr(b.machine, "cpu.brand", tt_jstr(b.profile, "cpu.brand", "unknown CPU"));
    fprintf(md, "# tritune report — %s\n\n", brand);
    fprintf(md, "Generated by `tritune report` from `%s`%s%s%s.\n\n", dir, *tt_bundle_model(&b) ? " (workload model: " : "",
            tt_bundle_model(&b), *tt_bundle_model(&b) ? ")" : "");
    machine_section(md, &b);
    kernels_section(md, &b);
    prefill_section(md, &b);
    formats_section(md, &b);
    int drawn = tt_rep_charts(md, &b, charts, "charts");
    e2e_section(md, &b);
    int bad = ferror(md);
    bad |= fclose(md);
    if (bad || rename(tmp, path)) {
        fprintf(stderr, "tritune report: writing %s failed: %s\n", path, strerror(errno));
        tt_bundle_free(&b);
        return 1;
    }
    if (drawn < 0) {
        char exe[16], why[1200];
        tt_gnuplot_find(exe, sizeof exe, why, sizeof why);
        fprintf(stderr, "tritune report: gnuplot not found (%s): charts not drawn; their scripts and data are in %s "
                        "(install gnuplot and run `gnuplot NAME.gp` there). The Markdown report is complete otherwise.\n",
                why, charts);
    }
    printf("wrote %s%s\n", path, drawn > 0 ? " and charts" : "");
    tt_bundle_free(&b);
    return 0;
}

int tt_cmd_report(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *index = NULL;
    const tt_opt opts[] = {TT_O_STR("--out", "-o", &out), TT_O_STR("--index", NULL, &index)};
    int rc = tt_opt_parse(&(tt_cmd){.verb = "report", .usage = usage, .opts = opts, .nopts = TT_NOPTS(opts),
                                    .pos = &dir, .max_pos = 1},
                          argc, argv);
    if (rc >= 0) return rc;
    if (index && dir) {
        fprintf(stderr, "tritune report: give either RESULTS_DIR or --index CPUS_DIR, not both\n");
        return 2;
    }
    if (index) return tt_rep_index(index, out);
    if (!dir) {
        usage(stderr);
        return 2;
    }
    return write_report(dir, out);
}
