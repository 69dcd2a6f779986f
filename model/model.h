/* model.h — a minimal BitNet b1.58 inference model in the style of llama2.c: a config read from GGUF keys,
 * weights mmapped from the file (ternary matrices repacked once at load into the layout of the kernel that runs
 * them), one readable forward pass (docs/FORMATS.md §7), and exactly one seam where a ternary GEMV is dispatched.
 *
 * Also here: the float reference (model_ref.c) used by the tests, and the synthetic model writer (synth.c). */
#ifndef TT_MODEL_H
#define TT_MODEL_H

#include "gguf.h"
#include "tt_format.h"
#include "tt_pool.h"
#include "tt_plan.h"
#include "tt_dense.h"
#include "tt_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_act { TT_ACT_RELU2 = 0, TT_ACT_SILU } tt_act;
/* RoPE pairing, as llama.cpp names it (enum llama_rope_type: LLAMA_ROPE_TYPE_NEOX): NEOX rotates element i of
 * a head with element i + rope_dim/2 (HF's rotate_half order, kept in the weights by the converters). llama.cpp's
 * NORM type (adjacent pairs 2i, 2i+1) is not used by any architecture this model runs, so it is not implemented. */
typedef enum tt_rope_type { TT_ROPE_NEOX = 0 } tt_rope_type;
/* Normalisation layout: RMSNorm before attention and FFN, plus BitNet's sub-norms (attn_sub_norm before o_proj,
 * ffn_sub_norm before down_proj) and the final output_norm. */
typedef enum tt_norm_kind { TT_NORM_RMS_SUBLN = 0 } tt_norm_kind;

/* The architectures this model runs, one row each: what llama.cpp (and bitnet.cpp's fork of it) computes for that
 * general.architecture value. Read from the table in load.c; nothing else decides these. */
typedef struct tt_model_arch {
    const char *name;  /* general.architecture, also the prefix of its metadata keys */
    tt_rope_type rope;
    tt_act act;        /* gated FFN: act(gate) ⊙ up */
    tt_norm_kind norm;
    const char *source; /* where the facts come from */
} tt_model_arch;
/* The row for general.architecture (len bytes, not NUL-terminated), or NULL. */
const tt_model_arch *tt_model_arch_find(const char *name, size_t len);
/* Every row (for messages and the CLI); *n gets the count. */
const tt_model_arch *tt_model_arch_table(int *n);

/* LM head formats: the tied embedding as stored (f16 or q8_0 in the file), or requantized at load to int8 rows
 * with one f32 scale per row ("q8": absmax per row, activations stay f32). */
typedef enum tt_lm_head { TT_LM_HEAD_FILE = 0, TT_LM_HEAD_Q8 } tt_lm_head;
/* Fusing q/k/v and gate/up into one GEMV each: AUTO when the baked profile's medians say the fused shape is faster
 * than its parts (no profile: not fused), or always / never. */
typedef enum tt_fuse { TT_FUSE_AUTO = 0, TT_FUSE_ON, TT_FUSE_OFF } tt_fuse;

/* The storage format the ternary matrices are repacked into at load (all exact: the same int32 dots, so the same
 * logits bit for bit). AUTO: per matrix, the format of the wisdom's winner for its shape and thread count
 * (tt_pick_fmt: the tuner races I2_S, TL1 and TL2 kernels on each shape), I2_S without one. */
typedef enum tt_weights { TT_WEIGHTS_AUTO = 0, TT_WEIGHTS_I2S, TT_WEIGHTS_TL1, TT_WEIGHTS_TL2, TT_WEIGHTS_B3 } tt_weights;

