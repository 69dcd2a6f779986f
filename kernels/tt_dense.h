/* tt_dense.h — dense row dots for the LM head (f16 tied embedding, an 8-bit per-row quantized copy, or a quantized
 * file head), chosen at run time by ISA. Every member of a kind sums in that kind's one order, so every ISA gives
 * bit-identical floats to the portable code. f16: ggml_vec_dot_f16's order in an AVX-512 build (four 16-lane
 * accumulators over steps of 64, its reduction, a tail past the last step of 64 in double; tt_dense.c), which is what
 * bitnet.cpp computed for tests/data/golden/ (products of two halves are exact, so its fma equals our
 * multiply-then-add). i8: 16 lanes (lane j takes elements j, j+16, ...; multiply, then add; the lanes are summed
 * 0..15 at the end). */
#ifndef TT_DENSE_H
#define TT_DENSE_H

#include "tt_common.h"

#include <stdbool.h>

/* y[r] = Σ_k half(w[r*k + j]) * x[j] for r in [r0, r1); any k >= 1. */
void tt_dense_f16_rows(const uint16_t *w, const float *x, int k, float *y, int r0, int r1);
/* y[r] = scale[r] * Σ_k w[r*k + j] * x[j] for r in [r0, r1); k % 16 == 0. */
void tt_dense_i8_rows(const int8_t *w, const float *scale, const float *x, int k, float *y, int r0, int r1);
/* Σ a[i]·b[i], i < n (any n >= 0), in one fixed order on every ISA: lane j (0..15) adds the rounded products of
 * i ≡ j (mod 16) in increasing i, then the lanes are added as a tree: l[j] += l[j+8] (j < 8), l[j] += l[j+4]
 * (j < 4), l[j] += l[j+2] (j < 2), l[0] + l[1]. The model's norms and attention scores and the float reference
 * use it, so both sum the same way; vectorized it is one dependent add per 16 elements instead of one per element. */
float tt_dense_dot_f32(const float *a, const float *b, int n);
float tt_dense_dot_f32_ref(const float *a, const float *b, int n);
/* Attention over n cached positions of one head (row t of k and v at k + t·stride, v + t·stride):
 *   tt_dense_scores:       att[t] = tt_dense_dot_f32(q, k_t, hd) · scale            (same bits as that call)
 *   tt_dense_weighted_sum: out[i] = ((0 + att[0]·v_0[i]) + att[1]·v_1[i]) + ...     (t in increasing order)
 * Vectorized with several keys, or a block of out, in registers; the operations on each value are the portable
 * ones, so every ISA gives the same bits. */
void tt_dense_scores(const float *q, const float *k, size_t stride, int n, int hd, float scale, float *att);
void tt_dense_weighted_sum(const float *att, const float *v, size_t stride, int n, int hd, float *out);
/* The same over an f16 KV cache (llama.cpp's default cache type): k and v rows of IEEE halves. q (scores) and att
 * (weighted sum) must hold f16 values too, as the model's do (llama.cpp converts both to f16 for its f16 products).
 * Then every product is exact in f32 and these give the bits of the f32 calls above on the rows converted to float
 * (in registers, not stored), with a fused multiply-add where the ISA has one. */
void tt_dense_scores_f16(const float *q, const uint16_t *k, size_t stride, int n, int hd, float scale, float *att);
void tt_dense_weighted_sum_f16(const float *att, const uint16_t *v, size_t stride, int n, int hd, float *out);
/* The same for G query heads that share one key/value head (grouped-query attention): head g's query at q + g·hd,
 * its weights at att + g·ldatt, its output at out + g·hd. Each head gets the bits of the single-head call; the key
 * and value rows are read (and converted) once for all G. */
void tt_dense_scores_f16_g(const float *q, int G, const uint16_t *k, size_t stride, int n, int hd, float scale,
                           float *att, size_t ldatt);
void tt_dense_weighted_sum_f16_g(const float *att, size_t ldatt, int G, const uint16_t *v, size_t stride, int n, int hd,
                                 float *out);
/* h[i] = the IEEE half nearest x[i], rounded exactly as tt_dense_round_f16 rounds (so converting h back gives the
 * floats tt_dense_round_f16 leaves); a NaN keeps its top 9 payload bits and is quiet. _ref: the portable definition. */
void tt_dense_to_f16(uint16_t *h, const float *x, int n);
void tt_dense_to_f16_ref(uint16_t *h, const float *x, int n);
/* Elementwise float operations of the forward pass. Each element gets exactly the portable operations in the
 * portable order (no FMA contraction, no reassociation), so every ISA gives the same bits; any n >= 0.
 *   tt_dense_scale_mul: o[i] = (x[i] · s) · w[i]                    (RMSNorm's scaling; o may be x)
 *   tt_dense_add:       x[i] = x[i] + y[i]                          (residual add)
 *   tt_dense_relu2_mul: g[i] = (r · r) · u[i], r = g[i] > 0 ? g[i] : +0   (ReLU² gate; NaN and -0 give +0)
 *   tt_dense_rope:      NEOX rotation of one head's first 2·half elements (llama.cpp's GGML_ROPE_TYPE_NEOX):
 *                       element i pairs with element i + half, cos c = cs[i], sin s = cs[half + i], i < half:
 *                       v[i] = v[i]·c − v[i+half]·s,  v[i+half] = v[i]·s + v[i+half]·c */
