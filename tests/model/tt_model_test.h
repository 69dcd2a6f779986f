/* tt_model_test.h — helpers shared by the model tests: temporary files and an in-memory GGUF builder. */
#ifndef TT_MODEL_TEST_H
#define TT_MODEL_TEST_H

#include "gguf.h"
#include "tt_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A unique path under $TMPDIR (or /tmp); the file is created empty, the caller unlinks it. */
static inline void tt_test_tmp(char *buf, size_t n, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/tritune-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
    int fd = mkstemp(buf);
    if (fd >= 0) close(fd);
}

static inline uint8_t *tt_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Finish a writer into a malloc'd buffer (open_memstream). */
static inline uint8_t *tt_test_writer_to_mem(tt_gguf_writer *w, size_t *len, const uint8_t *const *data,
                                             const size_t *sizes, int n_tensors)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    tt_status st = tt_gguf_writer_begin_fp(w, f);
    for (int i = 0; i < n_tensors && !st; i++) st = tt_gguf_writer_write(w, data[i], sizes[i]);
    if (!st) st = tt_gguf_writer_finish(w);
    fclose(f);
    if (st) {
        fprintf(stderr, "writer: %s\n", tt_last_error());
        free(buf);
        return NULL;
    }
    *len = n;
    return (uint8_t *)buf;
}

/* A small valid GGUF in the bitnet dialect (or under another architecture): a few KVs of every kind, a string
 * array, and three tensors (f32 [64], i2_s [128, 4], f16 [32, 3]). */
static inline uint8_t *tt_test_small_gguf(const char *arch, size_t *len)
{
    tt_gguf_writer *w;
    if (tt_gguf_writer_new(&w)) return NULL;
    static const char *toks[] = {"a", "bb", "", "ccc"};
    int32_t ids[3] = {1, -2, 3};
    tt_gguf_writer_kv_str(w, "general.architecture", arch);
    tt_gguf_writer_kv_u32(w, "general.alignment", 32);
    tt_gguf_writer_kv_f32(w, "x.float", 0.5f);
    tt_gguf_writer_kv_bool(w, "x.bool", true);
    tt_gguf_writer_kv_arr_str(w, "x.strings", toks, NULL, 4);
    tt_gguf_writer_kv_arr(w, "x.ints", TT_GGUF_I32, ids, 3);
    uint64_t ne_a[1] = {64}, ne_b[2] = {128, 4}, ne_c[2] = {32, 3};
    tt_gguf_writer_add_tensor(w, "a.weight", TT_GGML_F32, 1, ne_a);
    tt_gguf_writer_add_tensor(w, "b.weight", TT_GGML_I2_S, 2, ne_b);
    tt_gguf_writer_add_tensor(w, "c.weight", TT_GGML_F16, 2, ne_c);
    static uint8_t da[256], db[128 * 4 / 4 + 32], dc[32 * 3 * 2];
    for (size_t i = 0; i < sizeof da; i++) da[i] = (uint8_t)i;
    memset(db, 0x55, sizeof db); /* all codes 01: T = 0 */
    for (size_t i = 0; i < sizeof dc; i++) dc[i] = (uint8_t)(3 * i);
    const uint8_t *d[3] = {da, db, dc};
    size_t s[3] = {sizeof da, sizeof db, sizeof dc};
    uint8_t *buf = tt_test_writer_to_mem(w, len, d, s, 3);
    tt_gguf_writer_free(w);
    return buf;
}

#endif
