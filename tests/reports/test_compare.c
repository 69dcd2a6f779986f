/* tritune compare and its statistics: the Mann-Whitney U test against brute-force permutation p-values, identical
 * inputs (no change, exit 0), a +30 % shift over 10 repetitions (flagged, exit 1), an improvement (exit 0), too few
 * repetitions (said, no verdict), end-to-end files, and usage errors (exit 2). */
#include "tt_report_cli.h"
#include "tt_rdata.h"
#include "tt_rstats.h"
#include "tt_rtest.h"

#include <jansson.h>
#include <math.h>

static char tmpdir[] = "/tmp/tt_compare_XXXXXX";

/* Two-sided permutation p-value by enumerating every split (|U - mu| >= observed), for small samples. */
static double brute_p(const double *a, int na, const double *b, int nb)
{
    int n = na + nb;
    double all[24];
    for (int i = 0; i < na; i++) all[i] = a[i];
    for (int i = 0; i < nb; i++) all[na + i] = b[i];
    double u0 = 0, mu = 0.5 * na * nb;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) u0 += (a[i] > b[j]) + 0.5 * (a[i] == b[j]);
    long hit = 0, tot = 0;
    for (unsigned m = 0; m < 1u << n; m++) {
        if (__builtin_popcount(m) != na) continue;
        double u = 0;
        for (int i = 0; i < n; i++)
            if (m >> i & 1)
                for (int j = 0; j < n; j++)
                    if (!(m >> j & 1)) u += (all[i] > all[j]) + 0.5 * (all[i] == all[j]);
        tot++;
        hit += fabs(u - mu) >= fabs(u0 - mu) - 1e-9;
    }
    return (double)hit / tot;
}

static void test_stats(void)
{
    const double a[] = {1.1, 2.3, 3.2, 4.5, 5.1, 6.7}, b[] = {2.2, 3.9, 5.5, 7.1, 8.2, 9.3, 10.4};
    tt_utest u = tt_rstat_utest(a, 6, b, 7);
    CHECKF(u.exact && fabs(u.u - 9) < 1e-12, "U %g exact %d", u.u, u.exact);
    CHECKF(fabs(u.p - brute_p(a, 6, b, 7)) < 1e-9, "exact p %g vs %g", u.p, brute_p(a, 6, b, 7));
    CHECKF(fabs(u.p - 0.1013986) < 1e-6, "exact p %g", u.p);
    const double lo[] = {1, 2, 3, 4, 5}, hi[] = {6, 7, 8, 9, 10};
    u = tt_rstat_utest(lo, 5, hi, 5);
    CHECKF(fabs(u.p - 2.0 / 252) < 1e-12, "separated 5/5 p %g", u.p);
    u = tt_rstat_utest(hi, 5, lo, 5);
    CHECKF(fabs(u.p - 2.0 / 252) < 1e-12 && u.u == 25, "symmetric p %g U %g", u.p, u.u);
    /* Ties: normal approximation with tie correction, close to the permutation p-value. */
    const double ta[] = {1, 2, 2, 3, 4, 5, 5, 6, 7}, tb[] = {3, 4, 4, 6, 8, 9, 11, 12, 12};
    u = tt_rstat_utest(ta, 9, tb, 9);
    double bp = brute_p(ta, 9, tb, 9);
    CHECKF(!u.exact && fabs(u.p - bp) < 0.01, "tied p %g vs permutation %g", u.p, bp);
    const double same[] = {5, 5, 5, 5};
    u = tt_rstat_utest(same, 4, same, 4);
    CHECK(u.p == 1.0);
    /* Larger samples use the normal approximation; a clear shift is still found. */
    double x[40], y[40];
    for (int i = 0; i < 40; i++) x[i] = 100 + (i * 37 % 11), y[i] = 130 + (i * 53 % 13);
    u = tt_rstat_utest(x, 40, y, 40);
    CHECK(!u.exact && u.p < 1e-10);
    const double g[] = {1.0, 4.0};
    CHECK(fabs(tt_rstat_geomean(g, 2) - 2.0) < 1e-12);
    CHECK(isnan(tt_rstat_geomean(g, 0)));
    const double md[] = {3, 1, 2, 10};
    CHECK(tt_rstat_median(md, 4) == 2.5 && tt_rstat_median(md, 3) == 2);
}

/* A Google Benchmark JSON file as `tritune bench --json` writes it: per-repetition rows plus aggregates.
 * g_scale0 scales the first benchmark only (a kernel that slowed down while its baseline did not). */
