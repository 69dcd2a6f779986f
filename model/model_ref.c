/* model_ref.c — the float reference for tests. It shares only the config reader with the model (load.c): ternary weights
 * are dequantized to f32 matrices of trits (plus s_w), arithmetic is f32, and the one modelled quantization is the
 * per-token int8 activation quantizer in front of every ternary linear. It has no KV cache and works layer by
 * layer over the whole sequence (prefill style, causal mask), so it also checks the fast path's incremental cache.
 * Slow and memory-hungry by design: small models only.
 *
 * Why a linear is y = (Σ T·q in f32) / a_s · s_w and not Σ (s_w·T)·(q/a_s): the int8 quantizer makes the model
 * chaotic under tiny perturbations. A 1-ulp difference in one activation eventually moves some x·a_s across a .5
 * rounding boundary; that q changes by 1, every later quantization sees a ~1e-3 relative change and ~10 % of its
 * roundings flip, and after three layers logits differ by ~2 % (measured on the tiny models: the first flip comes
 * within a few tokens). The f32 sum of integer-valued products is exact (|Σ| <= 127·K < 2^24), so this form keeps
 * the reference in f32 yet on the same rounding path as the exact integer kernels (docs/FORMATS.md §1: the two final
 * float operations are the only ones shared). */
#include "model.h"
#include "tt_tq.h"
#include "tt_q32.h"
#include "tt_q6k.h"
#include "tt_dense.h"
#include "tt_half.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_linear {
    float *w; /* (m, k) = T as f32 */
    float scale; /* s_w */
    int m, k;
} ref_linear;

typedef struct ref_layer {
    const float *attn_norm, *attn_sub_norm, *ffn_norm, *ffn_sub_norm;
    ref_linear q, k, v, o, gate, up, down;
} ref_layer;

struct tt_model_ref {
    tt_model_config c;
    tt_gguf *g;
    float *embd; /* (vocab, dim) */
    bool head_f16; /* the tied head is f16 in the file: its input is rounded to f16, as llama.cpp converts it */
    bool head_q8_0; /* q8_0 in the file: the input goes to q8_0 blocks, the product is per block (ggml's) */
    bool head_q6_k; /* q6_K in the file: the input goes to Q8_K blocks of 256 (ggml's), E dequantized */
    bool head_q4_0; /* q4_0 in the file: the input goes to q8_0 blocks of 32 (ggml's), E dequantized */
    const uint8_t *head_raw; /* the q8_0 head as stored */
    const float *output_norm;
    ref_layer *layers;
};

const tt_model_config *tt_model_ref_config(const tt_model_ref *r) { return &r->c; }

static tt_status ref_tensor(const tt_gguf *g, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1,
                            const tt_gguf_tensor **out)
{
    const tt_gguf_tensor *t = tt_gguf_find_tensor(g, name);
    if (!t || t->type != type || t->ne[0] != ne0 || t->ne[1] != ne1)
        return tt_fail(TT_ERR_FORMAT, "reference: tensor \"%s\" missing or not %s [%llu, %llu]", name,
                       tt_ggml_type_name(type), (unsigned long long)ne0, (unsigned long long)ne1);
    *out = t;
    return TT_OK;
}

static tt_status ref_linear_load(const tt_gguf *g, const char *name, int m, int k, ref_linear *L)
{
    const tt_gguf_tensor *t = NULL;
    const tt_gguf_tensor *any = tt_gguf_find_tensor(g, name); /* I2_S, or mainline's TQ1_0 / TQ2_0 (tt_tq.h) */
    tt_status st = ref_tensor(g, name, any && (any->type == TT_GGML_TQ1_0 || any->type == TT_GGML_TQ2_0) ? any->type
                                                                                                     : TT_GGML_I2_S,
                              (uint64_t)k, (uint64_t)m, &t);
    if (st) return st;
    tt_tern w;
    if ((st = tt_tern_alloc(&w, m, k))) return st;
    if ((st = tt_ternary_unpack(g, t, &w))) {
        tt_tern_free(&w);
        return st;
    }
    L->m = m;
    L->k = k;
    L->w = malloc((size_t)m * k * sizeof(float));
    if (!L->w) {
        tt_tern_free(&w);
        return tt_fail(TT_ERR_NOMEM, "reference: no memory");
    }
    for (size_t i = 0; i < (size_t)m * k; i++) L->w[i] = (float)w.t[i];
    L->scale = w.scale;
    tt_tern_free(&w);
    return TT_OK;
}

