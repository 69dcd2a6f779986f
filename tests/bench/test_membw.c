/* test_membw.c — the bandwidth probe in quick mode returns a positive finite number, single and multi-threaded,
 * with and without a topology; bad options are refused. */
#include "tt_membw.h"
#include "tt_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    tt_topo t;
    bool have_topo = tt_topo_load(&t) == TT_OK;
    CHECK(have_topo);

    tt_membw_result r;
    tt_membw_opts o = {.quick = true, .threads = 1};
    tt_status st = tt_membw_measure(have_topo ? &t : NULL, &o, &r);
    CHECKF(st == TT_OK, "%s", tt_last_error());
    CHECKF(r.gbps_median > 0 && isfinite(r.gbps_median), "%g GB/s", r.gbps_median);
    CHECK(r.gbps_min <= r.gbps_median && r.gbps_median <= r.gbps_max);
    CHECK(r.threads == 1 && r.runs == 3 && r.bytes > 0 && r.method[0]);
    printf("1 thread: %.2f GB/s (%s, %zu MiB, bound=%d)\n", r.gbps_median, r.method, r.bytes >> 20, r.bound);
    /* the result names the reader that won: plain loads, or one of the probe's prefetch distances */
    {
        const size_t *d;
        int nd = tt_membw_prefetch_distances(&d), known = r.prefetch == 0;
        CHECK(nd >= 1);
        for (int i = 0; i < nd; i++) {
            CHECK(d[i] > 0 && (i == 0 || d[i] > d[i - 1]));
            known |= r.prefetch == d[i];
        }
        CHECKF(known, "prefetch %zu is none of the probe's distances", r.prefetch);
        CHECKF((r.prefetch == 0) == (strstr(r.method, "prefetch") == NULL), "method %s, prefetch %zu", r.method,
               r.prefetch);
        /* or one of its stream counts (plain loads) */
        const int *sc;
        int ns = tt_membw_stream_counts(&sc), sknown = r.streams == 1;
        CHECK(ns >= 1);
        for (int i = 0; i < ns; i++) sknown |= r.streams == sc[i] && sc[i] > 1;
        CHECKF(sknown, "streams %d is none of the probe's counts", r.streams);
        CHECKF((r.streams > 1) == (strstr(r.method, "streams") != NULL) && (r.streams == 1 || r.prefetch == 0),
               "method %s, streams %d, prefetch %zu", r.method, r.streams, r.prefetch);
    }

    /* Without topology (no binding). */
    st = tt_membw_measure(NULL, &o, &r);
    CHECKF(st == TT_OK && r.gbps_median > 0 && isfinite(r.gbps_median), "%s", tt_last_error());
    CHECK(!r.bound);

    /* The sweep over the topology's thread counts. */
    if (have_topo) {
        tt_membw_result rs[TT_TOPO_MAX_THREAD_COUNTS];
        tt_membw_opts q = {.quick = true, .bytes = 16u << 20, .runs = 3};
        int n = tt_membw_sweep(&t, &q, rs, TT_TOPO_MAX_THREAD_COUNTS);
        CHECKF(n >= 1, "%s", tt_last_error());
        for (int i = 0; i < n; i++) {
            CHECK(rs[i].gbps_median > 0 && isfinite(rs[i].gbps_median));
            printf("%d threads: %.2f GB/s\n", rs[i].threads, rs[i].gbps_median);
        }
        CHECK(n < 1 || rs[n - 1].threads == t.pus);
        size_t def = tt_membw_default_bytes(&t);
        CHECK(def >= (16u << 20) && def <= (1024u << 20));
    }

    /* The ceiling reader: every length and misalignment, without prefetch and at several distances, against a
     * plain sum. */
    {
        enum { N = 4096 + 64 };
        uint8_t *b = malloc(N + 64);
        CHECK(b != NULL);
        for (int i = 0; b && i < N + 64; i++) b[i] = (uint8_t)(i * 131 + 7);
        int bad_sums = 0;
        for (int off = 0; b && off < 9; off++)
            for (size_t len = 0; len <= 2600; len += len < 300 ? 1 : 97) {
                uint64_t want = 0;
                size_t body = len & ~(size_t)255;
                for (size_t w = 0; w < body; w += 8) {
                    uint64_t x;
                    memcpy(&x, b + off + w, 8);
                    want += x;
                }
                for (size_t i = body; i < len; i++) want += b[off + i];
                for (size_t pf = 0; pf <= 8192; pf = pf ? 8 * pf : 64)
                    bad_sums += tt_membw_read_span(b + off, len, pf) != want;
                for (int st = 1; st <= 5; st++) /* streams: every byte once, 3 and 5 read as one stream */
                    bad_sums += tt_membw_read_span_streams(b + off, len, st & 1 ? 0 : 512, st) != want;
            }
        CHECKF(bad_sums == 0, "%d span sums differ", bad_sums);
        free(b);
    }

    CHECK(tt_membw_measure(NULL, &o, NULL) == TT_ERR_NULL);
    tt_membw_opts bad = {.bytes = 100, .threads = 4};
    CHECK(tt_membw_measure(NULL, &bad, &r) == TT_ERR_SIZE);
    tt_membw_opts many = {.quick = true, .threads = 100000};
    CHECK(tt_membw_measure(NULL, &many, &r) == TT_ERR_VALUE);
    if (have_topo)
        tt_topo_free(&t);
    return tt_test_end("bench_membw");
}
