/* gguf.c — the validating GGUF reader. Every read goes through a bounds-checked cursor; every count is checked
 * against the bytes left before anything is allocated; every size product is overflow-checked. Messages name
 * the byte offset and the field, so a user with a broken file (or the fuzzer) learns what is wrong.
 *
 * File layout (little endian): "GGUF", u32 version (2 or 3), u64 n_tensors, u64 n_kv, n_kv × {string key,
 * u32 type, value}, n_tensors × {string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset}, padding to
 * general.alignment, data section. A string is u64 length + bytes (no NUL). */
#include "gguf.h"
#include "tt_errctx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Smallest possible encodings, used to bound counts by the bytes left before allocating anything. */
#define MIN_KV_BYTES (8 + 1 + 4 + 1)             /* key length, 1-byte key, type, 1-byte value */
#define MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 8 + 4 + 8) /* name length, 1-byte name, n_dims, one dim, type, offset */
#define KEY_LEN_MAX 65535
#define ALIGNMENT_MAX (1u << 30)

static const char *const vtype_names[TT_GGUF_VTYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};

/* Fixed value sizes; 0 for the variable-length STRING and ARRAY. */
static const uint8_t vtype_size[TT_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *tt_gguf_vtype_name(uint32_t t) { return t < TT_GGUF_VTYPE_COUNT ? vtype_names[t] : "?"; }

const char *tt_ggml_type_name(uint32_t t)
{
    switch (t) {
    case TT_GGML_F32: return "f32";
    case TT_GGML_F16: return "f16";
    case TT_GGML_Q4_0: return "q4_0";
    case TT_GGML_Q8_0: return "q8_0";
    case TT_GGML_Q6_K: return "q6_K";
    case TT_GGML_TQ1_0: return "tq1_0";
    case TT_GGML_TQ2_0: return "tq2_0";
    case TT_GGML_I2_S: return "i2_s";
    case TT_GGML_I8_S: return "i8_s";
    case TT_GGML_TL1: return "tl1";
    case TT_GGML_TL2: return "tl2";
    default: return "?";
    }
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *r) { return !__builtin_mul_overflow(a, b, r); }

size_t tt_ggml_nbytes(uint32_t type, int n_dims, const uint64_t *ne)
{
    if (n_dims < 1 || n_dims > TT_GGUF_MAX_DIMS) {
        tt_fail(TT_ERR_SHAPE, "tensor has %d dims (1..%d allowed)", n_dims, TT_GGUF_MAX_DIMS);
        return 0;
    }
    uint64_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        if (ne[i] < 1) {
            tt_fail(TT_ERR_SHAPE, "dim %d is %llu (each dim must be >= 1)", i, (unsigned long long)ne[i]);
            return 0;
        }
        if (!mul_ok(n, ne[i], &n) || n > ((uint64_t)1 << 56)) {
            tt_fail(TT_ERR_SHAPE, "element count overflows at dim %d", i);
            return 0;
        }
    }
    uint64_t k = ne[0], rows = n / k, bytes;
    switch (type) {
    case TT_GGML_F32: bytes = n * 4; break;
    case TT_GGML_F16: bytes = n * 2; break;
    case TT_GGML_I8_S: bytes = n; break;
    case TT_GGML_Q8_0:
        if (k % TT_Q8_0_BLOCK) {
            tt_fail(TT_ERR_SHAPE, "q8_0 needs ne0 %% 32 == 0, got ne0 = %llu", (unsigned long long)k);
            return 0;
        }
        bytes = n / TT_Q8_0_BLOCK * TT_Q8_0_BYTES;
        break;
    case TT_GGML_Q4_0:
        if (k % 32) {
            tt_fail(TT_ERR_SHAPE, "q4_0 needs ne0 %% 32 == 0, got ne0 = %llu", (unsigned long long)k);
            return 0;
        }
        bytes = n / 32 * 18;
        break;
    case TT_GGML_Q6_K:
        if (k % 256) {
            tt_fail(TT_ERR_SHAPE, "q6_K needs ne0 %% 256 == 0 (blocks of 256), got ne0 = %llu", (unsigned long long)k);
            return 0;
        }
        bytes = n / 256 * 210;
        break;
    case TT_GGML_TQ1_0:
    case TT_GGML_TQ2_0: /* ggml: rows of ne0 / 256 blocks (QK_K) of 54 / 66 bytes */
        if (k % 256) {
            tt_fail(TT_ERR_SHAPE, "%s needs ne0 %% 256 == 0 (blocks of 256 weights), got ne0 = %llu",
                    tt_ggml_type_name(type), (unsigned long long)k);
            return 0;
        }
        bytes = n / 256 * (type == TT_GGML_TQ1_0 ? 54 : 66);
        break;
    case TT_GGML_I2_S:
    case TT_GGML_TL1: /* bitnet.cpp's ggml_nbytes: elements / 4 + 32 (scale tail) */
        if (k % 4) {
            tt_fail(TT_ERR_SHAPE, "%s needs ne0 %% 4 == 0, got ne0 = %llu", tt_ggml_type_name(type),
                    (unsigned long long)k);
            return 0;
        }
        bytes = n / 4 + 32;
        break;
    case TT_GGML_TL2: /* bitnet.cpp: triples over ne0-256 columns (5 bits / 3), pairs over 256, padded to 32 */
        if (k < 256 || n_dims > 2) {
            tt_fail(TT_ERR_SHAPE, "tl2 needs a 2-D tensor with ne0 >= 256, got ne0 = %llu", (unsigned long long)k);
            return 0;
        }
        bytes = (k - 256) * rows / 3 * 5 / 8 + 256 * rows / 2 * 4 / 8;
        bytes = (bytes + 31) / 32 * 32 + 32;
        break;
    default: tt_fail(TT_ERR_FORMAT, "unknown ggml type %u", type); return 0;
    }
    if (bytes > SIZE_MAX / 2) {
        tt_fail(TT_ERR_SHAPE, "tensor of %llu bytes is too large", (unsigned long long)bytes);
        return 0;
    }
    return (size_t)bytes;
}

