/* test_gguf.c — GGUF writer/reader round trip (every key and tensor), the synthetic model's layout
 * (docs/FORMATS.md §8: names, order, types, keys), and malformed files: truncated at every byte, wrong magic and
 * version, huge counts and lengths, bad types, nested arrays, misaligned / overlapping / out-of-file offsets,
 * wrong type sizes, unknown types, dialect ids without the bitnet architecture. Each must fail with a message. */
#include "model.h"
#include "tt_model_test.h"
#include "tt_preset.h"

#include <math.h>

static uint8_t *g_buf;
static size_t g_len;

/* Expect failure with a non-empty message containing `want` (if given). */
#define EXPECT_BAD(buf, len, want)                                                                                    \
    do {                                                                                                              \
        tt_gguf *g_ = NULL;                                                                                           \
        tt_fail(TT_OK, "%s", "");                                                                                     \
        tt_status st_ = tt_gguf_open_mem(buf, len, &g_);                                                              \
        CHECKF(st_ != TT_OK && g_ == NULL, "accepted a malformed file (%s)", want);                                  \
        CHECKF(*tt_last_error(), "no message (%s)", want);                                                            \
        if (want && *(const char *)want) CHECKF(strstr(tt_last_error(), want), "message \"%s\" lacks \"%s\"", tt_last_error(), want); \
        tt_gguf_close(g_);                                                                                            \
    } while (0)

/* A fresh mutable copy of the valid file, exact-size so ASan sees any over-read. */
static uint8_t *copy(size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    memcpy(b, g_buf, len < g_len ? len : g_len);
    return b;
}

/* Byte offset just past tensor `name` in the tensor infos (at its n_dims field). */
static size_t info_at(const uint8_t *b, const char *name)
{
    const uint8_t *p = memmem(b, g_len, name, strlen(name));
    return p ? (size_t)(p - b) + strlen(name) : 0;
}

