/* test_topo.c — hwloc topology: counts consistent, thread counts ascending/unique/ending with all PUs, binding
 * and local allocation usable (or refused with a reason), bad input handled. */
#include "tt_test.h"
#include "tt_topo.h"

#include <string.h>

int main(void)
{
    tt_topo t;
    tt_status st = tt_topo_load(&t);
    CHECKF(st == TT_OK, "%s", tt_last_error());
    if (st != TT_OK)
        return tt_test_end("bench_topo");
    char buf[256];
    printf("%s\n", tt_topo_describe(&t, buf, sizeof buf));
    CHECK(t.handle != NULL);
    CHECK(t.packages >= 1);
    CHECK(t.cores >= 1);
    CHECK(t.pus >= t.cores);
    CHECK(t.numa_nodes >= 1);
    CHECK(t.cores_per_l3 >= 1 && t.cores_per_l3 <= t.cores);
    CHECK(t.cores_per_package >= 1 && t.cores_per_package <= t.cores);
    CHECK(t.l1d_count == 0 || t.l1d_bytes > 0);
    CHECK(t.l3_count == 0 || t.l3_bytes >= t.l2_bytes);

    int counts[TT_TOPO_MAX_THREAD_COUNTS];
    int n = tt_topo_thread_counts(&t, counts, TT_TOPO_MAX_THREAD_COUNTS);
    CHECK(n >= 1);
    CHECK(counts[0] == 1);
    CHECK(counts[n - 1] == t.pus);
    for (int i = 1; i < n; i++)
        CHECKF(counts[i] > counts[i - 1], "counts[%d]=%d after %d", i, counts[i], counts[i - 1]);
    bool has_cores = false;
    for (int i = 0; i < n; i++)
        has_cores |= counts[i] == t.cores;
    CHECK(has_cores);
    printf("thread counts:");
    for (int i = 0; i < n; i++)
        printf(" %d", counts[i]);
    printf("\n");

    /* Synthetic topologies (no hwloc handle needed for the count logic). */
    tt_topo fake = {.cores = 16, .pus = 32, .cores_per_l3 = 8, .cores_per_package = 16};
    int c2[TT_TOPO_MAX_THREAD_COUNTS];
    int n2 = tt_topo_thread_counts(&fake, c2, TT_TOPO_MAX_THREAD_COUNTS);
    CHECK(n2 == 4 && c2[0] == 1 && c2[1] == 8 && c2[2] == 16 && c2[3] == 32);
    n2 = tt_topo_thread_counts(&fake, c2, 2); /* short array keeps 1 and all PUs */
    CHECK(n2 == 2 && c2[0] == 1 && c2[1] == 32);
    CHECK(tt_topo_thread_counts(&fake, NULL, 4) == 0);
    CHECK(tt_topo_thread_counts(NULL, c2, 4) == 1 && c2[0] == 1);

    /* Binding: succeeds, or is refused with a reason (restricted containers); never crashes. */
    for (int i = 0; i < t.pus + 1; i++) {
        st = tt_topo_bind_thread(&t, i);
        CHECKF(st == TT_OK || st == TT_ERR_UNSUPPORTED, "bind %d: %s", i, tt_last_error());
    }
    CHECK(tt_topo_bind_thread(&t, -1) == TT_ERR_VALUE);
    CHECK(tt_topo_bind_thread(NULL, 0) == TT_ERR_NULL);

    size_t sz = 1u << 20;
    unsigned char *p = tt_topo_alloc_local(&t, sz);
    CHECK(p != NULL);
    if (p) {
        memset(p, 1, sz);
        CHECK(((uintptr_t)p & 63) == 0);
        tt_topo_free_local(&t, p, sz);
    }
    CHECK(tt_topo_alloc_local(&t, 0) == NULL);
    CHECK(tt_topo_alloc_local(NULL, 64) == NULL);

    tt_topo_free(&t);
    CHECK(t.handle == NULL);
    tt_topo_free(&t); /* twice is harmless */
    CHECK(tt_topo_load(NULL) == TT_ERR_NULL);
    return tt_test_end("bench_topo");
}