/* ---- bounds-checked cursor ---- */
typedef struct cursor {
    const uint8_t *b;
    size_t n, off;
} cursor;

static size_t left(const cursor *c) { return c->n - c->off; }

static tt_status need(const cursor *c, uint64_t bytes, const char *what)
{
    if (bytes > left(c))
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s needs %llu bytes but only %zu remain (file is %zu bytes)",
                       c->off, what, (unsigned long long)bytes, left(c), c->n);
    return TT_OK;
}

static tt_status rd_u32(cursor *c, uint32_t *v, const char *what)
{
    tt_status st = need(c, 4, what);
    if (st) return st;
    memcpy(v, c->b + c->off, 4);
    c->off += 4;
    return TT_OK;
}

static tt_status rd_u64(cursor *c, uint64_t *v, const char *what)
{
    tt_status st = need(c, 8, what);
    if (st) return st;
    memcpy(v, c->b + c->off, 8);
    c->off += 8;
    return TT_OK;
}

/* A string: u64 length + bytes; the pointer stays inside the buffer. */
static tt_status rd_str(cursor *c, const char **s, uint64_t *len, const char *what)
{
    size_t at = c->off;
    tt_status st = rd_u64(c, len, what);
    if (st) return st;
    if (*len > left(c))
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s length %llu exceeds the %zu bytes left in the file", at,
                       what, (unsigned long long)*len, left(c));
    *s = (const char *)c->b + c->off;
    c->off += (size_t)*len;
    return TT_OK;
}

static bool str_eq(const char *s, size_t len, const char *z) { return strlen(z) == len && !memcmp(s, z, len); }