typedef struct tt_model_config {
    char arch[32];      /* "bitnet-b1.58" (ReLU² FFN) or "bitnet" (SiLU FFN) */
    int dim;            /* hidden size: 2560 for 2B4T */
    int hidden_dim;     /* FFN inner size: 6912 */
    int n_layers;       /* 30 */
    int n_heads;        /* 20 */
    int n_kv_heads;     /* 5 (GQA 4:1) */
    int head_dim;       /* 128 = dim / n_heads */
    int rope_dim;       /* rope.dimension_count: the whole head dim for BitNet */
    int vocab_size;     /* 128256 */
    int seq_len;        /* context_length from the file: 4096 */
    float rope_theta;   /* 500000 */
    float norm_eps;     /* 1e-5 */
    tt_act act;         /* from the architecture's row (tt_model_arch) */
    tt_rope_type rope;  /* likewise */
    int bos, eos;       /* -1 when the file does not say */
} tt_model_config;

/* Read and check the config (keys prefixed by the architecture, docs/FORMATS.md §8). */
tt_status tt_model_config_read(const tt_gguf *g, tt_model_config *c);
/* Ranges, divisibility (heads, GQA groups), RoPE dims, and I2_S row lengths (dim, hidden_dim % 128). */
tt_status tt_model_config_check(const tt_model_config *c);

/* ---- the GEMV seam ----
 * How a ternary matrix is packed and which kernel runs it: a plan per matrix (kernels/tt_plan.h), created at load
 * by the model's backend, tt_model_opts.backend: tt_plan_backend_registry (the default: the wisdom's winner for
 * (m, k, threads), else the static default; TRITUNE_KERNEL honoured; TRITUNE_DEBUG=1 logs it) or
 * tt_plan_backend_oracle (the scalar format oracle: slow, always right; the tests check the registry path against
 * it bit for bit). There is no global one. */
/* One ternary linear layer y = s_w · T · x, T of m rows × k columns, stored in its kernel's layout. A fused linear
 * stacks the rows of 2 or 3 tensors of the same K (q/k/v, gate/up) into one matrix: one GEMV, one weight stream;
 * its outputs are split back into segments, each with its tensor's scale. */
#define TT_LINEAR_MAX_SEG 3
typedef struct tt_linear {
    tt_plan plan;        /* kernel(s), packed copies, workspace, thread split (plan.m x plan.k) */
    float scale;         /* s_w from the tensor's tail (of the first segment) */
    int nseg;            /* 1, or the number of tensors fused */
    int seg_m[TT_LINEAR_MAX_SEG];       /* rows of each segment, in order */
    float seg_scale[TT_LINEAR_MAX_SEG]; /* each segment's s_w */
} tt_linear;

typedef struct tt_layer_weights {
    const float *attn_norm;     /* (dim) */
    tt_linear wq;               /* (n_heads*head_dim, dim) */
    tt_linear wk;               /* (n_kv_heads*head_dim, dim) */
    tt_linear wv;               /* (n_kv_heads*head_dim, dim) */
    const float *attn_sub_norm; /* (n_heads*head_dim) */
    tt_linear wo;               /* (dim, n_heads*head_dim) */
    const float *ffn_norm;      /* (dim) */
    tt_linear w_gate;           /* (hidden_dim, dim) */
    tt_linear w_up;             /* (hidden_dim, dim) */
    const float *ffn_sub_norm;  /* (hidden_dim) */
    tt_linear w_down;           /* (dim, hidden_dim) */
    tt_linear wqkv;             /* q, k, v fused (m = 0 when not: then wq, wk, wv are used, else they are empty) */
    tt_linear w_gate_up;        /* gate, up fused (m = 0 when not) */
} tt_layer_weights;

typedef struct tt_model_weights {
    const tt_gguf_tensor *token_embd; /* (vocab, dim) f32/f16/q8_0/q6_K/q4_0 in the file: embedding and tied LM head */
    tt_layer_weights *layers;         /* (n_layers) */
    const float *output_norm;         /* (dim) */
    tt_gguf_tensor embd_copy;         /* token_embd with its data in a huge-page copy (file head), see build_weights */
    uint8_t *embd_data;               /* that copy (owned), or NULL: token_embd points into the file */
    int8_t *head_q8;                  /* (vocab, dim) when lm_head == TT_LM_HEAD_Q8, else NULL */
    uint8_t *head_il;                 /* the file's head interleaved for an _il member (tt_dense_pack), or NULL */
    float *head_q8_scale;             /* (vocab) */
} tt_model_weights;