void tt_dense_scale_mul(float *o, const float *x, float s, const float *w, int n);
void tt_dense_add(float *x, const float *y, int n);
void tt_dense_relu2_mul(float *g, const float *u, int n);
void tt_dense_rope(float *v, const float *cs, int half);
/*   tt_dense_round_f16: x[i] = the nearest IEEE half of x[i] (ties to even, subnormals kept, overflow to inf), as a
 *                       float: what storing into and loading from f16 does (llama.cpp's f16 KV cache, and the
 *                       conversion of the other operand of every f16 matrix product) */
void tt_dense_round_f16(float *x, int n);
/* Portable definitions of the same (tests). */
void tt_dense_scale_mul_ref(float *o, const float *x, float s, const float *w, int n);
void tt_dense_add_ref(float *x, const float *y, int n);
void tt_dense_relu2_mul_ref(float *g, const float *u, int n);
void tt_dense_rope_ref(float *v, const float *cs, int half);
void tt_dense_round_f16_ref(float *x, int n);
/* e^x in float, the exponential of the attention's softmax: x clamped to [-104, 89] (a NaN stays a NaN), k = x·log2(e)
 * rounded to an integer, r = x − k·ln2 (two FMAs, ln2 split in two floats), p = Σ_{i<8} r^i / i! by Horner's rule in
 * FMAs, e^x = (p·2^⌊k/2⌋)·2^(k−⌊k/2⌋) (subnormal results rounded once, ~e^-103.3 and below to 0, e^89 and above to
 * inf). Within ~1 ulp of e^x over the normal range; every ISA performs these operations, so gives these bits. */
float tt_dense_expf(float x);
/* Softmax in place on x[0..n), n >= 1: m = the largest x[i] (x[i] > m ? x[i] : m from m = x[0]), e_i =
 * tt_dense_expf(x[i] − m), x[i] = e_i · (float)(1 / S), S = Σ e_i in double in a fixed order: sixteen partial sums,
 * sum j taking e_i for i ≡ j (mod 16) over the first n − n % 16 elements in increasing i; then sum j += sum j + 8,
 * j + 4, j + 2 (j below the step), sum 0 += sum 1; then the last n % 16 e_i added in increasing i. (ggml sums its
 * softmax in double too, in blocks of its vector width, with its own exp: both differ from this by rounding only.)
 * Returns S. Every ISA gives the bits of the portable definition (_ref), S included. */
double tt_dense_softmax(float *x, int n);
double tt_dense_softmax_ref(float *x, int n);
/* The LM-head row-dot family, one kind per way a head is stored: f16 (the file's), i8 (the --lm-head q8 copy: int8 rows
 * + f32 row scale), and the quantized file heads read as stored, q6_K (input in Q8_K blocks), q8_0 and q4_0 (input
 * in q8_0 blocks; kernels/tt_q6k.h, tt_q32.h). f16/i8 members: rows per block R (f16: 1 on AVX2, 1, 2, 4 on
 * AVX-512; i8: 1, 2, 4, 8) sharing each activation load, software prefetch P blocks of rows ahead (0 = none), per ISA;
 * quantized members: rows per block and ISA (q8_0/q4_0 also one row per 128-bit lane, kernels/tt_q32.h).
 * Every member gives the bits of its kind's portable member. The tuner races the members of each kind
 * (tune/tt_head.c); the model runs the wisdom's winner (tt_pick_head). */
typedef enum tt_dense_kind {
    TT_DENSE_F16 = 0,
    TT_DENSE_I8 = 1,
    TT_DENSE_Q6K = 2,
    TT_DENSE_Q80 = 3,
    TT_DENSE_Q40 = 4,
    TT_DENSE_KINDS
} tt_dense_kind;
const char *tt_dense_kind_name(tt_dense_kind kind); /* "f16", "i8", "q6_K", "q8_0", "q4_0" */
int tt_dense_kind_parse(const char *name);          /* the kind, or -1 */
bool tt_dense_kind_quantized(tt_dense_kind kind);    /* q6_K, q8_0, q4_0: the input goes in blocks (tt_qin) */
/* Bytes of one row of k values (0 when k does not suit the kind: quantized rows are whole blocks). */
size_t tt_dense_row_bytes(tt_dense_kind kind, int k);
/* A quantized kind's input: x in Q8_K blocks (q6_K: q, d per 256, bsum per 16) or q8_0 blocks (q, d per 32). */
typedef struct tt_qin {
    int8_t *q;
    float *d;
    int32_t *bsum;
} tt_qin;
tt_status tt_qin_alloc(tt_qin *in, int k);
void tt_qin_free(tt_qin *in);
void tt_qin_quantize(tt_dense_kind kind, const float *x, int k, tt_qin *in);
/* One quantized row times the input (q6_K's signature; the q8_0/q4_0 members ignore bsum). */
typedef float (*tt_qrow_fn)(const uint8_t *row, const int8_t *q, const float *d, const int32_t *bsum, int k);
/* An LM head's rows go to the threads by tt_guided_take (kernels/tt_pool.h), in takes of at least this many rows
 * (a multiple of 64), in the model (model/head.c) and in the tuner's head race (tune/tt_head.c) alike. Under an even
 * split the two threads of a 2B4T decode finished the f16 head 0.5-1 ms apart per token on the 2-core Xeon VM
 * (one pass is ~21 ms); guided, they finish within one take (256 f16 rows of 2560: 1.3 MB, ~0.1 ms). */
