/* model.c — BitNet b1.58 inference in the style of llama2.c: config, weights, run state, forward pass.
 *
 * Forward pass for one token (docs/FORMATS.md §7):
 *     x = embed(token)
 *     per layer:  xb = rmsnorm(x)·attn_norm          quantize once → q, k, v share it
 *                 q, k, v = Wq·xb, Wk·xb, Wv·xb      (ternary GEMV: exact int32 dots, then dot / a_s · s_w)
 *                 rope(q, k); cache k, v
 *                 xb = attention(q, cache)           (GQA: n_heads / n_kv_heads query heads share a KV head)
 *                 x += Wo · (rmsnorm(xb)·attn_sub_norm)
 *                 xb = rmsnorm(x)·ffn_norm           quantize once → gate, up share it
 *                 hb = act(Wgate·xb) ⊙ Wup·xb        act = relu(·)² (bitnet-b1.58) or silu (bitnet)
 *                 x += Wdown · (rmsnorm(hb)·ffn_sub_norm)
 *     logits = E · (rmsnorm(x)·output_norm)          E = token_embd (tied LM head)
 *
 * RoPE: NEOX pairing, element i of a head with element i + rope_dim/2, by the angle pos·θ^(−2i/rope_dim). Both
 * bitnet.cpp's llama.cpp fork (406a5036) and mainline llama.cpp list LLM_ARCH_BITNET under LLAMA_ROPE_TYPE_NEOX
 * (llama_rope_type()), and their HF converters do not permute q/k, so the HF rotate_half order stays in the
 * weights. Adjacent pairs (2i, 2i+1) would be another function: other logits from position 1 on
 * (tests/model/test_golden.c holds the model to bitnet.cpp's own logits; docs/FORMATS.md §7).
 *
 * The only place a ternary GEMV is dispatched is linear_run() through the kernel chosen at load by the model's
 * seam, m->backend (tt_model_opts.backend, model.h). Threads split the rows of each GEMV (aligned to the kernel's
 * row block), the heads of the attention and the rows of the LM head. */
#include "model.h"
#include "tt_dense.h"
#include "tt_baked.h"
#include "tt_errctx.h"
#include "tt_half.h"
#include "tt_tq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- config ---- */
tt_status tt_model_config_check(const tt_model_config *c)
{
#define RANGE(v, lo, hi)                                                                                              \
    if ((v) < (lo) || (v) > (hi)) return tt_fail(TT_ERR_FORMAT, "model config: " #v " = %d (must be %d..%d)", (int)(v), lo, hi)
    RANGE(c->dim, 32, 65536);
    RANGE(c->hidden_dim, 32, 1 << 18);
    RANGE(c->n_layers, 1, 1024);
    RANGE(c->n_heads, 1, c->dim);
    RANGE(c->n_kv_heads, 1, c->n_heads);
    RANGE(c->vocab_size, 1, 1 << 24);
    RANGE(c->seq_len, 1, 1 << 24);
#undef RANGE
    if (c->dim % c->n_heads)
        return tt_fail(TT_ERR_FORMAT, "model config: dim %d is not a multiple of head_count %d", c->dim, c->n_heads);
    if (c->head_dim != c->dim / c->n_heads || c->head_dim % 2)
        return tt_fail(TT_ERR_FORMAT, "model config: head dim %d (dim / heads = %d, must be even)", c->head_dim,
                       c->dim / c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return tt_fail(TT_ERR_FORMAT, "model config: head_count %d is not a multiple of head_count_kv %d", c->n_heads,
                       c->n_kv_heads);
    if (c->rope_dim < 2 || c->rope_dim > c->head_dim || c->rope_dim % 2)
        return tt_fail(TT_ERR_FORMAT, "model config: rope.dimension_count %d (must be even, 2..head dim %d)", c->rope_dim,
                       c->head_dim);
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        return tt_fail(TT_ERR_FORMAT, "model config: rope.freq_base %g must be positive", c->rope_theta);
    if (!(c->norm_eps > 0) || !(c->norm_eps < 1))
        return tt_fail(TT_ERR_FORMAT, "model config: layer_norm_rms_epsilon %g must be in (0, 1)", c->norm_eps);
    if (c->bos >= c->vocab_size || c->eos >= c->vocab_size)
        return tt_fail(TT_ERR_FORMAT, "model config: bos %d / eos %d outside the vocabulary of %d", c->bos, c->eos,
                       c->vocab_size);
    /* Every ternary matrix is I2_S: its row length (dim, heads·head_dim, hidden_dim) must suit the format. */
    int ks[2] = {c->dim, c->hidden_dim};
    for (int i = 0; i < 2; i++)
        if (tt_fmt_check_shape(TT_FMT_I2S, c->dim, ks[i]))
            return tt_fail_prefix(TT_ERR_SHAPE, "model config");
    return TT_OK;
}

static tt_status arch_u32(const tt_gguf *g, const char *arch, const char *suffix, int *out, int dflt)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v;
    tt_status st = tt_gguf_get_u32(g, key, &v);
    if (st == TT_ERR_NOTFOUND && dflt >= 0) {
        *out = dflt;
        return TT_OK;
    }
    if (st) return st;
    if (v > (1u << 30)) return tt_fail(TT_ERR_FORMAT, "GGUF: \"%s\" = %u is implausibly large", key, v);
    *out = (int)v;
    return TT_OK;
}

static tt_status arch_f32(const tt_gguf *g, const char *arch, const char *suffix, float *out, float dflt)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    tt_status st = tt_gguf_get_f32(g, key, out);
    if (st == TT_ERR_NOTFOUND) {
        *out = dflt;
        return TT_OK;
    }
    return st;
}

/* One row per architecture: the single place that says what each computes. Sources: llama.cpp's llama-arch.cpp /
 * llama-model.cpp (llama_rope_type: BITNET is NEOX; build_bitnet: RMSNorm, attn_sub_norm, ffn_sub_norm, SiLU-gated
 * FFN) and bitnet.cpp's fork (406a5036: arch "bitnet" as above; "bitnet-b1.58", the 2B4T converter's name, with the
 * ReLU² gate of BitNetForCausalLM's hidden_act "relu2"). */
static const tt_model_arch model_archs[] = {
    {.name = "bitnet-b1.58", .rope = TT_ROPE_NEOX, .act = TT_ACT_RELU2, .norm = TT_NORM_RMS_SUBLN,
     .source = "bitnet.cpp (BitNet b1.58 2B4T): NEOX RoPE, relu(gate)^2 * up, RMSNorm + sub-norms"},
    {.name = "bitnet", .rope = TT_ROPE_NEOX, .act = TT_ACT_SILU, .norm = TT_NORM_RMS_SUBLN,
     .source = "llama.cpp / bitnet.cpp LLM_ARCH_BITNET: NEOX RoPE, silu(gate) * up, RMSNorm + sub-norms"},
};

const tt_model_arch *tt_model_arch_table(int *n)
{
    if (n) *n = (int)(sizeof model_archs / sizeof model_archs[0]);
    return model_archs;
}

const tt_model_arch *tt_model_arch_find(const char *name, size_t len)
{
    for (size_t i = 0; name && i < sizeof model_archs / sizeof model_archs[0]; i++)
        if (strlen(model_archs[i].name) == len && !memcmp(model_archs[i].name, name, len)) return &model_archs[i];
    return NULL;
}

tt_status tt_model_config_read(const tt_gguf *g, tt_model_config *c)
{
    if (!g || !c) return tt_fail(TT_ERR_NULL, "tt_model_config_read: NULL argument");
    memset(c, 0, sizeof *c);
    const char *arch;
    size_t alen;
    tt_status st = tt_gguf_get_str(g, "general.architecture", &arch, &alen);
    if (st) return st;
    const tt_model_arch *ar = tt_model_arch_find(arch, alen);
    if (!ar)
        return tt_fail(TT_ERR_UNSUPPORTED, "general.architecture \"%.*s\" is not a BitNet model (bitnet-b1.58 or bitnet)",
                       (int)(alen > 64 ? 64 : alen), arch);
    c->act = ar->act;
    c->rope = ar->rope;
    memcpy(c->arch, arch, alen);
    const tt_gguf_tensor *te = tt_gguf_find_tensor(g, "token_embd.weight");
    int vocab_dflt = te && te->n_dims == 2 && te->ne[1] <= (1u << 24) ? (int)te->ne[1] : -1;
    if ((st = arch_u32(g, c->arch, "embedding_length", &c->dim, -1)) ||
        (st = arch_u32(g, c->arch, "feed_forward_length", &c->hidden_dim, -1)) ||
        (st = arch_u32(g, c->arch, "block_count", &c->n_layers, -1)) ||
        (st = arch_u32(g, c->arch, "attention.head_count", &c->n_heads, -1)) ||
        (st = arch_u32(g, c->arch, "attention.head_count_kv", &c->n_kv_heads, c->n_heads)) ||
        (st = arch_u32(g, c->arch, "context_length", &c->seq_len, 2048)) ||
        (st = arch_u32(g, c->arch, "vocab_size", &c->vocab_size, vocab_dflt)) ||
        (st = arch_f32(g, c->arch, "rope.freq_base", &c->rope_theta, 10000.0f)) ||
        (st = arch_f32(g, c->arch, "attention.layer_norm_rms_epsilon", &c->norm_eps, 1e-5f)))
        return st;
    if (c->n_heads < 1 || c->n_heads > c->dim)
        return tt_fail(TT_ERR_FORMAT, "model config: head_count %d for dim %d", c->n_heads, c->dim);
    c->head_dim = c->dim / c->n_heads;
    if ((st = arch_u32(g, c->arch, "rope.dimension_count", &c->rope_dim, c->head_dim))) return st;
    uint32_t id;
    c->bos = tt_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &id) ? -1 : id > INT32_MAX ? -1 : (int)id;
    c->eos = tt_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &id) ? -1 : id > INT32_MAX ? -1 : (int)id;
    return tt_model_config_check(c);
}