/* Activations for one token, plus the KV cache (f16, as llama.cpp's default cache type). */
typedef struct tt_run_state {
    /* Per-token rows: cap tokens (1 for decode; m->batch once a batched prefill has run), row t of each at t times
     * its width. Decode uses row 0. */
    int cap;
    size_t ldq;     /* stride of xq and ws: max(dim, hidden_dim) rounded up to 64 */
    float *x;       /* (cap, dim) residual streams */
    float *xb;      /* (cap, max(dim, hidden_dim)) normalized inputs; the attention's outputs at stride n_heads*head_dim */
    float *xb2;     /* (cap, dim) output of o_proj / down_proj before the residual add */
    float *q;       /* (cap, n_heads*head_dim) */
    float *kb, *vb; /* (cap, n_kv_heads*head_dim) k and v as the GEMV gives them, before they enter the cache */
    float *hb, *hb2; /* (cap, hidden_dim) gate, up */
    float *rope_cs; /* (cap, rope_dim) cos then sin of each frequency at each token's position (tt_rope_cache) */
    int8_t *xq;     /* (cap, ldq) quantized activations */
    void *ws;       /* (cap, ldq) + 64: prepped activations for GEMM kernels with a prep */
    float *a_s;     /* (cap) activation scales */
    int32_t *sum_q; /* (cap) */
    int32_t *dot;   /* (cap, max rows of a linear group) exact integer dots */
    /* Independent of the number of tokens */
    float *att;     /* (n_heads, n_ctx) scores */
    float *logits;  /* (vocab) */
    tt_qin head_in;  /* the LM head's input in blocks for a quantized file head: q8_0 (q8_0, q4_0) or Q8_K (q6_K) */
    /* (n_layers, n_kv_heads, n_ctx, head_dim) IEEE halves: each key/value head's rows back to back (forward.c, kv_at).
     * The values are what an f32 cache of f16-rounded values held (the same logits, bit for bit), in half the bytes
     * the attention reads. */
    uint16_t *key_cache, *value_cache;
} tt_run_state;

typedef struct tt_model_opts {
    int threads;         /* GEMV / LM-head worker threads, >= 1 */
    int n_ctx;           /* KV cache length; 0 = min(seq_len, 4096) (calloc'd: resident only as it fills) */
    tt_lm_head lm_head;
    int batch;           /* prefill tokens per weight pass (chunk); 0 = TT_MODEL_BATCH_DEFAULT, 1 = token by token */
    tt_fuse fuse;        /* q/k/v and gate/up as one GEMV each (see tt_fuse) */
    tt_weights weights;  /* format of the ternary matrices (see tt_weights) */
    void (*bind)(void *ctx, int idx); /* optional: pins pool thread idx (0 = the caller, pinned in tt_model_open) */
    void *bind_ctx;
    const tt_plan_backend *backend; /* the GEMV seam for this model; NULL = &tt_plan_backend_registry */
    const char *head_kernel;        /* LM-head kernel by name (a member of the head's kind); NULL: TRITUNE_HEAD_KERNEL,
                                     * else the wisdom's winner or the default */
    int place;                      /* > 0: move the weights onto the process's fastest 2 MiB pages at load
                                     * (tt_alloc_place, this many probe rounds); < 0: no; 0: TRITUNE_PLACE=<rounds>
                                     * (0: no), else TT_MODEL_PLACE_DEFAULT */
    int calibrate;                  /* where no tuned winner applies, time the untuned kernels' prefetch siblings and
                                     * the head's members on the model's weights at load (docs/MEASUREMENT.md):
                                     * > 0 that many passes, < 0 no, 0: TRITUNE_CALIBRATE=<passes> (0: no), else
                                     * TT_MODEL_CALIB_DEFAULT */
} tt_model_opts;