static double g_scale0 = 1.0;
static void write_gb(const char *path, int reps, double scale, unsigned seed)
{
    static const char *const names[] = {"tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni/2560x2560/t1/warm",
                                        "tt_i2s_gemv_r1_u1_f64_p0__avx2_base/2560x2560/t1/warm",
                                        "tt_i2s_gemv_r4_u1_f16_p512__avx2/2560x6912/t1/warm"};
    static const double base_ns[] = {43000, 126000, 160000};
    json_t *arr = json_array();
    for (int b = 0; b < 3; b++) {
        char run[256];
        snprintf(run, sizeof run, "%s/min_time:0.050/repeats:%d", names[b], reps);
        double sum = 0;
        for (int r = 0; r < reps; r++) {
            seed = seed * 1103515245u + 12345u;
            double t = base_ns[b] * scale * (b == 0 ? g_scale0 : 1.0) * (1 + 0.02 * ((double)(seed >> 16 & 0x7fff) / 0x7fff - 0.5));
            sum += t;
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:f, s:f, s:s, s:f}", "name", run,
                                                 "run_name", run, "run_type", "iteration", "repetitions", reps,
                                                 "repetition_index", r, "iterations", 100, "real_time", t, "cpu_time",
                                                 t, "time_unit", "ns", "bytes_per_second", 1.6384e6 / t * 1e9));
        }
        char agg[300];
        snprintf(agg, sizeof agg, "%s_mean", run);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "name", agg, "run_name", run, "run_type",
                                             "aggregate", "aggregate_name", "mean", "real_time", sum / reps,
                                             "time_unit", "ns"));
    }
    json_t *j = json_pack("{s:{s:s}, s:o}", "context", "cpu_brand", "test", "benchmarks", arr);
    CHECK(json_dump_file(j, path, JSON_INDENT(1)) == 0);
    json_decref(j);
}

