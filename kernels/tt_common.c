#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mremap (the generator builds this file without the project flags) */
#endif
#include "tt_common.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char *const tt_status_names[TT_STATUS_COUNT] = {
    [TT_OK] = "ok",
    [TT_ERR_NULL] = "null pointer",
    [TT_ERR_SHAPE] = "invalid shape",
    [TT_ERR_SIZE] = "buffer too small",
    [TT_ERR_VALUE] = "value out of domain",
    [TT_ERR_NOMEM] = "out of memory",
    [TT_ERR_UNSUPPORTED] = "unsupported on this CPU/OS",
    [TT_ERR_IO] = "I/O error",
    [TT_ERR_FORMAT] = "malformed input",
    [TT_ERR_MISMATCH] = "mismatch",
    [TT_ERR_NOTFOUND] = "not found",
};

const char *tt_strerror(tt_status s)
{
    if ((unsigned)s >= TT_STATUS_COUNT) return "unknown status";
    return tt_status_names[s];
}

static _Thread_local char tt_err_buf[512];

const char *tt_last_error(void) { return tt_err_buf; }

tt_status tt_fail(tt_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tt_err_buf, sizeof tt_err_buf, fmt, ap);
    va_end(ap);
    return s;
}

/* Buffers of a megabyte or more (packed weights, LM heads, cold copies) start on a 2 MiB boundary and ask for
 * transparent huge pages: a weight stream of gigabytes then walks one page table entry per 2 MiB instead of per
 * 4 KiB (fewer TLB misses, which cost a two-level walk in a VM, and the hardware prefetchers are not stopped at
 * every 4 KiB boundary). They get a mapping of their own, advised before its first touch: glibc's allocator would
 * serve them from its heap once its dynamic mmap threshold has risen (any freed mapping below 32 MiB raises it),
 * and there they land on pages already faulted in as 4 KiB, which madvise does not convert (measured: 16 of
 * 521 MB of a 2B4T model's packed weights were huge pages that way). TRITUNE_THP=0 turns this off (to measure it).
 * Under AddressSanitizer they stay on the malloc heap, where ASan checks their bounds. */
#define TT_HUGE ((size_t)2 << 20)

static int thp_wanted(void)
{
    static int want = -1;
    if (want < 0) {
        const char *e = getenv("TRITUNE_THP");
        want = !(e && e[0] == '0');
    }
    return want;
}

#if defined(__SANITIZE_ADDRESS__)
#define TT_OWN_MAPPINGS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_OWN_MAPPINGS 0
#endif
#endif
#ifndef TT_OWN_MAPPINGS
#define TT_OWN_MAPPINGS 1
#endif

#if TT_OWN_MAPPINGS
/* The mappings tt_alloc made, so that tt_free knows them from malloc's blocks. Every one is 2 MiB-aligned and a
 * whole number of 2 MiB pages long, so that transparent huge pages can back all of it: a mapping of 1.9 MiB (the
 * fused q/k/v of 2B4T in B3) or the last part of a longer one that is not a whole 2 MiB sat on 4 KiB pages, and
 * the GEMV kernels streamed such a matrix 1.5x slower than the same bytes on huge pages (nested page walks in a
 * VM; docs/MEASUREMENT.md, "Huge pages for every matrix"). A buffer of SLAB_MIN..SLAB_MAX bytes is carved out of
 * a shared slab, back to back in the order of the calls (a model's matrices in load order), so that rounding each
 * one up to 2 MiB does not cost up to 2 MiB of memory per matrix. */
#define SLAB_BYTES ((size_t)64 << 20)
#define SLAB_MIN ((size_t)1 << 18) /* smaller buffers come from the heap */
#define SLAB_MAX ((size_t)16 << 20)
#define SLAB_ALIGN ((size_t)4096)
typedef struct big_map {
    uint8_t *p;
    size_t len;  /* mapped bytes: whole 2 MiB pages */
    size_t used; /* bytes handed out: a slab's bump offset; len for a buffer's own mapping */
    long live;   /* a slab: its buffers not yet freed; -1: one buffer's own mapping */
    uint64_t seq; /* tt_alloc_seq() when it was made */
    struct big_map *next;
} big_map;
static big_map *big_maps, *open_slab; /* open_slab: the slab new small buffers go to (NULL: make one) */
static bool exact_maps; /* tt_alloc_set_exact: the former allocation, for A/B measurement */
static uint64_t big_seq;
static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;

