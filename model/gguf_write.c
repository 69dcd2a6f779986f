/* gguf_write.c — a streaming GGUF v3 writer. Metadata and tensor infos are collected first (they are small),
 * so the header and every data offset are known before the first weight byte is produced; tensor data is then
 * streamed in the order the tensors were added. That lets `model synth` write a 1.18 GB 2B4T file while holding
 * one tensor (or one slice of one) in memory. Output follows docs/FORMATS.md §8 so bitnet.cpp loads it. */
#include "gguf.h"
#include "tt_errctx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct wkv {
    char *key;
    uint32_t type, arr_type;
    uint8_t *val; /* serialized value bytes (for arrays: type, count, elements) */
    size_t val_len;
} wkv;

typedef struct wtensor {
    char name[TT_GGUF_NAME_MAX];
    uint32_t type;
    int n_dims;
    uint64_t ne[TT_GGUF_MAX_DIMS];
    uint64_t offset;
    size_t nbytes;
} wtensor;

struct tt_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    uint32_t alignment;
    uint64_t data_start, data_size;
    FILE *fp;
    bool own_fp;
    char *path, *tmp_path;
    size_t cur;         /* tensor being streamed */
    size_t cur_written; /* bytes of it written so far */
    bool begun, failed;
};

static const uint8_t fixed_size[TT_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

tt_status tt_gguf_writer_new(tt_gguf_writer **out)
{
    if (!out) return tt_fail(TT_ERR_NULL, "tt_gguf_writer_new: NULL out");
    *out = calloc(1, sizeof **out);
    if (!*out) return tt_fail(TT_ERR_NOMEM, "tt_gguf_writer_new: no memory");
    (*out)->alignment = TT_GGUF_DEFAULT_ALIGNMENT;
    return TT_OK;
}

void tt_gguf_writer_free(tt_gguf_writer *w)
{
    if (!w) return;
    if (w->fp && w->own_fp) fclose(w->fp);
    if (w->tmp_path) unlink(w->tmp_path); /* still set only when finish did not rename it */
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    free(w->kv);
    free(w->t);
    free(w->path);
    free(w->tmp_path);
    free(w);
}

static tt_status add_kv(tt_gguf_writer *w, const char *key, uint32_t type, const void *val, size_t len)
{
    if (!w || !key || (!val && len)) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL argument");
    if (w->begun) return tt_fail(TT_ERR_VALUE, "GGUF writer: metadata \"%s\" added after begin", key);
    if (!*key) return tt_fail(TT_ERR_VALUE, "GGUF writer: empty metadata key");
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) return tt_fail(TT_ERR_VALUE, "GGUF writer: duplicate metadata key \"%s\"", key);
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
        wkv *p = realloc(w->kv, cap * sizeof *p);
        if (!p) return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory for metadata");
        w->kv = p;
        w->cap_kv = cap;
    }
    wkv *e = &w->kv[w->n_kv];
    e->key = strdup(key);
    e->val = malloc(len ? len : 1);
    if (!e->key || !e->val) {
        free(e->key);
        free(e->val);
        return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory for \"%s\"", key);
    }
    if (len) memcpy(e->val, val, len);
    e->val_len = len;
    e->type = type;
    w->n_kv++;
    if (!strcmp(key, "general.alignment") && type == TT_GGUF_U32) {
        uint32_t a;
        memcpy(&a, val, 4);
        if (!a || (a & (a - 1))) {
            w->n_kv--;
            free(e->key);
            free(e->val);
            return tt_fail(TT_ERR_VALUE, "GGUF writer: general.alignment %u is not a power of two", a);
        }
        w->alignment = a;
    }
    return TT_OK;
}

#define KV_SCALAR(fn, ctype, vt)                                                                                      \
    tt_status tt_gguf_writer_kv_##fn(tt_gguf_writer *w, const char *key, ctype v)                                     \
    {                                                                                                                 \
        return add_kv(w, key, vt, &v, sizeof v);                                                                      \
    }