static int compare(const char *tag, char **out, char **err, const char *a1, const char *a2, const char *a3,
                   const char *a4)
{
    char *argv[] = {"compare", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 1;
    while (argv[argc]) argc++;
    return rt_run(tt_cmd_compare, tmpdir, tag, out, err, argc, argv);
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_compare_gb(void)
{
    char base[512], same[512], slow[512], fast[512], few[512], few_slow[512], md[512];
    snprintf(base, sizeof base, "%s/base.json", tmpdir);
    snprintf(same, sizeof same, "%s/same.json", tmpdir);
    snprintf(slow, sizeof slow, "%s/slow.json", tmpdir);
    snprintf(fast, sizeof fast, "%s/fast.json", tmpdir);
    snprintf(few, sizeof few, "%s/few.json", tmpdir);
    snprintf(few_slow, sizeof few_slow, "%s/few_slow.json", tmpdir);
    snprintf(md, sizeof md, "%s/compare.md", tmpdir);
    write_gb(base, 10, 1.0, 1);
    write_gb(same, 10, 1.0, 99); /* same distribution, other noise */
    write_gb(slow, 10, 1.3, 7);
    write_gb(fast, 10, 0.7, 7);
    write_gb(few, 3, 1.0, 1);
    write_gb(few_slow, 3, 1.3, 5);
    char *so, *se;

    int rc = compare("ident", &so, &se, base, base, NULL, NULL);
    CHECKF(rc == 0, "identical: exit %d %s", rc, se);
    CHECK(count(so, "no significant change") == 3 && !strstr(so, "**REGRESSION**"));
    CHECK(strstr(so, "over 3 benchmarks: 1.0000 (+0.0 %)") != NULL);
    CHECK(strstr(so, "| 10/10 |") != NULL);
    free(so), free(se);

    rc = compare("same", &so, &se, base, same, NULL, NULL);
    CHECKF(rc == 0, "same distribution: exit %d\n%s", rc, so);
    CHECK(!strstr(so, "**REGRESSION**"));
    free(so), free(se);

    rc = compare("slow", &so, &se, base, slow, "--markdown", md);
    CHECKF(rc == 1, "+30%%: exit %d\n%s", rc, so);
    CHECK(count(so, "**REGRESSION**") == 3);
    CHECK(strstr(so, "+30.") != NULL || strstr(so, "+29.") != NULL);
    CHECK(strstr(so, "| `tt_i2s_gemv_r1_u1_f64_p0__avx2_base/2560x2560/t1/warm` |") != NULL); /* GB suffixes gone */
    CHECK(strstr(so, "**3 significant regression(s)** beyond 5.0 % (exit status 1)") != NULL);
    char *file = rt_slurp(md);
    CHECK(file && count(file, "**REGRESSION**") == 3 && strstr(file, "| benchmark | base median | new median |"));
    free(file), free(so), free(se);

    /* The same shift below the threshold is significant but not a regression. */
    rc = compare("thresh", &so, &se, base, slow, "--threshold", "0.5");
    CHECK(rc == 0 && count(so, "significant, within threshold") == 3);
    free(so), free(se);

    rc = compare("fast", &so, &se, base, fast, NULL, NULL);
    CHECK(rc == 0 && count(so, "improvement") == 3);
    free(so), free(se);

    /* --relative-to: a host 30 % slower throughout is no regression; a kernel 30 % slower than its baseline in the
     * same file is. The 2560x6912 row has no baseline in its file and is left out, like the reference rows. */
    const char *ref = "tt_i2s_gemv_*_base";
    rc = compare("rel_host", &so, &se, base, slow, "--relative-to", ref);
    CHECKF(rc == 0, "relative, host slower: exit %d\n%s%s", rc, so, se);
    CHECK(!strstr(so, "**REGRESSION**") && strstr(so, "x ref") && strstr(so, "rows without one: 2 in base, 2 in new"));
    CHECK(strstr(so, "| `tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni/2560x2560/t1/warm` |") && !strstr(so, "2560x6912"));
    free(so), free(se);
    char winslow[512];
    snprintf(winslow, sizeof winslow, "%s/winslow.json", tmpdir);
    g_scale0 = 1.3;
    write_gb(winslow, 10, 1.0, 7);
    g_scale0 = 1.0;
    rc = compare("rel_kernel", &so, &se, base, winslow, "--relative-to", ref);
    CHECKF(rc == 1 && count(so, "**REGRESSION**") == 1, "relative, kernel slower: exit %d\n%s", rc, so);
    free(so), free(se);

    rc = compare("few", &so, &se, few, few_slow, NULL, NULL);
    CHECKF(rc == 0, "too few: exit %d", rc);
    CHECK(count(so, "too few repetitions") >= 3 && !strstr(so, "**REGRESSION**"));
    CHECK(strstr(so, "| 3/3 |") != NULL);
    free(so), free(se);
}

static void test_compare_e2e(void)
{
    char base[512], slow[512];
    snprintf(base, sizeof base, "%s/tests/reports/data/results/amd-epyc-f25m17-2c/e2e.json", rt_srcdir());
    snprintf(slow, sizeof slow, "%s/e2e_slow.json", tmpdir);
    CHECK(rt_write(slow, "{\"model\": \"m\", \"rows\": ["
                         "{\"test\": \"tg128\", \"threads\": 2, \"ts_mean\": 15.0, \"samples\": [14.8, 15.0, 15.1, 14.9, 15.2]},"
                         "{\"test\": \"tg128\", \"threads\": 1, \"ts_mean\": 13.9, \"samples\": [13.7, 13.9, 14.1, 13.8, 14.0]}]}"));
    char *so, *se;
    int rc = compare("e2e", &so, &se, base, slow, NULL, NULL);
    CHECKF(rc == 1, "e2e slowdown: exit %d\n%s%s", rc, so, se);
    CHECK(strstr(so, "| `tg128/t2` |") && strstr(so, "ms/token") && count(so, "**REGRESSION**") == 1);
    CHECK(strstr(so, "| `tg128/t1` |") && strstr(so, "only in base"));
    free(so), free(se);
    char gb[512];
    snprintf(gb, sizeof gb, "%s/base.json", tmpdir);
    rc = compare("mixed", &so, &se, base, gb, NULL, NULL);
    CHECK(rc == 2 && strstr(se, "different kinds of file"));
    free(so), free(se);
    rc = compare("e2e_rel", &so, &se, base, slow, "--relative-to", "tt_*_base");
    CHECK(rc == 2 && strstr(se, "--relative-to needs Google Benchmark files"));
    free(so), free(se);
}

static void test_usage(void)
{
    char *so, *se, missing[512], base[512];
    snprintf(missing, sizeof missing, "%s/nope.json", tmpdir);
    snprintf(base, sizeof base, "%s/base.json", tmpdir);
    CHECK(compare("help", &so, &se, "--help", NULL, NULL, NULL) == 0 && strstr(so, "Exit status: 0"));
    free(so), free(se);
    CHECK(compare("one", &so, &se, base, NULL, NULL, NULL) == 2);
    free(so), free(se);
    CHECK(compare("missing", &so, &se, base, missing, NULL, NULL) == 2 && strstr(se, "nope.json"));
    free(so), free(se);
    CHECK(compare("alpha", &so, &se, base, base, "--alpha", "2") == 2);
    free(so), free(se);
    CHECK(compare("thr", &so, &se, base, base, "--threshold", "x") == 2 && strstr(se, "is not a number"));
    free(so), free(se);
    { /* two files without a benchmark in common: no verdict either way (exit 3), not "no regression" */
        char other[512];
        snprintf(other, sizeof other, "%s.other.json", base);
        json_t *arr = json_array();
        for (int r = 0; r < 5; r++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:f, s:f, s:s}", "name",
                                                 "another_kernel/64x64/t1/warm", "run_name", "another_kernel/64x64/t1/warm",
                                                 "run_type", "iteration", "repetitions", 5, "repetition_index", r,
                                                 "iterations", 10, "real_time", 100.0 + r, "cpu_time", 100.0 + r,
                                                 "time_unit", "ns"));
        json_t *j = json_pack("{s:{s:s}, s:o}", "context", "cpu_brand", "test", "benchmarks", arr);
        CHECK(json_dump_file(j, other, 0) == 0);
        json_decref(j);
        CHECK(compare("disjoint", &so, &se, base, other, NULL, NULL) == 3 && strstr(so, "nothing compared"));
        unlink(other);
    }
    free(so), free(se);
    CHECK(rt_write(missing, "{\"something\": 1}"));
    CHECK(compare("notgb", &so, &se, base, missing, NULL, NULL) == 2 && strstr(se, "not a Google Benchmark"));
    free(so), free(se);
}