/* A new 2 MiB-aligned mapping of len bytes (a multiple of 2 MiB) with huge pages advised, listed. Lock held. */
static big_map *new_mapping(size_t len, long live)
{
    size_t map = len + TT_HUGE;
    if (map < len) return NULL;
    big_map *b = malloc(sizeof *b);
    if (!b) return NULL;
    char *base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return free(b), NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)base + TT_HUGE - 1) & ~(uintptr_t)(TT_HUGE - 1));
    size_t head = (size_t)(p - (uint8_t *)base), tail = map - head - len;
    if (head) munmap(base, head);
    if (tail) munmap(p + len, tail);
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE); /* advisory: failure leaves 4 KiB pages */
#endif
    b->p = p, b->len = len, b->used = live < 0 ? len : 0, b->live = live;
    b->seq = big_seq++;
    b->next = big_maps, big_maps = b;
    return b;
}

static void *alloc_mapping(size_t n)
{
    void *r = NULL;
    pthread_mutex_lock(&big_mu);
    if (exact_maps) { /* the former rule: 1 MiB and more, a mapping of the buffer's size; less, the heap */
        big_map *b = n < ((size_t)1 << 20) ? NULL : new_mapping((n + 4095) & ~(size_t)4095, -1);
        pthread_mutex_unlock(&big_mu);
        return b ? b->p : n < ((size_t)1 << 20) ? aligned_alloc(64, n) : NULL;
    }
    if (n >= SLAB_MIN && n <= SLAB_MAX) {
        size_t at = open_slab ? (open_slab->used + SLAB_ALIGN - 1) & ~(SLAB_ALIGN - 1) : 0;
        if (!open_slab || at + n > open_slab->len) {
            open_slab = new_mapping(SLAB_BYTES, 0); /* the old one's rest stays unused (never touched: no memory) */
            at = 0;
        }
        if (open_slab) r = open_slab->p + at, open_slab->used = at + n, open_slab->live++;
    } else {
        size_t len = (n + TT_HUGE - 1) & ~(TT_HUGE - 1);
        big_map *b = len >= n ? new_mapping(len, -1) : NULL;
        if (b) r = b->p;
    }
    pthread_mutex_unlock(&big_mu);
    return r;
}

/* Releases p if tt_alloc mapped it (its own mapping, or a slab whose last live buffer it was). Lock not held. */
static bool free_mapping(void *p)
{
    big_map *b = NULL;
    bool mine = false;
    pthread_mutex_lock(&big_mu);
    for (big_map **pp = &big_maps; *pp; pp = &(*pp)->next) {
        big_map *c = *pp;
        if ((uint8_t *)p < c->p || (uint8_t *)p >= c->p + c->len) continue;
        mine = true;
        if (c->live < 0 || --c->live == 0) {
            b = c, *pp = c->next;
            if (open_slab == c) open_slab = NULL;
        }
        break;
    }
    pthread_mutex_unlock(&big_mu);
    if (b) {
        munmap(b->p, b->len);
        free(b);
    }
    return mine;
}
#endif

void tt_alloc_set_exact(bool on)
{
#if TT_OWN_MAPPINGS
    pthread_mutex_lock(&big_mu);
    exact_maps = on;
    pthread_mutex_unlock(&big_mu);
#else
    (void)on;
#endif
}

void *tt_alloc(size_t bytes)
{
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n < bytes) return NULL;
    if (n == 0) n = 64;
#if TT_OWN_MAPPINGS
    if (n < SLAB_MIN || !thp_wanted()) return aligned_alloc(64, n);
    return alloc_mapping(n);
#else
    if (n < ((size_t)1 << 20) || !thp_wanted()) return aligned_alloc(64, n);
    void *p = NULL; /* posix_memalign: aligned_alloc wants the size to be a multiple of 2 MiB */
    if (posix_memalign(&p, TT_HUGE, n)) return NULL;
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, n & ~(size_t)4095, MADV_HUGEPAGE);
#endif
    return p;
