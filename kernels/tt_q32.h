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
 * The product with q8_0 input blocks (f16 scale dx, 32 int8), in the order of ggml's AVX2 loop (ggml-cpu/arch/x86/
 *   quants.c, ggml_vec_dot_q4_0_q8_0 / _q8_0_q8_0), which is what llama.cpp computes on an AVX2 machine: eight float
 *   lanes; for each block in order, lane j = fma(dw · dx, p_j, lane j), p_j the exact integer Σ w·q over the block's
 *   values 4j..4j+3 (dw·dx one f32 product, fma one rounding); then ggml's hsum_float_8: r_i = lane i + lane i+4
 *   (i < 4), then (r_0 + r_2) + (r_1 + r_3). Every member of the q8_0 / q4_0 head kinds gives these bits. */
#ifndef TT_Q32_H
#define TT_Q32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TT_Q40_BLOCK 32
#define TT_Q40_BYTES 18

void tt_q40_dequant(const uint8_t *blocks, int n, float *y);
void tt_q40_quantize(const float *x, int n, uint8_t *blocks); /* ggml's reference rule (synth, tests) */
/* The row product above; q (n int8) and dx (n/32 scales) are the input in q8_0 blocks. */
float tt_q40_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n);

/* Q8_0, 34 bytes: {ggml_half d; int8_t qs[32];}, value j = qs[j] · d. */
#define TT_Q80_BLOCK 32
#define TT_Q80_BYTES 34
/* The head input in q8_0 blocks, as ggml's x86 path quantizes the other operand of a q8_0 / q4_0 product:
 * d = max|x| / 127 stored as f16, q = x · (127 / max|x|) rounded half to even. n % 32 == 0. */
void tt_q80_quantize(const float *x, int n, int8_t *q, float *d);
/* A q8_0 row times that input, in the same order. */
float tt_q80_dot_q80(const uint8_t *blocks, const int8_t *q, const float *dx, int n);
/* Rows [r0, r1) of a head (rows of k/32 blocks, consecutive) times that input into y[r], with AVX2+FMA+F16C or
 * AVX-VNNI, R = 1, 2 or 4 rows interleaved (x86 builds only): the portable product's bits. Members of the LM-head
 * family (kernels/tt_dense.h, kinds TT_DENSE_Q40, TT_DENSE_Q80). */
#if defined(__x86_64__) || defined(__i386__)
#define TT_Q32_ROWS_DECL(R)                                                                                            \
    void tt_q40_rows_r##R##_avx2(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0, int r1); \
    void tt_q40_rows_r##R##_avxvnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0,       \
                                    int r1);                                                                           \
    void tt_q80_rows_r##R##_avx2(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0, int r1); \
    void tt_q80_rows_r##R##_avxvnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0,       \
                                    int r1);
TT_Q32_ROWS_DECL(1)
TT_Q32_ROWS_DECL(2)
TT_Q32_ROWS_DECL(4)
/* AVX-512 VNNI, two rows per register, R = 2, 4 or 8 rows at a time. */
#define TT_Q32_ROWS_DECL_Z(R)                                                                                          \
    void tt_q40_rows_r##R##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0,    \
                                       int r1);                                                                        \
    void tt_q80_rows_r##R##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y, int r0,    \
                                       int r1);
TT_Q32_ROWS_DECL_Z(2)
TT_Q32_ROWS_DECL_Z(4)
TT_Q32_ROWS_DECL_Z(8)
/* AVX-512 VNNI, one row per 128-bit lane (four rows per register), R = 4, 8 or 16 rows at a time, software prefetch
 * P = 1 or 3 groups of R rows ahead. */
#define TT_Q32_ROWS_DECL_L4(R, P)                                                                                      \
    void tt_q40_l4_r##R##_p##P##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y,     \
                                            int r0, int r1);                                                          \
    void tt_q80_l4_r##R##_p##P##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y,     \
                                            int r0, int r1);
TT_Q32_ROWS_DECL_L4(4, 1)
TT_Q32_ROWS_DECL_L4(4, 3)
TT_Q32_ROWS_DECL_L4(8, 1)
TT_Q32_ROWS_DECL_L4(8, 3)
TT_Q32_ROWS_DECL_L4(16, 1)
TT_Q32_ROWS_DECL_L4(16, 3)
/* AVX-512 VNNI on the interleaved layout below (w as tt_q32_pack_il16 makes it): S groups side by side (streams),
 * C blocks of each in turn (_s1: one stream). */
#define TT_Q32_ROWS_DECL_IL16(SUFFIX)                                                                                  \
    void tt_q40_il16_##SUFFIX##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y,       \
                                           int r0, int r1);                                                           \
    void tt_q80_il16_##SUFFIX##_avx512vnni(const uint8_t *w, const int8_t *q, const float *dx, int k, float *y,       \
                                           int r0, int r1);
TT_Q32_ROWS_DECL_IL16(s1)
TT_Q32_ROWS_DECL_IL16(s2_c8)
TT_Q32_ROWS_DECL_IL16(s4_c4)
#endif

/* The interleaved layout ("il16"): the same blocks, bytes and values, placed for four rows per register. Rows in
 * groups of 16 (the last padded with zero rows: ceil(m/16) * 16 rows in all); group g, block b is 16 blocks' bytes at
 * (g * k/32 + b) * 16 * block bytes: first the 16 rows' f16 scales in row order (32 bytes), then per sub-group j of
 * rows 4j..4j+3: q4_0 the four rows' 16 value bytes (64 bytes, row order); q8_0 the four rows' values 0-15 (64 bytes),
 * then their values 16-31 (64 bytes). Nothing is requantized: a copy in another order, made at load (model/head.c). */
void tt_q32_pack_il16(bool q40, const uint8_t *rows, int m, int k, uint8_t *dst);

#endif