/* Skip (and validate) one value of type t; for arrays, fills the entry's array fields. */
static tt_status rd_value(cursor *c, tt_gguf_kv *kv, uint64_t idx)
{
    char what[96];
    size_t at = c->off;
    uint32_t t = kv->type;
    kv->val = c->b + c->off;
    if (t >= TT_GGUF_VTYPE_COUNT)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: KV %llu (\"%.*s\") has unknown value type %u", at - 4,
                       (unsigned long long)idx, (int)(kv->key_len > 64 ? 64 : kv->key_len), kv->key, t);
    snprintf(what, sizeof what, "KV %llu (\"%.*s\") %s value", (unsigned long long)idx,
             (int)(kv->key_len > 48 ? 48 : kv->key_len), kv->key, vtype_names[t]);
    if (t == TT_GGUF_STRING) {
        const char *s;
        uint64_t len;
        return rd_str(c, &s, &len, what);
    }
    if (t != TT_GGUF_ARRAY) {
        tt_status st = need(c, vtype_size[t], what);
        if (st) return st;
        if (t == TT_GGUF_BOOL && c->b[c->off] > 1)
            return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s is %u (bool must be 0 or 1)", at, what, c->b[c->off]);
        c->off += vtype_size[t];
        return TT_OK;
    }
    tt_status st = rd_u32(c, &kv->arr_type, what);
    if (st) return st;
    if ((st = rd_u64(c, &kv->arr_n, what))) return st;
    kv->val = c->b + c->off;
    uint32_t et = kv->arr_type;
    if (et >= TT_GGUF_VTYPE_COUNT)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s has unknown element type %u", at, what, et);
    if (et == TT_GGUF_ARRAY)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s is an array of arrays (nested arrays are refused)", at,
                       what);
    if (et != TT_GGUF_STRING) {
        if (kv->arr_n > left(c) / vtype_size[et])
            return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s has %llu %s elements, more than the %zu bytes left hold",
                           at, what, (unsigned long long)kv->arr_n, vtype_names[et], left(c));
        if (et == TT_GGUF_BOOL)
            for (uint64_t i = 0; i < kv->arr_n; i++)
                if (c->off + i < c->n && c->b[c->off + i] > 1)
                    return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s element %llu is %u (bool must be 0 or 1)",
                                   (size_t)(c->off + i), what, (unsigned long long)i, c->b[c->off + i]);
        c->off += (size_t)kv->arr_n * vtype_size[et];
        return TT_OK;
    }
    /* String array: each element is at least its 8-byte length, which bounds the offset table. */
    if (kv->arr_n > left(c) / 8)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: %s has %llu strings, more than the %zu bytes left hold", at,
                       what, (unsigned long long)kv->arr_n, left(c));
    uint64_t *off = malloc(kv->arr_n ? (size_t)kv->arr_n * sizeof *off : 1);
    if (!off) return tt_fail(TT_ERR_NOMEM, "%s: no memory for %llu string offsets", what, (unsigned long long)kv->arr_n);
    kv->str_off = off;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        const char *s;
        uint64_t len;
        off[i] = (uint64_t)(c->off - (size_t)(kv->val - c->b));
        snprintf(what, sizeof what, "KV %llu (\"%.*s\") string element %llu", (unsigned long long)idx,
                 (int)(kv->key_len > 40 ? 40 : kv->key_len), kv->key, (unsigned long long)i);
        if ((st = rd_str(c, &s, &len, what))) return st;
    }
    return TT_OK;
}

static int cmp_kv_key(const void *a, const void *b)
{
    const tt_gguf_kv *x = *(const tt_gguf_kv *const *)a, *y = *(const tt_gguf_kv *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int r = memcmp(x->key, y->key, n);
    return r ? r : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const tt_gguf_tensor *const *)a)->name, (*(const tt_gguf_tensor *const *)b)->name);
}

