/* load.c — the model from a GGUF file: config (one table of architectures), weights (each ternary matrix a plan:
 * kernel from the wisdom, packed once), the run state, open and close. The forward pass is forward.c's. */
#include "model_int.h"
#include "tt_baked.h"
#include "tt_errctx.h"
#include "tt_tq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
void model_release_pages(const tt_gguf *g, const uint8_t *p, size_t n)
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

/* The format an m x k matrix is repacked into (tt_model_opts.weights); the first time a shape is seen, the note
 * says which and why. */
static tt_status pick_weights_fmt(tt_model *mod, int m, int k, tt_fmt *fmt)
{
    char why[200] = "forced";
    if (mod->weights != TT_WEIGHTS_AUTO) *fmt = (tt_fmt)(mod->weights - TT_WEIGHTS_I2S);
    else if (mod->backend == &tt_plan_backend_registry) *fmt = tt_pick_fmt(m, k, mod->threads, why, sizeof why);
    else *fmt = TT_FMT_I2S, snprintf(why, sizeof why, "the %s backend", mod->backend->name);
    if (*fmt != TT_FMT_I2S && mod->backend != &tt_plan_backend_registry)
        return tt_fail(TT_ERR_UNSUPPORTED, "the %s backend reads I2_S only, not %s", mod->backend->name,
                       tt_fmt_name(*fmt));
    char shape[64];
    snprintf(shape, sizeof shape, "; %dx%d ", m, k); /* entries are "; MxK fmt (why)" after the first */
    size_t used = strlen(mod->fmt_note);
    bool seen = !strncmp(mod->fmt_note, shape + 2, strlen(shape + 2)) || strstr(mod->fmt_note, shape);
    if (!seen && used + 1 < sizeof mod->fmt_note)
        snprintf(mod->fmt_note + used, sizeof mod->fmt_note - used, "%s%s (%s)", used ? shape : shape + 2,
                 tt_fmt_name(*fmt), why);
    mod->n_fmt[*fmt]++;
    return TT_OK;
}

/* Unpack the canonical trits of a linear from the file (this validates every code: 0b11 is refused) into w, rows of
 * the nseg tensors names[] (ms[i] rows each, all of row length k) stacked in that order; the segments and their
 * scales go to L. */
static tt_status linear_trits(tt_model *mod, const char *const *names, const int *ms, int nseg, int k, tt_linear *L,
                              tt_tern *w)
{
    const tt_gguf *g = mod->gguf;
    const tt_gguf_tensor *t[TT_LINEAR_MAX_SEG] = {NULL};
    int m = 0;
    tt_status st;
    for (int i = 0; i < nseg; i++) {
        if ((st = get_ternary(g, names[i], (uint64_t)k, (uint64_t)ms[i], &t[i]))) return st;
        if ((st = tt_fmt_check_shape(TT_FMT_I2S, ms[i], k))) return tt_fail_prefix(st, "tensor \"%s\"", names[i]);
        m += ms[i];
    }
    tt_tern part = {0};
    if ((st = tt_tern_alloc(w, m, k))) return st;
    w->m = m;
    w->k = k;
    L->nseg = nseg;
    for (int i = 0, row = 0; i < nseg; row += ms[i++]) {
        tt_tern *dst = w;
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
            if (nseg > 1) memcpy(w->t + (size_t)row * k, part.t, (size_t)ms[i] * k * sizeof *w->t);
        }
        if (nseg > 1) tt_tern_free(&part);
        if (st) break;
    }
    if (st) {
        tt_tern_free(w);
        return st;
    }
    L->scale = L->seg_scale[0];
    w->scale = L->scale; /* kernels compute int32 dots only: the scales are applied per segment */
    return TT_OK;
}

/* The file's pages of a linear's tensors: never read again once repacked. */
static void release_linear_pages(tt_model *mod, const char *const *names, int nseg)
{
    for (int i = 0; i < nseg; i++) {
        const tt_gguf_tensor *t = tt_gguf_find_tensor(mod->gguf, names[i]);
        if (t) model_release_pages(mod->gguf, t->data, t->nbytes);
    }
}