/* ---- weights ---- */
static tt_status get_tensor(const tt_gguf *g, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1,
                            const tt_gguf_tensor **out)
{
    const tt_gguf_tensor *t = tt_gguf_find_tensor(g, name);
    if (!t) return tt_fail(TT_ERR_NOTFOUND, "tensor \"%s\" is missing", name);
    if (t->type != type)
        return tt_fail(TT_ERR_FORMAT, "tensor \"%s\" has type %s, expected %s", name, tt_ggml_type_name(t->type),
                       tt_ggml_type_name(type));
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
        return tt_fail(TT_ERR_FORMAT, "tensor \"%s\" has dims [%llu, %llu, %llu, %llu], expected [%llu, %llu]", name,
                       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                       (unsigned long long)t->ne[3], (unsigned long long)ne0, (unsigned long long)ne1);
    *out = t;
    return TT_OK;
}

static tt_status build_norm(const tt_gguf *g, const char *name, int n, const float **out)
{
    const tt_gguf_tensor *t = NULL;
    tt_status st = get_tensor(g, name, TT_GGML_F32, (uint64_t)n, 1, &t);
    if (st) return st;
    *out = (const float *)t->data; /* data is aligned to >= 32 bytes inside a page-aligned mapping */
    return TT_OK;
}

/* Drop the source pages of a repacked tensor from the resident set: they are never read again. */
static void release_pages(const tt_gguf *g, const uint8_t *p, size_t n)
{
    if (!g->mapped) return;
    uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE), a = ((uintptr_t)p + ps - 1) / ps * ps,
              b = ((uintptr_t)p + n) / ps * ps;
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* A ternary weight: I2_S (bitnet.cpp) or mainline's TQ1_0 / TQ2_0 (tt_tq.h), [k, m] in ggml order. */
static tt_status get_ternary(const tt_gguf *g, const char *name, uint64_t k, uint64_t m, const tt_gguf_tensor **out)
{
    const tt_gguf_tensor *t = tt_gguf_find_tensor(g, name);
    uint32_t type = t && (t->type == TT_GGML_TQ1_0 || t->type == TT_GGML_TQ2_0) ? t->type : TT_GGML_I2_S;
    if (t && type == TT_GGML_I2_S && t->type != TT_GGML_I2_S)
        return tt_fail(TT_ERR_FORMAT, "tensor \"%s\" has type %s, expected i2_s, tq1_0 or tq2_0", name,
                       tt_ggml_type_name(t->type));
    return get_tensor(g, name, type, k, m, out);
}

/* Unpack the canonical trits from the file (this validates every code: 0b11 is refused), then repack them in
 * the layout of the kernel the seam picked for this shape (and of the GEMM kernel, when it needs another). With
 * several names (all of row length k) the rows are stacked in that order into one fused matrix. */
static tt_status build_linear_multi(const tt_model *mod, const char *const *names, const int *ms, int nseg, int k,
                                    tt_linear *L)
{
    const tt_gguf *g = mod->gguf;
    int threads = mod->threads, batch = mod->batch;
    const tt_gguf_tensor *t[TT_LINEAR_MAX_SEG] = {NULL};
    int m = 0;
    tt_status st;
    for (int i = 0; i < nseg; i++) {
        if ((st = get_ternary(g, names[i], (uint64_t)k, (uint64_t)ms[i], &t[i]))) return st;
        if ((st = tt_fmt_check_shape(TT_FMT_I2S, ms[i], k))) return tt_fail_prefix(st, "tensor \"%s\"", names[i]);
        m += ms[i];
    }
    const char *name = names[0]; /* for messages about the whole matrix */
    char fused_name[3 * TT_GGUF_NAME_MAX + 8];
    if (nseg > 1) {
        snprintf(fused_name, sizeof fused_name, "%s+%s%s%s", names[0], names[1], nseg > 2 ? "+" : "",
                 nseg > 2 ? names[2] : "");
        name = fused_name;
    }
    tt_tern w, part = {0};
    if ((st = tt_tern_alloc(&w, m, k))) return st;
    w.m = m;
    w.k = k;
    L->nseg = nseg;
    for (int i = 0, row = 0; i < nseg; row += ms[i++]) {
        tt_tern *dst = &w;
        if (nseg > 1) { /* unpack into a part, then stack its rows */
            if ((st = tt_tern_alloc(&part, ms[i], k))) break;
            part.m = ms[i];
            part.k = k;
            dst = &part;
        }
        if ((st = tt_ternary_unpack(g, t[i], dst))) { /* the message names the tensor */
        } else if (!isfinite(dst->scale)) {
            st = tt_fail(TT_ERR_FORMAT, "tensor \"%s\": scale %g is not finite", names[i], dst->scale);
        } else {
            L->seg_m[i] = ms[i];
            L->seg_scale[i] = dst->scale;
            if (nseg > 1) memcpy(w.t + (size_t)row * k, part.t, (size_t)ms[i] * k * sizeof *w.t);
        }
        if (nseg > 1) tt_tern_free(&part);
        if (st) break;
    }
    if (st) {
        tt_tern_free(&w);
        return st;
    }
    L->scale = L->seg_scale[0];
    w.scale = L->scale; /* kernels compute int32 dots only: the scales are applied per segment */
    if ((st = tt_plan_create(&L->plan, TT_FMT_I2S, &w, threads, batch, mod->backend)))
        st = tt_fail_prefix(st, "tensor \"%s\"", name);
    tt_tern_free(&w);
    if (!st)
        for (int i = 0; i < nseg; i++) release_pages(g, t[i]->data, t[i]->nbytes);
    return st;
}

static tt_status build_linear(const tt_model *mod, const char *name, int m, int k, tt_linear *L)
{
    return build_linear_multi(mod, (const char *const[]){name}, (const int[]){m}, 1, k, L);
}

/* Fuse when asked, or (auto) when the baked profile timed the fused shape faster than its parts at this thread
 * count (cold medians from the tuning races). Without those medians auto does not fuse. */
static bool decide_fuse(tt_fuse mode, const int *ms, int n, int k, int threads, const char *what, char *note,
                        size_t note_n)
{
    size_t used = strlen(note);
    char *p = note + used;
    size_t left = note_n > used ? note_n - used : 0;
    if (mode != TT_FUSE_AUTO) {
        snprintf(p, left, "%s%s %s (forced)", used ? "; " : "", what, mode == TT_FUSE_ON ? "fused" : "separate");
        return mode == TT_FUSE_ON;
    }
    int mf = 0;
    double parts = 0;
    for (int i = 0; i < n; i++) {
        double t = tt_baked_median_ns(ms[i], k, threads);
        parts = t > 0 && parts >= 0 ? parts + t : -1;
        mf += ms[i];
    }
    double fused = tt_baked_median_ns(mf, k, threads);
    if (!(fused > 0) || !(parts > 0)) {
        snprintf(p, left, "%s%s separate (no tuned medians)", used ? "; " : "", what);
        return false;
    }
    bool fuse = fused < parts;
    snprintf(p, left, "%s%s %s (profile: %.1f µs fused vs %.1f µs separate)", used ? "; " : "", what,
             fuse ? "fused" : "separate", fused / 1e3, parts / 1e3);
    return fuse;
}

static void free_linear(tt_linear *L)
{
    tt_plan_free(&L->plan);
    memset(L, 0, sizeof *L);
}

static size_t head_row_bytes(const tt_model *m)
{
    const tt_gguf_tensor *te = m->w.token_embd;
    int dim = m->config.dim;
    if (m->lm_head == TT_LM_HEAD_Q8) return (size_t)dim + 4;
    return te->type == TT_GGML_F32 ? (size_t)dim * 4 : te->type == TT_GGML_F16 ? (size_t)dim * 2
                                                                             : (size_t)dim / 32 * TT_Q8_0_BYTES;
}

static void embed_row(const tt_gguf_tensor *te, int dim, int token, float *x); /* below */

