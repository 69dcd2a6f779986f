/* test_tq.c — mainline llama.cpp's ternary types TQ1_0 / TQ2_0 (model/tt_tq.h):
 * - block codecs: hand-derived byte vectors (below), round trips on random and adversarial blocks (all -1, all
 *   +1, all 0), every TQ1_0 byte value decoding to trits and the 243 canonical ones re-encoding to themselves;
 * - the scale rule: one f16 d over the blocks with a nonzero trit, d = 0 blocks read as zeros, differing scales
 *   refused with the tensor name and both values; TQ2_0 code 3 refused; wrong sizes refused;
 * - GGUF: K not a multiple of 256 and truncated data refused at open, with messages;
 * - the model: tiny synthetic models written as i2_s, tq1_0 and tq2_0 from one seed give bit-identical logits
 *   (decode and batched prefill, both architectures; files from the API and from the CLI's synth), and so does
 *   the float reference; an optional
 *   "blk.N.x.scale" tensor multiplies s_w exactly as a doubled d does; a file with mixed block scales is refused
 *   by the model and the reference without a crash. */
#include "model.h"
#include "tt_half.h"
#include "tt_model_cli.h"
#include "tt_model_test.h"
#include "tt_tq.h"

#include <math.h>

/* ---- hand-derived vectors ----
 * From ggml's quantize_row_tq2_0_ref: byte m of chunk j = Σ_n (trit[128j + m + 32n] + 1) << 2n.
 *   Block: t0 = +1, t32 = -1, t64 = 0, t96 = +1 → byte 0 = 2 | 0<<2 | 1<<4 | 2<<6 = 2 + 16 + 128 = 0x92.
 *          t128 = -1, t160 = -1, t192 = +1, t224 = 0 → byte 32 = 0 | 0<<2 | 2<<4 | 1<<6 = 32 + 64 = 0x60.
 *   All other weights 0 (code 1 everywhere) → 1 + 4 + 16 + 64 = 0x55. d = 1.0 = f16 0x3c00, little endian.
 * From ggml's quantize_row_tq1_0_ref: q = Σ (trit + 1)·3^(4-n) (n = 0 first), then q = (q·256 + 242) / 243.
 *   qs[0] holds t0, t32, t64, t96, t128 = +1, -1, 0, +1, -1 → digits 2,0,1,2,0 → v = 162 + 9 + 6 = 177,
 *          (177·256 + 242) / 243 = 45554 / 243 = 187 (0xbb). Decode (dequantize_row_tq1_0, digit n =
 *          ((uint8)(q·3^n)·3) >> 8): 187·3 = 561 → 2; (561 mod 256 = 49)·3 = 147 → 0; (1683 mod 256 = 147)·3 =
 *          441 → 1; (5049 mod 256 = 185)·3 = 555 → 2; (15147 mod 256 = 43)·3 = 129 → 0. ✓
 *   qs[32] holds t160, t176, t192, t208, t224 = 0, 0, +1, -1, -1 → digits 1,1,2,0,0 → v = 81 + 27 + 18 = 126,
 *          (126·256 + 242) / 243 = 32498 / 243 = 133 (0x85).
 *   qh[0] holds t240, t244, t248, t252 = -1, +1, +1, 0 → digits 0,2,2,1 → v = (18 + 6 + 1)·3 = 75 (the ·3 puts
 *          the first trit in the top place), (75·256 + 242) / 243 = 19442 / 243 = 80 (0x50).
 *   An all-zero qs byte: v = 81 + 27 + 9 + 3 + 1 = 121 → 31218 / 243 = 128 (0x80); an all-zero qh byte:
 *          v = 40·3 = 120 → 30962 / 243 = 127 (0x7f). */
static void vector_block(int8_t *t, int tq1)
{
    memset(t, 0, TT_QK_K);
    t[0] = 1, t[32] = -1, t[64] = 0, t[96] = 1;
    if (tq1) {
        t[128] = -1;
        t[160] = 0, t[176] = 0, t[192] = 1, t[208] = -1, t[224] = -1;
        t[240] = -1, t[244] = 1, t[248] = 1, t[252] = 0;
    } else {
        t[128] = -1, t[160] = -1, t[192] = 1, t[224] = 0;
    }
}