/* A linear made of nseg tensors, as linear_trits reads them, repacked in the format pick_weights_fmt chose and the
 * layout of the kernel the seam picked for it (and of the GEMM kernel, when it needs another). */
static tt_status build_linear_multi(tt_model *mod, const char *const *names, const int *ms, int nseg, int k,
                                    int granule, tt_linear *L)
{
    char fused_name[3 * TT_GGUF_NAME_MAX + 8];
    const char *name = names[0]; /* for messages about the whole matrix */
    if (nseg > 1) {
        snprintf(fused_name, sizeof fused_name, "%s+%s%s%s", names[0], names[1], nseg > 2 ? "+" : "",
                 nseg > 2 ? names[2] : "");
        name = fused_name;
    }
    tt_tern w;
    tt_status st = linear_trits(mod, names, ms, nseg, k, L, &w);
    if (st) return st;
    tt_fmt fmt = TT_FMT_I2S;
    if ((st = pick_weights_fmt(mod, w.m, k, &fmt)) || (st = tt_fmt_check_shape(fmt, w.m, k)))
        st = tt_fail_prefix(st, "tensor \"%s\"", name);
    else if ((st = tt_plan_create(&L->plan, fmt, &w,
                                  &(tt_plan_opts){.threads = mod->threads, .batch = mod->batch, .be = mod->backend,
                                                  .granule = granule})))
        st = tt_fail_prefix(st, "tensor \"%s\"", name);
    tt_tern_free(&w);
    if (!st) release_linear_pages(mod, names, nseg);
    return st;
}

/* Epilogue granules (tt_plan_opts.granule): the q/k/v rows a thread gets are whole heads, so RoPE and the f16
 * rounding run on the thread that made them at any thread count; gate and up split at the same points whatever
 * their kernels' row blocks (all divide 32), so the activation runs on the thread that made both. */
#define GATE_UP_GRANULE 32

/* Fuse when asked, or (auto) as the plans decide from the wisdom (tt_plan_fuse). The note says which and why. */
static bool decide_fuse(tt_fuse mode, const int *ms, int n, int k, int threads, const char *what, char *note,
                        size_t note_n)
{
    size_t used = strlen(note);
    char *p = note + used, why[160];
    size_t left = note_n > used ? note_n - used : 0;
    bool fuse = mode == TT_FUSE_ON;
    if (mode == TT_FUSE_AUTO) fuse = tt_plan_fuse(ms, n, k, threads, why, sizeof why);
    else snprintf(why, sizeof why, "forced");
    snprintf(p, left, "%s%s %s (%s)", used ? "; " : "", what, fuse ? "fused" : "separate", why);
    return fuse;
}

static void free_linear(tt_linear *L)
{
    tt_plan_free(&L->plan);
    memset(L, 0, sizeof *L);
}

/* The matrix whose kernel names the model's in reports (tt_model.kernel_name): gate (or gate/up) of layer 0. */
static const tt_linear *largest_linear(const tt_model *m)
{
    return m->fused_gate_up ? &m->w.layers[0].w_gate_up : &m->w.layers[0].w_gate;
}

/* The linears of layer l, in the order they are built (q/k/v, gate/up, o, down; fused ones as one), each with the
 * tensors it is made of, its row length and its epilogue granule (tt_plan_opts.granule). */
#define LAYER_LINEARS_MAX 7
typedef struct linear_src {
    char names[TT_LINEAR_MAX_SEG][TT_GGUF_NAME_MAX];
    const char *np[TT_LINEAR_MAX_SEG]; /* names[i] (what build_linear_multi and linear_trits take) */
    int ms[TT_LINEAR_MAX_SEG], nseg, k, granule;
    tt_linear *L;
} linear_src;