static int cmp_tensor_off(const void *a, const void *b)
{
    const tt_gguf_tensor *x = *(const tt_gguf_tensor *const *)a, *y = *(const tt_gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static tt_status parse_kvs(tt_gguf *g, cursor *c)
{
    tt_status st;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        tt_gguf_kv *kv = &g->kv[i];
        char what[48];
        uint64_t klen;
        size_t at = c->off;
        snprintf(what, sizeof what, "KV %llu key", (unsigned long long)i);
        if ((st = rd_str(c, &kv->key, &klen, what))) return st;
        if (klen == 0 || klen > KEY_LEN_MAX)
            return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: KV %llu key length %llu (must be 1..%d)", at,
                           (unsigned long long)i, (unsigned long long)klen, KEY_LEN_MAX);
        kv->key_len = (size_t)klen;
        snprintf(what, sizeof what, "KV %llu value type", (unsigned long long)i);
        if ((st = rd_u32(c, &kv->type, what))) return st;
        if ((st = rd_value(c, kv, i))) return st;
    }
    /* Unique keys: a duplicate makes "the" value ambiguous. */
    if (g->n_kv > 1) {
        const tt_gguf_kv **p = malloc((size_t)g->n_kv * sizeof *p);
        if (!p) return tt_fail(TT_ERR_NOMEM, "no memory to check %llu keys", (unsigned long long)g->n_kv);
        for (uint64_t i = 0; i < g->n_kv; i++) p[i] = &g->kv[i];
        qsort(p, (size_t)g->n_kv, sizeof *p, cmp_kv_key);
        for (uint64_t i = 1; i < g->n_kv; i++)
            if (!cmp_kv_key(&p[i - 1], &p[i])) {
                st = tt_fail(TT_ERR_FORMAT, "GGUF: duplicate metadata key \"%.*s\"",
                             (int)(p[i]->key_len > 200 ? 200 : p[i]->key_len), p[i]->key);
                free(p);
                return st;
            }
        free(p);
    }
    /* The two keys that change how the rest is read. */
    g->alignment = TT_GGUF_DEFAULT_ALIGNMENT;
    const tt_gguf_kv *al = tt_gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != TT_GGUF_U32)
            return tt_fail(TT_ERR_FORMAT, "GGUF: general.alignment has type %s (must be u32)",
                           tt_gguf_vtype_name(al->type));
        uint32_t a = (uint32_t)tt_gguf_kv_int(al);
        if (a == 0 || (a & (a - 1)) || a > ALIGNMENT_MAX)
            return tt_fail(TT_ERR_FORMAT, "GGUF: general.alignment = %u (must be a power of two <= %u)", a,
                           ALIGNMENT_MAX);
        g->alignment = a;
    }
    const tt_gguf_kv *arch = tt_gguf_find_kv(g, "general.architecture");
    if (arch) {
        if (arch->type != TT_GGUF_STRING)
            return tt_fail(TT_ERR_FORMAT, "GGUF: general.architecture has type %s (must be string)",
                           tt_gguf_vtype_name(arch->type));
        size_t n;
        const char *s = tt_gguf_kv_str(arch, &n);
        g->bitnet_dialect = str_eq(s, n, "bitnet-b1.58") || str_eq(s, n, "bitnet");
    }
    return TT_OK;
}