#define TT_MODEL_BATCH_DEFAULT 64
#define TT_MODEL_PLACE_DEFAULT 8 /* probe rounds of the load-time placement (docs/MEASUREMENT.md) */
#define TT_MODEL_CALIB_DEFAULT 2 /* passes of the load-time calibration over the untuned weights */
#define TT_MODEL_CALIB_MAX 16
#define TT_CALIB_GAIN 1.03       /* a calibrated kernel replaces the static default only when this much faster */
#define TT_MODEL_BATCH_MAX 512

/* Where decode time goes (tt_model_forward only; off unless tt_model.prof is set): wall time on the calling thread
 * between marks, so a phase that runs on the pool includes waiting for its slowest worker. */
typedef enum tt_prof_phase {
    TT_PROF_EMBED,
    TT_PROF_ELEMWISE, /* norms, RoPE, cache writes, residual adds, activation */
    TT_PROF_QUANT,    /* int8 activation quantization (and kernel prep) */
    TT_PROF_QKV,
    TT_PROF_ATTN,
    TT_PROF_WO,
    TT_PROF_GATE_UP,
    TT_PROF_DOWN,
    TT_PROF_HEAD,
    TT_PROF_COUNT
} tt_prof_phase;
const char *tt_prof_phase_name(tt_prof_phase p);

typedef struct tt_model {
    tt_model_config config;
    tt_model_weights w;
    tt_run_state s;
    tt_gguf *gguf;   /* owns the mapping the weights point into */
    int n_ctx;
    int threads;
    tt_lm_head lm_head;
    tt_pool *pool;
    const tt_plan_backend *backend; /* the seam every linear was packed and picked through (never NULL) */
    uint64_t n_params;          /* all tensor elements in the file */
    size_t bytes_ternary;       /* packed ternary bytes streamed per token */
    size_t bytes_head;          /* LM head bytes streamed per token */
    size_t bytes_other;         /* norms and embedding row per token */
    const char *kernel_name;    /* kernel of the largest matrix (for reports) */
    const char *gemm_kernel_name; /* GEMM kernel of the largest matrix, NULL when prefill runs token by token */
    int batch;                  /* prefill chunk (tokens per weight pass); 1 = token by token */
    size_t bytes_gemm_copy;     /* extra packed bytes for GEMM kernels whose layout differs from the GEMV one */
    tt_fuse fuse;
    bool fused_qkv, fused_gate_up; /* the decision of tt_model_opts.fuse */
    tt_weights weights;
    int n_fmt[TT_FMT_COUNT];    /* ternary matrices held in each tt_fmt (I2_S, TL1, TL2, B3) */
    char fmt_note[768];         /* the format of each matrix shape, and why (for reports) */
    const struct tt_dense_variant *head_v; /* LM-head kernel (a member of the head family; NULL: f32 file head) */
    char head_note[192];        /* which, and how it was chosen */
    char place_note[192];       /* what tt_alloc_place did at load ("" when not asked for) */
    char pages_note[256];       /* how much of the model's buffers huge pages back after the load (tt_alloc_huge) */
    double huge_frac;           /* that share, 0..1 (-1: not known) */
    char calib_note[512];       /* what the load-time calibration did (model_calibrate; "" when not asked for) */
    bool head_untuned;          /* the head kernel is the static default (no usable tuned winner, none forced) */
    int placed_rounds;          /* the placement's probe rounds when the weights were placed, else 0 */
    char fuse_note[256];        /* why, for reports */
    bool prof;                  /* accumulate prof_ns per decode phase */
    double prof_ns[TT_PROF_COUNT];
    long prof_t;                /* time of the last mark */
} tt_model;

tt_status tt_model_open(const char *path, const tt_model_opts *opts, tt_model **out);
void tt_model_close(tt_model *m);

/* Run one token at position pos (0 <= pos < n_ctx); fills m->s.logits when want_logits. Positions must be fed in
 * order; feeding pos again overwrites the cache from there (so restarting at 0 resets the sequence). */
tt_status tt_model_forward(tt_model *m, int token, int pos, bool want_logits);