/* Reading gbench files: the race regime from the tuner's file name (<shape>_<MxK>_t<N>_<regime>.json, and the old
 * name without it), a cold race's and a warm race's files timing the same names kept apart, and one GB/s
 * definition (bytes over real time): GB's CPU-time bytes_per_second of older files is rescaled, a "/real_time" run's
 * is kept. */
static void test_gbench_read(void)
{
    CHECK(!strcmp(tt_rgb_file_race("gbench/attn_k_v_640x2560_t2_cold.json"), "cold"));
    CHECK(!strcmp(tt_rgb_file_race("attn_k_v_640x2560_t16_warm.json"), "warm"));
    CHECK(!strcmp(tt_rgb_file_race("attn_k_v_640x2560_t2.json"), ""));
    char cold[600], warm[600];
    snprintf(cold, sizeof cold, "%s/attn_k_v_640x2560_t2_cold.json", tmpdir);
    snprintf(warm, sizeof warm, "%s/attn_k_v_640x2560_t2_warm.json", tmpdir);
    /* cold race's file: CPU-time bytes_per_second (no /real_time): 1e9 B/s over cpu_time 2000 ns, real time 1000 ns
     * -> 2 GB/s of real time */
    CHECK(rt_write(cold, "{\"benchmarks\": [{\"name\": \"v_i2s/640x2560/t2/cold/min_time:0.002/repeats:1\", "
                         "\"run_name\": \"v_i2s/640x2560/t2/cold/min_time:0.002/repeats:1\", \"run_type\": \"iteration\", "
                         "\"real_time\": 1000, \"cpu_time\": 2000, \"time_unit\": \"ns\", \"bytes_per_second\": 1e9}]}"));
    /* warm race's file: the same benchmark name, real-time bytes_per_second (GB marks it "/real_time") */
    CHECK(rt_write(warm, "{\"benchmarks\": [{\"name\": \"v_i2s/640x2560/t2/cold/min_time:0.002/repeats:1/real_time\", "
                         "\"run_name\": \"v_i2s/640x2560/t2/cold/min_time:0.002/repeats:1/real_time\", \"run_type\": "
                         "\"iteration\", \"real_time\": 3000, \"cpu_time\": 6000, \"time_unit\": \"ns\", "
                         "\"bytes_per_second\": 5e8}]}"));
    tt_rgb_file f = {0};
    CHECK(tt_rgb_load_race(cold, tt_rgb_file_race(cold), &f) == TT_OK);
    CHECK(tt_rgb_load_race(warm, tt_rgb_file_race(warm), &f) == TT_OK);
    CHECKF(f.n == 2, "%d benchmarks (the two races' runs must stay apart)", f.n);
    for (int i = 0; i < f.n; i++) {
        const tt_rgb_bench *b = &f.b[i];
        CHECK(b->shaped && !strcmp(b->regime, "cold") && b->m == 640 && b->k == 2560 && b->threads == 2);
        CHECK(!strcmp(b->name, "v_i2s/640x2560/t2/cold"));
        if (!strcmp(b->race, "cold")) {
            CHECKF(fabs(tt_rgb_gbps(b) - 2.0) < 1e-9, "cold race GB/s %g (want 2: CPU-time figure on real time)", tt_rgb_gbps(b));
            CHECK(b->bps_from_cpu && b->n == 1 && tt_rgb_median_ns(b) == 1000);
        } else {
            CHECK(!strcmp(b->race, "warm"));
            CHECKF(fabs(tt_rgb_gbps(b) - 0.5) < 1e-9, "warm race GB/s %g (want 0.5: already real time)", tt_rgb_gbps(b));
            CHECK(!b->bps_from_cpu && tt_rgb_median_ns(b) == 3000);
        }
    }
    tt_rgb_free(&f);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_stats();
    test_compare_gb();
    test_compare_e2e();
    test_gbench_read();
    test_usage();
    int rc = tt_test_end("reports_compare");
    if (!rc) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "outputs kept in %s\n", tmpdir);
    }
    return rc;
}
