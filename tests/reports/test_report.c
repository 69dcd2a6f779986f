/* tritune report: the Markdown from fixed result files (tests/reports/data/), the charts when gnuplot is installed,
 * a clear message and a complete Markdown without it, energy labels on every energy number, defensive reading of
 * a missing or malformed e2e.json, and the index across two CPU bundles. */
#include "tt_report_cli.h"
#include "tt_rplot.h"
#include "tt_rtest.h"

#include <ctype.h>

static char tmpdir[] = "/tmp/tt_reports_XXXXXX";

static int report(const char *tag, char **out, char **err, const char *a1, const char *a2, const char *a3,
                  const char *a4)
{
    char *argv[] = {"report", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 1;
    while (argv[argc]) argc++;
    return rt_run(tt_cmd_report, tmpdir, tag, out, err, argc, argv);
}

static bool has(const char *text, const char *needle)
{
    bool ok = text && strstr(text, needle);
    if (!ok) fprintf(stderr, "  missing: %s\n", needle);
    return ok;
}

/* Every energy number is written "<number> J [<source>]" with a known source label: find each digit followed by
 * " J" and require the bracketed label right after. */
static int unlabelled_energy(const char *md)
{
    static const char *const labels[] = {"[estimated-model]", "[measured-RAPL]", "[measured-PAPI]", "[measured-perf]",
                                         "[measured-other]", "[source unknown]"};
    int bad = 0;
    for (const char *p = md; (p = strstr(p, " J")); p += 2) {
        if (p == md || !isdigit((unsigned char)p[-1])) continue;
        bool ok = false;
        for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
            ok |= !strncmp(p + 2, " ", 1) && !strncmp(p + 3, labels[i], strlen(labels[i]));
        if (!ok) {
            fprintf(stderr, "  energy value without a source label: ...%.40s\n", p - 8);
            bad++;
        }
    }
    return bad;
}

static int count_energy(const char *md)
{
    int n = 0;
    for (const char *p = md; (p = strstr(p, " J [")); p += 4) n++;
    return n;
}

static void check_png_svg(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    char *png = rt_slurp(path);
    CHECKF(rt_size(path) > 1000, "%s is %ld bytes", path, rt_size(path));
    CHECKF(png && !memcmp(png, "\x89PNG", 4), "%s is not a PNG", path);
    free(png);
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    char *svg = rt_slurp(path);
    CHECKF(svg && strstr(svg, "<svg"), "%s is not an SVG", path);
    free(svg);
}

static void test_full_report(const char *bundle, bool gnuplot)
{
    char out[512], md_path[600], charts[600];
    snprintf(out, sizeof out, "%s/full", tmpdir);
    char *so, *se;
    int rc = report("full", &so, &se, bundle, "--out", out, NULL);
    CHECKF(rc == 0, "report exit %d: %s", rc, se);
    snprintf(md_path, sizeof md_path, "%s/report.md", out);
    char *md = rt_slurp(md_path);
    CHECK(md != NULL);
    if (!md) return;
    /* Opens with the machine: title, then the machine section before anything else. */
    CHECK(!strncmp(md, "# tritune report — AMD EPYC\n", strlen("# tritune report — AMD EPYC\n")));
    const char *mach = strstr(md, "## Machine"), *kern = strstr(md, "## Kernels per shape");
    CHECK(mach && kern && mach < kern);
    CHECK(strstr(md, "## ") == mach); /* the first section is the machine */
    CHECK(has(md, "| CPU | AMD EPYC (AuthenticAMD, x86_64, family 25 model 17 stepping 1) |"));
    CHECK(has(md, "| cpu-id | amd-epyc-f25m17-2c |"));
    CHECK(has(md, "| Topology | 1 package(s), 2 cores, 2 PUs, 1 NUMA node(s) |"));
    CHECK(has(md, "| Caches | L1d 48 KiB × 2, L2 1 MiB × 2, L3 32 MiB × 1 |"));
    CHECK(has(md, "| ISA usable (CPUID and OS) | sse42 avx2 fma avx512f avx512bw avx512vl avx512vnni avx512vbmi |"));
    CHECK(has(md, "| ISA in CPUID but not enabled by the OS | amx_tile |"));
    CHECK(has(md, "| Memory read bandwidth (measured) | 1 thread: 19.8 GB/s · 2 threads: 27.4 GB/s |"));
    CHECK(has(md, "(19.1 GB/s vs 61.5 GB/s in cache) at 48 MiB; the cold regime rotates 256 MiB"));
    CHECK(has(md, "| OS | Linux 6.1.0-test x86_64 |"));
    CHECK(has(md, "| Compiler | gcc 12.2.0; flags: -O3 |"));
    CHECK(has(md, "| Commit | 17cba16 |"));
    CHECK(has(md, "| Date | 2026-11-26T14:00:00Z |"));
    CHECK(has(md, "| Threads | tuned at 1, 2 thread(s)"));
    CHECK(has(md, "| PAPI | 7.0.1.0: hardware counters unavailable: "));
    CHECK(has(md, "| Energy source | estimated-model — "));
    /* Kernel tables: winner vs runner-up vs baseline, both regimes labelled. */
    CHECK(has(md, "### attn_q_o — 2560×2560, 1 thread (race regime: cold, 236 candidates, 236 verified, 0 excluded)"));
    CHECK(has(md, "| attn_q_o | cold | winner | `tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni` | 96.22 (94.29–99.10) | "
                  "17.03 | 86 % | 1.87× | 15 |"));
    CHECK(has(md, "|  |  | runner-up | `tt_i2s_gemv_r16_u2_f0_p0__avx512vnni` | 103.4 (101.4–106.5) | 15.84 | 80 % | "
                  "1.74× | 15 |"));
    CHECK(has(md, "|  |  | baseline | `tt_i2s_gemv_r1_u1_f64_p0__avx2_base` | 179.9 (176.3–185.3) | 9.11 | 46 % | "
                  "1.00× | 15 |"));
    CHECK(has(md, "| shape | M×K | threads | race | cold: winner µs | cold: baseline µs | cold: speedup | cold: ceiling "
                  "| cold: GB/s (% BW) | warm: winner µs |"));
    /* an entry without the read ceiling (older profiles) shows a dash; one with it, baseline / ceiling */
    CHECK(has(md, "| attn_q_o | 2560×2560 | 1 | cold race | 96.22 | 179.9 | 1.87× | – | 17.03 (86 %) | 43.30 | 125.9 | "
                  "2.91× | 37.84 |"));
    CHECK(has(md, "| attn_q_o | 2560×2560 | 2 | cold race | 74.74 | 115.0 | 1.54× | 1.62× | 21.92 (80 %) |"));
    /* Prefill races: ratios from the medians; a malformed entry is named, not dropped silently */
    CHECK(has(md, "## Prefill kernels"));
    CHECK(has(md, "| attn_q_o | 2560×2560 | 1 | 64 | `tt_i2s_gemm_r8_n2_u1_f0_p1024__avx512vnni` | 912.3 | 460 | 1.97× | "
                  "`tt_i2s_gemm_r4_n4_u1_f0_p0_il__avx512vnni` | 1.04× | 56 (0) |"));
    CHECK(has(md, "| prefill[1] | malformed entry"));
    /* Per format and ISA, from the gbench file (names parsed with the kernel-name grammar). */
    /* (t1.json: a file name from before the race regime was in it, shown as "–" in the race column) */
    CHECK(has(md, "| attn_q_o | 2560×2560 | 1 | cold | – | i2s | avx512vnni | `tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni` |"));
    CHECK(has(md, "| attn_q_o | 2560×2560 | 1 | cold | – | i2s | scalar | `tt_i2s_gemv_r4_u1_f0_p0__scalar` |"));
    CHECK(has(md, "| ffn_down | 2560×6912 | 1 | warm | – | i2s | avx2 | `tt_i2s_gemv_r4_u1_f16_p512__avx2` |"));
    CHECK(has(md, "GB/s = packed weight bytes / real (wall) time"));
    /* End to end with the energy source named and explained. */
    CHECK(has(md, "| tg128 | 2 | 20.30 ± 0.40 | 5 | 1.0 GiB | 22.13 | 81 % | 0.5233 J [estimated-model] | – | – |"));
    /* bench-e2e's two ceilings on a tg row that has them: t/s, decode's share, and which one bounds */
    CHECK(has(md, "| tg128 | 1 | 13.90 ± 0.20 | 5 | 1.0 GiB | 15.15 | 76 % | 0.6012 J [estimated-model] | 18.10 (77 %) | "
                  "16.90 (82 %), the lower |"));
    CHECK(has(md, "read ceiling, t/s (decode %) | compute ceiling, t/s (decode %) |"));
    CHECK(has(md, "| pp512 | 2 | 41.20 ± 0.60 | 5 |"));
    CHECK(has(md, "**estimated-model** — *not a measurement*"));
    CHECK(has(md, "no RAPL powercap zones"));
    /* the 8-bit LM head's table from e2e_q8.json, its label in full */
    CHECK(has(md, "### With the 8-bit LM head (e2e_q8.json)"));
    CHECK(has(md, "lm_head: q8 (int8 rows + f32 row scale, requantized at load)"));
    CHECK(has(md, "| tg128 | 2 | 26.10 ± 0.30 | 3 | 820.2 MiB | 22.45 | 82 % | 0.4011 J [estimated-model] |"));
    /* the lower ceiling is the one decode came closer to, not the one with the lower highest value: here one read
     * ceiling measurement of 41.89 t/s stood above the others, while decode reached 89 % of the read ceiling and
     * 64 % of the compute one (a bench-e2e row of stop 35) */
    CHECK(has(md, "| 41.89 (89 %), the lower | 41.09 (64 %) |"));
    CHECK(count_energy(md) == 4);
    CHECK(unlabelled_energy(md) == 0);
    snprintf(charts, sizeof charts, "%s/charts", out);
    char gp[700];
    snprintf(gp, sizeof gp, "%s/roofline.gp", charts);
    char *script = rt_slurp(gp);
    CHECK(script && strstr(script, "measured DRAM read bandwidth") && strstr(script, "set ylabel"));
    free(script);
    if (gnuplot) {
        CHECK(has(md, "![roofline](charts/roofline.png)"));
        CHECK(has(md, "![scaling](charts/scaling.png)"));
        CHECK(has(md, "![speedup](charts/speedup.png)"));
        CHECK(has(md, "([SVG](charts/roofline.svg))"));
        check_png_svg(charts, "roofline");
        check_png_svg(charts, "scaling");
        check_png_svg(charts, "speedup");
        CHECK(has(so, "wrote ") && has(so, "and charts"));
    } else {
        printf("gnuplot not on PATH: chart images not checked (only their scripts)\n");
    }
    free(md), free(so), free(se);
}

static void test_no_gnuplot(const char *bundle)
{
    char empty[512], out[512], path[600];
    snprintf(empty, sizeof empty, "%s/emptybin", tmpdir);
    mkdir(empty, 0755);
    snprintf(out, sizeof out, "%s/nognuplot", tmpdir);
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", empty, 1);
    char *so, *se;
    int rc = report("nognuplot", &so, &se, bundle, "--out", out, NULL);
    if (old) setenv("PATH", old, 1);
    free(old);
    CHECKF(rc == 0, "report without gnuplot exit %d: %s", rc, se);
    CHECK(has(se, "gnuplot not found"));
    CHECK(has(se, "The Markdown report is complete otherwise"));
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = rt_slurp(path);
    CHECK(md && has(md, "## Machine") && has(md, "## End to end") && has(md, "0.6012 J [estimated-model]"));
    CHECK(md && has(md, "Charts not drawn: gnuplot was not found"));
    snprintf(path, sizeof path, "%s/charts/roofline.png", out);
    CHECK(rt_size(path) < 0);
    snprintf(path, sizeof path, "%s/charts/roofline.gp", out);
    CHECK(rt_size(path) > 0); /* the script is there to draw it later */
    free(md), free(so), free(se);
}

static void test_e2e_defensive(const char *bundle)
{
    char dir[512], from[700], to[700], path[700];
    snprintf(dir, sizeof dir, "%s/partial", tmpdir);
    mkdir(dir, 0755);
    static const char *const files[] = {"machine.json", "profile.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/%s", bundle, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        CHECK(rt_copy(from, to));
    }
    char *so, *se, *md;
    /* No e2e.json, no gbench/: said, and the report still comes out. */
    int rc = report("partial", &so, &se, dir, NULL, NULL, NULL);
    CHECKF(rc == 0, "exit %d: %s", rc, se);
    snprintf(path, sizeof path, "%s/report/report.md", dir); /* default --out */
    md = rt_slurp(path);
    CHECK(md && has(md, "No end-to-end results") && has(md, "e2e.json"));
    CHECK(md && has(md, "No Google Benchmark results"));
    CHECK(md && has(md, "| attn_q_o | cold | winner |"));
    free(md), free(so), free(se);
    /* An e2e.json with other keys. */
    snprintf(path, sizeof path, "%s/e2e.json", dir);
    CHECK(rt_write(path, "{\"results\": [{\"name\": \"tg128\", \"tps\": 12.5}]}"));
    rc = report("partial2", &so, &se, dir, NULL, NULL, NULL);
    CHECK(rc == 0);
    snprintf(path, sizeof path, "%s/report/report.md", dir);
    md = rt_slurp(path);
    CHECK(md && has(md, "no \"rows\" array (keys differ"));
    free(md), free(so), free(se);
    /* Energy without a source label is shown as such, never bare. */
    snprintf(path, sizeof path, "%s/e2e.json", dir);
    CHECK(rt_write(path, "{\"model\": \"m\", \"rows\": [{\"test\": \"tg128\", \"threads\": 1, \"ts_mean\": 10.0, "
                         "\"energy_j_per_token\": 0.5}]}"));
    rc = report("partial3", &so, &se, dir, NULL, NULL, NULL);
    snprintf(path, sizeof path, "%s/report/report.md", dir);
    md = rt_slurp(path);
    CHECK(md && has(md, "0.5 J [source unknown]") && has(md, "no energy_source"));
    CHECK(md && unlabelled_energy(md) == 0);
    free(md), free(so), free(se);
    /* A folder with neither machine.json nor profile.json is refused with exit 1. */
    snprintf(path, sizeof path, "%s/nothing", tmpdir);
    mkdir(path, 0755);
    rc = report("nothing", &so, &se, path, NULL, NULL, NULL);
    CHECK(rc == 1 && has(se, "neither machine.json nor profile.json"));
    free(so), free(se);
}

static void test_index(void)
{
    char cpus[512], out[512];
    snprintf(cpus, sizeof cpus, "%s/tests/reports/data/cpus", rt_srcdir());
    snprintf(out, sizeof out, "%s/index.md", tmpdir);
    char *so, *se;
    int rc = report("index", &so, &se, "--index", cpus, "--out", out);
    CHECKF(rc == 0, "index exit %d: %s", rc, se);
    char *md = rt_slurp(out);
    CHECK(md != NULL);
    if (md) {
        int rows = 0;
        const char *sep = strstr(md, "|---|");
        for (const char *p = sep ? strchr(sep, '\n') : NULL; p && p[1] == '|'; p = strchr(p + 1, '\n')) rows++;
        CHECKF(rows == 2, "index has %d rows", rows);
        CHECK(has(md, "| CPU | cores | ISA | read GB/s | tokens/s (decode, threads) | J/token [energy source] |"));
        CHECK(has(md, "| speedup over baseline | provenance |"));
        CHECK(has(md, "| AMD EPYC<br>[`amd-epyc-f25m17-2c`]"));
        CHECK(has(md, "| Intel(R) Xeon(R) Gold 6430<br>"));
        CHECK(has(md, "| 20.30 ± 0.40 (2t) **["));
        CHECK(has(md, "]** | 0.5233 J [estimated-model] |"));
        CHECK(has(md, "does not record its decode kernel"));
        CHECK(has(md, "| – (no e2e) | – |"));
        CHECK(has(md, "attn_q_o (t2, cold): `tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni` 1.54×"));
        CHECK(has(md, "avx2 avxvnni avx512bw avx512vnni avx512vbmi"));
        CHECK(has(md, "cold (geomean, 2 shapes)"));
        CHECK(unlabelled_energy(md) == 0);
    }
    free(md), free(so), free(se);
}


/* A fabricated bundle with a cold race and a warm race of the same shape and threads (gbench files named with the
 * race regime), AMX in machine.json, a cold rotation under 2x the L3, a flagged profile entry, an unknown commit,
 * and two end-to-end files (the tuned one must be the one shown). */
static void write_fab_bundle(const char *dir)
{
    char path[700];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/machine.json", dir);
    CHECK(rt_write(path, "{\"cpu_id\": \"test-cpu-f6m99-4c\", \"cpu\": {\"arch\": \"x86_64\", \"brand\": \"Test CPU 9000\"},"
                         " \"isa_os\": {\"avx2\": true, \"avx512bw\": true, \"avx512vnni\": true, \"amx-tile\": true, "
                         "\"amx-int8\": true}, \"topology\": {\"cores\": 4, \"pus\": 4, \"l3_bytes\": 314572800},"
                         " \"membw\": [{\"threads\": 1, \"read_gbps\": 10.0}, {\"threads\": 2, \"read_gbps\": 40.0}],"
                         " \"cold\": {\"threshold_mib\": 0, \"rotating_bytes\": 536870912},"
                         " \"date\": \"2026-01-02T03:04:05Z\", \"commit\": \"unknown\","
                         " \"tune\": {\"budget_s\": 150, \"model\": \"custom shapes\", \"threads\": [2], \"regime\": \"warm\"}}"));
#define FAB_ROLE(v, ns, g) "{\"variant\": \"" v "\", \"median_ns\": " #ns ", \"p25_ns\": " #ns ", \"p75_ns\": " #ns ", \"gbps\": " #g ", \"samples\": 9}"
#define FAB_W "tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni"
#define FAB_B "tt_i2s_gemv_r1_u1_f64_p0__avx2_base"
    snprintf(path, sizeof path, "%s/profile.json", dir);
    CHECK(rt_write(path, "{\"schema\": \"tritune-profile\", \"version\": \"1.2\", \"tritune_version\": \"0.1.0\","
                         " \"cpu\": {\"brand\": \"Test CPU 9000\"}, \"entries\": ["
                         "{\"shape\": \"attn_k_v\", \"m\": 640, \"k\": 2560, \"threads\": 2, \"regime\": \"cold\","
                         " \"winner\": " FAB_ROLE(FAB_W, 20000, 20.5) ", \"baseline\": " FAB_ROLE(FAB_B, 30000, 13.7) ","
                         " \"regimes\": {\"cold_winner_ns\": 20000, \"cold_baseline_ns\": 30000, \"warm_winner_ns\": 10000,"
                         " \"warm_baseline_ns\": 16000}, \"conditions\": {\"flags\": \"contention: other processes used 1.7 CPUs\"}},"
                         "{\"shape\": \"attn_k_v\", \"m\": 640, \"k\": 2560, \"threads\": 2, \"regime\": \"warm\","
                         " \"winner\": " FAB_ROLE("tt_i2s_gemv_r4_u1_f0_p0__avx2", 9000, 45.5) ", \"baseline\": "
                         FAB_ROLE(FAB_B, 15000, 27.3) ", \"regimes\": {\"cold_winner_ns\": 25000, \"cold_baseline_ns\": 31000,"
                         " \"warm_winner_ns\": 9000, \"warm_baseline_ns\": 15000}, \"conditions\": {\"flags\": \"\"}}]}"));
    snprintf(path, sizeof path, "%s/gbench", dir);
    mkdir(path, 0755);
    static const char *const races[] = {"cold", "warm"};
    for (int r = 0; r < 2; r++) {
        char text[2000];
        snprintf(path, sizeof path, "%s/gbench/attn_k_v_640x2560_t2_%s.json", dir, races[r]);
        snprintf(text, sizeof text,
                 "{\"benchmarks\": ["
                 "{\"name\": \"" FAB_W "/640x2560/t2/cold/real_time\", \"run_type\": \"iteration\", \"real_time\": %d, "
                 "\"cpu_time\": 1, \"time_unit\": \"ns\", \"bytes_per_second\": %g},"
                 "{\"name\": \"" FAB_B "/640x2560/t2/cold/real_time\", \"run_type\": \"iteration\", \"real_time\": 30000, "
                 "\"cpu_time\": 1, \"time_unit\": \"ns\", \"bytes_per_second\": 1.37e10}]}",
                 r ? 24000 : 20000, r ? 1.71e10 : 2.05e10);
        CHECK(rt_write(path, text));
    }
    snprintf(path, sizeof path, "%s/tune.log", dir);
    CHECK(rt_write(path, "==== tritune tune run 2026-01-02T03:04:05Z | regime cold | budget 330s | command: tritune tune --budget 330\n"
                         "[   0.0s] tritune tune on Test CPU 9000 (test-cpu-f6m99-4c), 9 registry variants, model x, regime cold, budget 330s, results in r\n"
                         "[   0.1s] read bandwidth, 1 thread(s): 10.0 GB/s (median of 5 passes over 1024 MiB, avx2-load)\n"
                         "==== tritune tune run 2026-01-02T04:00:00Z | regime warm | budget 150s | command: tritune tune --regime warm --budget 150\n"
                         "[   0.0s] tritune tune on Test CPU 9000 (test-cpu-f6m99-4c), 9 registry variants, model x, regime warm, budget 150s, results in r (resuming)\n"));
    /* the tuned end-to-end run (decode kernel = the cold winner), and a faster untuned one in a sub-folder */
    snprintf(path, sizeof path, "%s/e2e.json", dir);
    CHECK(rt_write(path, "{\"schema\": \"tritune-e2e/1\", \"commit\": \"abc1234\", \"date\": \"2026-01-03T00:00:00Z\", "
                         "\"cpu_id\": \"test-cpu-f6m99-4c\", \"tritune_version\": \"0.1.0\", \"rows\": [{\"test\": \"tg128\", "
                         "\"n_threads\": 4, \"avg_ts\": 12.5, \"stddev_ts\": 0.5, \"kernel\": \"" FAB_W "\"}]}"));
    snprintf(path, sizeof path, "%s/other", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/other/e2e.json", dir);
    CHECK(rt_write(path, "{\"schema\": \"tritune-e2e/1\", \"rows\": [{\"test\": \"tg128\", \"n_threads\": 4, \"avg_ts\": 99.0, "
                         "\"stddev_ts\": 1.0, \"kernel\": \"tt_i2s_gemv_r16_u1_f0_p0__avx2\"}]}"));
}

static void test_regimes_and_caveats(void)
{
    char cpus[600], dir[700], path[800], out[700];
    snprintf(cpus, sizeof cpus, "%s/fabcpus", tmpdir);
    mkdir(cpus, 0755);
    snprintf(dir, sizeof dir, "%s/test-cpu-f6m99-4c", cpus);
    write_fab_bundle(dir);
    char *so, *se;
    int rc = report("fab", &so, &se, dir, NULL, NULL, NULL);
    CHECKF(rc == 0, "report exit %d: %s", rc, se);
    free(so), free(se);
    snprintf(path, sizeof path, "%s/report/report.md", dir);
    char *md = rt_slurp(path);
    CHECK(md != NULL);
    if (md) {
        /* both races: separate labelled rows, gbench files with the regime in their names read back */
        CHECK(has(md, "| attn_k_v | 640×2560 | 2 | cold race | 20.00 | 30.00 | 1.50× |"));
        CHECK(has(md, "| attn_k_v | 640×2560 | 2 | warm race | 25.00 | 31.00 | 1.24× |"));
        CHECK(has(md, "| attn_k_v | 640×2560 | 2 | cold | cold | i2s | avx512vnni | `" FAB_W "` | 20.00 | 20.50 | 1.50× |"));
        CHECK(has(md, "| attn_k_v | 640×2560 | 2 | cold | warm | i2s | avx512vnni | `" FAB_W "` | 24.00 | 17.10 | 1.25× |"));
        CHECK(has(md, "(race regime: cold,") && has(md, "(race regime: warm,"));
        /* each regime's own budget, from the data */
        CHECK(has(md, "cold race: budget 330 s; warm race: budget 150 s"));
        CHECK(has(md, "machine.json records the last run only: warm regime, budget 150 s"));
        CHECK(!strstr(md, "budget 150 s per run"));
        free(md);
    }
    /* charts: one scaling series per shape and race regime, the machine in every title */
    snprintf(path, sizeof path, "%s/report/charts/scaling.dat", dir);
    char *dat = rt_slurp(path);
    CHECK(dat && has(dat, "# attn_k_v 640x2560 cold race") && has(dat, "# attn_k_v 640x2560 warm race"));
    free(dat);
    static const char *const charts[] = {"roofline", "scaling", "speedup"};
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/report/charts/%s.gp", dir, charts[c]);
        char *gp = rt_slurp(path);
        CHECKF(gp && strstr(gp, "Test CPU 9000 (test-cpu-f6m99-4c)"), "%s.gp names the machine", charts[c]);
        free(gp);
    }
    snprintf(path, sizeof path, "%s/report/charts/speedup.dat", dir);
    dat = rt_slurp(path);
    CHECK(dat && has(dat, "attn_k_v t2 cold race\t1.5\t1.6") && has(dat, "attn_k_v t2 warm race\t1.24"));
    free(dat);

    /* the index: AMX, spread, provenance with unknown marked, caveats with footnotes */
    snprintf(out, sizeof out, "%s/fabindex.md", tmpdir);
    rc = report("fabindex", &so, &se, "--index", cpus, "--out", out);
    CHECKF(rc == 0, "index exit %d: %s", rc, se);
    free(so), free(se);
    md = rt_slurp(out);
    CHECK(md != NULL);
    if (md) {
        CHECK(has(md, "| avx2 avx512bw avx512vnni amx |"));
        CHECK(has(md, "| 12.50 ± 0.50 (4t) **[")); /* the tuned e2e.json, not other/e2e.json's 99 t/s */
        CHECK(!strstr(md, "| 99.00"));
        CHECK(has(md, "The bundle also has `other/e2e.json`: tg128 99.00 ± 1.00 t/s at 4 thread(s)"));
        CHECK(has(md, "not a winner of this bundle's profile: untuned here"));
        CHECK(has(md, "tune: commit unknown, 2026-01-02T03:04:05Z, tritune 0.1.0<br>e2e: commit abc1234, "
                      "2026-01-03T00:00:00Z, tritune 0.1.0 **["));
        CHECK(has(md, "Provenance incomplete: the files do not record the tuning run's commit"));
        CHECK(has(md, "Cold rotation under 2x the last-level cache: 512 MiB of rotating weight copies per layout "
                      "against an L3 of 300 MiB"));
        CHECK(has(md, "1 profile entry flagged by the tuner's measurement-conditions check"));
        CHECK(has(md, "attn_k_v t2 cold race: contention: other processes used 1.7 CPUs"));
        CHECK(has(md, "without software prefetch"));
        CHECK(has(md, "1.50× cold (geomean, 1 shape) **["));
        CHECK(has(md, "attn_k_v (t2, cold): `" FAB_W "` 1.50×"));
        CHECK(!strstr(md, "attn_k_v (t2, warm)"));
        CHECK(!strstr(md, "Untuned kernels: `e2e.json`"));
        free(md);
    }
}

static void test_usage(void)
{
    char *so, *se;
    CHECK(report("help", &so, &se, "--help", NULL, NULL, NULL) == 0 && has(so, "usage: tritune report"));
    free(so), free(se);
    CHECK(report("noarg", &so, &se, NULL, NULL, NULL, NULL) == 2);
    free(so), free(se);
    CHECK(report("badopt", &so, &se, "--bogus", NULL, NULL, NULL) == 2 && has(se, "unknown option '--bogus'"));
    free(so), free(se);
    CHECK(report("both", &so, &se, "x", "--index", "y", NULL) == 2);
    free(so), free(se);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char bundle[512], exe[1024], why[1200];
    snprintf(bundle, sizeof bundle, "%s/tests/reports/data/results/amd-epyc-f25m17-2c", rt_srcdir());
    bool gnuplot = tt_gnuplot_find(exe, sizeof exe, why, sizeof why);
    test_full_report(bundle, gnuplot);
    test_no_gnuplot(bundle);
    test_e2e_defensive(bundle);
    test_index();
    test_regimes_and_caveats();
    test_usage();
    int rc = tt_test_end("reports_report");
    if (!rc) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "outputs kept in %s\n", tmpdir);
    }
    return rc;
}
