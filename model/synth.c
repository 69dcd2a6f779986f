/* synth.c — synthetic BitNet b1.58 models with the architecture of the public ones, as the one preset table gives it
 * (kernels/tt_preset.c; docs/FORMATS.md §7), and random, seeded weights, written as bitnet.cpp-loadable GGUF
 * (docs/FORMATS.md §8): the same keys, names, order and types as the official 2B4T file. They exist to benchmark
 * kernels and the model on real shapes without a download; their text output is noise.
 *
 * Every tensor's random stream is seeded by (seed, tensor index), so a tensor can be regenerated alone and the
 * file is byte-identical for the same seed. Data is streamed: one ternary matrix (or a slab of embedding rows)
 * is in memory at a time. */
#include "model.h"
#include "tokenizer.h"
#include "tt_half.h"
#include "tt_preset.h"
#include "tt_strmap.h"
#include "tt_tq.h"
#include "tt_q32.h"
#include "tt_q6k.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The config of a preset's row (kernels/tt_preset.c, the one table); what the architecture computes comes from its
 * row of the architecture table. */
tt_status tt_synth_preset(const char *name, tt_synth_opts *o)
{
    if (!name || !o) return tt_fail(TT_ERR_NULL, "tt_synth_preset: NULL argument");
    const tt_preset *p = tt_preset_find(name);
    if (!p) {
        char names[128];
        return tt_fail(TT_ERR_NOTFOUND, "unknown preset \"%s\" (%s)", name,
                       tt_preset_names(names, sizeof names, ", ", false));
    }
    const tt_model_arch *ar = tt_model_arch_find(p->arch, strlen(p->arch));
    if (!ar) return tt_fail(TT_ERR_NOTFOUND, "preset \"%s\": unknown architecture \"%s\"", name, p->arch);
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->head_type = TT_GGML_F16;
    o->ternary_type = TT_GGML_I2_S;
    o->name = p->desc;
    tt_model_config *c = &o->c;
    snprintf(c->arch, sizeof c->arch, "%s", p->arch);
    c->dim = p->dim;
    c->hidden_dim = p->ffn;
    c->n_layers = p->layers;
    c->n_heads = p->heads;
    c->n_kv_heads = p->kv_heads;
    c->head_dim = p->head_dim;
    c->rope_dim = p->head_dim;
    c->vocab_size = p->vocab;
    c->seq_len = p->ctx;
    c->rope_theta = p->rope_theta;
    c->norm_eps = 1e-5f;
    c->act = ar->act;
    c->rope = ar->rope;
    c->bos = p->bos;
    c->eos = p->eos;
    return TT_OK;
}

/* ---- synthetic vocabulary ---- */
void tt_synth_vocab_free(tt_synth_vocab *v)
{
    if (!v) return;
    for (int i = 0; i < v->n_tokens && v->tokens; i++) free(v->tokens[i]);
    for (int i = 0; i < v->n_merges && v->merges; i++) free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->merges);
    memset(v, 0, sizeof *v);
}

static char *str_cat(const char *a, const char *sep, const char *b)
{
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    char *s = malloc(na + ns + nb + 1);
    if (!s) return NULL;
    memcpy(s, a, na);
    memcpy(s + na, sep, ns);
    memcpy(s + na + ns, b, nb + 1);
    return s;
}

static bool is_control_id(int id, int vocab, int bos, int eos)
{
    /* Llama 3 reserves its last 256 ids for special tokens. */
    if (vocab == 128256 && bos == 128000 && id >= 128000) return true;
    return id == bos || id == eos;
}