static tt_status parse_tensor_info(tt_gguf *g, cursor *c, uint64_t i)
{
    tt_gguf_tensor *t = &g->tensors[i];
    char what[96];
    const char *name;
    uint64_t nlen;
    uint32_t nd;
    size_t at = c->off;
    tt_status st;
    snprintf(what, sizeof what, "tensor %llu name", (unsigned long long)i);
    if ((st = rd_str(c, &name, &nlen, what))) return st;
    if (nlen == 0 || nlen >= TT_GGUF_NAME_MAX)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: tensor %llu name length %llu (must be 1..%d)", at,
                       (unsigned long long)i, (unsigned long long)nlen, TT_GGUF_NAME_MAX - 1);
    if (memchr(name, 0, (size_t)nlen))
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: tensor %llu name contains a NUL byte", at,
                       (unsigned long long)i);
    memcpy(t->name, name, (size_t)nlen);
    t->name[nlen] = 0;
    at = c->off;
    snprintf(what, sizeof what, "tensor \"%s\" n_dims", t->name);
    if ((st = rd_u32(c, &nd, what))) return st;
    if (nd < 1 || nd > TT_GGUF_MAX_DIMS)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: tensor \"%s\" has %u dims (1..%d allowed)", at, t->name, nd,
                       TT_GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    for (int d = 0; d < TT_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        at = c->off;
        snprintf(what, sizeof what, "tensor \"%s\" dim %u", t->name, d);
        if ((st = rd_u64(c, &t->ne[d], what))) return st;
        if (t->ne[d] < 1 || t->ne[d] > ((uint64_t)1 << 40))
            return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: tensor \"%s\" dim %u is %llu (must be 1..2^40)", at,
                           t->name, d, (unsigned long long)t->ne[d]);
    }
    at = c->off;
    snprintf(what, sizeof what, "tensor \"%s\" type", t->name);
    if ((st = rd_u32(c, &t->type, what))) return st;
    if (t->type >= TT_GGML_I2_S && !g->bitnet_dialect)
        return tt_fail(TT_ERR_FORMAT,
                       "GGUF offset %zu: tensor \"%s\" has type %u; ids >= 36 mean bitnet.cpp's I2_S/I8_S/TL1/TL2 only "
                       "in files whose general.architecture is bitnet-b1.58 or bitnet (upstream ggml reuses these "
                       "ids, e.g. 39 = MXFP4), and this file is not one",
                       at, t->name, t->type);
    if (!strcmp(tt_ggml_type_name(t->type), "?"))
        return tt_fail(TT_ERR_FORMAT,
                       "GGUF offset %zu: tensor \"%s\" has unsupported ggml type %u (tritune reads f32, f16, q8_0, "
                       "tq1_0, tq2_0 and bitnet.cpp's i2_s, i8_s, tl1, tl2)",
                       at, t->name, t->type);
    t->nbytes = tt_ggml_nbytes(t->type, t->n_dims, t->ne);
    if (!t->nbytes)
        return tt_fail_prefix(TT_ERR_FORMAT, "GGUF offset %zu: tensor \"%s\" (%s)", at, t->name,
                              tt_ggml_type_name(t->type));
    snprintf(what, sizeof what, "tensor \"%s\" data offset", t->name);
    return rd_u64(c, &t->offset, what);
}

static tt_status check_tensors(tt_gguf *g)
{
    tt_status st = TT_OK;
    size_t data_len = g->size - g->data_start;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        tt_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return tt_fail(TT_ERR_FORMAT, "GGUF: tensor \"%s\" data offset %llu is not a multiple of the alignment %u",
                           t->name, (unsigned long long)t->offset, g->alignment);
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            return tt_fail(TT_ERR_FORMAT,
                           "GGUF: tensor \"%s\" data [%llu, +%zu) lies outside the data section (%zu bytes from file "
                           "offset %zu)",
                           t->name, (unsigned long long)t->offset, t->nbytes, data_len, g->data_start);
        t->data = g->base + g->data_start + t->offset;
    }
    if (g->n_tensors < 2) return TT_OK;
    const tt_gguf_tensor **p = malloc((size_t)g->n_tensors * sizeof *p);
    if (!p) return tt_fail(TT_ERR_NOMEM, "no memory to check %llu tensors", (unsigned long long)g->n_tensors);
    for (uint64_t i = 0; i < g->n_tensors; i++) p[i] = &g->tensors[i];
    qsort(p, (size_t)g->n_tensors, sizeof *p, cmp_tensor_name);
    for (uint64_t i = 1; i < g->n_tensors && !st; i++)
        if (!strcmp(p[i - 1]->name, p[i]->name)) st = tt_fail(TT_ERR_FORMAT, "GGUF: duplicate tensor name \"%s\"", p[i]->name);
    if (!st) {
        qsort(p, (size_t)g->n_tensors, sizeof *p, cmp_tensor_off);
        for (uint64_t i = 1; i < g->n_tensors && !st; i++)
            if (p[i - 1]->offset + p[i - 1]->nbytes > p[i]->offset)
                st = tt_fail(TT_ERR_FORMAT, "GGUF: tensor \"%s\" [%llu, +%zu) overlaps tensor \"%s\" at %llu",
                             p[i - 1]->name, (unsigned long long)p[i - 1]->offset, p[i - 1]->nbytes, p[i]->name,
                             (unsigned long long)p[i]->offset);
    }
    free(p);
    return st;
}