static int layer_linears(tt_model *m, int l, linear_src *s)
{
    const tt_model_config *c = &m->config;
    tt_layer_weights *L = &m->w.layers[l];
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, n = 0;
#define ADD(lin, kk, gr, ...)                                                                                         \
    do {                                                                                                             \
        static const char *const t_[] = {__VA_ARGS__};                                                             \
        linear_src *x = &s[n++];                                                                                     \
        x->nseg = (int)(sizeof t_ / sizeof t_[0]), x->k = (kk), x->granule = (gr), x->L = (lin);                     \
        for (int i_ = 0; i_ < x->nseg; i_++)                                                                        \
            snprintf(x->names[i_], sizeof x->names[i_], "blk.%d.%s.weight", l, t_[i_]), x->np[i_] = x->names[i_];   \
    } while (0)
    if (m->fused_qkv) {
        ADD(&L->wqkv, c->dim, c->head_dim, "attn_q", "attn_k", "attn_v");
        s[n - 1].ms[0] = qd, s[n - 1].ms[1] = s[n - 1].ms[2] = kvd;
    } else {
        ADD(&L->wq, c->dim, c->head_dim, "attn_q");
        s[n - 1].ms[0] = qd;
        ADD(&L->wk, c->dim, c->head_dim, "attn_k");
        s[n - 1].ms[0] = kvd;
        ADD(&L->wv, c->dim, c->head_dim, "attn_v");
        s[n - 1].ms[0] = kvd;
    }
    if (m->fused_gate_up) {
        ADD(&L->w_gate_up, c->dim, 1, "ffn_gate", "ffn_up");
        s[n - 1].ms[0] = s[n - 1].ms[1] = c->hidden_dim;
    } else {
        ADD(&L->w_gate, c->dim, GATE_UP_GRANULE, "ffn_gate");
        s[n - 1].ms[0] = c->hidden_dim;
        ADD(&L->w_up, c->dim, GATE_UP_GRANULE, "ffn_up");
        s[n - 1].ms[0] = c->hidden_dim;
    }
    ADD(&L->wo, qd, 1, "attn_output");
    s[n - 1].ms[0] = c->dim;
    ADD(&L->w_down, c->hidden_dim, 1, "ffn_down");
    s[n - 1].ms[0] = c->dim;
#undef ADD
    return n;
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
    if (et != TT_GGML_F32 && et != TT_GGML_F16 && et != TT_GGML_Q8_0 && et != TT_GGML_Q6_K && et != TT_GGML_Q4_0)
        return tt_fail(TT_ERR_FORMAT, "token_embd.weight has type %s (f32, f16, q8_0, q6_K or q4_0 expected)",
                       tt_ggml_type_name(et));
    if ((st = get_tensor(g, "token_embd.weight", et, (uint64_t)c->dim, (uint64_t)c->vocab_size, &w->token_embd)))
        return st;
    if ((st = build_norm(g, "output_norm.weight", c->dim, &w->output_norm))) return st;
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers) return tt_fail(TT_ERR_NOMEM, "no memory for %d layers", c->n_layers);
    for (int l = 0; l < c->n_layers; l++) {
        tt_layer_weights *L = &w->layers[l];
        linear_src src[LAYER_LINEARS_MAX];
        int ns = layer_linears(m, l, src);
        for (int i = 0; i < ns && !st; i++)
            st = build_linear_multi(m, src[i].np, src[i].ms, src[i].nseg, src[i].k,
                                    src[i].granule, src[i].L);
        if (st) return st;
        char n[TT_GGUF_NAME_MAX];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d." s ".weight", l), n)
        if ((st = build_norm(g, NAME("attn_norm"), c->dim, &L->attn_norm)) ||
            (st = build_norm(g, NAME("attn_sub_norm"), qd, &L->attn_sub_norm)) ||
            (st = build_norm(g, NAME("ffn_norm"), c->dim, &L->ffn_norm)) ||
            (st = build_norm(g, NAME("ffn_sub_norm"), c->hidden_dim, &L->ffn_sub_norm)))
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
    const tt_linear *big = largest_linear(m);
    m->kernel_name = big->plan.v->name;
    m->gemm_kernel_name = big->plan.vg ? big->plan.vg->name : NULL;
    if (!m->gemm_kernel_name) m->batch = 1; /* no GEMM kernel: prefill runs token by token */
    if (m->lm_head == TT_LM_HEAD_Q8) {
        if ((st = model_head_build_q8(m))) return st;
        model_release_pages(g, te->data, te->nbytes); /* from now on only single embedding rows are read */
    } else if (model_head_copy_rows(m)) {
        model_release_pages(g, te->data, te->nbytes); /* the file's pages: the resident size does not grow */
        te = w->token_embd;
    }
    m->bytes_head = model_head_row_bytes(m) * (size_t)c->vocab_size;
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
    tt_free(m->w.head_il);
    memset(&m->w, 0, sizeof m->w);
}