tt_status tt_synth_vocab_build(int vocab, int bos, int eos, uint64_t seed, tt_synth_vocab *v)
{
    if (!v) return tt_fail(TT_ERR_NULL, "tt_synth_vocab_build: NULL");
    memset(v, 0, sizeof *v);
    int n_control = 0;
    for (int i = 0; i < vocab; i++) n_control += is_control_id(i, vocab, bos, eos);
    if (vocab < 256 + n_control || vocab > (1 << 24))
        return tt_fail(TT_ERR_VALUE, "synthetic vocabulary of %d tokens cannot hold 256 byte tokens and %d control tokens",
                       vocab, n_control);
    v->n_tokens = vocab;
    v->tokens = calloc((size_t)vocab, sizeof *v->tokens);
    v->types = calloc((size_t)vocab, sizeof *v->types);
    v->merges = calloc((size_t)vocab, sizeof *v->merges);
    tt_strmap seen = {0};
    if (!v->tokens || !v->types || !v->merges || tt_strmap_init(&seen, (size_t)vocab) < 0) goto nomem;
    /* Common bytes as right-hand sides make merged tokens look like words (letters, space, digits, punctuation). */
    static const char rhs[] = "etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLC 0123456789.,'-";
    uint64_t rng = seed ^ 0x70c3b1e5d2a1f00dull;
    int n_normal = 0;
    for (int id = 0; id < vocab; id++) {
        char buf[64];
        if (is_control_id(id, vocab, bos, eos)) {
            if (id == bos) snprintf(buf, sizeof buf, vocab == 128256 ? "<|begin_of_text|>" : "<s>");
            else if (id == eos) snprintf(buf, sizeof buf, vocab == 128256 ? "<|end_of_text|>" : "</s>");
            else snprintf(buf, sizeof buf, "<|reserved_special_token_%d|>", id - 128000 - 2);
            v->types[id] = 3;
        } else if (n_normal < 256) {
            buf[tt_bpe_byte_to_utf8((uint8_t)n_normal, buf)] = 0;
            v->types[id] = 1;
            n_normal++;
        } else {
            /* A new token: an existing normal token (short) + one common byte; retry until unseen. */
            char *tok = NULL;
            for (int tries = 0; !tok; tries++) {
                int a = (int)(tt_rand_next(&rng) % (uint64_t)id);
                if (v->types[a] != 1 || strlen(v->tokens[a]) > 12) continue;
                char r[4];
                int rn = tt_bpe_byte_to_utf8((uint8_t)rhs[tt_rand_next(&rng) % (sizeof rhs - 1)], r);
                r[rn] = 0;
                char cand[64];
                snprintf(cand, sizeof cand, "%s%s", v->tokens[a], r);
                if (tt_strmap_get(&seen, cand, strlen(cand)) >= 0) {
                    if (tries > 1000000) return tt_fail(TT_ERR_VALUE, "synthetic vocabulary: merge generation stuck");
                    continue;
                }
                tok = strdup(cand);
                if (!tok) goto nomem;
                v->merges[v->n_merges] = str_cat(v->tokens[a], " ", r);
                if (!v->merges[v->n_merges]) {
                    free(tok);
                    goto nomem;
                }
                v->n_merges++;
            }
            v->tokens[id] = tok;
            v->types[id] = 1;
            if (tt_strmap_put(&seen, tok, strlen(tok), id) < 0) goto nomem;
            continue;
        }
        if (!(v->tokens[id] = strdup(buf))) goto nomem;
        if (tt_strmap_put(&seen, v->tokens[id], strlen(v->tokens[id]), id) < 0) goto nomem;
    }
    tt_strmap_free(&seen);
    return TT_OK;
nomem:
    tt_strmap_free(&seen);
    tt_synth_vocab_free(v);
    return tt_fail(TT_ERR_NOMEM, "synthetic vocabulary: no memory");
}

/* ---- weights ---- */
static uint64_t tensor_seed(uint64_t seed, int index)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + (uint64_t)index * 0xD1B54A32D192ED03ull + 1;
    return tt_rand_next(&s);
}

static float uniform(uint64_t *rng) { return (float)(tt_rand_next(rng) >> 40) * (1.0f / 16777216.0f); } /* [0,1) */

static void fill_trits(int8_t *t, size_t n, uint64_t *rng)
{
    /* 40 trits per 64-bit draw (3^40 < 2^64); the bias of the last digit is below 1e-7. */
    size_t i = 0;
    while (i < n) {
        uint64_t x = tt_rand_next(rng);
        for (int j = 0; j < 40 && i < n; j++, i++) {
            t[i] = (int8_t)(x % 3) - 1;
            x /= 3;
        }
    }
}

typedef struct synth_ctx {
    tt_gguf_writer *w;
    uint64_t total, done, last_shown;
    bool progress, tty, f16_scales;
    uint32_t ternary_type;
} synth_ctx;

static tt_status emit(synth_ctx *s, const void *p, size_t n)
{
    tt_status st = tt_gguf_writer_write(s->w, p, n);
    s->done += n;
    /* A terminal gets a live line every 64 MB; a log (not a terminal) a line every 10 % of files over 64 MB. */
    uint64_t step = s->tty ? (64u << 20) : s->total / 10;
    if (s->progress && (s->tty || s->total > (64u << 20)) && s->done - s->last_shown >= step) {
        fprintf(stderr, "%ssynth: %7.1f / %.1f MB (%3.0f%%)%s", s->tty ? "\r" : "", s->done / 1e6, s->total / 1e6,
                100.0 * (double)s->done / (double)(s->total ? s->total : 1), s->tty ? "" : "\n");
        s->last_shown = s->done;
    }
    return st;
}