static tt_status parse(tt_gguf *g)
{
    cursor c = {g->base, g->size, 0};
    tt_status st;
    if (g->size < 4 || memcmp(g->base, "GGUF", 4))
        return tt_fail(TT_ERR_FORMAT, "GGUF offset 0: bad magic (expected \"GGUF\"%s)",
                       g->size < 4 ? ", file shorter than 4 bytes" : "");
    c.off = 4;
    if ((st = rd_u32(&c, &g->version, "version"))) return st;
    if (g->version != 2 && g->version != 3) {
        if (g->version && !(g->version & 0xffff))
            return tt_fail(TT_ERR_FORMAT, "GGUF offset 4: version 0x%08x looks big-endian (only little-endian GGUF is read)",
                           g->version);
        return tt_fail(TT_ERR_FORMAT, "GGUF offset 4: version %u unsupported (2 and 3 are read%s)", g->version,
                       g->version == 1 ? "; v1 used 32-bit lengths" : "");
    }
    if ((st = rd_u64(&c, &g->n_tensors, "tensor count"))) return st;
    if ((st = rd_u64(&c, &g->n_kv, "KV count"))) return st;
    if (g->n_kv > left(&c) / MIN_KV_BYTES)
        return tt_fail(TT_ERR_FORMAT, "GGUF offset 16: KV count %llu cannot fit in the %zu bytes left",
                       (unsigned long long)g->n_kv, left(&c));
    if (g->n_tensors > left(&c) / MIN_TENSOR_INFO_BYTES ||
        g->n_tensors * MIN_TENSOR_INFO_BYTES + g->n_kv * MIN_KV_BYTES > left(&c))
        return tt_fail(TT_ERR_FORMAT, "GGUF offset 8: tensor count %llu cannot fit in the %zu bytes left",
                       (unsigned long long)g->n_tensors, left(&c));
    g->kv = calloc(g->n_kv ? (size_t)g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return tt_fail(TT_ERR_NOMEM, "GGUF: no memory for the KV / tensor tables");
    if ((st = parse_kvs(g, &c))) return st;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if ((st = parse_tensor_info(g, &c, i))) return st;
    /* The data section starts at the next multiple of the alignment. A file without tensors may end early. */
    uint64_t ds = ((uint64_t)c.off + g->alignment - 1) / g->alignment * g->alignment;
    if (ds > g->size) {
        if (g->n_tensors)
            return tt_fail(TT_ERR_FORMAT, "GGUF offset %zu: data section would start at %llu, past the end of the file (%zu)",
                           c.off, (unsigned long long)ds, g->size);
        ds = g->size;
    }
    g->data_start = (size_t)ds;
    return check_tensors(g);
}

void tt_gguf_close(tt_gguf *g)
{
    if (!g) return;
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) free((void *)g->kv[i].str_off);
    free(g->kv);
    free(g->tensors);
    if (g->mapped && g->base) munmap((void *)g->base, g->size);
    free(g);
}

static tt_status open_common(tt_gguf *g, tt_gguf **out)
{
    tt_status st = parse(g);
    if (st) {
        tt_gguf_close(g);
        return st;
    }
    *out = g;
    return TT_OK;
}

tt_status tt_gguf_open_mem(const void *buf, size_t len, tt_gguf **out)
{
    if (!out) return tt_fail(TT_ERR_NULL, "tt_gguf_open_mem: NULL out");
    *out = NULL;
    if (!buf && len) return tt_fail(TT_ERR_NULL, "tt_gguf_open_mem: NULL buffer");
    tt_gguf *g = calloc(1, sizeof *g);
    if (!g) return tt_fail(TT_ERR_NOMEM, "tt_gguf_open_mem: no memory");
    g->base = buf ? buf : (const uint8_t *)"";
    g->size = len;
    return open_common(g, out);
}