KV_SCALAR(u8, uint8_t, TT_GGUF_U8)
KV_SCALAR(i8, int8_t, TT_GGUF_I8)
KV_SCALAR(u16, uint16_t, TT_GGUF_U16)
KV_SCALAR(i16, int16_t, TT_GGUF_I16)
KV_SCALAR(u32, uint32_t, TT_GGUF_U32)
KV_SCALAR(i32, int32_t, TT_GGUF_I32)
KV_SCALAR(u64, uint64_t, TT_GGUF_U64)
KV_SCALAR(i64, int64_t, TT_GGUF_I64)
KV_SCALAR(f32, float, TT_GGUF_F32)
KV_SCALAR(f64, double, TT_GGUF_F64)
#undef KV_SCALAR

tt_status tt_gguf_writer_kv_bool(tt_gguf_writer *w, const char *key, bool v)
{
    uint8_t b = v ? 1 : 0;
    return add_kv(w, key, TT_GGUF_BOOL, &b, 1);
}

tt_status tt_gguf_writer_kv_str(tt_gguf_writer *w, const char *key, const char *s)
{
    if (!s) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL string for \"%s\"", key ? key : "?");
    uint64_t n = strlen(s);
    uint8_t *buf = malloc(8 + n);
    if (!buf) return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory");
    memcpy(buf, &n, 8);
    memcpy(buf + 8, s, n);
    tt_status st = add_kv(w, key, TT_GGUF_STRING, buf, 8 + n);
    free(buf);
    return st;
}

tt_status tt_gguf_writer_kv_arr(tt_gguf_writer *w, const char *key, uint32_t et, const void *data, uint64_t n)
{
    if (et >= TT_GGUF_VTYPE_COUNT || !fixed_size[et])
        return tt_fail(TT_ERR_VALUE, "GGUF writer: \"%s\": numeric array of type %s is not allowed", key ? key : "?",
                       tt_gguf_vtype_name(et));
    if (n > (SIZE_MAX - 12) / 8) return tt_fail(TT_ERR_SIZE, "GGUF writer: \"%s\": array too long", key ? key : "?");
    size_t len = 12 + (size_t)n * fixed_size[et];
    uint8_t *buf = malloc(len);
    if (!buf) return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory for \"%s\"", key ? key : "?");
    memcpy(buf, &et, 4);
    memcpy(buf + 4, &n, 8);
    if (n) memcpy(buf + 12, data, (size_t)n * fixed_size[et]);
    tt_status st = add_kv(w, key, TT_GGUF_ARRAY, buf, len);
    free(buf);
    return st;
}

tt_status tt_gguf_writer_kv_arr_str(tt_gguf_writer *w, const char *key, const char *const *s, const size_t *lens,
                                    uint64_t n)
{
    if (!s && n) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL strings for \"%s\"", key ? key : "?");
    size_t len = 12;
    for (uint64_t i = 0; i < n; i++) len += 8 + (lens ? lens[i] : strlen(s[i]));
    uint8_t *buf = malloc(len), *p = buf;
    if (!buf) return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory for \"%s\"", key ? key : "?");
    uint32_t et = TT_GGUF_STRING;
    memcpy(p, &et, 4);
    memcpy(p + 4, &n, 8);
    p += 12;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = lens ? lens[i] : strlen(s[i]);
        memcpy(p, &l, 8);
        memcpy(p + 8, s[i], (size_t)l);
        p += 8 + l;
    }
    tt_status st = add_kv(w, key, TT_GGUF_ARRAY, buf, len);
    free(buf);
    return st;
}

static uint64_t align_up(uint64_t x, uint32_t a) { return (x + a - 1) / a * a; }