/* Batched prefill: run tokens[0..n) at positions pos0..pos0+n-1 in chunks of m->batch tokens, each chunk one GEMM
 * per linear layer (q/k/v share the quantized activations, gate/up share theirs), causal attention over the cache;
 * fills m->s.logits for the last token when want_logits. Same float operations in the same order as n calls of
 * tt_model_forward, so the cache and logits are bit-identical to token-by-token decoding. With batch 1 or no GEMM
 * kernel it is exactly those calls. */
tt_status tt_model_prefill(tt_model *m, const int *tokens, int n, int pos0, bool want_logits);

int tt_argmax(const float *v, int n);

/* What a requantized LM head (--lm-head q8, lossy) costs in accuracy against the file's own head: the model decodes
 * a fixed sequence of `positions` pseudo-random token ids (TT_HEAD_CHECK_SEED; positions 0.., bounded by n_ctx; the
 * cache rows it writes are overwritten by the next sequence), and at each position both heads score the same final
 * hidden state, each with its own input rounding and kernel. */
#define TT_HEAD_CHECK_SEED 0x7472697475ull
#define TT_HEAD_CHECK_POSITIONS 16
typedef struct tt_head_error {
    int positions;    /* positions compared */
    int top1_agree;   /* positions where both heads' argmax is the same token */
    double mean_abs;  /* mean |logit difference| over positions x vocab */
    double max_abs;   /* largest |logit difference| */
    double logit_std; /* standard deviation of the file head's logits (scale for the above) */
    char file_head[32]; /* the file head's format (f16, q8_0, ...) */
} tt_head_error;
/* Refused (TT_ERR_VALUE) unless m->lm_head is TT_LM_HEAD_Q8. */
tt_status tt_model_head_error(tt_model *m, int positions, tt_head_error *e);

/* The decode's compute ceiling (model/warm.c): every linear of layer 0 and the LM head, each with the kernel the model
 * picked, on the first rows of its own weights that stay in the caches (4 MiB per matrix), the model's threads each on
 * its even share, median of reps calls. Per token at those rates: gemv_s for the ternary GEMVs (all layers), head_s
 * for the head; what decode would take if no read waited for memory. Overwrites the run state's scratch (xq, dot, xb,
 * logits): call it between passes, not inside one. */
typedef struct tt_warm_ceiling {
    double gemv_s, head_s;         /* seconds per token */
    double gemv_bytes, head_bytes; /* the bytes they stand for (per token) */
} tt_warm_ceiling;
tt_status tt_model_warm_ceiling(tt_model *m, int reps, tt_warm_ceiling *out);
/* Makes v (a member of the model's head kind) the LM-head kernel, with the bytes it reads: an interleaving member
 * (_il16) its packed copy of the file's head, a member on the rows as stored a copy of them on huge pages; either is
 * made once and kept, and placed as tt_model_open placed the weights. Nothing changes a bit of the logits. */
tt_status tt_model_head_use(tt_model *m, const struct tt_dense_variant *v);

/* ---- another kernel for the matrices of one shape (the tuner's in-model stage, `tritune tune-model`) ----
 * tt_model_alt_build plans every linear whose matrix is pm x pk (a fused q/k/v or gate/up counts as its stacked
 * shape) for GEMV kernel v, of any format (all exact: the logits do not change by a bit), repacked from the file's
 * trits with the model's thread split and prefill batch; the copies are placed as tt_model_open placed the weights.
 * The model runs its own plans until tt_model_alt_swap exchanges them with the alternative's (call it again to swap
 * back); tt_model_alt_free frees whichever plans the alternative holds then. Not between a prefill's chunks. */
typedef struct tt_model_alt tt_model_alt;
tt_status tt_model_alt_build(tt_model *m, int pm, int pk, const tt_variant *v, tt_model_alt **out);
void tt_model_alt_swap(tt_model *m, tt_model_alt *a);
int tt_model_alt_linears(const tt_model_alt *a); /* how many linears it replans */
/* The other arrangement of a group of matrices that share an input, q/k/v (group 0) or gate/up (1): one fused matrix
 * where the model runs them apart, apart where it runs them fused, each planned as tt_model_open plans it (the
 * wisdom's format and kernel for its shape, repacked from the file's trits) and placed likewise.
 * tt_model_alt_swap switches the model between the two arrangements (tt_model.fused_qkv / fused_gate_up follow). */