static void check_vectors(void)
{
    int8_t t[TT_QK_K], back[TT_QK_K];
    uint8_t got[TT_TQ2_0_BYTES], want[TT_TQ2_0_BYTES];
    uint16_t d = 0;

    vector_block(t, 0);
    memset(want, 0x55, 64);
    want[0] = 0x92, want[32] = 0x60, want[64] = 0x00, want[65] = 0x3c;
    tt_tq2_0_encode_block(t, 0x3c00, got);
    CHECK(!memcmp(got, want, TT_TQ2_0_BYTES));
    CHECK(!tt_tq2_0_decode_block(want, back, &d) && d == 0x3c00 && !memcmp(back, t, TT_QK_K));

    vector_block(t, 1);
    memset(want, 0x80, 48);
    memset(want + 48, 0x7f, 4);
    want[0] = 0xbb, want[32] = 0x85, want[48] = 0x50, want[52] = 0x00, want[53] = 0x3c;
    tt_tq1_0_encode_block(t, 0x3c00, got);
    CHECK(!memcmp(got, want, TT_TQ1_0_BYTES));
    CHECK(!tt_tq1_0_decode_block(want, back, &d) && d == 0x3c00 && !memcmp(back, t, TT_QK_K));
}

static void check_round_trips(void)
{
    int8_t t[TT_QK_K], back[TT_QK_K];
    uint8_t b[TT_TQ2_0_BYTES];
    uint64_t rng = 12345;
    int bad = 0;
    for (int iter = 0; iter < 2000; iter++) {
        int kind = iter % 5; /* random, all -1, all +1, all 0, sparse */
        for (int i = 0; i < TT_QK_K; i++) {
            uint64_t r = tt_rand_next(&rng);
            t[i] = kind == 0 ? (int8_t)(r % 3) - 1 : kind == 1 ? -1 : kind == 2 ? 1 : kind == 3 ? 0
                   : (r % 17 == 0 ? (r & 64 ? 1 : -1) : 0);
        }
        uint16_t d = (uint16_t)tt_rand_next(&rng), d1 = 0, d2 = 0;
        tt_tq1_0_encode_block(t, d, b);
        bad += tt_tq1_0_decode_block(b, back, &d1) != TT_OK || d1 != d || memcmp(back, t, TT_QK_K);
        tt_tq2_0_encode_block(t, d, b);
        bad += tt_tq2_0_decode_block(b, back, &d2) != TT_OK || d2 != d || memcmp(back, t, TT_QK_K);
    }
    CHECKF(!bad, "%d round trips differ", bad);

    /* every byte value decodes to five trits; the 243 values the encoder makes re-encode to themselves */
    int canon = 0;
    bad = 0;
    for (int q = 0; q < 256; q++) {
        int8_t tr[5];
        unsigned v = 0;
        for (int n = 0; n < 5; n++) {
            uint8_t x = (uint8_t)(q * (int)pow(3, n));
            tr[n] = (int8_t)(((unsigned)x * 3 >> 8) - 1);
            bad += tr[n] < -1 || tr[n] > 1;
            v = v * 3 + (unsigned)(tr[n] + 1);
        }
        canon += (int)((v * 256 + 242) / 243) == q;
    }
    CHECKF(!bad && canon == 243, "bad %d, canonical %d", bad, canon);
}