static void test_round_trip(void)
{
    tt_gguf_writer *w;
    CHECK(!tt_gguf_writer_new(&w));
    const char *strs[] = {"", "hello", "with\0nul", "\xc4\xa0unicode"};
    size_t lens[] = {0, 5, 8, 9};
    int8_t i8s[] = {-128, 0, 127};
    uint64_t u64s[] = {0, UINT64_MAX};
    double f64s[] = {1.5, -0.0, 1e300};
    uint8_t bools[] = {1, 0, 1};
    CHECK(!tt_gguf_writer_kv_str(w, "general.architecture", "bitnet-b1.58"));
    CHECK(!tt_gguf_writer_kv_u8(w, "t.u8", 200));
    CHECK(!tt_gguf_writer_kv_i8(w, "t.i8", -100));
    CHECK(!tt_gguf_writer_kv_u16(w, "t.u16", 60000));
    CHECK(!tt_gguf_writer_kv_i16(w, "t.i16", -30000));
    CHECK(!tt_gguf_writer_kv_u32(w, "t.u32", 4000000000u));
    CHECK(!tt_gguf_writer_kv_i32(w, "t.i32", -2000000000));
    CHECK(!tt_gguf_writer_kv_u64(w, "t.u64", 1ull << 62));
    CHECK(!tt_gguf_writer_kv_i64(w, "t.i64", -(1ll << 62)));
    CHECK(!tt_gguf_writer_kv_f32(w, "t.f32", 3.25f));
    CHECK(!tt_gguf_writer_kv_f64(w, "t.f64", -2.5e-300));
    CHECK(!tt_gguf_writer_kv_bool(w, "t.bool", true));
    CHECK(!tt_gguf_writer_kv_str(w, "t.str", "a string"));
    CHECK(!tt_gguf_writer_kv_arr_str(w, "t.astr", strs, lens, 4));
    CHECK(!tt_gguf_writer_kv_arr(w, "t.ai8", TT_GGUF_I8, i8s, 3));
    CHECK(!tt_gguf_writer_kv_arr(w, "t.au64", TT_GGUF_U64, u64s, 2));
    CHECK(!tt_gguf_writer_kv_arr(w, "t.af64", TT_GGUF_F64, f64s, 3));
    CHECK(!tt_gguf_writer_kv_arr(w, "t.abool", TT_GGUF_BOOL, bools, 3));
    CHECK(!tt_gguf_writer_kv_arr(w, "t.aempty", TT_GGUF_F32, NULL, 0));
    /* The writer refuses what the reader would refuse. */
    CHECK(tt_gguf_writer_kv_u8(w, "t.u8", 1) == TT_ERR_VALUE);
    CHECK(tt_gguf_writer_kv_arr(w, "t.nested", TT_GGUF_ARRAY, NULL, 0) == TT_ERR_VALUE);
    uint64_t ne_bad[2] = {30, 2};
    CHECK(tt_gguf_writer_add_tensor(w, "bad", TT_GGML_Q8_0, 2, ne_bad) == TT_ERR_SHAPE);

    /* Tensors of every readable type, with shapes that exercise padding. */
    struct {
        const char *name;
        uint32_t type;
        int nd;
        uint64_t ne[4];
    } ts[] = {{"f32.weight", TT_GGML_F32, 1, {7}},
              {"f16.weight", TT_GGML_F16, 3, {5, 3, 2}},
              {"q8.weight", TT_GGML_Q8_0, 2, {64, 3}},
              {"i2s.weight", TT_GGML_I2_S, 2, {256, 5}},
              {"i8s.weight", TT_GGML_I8_S, 1, {33}},
              {"tl1.weight", TT_GGML_TL1, 2, {128, 2}},
              {"tl2.weight", TT_GGML_TL2, 2, {352, 2}},
              {"four.dims", TT_GGML_F32, 4, {2, 3, 4, 5}}};
    enum { NT = sizeof ts / sizeof ts[0] };
    uint8_t *data[NT];
    size_t sizes[NT];
    uint64_t rng = 7;
    for (int i = 0; i < NT; i++) {
        CHECK(!tt_gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].nd, ts[i].ne));
        sizes[i] = tt_ggml_nbytes(ts[i].type, ts[i].nd, ts[i].ne);
        data[i] = malloc(sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++) data[i][j] = (uint8_t)tt_rand_next(&rng);
    }
    CHECK(sizes[3] == 256 * 5 / 4 + 32 && sizes[2] == 2 * 3 * 34 && sizes[5] == 128 * 2 / 4 + 32);
    CHECK(tt_gguf_writer_add_tensor(w, "f32.weight", TT_GGML_F32, 1, ts[0].ne) == TT_ERR_VALUE); /* duplicate */

    char path[256];
    tt_test_tmp(path, sizeof path, "rt");
    CHECK(!tt_gguf_writer_begin(w, path));
    for (int i = 0; i < NT; i++) /* stream in two uneven pieces */
        CHECK(!tt_gguf_writer_write(w, data[i], sizes[i] / 3) &&
              !tt_gguf_writer_write(w, data[i] + sizes[i] / 3, sizes[i] - sizes[i] / 3));
    uint64_t expect_size = tt_gguf_writer_file_size(w);
    CHECK(!tt_gguf_writer_finish(w));
    tt_gguf_writer_free(w);

    tt_gguf *g;
    tt_status st = tt_gguf_open(path, &g);
    CHECKF(!st, "%s", tt_last_error());
    if (st) return;
    CHECK(g->size == expect_size && g->version == 3 && g->alignment == 32 && g->bitnet_dialect);
    CHECK(g->n_kv == 19 && g->n_tensors == NT);
    int64_t iv;
    uint32_t u;
    float f;
    bool b;
    const char *s;
    size_t n;
    CHECK(!tt_gguf_get_i64(g, "t.u8", &iv) && iv == 200);
    CHECK(!tt_gguf_get_i64(g, "t.i8", &iv) && iv == -100);
    CHECK(!tt_gguf_get_i64(g, "t.u16", &iv) && iv == 60000);
    CHECK(!tt_gguf_get_i64(g, "t.i16", &iv) && iv == -30000);
    CHECK(!tt_gguf_get_u32(g, "t.u32", &u) && u == 4000000000u);
    CHECK(!tt_gguf_get_i64(g, "t.i32", &iv) && iv == -2000000000);
    CHECK(!tt_gguf_get_i64(g, "t.u64", &iv) && iv == 1ll << 62);
    CHECK(!tt_gguf_get_i64(g, "t.i64", &iv) && iv == -(1ll << 62));
    CHECK(!tt_gguf_get_f32(g, "t.f32", &f) && f == 3.25f);
    CHECK(tt_gguf_kv_float(tt_gguf_find_kv(g, "t.f64")) == -2.5e-300);
    CHECK(!tt_gguf_get_bool(g, "t.bool", &b) && b);
    CHECK(!tt_gguf_get_str(g, "t.str", &s, &n) && n == 8 && !memcmp(s, "a string", 8));
    CHECK(tt_gguf_get_u32(g, "t.i32", &u) == TT_ERR_FORMAT); /* negative into u32 */
    CHECK(tt_gguf_get_f32(g, "t.str", &f) == TT_ERR_FORMAT && strstr(tt_last_error(), "t.str"));
    CHECK(tt_gguf_get_u32(g, "missing", &u) == TT_ERR_NOTFOUND && strstr(tt_last_error(), "missing"));
    const tt_gguf_kv *kv;
    CHECK(!tt_gguf_get_arr(g, "t.astr", TT_GGUF_STRING, &kv) && kv->arr_n == 4);
    for (int i = 0; i < 4; i++) {
        const char *e = tt_gguf_arr_str(kv, (uint64_t)i, &n);
        CHECKF(n == lens[i] && !memcmp(e, strs[i], n), "string element %d", i);
    }
    CHECK(!tt_gguf_get_arr(g, "t.ai8", TT_GGUF_I8, &kv) && kv->arr_n == 3);
    for (int i = 0; i < 3; i++) CHECK(tt_gguf_arr_int(kv, (uint64_t)i) == i8s[i]);
    CHECK(!tt_gguf_get_arr(g, "t.au64", TT_GGUF_U64, &kv) && tt_gguf_arr_int(kv, 0) == 0);
    CHECK(!tt_gguf_get_arr(g, "t.af64", TT_GGUF_F64, &kv) && tt_gguf_arr_float(kv, 2) == 1e300);
    CHECK(!tt_gguf_get_arr(g, "t.abool", TT_GGUF_BOOL, &kv) && tt_gguf_arr_int(kv, 1) == 0);
    CHECK(!tt_gguf_get_arr(g, "t.aempty", TT_GGUF_F32, &kv) && kv->arr_n == 0);
    CHECK(tt_gguf_get_arr(g, "t.ai8", TT_GGUF_U8, &kv) == TT_ERR_FORMAT);
    for (int i = 0; i < NT; i++) {
        const tt_gguf_tensor *t = tt_gguf_find_tensor(g, ts[i].name);
        CHECKF(t && t->type == ts[i].type && t->n_dims == ts[i].nd && t->nbytes == sizes[i], "tensor %s", ts[i].name);
        if (!t) continue;
        for (int d = 0; d < 4; d++) CHECK(t->ne[d] == (d < ts[i].nd ? ts[i].ne[d] : 1));
        CHECK(t->offset % 32 == 0 && ((uintptr_t)t->data - (uintptr_t)g->base) % 32 == 0);
        CHECKF(!memcmp(t->data, data[i], sizes[i]), "tensor %s data", ts[i].name);
    }
    CHECK(tt_gguf_find_tensor(g, "nope") == NULL);
    tt_gguf_close(g);

    /* Same bytes through a FILE* stream as through a path. */
    size_t flen;
    uint8_t *fbytes = tt_test_read_file(path, &flen);
    CHECK(fbytes && flen == expect_size);
    CHECK(!tt_gguf_open_mem(fbytes, flen, &g));
    tt_gguf_close(g);
    free(fbytes);
    unlink(path);
    for (int i = 0; i < NT; i++) free(data[i]);
}