tt_status tt_gguf_writer_add_tensor(tt_gguf_writer *w, const char *name, uint32_t type, int n_dims, const uint64_t *ne)
{
    if (!w || !name || !ne) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL argument");
    if (w->begun) return tt_fail(TT_ERR_VALUE, "GGUF writer: tensor \"%s\" added after begin", name);
    size_t nl = strlen(name);
    if (!nl || nl >= TT_GGUF_NAME_MAX)
        return tt_fail(TT_ERR_VALUE, "GGUF writer: tensor name \"%s\" must be 1..%d bytes", name, TT_GGUF_NAME_MAX - 1);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return tt_fail(TT_ERR_VALUE, "GGUF writer: duplicate tensor \"%s\"", name);
    size_t nb = tt_ggml_nbytes(type, n_dims, ne);
    if (!nb) return tt_fail_prefix(TT_ERR_SHAPE, "GGUF writer: tensor \"%s\"", name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *p = realloc(w->t, cap * sizeof *p);
        if (!p) return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory for tensors");
        w->t = p;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, nl + 1);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < n_dims; d++) t->ne[d] = ne[d];
    t->nbytes = nb;
    return TT_OK;
}

/* Header bytes up to (not including) the data section padding. */
static uint64_t header_size(const tt_gguf_writer *w)
{
    uint64_t n = 4 + 4 + 8 + 8;
    for (size_t i = 0; i < w->n_kv; i++) n += 8 + strlen(w->kv[i].key) + 4 + w->kv[i].val_len;
    for (size_t i = 0; i < w->n_t; i++) n += 8 + strlen(w->t[i].name) + 4 + 8 * (uint64_t)w->t[i].n_dims + 4 + 8;
    return n;
}

static void layout(tt_gguf_writer *w)
{
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        off = align_up(off + w->t[i].nbytes, w->alignment);
    }
    w->data_start = align_up(header_size(w), w->alignment);
    /* The last tensor is padded too, as ggml's writer does; readers accept either. */
    w->data_size = off;
}

uint64_t tt_gguf_writer_file_size(const tt_gguf_writer *w)
{
    if (!w) return 0;
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) off = align_up(off + w->t[i].nbytes, w->alignment);
    return align_up(header_size(w), w->alignment) + off;
}

static tt_status put(tt_gguf_writer *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->fp) != n) {
        w->failed = true;
        return tt_fail(TT_ERR_IO, "GGUF writer: %s: write failed: %s", w->path ? w->path : "stream", strerror(errno));
    }
    return TT_OK;
}

static tt_status put_zeros(tt_gguf_writer *w, uint64_t n)
{
    static const uint8_t z[64];
    while (n) {
        size_t c = n < sizeof z ? (size_t)n : sizeof z;
        tt_status st = put(w, z, c);
        if (st) return st;
        n -= c;
    }
    return TT_OK;
}

static tt_status put_str(tt_gguf_writer *w, const char *s)
{
    uint64_t n = strlen(s);
    tt_status st = put(w, &n, 8);
    return st ? st : put(w, s, (size_t)n);
}

static tt_status write_header(tt_gguf_writer *w)
{
    uint32_t version = 3;
    uint64_t nt = w->n_t, nkv = w->n_kv;
    tt_status st;
    layout(w);
    if ((st = put(w, "GGUF", 4)) || (st = put(w, &version, 4)) || (st = put(w, &nt, 8)) || (st = put(w, &nkv, 8)))
        return st;
    for (size_t i = 0; i < w->n_kv; i++)
        if ((st = put_str(w, w->kv[i].key)) || (st = put(w, &w->kv[i].type, 4)) ||
            (st = put(w, w->kv[i].val, w->kv[i].val_len)))
            return st;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        uint32_t nd = (uint32_t)t->n_dims;
        if ((st = put_str(w, t->name)) || (st = put(w, &nd, 4)) || (st = put(w, t->ne, 8 * (size_t)nd)) ||
            (st = put(w, &t->type, 4)) || (st = put(w, &t->offset, 8)))
            return st;
    }
    if ((st = put_zeros(w, w->data_start - header_size(w)))) return st;
    w->begun = true;
    w->cur = 0;
    w->cur_written = 0;
    return TT_OK;
}

