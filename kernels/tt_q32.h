/* tt_q32.h — ggml's blocks of 32 as LM-head / embedding formats: Q4_0 (type id 2) and Q8_0 (type id 8), and their
 * products with the head input in q8_0 blocks (what ggml's CPU backend does for either: its vec_dot_type is Q8_0).
 *
 * Facts from ggml's source (ggml/src/ggml-common.h: block_q4_0; ggml/src/ggml-quants.c: quantize_row_q4_0_ref,
 * dequantize_row_q4_0; ggml-cpu: ggml_vec_dot_q4_0_q8_0's generic path). A row of K values (K % 32 == 0) is K/32
 * blocks of 32.
 *
 * Q4_0, 18 bytes: {ggml_half d; uint8_t qs[16];}. Value j (j < 16) is (qs[j] & 0xF) - 8, value j + 16 is
 *   (qs[j] >> 4) - 8; times d. ggml's writer: the element of largest magnitude max (signed), d = max / -8,
 *   q = min(15, (int8_t)(x / d + 8.5)).
 * The product with q8_0 input blocks (f16 scale dx, 32 int8): per block the exact integer Σ q4 · q8, times the two
 *   scales (f32), summed over the blocks. */
#ifndef TT_Q32_H
#define TT_Q32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TT_Q40_BLOCK 32
#define TT_Q40_BYTES 18

void tt_q40_dequant(const uint8_t *blocks, int n, float *y);
void tt_q40_quantize(const float *x, int n, uint8_t *blocks); /* ggml's reference rule (synth, tests) */
/* Σ over blocks of (d4 · dx) · Σ q4 · q8, blocks in increasing order; q (n int8) and dx (n/32 scales) are the
 * input in q8_0 blocks. */
float tt_q40_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n);

/* Q8_0, 34 bytes: {ggml_half d; int8_t qs[32];}, value j = qs[j] · d. */
#define TT_Q80_BLOCK 32
#define TT_Q80_BYTES 34
/* The head input in q8_0 blocks, as ggml's x86 path quantizes the other operand of a q8_0 / q4_0 product:
 * d = max|x| / 127 stored as f16, q = x · (127 / max|x|) rounded half to even. n % 32 == 0. */
void tt_q80_quantize(const float *x, int n, int8_t *q, float *d);
/* A q8_0 row times that input: per block the exact integer dot times the two scales, blocks in order. */
float tt_q80_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n);
/* Both products with AVX2+F16C, the blocks 8 at a time (x86 builds only): the portable loops' bits. Members of the
 * LM-head family (kernels/tt_dense.h, kinds TT_DENSE_Q40, TT_DENSE_Q80). */
#if defined(__x86_64__) || defined(__i386__)
float tt_q40_dot_q80_avx2(const uint8_t *blocks, const int8_t *q, const float *dx, int n);
float tt_q80_dot_q80_avx2(const uint8_t *blocks, const int8_t *q, const float *dx, int n);
#endif

#endif
