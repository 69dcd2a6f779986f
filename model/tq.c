/* tq.c — TQ1_0 / TQ2_0 block codecs and the per-tensor scale rule (layouts and sources in tt_tq.h). */
#include "tt_tq.h"
#include "tt_errctx.h"
#include "tt_half.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const uint8_t pow3[6] = {1, 3, 9, 27, 81, 243};

size_t tt_tq_block_bytes(uint32_t type)
{
    return type == TT_GGML_TQ1_0 ? TT_TQ1_0_BYTES : type == TT_GGML_TQ2_0 ? TT_TQ2_0_BYTES : 0;
}

/* Five (or, for qh, four then a zero) codes c = trit + 1, most significant first, as the fraction ceil(v·256/243). */
static uint8_t pack5(const int8_t *t, int stride, int n)
{
    unsigned v = 0;
    for (int i = 0; i < 5; i++) v = v * 3 + (i < n ? (unsigned)(t[i * stride] + 1) : 0u);
    return (uint8_t)((v * 256 + 242) / 243);
}

static int8_t digit(uint8_t q, int n)
{
    uint8_t x = (uint8_t)(q * pow3[n]); /* uint8 wrap drops the higher digits */
    return (int8_t)((((unsigned)x * 3) >> 8) - 1);
}

void tt_tq1_0_encode_block(const int8_t *t, uint16_t d, uint8_t *out)
{
    for (int m = 0; m < 32; m++) out[m] = pack5(t + m, 32, 5);
    for (int m = 0; m < 16; m++) out[32 + m] = pack5(t + 160 + m, 16, 5);
    for (int j = 0; j < 4; j++) out[48 + j] = pack5(t + 240 + j, 4, 4);
    out[52] = (uint8_t)(d & 0xff);
    out[53] = (uint8_t)(d >> 8);
}

tt_status tt_tq1_0_decode_block(const uint8_t *in, int8_t *t, uint16_t *d)
{
    for (int n = 0; n < 5; n++)
        for (int m = 0; m < 32; m++) t[n * 32 + m] = digit(in[m], n);
    for (int n = 0; n < 5; n++)
        for (int m = 0; m < 16; m++) t[160 + n * 16 + m] = digit(in[32 + m], n);
    for (int n = 0; n < 4; n++)
        for (int j = 0; j < 4; j++) t[240 + n * 4 + j] = digit(in[48 + j], n);
    *d = (uint16_t)(in[52] | in[53] << 8);
    return TT_OK;
}

void tt_tq2_0_encode_block(const int8_t *t, uint16_t d, uint8_t *out)
{
    for (int j = 0; j < 2; j++)
        for (int m = 0; m < 32; m++) {
            const int8_t *c = t + 128 * j + m;
            out[32 * j + m] = (uint8_t)((c[0] + 1) | (c[32] + 1) << 2 | (c[64] + 1) << 4 | (c[96] + 1) << 6);
        }
    out[64] = (uint8_t)(d & 0xff);
    out[65] = (uint8_t)(d >> 8);
}

tt_status tt_tq2_0_decode_block(const uint8_t *in, int8_t *t, uint16_t *d)
{
    for (int j = 0; j < 2; j++)
        for (int l = 0; l < 4; l++)
            for (int m = 0; m < 32; m++) {
                int c = (in[32 * j + m] >> (2 * l)) & 3;
                if (c == 3)
                    return tt_fail(TT_ERR_FORMAT, "code 3 (+2, not ternary) at weight %d of the block",
                                   128 * j + 32 * l + m);
                t[128 * j + 32 * l + m] = (int8_t)(c - 1);
            }
    *d = (uint16_t)(in[64] | in[65] << 8);
    return TT_OK;
}

size_t tt_tq_size(uint32_t type, int m, int k)
{
    size_t bb = tt_tq_block_bytes(type);
    if (!bb) {
        tt_fail(TT_ERR_FORMAT, "ggml type %u is not tq1_0 or tq2_0", type);
        return 0;
    }
    if (m < 1 || k < TT_QK_K || k % TT_QK_K || k > TT_K_MAX || m > TT_M_MAX) {
        tt_fail(TT_ERR_SHAPE, "%s needs K a multiple of 256 (blocks of 256 weights), got %d x %d",
                tt_ggml_type_name(type), m, k);
        return 0;
    }
    return (size_t)m * (size_t)(k / TT_QK_K) * bb;
}