tt_status tt_gguf_open(const char *path, tt_gguf **out)
{
    if (!path || !out) return tt_fail(TT_ERR_NULL, "tt_gguf_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tt_fail(TT_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tt_fail(TT_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 4) {
        close(fd);
        return tt_fail(TT_ERR_FORMAT, "%s: GGUF offset 0: bad magic (file is %lld bytes)", path, (long long)sb.st_size);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file alive */
    if (p == MAP_FAILED) return tt_fail(TT_ERR_IO, "%s: mmap: %s", path, strerror(errno));
    tt_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(p, (size_t)sb.st_size);
        return tt_fail(TT_ERR_NOMEM, "tt_gguf_open: no memory");
    }
    g->base = p;
    g->size = (size_t)sb.st_size;
    g->mapped = true;
    tt_status st = open_common(g, out);
    return st ? tt_fail_prefix(st, "%s", path) : TT_OK;
}

/* ---- lookups ---- */
const tt_gguf_kv *tt_gguf_find_kv(const tt_gguf *g, const char *key)
{
    if (!g || !key) return NULL;
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (str_eq(g->kv[i].key, g->kv[i].key_len, key)) return &g->kv[i];
    return NULL;
}

const tt_gguf_tensor *tt_gguf_find_tensor(const tt_gguf *g, const char *name)
{
    if (!g || !name) return NULL;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static bool is_int_type(uint32_t t)
{
    return t <= TT_GGUF_I32 || t == TT_GGUF_BOOL || t == TT_GGUF_U64 || t == TT_GGUF_I64;
}

static int64_t load_int(uint32_t t, const uint8_t *p)
{
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
    } v;
    memcpy(&v, p, vtype_size[t]);
    switch (t) {
    case TT_GGUF_U8:
    case TT_GGUF_BOOL: return v.u8;
    case TT_GGUF_I8: return v.i8;
    case TT_GGUF_U16: return v.u16;
    case TT_GGUF_I16: return v.i16;
    case TT_GGUF_U32: return v.u32;
    case TT_GGUF_I32: return v.i32;
    case TT_GGUF_U64: return v.u64 > INT64_MAX ? INT64_MAX : (int64_t)v.u64; /* clamped; getters range-check */
    default: return v.i64;
    }
}

static double load_float(uint32_t t, const uint8_t *p)
{
    if (t == TT_GGUF_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    double d;
    memcpy(&d, p, 8);
    return d;
}

int64_t tt_gguf_kv_int(const tt_gguf_kv *kv) { return is_int_type(kv->type) ? load_int(kv->type, kv->val) : 0; }
double tt_gguf_kv_float(const tt_gguf_kv *kv)
{
    return kv->type == TT_GGUF_F32 || kv->type == TT_GGUF_F64 ? load_float(kv->type, kv->val) : 0.0;
}

const char *tt_gguf_kv_str(const tt_gguf_kv *kv, size_t *len)
{
    uint64_t n;
    memcpy(&n, kv->val, 8);
    if (len) *len = (size_t)n;
    return (const char *)kv->val + 8;
}

int64_t tt_gguf_arr_int(const tt_gguf_kv *kv, uint64_t i)
{
    if (kv->type != TT_GGUF_ARRAY || i >= kv->arr_n || !is_int_type(kv->arr_type)) return 0;
    return load_int(kv->arr_type, kv->val + i * vtype_size[kv->arr_type]);
}

double tt_gguf_arr_float(const tt_gguf_kv *kv, uint64_t i)
{
    if (kv->type != TT_GGUF_ARRAY || i >= kv->arr_n) return 0.0;
    if (kv->arr_type != TT_GGUF_F32 && kv->arr_type != TT_GGUF_F64) return 0.0;
    return load_float(kv->arr_type, kv->val + i * vtype_size[kv->arr_type]);
}

const char *tt_gguf_arr_str(const tt_gguf_kv *kv, uint64_t i, size_t *len)
{
    if (kv->type != TT_GGUF_ARRAY || kv->arr_type != TT_GGUF_STRING || i >= kv->arr_n) {
        if (len) *len = 0;
        return "";
    }
    const uint8_t *p = kv->val + kv->str_off[i];
    uint64_t n;
    memcpy(&n, p, 8);
    if (len) *len = (size_t)n;
    return (const char *)p + 8;
}

static tt_status find_typed(const tt_gguf *g, const char *key, const tt_gguf_kv **kv)
{
    if (!g || !key) return tt_fail(TT_ERR_NULL, "GGUF lookup: NULL argument");
    *kv = tt_gguf_find_kv(g, key);
    if (!*kv) return tt_fail(TT_ERR_NOTFOUND, "GGUF: metadata key \"%s\" is missing", key);
    return TT_OK;
}

tt_status tt_gguf_get_i64(const tt_gguf *g, const char *key, int64_t *out)
{
    const tt_gguf_kv *kv;
    tt_status st = find_typed(g, key, &kv);
    if (st) return st;
    if (!is_int_type(kv->type) || kv->type == TT_GGUF_BOOL)
        return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" has type %s (an integer is needed)", key,
                       tt_gguf_vtype_name(kv->type));
    if (kv->type == TT_GGUF_U64) {
        uint64_t u;
        memcpy(&u, kv->val, 8);
        if (u > INT64_MAX) return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" = %llu is out of range", key, (unsigned long long)u);
    }
    *out = load_int(kv->type, kv->val);
    return TT_OK;
}

