/* tt_topo.c — hwloc topology, binding and NUMA-local memory; see tt_topo.h. */
#include "tt_topo.h"

#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count_type(hwloc_topology_t topo, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(topo, type);
    return n > 0 ? n : 0;
}

/* Size of one instance of a cache level and how many there are. */
static void cache_level(hwloc_topology_t topo, hwloc_obj_type_t type, size_t *bytes, int *count)
{
    *count = count_type(topo, type);
    hwloc_obj_t o = *count ? hwloc_get_obj_by_type(topo, type, 0) : NULL;
    *bytes = o && o->attr ? (size_t)o->attr->cache.size : 0;
}

/* Physical cores inside the first object of a type (one L3, one package). */
static int cores_inside_first(hwloc_topology_t topo, hwloc_obj_type_t type, int fallback)
{
    hwloc_obj_t o = hwloc_get_obj_by_type(topo, type, 0);
    if (!o || !o->cpuset)
        return fallback;
    int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, o->cpuset, HWLOC_OBJ_CORE);
    return n > 0 ? n : fallback;
}

tt_status tt_topo_load(tt_topo *t)
{
    if (!t)
        return tt_fail(TT_ERR_NULL, "tt_topo_load: topology is NULL");
    memset(t, 0, sizeof *t);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return tt_fail(TT_ERR_NOMEM, "hwloc_topology_init failed: %s", strerror(errno));
    if (hwloc_topology_load(topo) != 0) {
        int e = errno;
        hwloc_topology_destroy(topo);
        return tt_fail(TT_ERR_IO, "hwloc_topology_load failed: %s", strerror(e));
    }
    t->handle = topo;
    t->packages = count_type(topo, HWLOC_OBJ_PACKAGE);
    t->pus = count_type(topo, HWLOC_OBJ_PU);
    t->cores = count_type(topo, HWLOC_OBJ_CORE);
    t->numa_nodes = count_type(topo, HWLOC_OBJ_NUMANODE);
    /* Some platforms (and hwloc without /sys) expose no Core or Package objects: treat each PU as a core. */
    if (t->pus < 1)
        t->pus = 1;
    if (t->cores < 1)
        t->cores = t->pus;
    if (t->packages < 1)
        t->packages = 1;
    if (t->numa_nodes < 1)
        t->numa_nodes = 1;
    cache_level(topo, HWLOC_OBJ_L1CACHE, &t->l1d_bytes, &t->l1d_count);
    cache_level(topo, HWLOC_OBJ_L2CACHE, &t->l2_bytes, &t->l2_count);
    cache_level(topo, HWLOC_OBJ_L3CACHE, &t->l3_bytes, &t->l3_count);
    t->cores_per_l3 = t->l3_count ? cores_inside_first(topo, HWLOC_OBJ_L3CACHE, t->cores) : t->cores;
    t->cores_per_package = cores_inside_first(topo, HWLOC_OBJ_PACKAGE, t->cores);
    return TT_OK;
}

void tt_topo_free(tt_topo *t)
{
    if (!t)
        return;
    if (t->handle)
        hwloc_topology_destroy((hwloc_topology_t)t->handle);
    memset(t, 0, sizeof *t);
}