tt_status tt_gguf_writer_begin_fp(tt_gguf_writer *w, FILE *fp)
{
    if (!w || !fp) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL argument");
    if (w->begun || w->fp) return tt_fail(TT_ERR_VALUE, "GGUF writer: begin called twice");
    w->fp = fp;
    w->own_fp = false;
    return write_header(w);
}

tt_status tt_gguf_writer_begin(tt_gguf_writer *w, const char *path)
{
    if (!w || !path) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL argument");
    if (w->begun || w->fp) return tt_fail(TT_ERR_VALUE, "GGUF writer: begin called twice");
    size_t n = strlen(path);
    w->path = strdup(path);
    w->tmp_path = malloc(n + 5);
    if (!w->path || !w->tmp_path) return tt_fail(TT_ERR_NOMEM, "GGUF writer: no memory");
    memcpy(w->tmp_path, path, n);
    memcpy(w->tmp_path + n, ".tmp", 5);
    w->fp = fopen(w->tmp_path, "wb");
    if (!w->fp) {
        tt_status st = tt_fail(TT_ERR_IO, "GGUF writer: cannot create %s: %s", w->tmp_path, strerror(errno));
        free(w->tmp_path);
        w->tmp_path = NULL;
        return st;
    }
    w->own_fp = true;
    return write_header(w);
}

tt_status tt_gguf_writer_write(tt_gguf_writer *w, const void *data, size_t len)
{
    if (!w || (!data && len)) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL argument");
    if (!w->begun || w->failed) return tt_fail(TT_ERR_VALUE, "GGUF writer: write before begin or after a failure");
    const uint8_t *p = data;
    while (len) {
        if (w->cur >= w->n_t) return tt_fail(TT_ERR_SIZE, "GGUF writer: %zu bytes written past the last tensor", len);
        const wtensor *t = &w->t[w->cur];
        size_t room = t->nbytes - w->cur_written, c = len < room ? len : room;
        tt_status st = put(w, p, c);
        if (st) return st;
        p += c;
        len -= c;
        w->cur_written += c;
        if (w->cur_written == t->nbytes) { /* tensor complete: pad to the next aligned offset */
            uint64_t end = t->offset + t->nbytes;
            if ((st = put_zeros(w, align_up(end, w->alignment) - end))) return st;
            w->cur++;
            w->cur_written = 0;
        }
    }
    return TT_OK;
}

tt_status tt_gguf_writer_finish(tt_gguf_writer *w)
{
    if (!w) return tt_fail(TT_ERR_NULL, "GGUF writer: NULL");
    if (!w->begun || w->failed) return tt_fail(TT_ERR_VALUE, "GGUF writer: finish before begin or after a failure");
    if (w->cur < w->n_t)
        return tt_fail(TT_ERR_SIZE, "GGUF writer: tensor \"%s\" got %zu of %zu bytes", w->t[w->cur].name, w->cur_written,
                       w->t[w->cur].nbytes);
    if (fflush(w->fp)) return tt_fail(TT_ERR_IO, "GGUF writer: flush failed: %s", strerror(errno));
    if (!w->own_fp) return TT_OK;
    int rc = fclose(w->fp);
    w->fp = NULL;
    if (rc) return tt_fail(TT_ERR_IO, "GGUF writer: %s: close failed: %s", w->tmp_path, strerror(errno));
    if (rename(w->tmp_path, w->path))
        return tt_fail(TT_ERR_IO, "GGUF writer: rename %s -> %s: %s", w->tmp_path, w->path, strerror(errno));
    free(w->tmp_path);
    w->tmp_path = NULL;
    return TT_OK;
}