#endif
}

void *tt_alloc_zeroed(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    uint8_t *p = tt_alloc(bytes);
    if (!p) return NULL;
#if TT_OWN_MAPPINGS
    /* tt_alloc's mappings are fresh anonymous memory (a slab hands out each byte once): zero, and not touched here */
    if (bytes < ((size_t)1 << 20) || !thp_wanted()) memset(p, 0, bytes);
#else
    memset(p, 0, bytes);
#endif
    return p;
}

void tt_free(void *p)
{
    if (!p) return;
#if TT_OWN_MAPPINGS
    if (free_mapping(p)) return;
#endif
    free(p);
}

/* ---- tt_alloc_place: the big buffers onto this process's fastest 2 MiB pages ----
 * On a VM the guest's physical pages are backed by host memory that does not stream alike: a plain read of one
 * region ran 10-20 % faster than of another, in contiguous stretches of hundreds of MiB, the same from one pass to
 * the next (docs/MEASUREMENT.md, "Where the pages land"). Two copies of one model loaded side by side decoded up to
 * 19 % apart for that reason alone. This probes every 2 MiB page of the buffers tt_alloc mapped and of a spare pool
 * of as many fresh pages, all in a random order per round, and moves the fastest pages under the buffers' addresses
 * (mremap: the page tables move, the data is copied once); the spare pages left are unmapped. */
#if TT_OWN_MAPPINGS && defined(__linux__)

typedef struct place_page {
    uint8_t *addr;
    int pool;  /* 1: a spare page, 0: a page of a buffer */
    float t[TT_PLACE_MAX_ROUNDS];
    float score;
} place_page;

static double place_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t place_sink;

/* MemAvailable from /proc/meminfo in bytes, -1 if unknown. */
static long long mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[128];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static void place_read(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < TT_HUGE / 8; i += 32) /* one word per 64-byte line, four lines per step */
        a += q[i], b += q[i + 8], c += q[i + 16], d += q[i + 24];
    place_sink += a ^ b ^ c ^ d;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int cmp_score(const void *a, const void *b)
{
    float x = (*(place_page *const *)a)->score, y = (*(place_page *const *)b)->score;
    return x < y ? -1 : x > y;
}

/* The whole 2 MiB pages of a mapping that hold buffers (a slab's unused rest was never touched; a mapping made by
 * tt_alloc_set_exact may end in part of one). */
static size_t map_pages(const big_map *b)
{
    return b->live < 0 ? b->len / TT_HUGE : (b->used + TT_HUGE - 1) / TT_HUGE;
}

/* The bytes of a mapping that hold buffers: a slab's used pages, a buffer's whole mapping. */
static size_t map_bytes(const big_map *b) { return b->live < 0 ? b->len : map_pages(b) * TT_HUGE; }

uint64_t tt_alloc_seq(void)
{
    pthread_mutex_lock(&big_mu);
    uint64_t s = big_seq;
    open_slab = NULL; /* the buffers made from here on go to mappings made from here on */
    pthread_mutex_unlock(&big_mu);
    return s;
}

const char *tt_thp_mode(void)
{
    static char mode[16];
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char line[128] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        fclose(f);
    }
    const char *o = strchr(line, '['), *c = o ? strchr(o, ']') : NULL;
    if (!o || !c || c - o - 1 >= (long)sizeof mode) return "unknown";
    memcpy(mode, o + 1, (size_t)(c - o - 1));
    mode[c - o - 1] = 0;
    return mode;
}

/* The bytes of the mappings made since `since` that hold buffers. Lock held. */
static size_t mapped_since(uint64_t since)
{
    size_t n = 0;
    for (big_map *b = big_maps; b; b = b->next) n += b->seq >= since ? map_bytes(b) : 0;
    return n;
}

size_t tt_alloc_mapped(uint64_t since)
{
    pthread_mutex_lock(&big_mu);
    size_t n = mapped_since(since);
    pthread_mutex_unlock(&big_mu);
    return n;
}