static void check_scale_rule(void)
{
    enum { M = 2, K = 512 }; /* 4 blocks, two per row */
    tt_tern w, out;
    CHECK(!tt_tern_alloc(&w, M, K) && !tt_tern_alloc(&out, M, K));
    tt_tern_random(&w, 9);
    w.scale = 0.0625f;
    for (int type = TT_GGML_TQ1_0; type <= TT_GGML_TQ2_0; type++) {
        size_t bb = tt_tq_block_bytes((uint32_t)type), n = tt_tq_size((uint32_t)type, M, K);
        CHECK(n == 4 * bb);
        uint8_t *b = malloc(n);
        CHECK(!tt_tq_pack((uint32_t)type, &w, b, n));
        CHECK(!tt_tq_unpack((uint32_t)type, "x.weight", b, n, &out) && out.scale == 0.0625f &&
              !memcmp(out.t, w.t, M * K));

        /* block 1: d = 0 → its trits read as zeros and its d is no scale */
        b[2 * bb - 2] = 0, b[2 * bb - 1] = 0x80; /* -0 */
        CHECK(!tt_tq_unpack((uint32_t)type, "x.weight", b, n, &out) && out.scale == 0.0625f);
        int zeros = 0;
        for (int i = 256; i < 512; i++) zeros += out.t[i] == 0;
        CHECK(zeros == 256 && !memcmp(out.t, w.t, 256) && !memcmp(out.t + 512, w.t + 512, 512));

        /* an all-zero block may carry any d */
        tt_tern z;
        CHECK(!tt_tern_alloc(&z, M, K));
        memcpy(z.t, w.t, M * K);
        memset(z.t + 768, 0, 256);
        z.scale = 0.0625f;
        CHECK(!tt_tq_pack((uint32_t)type, &z, b, n));
        b[4 * bb - 2] = 0x00, b[4 * bb - 1] = 0x3c; /* 1.0 */
        CHECK(!tt_tq_unpack((uint32_t)type, "x.weight", b, n, &out) && out.scale == 0.0625f &&
              !memcmp(out.t, z.t, M * K));
        /* all blocks zero: scale 0 */
        memset(z.t, 0, M * K);
        CHECK(!tt_tq_pack((uint32_t)type, &z, b, n) && !tt_tq_unpack((uint32_t)type, "x.weight", b, n, &out) &&
              out.scale == 0.0f);
        tt_tern_free(&z);

        /* two nonzero blocks with different d: refused, naming the tensor and both scales */
        CHECK(!tt_tq_pack((uint32_t)type, &w, b, n));
        b[3 * bb - 1] = 0x30; /* block 2: f16 0x3000 = 0.125 (0.0625 is 0x2c00) */
        b[3 * bb - 2] = 0x00;
        tt_status st = tt_tq_unpack((uint32_t)type, "blk.7.ffn_up.weight", b, n, &out);
        CHECKF(st == TT_ERR_FORMAT && strstr(tt_last_error(), "blk.7.ffn_up.weight") &&
                   strstr(tt_last_error(), "0.0625") && strstr(tt_last_error(), "0.125"),
               "%s", tt_last_error());

        /* sizes: short, long, K % 256 */
        CHECK(!tt_tq_pack((uint32_t)type, &w, b, n));
        CHECK(tt_tq_unpack((uint32_t)type, "x.weight", b, n - 1, &out) == TT_ERR_FORMAT &&
              strstr(tt_last_error(), "x.weight"));
        tt_tern odd = {.m = 2, .k = 384, .t = out.t};
        CHECK(tt_tq_unpack((uint32_t)type, "x.weight", b, n, &odd) == TT_ERR_SHAPE &&
              strstr(tt_last_error(), "multiple of 256"));
        CHECK(tt_tq_size((uint32_t)type, 1, 128) == 0 && tt_tq_size(TT_GGML_I2_S, 1, 256) == 0);
        free(b);
    }
    /* TQ2_0 code 3 (+2): not ternary */
    uint8_t blk[TT_TQ2_0_BYTES];
    int8_t t[TT_QK_K];
    uint16_t d;
    memset(blk, 0x55, sizeof blk);
    blk[5] = 0x57; /* weight 5: code 3 */
    CHECK(tt_tq2_0_decode_block(blk, t, &d) == TT_ERR_FORMAT && strstr(tt_last_error(), "weight 5"));
    tt_tern_free(&w);
    tt_tern_free(&out);
}

