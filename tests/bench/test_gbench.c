/* test_gbench.c — the Google Benchmark C wrapper: C callbacks timed by GB, stats back, GB's JSON on disk, a
 * counter hook, two sessions in one process, and bad input refused without crashing. */
#include "tt_gbench.h"
#include "tt_test.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile uint64_t sink;

/* A small body with a data dependency so the loop is not optimised away. */
static void body_sum(void *arg, int64_t iters)
{
    const uint64_t *v = arg;
    uint64_t s = sink;
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 64; j++)
            s += v[j] ^ (uint64_t)i;
    sink = s;
}

static int hook_starts, hook_stops;

static bool fake_start(void *ctx)
{
    (void)ctx;
    hook_starts++;
    return true;
}

static int fake_stop(void *ctx, int64_t iters, double bytes_per_iter, tt_gb_counter *out, int max)
{
    (void)ctx;
    hook_stops++;
    if (max < 1)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "fake_events");
    out[0].value = 3.0 * (double)iters; /* 3 per iteration after GB's kAvgIterations */
    out[0].per_iteration = true;
    (void)bytes_per_iter;
    return 1;
}

static bool json_has_benchmark(json_t *root, const char *name)
{
    json_t *arr = json_object_get(root, "benchmarks");
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b)
    {
        const char *rn = json_string_value(json_object_get(b, "run_name"));
        const char *n = json_string_value(json_object_get(b, "name"));
        if ((rn && !strcmp(rn, name)) || (n && !strncmp(n, name, strlen(name))))
            return true;
    }
    return false;
}

static const tt_gb_stats *find(tt_gb_session *s, const char *name)
{
    for (int i = 0; i < tt_gb_count(s); i++) {
        const tt_gb_stats *st = tt_gb_get(s, i);
        if (st && !strcmp(st->name, name))
            return st;
    }
    return NULL;
}

static double counter(const tt_gb_stats *st, const char *name)
{
    for (int i = 0; i < st->ncounters; i++)
        if (!strcmp(st->counter_names[i], name))
            return st->counters[i];
    return NAN;
}

static void check_stats(const tt_gb_stats *st, int reps)
{
    CHECK(st != NULL);
    if (!st)
        return;
    CHECKF(!st->error, "%s: %s", st->name, st->error_message);
    CHECKF(st->reps == reps, "%s: reps %d, want %d", st->name, st->reps, reps);
    CHECK(st->samples_ns != NULL);
    CHECKF(st->median_ns > 0 && isfinite(st->median_ns), "median %g", st->median_ns);
    CHECK(st->min_ns <= st->median_ns && st->median_ns <= st->max_ns);
    CHECK(st->min_ns > 0);
    CHECK(st->stddev_ns >= 0 && st->cv >= 0);
    CHECK(st->iterations >= 1);
    for (int i = 0; st->samples_ns && i < st->reps; i++)
        CHECK(st->samples_ns[i] >= st->min_ns && st->samples_ns[i] <= st->max_ns);
}

