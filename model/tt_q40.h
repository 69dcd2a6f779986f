/* tt_q40.h — ggml's Q4_0 (type id 2) as an LM-head / embedding format, and its product with the head input in
 * q8_0 blocks (what ggml's CPU backend does for a Q4_0 matrix: its vec_dot_type is Q8_0).
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
#ifndef TT_Q40_H
#define TT_Q40_H

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
typedef float (*tt_q40_dot_fn)(const uint8_t *blocks, const int8_t *q, const float *dx, int n);
/* The fastest usable form (AVX2 where allowed, else the portable loop); all give tt_q40_dot_q80's bits. */
tt_q40_dot_fn tt_q40_dot_pick(const char **name);
/* Form i (0 = portable; NULL past the last), its name, whether this CPU may run it (tests). */
tt_q40_dot_fn tt_q40_dot_form(int i, const char **name, bool *usable);

#endif