static tt_status build_head_q8(tt_model *m)
{
    int V = m->config.vocab_size, D = m->config.dim;
    m->w.head_q8 = tt_alloc((size_t)V * D);
    m->w.head_q8_scale = tt_alloc((size_t)V * sizeof(float));
    float *row = malloc((size_t)D * sizeof *row);
    if (!m->w.head_q8 || !m->w.head_q8_scale || !row) {
        free(row);
        return tt_fail(TT_ERR_NOMEM, "LM head q8: no memory for %dx%d", V, D);
    }
    for (int r = 0; r < V; r++) { /* absmax per row: s = max|e|/127, q = round(e/s) */
        embed_row(m->w.token_embd, D, r, row);
        float amax = 0;
        for (int i = 0; i < D; i++) amax = fmaxf(amax, fabsf(row[i]));
        float s = amax / 127.0f, inv = s > 0 ? 1.0f / s : 0.0f;
        int8_t *q = m->w.head_q8 + (size_t)r * D;
        for (int i = 0; i < D; i++) q[i] = (int8_t)lrintf(row[i] * inv);
        m->w.head_q8_scale[r] = s;
    }
    free(row);
    return TT_OK;
}

static tt_status build_weights(tt_model *m)
{
    const tt_model_config *c = &m->config;
    const tt_gguf *g = m->gguf;
    tt_model_weights *w = &m->w;
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    tt_status st;
    m->fuse_note[0] = 0;
    m->fused_qkv = decide_fuse(m->fuse, (const int[]){qd, kvd, kvd}, 3, c->dim, m->threads, "q/k/v", m->fuse_note,
                               sizeof m->fuse_note);
    m->fused_gate_up = decide_fuse(m->fuse, (const int[]){c->hidden_dim, c->hidden_dim}, 2, c->dim, m->threads,
                                   "gate/up", m->fuse_note, sizeof m->fuse_note);
    const tt_gguf_tensor *te = tt_gguf_find_tensor(g, "token_embd.weight");
    if (!te) return tt_fail(TT_ERR_NOTFOUND, "tensor \"token_embd.weight\" is missing");
    if (tt_gguf_find_tensor(g, "output.weight")) /* llama.cpp's bitnet graph (src/models/bitnet.cpp) has no other head */
        return tt_fail(TT_ERR_UNSUPPORTED, "tensor \"output.weight\": a separate LM head is not supported; BitNet's head is "
                       "tied to token_embd.weight (as in llama.cpp's and bitnet.cpp's bitnet graphs)");
    uint32_t et = te->type;
    if (et != TT_GGML_F32 && et != TT_GGML_F16 && et != TT_GGML_Q8_0)
        return tt_fail(TT_ERR_FORMAT, "token_embd.weight has type %s (f32, f16 or q8_0 expected)", tt_ggml_type_name(et));
    if ((st = get_tensor(g, "token_embd.weight", et, (uint64_t)c->dim, (uint64_t)c->vocab_size, &w->token_embd)))
        return st;
    if ((st = build_norm(g, "output_norm.weight", c->dim, &w->output_norm))) return st;
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers) return tt_fail(TT_ERR_NOMEM, "no memory for %d layers", c->n_layers);
    for (int l = 0; l < c->n_layers; l++) {
        tt_layer_weights *L = &w->layers[l];
        char n[TT_GGUF_NAME_MAX];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d." s ".weight", l), n)
        char nq[TT_GGUF_NAME_MAX], nk[TT_GGUF_NAME_MAX], nv[TT_GGUF_NAME_MAX], ngate[TT_GGUF_NAME_MAX],
            nup[TT_GGUF_NAME_MAX];
        snprintf(nq, sizeof nq, "blk.%d.attn_q.weight", l);
        snprintf(nk, sizeof nk, "blk.%d.attn_k.weight", l);
        snprintf(nv, sizeof nv, "blk.%d.attn_v.weight", l);
        snprintf(ngate, sizeof ngate, "blk.%d.ffn_gate.weight", l);
        snprintf(nup, sizeof nup, "blk.%d.ffn_up.weight", l);
        if (m->fused_qkv)
            st = build_linear_multi(m, (const char *const[]){nq, nk, nv}, (const int[]){qd, kvd, kvd}, 3, c->dim,
                                    &L->wqkv);
        else if (!(st = build_linear(m, nq, qd, c->dim, &L->wq)) && !(st = build_linear(m, nk, kvd, c->dim, &L->wk)))
            st = build_linear(m, nv, kvd, c->dim, &L->wv);
        if (st) return st;
        if (m->fused_gate_up)
            st = build_linear_multi(m, (const char *const[]){ngate, nup}, (const int[]){c->hidden_dim, c->hidden_dim},
                                    2, c->dim, &L->w_gate_up);
        else if (!(st = build_linear(m, ngate, c->hidden_dim, c->dim, &L->w_gate)))
            st = build_linear(m, nup, c->hidden_dim, c->dim, &L->w_up);
        if (st) return st;
        if ((st = build_norm(g, NAME("attn_norm"), c->dim, &L->attn_norm)) ||
            (st = build_norm(g, NAME("attn_sub_norm"), qd, &L->attn_sub_norm)) ||
            (st = build_linear(m, NAME("attn_output"), c->dim, qd, &L->wo)) ||
            (st = build_norm(g, NAME("ffn_norm"), c->dim, &L->ffn_norm)) ||
            (st = build_norm(g, NAME("ffn_sub_norm"), c->hidden_dim, &L->ffn_sub_norm)) ||
            (st = build_linear(m, NAME("ffn_down"), c->dim, c->hidden_dim, &L->w_down)))
            return st;
#undef NAME
        tt_linear *all[9] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down, &L->wqkv, &L->w_gate_up};
        for (int i = 0; i < 9; i++) {
            if (!all[i]->plan.m) continue; /* the parts of a fused pair, or the fused one when not fused */
            m->bytes_ternary += all[i]->plan.packed_bytes;
            m->bytes_gemm_copy += all[i]->plan.packed_g_bytes;
            if (!all[i]->plan.vg) m->batch = 1; /* a shape without a GEMM kernel: prefill token by token */
        }
    }
    const tt_linear *big = m->fused_gate_up ? &w->layers[0].w_gate_up : &w->layers[0].w_gate;
    m->kernel_name = big->plan.v->name;
    m->gemm_kernel_name = big->plan.vg ? big->plan.vg->name : NULL;
    if (!m->gemm_kernel_name) m->batch = 1; /* no GEMM kernel: prefill runs token by token */
    if (m->lm_head == TT_LM_HEAD_Q8) {
        if ((st = build_head_q8(m))) return st;
        release_pages(g, te->data, te->nbytes); /* from now on only single embedding rows are read */
    } else if ((w->embd_data = tt_alloc(te->nbytes))) {
        /* The file's head streams once per token (657 MB for 2B4T). A file mapping has 4 KiB pages; an anonymous
         * copy gets transparent huge pages (tt_alloc), which streamed ~8 % faster here. The file's pages are
         * released, so the resident size does not grow. Without memory for the copy the mapping is read. */
        memcpy(w->embd_data, te->data, te->nbytes);
        release_pages(g, te->data, te->nbytes);
        w->embd_copy = *te;
        w->embd_copy.data = w->embd_data;
        w->token_embd = &w->embd_copy;
        te = w->token_embd;
    }
    m->bytes_head = head_row_bytes(m) * (size_t)c->vocab_size;
    m->bytes_other = (size_t)c->n_layers * 4 * (2 * c->dim + qd + c->hidden_dim) + 4 * (size_t)c->dim +
                     te->nbytes / (size_t)c->vocab_size;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        uint64_t n = 1;
        for (int d = 0; d < TT_GGUF_MAX_DIMS; d++) n *= g->tensors[i].ne[d];
        m->n_params += n;
    }
    return TT_OK;
}

static void free_weights(tt_model *m)
{
    if (m->w.layers)
        for (int l = 0; l < m->config.n_layers; l++) {
            tt_layer_weights *L = &m->w.layers[l];
            tt_linear *all[9] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down, &L->wqkv,
                                 &L->w_gate_up};
            for (int i = 0; i < 9; i++) free_linear(all[i]);
        }
    free(m->w.layers);
    tt_free(m->w.head_q8);
    tt_free(m->w.head_q8_scale);
    tt_free(m->w.embd_data);
    memset(&m->w, 0, sizeof m->w);
}

