/* tt_common.h — status codes and small helpers shared by every tritune module. */
#ifndef TT_COMMON_H
#define TT_COMMON_H

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

/* Aligned allocation (64 bytes, rounded-up size; 1 MiB and more: a 2 MiB-aligned mapping of its own with huge
 * pages advised). Free with tt_free, never free(). */
void *tt_alloc(size_t bytes);
void tt_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
