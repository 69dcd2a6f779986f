/* tt_format.h — the canonical ternary matrix, the three storage formats, activation quantization and the
 * scalar oracles (docs/FORMATS.md §1-§5). Everything here is portable C built for the baseline ISA. */
#ifndef TT_FORMAT_H
#define TT_FORMAT_H

#include "tt_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Canonical ternary matrix W = scale * T, T (M x K, row-major) with entries in {-1, 0, +1}. */
typedef struct tt_tern {
    int m, k;
    float scale;
    int8_t *t; /* m*k trits */
} tt_tern;

/* B3: base-3, five trits per byte (1.6 bits per weight; docs/FORMATS.md §5b). */
typedef enum tt_fmt { TT_FMT_I2S = 0, TT_FMT_TL1, TT_FMT_TL2, TT_FMT_B3, TT_FMT_COUNT } tt_fmt;

/* Every packed tensor ends with this tail; its first 4 bytes are the f32 scale (little endian). */
#define TT_TAIL_BYTES 32

/* Largest K any format, kernel and oracle accepts: keeps every int32 dot exact with room to spare
 * (K * 128 < 2^31) and every size product far from overflow. */
#define TT_K_MAX (1 << 20)
#define TT_M_MAX (1 << 24)

const char *tt_fmt_name(tt_fmt f);            /* "i2s", "tl1", "tl2", "b3" */
int tt_fmt_from_name(const char *s);          /* -1 if unknown */

/* Shape check with a precise message in tt_last_error(): I2_S K % 128, TL1 K % 4, TL2 K % 32, B3 K % 64. */
tt_status tt_fmt_check_shape(tt_fmt f, int m, int k);

/* Bytes of a packed tensor including the 32-byte scale tail; 0 if the shape is invalid. */
size_t tt_fmt_size(tt_fmt f, int m, int k);

/* Pack canonical -> format bytes and back. dst_len / src_len are checked against tt_fmt_size. */
tt_status tt_fmt_pack(tt_fmt f, const tt_tern *w, uint8_t *dst, size_t dst_len);
tt_status tt_fmt_unpack(tt_fmt f, const uint8_t *src, size_t src_len, tt_tern *w /* m, k, t set by caller */);

/* TL2 canonical split: the first tt_tl2_k3(K) columns are triples (a multiple of 96, so 32 triples per
 * 96 columns fill whole bytes in both planes), the rest (a multiple of 32, < 96) are TL1-style pairs. */
int tt_tl2_k3(int k);

/* B3 group arithmetic. A row is ceil(K / 320) groups of 64 bytes; group g covers columns [320g, 320g + 64n) with
 * n = 5 digits (the last group: (K - 320g) / 64 digits). Byte j of a group holds the trits of columns
 * 320g + 64i + j, i = 0..n-1, as v = Σ (T_i + 1)·3^(n-1-i), stored as s = ceil(v·256 / 3^n) ^ 0x80. Digit i comes out
 * with byte arithmetic only: x_0 = s, x_{i+1} = 3·x_i (mod 256), digit_i = (x_i >s -43) + (x_i >s 42) (signed
 * byte compares). tt_b3_encode / tt_b3_digit are the portable definitions every decoder is held to. */
#define TT_B3_GROUP_COLS 320
#define TT_B3_GROUP_BYTES 64
uint8_t tt_b3_encode(const int8_t *trits, int n, size_t stride); /* trits[i*stride], i < n, each in {-1,0,1} */
int tt_b3_digit(uint8_t s, int i);                                /* digit i (0..2) of byte s */
int tt_b3_valid(uint8_t s, int n);                                /* s is what tt_b3_encode makes for n digits */

/* Per-token absmax int8 quantization (docs/FORMATS.md §1): a_s = 127 / max(max|x|, 1e-5),
 * q = clamp(round_half_even(x * a_s), -128, 127). Returns Σq in *sum_q. */
tt_status tt_quant_act(const float *x, int k, int8_t *q, float *a_s, int32_t *sum_q);
/* The portable definition (tests hold the ISA paths of tt_quant_act to it bit for bit); no argument checks. */
void tt_quant_act_ref(const float *x, int k, int8_t *q, float *a_s, int32_t *sum_q);

/* Canonical oracle: dot[r] = Σ_k T[r][k] * q[k] in int32 (exact for K <= TT_K_MAX). */
tt_status tt_oracle_dot(const tt_tern *w, const int8_t *q, int32_t *dot);

/* Format oracles: decode the packed bytes directly (no unpack to canonical) and dot with q. */
tt_status tt_fmt_oracle_dot(tt_fmt f, const uint8_t *src, size_t src_len, int m, int k, const int8_t *q,
                            int32_t *dot);

/* Scale stored in a packed tensor's tail. */
float tt_fmt_scale(tt_fmt f, const uint8_t *src, int m, int k);

/* The two shared float operations: y[r] = dot[r] / a_s * s_w. */
void tt_dot_to_float(const int32_t *dot, int m, float a_s, float s_w, float *y);
/* Its portable definition (tests hold the ISA paths to it bit for bit). */
void tt_dot_to_float_ref(const int32_t *dot, int m, float a_s, float s_w, float *y);

/* Convenience: allocate / free a canonical matrix; fill with deterministic pseudo-random trits. */
tt_status tt_tern_alloc(tt_tern *w, int m, int k);
void tt_tern_free(tt_tern *w);
void tt_tern_random(tt_tern *w, uint64_t seed);

/* Small deterministic PRNG (splitmix64) used by tests, benches and the model synthesizer. */
uint64_t tt_rand_next(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