tt_status tt_alloc_huge(uint64_t since, size_t *mapped, size_t *huge)
{
    *mapped = *huge = 0;
    if (!thp_wanted()) return tt_fail(TT_ERR_UNSUPPORTED, "huge pages: TRITUNE_THP=0 (buffers on the heap)");
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return tt_fail(TT_ERR_IO, "huge pages: /proc/self/smaps: %s", strerror(errno));
    pthread_mutex_lock(&big_mu);
    *mapped = mapped_since(since);
    /* the mappings' areas in smaps (the placement's mremap splits one into several; neighbours may merge): each
     * area's AnonHugePages, at most as much of it as lies in the pages counted above (a slab's unused rest has no
     * pages at all, so a share in proportion to the area would undercount) */
    char line[256];
    unsigned long long a = 0, e = 0;
    size_t in = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long x, y, kb;
        if (sscanf(line, "%llx-%llx ", &x, &y) == 2) {
            a = x, e = y, in = 0;
            for (big_map *b = big_maps; b; b = b->next) {
                if (b->seq < since) continue;
                unsigned long long lo = (uintptr_t)b->p, hi = lo + map_bytes(b);
                lo = lo > a ? lo : a, hi = hi < e ? hi : e;
                if (hi > lo) in += (size_t)(hi - lo);
            }
        } else if (in && sscanf(line, "AnonHugePages: %llu kB", &kb) == 1) {
            *huge += (size_t)kb * 1024 < in ? (size_t)kb * 1024 : in;
            in = 0;
        }
    }
    pthread_mutex_unlock(&big_mu);
    fclose(f);
    if (*huge > *mapped) *huge = *mapped;
    return TT_OK;
}