/* ---- run state ---- */
/* The widest activation row: the quantized input of any linear, at a stride that keeps every row 64-byte aligned. */
static size_t act_ld(const tt_model_config *c)
{
    int wide = c->dim > c->hidden_dim ? c->dim : c->hidden_dim;
    return ((size_t)wide + 63) / 64 * 64;
}

/* The buffers that do not depend on the number of tokens: attention scores, logits, the LM head's input. */
static tt_status build_state(tt_model *m)
{
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    s->att = calloc((size_t)c->n_heads * (size_t)m->n_ctx, sizeof(float));
    s->logits = calloc((size_t)c->vocab_size, sizeof(float));
    if (!s->att || !s->logits || tt_qin_alloc(&s->head_in, c->dim))
        return tt_fail(TT_ERR_NOMEM, "no memory for the run state");
    return model_state_reserve(m, 1);
}

/* The KV cache: read every token like the weights, so on huge pages (tt_alloc; docs/MEASUREMENT.md, "Huge pages
 * for every matrix"). Made after the placement: the placement would fault in all of it (n_ctx 4096: 315 MB for
 * 2B4T) for pages that a short context never reads. */
static tt_status build_cache(tt_model *m)
{
    const tt_model_config *c = &m->config;
    tt_run_state *s = &m->s;
    size_t cache = (size_t)c->n_layers * (size_t)m->n_ctx * (size_t)(c->n_kv_heads * c->head_dim);
    s->key_cache = tt_alloc_zeroed(cache, sizeof(uint16_t));
    s->value_cache = tt_alloc_zeroed(cache, sizeof(uint16_t));
    if (!s->key_cache || !s->value_cache)
        return tt_fail(TT_ERR_NOMEM, "no memory for the KV cache (%zu MB for n_ctx %d)",
                       2 * cache * sizeof(uint16_t) >> 20, m->n_ctx);
    return TT_OK;
}

static void free_rows(tt_run_state *s)
{
    free(s->x);
    free(s->xb);
    free(s->xb2);
    free(s->q);
    free(s->kb);
    free(s->vb);
    free(s->hb);
    free(s->hb2);
    free(s->rope_cs);
    tt_free(s->xq);
    tt_free(s->ws);
    free(s->a_s);
    free(s->sum_q);
    tt_free(s->dot);
    s->x = s->xb = s->xb2 = s->q = s->kb = s->vb = s->hb = s->hb2 = s->rope_cs = s->a_s = NULL;
    s->xq = NULL, s->ws = NULL, s->sum_q = NULL, s->dot = NULL;
    s->cap = 0;
}