int main(void)
{
    static uint64_t data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (uint64_t)i * 2654435761u;
    char dir[] = "/tmp/tt_gbench_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char json1[128], json2[128];
    snprintf(json1, sizeof json1, "%s/a.json", dir);
    snprintf(json2, sizeof json2, "%s/b.json", dir);

    /* Bad input is refused with a message, never a crash. */
    CHECK(tt_gb_add(NULL, "x", body_sum, data, 0) == -1);
    CHECK(tt_gb_run(NULL, NULL) == TT_ERR_NULL);
    CHECK(tt_gb_get(NULL, 0) == NULL);
    tt_gb_free(NULL);

    /* Session 1: two benchmarks, 3 repetitions, interleaved, machine block in the context, a counter hook. */
    tt_gb_session *s = tt_gb_new();
    CHECK(s != NULL);
    CHECK(tt_gb_run(s, NULL) == TT_ERR_NOTFOUND); /* nothing added yet */
    CHECK(tt_gb_add(s, "tt_test_sum_a", body_sum, data, 512.0) == 0);
    CHECK(tt_gb_add(s, "tt_test_sum_b", body_sum, data, 0) == 1);
    CHECK(tt_gb_add(s, "tt_test_sum_a", body_sum, data, 0) == -1); /* duplicate name */
    CHECK(strstr(tt_last_error(), "duplicate") != NULL);
    CHECK(tt_gb_add(s, "", body_sum, data, 0) == -1);
    CHECK(tt_gb_add(s, "no_fn", NULL, data, 0) == -1);
    CHECK(tt_gb_count(s) == 2);
    CHECK(tt_gb_get(s, 0) == NULL); /* not run yet */
    tt_gb_set(s, 0.01, 3, true);
    tt_gb_set_context(s, "tt_cpu", "test cpu");
    tt_gb_set_context(s, "tt_cpu", "test cpu, replaced");
    tt_gb_counter_hook hook = {NULL, fake_start, fake_stop};
    tt_gb_set_counters(s, &hook);
    CHECKF(tt_gb_run(s, json1) == TT_OK, "%s", tt_last_error());
    check_stats(find(s, "tt_test_sum_a"), 3);
    check_stats(find(s, "tt_test_sum_b"), 3);
    CHECK(hook_starts >= 6 && hook_starts == hook_stops);
    const tt_gb_stats *a = find(s, "tt_test_sum_a");
    if (a) {
        double bps = counter(a, "bytes_per_second");
        CHECKF(bps > 0 && isfinite(bps), "bytes_per_second %g", bps);
        double fe = counter(a, "fake_events");
        CHECKF(fabs(fe - 3.0) < 1e-9, "fake_events per iteration %g, want 3", fe);
    }
    const tt_gb_stats *b = find(s, "tt_test_sum_b");
    if (b)
        CHECK(isnan(counter(b, "bytes_per_second"))); /* no bytes given: no rate */
    CHECK(tt_gb_get(s, 2) == NULL && tt_gb_get(s, -1) == NULL);

    json_error_t jerr;
    json_t *root = json_load_file(json1, 0, &jerr);
    CHECKF(root != NULL, "%s: %s", json1, jerr.text);
    if (root) {
        CHECK(json_has_benchmark(root, "tt_test_sum_a"));
        CHECK(json_has_benchmark(root, "tt_test_sum_b"));
        json_t *ctx = json_object_get(root, "context");
        CHECK(json_is_object(ctx));
        const char *cpu = json_string_value(json_object_get(ctx, "tt_cpu"));
        CHECKF(cpu && !strcmp(cpu, "test cpu, replaced"), "context tt_cpu = %s", cpu ? cpu : "(missing)");
        /* GB's JSON as-is: per-repetition rows plus its own aggregates (mean/median/stddev/cv). */
        json_t *arr = json_object_get(root, "benchmarks");
        CHECKF(json_array_size(arr) >= 6, "%zu rows", json_array_size(arr));
        json_decref(root);
    }

    /* Session 2 in the same process: different names, 1 repetition, no interleaving, no counters; session 1's
     * benchmarks and context must not leak into it. */
    tt_gb_session *s2 = tt_gb_new();
    CHECK(tt_gb_add(s2, "tt_test_second", body_sum, data, 0) == 0);
    tt_gb_set(s2, 0.01, 1, false);
    CHECKF(tt_gb_run(s2, json2) == TT_OK, "%s", tt_last_error());
    check_stats(find(s2, "tt_test_second"), 1);
    root = json_load_file(json2, 0, &jerr);
    CHECKF(root != NULL, "%s: %s", json2, jerr.text);
    if (root) {
        CHECK(json_has_benchmark(root, "tt_test_second"));
        CHECK(!json_has_benchmark(root, "tt_test_sum_a"));
        CHECK(json_object_get(json_object_get(root, "context"), "tt_cpu") == NULL);
        json_decref(root);
    }

    /* Session 1 again (rerun replaces its results), without a JSON file. */
    tt_gb_set(s, 0.01, 2, false);
    tt_gb_set_counters(s, NULL);
    CHECKF(tt_gb_run(s, NULL) == TT_OK, "%s", tt_last_error());
    check_stats(find(s, "tt_test_sum_a"), 2);

    /* A JSON path that cannot be written is an error with the path in the message. */
    CHECK(tt_gb_run(s2, "/nonexistent-dir/x.json") == TT_ERR_IO);
    CHECK(strstr(tt_last_error(), "/nonexistent-dir/x.json") != NULL);

    CHECK(strlen(tt_gb_version()) > 0);
    tt_gb_free(s);
    tt_gb_free(s2);
    unlink(json1);
    unlink(json2);
    rmdir(dir);
    return tt_test_end("bench_gbench");
}
