/* tt_tq.h — mainline llama.cpp's ternary block types TQ1_0 and TQ2_0 (ggml type ids 34 and 35), decoded into the
 * canonical ternary matrix (kernels/tt_format.h) so the loader repacks them like I2_S into the tuned layouts, and
 * encoded (synth, tests).
 *
 * Facts checked against ggml's source (ggml-org/llama.cpp, ggml/src/ggml-common.h: block_tq1_0, block_tq2_0;
 * ggml/src/ggml-quants.c: quantize_row_tq1_0_ref, dequantize_row_tq1_0, quantize_row_tq2_0_ref,
 * dequantize_row_tq2_0). A row of K weights (K % 256 == 0) is K/256 blocks of QK_K = 256 weights, each with its
 * own f16 scale d; weight = (trit) · d.
 *
 * TQ2_0, 66 bytes: {uint8_t qs[64]; ggml_half d;}. Code c = trit + 1 in 2 bits. The block is two chunks of 128
 *   weights; in chunk j (qs[32j .. 32j+31]) byte m holds weights 128j + m (bits 1:0), + 32 (bits 3:2),
 *   + 64 (bits 5:4), + 96 (bits 7:6). ggml decodes code 3 as +2·d: not ternary, refused here.
 *
 * TQ1_0, 54 bytes: {uint8_t qs[48]; uint8_t qh[4]; ggml_half d;}. Five trits per byte: the base-3 number
 *   v = Σ (trit_n + 1)·3^(4-n) (n = 0 the most significant) is stored as the fixed-point fraction
 *   q = ceil(v·256/243) = (v·256 + 242) / 243; digit n is read back as ((uint8_t)(q·3^n) · 3) >> 8 (uint8
 *   wrap-around drops the digits above, the ×3 >> 8 takes the next one).
 *   qs[0..31]: 160 weights, byte m: weights m, m+32, m+64, m+96, m+128 (digits 0..4).
 *   qs[32..47]: 80 weights, byte 32+m: weights 160 + m, +16, +32, +48, +64.
 *   qh[0..3]: the last 16 weights, byte j: weights 240 + j, +4, +8, +12 as digits 0..3 (four trits, multiplied
 *   by 3 before the fraction so the first is the most significant of five; digit 4 is 0 and unread).
 *   Every byte decodes to digits 0..2, so any byte is a valid TQ1_0 byte for ggml (the 13 values that no v maps
 *   to still decode); the decoder here reads them the same way.
 *
 * Scale rule: BitNet has one f32 scale per tensor (W = s_w · T). Mainline's converter (convert_hf_to_gguf.py,
 * BitnetModel) writes W = T / scale per tensor, so every block holding a nonzero trit carries the same d; an
 * all-zero block may carry d = 0. A tensor is accepted when all blocks with a nonzero trit and d ≠ 0 share one d
 * (bit-equal f16); s_w = that d as f32. A block with d = ±0 contributes zeros (its trits are cleared), and a block
 * whose trits are all zero carries no scale. Anything else is refused, naming the tensor and the two scales. */
#ifndef TT_TQ_H
#define TT_TQ_H

#include "gguf.h"
#include "tt_format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TT_QK_K 256
#define TT_TQ1_0_BYTES 54
#define TT_TQ2_0_BYTES 66

/* Bytes per block of a TQ type; 0 when type is neither. */
size_t tt_tq_block_bytes(uint32_t type);

/* One block: trits t[256] in {-1,0,1}, d the f16 bits. Decode returns TT_ERR_FORMAT for a TQ2_0 code 3 (message
 * names the weight index within the block). */
void tt_tq1_0_encode_block(const int8_t *t, uint16_t d, uint8_t *out);
tt_status tt_tq1_0_decode_block(const uint8_t *in, int8_t *t, uint16_t *d);
void tt_tq2_0_encode_block(const int8_t *t, uint16_t d, uint8_t *out);
tt_status tt_tq2_0_decode_block(const uint8_t *in, int8_t *t, uint16_t *d);

/* Whole tensor (w->m rows of w->k, k % 256 == 0): src_len must be m·k/256·block bytes exactly. Fills w->t and
 * w->scale by the scale rule above; the message of a refusal starts with the tensor name. */
tt_status tt_tq_unpack(uint32_t type, const char *name, const uint8_t *src, size_t src_len, tt_tern *w);
/* Encode with d = f16(w->scale) in every block (mainline's layout: all-zero blocks carry it too). */
tt_status tt_tq_pack(uint32_t type, const tt_tern *w, uint8_t *dst, size_t dst_len);
/* A model's ternary weight t (I2_S, TQ1_0 or TQ2_0; w->m x w->k set by the caller, matching t) as canonical trits
 * and s_w. Mainline's optional per-tensor scale tensor ("blk.N.x.scale" beside "blk.N.x.weight": F32, one element;
 * llama.cpp's src/models/bitnet.cpp multiplies the matmul result by it) multiplies s_w. Messages name the tensor. */
tt_status tt_ternary_unpack(const tt_gguf *g, const tt_gguf_tensor *t, tt_tern *w);
/* Bytes of an m x k tensor; 0 with a message when k % 256 != 0 or the type is not TQ. */
size_t tt_tq_size(uint32_t type, int m, int k);

#ifdef __cplusplus
}
#endif
#endif