tt_status model_state_reserve(tt_model *m, int n)
{
    tt_run_state *s = &m->s;
    if (n <= s->cap) return TT_OK;
    free_rows(s);
    const tt_model_config *c = &m->config;
    size_t N = (size_t)n, D = (size_t)c->dim, H = (size_t)c->hidden_dim, ldq = act_ld(c);
    size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    size_t wide = D > H ? D : H, dots = qd + 2 * kvd > 2 * H ? qd + 2 * kvd : 2 * H;
    if (dots < D) dots = D;
    s->x = calloc(N * D, sizeof(float));
    s->xb = calloc(N * wide, sizeof(float));
    s->xb2 = calloc(N * D, sizeof(float));
    s->q = calloc(N * qd, sizeof(float));
    s->kb = calloc(N * kvd, sizeof(float));
    s->vb = calloc(N * kvd, sizeof(float));
    s->hb = calloc(N * H, sizeof(float));
    s->hb2 = calloc(N * H, sizeof(float));
    s->rope_cs = calloc(N * (size_t)c->rope_dim, sizeof(float));
    s->xq = tt_alloc(N * ldq);
    s->ws = tt_alloc(N * ldq + 64);
    s->a_s = malloc(N * sizeof(float));
    s->sum_q = malloc(N * sizeof(int32_t));
    s->dot = tt_alloc(N * dots * sizeof(int32_t));
    if (!s->x || !s->xb || !s->xb2 || !s->q || !s->kb || !s->vb || !s->hb || !s->hb2 || !s->rope_cs || !s->xq ||
        !s->ws || !s->a_s || !s->sum_q || !s->dot) {
        free_rows(s);
        return tt_fail(TT_ERR_NOMEM, "no memory for the activations of %d tokens", n);
    }
    s->cap = n;
    s->ldq = ldq;
    return TT_OK;
}

static void free_state(tt_run_state *s)
{
    free_rows(s);
    free(s->att);
    tt_qin_free(&s->head_in);
    free(s->logits);
    tt_free(s->key_cache);
    tt_free(s->value_cache);
    memset(s, 0, sizeof *s);
}

/* How much of the model's buffers (weights, GEMM copies, KV cache) huge pages back: a matrix on 4 KiB pages streamed
 * up to 1.5x slower in a VM (docs/MEASUREMENT.md, "Huge pages for every matrix"), so a figure taken without them
 * says so. */
/* A model whose buffers are smaller than this is not placed: its weights stay in the caches between tokens. */
#define PLACE_MIN_BYTES ((size_t)64 << 20)