tt_status tt_gguf_get_u32(const tt_gguf *g, const char *key, uint32_t *out)
{
    int64_t v;
    tt_status st = tt_gguf_get_i64(g, key, &v);
    if (st) return st;
    if (v < 0 || v > UINT32_MAX)
        return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" = %lld does not fit in u32", key, (long long)v);
    *out = (uint32_t)v;
    return TT_OK;
}

tt_status tt_gguf_get_f32(const tt_gguf *g, const char *key, float *out)
{
    const tt_gguf_kv *kv;
    tt_status st = find_typed(g, key, &kv);
    if (st) return st;
    if (kv->type != TT_GGUF_F32 && kv->type != TT_GGUF_F64)
        return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" has type %s (f32 is needed)", key, tt_gguf_vtype_name(kv->type));
    *out = (float)load_float(kv->type, kv->val);
    return TT_OK;
}

tt_status tt_gguf_get_bool(const tt_gguf *g, const char *key, bool *out)
{
    const tt_gguf_kv *kv;
    tt_status st = find_typed(g, key, &kv);
    if (st) return st;
    if (kv->type != TT_GGUF_BOOL)
        return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" has type %s (bool is needed)", key, tt_gguf_vtype_name(kv->type));
    *out = kv->val[0] != 0;
    return TT_OK;
}

tt_status tt_gguf_get_str(const tt_gguf *g, const char *key, const char **s, size_t *len)
{
    const tt_gguf_kv *kv;
    tt_status st = find_typed(g, key, &kv);
    if (st) return st;
    if (kv->type != TT_GGUF_STRING)
        return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" has type %s (string is needed)", key, tt_gguf_vtype_name(kv->type));
    *s = tt_gguf_kv_str(kv, len);
    return TT_OK;
}

tt_status tt_gguf_get_arr(const tt_gguf *g, const char *key, uint32_t elem_type, const tt_gguf_kv **out)
{
    const tt_gguf_kv *kv;
    tt_status st = find_typed(g, key, &kv);
    if (st) return st;
    if (kv->type != TT_GGUF_ARRAY || kv->arr_type != elem_type)
        return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" has type %s%s%s (array of %s is needed)", key,
                       tt_gguf_vtype_name(kv->type), kv->type == TT_GGUF_ARRAY ? " of " : "",
                       kv->type == TT_GGUF_ARRAY ? tt_gguf_vtype_name(kv->arr_type) : "", tt_gguf_vtype_name(elem_type));
    *out = kv;
    return TT_OK;
}
