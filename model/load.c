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

/* Unpack the canonical trits from the file (this validates every code: 0b11 is refused), then repack them in
 * the format pick_weights_fmt chose and the layout of the kernel the seam picked for it (and of the GEMM kernel,
 * when it needs another). With
 * several names (all of row length k) the rows are stacked in that order into one fused matrix. */
static tt_status build_linear_multi(tt_model *mod, const char *const *names, const int *ms, int nseg, int k,
                                    int granule, tt_linear *L)
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
    tt_fmt fmt = TT_FMT_I2S;
    if ((st = pick_weights_fmt(mod, m, k, &fmt)) || (st = tt_fmt_check_shape(fmt, m, k)))
        st = tt_fail_prefix(st, "tensor \"%s\"", name);
    else if ((st = tt_plan_create(&L->plan, fmt, &w,
                             &(tt_plan_opts){.threads = threads, .batch = batch, .be = mod->backend, .granule = granule})))
        st = tt_fail_prefix(st, "tensor \"%s\"", name);
    tt_tern_free(&w);
    if (!st)
        for (int i = 0; i < nseg; i++) model_release_pages(g, t[i]->data, t[i]->nbytes);
    return st;
}

static tt_status build_linear(tt_model *mod, const char *name, int m, int k, int granule, tt_linear *L)
{
    return build_linear_multi(mod, (const char *const[]){name}, (const int[]){m}, 1, k, granule, L);
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
                                    c->head_dim, &L->wqkv);
        else if (!(st = build_linear(m, nq, qd, c->dim, c->head_dim, &L->wq)) &&
                 !(st = build_linear(m, nk, kvd, c->dim, c->head_dim, &L->wk)))
            st = build_linear(m, nv, kvd, c->dim, c->head_dim, &L->wv);
        if (st) return st;
        if (m->fused_gate_up)
            st = build_linear_multi(m, (const char *const[]){ngate, nup}, (const int[]){c->hidden_dim, c->hidden_dim},
                                    2, c->dim, 1, &L->w_gate_up);
        else if (!(st = build_linear(m, ngate, c->hidden_dim, c->dim, GATE_UP_GRANULE, &L->w_gate)))
            st = build_linear(m, nup, c->hidden_dim, c->dim, GATE_UP_GRANULE, &L->w_up);
        if (st) return st;
        if ((st = build_norm(g, NAME("attn_norm"), c->dim, &L->attn_norm)) ||
            (st = build_norm(g, NAME("attn_sub_norm"), qd, &L->attn_sub_norm)) ||
            (st = build_linear(m, NAME("attn_output"), c->dim, qd, 1, &L->wo)) ||
            (st = build_norm(g, NAME("ffn_norm"), c->dim, &L->ffn_norm)) ||
            (st = build_norm(g, NAME("ffn_sub_norm"), c->hidden_dim, &L->ffn_sub_norm)) ||
            (st = build_linear(m, NAME("ffn_down"), c->dim, c->hidden_dim, 1, &L->w_down)))
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
