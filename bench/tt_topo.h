/* tt_topo.h — machine topology through hwloc: counts and cache sizes for reports and the tuner's thread sweep,
 * thread binding (one thread per physical core first), and NUMA-local buffers. */
#ifndef TT_TOPO_H
#define TT_TOPO_H

#include "tt_common.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TT_TOPO_MAX_THREAD_COUNTS 16

typedef struct tt_topo {
    void *handle; /* hwloc_topology_t; opaque so users need no hwloc headers */
    int packages, cores, pus, numa_nodes;
    /* Size of one instance (bytes) and number of instances; 0 when hwloc does not report that level. */
    size_t l1d_bytes, l2_bytes, l3_bytes;
    int l1d_count, l2_count, l3_count;
    int cores_per_l3, cores_per_package; /* physical cores sharing one L3 / one package (>= 1) */
} tt_topo;

/* Loads the topology of what this process may use (a cgroup/affinity restricted view in containers). */
tt_status tt_topo_load(tt_topo *t);
void tt_topo_free(tt_topo *t);

/* Thread counts worth trying, ascending and unique: 1, each sharing level up to all physical cores (cores per L3,
 * per package, all cores), then all PUs (SMT). Returns how many were written (<= max). */
int tt_topo_thread_counts(const tt_topo *t, int *out, int max);

/* Binds the calling thread for thread index i: indices 0..cores-1 get one PU on distinct cores (so the first
 * `cores` threads never share a core), later indices take the cores' further PUs (SMT siblings), wrapping.
 * TT_ERR_UNSUPPORTED (with the OS reason) when binding is refused, e.g. in a restricted container. */
tt_status tt_topo_bind_thread(const tt_topo *t, int thread_index);

/* Memory for the calling thread's NUMA node when the machine has several nodes (page aligned, bound there);
 * otherwise plain page-aligned memory. Free with tt_topo_free_local and the same size. */
void *tt_topo_alloc_local(const tt_topo *t, size_t bytes);
void tt_topo_free_local(const tt_topo *t, void *p, size_t bytes);

/* One line for reports, e.g. "1 package, 2 cores, 2 PUs, 1 NUMA node; L1d 48 KiB x2, L2 1 MiB x2, L3 32 MiB x1". */
const char *tt_topo_describe(const tt_topo *t, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