/* ---- run state ---- */
static tt_status build_state(tt_model *m)
{
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    int wide = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    int dots = qd + 2 * kvd > 2 * c->hidden_dim ? qd + 2 * kvd : 2 * c->hidden_dim;
    size_t cache = (size_t)c->n_layers * (size_t)m->n_ctx * (size_t)kvd;
    s->x = calloc((size_t)c->dim, sizeof(float));
    s->xb = calloc((size_t)wide, sizeof(float));
    s->xb2 = calloc((size_t)c->dim, sizeof(float));
    s->q = calloc((size_t)qd, sizeof(float));
    s->hb = calloc((size_t)c->hidden_dim, sizeof(float));
    s->hb2 = calloc((size_t)c->hidden_dim, sizeof(float));
    s->att = calloc((size_t)c->n_heads * (size_t)m->n_ctx, sizeof(float));
    s->logits = calloc((size_t)c->vocab_size, sizeof(float));
    s->head_q = malloc((size_t)c->dim);
    s->head_d = malloc((size_t)(c->dim / 32 + 1) * sizeof(float));
    s->rope_cs = calloc((size_t)c->rope_dim, sizeof(float));
    s->xq = tt_alloc((size_t)wide);
    s->dot = tt_alloc((size_t)dots * sizeof(int32_t));
    s->key_cache = calloc(cache, sizeof(float));
    s->value_cache = calloc(cache, sizeof(float));
    if (!s->x || !s->xb || !s->xb2 || !s->q || !s->hb || !s->hb2 || !s->att || !s->logits ||
        !s->rope_cs || !s->head_q || !s->head_d ||
        !s->xq || !s->dot || !s->key_cache || !s->value_cache)
        return tt_fail(TT_ERR_NOMEM, "no memory for the run state (KV cache %zu MB for n_ctx %d)",
                       2 * cache * sizeof(float) >> 20, m->n_ctx);
    return TT_OK;
}

static void free_state(tt_run_state *s)
{
    free(s->x);
    free(s->xb);
    free(s->xb2);
    free(s->q);
    free(s->hb);
    free(s->hb2);
    free(s->att);
    free(s->head_q);
    free(s->head_d);
    free(s->rope_cs);
    free(s->logits);
    tt_free(s->xq);
    tt_free(s->dot);
    free(s->key_cache);
    free(s->value_cache);
    free(s->bx);
    free(s->bxb);
    free(s->bxb2);
    free(s->bq);
    free(s->bk);
    free(s->bv);
    free(s->bhb);
    free(s->bhb2);
    tt_free(s->bxq);
    tt_free(s->bws);
    free(s->ba_s);
    free(s->bsum_q);
    tt_free(s->bdot);
    free(s->brope_cs);
    memset(s, 0, sizeof *s);
}

static tt_status pick_head(tt_model *m); /* below, with the LM head */

/* TRITUNE_HEAD_KERNEL, checked before the weights are loaded (a typo should not cost a load). */
static tt_status forced_head(tt_dense_kind kind, const tt_dense_variant **out)
{
    const char *forced = getenv("TRITUNE_HEAD_KERNEL");
    *out = NULL;
    if (!forced || !*forced) return TT_OK;
    const tt_dense_variant *v = tt_dense_variant_find(forced);
    if (!v || v->kind != kind || !tt_dense_variant_usable(v))
        return tt_fail(TT_ERR_VALUE, "TRITUNE_HEAD_KERNEL=%s: %s", forced,
                       !v ? "no such head kernel" : v->kind != kind ? "not a kernel for this LM-head format"
                                                                     : "needs an ISA this CPU lacks");
    *out = v;
    return TT_OK;
}

tt_status tt_model_open(const char *path, const tt_model_opts *opts, tt_model **out)
{
    if (!path || !out) return tt_fail(TT_ERR_NULL, "tt_model_open: NULL argument");
    *out = NULL;
    tt_model_opts o = opts ? *opts : (tt_model_opts){.threads = 1};
    if (o.threads < 1 || o.threads > 1024) return tt_fail(TT_ERR_VALUE, "threads = %d (must be 1..1024)", o.threads);
    tt_model *m = calloc(1, sizeof *m);
    if (!m) return tt_fail(TT_ERR_NOMEM, "tt_model_open: no memory");
    m->threads = o.threads;
    m->lm_head = o.lm_head;
    m->fuse = o.fuse;
    m->backend = o.backend ? o.backend : &tt_plan_backend_registry;
    if (o.batch < 0 || o.batch > TT_MODEL_BATCH_MAX)
        return free(m), tt_fail(TT_ERR_VALUE, "batch = %d (must be 0..%d)", o.batch, TT_MODEL_BATCH_MAX);
    m->batch = o.batch ? o.batch : TT_MODEL_BATCH_DEFAULT;
    const tt_dense_variant *head_check;
    tt_status st = forced_head(m->lm_head == TT_LM_HEAD_Q8 ? TT_DENSE_I8 : TT_DENSE_F16, &head_check);
    if (!st) st = tt_gguf_open(path, &m->gguf);
    if (!st) st = tt_model_config_read(m->gguf, &m->config);
    if (!st) {
        int cap = m->config.seq_len < 4096 ? m->config.seq_len : 4096;
        m->n_ctx = o.n_ctx > 0 ? o.n_ctx : cap;
        if (m->n_ctx > m->config.seq_len)
            st = tt_fail(TT_ERR_VALUE, "n_ctx %d exceeds the model's context length %d", m->n_ctx, m->config.seq_len);
    }
    if (!st) st = build_weights(m);
    if (!st) st = build_state(m);
    if (!st && !(m->pool = tt_pool_new(m->threads, o.bind, o.bind_ctx)))
        st = tt_fail(TT_ERR_NOMEM, "cannot start a pool of %d threads", m->threads);
    if (!st && tt_pool_threads(m->pool) != m->threads)
        st = tt_fail(TT_ERR_UNSUPPORTED, "started only %d of %d threads", tt_pool_threads(m->pool), m->threads);
    if (!st) st = pick_head(m);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", tt_last_error());
        tt_model_close(m);
        return strstr(msg, path) ? tt_fail(st, "%s", msg) : tt_fail(st, "%s: %s", path, msg);
    }
    *out = m;
    return TT_OK;
}

void tt_model_close(tt_model *m)
{
    if (!m) return;
    tt_pool_free(m->pool);
    free_state(&m->s);
    free_weights(m);
    tt_gguf_close(m->gguf);
    free(m);
}

/* ---- decode profile (tt_model.prof) ---- */
static const char *const prof_names[TT_PROF_COUNT] = {"embed", "elementwise", "quantize", "gemv qkv", "attention",
                                                      "gemv o", "gemv gate+up", "gemv down", "lm head"};
const char *tt_prof_phase_name(tt_prof_phase p) { return (unsigned)p < TT_PROF_COUNT ? prof_names[p] : "?"; }

static long prof_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* time since the last mark goes to phase p */
static inline void prof_mark(tt_model *m, tt_prof_phase p)
{
    if (!m->prof) return;
    long t = prof_now();
    m->prof_ns[p] += (double)(t - m->prof_t);
    m->prof_t = t;
}

/* ---- building blocks ---- */
static void embed_row(const tt_gguf_tensor *te, int dim, int token, float *x)
{
    if (te->type == TT_GGML_F32) {
        memcpy(x, te->data + (size_t)token * dim * 4, (size_t)dim * 4);
    } else if (te->type == TT_GGML_F16) {
        const uint16_t *p = (const uint16_t *)(te->data + (size_t)token * dim * 2); /* data is 32-byte aligned */
        for (int i = 0; i < dim; i++) x[i] = tt_half_to_float_vec(p[i]);
    } else { /* q8_0 */
        const uint8_t *p = te->data + (size_t)token * (dim / 32) * TT_Q8_0_BYTES;
        for (int b = 0; b < dim / 32; b++, p += TT_Q8_0_BYTES) {
            float d = tt_half_to_float_vec((uint16_t)(p[0] | p[1] << 8));
            for (int i = 0; i < 32; i++) x[b * 32 + i] = d * (float)(int8_t)p[2 + i];
        }
    }
}

static void rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
    float ss = tt_dense_dot_f32(x, x, n);
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    tt_dense_scale_mul(o, x, inv, w, n); /* o[i] = x[i] * inv * w[i] */
}

/* Softmax as ggml computes it (the sum of the exponentials in double, then one multiply by the f32 reciprocal), and
 * the weights rounded to f16 as llama.cpp's V·softmax product converts them (its V cache is f16, and ggml converts
 * the other operand of an f16 matrix product to f16). */
static void softmax(float *x, int n)
{
    float mx = x[0];
    double sum = 0.0;
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++) sum += (x[i] = expf(x[i] - mx));
    float r = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= r;
    tt_dense_round_f16(x, n);
}

/* The f16 rounding points of llama.cpp's attention (its default KV cache type is f16; K·q converts q to f16): the
 * new cache rows k and v and the query q hold f16 values from here on, stored as f32. At position 0, where
 * attention returns v itself, this makes the model's logits those of bitnet.cpp to the last bit or two
 * (tests/model/test_golden.c). */
static void kv_f16(float *q, int qd, float *k, float *v, int kvd)
{
    tt_dense_round_f16(q, qd);
    tt_dense_round_f16(k, kvd);
    tt_dense_round_f16(v, kvd);
}

/* The LM head's input as llama.cpp's product with token_embd sees it: converted to f16 for an f16 head, to q8_0
 * blocks for a q8_0 head (tt_run_state.head_q/head_d); as it is for f32 and for the requantized q8 head. */
static void quant_q8_0(const float *x, int n, int8_t *q, float *d); /* below, with the head */
static void head_input(tt_model *m, float *x)
{
    if (m->lm_head != TT_LM_HEAD_FILE) return;
    if (m->w.token_embd->type == TT_GGML_F16) tt_dense_round_f16(x, m->config.dim);
    else if (m->w.token_embd->type == TT_GGML_Q8_0) quant_q8_0(x, m->config.dim, m->s.head_q, m->s.head_d);
}

