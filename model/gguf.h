/* gguf.h — a validating GGUF reader (mmap, read-only) and a streaming GGUF writer, for the bitnet.cpp dialect
 * (docs/FORMATS.md §8). The reader checks every length, count, type, shape, offset and overlap before any pointer is
 * handed out, so a malformed or hostile file gives a message naming the byte offset and the field, never a
 * crash. Everything handed out points into the mapping and lives until tt_gguf_close.
 *
 * Dialect: bitnet.cpp numbers its tensor types I2_S = 36, I8_S = 37, TL1 = 38, TL2 = 39, which collide with
 * upstream ggml's later numbering (upstream 39 is MXFP4). Those ids are read only when general.architecture is
 * "bitnet-b1.58" or "bitnet"; any other file using an id >= 36 is refused with a message saying so. TQ1_0 = 34 and
 * TQ2_0 = 35 mean the same in both numberings and are read in any file (mainline llama.cpp's BitNet files). */
#ifndef TT_GGUF_H
#define TT_GGUF_H

#include "tt_common.h"

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GGUF metadata value types (on-disk ids). */
typedef enum tt_gguf_vtype {
    TT_GGUF_U8 = 0,
    TT_GGUF_I8 = 1,
    TT_GGUF_U16 = 2,
    TT_GGUF_I16 = 3,
    TT_GGUF_U32 = 4,
    TT_GGUF_I32 = 5,
    TT_GGUF_F32 = 6,
    TT_GGUF_BOOL = 7,
    TT_GGUF_STRING = 8,
    TT_GGUF_ARRAY = 9,
    TT_GGUF_U64 = 10,
    TT_GGUF_I64 = 11,
    TT_GGUF_F64 = 12,
    TT_GGUF_VTYPE_COUNT
} tt_gguf_vtype;

/* ggml tensor types this reader knows (on-disk ids; >= 36 only in the bitnet dialect). */
typedef enum tt_ggml_type {
    TT_GGML_F32 = 0,
    TT_GGML_F16 = 1,
    TT_GGML_Q4_0 = 2,  /* blocks of 32: f16 scale + 16 bytes of nibbles = 18 bytes (tt_q32.h) */
    TT_GGML_Q8_0 = 8,  /* blocks of 32: f16 scale + 32 int8 = 34 bytes */
    TT_GGML_Q6_K = 14, /* blocks of 256, 210 bytes (tt_q6k.h) */
    TT_GGML_TQ1_0 = 34, /* ggml (mainline and bitnet.cpp alike): blocks of 256 ternary weights, 54 bytes (tt_tq.h) */
    TT_GGML_TQ2_0 = 35, /* ggml: blocks of 256 ternary weights, 66 bytes (tt_tq.h) */
    TT_GGML_I2_S = 36, /* bitnet.cpp: M*K/4 bytes of 2-bit codes + 32-byte tail (f32 scale first) */
    TT_GGML_I8_S = 37, /* bitnet.cpp: int8 activations, 1 byte per element */
    TT_GGML_TL1 = 38,  /* bitnet.cpp: M*K/4 + 32 bytes, tile order baked at conversion */
    TT_GGML_TL2 = 39,  /* bitnet.cpp: 5 bits per 3 weights (+ 256-column pair tail) + 32 */
} tt_ggml_type;

#define TT_GGUF_MAX_DIMS 4
#define TT_GGUF_NAME_MAX 64 /* ggml's GGML_MAX_NAME: names are at most 63 bytes */
#define TT_GGUF_DEFAULT_ALIGNMENT 32
#define TT_Q8_0_BLOCK 32
#define TT_Q8_0_BYTES 34

const char *tt_ggml_type_name(uint32_t type); /* "f32", "i2_s", ... or "?" */
const char *tt_gguf_vtype_name(uint32_t vtype);

/* Bytes of a tensor of this type and shape (ggml order: ne[0] is the row length K); 0 when the type is unknown,
 * the shape does not fit the type's block size, or the product overflows (message in tt_last_error()). */
size_t tt_ggml_nbytes(uint32_t type, int n_dims, const uint64_t *ne);

/* One metadata entry. Strings are (pointer, length) into the mapping, not NUL-terminated. */
typedef struct tt_gguf_kv {
    const char *key;
    size_t key_len;
    uint32_t type;     /* tt_gguf_vtype */
    uint32_t arr_type; /* element type when type == TT_GGUF_ARRAY (never ARRAY: nested arrays are refused) */
    uint64_t arr_n;    /* element count when an array */
    const uint8_t *val; /* scalar value bytes, string length field, or first array element */
    const uint64_t *str_off; /* string arrays: offset of element i's length field from val (allocated) */
} tt_gguf_kv;

typedef struct tt_gguf_tensor {
    char name[TT_GGUF_NAME_MAX]; /* NUL-terminated copy */
    uint32_t type;               /* tt_ggml_type */
    int n_dims;
    uint64_t ne[TT_GGUF_MAX_DIMS]; /* unused dims are 1; ne[0] = K (row length), ne[1] = M (rows) */
    uint64_t offset;               /* from the start of the data section */
    size_t nbytes;
    const uint8_t *data;
} tt_gguf_tensor;

typedef struct tt_gguf {
    const uint8_t *base; /* whole file */
    size_t size;
    bool mapped;         /* base came from mmap (unmapped by close) */
    uint32_t version;
    uint32_t alignment;
    size_t data_start;   /* file offset of the data section */
    bool bitnet_dialect; /* general.architecture is bitnet-b1.58 or bitnet */
    uint64_t n_kv, n_tensors;
    tt_gguf_kv *kv;
    tt_gguf_tensor *tensors;
} tt_gguf;