static void add_unique(int *v, int *n, int max, int x)
{
    for (int i = 0; i < *n; i++)
        if (v[i] == x)
            return;
    if (*n < max)
        v[(*n)++] = x;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int tt_topo_thread_counts(const tt_topo *t, int *out, int max)
{
    if (!out || max <= 0)
        return 0;
    int cores = t && t->cores > 0 ? t->cores : 1;
    int pus = t && t->pus >= cores ? t->pus : cores;
    int tmp[TT_TOPO_MAX_THREAD_COUNTS], n = 0;
    int levels[] = {1, t ? t->cores_per_l3 : 1, t ? t->cores_per_package : 1, cores, pus};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (levels[i] >= 1 && levels[i] <= pus)
            add_unique(tmp, &n, TT_TOPO_MAX_THREAD_COUNTS, levels[i]);
    qsort(tmp, (size_t)n, sizeof tmp[0], cmp_int);
    /* Keep the largest count (all PUs) when the caller's array is short: it is the one a sweep must not miss. */
    if (n > max) {
        tmp[max - 1] = tmp[n - 1];
        n = max;
    }
    memcpy(out, tmp, (size_t)n * sizeof tmp[0]);
    return n;
}

tt_status tt_topo_bind_thread(const tt_topo *t, int thread_index)
{
    if (!t || !t->handle)
        return tt_fail(TT_ERR_NULL, "tt_topo_bind_thread: topology not loaded");
    if (thread_index < 0)
        return tt_fail(TT_ERR_VALUE, "tt_topo_bind_thread: negative thread index %d", thread_index);
    hwloc_topology_t topo = (hwloc_topology_t)t->handle;
    int ncores = count_type(topo, HWLOC_OBJ_CORE);
    hwloc_obj_t pu = NULL;
    if (ncores > 0) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(thread_index % ncores));
        int npu = core ? hwloc_get_nbobjs_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU) : 0;
        if (npu > 0)
            pu = hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU,
                                                     (unsigned)((thread_index / ncores) % npu));
    } else {
        int npu = count_type(topo, HWLOC_OBJ_PU);
        if (npu > 0)
            pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)(thread_index % npu));
    }
    if (!pu)
        return tt_fail(TT_ERR_NOTFOUND, "tt_topo_bind_thread: no PU for thread %d", thread_index);
    if (hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD) != 0)
        return tt_fail(TT_ERR_UNSUPPORTED, "binding thread %d to PU P#%u failed: %s", thread_index, pu->os_index,
                       strerror(errno));
    return TT_OK;
}

void *tt_topo_alloc_local(const tt_topo *t, size_t bytes)
{
    if (!t || !t->handle || bytes == 0)
        return NULL;
    hwloc_topology_t topo = (hwloc_topology_t)t->handle;
    void *p = NULL;
    if (t->numa_nodes > 1) {
        /* Bind to the node(s) of the CPUs this thread runs on; with first-touch alone a buffer initialised by
         * another thread would land on the wrong node. */
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (set && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0)
            p = hwloc_alloc_membind(topo, bytes, set, HWLOC_MEMBIND_BIND, 0);
        hwloc_bitmap_free(set);
    }
    /* hwloc_alloc and hwloc_alloc_membind share hwloc_free, so the fallback needs no bookkeeping. */
    if (!p)
        p = hwloc_alloc(topo, bytes);
    return p;
}

void tt_topo_free_local(const tt_topo *t, void *p, size_t bytes)
{
    if (!t || !t->handle || !p)
        return;
    hwloc_free((hwloc_topology_t)t->handle, p, bytes);
}

static const char *fmt_bytes(size_t b, char *buf, size_t len)
{
    if (b >= (1u << 20) && b % (1u << 20) == 0)
        snprintf(buf, len, "%zu MiB", b >> 20);
    else if (b >= 1024)
        snprintf(buf, len, "%zu KiB", b >> 10);
    else
        snprintf(buf, len, "%zu B", b);
    return buf;
}

const char *tt_topo_describe(const tt_topo *t, char *buf, size_t len)
{
    if (!buf || !len)
        return "";
    if (!t || !t->handle) {
        snprintf(buf, len, "topology not loaded");
        return buf;
    }
    char a[32], b[32], c[32];
    snprintf(buf, len, "%d package%s, %d cores, %d PUs, %d NUMA node%s; L1d %s x%d, L2 %s x%d, L3 %s x%d",
             t->packages, t->packages == 1 ? "" : "s", t->cores, t->pus, t->numa_nodes, t->numa_nodes == 1 ? "" : "s",
             fmt_bytes(t->l1d_bytes, a, sizeof a), t->l1d_count, fmt_bytes(t->l2_bytes, b, sizeof b), t->l2_count,
             fmt_bytes(t->l3_bytes, c, sizeof c), t->l3_count);
    return buf;
}