/* hb = act(hb) ⊙ hb2. ReLU² as a select, not a branch: the sign of a gate is a coin toss, and the branchy form
 * cost ~1 ms per 2B4T token in mispredictions (6912 per layer). Same values: g > 0 gives g·g, anything else
 * (negative, zero, NaN) gives 0·0 = +0. */
static void gated_act(float *hb, const float *hb2, int n, tt_act act)
{
    if (act == TT_ACT_RELU2) {
        tt_dense_relu2_mul(hb, hb2, n); /* a pure select (maxps), then (g·g)·u */
    } else {
        for (int i = 0; i < n; i++) {
            float g = hb[i];
            hb[i] = g / (1.0f + expf(-g)) * hb2[i];
        }
    }
}

void tt_rope_cache(float *cs, int rope_dim, int pos, float theta)
{
    int half = rope_dim / 2;
    float theta_scale = powf(theta, -2.0f / (float)rope_dim), angle = (float)pos;
    for (int i = 0; i < half; i++) {
        cs[i] = cosf(angle);
        cs[half + i] = sinf(angle);
        angle *= theta_scale;
    }
}

/* RoPE (NEOX, see the top of this file) on every head of a q or k vector whose elements lie in [lo, hi): a head's
 * pairs span its first rope_dim elements, so only whole heads are turned; the table is tt_rope_cache's. */
static void rope_heads(float *v, int lo, int hi, int head_dim, int rope_dim, const float *cs)
{
    for (int h = (lo + head_dim - 1) / head_dim; (h + 1) * head_dim <= hi; h++)
        tt_dense_rope(v + (size_t)h * head_dim, cs, rope_dim / 2);
}

/* ---- the GEMV seam: up to three linears sharing one quantized input, rows split over the pool ---- */
typedef struct gemv_task {
    const tt_linear *L;
    int32_t *dot;
    float *y[TT_LINEAR_MAX_SEG]; /* one output per segment of L */
} gemv_task;

/* Rows [r0, r1) of L's int32 dots to floats, each segment with its scale into its own output (y[s] + t·ldy[s]
 * for token t of a batch; ldy NULL for one token). */
static void dots_to_out(const tt_linear *L, const int32_t *dot, int r0, int r1, float a_s, float *const *y,
                        const int *ldy, int t)
{
    for (int sg = 0, base = 0; sg < L->nseg; base += L->seg_m[sg++]) {
        int lo = r0 > base ? r0 : base, hi = r1 < base + L->seg_m[sg] ? r1 : base + L->seg_m[sg];
        if (lo < hi)
            tt_dot_to_float(dot + lo, hi - lo, a_s, L->seg_scale[sg],
                            y[sg] + (ldy ? (size_t)t * ldy[sg] : 0) + (lo - base));
    }
}

/* Float work a thread does on the output rows it has just computed, inside the GEMV's pool call: no other thread
 * reads or writes those rows there, and each element gets the operations the serial code gave it, so the split
 * changes no bit; the calling thread has that much less to do alone while the others wait for the next call. */
typedef enum gemv_post {
    POST_NONE,
    POST_ROPE,     /* q, k, v: RoPE on the q and k rows just computed, then all of them rounded to f16 (kv_f16) */
    POST_RESIDUAL, /* one linear: resid[r] += y[r] */
    POST_ACT,      /* gate and up as two linears split alike: y0[r] = act(y0[r]) ⊙ y1[r] */
} gemv_post;

typedef struct gemv_job {
    gemv_task t[3];
    int n;
    const int8_t *q;
    float a_s;
    int32_t sum_q;
    gemv_post post;
    float *resid;           /* POST_RESIDUAL */
    const tt_model *m;      /* POST_ROPE (config, rope table) and the attention prefetch */
    int layer, pos;         /* with attn_pf: the attention that follows (its cache rows are prefetched) */
    bool attn_pf;
    const float *pf;        /* prefetched by thread 0 before its rows: what it reads right after the call */
    int pf_n;
} gemv_job;

static void prefetch_bytes(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 0, 3);
}

/* The cache rows (positions before pos) this thread's heads read in the attention that follows the q/k/v GEMV,
 * requested before its GEMV rows: the weights that stream through every token evict the whole cache, and the
 * attention would otherwise wait on one miss after another. At most ATTN_PF_BYTES per thread (a long context's
 * rows would only evict each other; the hardware prefetchers follow the rest). */
#define ATTN_PF_BYTES ((size_t)512 << 10)
static void attn_prefetch(const tt_model *m, int layer, int pos, int tid, int nth)
{
    const tt_model_config *c = &m->config;
    int hd = c->head_dim, kvd = c->n_kv_heads * hd, group = c->n_heads / c->n_kv_heads, h0, h1;
    tt_split_even(c->n_heads, 1, tid, nth, &h0, &h1);
    if (h0 >= h1) return;
    int kh0 = h0 / group, kh1 = (h1 - 1) / group + 1;
    size_t row = (size_t)(kh1 - kh0) * hd * sizeof(float), base = ((size_t)layer * m->n_ctx) * kvd + (size_t)kh0 * hd;
    int n = pos;
    if ((size_t)n * 2 * row > ATTN_PF_BYTES) n = (int)(ATTN_PF_BYTES / (2 * row));
    for (int t = 0; t < n; t++) {
        prefetch_bytes(m->s.key_cache + base + (size_t)t * kvd, row);
        prefetch_bytes(m->s.value_cache + base + (size_t)t * kvd, row);
    }
}

static void gemv_worker(void *ctx, int tid, int nth)
{
    const gemv_job *j = ctx;
    if (tid == 0 && j->pf) prefetch_bytes(j->pf, (size_t)j->pf_n * sizeof(float));
    if (j->attn_pf) attn_prefetch(j->m, j->layer, j->pos, tid, nth);
    int a0 = 0, a1 = 0;
    for (int i = 0, o = 0; i < j->n; o += j->t[i++].L->nseg) {
        const tt_linear *L = j->t[i].L;
        int r0, r1;
        tt_plan_split(&L->plan, tid, nth, &r0, &r1);
        if (i == 0) a0 = r0, a1 = r1;
        if (r0 >= r1) continue;
        tt_plan_gemv(&L->plan, j->q, j->sum_q, j->t[i].dot, r0, r1);
        dots_to_out(L, j->t[i].dot, r0, r1, j->a_s, j->t[i].y, NULL, 0);
        if (j->post == POST_ROPE) {
            const tt_model_config *c = &j->m->config;
            for (int sg = 0, base = 0; sg < L->nseg && o + sg < 3; base += L->seg_m[sg++]) {
                int lo = r0 > base ? r0 : base, hi = r1 < base + L->seg_m[sg] ? r1 : base + L->seg_m[sg];
                if (lo >= hi) continue;
                if (o + sg < 2) rope_heads(j->t[i].y[sg], lo - base, hi - base, c->head_dim, c->rope_dim, j->m->s.rope_cs);
                tt_dense_round_f16(j->t[i].y[sg] + (lo - base), hi - lo);
            }
        } else if (j->post == POST_RESIDUAL) {
            tt_dense_add(j->resid + r0, j->t[i].y[0] + r0, r1 - r0);
        }
    }
    if (j->post == POST_ACT && a0 < a1) gated_act(j->t[0].y[0] + a0, j->t[1].y[0] + a0, a1 - a0, j->m->config.act);
}

/* Whether gemv_worker's split of L's rows over nth threads puts every split point on a head boundary. */
static bool split_on_heads(const tt_linear *L, int nth, int head_dim)
{
    for (int t = 0; t < nth; t++) {
        int r0, r1;
        tt_plan_split(&L->plan, t, nth, &r0, &r1);
        if (r0 % head_dim || (r1 % head_dim && r1 != L->plan.m)) return false;
    }
    return true;
}

/* Whether two linears split their rows over nth threads at the same points (the gated activation then runs in
 * the GEMV workers, on each thread's rows of both). */
static bool same_split(const tt_linear *a, const tt_linear *b, int nth)
{
    if (a->plan.m != b->plan.m) return false;
    for (int t = 0; t < nth; t++) {
        int a0, a1, b0, b1;
        tt_plan_split(&a->plan, t, nth, &a0, &a1);
        tt_plan_split(&b->plan, t, nth, &b0, &b1);
        if (a0 != b0 || a1 != b1) return false;
    }
    return true;
}

/* y = W_i · x for the n linears (same K), x quantized once per token (docs/FORMATS.md §1); y holds one output per
 * segment, linear after linear (a fused linear has several). j carries the post-GEMV work and the prefetches. */