static void test_writer_misuse(void)
{
    tt_gguf_writer *w;
    CHECK(!tt_gguf_writer_new(&w));
    uint64_t ne[1] = {8};
    CHECK(!tt_gguf_writer_add_tensor(w, "x", TT_GGML_F32, 1, ne));
    char path[256];
    tt_test_tmp(path, sizeof path, "mis");
    CHECK(!tt_gguf_writer_begin(w, path));
    CHECK(tt_gguf_writer_kv_u32(w, "late", 1) == TT_ERR_VALUE);
    float d[8] = {0};
    CHECK(!tt_gguf_writer_write(w, d, 16));
    CHECK(tt_gguf_writer_finish(w) == TT_ERR_SIZE && strstr(tt_last_error(), "16 of 32"));
    CHECK(tt_gguf_writer_write(w, d, 32) == TT_ERR_SIZE); /* 16 left, 32 given */
    tt_gguf_writer_free(w);                              /* removes PATH.tmp */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    unlink(path);
}

static void test_synth_layout(void)
{
    tt_synth_opts o;
    CHECK(!tt_synth_preset("tiny", &o));
    CHECK(tt_synth_preset("huge", &o) == TT_ERR_NOTFOUND);
    /* the message lists every name of the one preset table */
    for (int i = 0; i < tt_preset_count(); i++)
        CHECKF(strstr(tt_last_error(), tt_preset_at(i)->name), "\"%s\" not in: %s", tt_preset_at(i)->name,
               tt_last_error());
    CHECK(!tt_synth_preset("tiny", &o));
    char path[256];
    tt_test_tmp(path, sizeof path, "synth");
    tt_status st = tt_synth_write(&o, path);
    CHECKF(!st, "%s", tt_last_error());
    tt_gguf *g;
    CHECK(!tt_gguf_open(path, &g));
    if (!g) return;
    const tt_model_config *c = &o.c;
    CHECK(g->n_tensors == (uint64_t)(2 + 11 * c->n_layers));
    /* Official order: token_embd, layers (docs/FORMATS.md §8 order), output_norm; offsets increase. */
    CHECK(!strcmp(g->tensors[0].name, "token_embd.weight") && g->tensors[0].type == TT_GGML_F16);
    CHECK(g->tensors[0].ne[0] == (uint64_t)c->dim && g->tensors[0].ne[1] == (uint64_t)c->vocab_size);
    CHECK(!strcmp(g->tensors[g->n_tensors - 1].name, "output_norm.weight"));
    static const char *order[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_sub_norm",
                                  "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "ffn_sub_norm"};
    int n_i2s = 0, n_f32 = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < 11; i++) {
            char want[64];
            snprintf(want, sizeof want, "blk.%d.%s.weight", l, order[i]);
            CHECKF(!strcmp(g->tensors[1 + 11 * l + i].name, want), "tensor %d is %s, want %s", 1 + 11 * l + i,
                   g->tensors[1 + 11 * l + i].name, want);
        }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        n_i2s += g->tensors[i].type == TT_GGML_I2_S;
        n_f32 += g->tensors[i].type == TT_GGML_F32;
        if (i) CHECK(g->tensors[i].offset > g->tensors[i - 1].offset);
    }
    CHECK(n_i2s == 7 * c->n_layers && n_f32 == 4 * c->n_layers + 1);
    const tt_gguf_tensor *k = tt_gguf_find_tensor(g, "blk.0.attn_k.weight");
    CHECK(k && k->ne[0] == (uint64_t)c->dim && k->ne[1] == (uint64_t)(c->n_kv_heads * c->head_dim));
    CHECK(k && k->nbytes == (size_t)c->dim * c->n_kv_heads * c->head_dim / 4 + 32);
    const char *s;
    size_t n;
    uint32_t u;
    bool b;
    float f;
    CHECK(!tt_gguf_get_str(g, "general.architecture", &s, &n) && n == 12 && !memcmp(s, "bitnet-b1.58", 12));
    CHECK(!tt_gguf_get_u32(g, "general.file_type", &u) && u == 40);
    CHECK(!tt_gguf_get_u32(g, "general.alignment", &u) && u == 32);
    CHECK(!tt_gguf_get_u32(g, "general.quantization_version", &u) && u == 2);
    CHECK(!tt_gguf_get_u32(g, "bitnet-b1.58.vocab_size", &u) && u == (uint32_t)c->vocab_size);
    CHECK(!tt_gguf_get_u32(g, "bitnet-b1.58.attention.head_count_kv", &u) && u == (uint32_t)c->n_kv_heads);
    CHECK(!tt_gguf_get_u32(g, "bitnet-b1.58.rope.dimension_count", &u) && u == (uint32_t)c->head_dim);
    CHECK(!tt_gguf_get_f32(g, "bitnet-b1.58.attention.layer_norm_rms_epsilon", &f) && f == 1e-5f);
    CHECK(!tt_gguf_get_f32(g, "bitnet-b1.58.rope.freq_base", &f) && f == c->rope_theta);
    CHECK(!tt_gguf_get_str(g, "tokenizer.ggml.model", &s, &n) && n == 4 && !memcmp(s, "gpt2", 4));
    CHECK(!tt_gguf_get_str(g, "tokenizer.ggml.pre", &s, &n) && n == 9 && !memcmp(s, "llama-bpe", 9));
    const tt_gguf_kv *kv;
    CHECK(!tt_gguf_get_arr(g, "tokenizer.ggml.tokens", TT_GGUF_STRING, &kv) && kv->arr_n == (uint64_t)c->vocab_size);
    CHECK(!tt_gguf_get_arr(g, "tokenizer.ggml.token_type", TT_GGUF_I32, &kv) &&
          tt_gguf_arr_int(kv, (uint64_t)c->bos) == 3 && tt_gguf_arr_int(kv, 0) == 1);
    CHECK(!tt_gguf_get_arr(g, "tokenizer.ggml.merges", TT_GGUF_STRING, &kv) && kv->arr_n > 0);
    CHECK(!tt_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u) && u == (uint32_t)c->bos);
    CHECK(!tt_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u) && u == (uint32_t)c->eos);
    CHECK(!tt_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) && b);
    /* The I2_S scale sits in the tail; norms are 1 ± 0.02. */
    float sc;
    memcpy(&sc, k->data + k->nbytes - 32, 4);
    CHECK(sc > 0.5f / sqrtf((float)c->dim) && sc < 2.0f / sqrtf((float)c->dim));
    const float *nw = (const float *)tt_gguf_find_tensor(g, "blk.1.ffn_sub_norm.weight")->data;
    for (int i = 0; i < c->hidden_dim; i++) CHECK(fabsf(nw[i] - 1.0f) <= 0.02f);
    tt_gguf_close(g);

    /* Determinism: the same seed gives the same bytes; another seed does not. */
    size_t l1, l2, l3;
    uint8_t *b1 = tt_test_read_file(path, &l1);
    CHECK(!tt_synth_write(&o, path));
    uint8_t *b2 = tt_test_read_file(path, &l2);
    o.seed = 2;
    CHECK(!tt_synth_write(&o, path));
    uint8_t *b3 = tt_test_read_file(path, &l3);
    CHECK(b1 && b2 && b3 && l1 == l2 && !memcmp(b1, b2, l1));
    CHECK(b3 && (l3 != l1 || memcmp(b1, b3, l1))); /* the vocabulary depends on the seed too */
    free(b1), free(b2), free(b3);
    unlink(path);

    /* The 2B4T vocabulary: 128256 tokens, control tokens at 128000.. with BOS/EOS names, bytes first. */
    tt_synth_vocab v;
    CHECK(!tt_synth_preset("2b4t", &o));
    CHECK(o.c.dim == 2560 && o.c.hidden_dim == 6912 && o.c.n_layers == 30 && o.c.n_heads == 20 &&
          o.c.n_kv_heads == 5 && o.c.head_dim == 128 && o.c.vocab_size == 128256 && o.c.rope_theta == 500000.0f);
    CHECK(!tt_synth_vocab_build(128256, 128000, 128001, 1, &v));
    CHECK(v.n_tokens == 128256 && v.types[128000] == 3 && v.types[128255] == 3 && v.types[127999] == 1);
    CHECK(!strcmp(v.tokens[128000], "<|begin_of_text|>") && !strcmp(v.tokens[128001], "<|end_of_text|>"));
    CHECK(!strcmp(v.tokens[98], "b") && !strcmp(v.tokens[32], "\xc4\xa0")); /* byte 'b'; byte ' ' -> U+0120 */
    CHECK(v.n_merges == 128000 - 256);
    tt_synth_vocab_free(&v);
    CHECK(!tt_synth_preset("8b", &o) && o.c.n_heads == 32 && o.c.n_kv_heads == 8 && o.c.head_dim == 128);
    CHECK(!tt_synth_preset("3b", &o) && o.c.hidden_dim % 128 == 0 && !tt_model_config_check(&o.c));
    CHECK(!tt_synth_preset("large", &o) && !tt_model_config_check(&o.c));
    /* Every row of the one preset table is a config the model accepts, and synth takes it as it is: the shapes
     * tune races for a preset are those of the model synth writes for it. */
    CHECK(tt_preset_count() >= 5 && !tt_preset_at(tt_preset_count()) && !tt_preset_at(-1) && !tt_preset_find(NULL));
    for (int i = 0; i < tt_preset_count(); i++) {
        const tt_preset *p = tt_preset_at(i);
        CHECK(tt_preset_find(p->name) == p);
        CHECKF(!tt_synth_preset(p->name, &o), "%s: %s", p->name, tt_last_error());
        CHECKF(!tt_model_config_check(&o.c), "%s: %s", p->name, tt_last_error());
        CHECKF(o.c.dim == p->dim && o.c.hidden_dim == p->ffn && o.c.n_layers == p->layers && o.c.n_heads == p->heads &&
                   o.c.n_kv_heads == p->kv_heads && o.c.head_dim == p->head_dim && o.c.rope_dim == p->head_dim &&
                   o.c.vocab_size == p->vocab && o.c.seq_len == p->ctx && o.c.rope_theta == p->rope_theta &&
                   o.c.bos == p->bos && o.c.eos == p->eos && !strcmp(o.c.arch, p->arch) && o.name == p->desc,
               "%s: synth's config differs from the table's row", p->name);
        CHECKF(p->heads * p->head_dim == p->dim && p->heads % p->kv_heads == 0 && p->dim % 128 == 0 &&
                   p->ffn % 128 == 0,
               "%s: heads/head_dim/kv_heads/dim/ffn break the row contract", p->name);
    }
    /* the public models' differences are the padded 3B FFN and the 128-wide heads of large and 3b */
    CHECK(tt_preset_find("3b")->ffn == 8704 && tt_preset_find("3b")->note && tt_preset_find("large")->note);
    CHECK(tt_preset_find("2b4t")->tune && !tt_preset_find("tiny")->tune);
    char names[128];
    CHECK(!strcmp(tt_preset_names(names, sizeof names, "|", true), "2b4t|large|3b|8b"));
    CHECK(!strcmp(tt_preset_names(names, 7, ", ", false), "2b4t"));
}