static tt_status ref_norm(const tt_gguf *g, const char *name, int n, const float **out)
{
    const tt_gguf_tensor *t = NULL;
    tt_status st = ref_tensor(g, name, TT_GGML_F32, (uint64_t)n, 1, &t);
    if (!st) *out = (const float *)t->data;
    return st;
}

void tt_model_ref_close(tt_model_ref *r)
{
    if (!r) return;
    if (r->layers)
        for (int l = 0; l < r->c.n_layers; l++) {
            ref_layer *L = &r->layers[l];
            ref_linear *all[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
            for (int i = 0; i < 7; i++) free(all[i]->w);
        }
    free(r->layers);
    free(r->embd);
    tt_gguf_close(r->g);
    free(r);
}

tt_status tt_model_ref_open(const char *path, tt_model_ref **out)
{
    if (!path || !out) return tt_fail(TT_ERR_NULL, "tt_model_ref_open: NULL argument");
    *out = NULL;
    tt_model_ref *r = calloc(1, sizeof *r);
    if (!r) return tt_fail(TT_ERR_NOMEM, "reference: no memory");
    tt_status st = tt_gguf_open(path, &r->g);
    if (!st) st = tt_model_config_read(r->g, &r->c);
    const tt_model_config *c = &r->c;
    const tt_gguf_tensor *te = st ? NULL : tt_gguf_find_tensor(r->g, "token_embd.weight");
    if (!st && (!te || te->ne[0] != (uint64_t)c->dim || te->ne[1] != (uint64_t)c->vocab_size))
        st = tt_fail(TT_ERR_FORMAT, "reference: token_embd.weight missing or misshapen");
    if (!st && !(r->embd = malloc((size_t)c->vocab_size * c->dim * sizeof(float))))
        st = tt_fail(TT_ERR_NOMEM, "reference: no memory");
    if (!st) {
        size_t n = (size_t)c->vocab_size * c->dim;
        r->head_f16 = te->type == TT_GGML_F16;
        r->head_q8_0 = te->type == TT_GGML_Q8_0;
        r->head_q6_k = te->type == TT_GGML_Q6_K;
        r->head_q4_0 = te->type == TT_GGML_Q4_0;
        r->head_raw = te->data;
        if (te->type == TT_GGML_F32) memcpy(r->embd, te->data, n * 4);
        else if (te->type == TT_GGML_F16)
            for (size_t i = 0; i < n; i++) {
                uint16_t h;
                memcpy(&h, te->data + 2 * i, 2);
                r->embd[i] = tt_half_to_float(h);
            }
        else if (te->type == TT_GGML_Q4_0)
            tt_q40_dequant(te->data, (int)n, r->embd); /* checked on ggml's loop shape in test_q40 */
        else if (te->type == TT_GGML_Q6_K)
            tt_q6k_dequant(te->data, (int)n, r->embd); /* the one decoder of the layout (checked on ggml's own block
                                                          * vectors in test_q6k) */
        else if (te->type == TT_GGML_Q8_0)
            for (size_t b = 0; b < n / 32; b++) {
                const uint8_t *p = te->data + b * TT_Q8_0_BYTES;
                uint16_t h;
                memcpy(&h, p, 2);
                for (int i = 0; i < 32; i++) r->embd[b * 32 + i] = tt_half_to_float(h) * (float)(int8_t)p[2 + i];
            }
        else st = tt_fail(TT_ERR_FORMAT, "reference: token_embd type %s", tt_ggml_type_name(te->type));
    }
    if (!st) st = ref_norm(r->g, "output_norm.weight", c->dim, &r->output_norm);
    if (!st && !(r->layers = calloc((size_t)c->n_layers, sizeof *r->layers)))
        st = tt_fail(TT_ERR_NOMEM, "reference: no memory");
    int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    for (int l = 0; !st && l < c->n_layers; l++) {
        ref_layer *L = &r->layers[l];
        char n[TT_GGUF_NAME_MAX];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d." s ".weight", l), n)
        if ((st = ref_norm(r->g, NAME("attn_norm"), c->dim, &L->attn_norm)) ||
            (st = ref_norm(r->g, NAME("attn_sub_norm"), qd, &L->attn_sub_norm)) ||
            (st = ref_norm(r->g, NAME("ffn_norm"), c->dim, &L->ffn_norm)) ||
            (st = ref_norm(r->g, NAME("ffn_sub_norm"), c->hidden_dim, &L->ffn_sub_norm)) ||
            (st = ref_linear_load(r->g, NAME("attn_q"), qd, c->dim, &L->q)) ||
            (st = ref_linear_load(r->g, NAME("attn_k"), kvd, c->dim, &L->k)) ||
            (st = ref_linear_load(r->g, NAME("attn_v"), kvd, c->dim, &L->v)) ||
            (st = ref_linear_load(r->g, NAME("attn_output"), c->dim, qd, &L->o)) ||
            (st = ref_linear_load(r->g, NAME("ffn_gate"), c->hidden_dim, c->dim, &L->gate)) ||
            (st = ref_linear_load(r->g, NAME("ffn_up"), c->hidden_dim, c->dim, &L->up)) ||
            (st = ref_linear_load(r->g, NAME("ffn_down"), c->dim, c->hidden_dim, &L->down)))
            break;
#undef NAME
    }
    if (st) {
        tt_model_ref_close(r);
        return st;
    }
    *out = r;
    return TT_OK;
}

static void ref_rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
    float ss = tt_dense_dot_f32_ref(x, x, n); /* the model's summation order (kernels/tt_dense.h) */
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++) o[i] = x[i] * inv * w[i];
}

