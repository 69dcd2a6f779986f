/* tt_q6k.h — ggml's Q6_K (type id 14), the LM-head / embedding format bitnet.cpp's --quant-embd writes for
 * BitNet b1.58 2B4T, and Q8_K, the form ggml gives the other operand of a Q6_K product.
 *
 * Facts from ggml's source (ggml/src/ggml-common.h: block_q6_K, block_q8_K; ggml/src/ggml-quants.c:
 * dequantize_row_q6_K, quantize_row_q8_K_ref; ggml-cpu: ggml_vec_dot_q6_K_q8_K's generic path). A row of K
 * values (K % 256 == 0) is K/256 blocks of QK_K = 256.
 *
 * Q6_K, 210 bytes: {uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d;}. Each half of the block
 *   (128 values; ql advances 64 bytes, qh 32, scales 8 per half) holds, for l = 0..31:
 *     value l      : low 4 bits ql[l]      & 0xF, high 2 bits (qh[l] >> 0) & 3, sub-block scale scales[l/16 + 0]
 *     value l + 32 : low 4 bits ql[l + 32] & 0xF, high 2 bits (qh[l] >> 2) & 3, scales[l/16 + 2]
 *     value l + 64 : low 4 bits ql[l]      >> 4,  high 2 bits (qh[l] >> 4) & 3, scales[l/16 + 4]
 *     value l + 96 : low 4 bits ql[l + 32] >> 4,  high 2 bits (qh[l] >> 6) & 3, scales[l/16 + 6]
 *   q = (low | high << 4) - 32 in -32..31; value = d · scale · q (so each run of 16 values shares a scale).
 *
 * Q8_K (activations): per block of 256, the element of largest magnitude max (signed, the first one on ties),
 *   iscale = -127 / max, q = min(127, round-half-even(iscale · x)), d = 1 / iscale; an all-zero block has d = 0.
 *
 * The product of a Q6_K row and a Q8_K vector: per block the exact integer Σ_j scale_j · Σ_{16 values} q6 · q8,
 * times d6 · d8 (f32), summed over the blocks. (ggml's SIMD paths sum those block terms in other orders: float
 * rounding only.) */
#ifndef TT_Q6K_H
#define TT_Q6K_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TT_Q6K_BLOCK 256
#define TT_Q6K_BYTES 210

/* n values (n % 256 == 0) of Q6_K blocks to floats. */
void tt_q6k_dequant(const uint8_t *blocks, int n, float *y);
/* The 6-bit codes (q + 32, 0..63) and the 16 sub-block scales of one block, as stored. */
void tt_q6k_codes(const uint8_t *block, uint8_t codes[256]);
/* One block from codes (0..63), scales and the f16 d (tests, synth). */
void tt_q6k_pack(const uint8_t codes[256], const int8_t scales[16], uint16_t d_f16, uint8_t *block);
/* n floats to Q6_K (synth's writer: per 16 values a scale, per block d = max|scale-ish| — a plain absmax rule, not
 * ggml's search; any valid block is a valid file). */
void tt_q6k_quantize(const float *x, int n, uint8_t *blocks);

/* n floats (n % 256 == 0) to Q8_K: q (n int8), d (n/256 floats) and bsum (n/16: Σ q of each run of 16, ggml's
 * bsums). */
void tt_q8k_quantize(const float *x, int n, int8_t *q, float *d, int32_t *bsum);
/* Σ over blocks of (d6 · d8) · Σ_j scale_j Σ q6 · q8, blocks in increasing order. */
float tt_q6k_dot_q8k(const uint8_t *blocks, const int8_t *q, const float *d, const int32_t *bsum, int n);
/* The same product with AVX2+F16C and with AVX-512BW+F16C (x86 builds only): tt_q6k_dot_q8k's bits. They are members
 * of the LM-head family (kernels/tt_dense.h, kind TT_DENSE_Q6K): run them where tt_dense_variant_usable says so. */
#if defined(__x86_64__) || defined(__i386__)
float tt_q6k_dot_q8k_avx2(const uint8_t *blocks, const int8_t *q, const float *d, const int32_t *bsum, int n);
float tt_q6k_dot_q8k_avx512(const uint8_t *blocks, const int8_t *q, const float *d, const int32_t *bsum, int n);
/* Rows [r0, r1) of a Q6_K head (rows of k/256 blocks, consecutive) into y[r]: tt_q6k_dot_q8k's bits for every row.
 * Members of the LM-head family: head_q6k_r<R>_p<P>__<isa> (R rows at a time, software prefetch P groups of R rows
 * ahead; P = 0: none) and head_q6k_s<S>_p<P>__<isa> (the range cut into S parts, row i of every part in the same
 * step, each part prefetching P rows ahead of itself), for AVX2 (+F16C) and AVX-512 VNNI (+F16C). */
#define TT_Q6K_ROWS_PROTO(NAME)                                                                                        \
    void NAME(const uint8_t *w, const int8_t *q, const float *d, const int32_t *bsum, int k, float *y, int r0, int r1);
/* AVX2 (without prefetch, four neighbouring rows read 0.65x one row in the model on the 2-core Zen 3 VM: no p0) */
#define TT_Q6K_EACH_256(X) X(2, 1) X(4, 1)
#define TT_Q6K_EACH_256S(X) X(2, 1) X(2, 2) X(4, 1) X(4, 2)
#define TT_Q6K_DECL256(R, P) TT_Q6K_ROWS_PROTO(tt_q6k_rows_r##R##_p##P##_avx2)
#define TT_Q6K_DECLS256(S, P) TT_Q6K_ROWS_PROTO(tt_q6k_rows_s##S##_p##P##_avx2)
TT_Q6K_EACH_256(TT_Q6K_DECL256)
TT_Q6K_EACH_256S(TT_Q6K_DECLS256)
/* AVX-512 VNNI */
#define TT_Q6K_EACH_512(X)                                                                                             \
    X(1, 0) X(1, 4) X(1, 8) X(1, 16) X(2, 4) X(2, 8) X(4, 2) X(4, 4) X(4, 8) X(4, 16) X(8, 4)
#define TT_Q6K_EACH_512S(X) X(4, 1) X(4, 2) X(4, 4) X(6, 1) X(6, 2)
#define TT_Q6K_DECL(R, P) TT_Q6K_ROWS_PROTO(tt_q6k_rows_r##R##_p##P##_avx512vnni)
#define TT_Q6K_DECLS(S, P) TT_Q6K_ROWS_PROTO(tt_q6k_rows_s##S##_p##P##_avx512vnni)
TT_Q6K_EACH_512(TT_Q6K_DECL)
TT_Q6K_EACH_512S(TT_Q6K_DECLS)
#endif

#endif