#define TT_HEAD_TAKE 256

typedef struct tt_dense_variant {
    const char *name; /* head_f16_l64_r<R>_p<P>__<isa>, head_f16_l64_r<R>_d<D>__<isa> (D bytes ahead in each row),
                       * head_f16_l64_s<S>_d<D>__<isa> (S streams, D ahead), head_i8_r<R>_p<P>__avx512f, head_i8_s<S>_d<D>__avx512f, head_q6k__<isa>,
                       * head_q6k_s<S>_p<P>__avx512vnni,
                       * head_q6k_r<R>_p<P>__avx512vnni, head_<q80|q40>_r<R>__<isa>,
                       * head_<q80|q40>_l4_r<R>_p<P>__avx512vnni, head_<q80|q40>_il16_s<S>[_c<C>]__avx512vnni,
                       * head_<kind>_portable */
    tt_dense_kind kind;
    uint32_t needs;   /* TT_F_* features that must be usable */
    int rows, prefetch_blocks; /* prefetch_blocks: blocks of rows ahead (_p<P>); 0 for the _d<D> members */
    void (*f16)(const uint16_t *w, const float *x, int k, float *y, int r0, int r1);
    void (*i8)(const int8_t *w, const float *scale, const float *x, int k, float *y, int r0, int r1);
    tt_qrow_fn q; /* quantized kinds: one row (or NULL and qrows) */
    /* quantized kinds without bsum (q8_0, q4_0): rows [r0, r1) of consecutive rows into y[r] */
    void (*qrows)(const uint8_t *w, const int8_t *q, const float *d, int k, float *y, int r0, int r1);
    /* q6_K rows [r0, r1) (the input's run sums too) */
    void (*q6rows)(const uint8_t *w, const int8_t *q, const float *d, const int32_t *bsum, int k, float *y, int r0,
                   int r1);
    int prefetch_bytes; /* _d<D> members: D bytes ahead in each row's stream (0 otherwise) */
    int streams;        /* _s<S> members: the rows cut into S parts read side by side (0: one stream) */
    int il;             /* _il<N> members: they read the head in groups of N interleaved rows (tt_dense_pack); 0: the
                         * rows as stored */
} tt_dense_variant;
/* Bytes of an m x k head as member v reads it: m rows as stored, or whole groups of an interleaving member (padded). */
size_t tt_dense_packed_bytes(const tt_dense_variant *v, int m, int k);
/* The head's rows as stored (m rows of tt_dense_row_bytes) in v's layout at dst (tt_dense_packed_bytes of room): a copy,
 * or the interleave (tt_q32_pack_il16). The same values: nothing is requantized. */
void tt_dense_pack(const tt_dense_variant *v, const void *rows, int m, int k, void *dst);
/* Whether a and b read the same bytes (both the rows as stored, or the same interleave). */
bool tt_dense_layouts_agree(const tt_dense_variant *a, const tt_dense_variant *b);
/* y[r] for rows [r0, r1) of a head of kind v->kind: w its rows (tt_dense_row_bytes each), scale the i8 row scales,
 * x the input (f16, i8) or in the input in blocks (quantized kinds). */
void tt_dense_run(const tt_dense_variant *v, const void *w, const float *scale, const float *x, const tt_qin *in, int k,
                  float *y, int r0, int r1);
const tt_dense_variant *tt_dense_variants(int *n);
bool tt_dense_variant_usable(const tt_dense_variant *v);
const tt_dense_variant *tt_dense_variant_find(const char *name);
const tt_dense_variant *tt_dense_variant_default(tt_dense_kind kind);
/* Which implementation runs here ("avx512f", "avx2+f16c", "portable"). */
const char *tt_dense_impl(void);
/* Portable reference of the same summation order (tests). */
float tt_dense_f16_dot_ref(const uint16_t *w, const float *x, int k);
float tt_dense_half_to_float(uint16_t h);

#endif