static void linear_run(tt_model *m, const float *x, int k, int n, const tt_linear *const *L, float *const *y,
                       tt_prof_phase phase, gemv_job j)
{
    prof_mark(m, TT_PROF_ELEMWISE);
    j.n = n, j.q = m->s.xq, j.m = m;
    tt_quant_act(x, k, m->s.xq, &j.a_s, &j.sum_q);
    int32_t *dot = m->s.dot;
    for (int i = 0, o = 0; i < n; o += L[i++]->nseg) {
        j.t[i] = (gemv_task){.L = L[i], .dot = dot};
        for (int sg = 0; sg < L[i]->nseg; sg++) j.t[i].y[sg] = y[o + sg];
        dot += L[i]->plan.m;
        tt_plan_prep(&L[i]->plan, j.q);
    }
    prof_mark(m, TT_PROF_QUANT);
    tt_pool_run(m->pool, gemv_worker, &j);
    prof_mark(m, phase);
}

/* One head attends over the cache: scores q·k_t in the fixed order of tt_dense_dot_f32 (16 lanes, then a tree;
 * the float reference sums the same way, and the tests hold the model to it within 1e-4: a reordered sum moves a
 * logit by ~1 ulp, which int8 requantization can amplify), softmax, then Σ att[t]·v_t in increasing t
 * (kernels/tt_dense.h). The decode and the batched attention make the same calls, so they agree bit for bit. */
typedef struct attn_job {
    tt_model *m;
    int layer, pos;
} attn_job;

static void attn_worker(void *ctx, int tid, int nth)
{
    const attn_job *j = ctx;
    const tt_model_config *c = &j->m->config;
    tt_run_state *s = &j->m->s;
    int hd = c->head_dim, kvd = c->n_kv_heads * hd, group = c->n_heads / c->n_kv_heads, h0, h1;
    size_t loff = (size_t)j->layer * j->m->n_ctx * kvd;
    float scale = 1.0f / sqrtf((float)hd);
    tt_split_even(c->n_heads, 1, tid, nth, &h0, &h1);
    for (int h = h0; h < h1; h++) {
        const float *q = s->q + h * hd;
        float *att = s->att + (size_t)h * j->m->n_ctx, *out = s->xb + h * hd;
        int kvh = h / group;
        tt_dense_scores(q, s->key_cache + loff + kvh * hd, (size_t)kvd, j->pos + 1, hd, scale, att);
        softmax(att, j->pos + 1);
        tt_dense_weighted_sum(att, s->value_cache + loff + kvh * hd, (size_t)kvd, j->pos + 1, hd, out);
    }
}

/* LM-head row dots. The row streams from memory once per token (657 MB for 2B4T in f16), so these loops must
 * vectorize: LANES independent partial sums (a float reduction does not vectorize without reassociation). */
#define LANES 16

static float sum_lanes(const float *l)
{
    float s = 0.0f;
    for (int j = 0; j < LANES; j++) s += l[j];
    return s;
}

static float dot_f32(const float *w, const float *x, int n)
{
    float l[LANES] = {0};
    for (int i = 0; i < n; i += LANES)
        for (int j = 0; j < LANES; j++) l[j] += w[i + j] * x[i + j];
    return sum_lanes(l);
}

/* A q8_0 row times the head input in q8_0 blocks (head_input): per block the exact integer dot, scaled by the
 * product of the two f16 block scales, as ggml's q8_0 x q8_0 dot. */
static float dot_q8_0(const uint8_t *p, const int8_t *xq, const float *xd, int n)
{
    float acc = 0.0f;
    for (int b = 0; b < n / 32; b++, p += TT_Q8_0_BYTES) {
        float d = tt_half_to_float_vec((uint16_t)(p[0] | p[1] << 8));
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += (int8_t)p[2 + j] * xq[32 * b + j];
        acc += (d * xd[b]) * (float)isum;
    }
    return acc;
}

/* The head input in q8_0 blocks of 32, as ggml quantizes the other operand of a q8_0 product: d = max|x| / 127
 * stored as f16, q = x · (127 / max|x|) rounded to nearest even. */
static void quant_q8_0(const float *x, int n, int8_t *q, float *d)
{
    for (int b = 0; b < n / 32; b++) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        d[b] = tt_half_to_float(tt_float_to_half(amax / 127.0f));
        for (int j = 0; j < 32; j++) q[32 * b + j] = (int8_t)nearbyintf(x[32 * b + j] * id);
    }
}

typedef struct head_job {
    const tt_model *m;
    const float *x;
    const tt_dense_variant *v; /* the head kernel (f16 and q8 heads), NULL for f32 / q8_0 file heads */
} head_job;

static void head_worker(void *ctx, int tid, int nth)
{
    const head_job *j = ctx;
    const tt_model *m = j->m;
    const tt_gguf_tensor *te = m->w.token_embd;
    int D = m->config.dim, r0, r1;
    float *logits = m->s.logits;
    tt_split_even(m->config.vocab_size, 64, tid, nth, &r0, &r1);
    /* f16 and 8-bit heads: a member of the head family (kernels/tt_dense.h), raced at load; all give the bits of
     * the portable order, as the loops below do for the other file types */
    if (j->v && j->v->kind == TT_DENSE_I8) {
        j->v->i8(m->w.head_q8, m->w.head_q8_scale, j->x, D, logits, r0, r1);
        return;
    }
    if (j->v) {
        j->v->f16((const uint16_t *)te->data, j->x, D, logits, r0, r1);
        return;
    }
    for (int r = r0; r < r1; r++) {
        if (te->type == TT_GGML_F32)
            logits[r] = dot_f32((const float *)(te->data + (size_t)r * D * 4), j->x, D);
        else
            logits[r] = dot_q8_0(te->data + (size_t)r * (D / 32) * TT_Q8_0_BYTES, m->s.head_q, m->s.head_d, D);
    }
}

/* The LM head's kernel: TRITUNE_HEAD_KERNEL=name forces one; otherwise tt_pick_head: the tuner's head winner for
 * this head (kind, vocab x dim, threads) from the wisdom or the baked table, else the static default. Nothing is
 * timed at load. */
static tt_status pick_head(tt_model *m)
{
    const tt_gguf_tensor *te = m->w.token_embd;
    tt_dense_kind kind = m->lm_head == TT_LM_HEAD_Q8 ? TT_DENSE_I8 : TT_DENSE_F16;
    m->head_v = NULL;
    if (kind == TT_DENSE_F16 && te->type != TT_GGML_F16) {
        snprintf(m->head_note, sizeof m->head_note, "portable loop (%s head in the file)", tt_ggml_type_name(te->type));
        return TT_OK;
    }
    const tt_dense_variant *v = NULL;
    tt_status st = forced_head(kind, &v);
    if (st) return st;
    if (v) {
        m->head_v = v;
        snprintf(m->head_note, sizeof m->head_note, "%s (TRITUNE_HEAD_KERNEL)", v->name);
        return TT_OK;
    }
    char why[120];
    m->head_v = tt_pick_head(kind, m->config.vocab_size, m->config.dim, m->threads, why, sizeof why);
    snprintf(m->head_note, sizeof m->head_note, "%s (%s)", m->head_v->name, why);
    return TT_OK;
}

int tt_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* ---- forward ---- */
/* The linears of a layer's q/k/v group and gate/up group: one fused linear each, or the parts (gu[1] NULL when
 * gate/up is fused). Returns how many linears the q/k/v group has. */
static int layer_groups(const tt_layer_weights *w, const tt_linear **qkv, const tt_linear **gu)
{
    gu[0] = w->w_gate_up.plan.m ? &w->w_gate_up : &w->w_gate;
    gu[1] = w->w_gate_up.plan.m ? NULL : &w->w_up;
    qkv[0] = w->wqkv.plan.m ? &w->wqkv : &w->wq;
    qkv[1] = &w->wk, qkv[2] = &w->wv;
    return w->wqkv.plan.m ? 1 : 3;
}