/* ---- GGUF level ---- */
static uint8_t *one_tensor_gguf(uint32_t type, uint64_t k, uint64_t m, size_t data_len, size_t *len)
{
    tt_gguf_writer *w;
    if (tt_gguf_writer_new(&w)) return NULL;
    tt_gguf_writer_kv_str(w, "general.architecture", "bitnet");
    uint64_t ne[2] = {k, m};
    tt_status st = tt_gguf_writer_add_tensor(w, "blk.0.attn_q.weight", type, 2, ne);
    if (st) {
        tt_gguf_writer_free(w);
        return NULL;
    }
    uint8_t *data = calloc(1, data_len);
    const uint8_t *d[1] = {data};
    uint8_t *buf = tt_test_writer_to_mem(w, len, d, &data_len, 1);
    free(data);
    tt_gguf_writer_free(w);
    return buf;
}

static void check_gguf(void)
{
    uint64_t ne[2] = {512, 3};
    CHECK(tt_ggml_nbytes(TT_GGML_TQ1_0, 2, ne) == 3 * 2 * 54 && tt_ggml_nbytes(TT_GGML_TQ2_0, 2, ne) == 3 * 2 * 66);
    CHECK(!strcmp(tt_ggml_type_name(34), "tq1_0") && !strcmp(tt_ggml_type_name(35), "tq2_0"));
    ne[0] = 384;
    CHECK(tt_ggml_nbytes(TT_GGML_TQ2_0, 2, ne) == 0 && strstr(tt_last_error(), "256"));
    /* the writer refuses the shape too; a hand-made file with K = 384 is refused at open */
    size_t len;
    uint8_t *good = one_tensor_gguf(TT_GGML_TQ2_0, 512, 2, 2 * 2 * 66, &len);
    CHECK(good != NULL);
    tt_gguf *g = NULL;
    if (good) {
        CHECKF(!tt_gguf_open_mem(good, len, &g), "%s", tt_last_error());
        const tt_gguf_tensor *t = g ? tt_gguf_find_tensor(g, "blk.0.attn_q.weight") : NULL;
        CHECK(t && t->type == TT_GGML_TQ2_0 && t->nbytes == 264);
        size_t end = t ? (size_t)(t->data - g->base) + t->nbytes : len; /* the file may end in padding */
        tt_gguf_close(g);
        /* patch ne0 512 -> 384 in the tensor info (the u64 512 after the name and n_dims) */
        uint8_t pat[8] = {0, 2, 0, 0, 0, 0, 0, 0};
        uint8_t *p = memmem(good, len, pat, 8);
        CHECK(p != NULL);
        if (p) {
            p[0] = 0x80, p[1] = 0x01;
            CHECK(tt_gguf_open_mem(good, len, &g) != TT_OK && !g && strstr(tt_last_error(), "ne0 % 256") &&
                  strstr(tt_last_error(), "blk.0.attn_q.weight"));
            p[0] = 0, p[1] = 2;
        }
        /* truncated data: every shorter length is refused with a message, never a crash */
        int bad = 0;
        for (size_t cut = end - 1; cut + 300 > end && cut > 0; cut -= 7) {
            uint8_t *c = malloc(cut);
            memcpy(c, good, cut);
            tt_status st = tt_gguf_open_mem(c, cut, &g);
            bad += st == TT_OK || g != NULL || !*tt_last_error();
            free(c);
        }
        CHECKF(!bad, "%d truncations accepted", bad);
        free(good);
    }
}

/* ---- the model ---- */
static tt_status synth(const char *path, uint32_t tern, const char *arch, int layers, uint64_t seed)
{
    tt_synth_opts o;
    tt_status st = tt_synth_preset("tiny", &o);
    if (st) return st;
    snprintf(o.c.arch, sizeof o.c.arch, "%s", arch);
    o.c.act = strcmp(arch, "bitnet") ? TT_ACT_RELU2 : TT_ACT_SILU;
    o.c.n_layers = layers;
    o.seed = seed;
    o.ternary_type = tern;
    o.f16_scales = true;
    return tt_synth_write(&o, path);
}

enum { POS = 8 };

/* Logits at POS positions: greedy decode from BOS (tokens[] filled from the first model, reused by the others),
 * then the same tokens through batched prefill. */