tt_status tt_model_alt_fusion(tt_model *m, int group, tt_model_alt **out);
void tt_model_alt_free(tt_model_alt *a);

/* RoPE angles of position pos, as ggml computes them for its rope cache (ggml_rope_cache_init with freq_scale 1,
 * no YaRN): theta_scale = θ^(−2/rope_dim) in f32, angle_0 = pos, angle_{i+1} = angle_i · theta_scale (f32), so the
 * angles are the reference's bits, not those of a fresh powf per pair. Writes cos to cs[i] and sin to
 * cs[rope_dim/2 + i], i < rope_dim/2: the table tt_dense_rope takes. */
void tt_rope_cache(float *cs, int rope_dim, int pos, float theta);

/* ---- float reference (model_ref.c) ----
 * Dequantized f32 weights and f32 arithmetic everywhere except the modelled int8 activation quantization; no KV
 * cache: every call recomputes all positions. For tests on small models only. */
typedef struct tt_model_ref tt_model_ref;
tt_status tt_model_ref_open(const char *path, tt_model_ref **out);
void tt_model_ref_close(tt_model_ref *r);
/* Logits of the last of n tokens (vocab floats), or with all, of every position (n × vocab). */
tt_status tt_model_ref_forward(tt_model_ref *r, const int *tokens, int n, bool all, float *logits);
const tt_model_config *tt_model_ref_config(const tt_model_ref *r);

/* ---- synthetic models (synth.c) ---- */
typedef struct tt_synth_opts {
    tt_model_config c;  /* architecture (arch, sizes, rope, eps, bos/eos) */
    uint64_t seed;
    uint32_t head_type; /* TT_GGML_F16 (official), TT_GGML_Q8_0, TT_GGML_Q6_K (bitnet.cpp's --quant-embd), TT_GGML_Q4_0 */
    const char *name;   /* general.name */
    bool progress;      /* progress on stderr: a live line on a terminal, else a line every ~10 % of big files */
    uint32_t ternary_type; /* TT_GGML_I2_S (bitnet.cpp, the default; 0 means it too), TT_GGML_TQ1_0 or TT_GGML_TQ2_0
                            * (mainline llama.cpp: s_w as f16 d in every block; needs dim and FFN % 256 == 0) */
    bool f16_scales;       /* round every s_w to f16 (always so for TQ). An I2_S file written with it and a TQ file
                            * of the same seed hold the same trits and scales and load to bit-identical models;
                            * without it I2_S files keep their f32 scales (the same bytes as before TQ existed). */
} tt_synth_opts;

/* A preset: a row of the one preset table (kernels/tt_preset.h, tt_preset_find). Fills o->c and o->name from it (and
 * defaults); TT_ERR_NOTFOUND, the message listing the table's names, if unknown. */
tt_status tt_synth_preset(const char *name, tt_synth_opts *o);
tt_status tt_synth_write(const tt_synth_opts *o, const char *path);

/* Synthetic byte-level BPE vocabulary used by synth and the tests: vocab_size tokens, control tokens at bos/eos
 * (and the Llama-3 reserved range when vocab_size == 128256), 256 byte tokens, merges to fill the rest. */
typedef struct tt_synth_vocab {
    int n_tokens, n_merges;
    char **tokens;
    int32_t *types;  /* 1 normal, 3 control */
    char **merges;   /* "left right" */
} tt_synth_vocab;
tt_status tt_synth_vocab_build(int vocab_size, int bos, int eos, uint64_t seed, tt_synth_vocab *v);
void tt_synth_vocab_free(tt_synth_vocab *v);

#ifdef __cplusplus
}
#endif
#endif
