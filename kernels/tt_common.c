#include "tt_common.h"

#include <stdarg.h>
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
 * 4 KiB (fewer TLB misses, and the hardware prefetchers are not stopped at every 4 KiB boundary). glibc serves
 * such an allocation from its own mapping, and free() releases it. TRITUNE_THP=0 turns this off (to measure it). */
#define TT_HUGE (2u << 20)

static int thp_wanted(void)
{
    static int want = -1;
    if (want < 0) {
        const char *e = getenv("TRITUNE_THP");
        want = !(e && e[0] == '0');
    }
    return want;
}

void *tt_alloc(size_t bytes)
{
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n < bytes) return NULL;
    if (n == 0) n = 64;
    if (n < ((size_t)1 << 20) || !thp_wanted()) return aligned_alloc(64, n);
    void *p = NULL; /* posix_memalign: aligned_alloc wants the size to be a multiple of 2 MiB */
    if (posix_memalign(&p, TT_HUGE, n)) return NULL;
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, n & ~(size_t)4095, MADV_HUGEPAGE); /* advisory: failure leaves 4 KiB pages */
#endif
    return p;
}

void tt_free(void *p) { free(p); }