tt_status tt_tq_unpack(uint32_t type, const char *name, const uint8_t *src, size_t src_len, tt_tern *w)
{
    if (!name) name = "?";
    if (!src || !w || !w->t) return tt_fail(TT_ERR_NULL, "tensor \"%s\": tt_tq_unpack: NULL argument", name);
    size_t want = tt_tq_size(type, w->m, w->k);
    if (!want) return tt_fail_prefix(TT_ERR_SHAPE, "tensor \"%s\"", name);
    if (src_len != want)
        return tt_fail(TT_ERR_FORMAT, "tensor \"%s\": %s data is %zu bytes, %d x %d needs %zu", name,
                       tt_ggml_type_name(type), src_len, w->m, w->k, want);
    size_t bb = tt_tq_block_bytes(type), nblk = want / bb;
    bool have = false;
    uint16_t d0 = 0;
    size_t blk0 = 0;
    for (size_t b = 0; b < nblk; b++) {
        int8_t *t = w->t + b * TT_QK_K; /* blocks run along rows: row r holds blocks r·K/256 .. */
        uint16_t d;
        tt_status st = type == TT_GGML_TQ1_0 ? tt_tq1_0_decode_block(src + b * bb, t, &d)
                                             : tt_tq2_0_decode_block(src + b * bb, t, &d);
        size_t bpr = (size_t)w->k / TT_QK_K;
        if (st)
            return tt_fail_prefix(st, "tensor \"%s\" (%s) row %zu block %zu", name, tt_ggml_type_name(type), b / bpr,
                                  b % bpr);
        if ((d & 0x7fff) == 0) { /* d = ±0: the block is zero whatever its codes say */
            memset(t, 0, TT_QK_K);
            continue;
        }
        bool nz = false;
        for (int i = 0; i < TT_QK_K && !nz; i++) nz = t[i] != 0;
        if (!nz) continue;
        if (!have) {
            have = true;
            d0 = d;
            blk0 = b;
        } else if (d != d0) {
            return tt_fail(TT_ERR_FORMAT,
                           "tensor \"%s\" (%s): blocks have different scales (block %zu: d = %g [f16 0x%04x], block "
                           "%zu: d = %g [f16 0x%04x]); BitNet needs one scale per tensor, so tritune cannot repack it",
                           name, tt_ggml_type_name(type), blk0, tt_half_to_float(d0), d0, b, tt_half_to_float(d),
                           d);
        }
    }
    w->scale = have ? tt_half_to_float(d0) : 0.0f;
    return TT_OK;
}

tt_status tt_tq_pack(uint32_t type, const tt_tern *w, uint8_t *dst, size_t dst_len)
{
    if (!w || !w->t || !dst) return tt_fail(TT_ERR_NULL, "tt_tq_pack: NULL argument");
    size_t want = tt_tq_size(type, w->m, w->k);
    if (!want) return TT_ERR_SHAPE; /* message set */
    if (dst_len != want) return tt_fail(TT_ERR_VALUE, "tt_tq_pack: %zu bytes given, %zu needed", dst_len, want);
    size_t bb = tt_tq_block_bytes(type), nblk = want / bb;
    for (size_t b = 0; b < nblk; b++)
        for (int i = 0; i < TT_QK_K; i++)
            if (w->t[b * TT_QK_K + i] < -1 || w->t[b * TT_QK_K + i] > 1)
                return tt_fail(TT_ERR_VALUE, "tt_tq_pack: trit %d at index %zu", w->t[b * TT_QK_K + i],
                               b * TT_QK_K + i);
    uint16_t d = tt_float_to_half(w->scale);
    for (size_t b = 0; b < nblk; b++) {
        if (type == TT_GGML_TQ1_0) tt_tq1_0_encode_block(w->t + b * TT_QK_K, d, dst + b * bb);
        else tt_tq2_0_encode_block(w->t + b * TT_QK_K, d, dst + b * bb);
    }
    return TT_OK;
}

tt_status tt_ternary_unpack(const tt_gguf *g, const tt_gguf_tensor *t, tt_tern *w)
{
    if (!g || !t || !w) return tt_fail(TT_ERR_NULL, "tt_ternary_unpack: NULL argument");
    tt_status st;
    if (t->type == TT_GGML_I2_S) {
        if ((st = tt_fmt_unpack(TT_FMT_I2S, t->data, t->nbytes, w))) return tt_fail_prefix(st, "tensor \"%s\"", t->name);
    } else if (t->type == TT_GGML_TQ1_0 || t->type == TT_GGML_TQ2_0) {
        if ((st = tt_tq_unpack(t->type, t->name, t->data, t->nbytes, w))) return st;
    } else {
        return tt_fail(TT_ERR_FORMAT, "tensor \"%s\" has type %s, expected i2_s, tq1_0 or tq2_0", t->name,
                       tt_ggml_type_name(t->type));
    }
    char sn[TT_GGUF_NAME_MAX + 8];
    size_t n = strlen(t->name);
    if (n < 7 || strcmp(t->name + n - 7, ".weight")) return TT_OK;
    snprintf(sn, sizeof sn, "%.*s.scale", (int)(n - 7), t->name);
    const tt_gguf_tensor *s = tt_gguf_find_tensor(g, sn);
    if (!s) return TT_OK;
    uint64_t ne = s->ne[0] * s->ne[1] * s->ne[2] * s->ne[3];
    if (s->type != TT_GGML_F32 || ne != 1)
        return tt_fail(TT_ERR_FORMAT, "tensor \"%s\" is %s with %llu elements (one f32 expected)", sn,
                       tt_ggml_type_name(s->type), (unsigned long long)ne);
    float f;
    memcpy(&f, s->data, sizeof f);
    if (!isfinite(f)) return tt_fail(TT_ERR_FORMAT, "tensor \"%s\" = %g is not finite", sn, f);
    w->scale *= f;
    return TT_OK;
}
