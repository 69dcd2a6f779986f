#include "tt_common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

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
/* The mappings tt_alloc made, so that tt_free knows them from malloc's blocks (few: one per weight matrix). */
typedef struct big_map {
    void *p;
    size_t len;
    struct big_map *next;
} big_map;
static big_map *big_maps;
static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;

static void *alloc_mapping(size_t n)
{
    size_t body = (n + 4095) & ~(size_t)4095, len = body + TT_HUGE;
    if (body < n || len < body) return NULL;
    big_map *b = malloc(sizeof *b);
    if (!b) return NULL;
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return free(b), NULL;
    char *p = (char *)(((uintptr_t)base + TT_HUGE - 1) & ~(uintptr_t)(TT_HUGE - 1));
    size_t head = (size_t)(p - base), tail = len - head - body;
    if (head) munmap(base, head);
    if (tail) munmap(p + body, tail);
#ifdef MADV_HUGEPAGE
    madvise(p, body, MADV_HUGEPAGE); /* advisory: failure leaves 4 KiB pages */
#endif
    b->p = p, b->len = body;
    pthread_mutex_lock(&big_mu);
    b->next = big_maps, big_maps = b;
    pthread_mutex_unlock(&big_mu);
    return p;
}
#endif

void *tt_alloc(size_t bytes)
{
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n < bytes) return NULL;
    if (n == 0) n = 64;
    if (n < ((size_t)1 << 20) || !thp_wanted()) return aligned_alloc(64, n);
#if TT_OWN_MAPPINGS
    return alloc_mapping(n);
#else
    void *p = NULL; /* posix_memalign: aligned_alloc wants the size to be a multiple of 2 MiB */
    if (posix_memalign(&p, TT_HUGE, n)) return NULL;
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, n & ~(size_t)4095, MADV_HUGEPAGE);
#endif
    return p;
#endif
}

void tt_free(void *p)
{
    if (!p) return;
#if TT_OWN_MAPPINGS
    big_map *b = NULL;
    pthread_mutex_lock(&big_mu);
    for (big_map **pp = &big_maps; *pp; pp = &(*pp)->next)
        if ((*pp)->p == p) {
            b = *pp, *pp = b->next;
            break;
        }
    pthread_mutex_unlock(&big_mu);
    if (b) {
        munmap(b->p, b->len);
        free(b);
        return;
    }
#endif
    free(p);
}