tt_status tt_alloc_place(uint64_t since, int rounds, tt_place_report *r)
{
    memset(r, 0, sizeof *r);
    if (rounds < 1 || rounds > TT_PLACE_MAX_ROUNDS)
        return tt_fail(TT_ERR_VALUE, "placement: %d rounds (1..%d)", rounds, TT_PLACE_MAX_ROUNDS);
    if (!thp_wanted()) return tt_fail(TT_ERR_UNSUPPORTED, "placement: TRITUNE_THP=0 (buffers on the heap)");
    pthread_mutex_lock(&big_mu);
    size_t n = 0;
    for (big_map *b = big_maps; b; b = b->next) n += b->seq >= since ? map_pages(b) : 0;
    uint8_t *pool = NULL;
    size_t pool_len = n * TT_HUGE, pool_map = pool_len + TT_HUGE;
    place_page *pg = n ? calloc(2 * n, sizeof *pg) : NULL;
    place_page **order = n ? malloc(2 * n * sizeof *order) : NULL;
    tt_status st = TT_OK;
    char *base = MAP_FAILED;
    const long long avail = mem_available();
    if (!n) { /* nothing to place */
        pthread_mutex_unlock(&big_mu);
        r->rounds = rounds;
        return TT_OK;
    }
    if (avail >= 0 && (unsigned long long)avail < pool_len + ((size_t)1 << 30))
        /* the spare pool is touched: it must fit with room to spare, or the kernel would reclaim or kill */
        st = tt_fail(TT_ERR_NOMEM, "placement: a spare pool of %zu MiB does not fit (MemAvailable %lld MiB)",
                     pool_len >> 20, avail >> 20);
    else if (!pg || !order) st = tt_fail(TT_ERR_NOMEM, "placement: %zu pages", 2 * n);
    else if ((base = mmap(NULL, pool_map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
        st = tt_fail(TT_ERR_NOMEM, "placement: a spare pool of %zu MiB: %s", pool_len >> 20, strerror(errno));
    if (st) {
        pthread_mutex_unlock(&big_mu);
        free(pg), free(order);
        return st;
    }
    pool = (uint8_t *)(((uintptr_t)base + TT_HUGE - 1) & ~(uintptr_t)(TT_HUGE - 1));
    if (pool > (uint8_t *)base) munmap(base, (size_t)(pool - (uint8_t *)base));
    if ((uint8_t *)base + pool_map > pool + pool_len)
        munmap(pool + pool_len, (size_t)((uint8_t *)base + pool_map - (pool + pool_len)));
#ifdef MADV_HUGEPAGE
    madvise(pool, pool_len, MADV_HUGEPAGE);
#endif
    size_t k = 0;
    for (big_map *b = big_maps; b; b = b->next)
        for (size_t o = 0; b->seq >= since && o < map_pages(b) * TT_HUGE; o += TT_HUGE)
            pg[k].addr = (uint8_t *)b->p + o, pg[k++].pool = 0;
    for (size_t i = 0; i < n; i++) {
        pg[n + i].addr = pool + i * TT_HUGE, pg[n + i].pool = 1;
        memset(pg[n + i].addr, 0, TT_HUGE); /* fault it in (a huge page where the kernel has one) */
    }
    const size_t np = 2 * n;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    const double t0 = place_now();
    for (int rd = 0; rd < rounds; rd++) {
        for (size_t i = 0; i < np; i++) order[i] = &pg[i];
        for (size_t i = np - 1; i > 0; i--) { /* a fresh random order each round: no page always follows another */
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t j = (size_t)(rng % (i + 1));
            place_page *x = order[i];
            order[i] = order[j], order[j] = x;
        }
        for (size_t i = 0; i < np; i++) {
            double a = place_now();
            place_read(order[i]->addr);
            order[i]->t[rd] = (float)(place_now() - a);
        }
    }
    r->probe_s = place_now() - t0;
    double before = 0, after = 0;
    for (size_t i = 0; i < np; i++) {
        float t[TT_PLACE_MAX_ROUNDS];
        memcpy(t, pg[i].t, sizeof t);
        qsort(t, (size_t)rounds, sizeof *t, cmp_float);
        pg[i].score = rounds % 2 ? t[rounds / 2] : 0.5f * (t[rounds / 2 - 1] + t[rounds / 2]);
        if (!pg[i].pool) before += pg[i].score;
        order[i] = &pg[i];
    }
    qsort(order, np, sizeof *order, cmp_score);
    /* the n fastest pages hold the buffers: each buffer page outside them takes a spare page inside them */
    size_t spare = 0;
    for (size_t i = 0; i < n; i++) {
        after += order[i]->score;
        if (order[i]->pool) continue;
        order[i]->pool = -1; /* kept where it is */
    }
    for (size_t i = n; i < np; i++) {
        if (order[i]->pool) continue;
        while (spare < n && order[spare]->pool != 1) spare++;
        if (spare == n) break; /* cannot happen: as many fast spare pages as slow buffer pages */
        place_page *dst = order[i], *src = order[spare++];
        memcpy(src->addr, dst->addr, TT_HUGE);
        if (mremap(src->addr, TT_HUGE, TT_HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst->addr) == MAP_FAILED) {
            st = tt_fail(TT_ERR_NOMEM, "placement: mremap: %s (the buffers are intact)", strerror(errno));
            break;
        }
        src->pool = 2; /* moved */
        r->moved++;
    }
    /* the spare pages that were not moved, one range at a time (the moved ones left holes) */
    for (size_t i = 0; i < n; i++)
        if (pg[n + i].pool == 1) munmap(pg[n + i].addr, TT_HUGE);
    pthread_mutex_unlock(&big_mu);
    r->pages = n;
    r->mean_before_us = 1e6 * before / (double)n;
    r->mean_after_us = st ? r->mean_before_us : 1e6 * after / (double)n;
    r->rounds = rounds;
    r->total_s = place_now() - t0;
    free(pg), free(order);
    return st;
}
#else
uint64_t tt_alloc_seq(void) { return 0; }

const char *tt_thp_mode(void) { return "unknown"; }

size_t tt_alloc_mapped(uint64_t since)
{
    (void)since;
    return 0;
}

tt_status tt_alloc_huge(uint64_t since, size_t *mapped, size_t *huge)
{
    (void)since;
    *mapped = *huge = 0;
    return tt_fail(TT_ERR_UNSUPPORTED, "huge pages: buffers are not in mappings of their own in this build");
}

tt_status tt_alloc_place(uint64_t since, int rounds, tt_place_report *r)
{
    (void)since, (void)rounds;
    memset(r, 0, sizeof *r);
    return tt_fail(TT_ERR_UNSUPPORTED, "placement: buffers are not in mappings of their own in this build");
}
#endif