static tt_status emit_norm(synth_ctx *s, int n, uint64_t seed)
{
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return tt_fail(TT_ERR_NOMEM, "synth: no memory");
    for (int i = 0; i < n; i++) v[i] = 1.0f + 0.04f * (uniform(&seed) - 0.5f); /* 1.0 ± 0.02 */
    tt_status st = emit(s, v, (size_t)n * sizeof *v);
    free(v);
    return st;
}

static tt_status emit_ternary(synth_ctx *s, int m, int k, uint64_t seed)
{
    tt_tern w;
    tt_status st = tt_tern_alloc(&w, m, k);
    if (st) return st;
    bool tq = s->ternary_type == TT_GGML_TQ1_0 || s->ternary_type == TT_GGML_TQ2_0;
    size_t len = tq ? tt_tq_size(s->ternary_type, m, k) : tt_fmt_size(TT_FMT_I2S, m, k);
    uint8_t *buf = len ? malloc(len) : NULL;
    if (!buf) {
        tt_tern_free(&w);
        return len ? tt_fail(TT_ERR_NOMEM, "synth: no memory for %dx%d", m, k) : TT_ERR_SHAPE; /* message set */
    }
    fill_trits(w.t, (size_t)m * k, &seed);
    /* s_w near 1/sqrt(K) keeps each linear output at unit scale for unit-RMS inputs, as trained models roughly do. */
    w.scale = (0.9f + 0.2f * uniform(&seed)) / sqrtf((float)k);
    /* TQ stores s_w as f16 d; with f16_scales an I2_S file stores the same value (same seed: same trits and s_w,
     * bit-identical models). The trit and scale draws are the same for every type. */
    if (tq || s->f16_scales) w.scale = tt_half_to_float(tt_float_to_half(w.scale));
    st = tq ? tt_tq_pack(s->ternary_type, &w, buf, len) : tt_fmt_pack(TT_FMT_I2S, &w, buf, len);
    if (!st) st = emit(s, buf, len);
    free(buf);
    tt_tern_free(&w);
    return st;
}

/* Embedding rows U(-a, a) with a = 3·sqrt(3/dim): logits E·x of a unit-RMS x then spread with std ≈ 3, so the
 * greedy argmax is well separated (tests compare argmaxes across two implementations). */
static tt_status emit_embedding(synth_ctx *s, int vocab, int dim, uint32_t type, uint64_t seed)
{
    const int slab = 256;
    size_t row_bytes = type == TT_GGML_F16    ? (size_t)dim * 2
                       : type == TT_GGML_Q6_K ? (size_t)dim / TT_Q6K_BLOCK * TT_Q6K_BYTES
                       : type == TT_GGML_Q4_0 ? (size_t)dim / TT_Q40_BLOCK * TT_Q40_BYTES
                                              : (size_t)dim / TT_Q8_0_BLOCK * TT_Q8_0_BYTES;
    float *row = malloc((size_t)dim * sizeof *row);
    uint8_t *buf = malloc(row_bytes * slab);
    tt_status st = TT_OK;
    if (!row || !buf) st = tt_fail(TT_ERR_NOMEM, "synth: no memory for the embedding");
    float a = 3.0f * sqrtf(3.0f / (float)dim);
    for (int r0 = 0; r0 < vocab && !st; r0 += slab) {
        int nr = vocab - r0 < slab ? vocab - r0 : slab;
        for (int r = 0; r < nr; r++) {
            uint8_t *dst = buf + (size_t)r * row_bytes;
            for (int i = 0; i < dim; i++) row[i] = a * (2.0f * uniform(&seed) - 1.0f);
            if (type == TT_GGML_F16) {
                for (int i = 0; i < dim; i++) {
                    uint16_t h = tt_float_to_half(row[i]);
                    memcpy(dst + 2 * i, &h, 2);
                }
                continue;
            }
            if (type == TT_GGML_Q6_K) {
                tt_q6k_quantize(row, dim, dst);
                continue;
            }
            if (type == TT_GGML_Q4_0) {
                tt_q40_quantize(row, dim, dst);
                continue;
            }
            for (int b = 0; b < dim / TT_Q8_0_BLOCK; b++) { /* q8_0: f16 d = amax/127, q = round(x/d) */
                const float *x = row + b * TT_Q8_0_BLOCK;
                uint8_t *blk = dst + (size_t)b * TT_Q8_0_BYTES;
                float amax = 0;
                for (int i = 0; i < TT_Q8_0_BLOCK; i++) amax = fmaxf(amax, fabsf(x[i]));
                float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
                uint16_t h = tt_float_to_half(d);
                memcpy(blk, &h, 2);
                for (int i = 0; i < TT_Q8_0_BLOCK; i++) blk[2 + i] = (uint8_t)(int8_t)lrintf(x[i] * id);
            }
        }
        st = emit(s, buf, row_bytes * (size_t)nr);
    }
    free(row);
    free(buf);
    return st;
}

