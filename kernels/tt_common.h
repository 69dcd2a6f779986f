/* tt_common.h — status codes and small helpers shared by every tritune module. */
#ifndef TT_COMMON_H
#define TT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible public function returns one of these; 0 is success. */
typedef enum tt_status {
    TT_OK = 0,
    TT_ERR_NULL,        /* a required pointer was NULL */
    TT_ERR_SHAPE,       /* M or K violates a format / kernel constraint */
    TT_ERR_SIZE,        /* a buffer is shorter than the format needs */
    TT_ERR_VALUE,       /* a value outside its domain (trit not in {-1,0,1}, code 0b11, ...) */
    TT_ERR_NOMEM,
    TT_ERR_UNSUPPORTED, /* CPU / OS lacks a feature the request needs */
    TT_ERR_IO,
    TT_ERR_FORMAT,      /* a malformed file or record */
    TT_ERR_MISMATCH,    /* a profile or record that belongs to another machine / registry */
    TT_ERR_NOTFOUND,
    TT_STATUS_COUNT
} tt_status;

const char *tt_strerror(tt_status s);

/* Thread-local detail for the last error (e.g. "I2_S needs K % 128 == 0, got K = 100"). */
const char *tt_last_error(void);
tt_status tt_fail(tt_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Aligned allocation (64 bytes, rounded-up size). From 256 KiB on, in mappings tt_alloc makes with huge pages
 * advised, 2 MiB-aligned and whole 2 MiB pages long, so that huge pages can back every byte: up to 16 MiB carved
 * back to back (page-aligned) out of shared 64 MiB slabs, above that a mapping of its own (2 MiB-aligned). A slab
 * is unmapped when its last buffer is freed. Free with tt_free, never free(). */
void *tt_alloc(size_t bytes);
void tt_free(void *p);
/* tt_alloc of n·size bytes, all zero (NULL on overflow); a large buffer is not touched (its pages stay unfaulted). */
void *tt_alloc_zeroed(size_t n, size_t size);
/* For A/B measurement only (bench-ab --pages): on, later tt_alloc calls allocate as tritune did before slabs (from
 * 1 MiB a mapping of the buffer's own size, whose part past the last whole 2 MiB page has 4 KiB pages; less, the
 * heap). Process-wide; buffers keep the way they were made. */
void tt_alloc_set_exact(bool on);

/* Moves the pages of every live tt_alloc mapping made since tt_alloc_seq() returned `since` (which also starts a new
 * slab, so that the buffers made from then on are in those mappings only) onto the
 * fastest 2 MiB pages this process can get:
 * each of the buffers' pages and of a spare pool of as many fresh ones is read `rounds` times (random order per
 * round, median), and the buffers' slower pages are exchanged for faster spare ones (copied, then mremap'd under
 * the same addresses; contents and addresses do not change). No other thread may touch the buffers meanwhile.
 * Needs the buffers in mappings of their own (not under ASan, not with TRITUNE_THP=0). */
#define TT_PLACE_MAX_ROUNDS 16
typedef struct tt_place_report {
    size_t pages, moved;                 /* 2 MiB pages of the buffers, and how many were exchanged */
    int rounds;
    double mean_before_us, mean_after_us; /* mean probe time of a buffer page (median of its rounds) */
    double probe_s, total_s;
} tt_place_report;
uint64_t tt_alloc_seq(void);
tt_status tt_alloc_place(uint64_t since, int rounds, tt_place_report *r);
/* How much of the mappings made since `since` (their pages that hold buffers) transparent huge pages back now
 * (/proc/self/smaps, AnonHugePages): *mapped and *huge in bytes. TT_ERR_UNSUPPORTED where tt_alloc makes no
 * mappings (ASan, TRITUNE_THP=0, not Linux). */
tt_status tt_alloc_huge(uint64_t since, size_t *mapped, size_t *huge);
/* The bytes of the mappings made since `since` that hold buffers (0 where tt_alloc makes none). */
size_t tt_alloc_mapped(uint64_t since);
/* The system's transparent huge page mode (always, madvise, never; "unknown" without the sysfs file). */
const char *tt_thp_mode(void);

/* bench-e2e's two decode ceilings (read: a token's weight reads replayed with no compute; compute: the same kernels
 * on cache-resident rows): true when the compute ceiling is the one that bounds the decode. Decided by decode's median
 * share of each (every repetition against the ceilings measured around it): the ceiling decode came closer to is the
 * lower, which one outlying ceiling measurement does not move (the t/s shown are the highest of the measurements);
 * without both shares, by those t/s. False when a ceiling is missing. One rule for the CLI and the reports. */
static inline bool tt_compute_ceiling_binds(double read_ts, double read_frac, double comp_ts, double comp_frac)
{
    bool have_ts = read_ts > 0 && read_ts < 1e300 && comp_ts > 0 && comp_ts < 1e300; /* false for NaN, inf */
    if (!have_ts) return false;
    if (read_frac > 0 && read_frac < 1e300 && comp_frac > 0 && comp_frac < 1e300) return comp_frac > read_frac;
    return comp_ts <= read_ts;
}

#ifdef __cplusplus
}
#endif
#endif