/* Open and validate. On failure *out is NULL and tt_last_error() names the problem. */
tt_status tt_gguf_open(const char *path, tt_gguf **out);
/* Same over a caller-owned buffer (kept alive by the caller until close); used by the fuzzer and tests. */
tt_status tt_gguf_open_mem(const void *buf, size_t len, tt_gguf **out);
void tt_gguf_close(tt_gguf *g);

/* Metadata lookup. find returns NULL when absent. The typed getters convert between integer widths when the
 * value fits, accept F32 or F64 for floats, and fail with TT_ERR_NOTFOUND / TT_ERR_FORMAT and a message. */
const tt_gguf_kv *tt_gguf_find_kv(const tt_gguf *g, const char *key);
tt_status tt_gguf_get_u32(const tt_gguf *g, const char *key, uint32_t *out);
tt_status tt_gguf_get_i64(const tt_gguf *g, const char *key, int64_t *out);
tt_status tt_gguf_get_f32(const tt_gguf *g, const char *key, float *out);
tt_status tt_gguf_get_bool(const tt_gguf *g, const char *key, bool *out);
tt_status tt_gguf_get_str(const tt_gguf *g, const char *key, const char **s, size_t *len);
/* Array of the given element type; *kv receives the entry (arr_n elements). */
tt_status tt_gguf_get_arr(const tt_gguf *g, const char *key, uint32_t elem_type, const tt_gguf_kv **kv);

/* Scalar / element access on an entry already type-checked by the caller. */
int64_t tt_gguf_kv_int(const tt_gguf_kv *kv);     /* any integer or bool scalar */
double tt_gguf_kv_float(const tt_gguf_kv *kv);    /* F32 or F64 scalar */
const char *tt_gguf_kv_str(const tt_gguf_kv *kv, size_t *len); /* STRING scalar */
int64_t tt_gguf_arr_int(const tt_gguf_kv *kv, uint64_t i);     /* integer / bool element i */
double tt_gguf_arr_float(const tt_gguf_kv *kv, uint64_t i);    /* F32 / F64 element i */
const char *tt_gguf_arr_str(const tt_gguf_kv *kv, uint64_t i, size_t *len); /* STRING element i */

const tt_gguf_tensor *tt_gguf_find_tensor(const tt_gguf *g, const char *name);

/* ---- writer (gguf_write.c) ----
 * Build the metadata and tensor list, then begin (writes header, KVs, tensor infos and padding), then stream
 * each tensor's bytes in the order added (any number of write calls per tensor; padding to the alignment is
 * inserted between tensors), then finish. Only one tensor's data need exist in memory at a time. Version 3,
 * general.alignment honoured if set (default 32). A path is written to PATH.tmp and renamed on finish. */
typedef struct tt_gguf_writer tt_gguf_writer;

tt_status tt_gguf_writer_new(tt_gguf_writer **out);
void tt_gguf_writer_free(tt_gguf_writer *w); /* also removes an unfinished PATH.tmp */

tt_status tt_gguf_writer_kv_u8(tt_gguf_writer *w, const char *key, uint8_t v);
tt_status tt_gguf_writer_kv_i8(tt_gguf_writer *w, const char *key, int8_t v);
tt_status tt_gguf_writer_kv_u16(tt_gguf_writer *w, const char *key, uint16_t v);
tt_status tt_gguf_writer_kv_i16(tt_gguf_writer *w, const char *key, int16_t v);
tt_status tt_gguf_writer_kv_u32(tt_gguf_writer *w, const char *key, uint32_t v);
tt_status tt_gguf_writer_kv_i32(tt_gguf_writer *w, const char *key, int32_t v);
tt_status tt_gguf_writer_kv_u64(tt_gguf_writer *w, const char *key, uint64_t v);
tt_status tt_gguf_writer_kv_i64(tt_gguf_writer *w, const char *key, int64_t v);
tt_status tt_gguf_writer_kv_f32(tt_gguf_writer *w, const char *key, float v);
tt_status tt_gguf_writer_kv_f64(tt_gguf_writer *w, const char *key, double v);
tt_status tt_gguf_writer_kv_bool(tt_gguf_writer *w, const char *key, bool v);
tt_status tt_gguf_writer_kv_str(tt_gguf_writer *w, const char *key, const char *s);
/* Numeric array: n elements of elem_type (not STRING/ARRAY), raw little-endian element bytes. */
tt_status tt_gguf_writer_kv_arr(tt_gguf_writer *w, const char *key, uint32_t elem_type, const void *data,
                                uint64_t n);
/* String array: lens may be NULL (strlen used). */
tt_status tt_gguf_writer_kv_arr_str(tt_gguf_writer *w, const char *key, const char *const *s, const size_t *lens,
                                    uint64_t n);

tt_status tt_gguf_writer_add_tensor(tt_gguf_writer *w, const char *name, uint32_t type, int n_dims,
                                    const uint64_t *ne);
/* Total file size once finished (valid after all tensors are added). */
uint64_t tt_gguf_writer_file_size(const tt_gguf_writer *w);

tt_status tt_gguf_writer_begin(tt_gguf_writer *w, const char *path);
tt_status tt_gguf_writer_begin_fp(tt_gguf_writer *w, FILE *fp); /* caller owns fp */
tt_status tt_gguf_writer_write(tt_gguf_writer *w, const void *data, size_t len);
tt_status tt_gguf_writer_finish(tt_gguf_writer *w);

#ifdef __cplusplus
}
#endif
#endif