static bool run_logits(const char *path, int *tokens, bool choose, float *dec, float *pre, int *vocab)
{
    tt_model_opts o = {.threads = 2, .n_ctx = 32};
    tt_model *m = NULL;
    tt_status st = tt_model_open(path, &o, &m);
    CHECKF(!st, "open %s: %s", path, tt_last_error());
    if (st) return false;
    int V = m->config.vocab_size;
    *vocab = V;
    if (choose) tokens[0] = m->config.bos;
    for (int i = 0; i < POS && !st; i++) {
        st = tt_model_forward(m, tokens[i], i, true);
        memcpy(dec + (size_t)i * V, m->s.logits, (size_t)V * sizeof(float));
        if (choose && i + 1 < POS) tokens[i + 1] = tt_argmax(m->s.logits, V);
    }
    if (!st) st = tt_model_prefill(m, tokens, POS, 0, true); /* logits of the last position */
    if (!st) memcpy(pre, m->s.logits, (size_t)V * sizeof(float));
    CHECKF(!st, "%s: %s", path, tt_last_error());
    tt_model_close(m);
    return !st;
}

/* The same through the CLI: tritune model synth --arch A --layers L --ternary T --seed 42 [--f16-scales]. */
static tt_status synth_cli(const char *path, uint32_t tern, const char *arch, int layers)
{
    char l[16];
    snprintf(l, sizeof l, "%d", layers);
    char *argv[] = {"model", "synth", "--preset", "tiny", "--out", (char *)path, "--arch", (char *)arch, "--layers", l,
                    "--seed", "42", "--ternary", (char *)tt_ggml_type_name(tern), "--f16-scales"};
    int argc = (int)(sizeof argv / sizeof argv[0]) - (tern != TT_GGML_I2_S); /* TQ rounds to f16 anyway */
    return tt_cmd_model(argc, argv) ? tt_fail(TT_ERR_VALUE, "synth CLI failed") : TT_OK;
}

static void check_identical(const char *arch, int layers, bool cli)
{
    static const uint32_t types[3] = {TT_GGML_I2_S, TT_GGML_TQ1_0, TT_GGML_TQ2_0};
    char path[3][256];
    float *dec[3] = {0}, *pre[3] = {0}, ref_last[3] = {0};
    int tokens[POS], V = 0;
    bool ok = true;
    for (int i = 0; i < 3 && ok; i++) {
        tt_test_tmp(path[i], sizeof path[i], "tq");
        tt_status st = cli ? synth_cli(path[i], types[i], arch, layers) : synth(path[i], types[i], arch, layers, 42);
        CHECKF(!st, "synth %s: %s", tt_ggml_type_name(types[i]), tt_last_error());
        dec[i] = malloc(sizeof(float) * 512 * POS);
        pre[i] = malloc(sizeof(float) * 512);
        ok = !st && run_logits(path[i], tokens, i == 0, dec[i], pre[i], &V);
        /* the float reference reads TQ as well */
        tt_model_ref *r = NULL;
        if (ok && !(st = tt_model_ref_open(path[i], &r))) {
            float *lg = malloc(sizeof(float) * 512);
            st = tt_model_ref_forward(r, tokens, 3, false, lg);
            ref_last[i] = st ? NAN : lg[7];
            free(lg);
            tt_model_ref_close(r);
        }
        CHECKF(!st, "reference %s: %s", tt_ggml_type_name(types[i]), tt_last_error());
    }
    for (int i = 1; i < 3 && ok; i++) {
        CHECKF(!memcmp(dec[0], dec[i], sizeof(float) * (size_t)V * POS), "%s %d layers: decode logits of %s differ from i2_s",
               arch, layers, tt_ggml_type_name(types[i]));
        CHECKF(!memcmp(pre[0], pre[i], sizeof(float) * (size_t)V), "%s: prefill logits of %s differ from i2_s", arch,
               tt_ggml_type_name(types[i]));
        CHECKF(!memcmp(&ref_last[0], &ref_last[i], sizeof(float)), "%s: reference logits of %s differ", arch,
               tt_ggml_type_name(types[i]));
    }
    CHECK(ok && !memcmp(pre[0], dec[0] + (size_t)V * (POS - 1), sizeof(float) * (size_t)V));
    for (int i = 0; i < 3; i++) {
        free(dec[i]);
        free(pre[i]);
        unlink(path[i]);
    }
}