static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void test_malformed(void)
{
    g_buf = tt_test_small_gguf("bitnet-b1.58", &g_len);
    CHECK(g_buf != NULL);
    if (!g_buf) return;
    tt_gguf *g;
    CHECKF(!tt_gguf_open_mem(g_buf, g_len, &g), "%s", tt_last_error());
    size_t data_end = g->data_start;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].offset + g->tensors[i].nbytes + g->data_start > data_end)
            data_end = g->data_start + g->tensors[i].offset + g->tensors[i].nbytes;
    size_t kv_str_len_at = (size_t)(tt_gguf_find_kv(g, "x.strings")->val - g->base) - 8; /* array count */
    size_t key_len_at = (size_t)((const uint8_t *)tt_gguf_find_kv(g, "x.float")->key - g->base) - 8;
    size_t type_at = key_len_at + 8 + 7; /* "x.float" then its u32 value type */
    tt_gguf_close(g);

    /* Truncated at every byte before the end of the last tensor's data. */
    for (size_t cut = 0; cut < data_end; cut++) {
        uint8_t *b = copy(cut);
        tt_gguf *t = NULL;
        tt_fail(TT_OK, "%s", "");
        tt_status st = tt_gguf_open_mem(b, cut, &t);
        CHECKF(st && !t && *tt_last_error(), "truncation at %zu accepted or silent", cut);
        tt_gguf_close(t);
        free(b);
    }
    uint8_t *b;
    b = copy(g_len), b[0] = 'X';
    EXPECT_BAD(b, g_len, "magic");
    free(b);
    b = copy(g_len), put_u32(b + 4, 1);
    EXPECT_BAD(b, g_len, "version 1");
    free(b);
    b = copy(g_len), put_u32(b + 4, 4);
    EXPECT_BAD(b, g_len, "version 4");
    free(b);
    b = copy(g_len), put_u32(b + 4, 0x03000000);
    EXPECT_BAD(b, g_len, "big-endian");
    free(b);
    b = copy(g_len), put_u64(b + 8, UINT64_MAX);
    EXPECT_BAD(b, g_len, "tensor count");
    free(b);
    b = copy(g_len), put_u64(b + 8, 1ull << 40);
    EXPECT_BAD(b, g_len, "tensor count");
    free(b);
    b = copy(g_len), put_u64(b + 16, UINT64_MAX / 2);
    EXPECT_BAD(b, g_len, "KV count");
    free(b);
    b = copy(g_len), put_u64(b + 8, 4); /* one tensor more than there is: runs into the data */
    EXPECT_BAD(b, g_len, "");
    free(b);
    b = copy(g_len), put_u64(b + key_len_at, UINT64_MAX);
    EXPECT_BAD(b, g_len, "key length");
    free(b);
    b = copy(g_len), put_u64(b + key_len_at, 0);
    EXPECT_BAD(b, g_len, "");
    free(b);
    b = copy(g_len), put_u32(b + type_at, 13);
    EXPECT_BAD(b, g_len, "unknown value type 13");
    free(b);
    b = copy(g_len), put_u64(b + kv_str_len_at, 1ull << 61);
    EXPECT_BAD(b, g_len, "strings");
    free(b);
    b = copy(g_len), put_u32(b + kv_str_len_at - 4, TT_GGUF_ARRAY);
    EXPECT_BAD(b, g_len, "nested");
    free(b);
    b = copy(g_len), put_u32(b + kv_str_len_at - 4, 77);
    EXPECT_BAD(b, g_len, "unknown element type");
    free(b);
    b = copy(g_len), put_u64(b + kv_str_len_at + 8, UINT64_MAX - 3); /* first string's length */
    EXPECT_BAD(b, g_len, "string element 0");
    free(b);
    {   /* bool value 2 */
        const uint8_t *p = memmem(g_buf, g_len, "x.bool", 6);
        b = copy(g_len), b[(size_t)(p - g_buf) + 6 + 4] = 2;
        EXPECT_BAD(b, g_len, "bool");
        free(b);
    }
    {   /* general.alignment not a power of two, or of the wrong type */
        const uint8_t *p = memmem(g_buf, g_len, "general.alignment", 17);
        size_t at = (size_t)(p - g_buf) + 17;
        b = copy(g_len), put_u32(b + at + 4, 24);
        EXPECT_BAD(b, g_len, "alignment");
        free(b);
        b = copy(g_len), put_u32(b + at, TT_GGUF_I32);
        EXPECT_BAD(b, g_len, "alignment");
        free(b);
    }
    size_t ta = info_at(g_buf, "a.weight"), tb = info_at(g_buf, "b.weight"), tc = info_at(g_buf, "c.weight");
    /* Tensor layout: n_dims u32 | ne u64 × n_dims | type u32 | offset u64. a: 1 dim, b and c: 2 dims. */
    b = copy(g_len), put_u32(b + ta, 0);
    EXPECT_BAD(b, g_len, "dims");
    free(b);
    b = copy(g_len), put_u32(b + ta, 5);
    EXPECT_BAD(b, g_len, "dims");
    free(b);
    b = copy(g_len), put_u64(b + ta + 4, 0);
    EXPECT_BAD(b, g_len, "dim 0");
    free(b);
    b = copy(g_len), put_u64(b + tb + 4, 1ull << 39), put_u64(b + tb + 12, 1ull << 39);
    EXPECT_BAD(b, g_len, "overflow");
    free(b);
    b = copy(g_len), put_u32(b + ta + 12, 3); /* Q4_1: a real ggml type this reader does not read */
    EXPECT_BAD(b, g_len, "unsupported ggml type 3");
    free(b);
    b = copy(g_len), put_u32(b + ta + 12, 1000);
    EXPECT_BAD(b, g_len, "unsupported ggml type 1000");
    free(b);
    b = copy(g_len), put_u32(b + tc + 20, TT_GGML_Q8_0); /* c is [32, 3] f16 -> q8_0 needs 102 bytes: fits */
    {
        tt_gguf *t;
        CHECK(!tt_gguf_open_mem(b, g_len, &t));
        tt_gguf_close(t);
    }
    free(b);
    b = copy(g_len), put_u64(b + tc + 4, 30), put_u32(b + tc + 20, TT_GGML_Q8_0); /* ne0 30: no q8_0 blocks */
    EXPECT_BAD(b, g_len, "q8_0 needs ne0 % 32");
    free(b);
    b = copy(g_len), put_u64(b + tb + 4, 126); /* i2_s ne0 % 4 */
    EXPECT_BAD(b, g_len, "i2_s needs ne0 % 4");
    free(b);
    b = copy(g_len), put_u64(b + tc + 4, 4096); /* bigger than the file */
    EXPECT_BAD(b, g_len, "outside the data section");
    free(b);
    b = copy(g_len), put_u64(b + tc + 24, 8); /* misaligned */
    EXPECT_BAD(b, g_len, "not a multiple of the alignment");
    free(b);
    b = copy(g_len), put_u64(b + tc + 24, 0); /* c on top of a */
    EXPECT_BAD(b, g_len, "overlaps");
    free(b);
    b = copy(g_len), put_u64(b + tc + 24, 1ull << 62);
    EXPECT_BAD(b, g_len, "outside the data section");
    free(b);
    b = copy(g_len), put_u64(b + tc + 24, UINT64_MAX - 31);
    EXPECT_BAD(b, g_len, "");
    free(b);
    b = copy(g_len), b[tb - 8] = 'a'; /* "b.weight" -> "a.weight" */
    EXPECT_BAD(b, g_len, "duplicate tensor name");
    free(b);
    {   /* duplicate key: rename "x.ints" (6 bytes) to "x.bool" (6 bytes) */
        const uint8_t *p = memmem(g_buf, g_len, "x.ints", 6);
        b = copy(g_len), memcpy(b + (p - g_buf), "x.bool", 6);
        EXPECT_BAD(b, g_len, "duplicate metadata key");
        free(b);
    }
    {   /* tensor name length 0 and > 63 */
        b = copy(g_len), put_u64(b + ta - 8 - 8, 0);
        EXPECT_BAD(b, g_len, "name length");
        free(b);
    }
    free(g_buf);

    /* The dialect ids only under the bitnet architecture. */
    g_buf = tt_test_small_gguf("llama", &g_len);
    EXPECT_BAD(g_buf, g_len, "bitnet");
    free(g_buf);
    g_buf = tt_test_small_gguf("bitnet", &g_len);
    CHECK(!tt_gguf_open_mem(g_buf, g_len, &g) && g->bitnet_dialect);
    tt_gguf_close(g);
    free(g_buf);

    /* Files on disk: a directory, a missing path, an empty file. */
    CHECK(tt_gguf_open("/", &g) == TT_ERR_IO && strstr(tt_last_error(), "/"));
    CHECK(tt_gguf_open("/nonexistent/x.gguf", &g) == TT_ERR_IO && strstr(tt_last_error(), "x.gguf"));
    char path[256];
    tt_test_tmp(path, sizeof path, "empty");
    CHECK(tt_gguf_open(path, &g) == TT_ERR_FORMAT && strstr(tt_last_error(), path));
    unlink(path);
    CHECK(tt_gguf_open_mem(NULL, 0, &g) == TT_ERR_FORMAT);
}

int main(void)
{
    test_round_trip();
    test_writer_misuse();
    test_synth_layout();
    test_malformed();
    return tt_test_end("test_gguf");
}