/* The modelled activation quantization, then a plain f32 matrix-vector product (exact: see the top). */
static void ref_matvec(const ref_linear *L, const float *x, float *y, int8_t *q, float *xd)
{
    float a_s;
    int32_t sum_q;
    tt_quant_act(x, L->k, q, &a_s, &sum_q);
    for (int i = 0; i < L->k; i++) xd[i] = (float)q[i];
    for (int r = 0; r < L->m; r++) {
        const float *w = L->w + (size_t)r * L->k;
        float acc = 0.0f;
        for (int i = 0; i < L->k; i++) acc += w[i] * xd[i];
        y[r] = acc / a_s * L->scale;
    }
}

/* x rounded to the nearest half, through the portable converters of tt_half.h (the model uses tt_dense_round_f16) */
static void ref_f16(float *x, int n)
{
    for (int i = 0; i < n; i++) x[i] = tt_half_to_float(tt_float_to_half(x[i]));
}

/* NEOX RoPE (forward.c's top comment): in each head, element i turns with element i + rope_dim/2; the angles are
 * tt_rope_cache's (ggml's recurrence), the rotation written out here on its own. */
static void ref_rope(float *v, int n_heads, int hd, int rope_dim, int pos, float theta, float *cs)
{
    int half = rope_dim / 2;
    tt_rope_cache(cs, rope_dim, pos, theta);
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < half; i++) {
            float *p = v + h * hd, x0 = p[i], x1 = p[i + half], c = cs[i], s = cs[half + i];
            p[i] = x0 * c - x1 * s;
            p[i + half] = x0 * s + x1 * c;
        }
}