/* Copy a GGUF (keys and tensors) into a new file, adding one F32 tensor of n elements at the end. */
static tt_status copy_with_tensor(const char *src, const char *dst, const char *name, const float *v, uint64_t n)
{
    tt_gguf *g;
    tt_status st = tt_gguf_open(src, &g);
    if (st) return st;
    tt_gguf_writer *w;
    if ((st = tt_gguf_writer_new(&w))) {
        tt_gguf_close(g);
        return st;
    }
    for (uint64_t i = 0; i < g->n_kv && !st; i++) {
        const tt_gguf_kv *kv = &g->kv[i];
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key_len, kv->key);
        switch (kv->type) {
        case TT_GGUF_STRING: {
            size_t l;
            const char *s = tt_gguf_kv_str(kv, &l);
            char *z = strndup(s, l);
            st = tt_gguf_writer_kv_str(w, key, z);
            free(z);
            break;
        }
        case TT_GGUF_U32: st = tt_gguf_writer_kv_u32(w, key, (uint32_t)tt_gguf_kv_int(kv)); break;
        case TT_GGUF_F32: st = tt_gguf_writer_kv_f32(w, key, (float)tt_gguf_kv_float(kv)); break;
        case TT_GGUF_BOOL: st = tt_gguf_writer_kv_bool(w, key, tt_gguf_kv_int(kv) != 0); break;
        case TT_GGUF_ARRAY:
            if (kv->arr_type == TT_GGUF_STRING) {
                const char **ss = malloc(kv->arr_n * sizeof *ss);
                size_t *ls = malloc(kv->arr_n * sizeof *ls);
                for (uint64_t j = 0; j < kv->arr_n; j++) ss[j] = tt_gguf_arr_str(kv, j, &ls[j]);
                st = tt_gguf_writer_kv_arr_str(w, key, ss, ls, kv->arr_n);
                free(ss);
                free(ls);
            } else if (kv->arr_type == TT_GGUF_I32) {
                st = tt_gguf_writer_kv_arr(w, key, TT_GGUF_I32, kv->val, kv->arr_n);
            } else {
                st = tt_fail(TT_ERR_UNSUPPORTED, "copy: array of %s", tt_gguf_vtype_name(kv->arr_type));
            }
            break;
        default: st = tt_fail(TT_ERR_UNSUPPORTED, "copy: key type %s", tt_gguf_vtype_name(kv->type));
        }
    }
    for (uint64_t i = 0; i < g->n_tensors && !st; i++)
        st = tt_gguf_writer_add_tensor(w, g->tensors[i].name, g->tensors[i].type, g->tensors[i].n_dims, g->tensors[i].ne);
    if (!st) st = tt_gguf_writer_add_tensor(w, name, TT_GGML_F32, 1, &n);
    if (!st) st = tt_gguf_writer_begin(w, dst);
    for (uint64_t i = 0; i < g->n_tensors && !st; i++) st = tt_gguf_writer_write(w, g->tensors[i].data, g->tensors[i].nbytes);
    if (!st) st = tt_gguf_writer_write(w, v, n * sizeof *v);
    if (!st) st = tt_gguf_writer_finish(w);
    tt_gguf_writer_free(w);
    tt_gguf_close(g);
    return st;
}

static uint8_t *tensor_bytes(const char *path, const char *name, size_t *off, size_t *n, size_t *len)
{
    tt_gguf *g;
    if (tt_gguf_open(path, &g)) return NULL;
    const tt_gguf_tensor *t = tt_gguf_find_tensor(g, name);
    *off = t ? (size_t)(t->data - g->base) : 0;
    *n = t ? t->nbytes : 0;
    tt_gguf_close(g);
    return t ? tt_test_read_file(path, len) : NULL;
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, len, f) == len);
    if (f) fclose(f);
}

