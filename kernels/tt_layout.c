/* I2_S layouts and the layout-dispatching entry points of the registry API.
 *   TT_LAYOUT_I2S     plain I2_S rows: exactly bitnet.cpp's bytes (tensor data can be used as is).
 *   TT_LAYOUT_I2S_IL  rows padded to a multiple of r; per tile of r rows, granule-major: for each granule of G
 *                     bytes (G = the kernel's vector width, 32 or 64; a final 32-byte granule when K/4 % G != 0),
 *                     the r rows' G bytes adjacent. Padding rows are code 0b01 (T = 0). One stream per tile. */
#include "tt_layout.h"

#include <stdlib.h>
#include <string.h>

int tt_variant_il_granule(const tt_variant *v)
{
    if (v->isa == TT_ISA_AMX) return 4; /* AMX: 16 rows x 4 bytes = one 64-byte tile row of codes (emit_amx.c) */
    return (v->isa == TT_ISA_AVX512BW || v->isa == TT_ISA_AVX512VNNI || v->isa == TT_ISA_AVX512VBMI) ? 64 : 32;
}
#define il_granule tt_variant_il_granule

bool tt_variant_layouts_agree(const tt_variant *a, const tt_variant *b)
{
    if (!a || !b || a->layout != b->layout) return false;
    if (a->layout != TT_LAYOUT_I2S_IL) /* TL layouts depend on more than this */
        return a->layout == TT_LAYOUT_I2S || a->layout == TT_LAYOUT_B3;
    return a->p.rows == b->p.rows && il_granule(a) == il_granule(b);
}

/* The shape rules of a variant: its format's (tt_fmt_check_shape), its K step and its overflow budget's largest K.
 * Here with the layouts, so that layout code and the registry's helpers call in one direction only
 * (tt_registry.c -> tt_layout.c). */
tt_status tt_variant_check_shape(const tt_variant *v, int m, int k)
{
    if (!v) return tt_fail(TT_ERR_NULL, "variant is NULL");
    tt_status st = tt_fmt_check_shape(v->fmt, m, k);
    if (st) return st;
    if (k % v->k_align) return tt_fail(TT_ERR_SHAPE, "%s needs K %% %d == 0, got K = %d", v->name, v->k_align, k);
    if (k > v->k_max) return tt_fail(TT_ERR_SHAPE, "%s accepts K <= %d (overflow budget), got K = %d", v->name, v->k_max, k);
    return TT_OK;
}

static int pad_rows(int m, int a) { return (m + a - 1) / a * a; }

size_t tt_variant_packed_size(const tt_variant *v, int m, int k)
{
    if (tt_variant_check_shape(v, m, k)) return 0;
    switch (v->layout) {
    case TT_LAYOUT_I2S: return tt_fmt_size(TT_FMT_I2S, m, k);
    case TT_LAYOUT_I2S_IL: return (size_t)pad_rows(m, v->p.rows) * (size_t)(k / 4) + TT_TAIL_BYTES;
    case TT_LAYOUT_B3: return tt_fmt_size(TT_FMT_B3, m, k);
    default: return tt_layout_tl_size(v, m, k);
    }
}

size_t tt_variant_ws_size(const tt_variant *v, int k)
{
    if (v->fmt == TT_FMT_I2S) return v->prep ? (size_t)k + 64 : 0;
    if (v->fmt == TT_FMT_B3) return 0; /* B3 kernels read q as it is */
    return tt_layout_tl_ws(v, k);
}

static tt_status pack_i2s_il(const tt_variant *v, const tt_tern *w, uint8_t *dst)
{
    const int R = v->p.rows, G = il_granule(v), kb = w->k / 4, mp = pad_rows(w->m, R);
    uint8_t *row = malloc((size_t)kb);
    if (!row) return tt_fail(TT_ERR_NOMEM, "pack %s", v->name);
    tt_tern one = {1, w->k, w->scale, NULL};
    int8_t *zeros = calloc((size_t)w->k, 1);
    uint8_t *tmp = malloc((size_t)kb + TT_TAIL_BYTES);
    if (!zeros || !tmp) {
        free(row), free(zeros), free(tmp);
        return tt_fail(TT_ERR_NOMEM, "pack %s", v->name);
    }
    for (int r = 0; r < mp; r++) {
        one.t = r < w->m ? w->t + (size_t)r * w->k : zeros;
        tt_status st = tt_fmt_pack(TT_FMT_I2S, &one, tmp, (size_t)kb + TT_TAIL_BYTES);
        if (st) {
            free(row), free(zeros), free(tmp);
            return st;
        }
        uint8_t *tile = dst + (size_t)(r / R) * R * kb;
        int i = r % R;
        for (int j = 0; j < kb; j += G) {
            int g = kb - j < G ? kb - j : G; /* the last granule may be 32 bytes */
            memcpy(tile + (size_t)j * R + (size_t)i * g, tmp + j, (size_t)g);
        }
    }
    memset(dst + (size_t)mp * kb, 0, TT_TAIL_BYTES);
    memcpy(dst + (size_t)mp * kb, &w->scale, sizeof w->scale);
    free(row), free(zeros), free(tmp);
    return TT_OK;
}

tt_status tt_variant_pack(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len)
{
    if (!v || !w || !w->t || !dst) return tt_fail(TT_ERR_NULL, "tt_variant_pack: NULL argument");
    tt_status st = tt_variant_check_shape(v, w->m, w->k);
    if (st) return st;
    size_t need = tt_variant_packed_size(v, w->m, w->k);
    if (len < need) return tt_fail(TT_ERR_SIZE, "%s %dx%d needs %zu bytes, buffer has %zu", v->name, w->m, w->k, need, len);
    switch (v->layout) {
    case TT_LAYOUT_I2S: return tt_fmt_pack(TT_FMT_I2S, w, dst, len);
    case TT_LAYOUT_I2S_IL: return pack_i2s_il(v, w, dst);
    case TT_LAYOUT_B3: return tt_fmt_pack(TT_FMT_B3, w, dst, len);
    default: return tt_layout_tl_pack(v, w, dst, len);
    }
}

void tt_i2s_prep_q256(const int8_t *q, int k, void *ws)
{
    int8_t *o = ws;
    int c = 0;
    for (; c + 256 <= k; c += 256)
        for (int g = 0; g < 4; g++)
            for (int h = 0; h < 2; h++) memcpy(o + c + g * 64 + h * 32, q + c + h * 128 + g * 32, 32);
    if (c < k) memcpy(o + c, q + c, (size_t)(k - c));
}