tt_status tt_model_forward(tt_model *m, int token, int pos, bool want_logits)
{
    if (!m) return tt_fail(TT_ERR_NULL, "tt_model_forward: NULL model");
    const tt_model_config *c = &m->config;
    if (token < 0 || token >= c->vocab_size)
        return tt_fail(TT_ERR_VALUE, "token %d outside the vocabulary of %d", token, c->vocab_size);
    if (pos < 0 || pos >= m->n_ctx) return tt_fail(TT_ERR_VALUE, "position %d outside the context of %d", pos, m->n_ctx);
    tt_run_state *s = &m->s;
    int D = c->dim, H = c->hidden_dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    float eps = c->norm_eps;
    if (m->prof) m->prof_t = prof_now();
    embed_row(m->w.token_embd, D, token, s->x);
    tt_rope_cache(s->rope_cs, c->rope_dim, pos, c->rope_theta);
    prof_mark(m, TT_PROF_EMBED);
    for (int l = 0; l < c->n_layers; l++) {
        const tt_layer_weights *w = &m->w.layers[l];
        /* attention */
        rmsnorm(s->xb, s->x, w->attn_norm, D, eps);
        const tt_linear *qkv[3], *gu[2];
        int nqkv = layer_groups(w, qkv, gu), ngu = gu[1] ? 2 : 1;
        /* k and v go straight into the cache; RoPE in the GEMV's pool call when every thread's rows are whole
         * heads (a NEOX pair spans its head: segments start on heads, so split points must fall on heads too) */
        size_t at = ((size_t)l * m->n_ctx + pos) * kvd;
        float *kc = s->key_cache + at, *vc = s->value_cache + at;
        bool rope_post = true;
        for (int i = 0; i < nqkv && i < 2; i++) rope_post &= split_on_heads(qkv[i], m->threads, hd);
        linear_run(m, s->xb, D, nqkv, qkv, (float *[]){s->q, kc, vc}, TT_PROF_QKV,
                   (gemv_job){.post = rope_post ? POST_ROPE : POST_NONE, .layer = l, .pos = pos, .attn_pf = true,
                              .pf = w->attn_sub_norm, .pf_n = qd});
        if (!rope_post) {
            rope_heads(s->q, 0, qd, hd, c->rope_dim, s->rope_cs);
            rope_heads(kc, 0, kvd, hd, c->rope_dim, s->rope_cs);
            kv_f16(s->q, qd, kc, vc, kvd);
        }
        prof_mark(m, TT_PROF_ELEMWISE);
        tt_pool_run(m->pool, attn_worker, &(attn_job){m, l, pos});
        prof_mark(m, TT_PROF_ATTN);
        rmsnorm(s->xb, s->xb, w->attn_sub_norm, qd, eps);
        linear_run(m, s->xb, qd, 1, (const tt_linear *[]){&w->wo}, (float *[]){s->xb2}, TT_PROF_WO,
                   (gemv_job){.post = POST_RESIDUAL, .resid = s->x, .pf = w->ffn_norm, .pf_n = D});
        /* feed-forward */
        rmsnorm(s->xb, s->x, w->ffn_norm, D, eps);
        bool act_post = ngu == 2 && same_split(gu[0], gu[1], m->threads);
        linear_run(m, s->xb, D, ngu, gu, (float *[]){s->hb, s->hb2}, TT_PROF_GATE_UP,
                   (gemv_job){.post = act_post ? POST_ACT : POST_NONE, .pf = w->ffn_sub_norm, .pf_n = H});
        if (!act_post) gated_act(s->hb, s->hb2, H, c->act);
        rmsnorm(s->hb, s->hb, w->ffn_sub_norm, H, eps);
        const float *next_norm = l + 1 < c->n_layers ? m->w.layers[l + 1].attn_norm : m->w.output_norm;
        linear_run(m, s->hb, H, 1, (const tt_linear *[]){&w->w_down}, (float *[]){s->xb2}, TT_PROF_DOWN,
                   (gemv_job){.post = POST_RESIDUAL, .resid = s->x, .pf = next_norm, .pf_n = D});
    }
    if (!want_logits) {
        prof_mark(m, TT_PROF_ELEMWISE);
        return TT_OK;
    }
    rmsnorm(s->xb, s->x, m->w.output_norm, D, eps);
    prof_mark(m, TT_PROF_ELEMWISE);
    head_input(m, s->xb);
    tt_pool_run(m->pool, head_worker, &(head_job){m, s->xb, m->head_v});
    prof_mark(m, TT_PROF_HEAD);
    return TT_OK;
}

/* ---- batched prefill ----
 * The same forward pass as tt_model_forward for a chunk of B tokens at once: every per-token float operation is
 * the same function on the same values in the same order (so the results are bit-identical), but each linear layer
 * is one GEMM over the chunk: the weights stream from memory once per chunk instead of once per token. */
static size_t batch_ldq(const tt_model_config *c)
{
    int wide = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    return ((size_t)wide + 63) / 64 * 64;
}

static tt_status build_batch_state(tt_model *m)
{
    tt_run_state *s = &m->s;
    if (s->bx) return TT_OK;
    const tt_model_config *c = &m->config;
    size_t B = (size_t)m->batch, qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    size_t wide = (size_t)(c->dim > c->hidden_dim ? c->dim : c->hidden_dim), ldq = batch_ldq(c);
    size_t dots = qd + 2 * kvd > 2 * (size_t)c->hidden_dim ? qd + 2 * kvd : 2 * (size_t)c->hidden_dim;
    if (dots < (size_t)c->dim) dots = (size_t)c->dim;
    s->bx = malloc(B * c->dim * sizeof(float));
    s->bxb = malloc(B * wide * sizeof(float));
    s->bxb2 = malloc(B * c->dim * sizeof(float));
    s->bq = malloc(B * qd * sizeof(float));
    s->bk = malloc(B * kvd * sizeof(float));
    s->bv = malloc(B * kvd * sizeof(float));
    s->bhb = malloc(B * c->hidden_dim * sizeof(float));
    s->bhb2 = malloc(B * c->hidden_dim * sizeof(float));
    s->bxq = tt_alloc(B * ldq);
    s->bws = tt_alloc(B * ldq + 64);
    s->ba_s = malloc(B * sizeof(float));
    s->bsum_q = malloc(B * sizeof(int32_t));
    s->bdot = tt_alloc(B * dots * sizeof(int32_t));
    s->brope_cs = malloc(B * c->rope_dim * sizeof(float));
    if (!s->bx || !s->bxb || !s->bxb2 || !s->bq || !s->bk || !s->bv || !s->bhb || !s->bhb2 || !s->bxq || !s->bws ||
        !s->ba_s || !s->bsum_q || !s->bdot || !s->brope_cs)
        return tt_fail(TT_ERR_NOMEM, "no memory for the prefill state (batch %d)", m->batch);
    return TT_OK;
}

typedef struct gemm_task {
    const tt_linear *L;
    int32_t *dot;                  /* (n, L->m) */
    float *y[TT_LINEAR_MAX_SEG];   /* per segment: (n, ldy) */
    int ldy[TT_LINEAR_MAX_SEG];
} gemm_task;

typedef struct gemm_job {
    gemm_task t[3];
    int nl, n;
    const int8_t *q;
    const void *ws;
    size_t ldq;
    const float *a_s;
    const int32_t *sum_q;
} gemm_job;

static void gemm_worker(void *ctx, int tid, int nth)
{
    const gemm_job *j = ctx;
    for (int i = 0; i < j->nl; i++) {
        const tt_linear *L = j->t[i].L;
        int r0, r1;
        tt_plan_split_gemm(&L->plan, tid, nth, &r0, &r1);
        if (r0 >= r1) continue;
        tt_plan_gemm(&L->plan, j->q, j->ldq, j->ws, j->sum_q, j->n, j->t[i].dot, r0, r1);
        for (int t = 0; t < j->n; t++)
            dots_to_out(L, j->t[i].dot + (size_t)t * L->plan.m, r0, r1, j->a_s[t], j->t[i].y, j->t[i].ldy, t);
    }
}

/* Per-token quantization (and GEMM prep) of a chunk, tokens split over the pool. */
typedef struct quant_job {
    tt_run_state *s;
    const float *x;
    int ldx, k, n;
    size_t ldq;
    tt_prep_fn prep;
} quant_job;

static void quant_worker(void *ctx, int tid, int nth)
{
    const quant_job *j = ctx;
    int t0, t1;
    tt_split_even(j->n, 1, tid, nth, &t0, &t1);
    for (int t = t0; t < t1; t++) {
        int8_t *q = j->s->bxq + (size_t)t * j->ldq;
        tt_quant_act(j->x + (size_t)t * j->ldx, j->k, q, &j->s->ba_s[t], &j->s->bsum_q[t]);
        if (j->prep) j->prep(q, j->k, (int8_t *)j->s->bws + (size_t)t * j->ldq);
    }
}

/* y_i[t] = W_i · x[t] for n tokens (x rows at stride ldx) and nl linears of the same K: each token quantized once
 * (as linear_run does), one GEMM per linear. */
static void linear_batch(tt_model *m, const float *x, int ldx, int k, int n, int nl, const tt_linear *const *L,
                         float *const *y, const int *ldy)
{
    tt_run_state *s = &m->s;
    gemm_job j = {.nl = nl, .n = n, .q = s->bxq, .ws = s->bws, .ldq = batch_ldq(&m->config), .a_s = s->ba_s,
                  .sum_q = s->bsum_q};
    int32_t *dot = s->bdot;
    quant_job qj = {s, x, ldx, k, n, j.ldq, NULL};
    for (int i = 0, o = 0; i < nl; o += L[i++]->nseg) {
        j.t[i] = (gemm_task){.L = L[i], .dot = dot};
        for (int sg = 0; sg < L[i]->nseg; sg++) j.t[i].y[sg] = y[o + sg], j.t[i].ldy[sg] = ldy[o + sg];
        dot += (size_t)n * L[i]->plan.m;
        /* every I2_S prep is the same function (tt_i2s_prep_q256): the chunk is prepped once */
        const tt_variant *vg = L[i]->plan.vg;
        if (vg->prep && qj.prep && vg->prep != qj.prep)
            fprintf(stderr, "tritune: two different GEMM preps in one linear group\n");
        if (vg->prep) qj.prep = vg->prep;
    }
    tt_pool_run(m->pool, quant_worker, &qj);
    tt_pool_run(m->pool, gemm_worker, &j);
}