static void check_scale_tensor_and_refusals(void)
{
    char base[256], scaled[256], doubled[256], bad[256];
    tt_test_tmp(base, sizeof base, "tq-base");
    tt_test_tmp(scaled, sizeof scaled, "tq-scaled");
    tt_test_tmp(doubled, sizeof doubled, "tq-doubled");
    tt_test_tmp(bad, sizeof bad, "tq-bad");
    tt_status st = synth(base, TT_GGML_TQ2_0, "bitnet", 2, 5);
    CHECKF(!st, "%s", tt_last_error());
    float two = 2.0f, pair[2] = {2.0f, 2.0f};
    st = copy_with_tensor(base, scaled, "blk.0.attn_q.scale", &two, 1);
    CHECKF(!st, "%s", tt_last_error());
    size_t off, n, len;
    uint8_t *b = tensor_bytes(base, "blk.0.attn_q.weight", &off, &n, &len);
    CHECK(b != NULL);
    if (!b || st) goto out;
    /* every block's d doubled: f16 exponent + 1 (exact) */
    for (size_t at = off + 64; at < off + n; at += TT_TQ2_0_BYTES) {
        uint16_t d = (uint16_t)(b[at] | b[at + 1] << 8);
        if (d & 0x7fff) d = (uint16_t)(d + 0x400);
        b[at] = (uint8_t)d, b[at + 1] = (uint8_t)(d >> 8);
    }
    write_file(doubled, b, len);
    float *d1 = malloc(sizeof(float) * 512 * POS), *d2 = malloc(sizeof(float) * 512 * POS), *d0 = malloc(sizeof(float) * 512 * POS);
    float p1[512], p2[512], p0[512];
    int tokens[POS], V;
    if (run_logits(doubled, tokens, true, d1, p1, &V) && run_logits(scaled, tokens, false, d2, p2, &V) &&
        run_logits(base, tokens, false, d0, p0, &V)) {
        CHECK(!memcmp(d1, d2, sizeof(float) * (size_t)V * POS) && !memcmp(p1, p2, sizeof(float) * (size_t)V));
        CHECK(memcmp(d0, d1, sizeof(float) * (size_t)V * POS)); /* and the scale did change something */
    }
    free(d0);
    free(d1);
    free(d2);

    /* a .scale tensor of two elements: refused */
    tt_model *m = NULL;
    tt_model_opts mo = {.threads = 1, .n_ctx = 16};
    CHECK(!copy_with_tensor(base, bad, "blk.1.ffn_down.scale", pair, 2));
    CHECK(tt_model_open(bad, &mo, &m) != TT_OK && !m && strstr(tt_last_error(), "blk.1.ffn_down.scale"));

    /* mixed nonzero scales in one tensor: the model and the reference refuse it, naming it */
    uint8_t *c = malloc(len);
    memcpy(c, b, len);
    c[off + 2 * TT_TQ2_0_BYTES - 1] ^= 0x04; /* block 1's d: a different exponent */
    write_file(bad, c, len);
    st = tt_model_open(bad, &mo, &m);
    CHECKF(st == TT_ERR_FORMAT && !m && strstr(tt_last_error(), "blk.0.attn_q.weight") &&
               strstr(tt_last_error(), "different scales"),
           "%s", tt_last_error());
    tt_model_ref *r = NULL;
    CHECK(tt_model_ref_open(bad, &r) != TT_OK && !r && strstr(tt_last_error(), "blk.0.attn_q.weight"));
    /* truncated file: refused at open */
    write_file(bad, b, off + n / 2);
    CHECK(tt_model_open(bad, &mo, &m) != TT_OK && !m && *tt_last_error());
    /* a separate LM head is refused clearly */
    CHECK(!copy_with_tensor(base, bad, "output.weight", pair, 2));
    CHECK(tt_model_open(bad, &mo, &m) == TT_ERR_UNSUPPORTED && strstr(tt_last_error(), "output.weight"));
    free(c);
out:
    free(b);
    unlink(base);
    unlink(scaled);
    unlink(doubled);
    unlink(bad);
}

int main(void)
{
    check_vectors();
    check_round_trips();
    check_scale_rule();
    check_gguf();
    check_identical("bitnet-b1.58", 2, false);
    check_identical("bitnet", 3, true);
    check_scale_tensor_and_refusals();
    return tt_test_end("test_tq");
}