static tt_status put_keys(tt_gguf_writer *w, const tt_synth_opts *o, const tt_synth_vocab *v)
{
    const tt_model_config *c = &o->c;
    char key[128];
    tt_status st = TT_OK;
#define ARCH_KEY(suffix) (snprintf(key, sizeof key, "%s.%s", c->arch, suffix), key)
#define TRY(x)                                                                                                        \
    do {                                                                                                              \
        if ((st = (x))) return st;                                                                                    \
    } while (0)
    TRY(tt_gguf_writer_kv_str(w, "general.architecture", c->arch));
    TRY(tt_gguf_writer_kv_str(w, "general.name", o->name ? o->name : "tritune synthetic"));
    /* bitnet.cpp: 40 = mostly I2_S; llama.h: LLAMA_FTYPE_MOSTLY_TQ1_0 = 36, TQ2_0 = 37 */
    TRY(tt_gguf_writer_kv_u32(w, "general.file_type",
                              o->ternary_type == TT_GGML_TQ1_0 ? 36 : o->ternary_type == TT_GGML_TQ2_0 ? 37 : 40));
    TRY(tt_gguf_writer_kv_u32(w, "general.alignment", 32));
    TRY(tt_gguf_writer_kv_u32(w, "general.quantization_version", 2));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("vocab_size"), (uint32_t)c->vocab_size));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("context_length"), (uint32_t)c->seq_len));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("embedding_length"), (uint32_t)c->dim));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("block_count"), (uint32_t)c->n_layers));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("feed_forward_length"), (uint32_t)c->hidden_dim));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("rope.dimension_count"), (uint32_t)c->rope_dim));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("attention.head_count"), (uint32_t)c->n_heads));
    TRY(tt_gguf_writer_kv_u32(w, ARCH_KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads));
    TRY(tt_gguf_writer_kv_f32(w, ARCH_KEY("rope.freq_base"), c->rope_theta));
    TRY(tt_gguf_writer_kv_f32(w, ARCH_KEY("attention.layer_norm_rms_epsilon"), c->norm_eps));
    TRY(tt_gguf_writer_kv_str(w, "tokenizer.ggml.model", "gpt2"));
    TRY(tt_gguf_writer_kv_str(w, "tokenizer.ggml.pre", "llama-bpe"));
    TRY(tt_gguf_writer_kv_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens, NULL,
                                  (uint64_t)v->n_tokens));
    TRY(tt_gguf_writer_kv_arr(w, "tokenizer.ggml.token_type", TT_GGUF_I32, v->types, (uint64_t)v->n_tokens));
    TRY(tt_gguf_writer_kv_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merges, NULL,
                                  (uint64_t)v->n_merges));
    TRY(tt_gguf_writer_kv_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos));
    TRY(tt_gguf_writer_kv_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos));
    TRY(tt_gguf_writer_kv_bool(w, "tokenizer.ggml.add_bos_token", true));
#undef ARCH_KEY
#undef TRY
    return st;
}

/* Per-layer tensors in the official order; m = rows (output), k = row length (input); k == 0 marks a norm. */
typedef struct layer_tensor {
    const char *name;
    int m, k;
} layer_tensor;

static int layer_tensors(const tt_model_config *c, layer_tensor *t)
{
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, i = 0;
    t[i++] = (layer_tensor){"attn_norm", c->dim, 0};
    t[i++] = (layer_tensor){"attn_q", qd, c->dim};
    t[i++] = (layer_tensor){"attn_k", kvd, c->dim};
    t[i++] = (layer_tensor){"attn_v", kvd, c->dim};
    t[i++] = (layer_tensor){"attn_output", c->dim, qd};
    t[i++] = (layer_tensor){"attn_sub_norm", qd, 0};
    t[i++] = (layer_tensor){"ffn_norm", c->dim, 0};
    t[i++] = (layer_tensor){"ffn_gate", c->hidden_dim, c->dim};
    t[i++] = (layer_tensor){"ffn_up", c->hidden_dim, c->dim};
    t[i++] = (layer_tensor){"ffn_down", c->dim, c->hidden_dim};
    t[i++] = (layer_tensor){"ffn_sub_norm", c->hidden_dim, 0};
    return i;
}