static void pages_note(tt_model *m, uint64_t seq0)
{
    size_t mapped, huge;
    const char *mode = tt_thp_mode();
    m->huge_frac = -1;
    if (tt_alloc_huge(seq0, &mapped, &huge)) {
        snprintf(m->pages_note, sizeof m->pages_note, "not known: %s", tt_last_error());
        return;
    }
    if (!mapped) return;
    m->huge_frac = (double)huge / (double)mapped;
    int n = snprintf(m->pages_note, sizeof m->pages_note, "%zu of %zu MiB of the model's buffers on 2 MiB pages (THP %s)",
                     huge >> 20, mapped >> 20, mode);
    const char *why = !strcmp(mode, "never")
                          ? "; huge pages are off: echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"
                          : "; the rest is on 4 KiB pages (memory too fragmented, or bench-ab --pages exact)";
    if (n > 0 && (size_t)n < sizeof m->pages_note && m->huge_frac < 0.9)
        snprintf(m->pages_note + n, sizeof m->pages_note - (size_t)n, "%s", why);
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
    m->weights = o.weights;
    if ((unsigned)o.weights > TT_WEIGHTS_B3) return free(m), tt_fail(TT_ERR_VALUE, "weights = %d", (int)o.weights);
    m->backend = o.backend ? o.backend : &tt_plan_backend_registry;
    if (o.batch < 0 || o.batch > TT_MODEL_BATCH_MAX)
        return free(m), tt_fail(TT_ERR_VALUE, "batch = %d (must be 0..%d)", o.batch, TT_MODEL_BATCH_MAX);
    m->batch = o.batch ? o.batch : TT_MODEL_BATCH_DEFAULT;
    const tt_dense_variant *head_check;
    /* a forced head kernel that does not exist fails before the file is read; its kind is checked against the
     * file's head in model_head_pick (a requantized head is i8 whatever the file holds) */
    const uint64_t seq0 = tt_alloc_seq(); /* the model's big buffers are the ones made from here on (placement) */
    tt_status st = model_head_forced(m->lm_head == TT_LM_HEAD_Q8 ? TT_DENSE_I8 : (tt_dense_kind)-1, o.head_kernel,
                                     &head_check);
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
    if (!st) st = model_head_pick(m, o.head_kernel);
    int place = o.place;
    if (!place) place = getenv("TRITUNE_PLACE") ? atoi(getenv("TRITUNE_PLACE")) : TT_MODEL_PLACE_DEFAULT;
    if (!st && place <= 0) snprintf(m->place_note, sizeof m->place_note, "off");
    const size_t mapped = st ? 0 : tt_alloc_mapped(seq0);
    if (!st && place > 0 && mapped < PLACE_MIN_BYTES) { /* nothing streams from memory: the probe stays unplaced too */
        if (mapped)
            snprintf(m->place_note, sizeof m->place_note,
                     "skipped: %zu MiB of buffers (under %zu MiB: read from the caches)", mapped >> 20,
                     PLACE_MIN_BYTES >> 20);
        place = 0;
    }
    if (!st && place > 0) {
        tt_place_report pr;
        if (tt_alloc_place(seq0, place > TT_PLACE_MAX_ROUNDS ? TT_PLACE_MAX_ROUNDS : place, &pr))
            snprintf(m->place_note, sizeof m->place_note, "not placed: %s", tt_last_error());
        else if (pr.pages && (m->placed_rounds = pr.rounds))
            snprintf(m->place_note, sizeof m->place_note,
                     "%zu of %zu 2 MiB pages moved to faster ones (mean page read %.1f -> %.1f us, %d rounds, %.2f s)",
                     pr.moved, pr.pages, pr.mean_before_us, pr.mean_after_us, pr.rounds, pr.total_s);
    }
    if (!st) st = build_cache(m);
    /* after the placement, so that the calibration reads the pages decode will read */
    int calib = o.calibrate;
    if (!calib) calib = getenv("TRITUNE_CALIBRATE") ? atoi(getenv("TRITUNE_CALIBRATE")) : TT_MODEL_CALIB_DEFAULT;
    if (!st && calib <= 0) snprintf(m->calib_note, sizeof m->calib_note, "off");
    if (!st && calib > 0) {
        model_calibrate(m, calib);
        m->kernel_name = largest_linear(m)->plan.v->name; /* its kernel may be a prefetch sibling now */
    }
    if (!st) pages_note(m, seq0);
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

/* ---- another kernel for the linears of one shape (tt_model_alt_build) ---- */
struct tt_model_alt {
    int n;
    tt_linear **L; /* the model's linears of the shape */
    tt_plan *plan; /* the alternative plans (after a swap: the model's former ones) */
    int group;     /* tt_model_alt_fusion: 0 q/k/v, 1 gate/up; -1: a kernel alternative */
    int nl;        /* layers (tt_model_alt_fusion) */
    tt_linear *lin; /* tt_model_alt_fusion: per layer 3 slots, the arrangement the model does not run (fused: slot 0) */
};

/* The plan backend of tt_model_alt_build: the registry's, with the GEMV kernel given (set around one build). */
static const tt_variant *alt_kernel;
static const tt_variant *alt_select(tt_fmt fmt, int m, int k, int threads)
{
    (void)fmt, (void)m, (void)k, (void)threads;
    return alt_kernel;
}

tt_status tt_model_alt_build(tt_model *m, int pm, int pk, const tt_variant *v, tt_model_alt **out)
{
    *out = NULL;
    char why[200];
    if (!v || v->op != TT_OP_GEMV) return tt_fail(TT_ERR_VALUE, "tt_model_alt_build: not a GEMV kernel");
    if (m->backend != &tt_plan_backend_registry)
        return tt_fail(TT_ERR_UNSUPPORTED, "the %s backend runs its own kernel", m->backend->name);
    if (!tt_variant_eligible(v, tt_cpu_get(), why, sizeof why))
        return tt_fail(TT_ERR_UNSUPPORTED, "%s not runnable here: %s", v->name, why);
    if (tt_variant_check_shape(v, pm, pk)) return tt_fail(TT_ERR_VALUE, "%s does not run %dx%d", v->name, pm, pk);
    tt_model_alt *a = calloc(1, sizeof *a);
    int cap = m->config.n_layers * LAYER_LINEARS_MAX;
    if (a) a->group = -1;
    if (!a || !(a->L = calloc((size_t)cap, sizeof *a->L)) || !(a->plan = calloc((size_t)cap, sizeof *a->plan))) {
        if (a) free(a->L);
        free(a);
        return tt_fail(TT_ERR_NOMEM, "no memory");
    }
    const tt_plan_backend be = {"alternative", alt_select, tt_plan_backend_registry.packed_size,
                                tt_plan_backend_registry.pack, tt_plan_backend_registry.ws_size,
                                tt_plan_backend_registry.select_gemm};
    const uint64_t seq = tt_alloc_seq();
    tt_status st = TT_OK;
    for (int l = 0; l < m->config.n_layers && !st; l++) {
        linear_src src[LAYER_LINEARS_MAX];
        int ns = layer_linears(m, l, src);
        for (int i = 0; i < ns && !st; i++) {
            tt_linear *L = src[i].L, seg;
            if (L->plan.m != pm || L->plan.k != pk) continue;
            tt_tern w;
            if ((st = linear_trits(m, src[i].np, src[i].ms, src[i].nseg, src[i].k, &seg, &w)))
                break;
            alt_kernel = v;
            st = tt_plan_create(&a->plan[a->n], v->fmt, &w,
                                &(tt_plan_opts){.threads = m->threads, .batch = m->batch, .be = &be,
                                                .granule = L->plan.granule});
            alt_kernel = NULL;
            tt_tern_free(&w);
            if (st) break;
            a->plan[a->n].be = &tt_plan_backend_registry; /* the registry's kernels and layouts, as every model plan */
            a->L[a->n++] = L;
            release_linear_pages(m, src[i].np, src[i].nseg);
        }
    }
    if (!st && !a->n) st = tt_fail(TT_ERR_NOTFOUND, "no linear of the model is %dx%d", pm, pk);
    if (st) {
        tt_model_alt_free(a);
        return st;
    }
    tt_place_report pr; /* placed as the model's weights were, so that both read equally placed bytes */
    if (m->placed_rounds > 0) (void)tt_alloc_place(seq, m->placed_rounds, &pr);
    *out = a;
    return TT_OK;
}

/* The slots of a group in layer l: the fused one and its parts (*np of them). */
static tt_linear *group_slots(tt_model *m, int l, int group, tt_linear **parts, int *np)
{
    tt_layer_weights *w = &m->w.layers[l];
    if (group == 0) {
        parts[0] = &w->wq, parts[1] = &w->wk, parts[2] = &w->wv, *np = 3;
        return &w->wqkv;
    }
    parts[0] = &w->w_gate, parts[1] = &w->w_up, *np = 2;
    return &w->w_gate_up;
}

static void count_linear(tt_model *m, const tt_linear *L, int sign)
{
    if (!L->plan.m) return;
    m->bytes_ternary += (size_t)((long)sign * (long)L->plan.packed_bytes);
    m->bytes_gemm_copy += (size_t)((long)sign * (long)L->plan.packed_g_bytes);
    m->n_fmt[L->plan.fmt] += sign;
}

tt_status tt_model_alt_fusion(tt_model *m, int group, tt_model_alt **out)
{
    *out = NULL;
    if (group != 0 && group != 1) return tt_fail(TT_ERR_VALUE, "tt_model_alt_fusion: group %d", group);
    const int nl = m->config.n_layers;
    tt_model_alt *a = calloc(1, sizeof *a);
    if (!a || !(a->lin = calloc((size_t)nl * 3, sizeof *a->lin))) {
        free(a);
        return tt_fail(TT_ERR_NOMEM, "no memory");
    }
    a->group = group, a->nl = nl;
    bool *flag = group ? &m->fused_gate_up : &m->fused_qkv;
    /* the sources of the other arrangement: layer_linears reads the flag; the notes and counts of the load stay */
    char note[sizeof m->fmt_note];
    int n_fmt[TT_FMT_COUNT];
    memcpy(note, m->fmt_note, sizeof note);
    memcpy(n_fmt, m->n_fmt, sizeof n_fmt);
    *flag = !*flag;
    const uint64_t seq = tt_alloc_seq();
    tt_status st = TT_OK;
    for (int l = 0; l < nl && !st; l++) {
        linear_src src[LAYER_LINEARS_MAX];
        tt_linear *parts[3];
        int np, ns = layer_linears(m, l, src);
        tt_linear *fused = group_slots(m, l, group, parts, &np);
        for (int i = 0; i < ns && !st; i++) {
            int slot = src[i].L == fused ? 0 : -1;
            for (int j = 0; j < np; j++) slot = src[i].L == parts[j] ? j : slot;
            if (slot < 0) continue;
            st = build_linear_multi(m, src[i].np, src[i].ms, src[i].nseg, src[i].k, src[i].granule,
                                    &a->lin[l * 3 + slot]);
            if (!st) a->n++;
        }
    }
    *flag = !*flag;
    memcpy(m->fmt_note, note, sizeof note);
    memcpy(m->n_fmt, n_fmt, sizeof n_fmt);
    if (st) {
        tt_model_alt_free(a);
        return st;
    }
    tt_place_report pr;
    if (m->placed_rounds > 0) (void)tt_alloc_place(seq, m->placed_rounds, &pr);
    *out = a;
    return TT_OK;
}

void tt_model_alt_swap(tt_model *m, tt_model_alt *a)
{
    if (a->group >= 0) { /* the arrangement in the model and the one in the alternative change places */
        for (int l = 0; l < m->config.n_layers; l++) {
            tt_linear *parts[3], *keep = &a->lin[l * 3];
            int np;
            tt_linear *fused = group_slots(m, l, a->group, parts, &np);
            if (fused->plan.m) { /* fused in the model: its parts come in */
                tt_linear f = *fused;
                count_linear(m, fused, -1);
                memset(fused, 0, sizeof *fused);
                for (int j = 0; j < np; j++) *parts[j] = keep[j], count_linear(m, parts[j], 1);
                memset(keep, 0, 3 * sizeof *keep);
                keep[0] = f;
            } else { /* apart in the model: the fused one comes in */
                tt_linear f = keep[0];
                for (int j = 0; j < np; j++) keep[j] = *parts[j], count_linear(m, parts[j], -1), memset(parts[j], 0, sizeof *parts[j]);
                *fused = f;
                count_linear(m, fused, 1);
            }
        }
        bool *flag = a->group ? &m->fused_gate_up : &m->fused_qkv;
        *flag = !*flag;
    }
    for (int i = 0; i < a->n && a->group < 0; i++) {
        tt_plan t = a->L[i]->plan;
        count_linear(m, a->L[i], -1);
        a->L[i]->plan = a->plan[i];
        a->plan[i] = t;
        count_linear(m, a->L[i], 1);
    }
    const tt_linear *big = largest_linear(m);
    m->kernel_name = big->plan.v->name;
    m->gemm_kernel_name = big->plan.vg ? big->plan.vg->name : NULL;
}

int tt_model_alt_linears(const tt_model_alt *a) { return a ? a->n : 0; }

void tt_model_alt_free(tt_model_alt *a)
{
    if (!a) return;
    for (int i = 0; a->lin && i < 3 * a->nl; i++) free_linear(&a->lin[i]); /* the arrangement it holds */
    for (int i = 0; i < a->n && a->group < 0; i++) tt_plan_free(&a->plan[i]);
    free(a->lin);
    free(a->plan);
    free(a->L);
    free(a);
}