tt_status tt_model_ref_forward(tt_model_ref *r, const int *tokens, int n, bool all, float *logits)
{
    if (!r || !tokens || !logits) return tt_fail(TT_ERR_NULL, "tt_model_ref_forward: NULL argument");
    const tt_model_config *c = &r->c;
    if (n < 1 || n > c->seq_len) return tt_fail(TT_ERR_VALUE, "reference: %d tokens (1..%d)", n, c->seq_len);
    for (int t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= c->vocab_size)
            return tt_fail(TT_ERR_VALUE, "reference: token %d out of range", tokens[t]);
    int D = c->dim, H = c->hidden_dim, hd = c->head_dim, qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    int wide = D > H ? D : H, group = c->n_heads / c->n_kv_heads;
    float *X = malloc((size_t)n * D * sizeof(float)), *Q = malloc((size_t)n * qd * sizeof(float)),
          *K = malloc((size_t)n * kvd * sizeof(float)), *V = malloc((size_t)n * kvd * sizeof(float)),
          *A = malloc((size_t)n * qd * sizeof(float)), *xb = malloc((size_t)wide * sizeof(float)),
          *xd = malloc((size_t)wide * sizeof(float)), *g = malloc((size_t)H * sizeof(float)),
          *u = malloc((size_t)H * sizeof(float)), *y = malloc((size_t)D * sizeof(float)),
          *att = malloc((size_t)n * sizeof(float)), *cs = malloc((size_t)c->rope_dim * sizeof(float));
    int8_t *q8 = malloc((size_t)wide);
    tt_status st = TT_OK;
    if (!X || !Q || !K || !V || !A || !xb || !xd || !g || !u || !y || !att || !cs || !q8) {
        st = tt_fail(TT_ERR_NOMEM, "reference: no memory");
        goto out;
    }
    for (int t = 0; t < n; t++) memcpy(X + (size_t)t * D, r->embd + (size_t)tokens[t] * D, (size_t)D * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        const ref_layer *L = &r->layers[l];
        for (int t = 0; t < n; t++) { /* projections for every position */
            ref_rmsnorm(xb, X + (size_t)t * D, L->attn_norm, D, c->norm_eps);
            ref_matvec(&L->q, xb, Q + (size_t)t * qd, q8, xd);
            ref_matvec(&L->k, xb, K + (size_t)t * kvd, q8, xd);
            ref_matvec(&L->v, xb, V + (size_t)t * kvd, q8, xd);
            ref_rope(Q + (size_t)t * qd, c->n_heads, hd, c->rope_dim, t, c->rope_theta, cs);
            ref_rope(K + (size_t)t * kvd, c->n_kv_heads, hd, c->rope_dim, t, c->rope_theta, cs);
            /* llama.cpp's f16 KV cache, and its f16 conversion of q for K·q */
            ref_f16(Q + (size_t)t * qd, qd);
            ref_f16(K + (size_t)t * kvd, kvd);
            ref_f16(V + (size_t)t * kvd, kvd);
        }
        for (int t = 0; t < n; t++) /* causal attention */
            for (int h = 0; h < c->n_heads; h++) {
                const float *qv = Q + (size_t)t * qd + h * hd;
                int kvh = h / group;
                for (int s = 0; s <= t; s++) {
                    const float *kv = K + (size_t)s * kvd + kvh * hd;
                    float d = tt_dense_dot_f32_ref(qv, kv, hd);
                    att[s] = d / sqrtf((float)hd);
                }
                /* ggml's softmax: a double sum, then a multiply by the f32 reciprocal (tritune's exp and order) */
                tt_dense_softmax_ref(att, t + 1);
                ref_f16(att, t + 1); /* the weights as llama.cpp's f16 V·softmax product converts them */
                float *o = A + (size_t)t * qd + h * hd;
                for (int i = 0; i < hd; i++) o[i] = 0.0f;
                for (int s = 0; s <= t; s++)
                    for (int i = 0; i < hd; i++) o[i] += att[s] * V[(size_t)s * kvd + kvh * hd + i];
            }
        for (int t = 0; t < n; t++) {
            float *x = X + (size_t)t * D;
            ref_rmsnorm(xb, A + (size_t)t * qd, L->attn_sub_norm, qd, c->norm_eps);
            ref_matvec(&L->o, xb, y, q8, xd);
            for (int i = 0; i < D; i++) x[i] += y[i];
            ref_rmsnorm(xb, x, L->ffn_norm, D, c->norm_eps);
            ref_matvec(&L->gate, xb, g, q8, xd);
            ref_matvec(&L->up, xb, u, q8, xd);
            for (int i = 0; i < H; i++) {
                float a = c->act == TT_ACT_RELU2 ? (g[i] > 0 ? g[i] * g[i] : 0.0f) : g[i] / (1.0f + expf(-g[i]));
                g[i] = a * u[i];
            }
            ref_rmsnorm(g, g, L->ffn_sub_norm, H, c->norm_eps);
            ref_matvec(&L->down, g, y, q8, xd);
            for (int i = 0; i < D; i++) x[i] += y[i];
        }
    }
    for (int t = all ? 0 : n - 1; t < n; t++) {
        float *out = logits + (all ? (size_t)t * c->vocab_size : 0);
        ref_rmsnorm(xb, X + (size_t)t * D, r->output_norm, D, c->norm_eps);
        if (r->head_f16) ref_f16(xb, D);
        if (r->head_q8_0) { /* ggml's q8_0 product: activations in blocks of 32, an integer dot per block */
            for (int v = 0; v < c->vocab_size; v++) {
                const uint8_t *row = r->head_raw + (size_t)v * (D / 32) * 34;
                float acc = 0.0f;
                for (int b = 0; b < D / 32; b++) {
                    float amax = 0.0f;
                    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xb[32 * b + i]));
                    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
                    float da = tt_half_to_float(tt_float_to_half(amax / 127.0f));
                    float dw = tt_half_to_float((uint16_t)(row[34 * b] | row[34 * b + 1] << 8));
                    int32_t isum = 0;
                    for (int i = 0; i < 32; i++) isum += (int8_t)row[34 * b + 2 + i] * (int)nearbyintf(xb[32 * b + i] * id);
                    acc += (dw * da) * (float)isum;
                }
                out[v] = acc;
            }
            continue;
        }
        if (r->head_q4_0) /* the input to q8_0 blocks as ggml's x86 path rounds it (d = max|x|/127 in f16, q = x·127/max
                           * rounded half-even), then the float product with the dequantized rows */
            for (int b = 0; b < D / 32; b++) {
                float amax = 0.0f;
                for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xb[32 * b + i]));
                float id = amax != 0.0f ? 127.0f / amax : 0.0f, da = tt_half_to_float(tt_float_to_half(amax / 127.0f));
                for (int i = 0; i < 32; i++) xb[32 * b + i] = nearbyintf(xb[32 * b + i] * id) * da;
            }
        if (r->head_q6_k) { /* the input to Q8_K as ggml rounds it (max-magnitude element -> -127), then in double
                             * Σ_blocks d8 · Σ E·q8: the dequantized rows, not the integer form the model uses */
            for (int b = 0; b < D / 256; b++) {
                float mx = 0.0f, amax = 0.0f;
                for (int i = 0; i < 256; i++)
                    if (fabsf(xb[256 * b + i]) > amax) amax = fabsf(xb[256 * b + i]), mx = xb[256 * b + i];
                float is = amax > 0.0f ? -127.0f / mx : 0.0f;
                for (int i = 0; i < 256; i++) {
                    float q = nearbyintf(is * xb[256 * b + i]);
                    xb[256 * b + i] = (q > 127.0f ? 127.0f : q) * (amax > 0.0f ? 1.0f / is : 0.0f);
                }
            }
        }
        for (int v = 0; v < c->vocab_size; v++) {
            const float *e = r->embd + (size_t)v * D;
            float acc = 0.0f;
            for (int i = 0; i < D; i++) acc += e[i] * xb[i];
            out[v] = acc;
        }
    }
out:
    free(X), free(Q), free(K), free(V), free(A), free(xb), free(xd), free(g), free(u), free(y), free(att), free(cs), free(q8);
    return st;
}