tt_status tt_synth_write(const tt_synth_opts *o, const char *path)
{
    if (!o || !path) return tt_fail(TT_ERR_NULL, "tt_synth_write: NULL argument");
    const tt_model_config *c = &o->c;
    tt_status st = tt_model_config_check(c);
    if (st) return st;
    if (o->head_type != TT_GGML_F16 && o->head_type != TT_GGML_Q8_0 && o->head_type != TT_GGML_Q6_K &&
        o->head_type != TT_GGML_Q4_0)
        return tt_fail(TT_ERR_VALUE, "synth: LM head type %s unsupported (f16, q8_0, q6_K or q4_0)",
                       tt_ggml_type_name(o->head_type));
    if (o->head_type == TT_GGML_Q6_K && o->c.dim % TT_Q6K_BLOCK)
        return tt_fail(TT_ERR_VALUE, "synth: a q6_K head needs dim %% 256 == 0 (dim %d)", o->c.dim);
    uint32_t tern = o->ternary_type ? o->ternary_type : TT_GGML_I2_S;
    if (tern != TT_GGML_I2_S && tern != TT_GGML_TQ1_0 && tern != TT_GGML_TQ2_0)
        return tt_fail(TT_ERR_VALUE, "synth: ternary type %s unsupported (i2_s, tq1_0 or tq2_0)", tt_ggml_type_name(tern));
    if (tern != TT_GGML_I2_S && (c->dim % TT_QK_K || c->hidden_dim % TT_QK_K || (c->n_heads * c->head_dim) % TT_QK_K))
        return tt_fail(TT_ERR_SHAPE, "synth: %s needs every row length (dim %d, heads x head_dim %d, FFN %d) to be a "
                       "multiple of 256", tt_ggml_type_name(tern), c->dim, c->n_heads * c->head_dim, c->hidden_dim);
    tt_synth_vocab v;
    if ((st = tt_synth_vocab_build(c->vocab_size, c->bos, c->eos, o->seed, &v))) return st;
    tt_gguf_writer *w = NULL;
    synth_ctx s = {0};
    if ((st = tt_gguf_writer_new(&w))) goto out;
    if ((st = put_keys(w, o, &v))) goto out;
    uint64_t ne[2] = {(uint64_t)c->dim, (uint64_t)c->vocab_size};
    if ((st = tt_gguf_writer_add_tensor(w, "token_embd.weight", o->head_type, 2, ne))) goto out;
    layer_tensor lt[16];
    int nlt = layer_tensors(c, lt);
    char name[TT_GGUF_NAME_MAX];
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < nlt; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, lt[i].name);
            uint64_t d[2] = {(uint64_t)(lt[i].k ? lt[i].k : lt[i].m), (uint64_t)lt[i].m};
            if ((st = tt_gguf_writer_add_tensor(w, name, lt[i].k ? tern : TT_GGML_F32, lt[i].k ? 2 : 1, d)))
                goto out;
        }
    uint64_t nd = (uint64_t)c->dim;
    if ((st = tt_gguf_writer_add_tensor(w, "output_norm.weight", TT_GGML_F32, 1, &nd))) goto out;
    s.w = w;
    s.total = tt_gguf_writer_file_size(w);
    s.progress = o->progress;
    s.tty = isatty(2);
    s.ternary_type = tern;
    s.f16_scales = o->f16_scales;
    if ((st = tt_gguf_writer_begin(w, path))) goto out;
    int index = 0;
    if ((st = emit_embedding(&s, c->vocab_size, c->dim, o->head_type, tensor_seed(o->seed, index++)))) goto out;
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < nlt; i++) {
            uint64_t ts = tensor_seed(o->seed, index++);
            st = lt[i].k ? emit_ternary(&s, lt[i].m, lt[i].k, ts) : emit_norm(&s, lt[i].m, ts);
            if (st) goto out;
        }
    if ((st = emit_norm(&s, c->dim, tensor_seed(o->seed, index++)))) goto out;
    st = tt_gguf_writer_finish(w);
    if (!st && s.progress && (s.tty || s.last_shown))
        fprintf(stderr, "%ssynth: %7.1f MB written to %s\n", s.tty ? "\r" : "", s.total / 1e6, path);
out:
    if (st && s.progress && s.tty) fputc('\n', stderr);
    tt_gguf_writer_free(w);
    tt_synth_vocab_free(&v);
    return st;
}