typedef struct attn_batch_job {
    tt_model *m;
    int layer, pos0, n;
} attn_batch_job;

/* attn_worker for n consecutive positions: head h of token t attends to positions 0..pos0+t (causal); the cache
 * already holds the whole chunk. The same calls as attn_worker, so the same bits. */
static void attn_batch_worker(void *ctx, int tid, int nth)
{
    const attn_batch_job *j = ctx;
    const tt_model_config *c = &j->m->config;
    tt_run_state *s = &j->m->s;
    int hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd, group = c->n_heads / c->n_kv_heads, h0, h1;
    size_t loff = (size_t)j->layer * j->m->n_ctx * kvd;
    float scale = 1.0f / sqrtf((float)hd);
    tt_split_even(c->n_heads, 1, tid, nth, &h0, &h1);
    for (int h = h0; h < h1; h++) {
        const float *kc = s->key_cache + loff + (h / group) * hd, *vc = s->value_cache + loff + (h / group) * hd;
        for (int tk = 0; tk < j->n; tk++) {
            int pos = j->pos0 + tk;
            float *att = s->att + (size_t)h * j->m->n_ctx, *out = s->bxb + (size_t)tk * qd + h * hd;
            tt_dense_scores(s->bq + (size_t)tk * qd + h * hd, kc, (size_t)kvd, pos + 1, hd, scale, att);
            softmax(att, pos + 1);
            tt_dense_weighted_sum(att, vc, (size_t)kvd, pos + 1, hd, out);
        }
    }
}

/* The per-token float work between the GEMMs, tokens split over the pool (each token's operations are exactly
 * those of tt_model_forward, so the split does not change a bit). */
typedef enum chunk_stage {
    STAGE_ATTN_NORM,  /* bxb[t] = rmsnorm(bx[t]) · attn_norm */
    STAGE_ROPE,       /* rope(q[t], k[t]) at pos0 + t, k and v into the cache */
    STAGE_SUB_NORM,   /* bxb[t] = rmsnorm(bxb[t]) · attn_sub_norm (stride qd) */
    STAGE_FFN_NORM,   /* bx[t] += bxb2[t]; bxb[t] = rmsnorm(bx[t]) · ffn_norm */
    STAGE_ACT,        /* bhb[t] = rmsnorm(act(bhb[t]) ⊙ bhb2[t]) · ffn_sub_norm */
    STAGE_RESIDUAL,   /* bx[t] += bxb2[t] */
} chunk_stage;

typedef struct stage_job {
    tt_model *m;
    const tt_layer_weights *w;
    chunk_stage stage;
    int layer, pos0, n;
} stage_job;

static void stage_worker(void *ctx, int tid, int nth)
{
    const stage_job *j = ctx;
    tt_model *m = j->m;
    const tt_model_config *c = &m->config;
    const tt_layer_weights *w = j->w;
    tt_run_state *s = &m->s;
    int D = c->dim, H = c->hidden_dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    int wide = D > H ? D : H, t0, t1;
    float eps = c->norm_eps;
    tt_split_even(j->n, 1, tid, nth, &t0, &t1);
    for (int t = t0; t < t1; t++) {
        float *x = s->bx + (size_t)t * D, *xb2 = s->bxb2 + (size_t)t * D;
        switch (j->stage) {
        case STAGE_ATTN_NORM: rmsnorm(s->bxb + (size_t)t * wide, x, w->attn_norm, D, eps); break;
        case STAGE_ROPE: {
            float *q = s->bq + (size_t)t * qd, *k = s->bk + (size_t)t * kvd;
            float *cs = s->brope_cs + (size_t)t * c->rope_dim;
            tt_rope_cache(cs, c->rope_dim, j->pos0 + t, c->rope_theta);
            rope_heads(q, 0, qd, hd, c->rope_dim, cs);
            rope_heads(k, 0, kvd, hd, c->rope_dim, cs);
            kv_f16(q, qd, k, s->bv + (size_t)t * kvd, kvd);
            size_t at = ((size_t)j->layer * m->n_ctx + j->pos0 + t) * kvd;
            memcpy(s->key_cache + at, k, (size_t)kvd * sizeof(float));
            memcpy(s->value_cache + at, s->bv + (size_t)t * kvd, (size_t)kvd * sizeof(float));
            break;
        }
        case STAGE_SUB_NORM:
            rmsnorm(s->bxb + (size_t)t * qd, s->bxb + (size_t)t * qd, w->attn_sub_norm, qd, eps);
            break;
        case STAGE_FFN_NORM:
            for (int i = 0; i < D; i++) x[i] += xb2[i];
            rmsnorm(s->bxb + (size_t)t * wide, x, w->ffn_norm, D, eps);
            break;
        case STAGE_ACT: {
            float *hb = s->bhb + (size_t)t * H, *hb2 = s->bhb2 + (size_t)t * H;
            gated_act(hb, hb2, H, c->act);
            rmsnorm(hb, hb, w->ffn_sub_norm, H, eps);
            break;
        }
        case STAGE_RESIDUAL:
            for (int i = 0; i < D; i++) x[i] += xb2[i];
            break;
        }
    }
}

static void stage_run(tt_model *m, const tt_layer_weights *w, chunk_stage st, int layer, int pos0, int n)
{
    tt_pool_run(m->pool, stage_worker, &(stage_job){m, w, st, layer, pos0, n});
}

static void forward_chunk(tt_model *m, const int *tokens, int n, int pos0)
{
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    int D = c->dim, H = c->hidden_dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    int wide = D > H ? D : H;
    for (int t = 0; t < n; t++) embed_row(m->w.token_embd, D, tokens[t], s->bx + (size_t)t * D);
    for (int l = 0; l < c->n_layers; l++) {
        const tt_layer_weights *w = &m->w.layers[l];
        /* attention */
        stage_run(m, w, STAGE_ATTN_NORM, l, pos0, n);
        const tt_linear *qkv[3], *gu[2];
        int nqkv = layer_groups(w, qkv, gu), ngu = gu[1] ? 2 : 1;
        linear_batch(m, s->bxb, wide, D, n, nqkv, qkv, (float *[]){s->bq, s->bk, s->bv}, (const int[]){qd, kvd, kvd});
        stage_run(m, w, STAGE_ROPE, l, pos0, n);
        /* attention outputs land in bxb at stride qd (the q/k/v inputs there are consumed) */
        tt_pool_run(m->pool, attn_batch_worker, &(attn_batch_job){m, l, pos0, n});
        stage_run(m, w, STAGE_SUB_NORM, l, pos0, n);
        linear_batch(m, s->bxb, qd, qd, n, 1, (const tt_linear *[]){&w->wo}, (float *[]){s->bxb2}, (const int[]){D});
        /* feed-forward */
        stage_run(m, w, STAGE_FFN_NORM, l, pos0, n);
        linear_batch(m, s->bxb, wide, D, n, ngu, gu, (float *[]){s->bhb, s->bhb2}, (const int[]){H, H});
        stage_run(m, w, STAGE_ACT, l, pos0, n);
        linear_batch(m, s->bhb, H, H, n, 1, (const tt_linear *[]){&w->w_down}, (float *[]){s->bxb2}, (const int[]){D});
        stage_run(m, w, STAGE_RESIDUAL, l, pos0, n);
    }
    memcpy(s->x, s->bx + (size_t)(n - 1) * D, (size_t)D * sizeof(float)); /* as after the last tt_model_forward */
}

tt_status tt_model_prefill(tt_model *m, const int *tokens, int n, int pos0, bool want_logits)
{
    if (!m || (!tokens && n > 0)) return tt_fail(TT_ERR_NULL, "tt_model_prefill: NULL argument");
    const tt_model_config *c = &m->config;
    if (n < 1) return tt_fail(TT_ERR_VALUE, "prefill of %d tokens", n);
    if (pos0 < 0 || pos0 > m->n_ctx - n)
        return tt_fail(TT_ERR_VALUE, "positions %d..%d outside the context of %d", pos0, pos0 + n - 1, m->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return tt_fail(TT_ERR_VALUE, "token %d outside the vocabulary of %d", tokens[i], c->vocab_size);
    if (m->batch <= 1) {
        for (int i = 0; i < n; i++) {
            tt_status st = tt_model_forward(m, tokens[i], pos0 + i, want_logits && i == n - 1);
            if (st) return st;
        }
        return TT_OK;
    }
    tt_status st = build_batch_state(m);
    if (st) return st;
    for (int i = 0; i < n; i += m->batch) forward_chunk(m, tokens + i, n - i < m->batch ? n - i : m->batch, pos0 + i);
    if (!want_logits) return TT_OK;
    tt_run_state *s = &m->s;
    rmsnorm(s->xb, s->x, m->w.output_norm, c->dim, c->norm_eps);
    head_input(m, s->xb);
    tt_pool_run(m->pool, head_worker, &(head_job){m, s->xb, m->head_v});
    return TT_OK;
}
