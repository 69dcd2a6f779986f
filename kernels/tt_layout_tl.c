/* TL1/TL2 tiled layouts (packed from the canonical trits at load time, docs/FORMATS.md §4-§5), and the per-token
 * workspace sizes of their look-up tables. Every layout depends on the variant's bm and vector width, never on
 * bk (K blocks only decide where the kernel folds int16 into int32).
 *
 * Common: rows are padded to a multiple of bm (padding rows are all-zero trits) and cut into tiles of bm rows,
 * stored one after the other; the packed tensor ends with the usual 32-byte tail (f32 scale first).
 * Inside a tile every "row plane" is bm bytes, one per row, in SLOT ORDER: the kernel joins looked-up low and
 * high table bytes with unpacklo/unpackhi_epi8, which work per 16-byte lane, so slots are permuted such that
 * the joined int16 lanes come out in row order. For a vector of V bytes (16: scalar and NEON, 32: AVX2,
 * 64: AVX-512), slot p of each V-row chunk (lane j = p/16, half h = p%16/8, b = p%8) holds row
 * h*V/2 + 8j + b. For V = 16 this is the identity.
 *
 *   TT_LAYOUT_TL1_TILE   per tile, K/4 planes: plane c holds pair 2c (low nibble) and pair 2c+1 (high nibble) as
 *                        TL1 indices 3*w0+w1+4 (padding 0x44). 2 bits/weight.
 *                        Trick vpermi2b instead: plane g holds the quad index 27(w0+1)+9(w1+1)+3(w2+1)+(w3+1) in
 *                        [0, 80] of columns 4g..4g+3 (padding 40). 2 bits/weight.
 *   TT_LAYOUT_TL2_TILE   K3 = tt_tl2_k3(K) triple columns, then K-K3 (0, 32 or 64) pair columns. Per tile, per
 *                        octet of 8 triples (24 columns): 4 magnitude planes (triples 2c and 2c+1 of the octet as
 *                        low/high nibble |v|, v = 9w0+3w1+w2) then one sign plane (bit t set when triple t of the
 *                        octet is negative); then (K-K3)/4 TL1 pair planes; then bm int32 in ROW order: the number of
 *                        negative triples of each row. Kernels negate a looked-up int16 by flipping both bytes
 *                        (giving -v-1) and add that count back once. 1.67 bits/weight + 32 bits/row.
 *   TT_LAYOUT_TL2_BYTE   per tile, K3/3 planes: one byte per triple, sign<<4 | |v| (a 32-entry signed table
 *                        index, no fix-up); then the (K-K3)/4 TL1 pair planes. 2.67 bits/weight.
 *
 * Workspaces (filled per token by the variant's prep; int16 entries split into a 16- or 32-byte low plane and a
 * high plane):
 *   TL1: per pair 32 bytes: lo[16], hi[16], entries 0..8 as docs/FORMATS.md §4, 9..15 zero.
 *   TL1 vpermi2b: per quad 256 bytes: lo[128], hi[128], entries 0..80, the rest zero.
 *   TL2_TILE: per triple 32 bytes (entries 0..13, magnitude order of docs/FORMATS.md §5), then per tail pair 32 bytes.
 *   TL2_BYTE: per triple 64 bytes: lo[32], hi[32]; entries 0..13 the table, 16..29 its negation; then tail pairs.
 */
#include "tt_layout.h"

#include <stdlib.h>
#include <string.h>

static int tl_vbytes(const tt_variant *v)
{
    switch (v->isa) {
    case TT_ISA_AVX2:
    case TT_ISA_AVXVNNI: return 32;
    case TT_ISA_AVX512BW:
    case TT_ISA_AVX512VNNI:
    case TT_ISA_AVX512VBMI: return 64;
    default: return 16;
    }
}

static int tl1_quads(const tt_variant *v) { return v->layout == TT_LAYOUT_TL1_QUAD; }

/* Row (within a tile) stored at slot p. */
static int slot_row(int p, int vb)
{
    int chunk = p / vb, s = p % vb, j = s / 16, h = s % 16 / 8, b = s % 8;
    return chunk * vb + h * (vb / 2) + 8 * j + b;
}

static size_t tile_bytes(const tt_variant *v, int k)
{
    size_t bm = (size_t)v->p.bm;
    int k3 = tt_tl2_k3(k);
    switch (v->layout) {
    case TT_LAYOUT_TL1_TILE:
    case TT_LAYOUT_TL1_QUAD: return bm * (size_t)(k / 4);
    case TT_LAYOUT_TL2_TILE: return bm * (size_t)(5 * (k3 / 24) + (k - k3) / 4) + 4 * bm;
    case TT_LAYOUT_TL2_BYTE: return bm * (size_t)(k3 / 3 + (k - k3) / 4);
    default: return 0;
    }
}

size_t tt_layout_tl_size(const tt_variant *v, int m, int k)
{
    size_t tiles = (size_t)((m + v->p.bm - 1) / v->p.bm);
    return tiles * tile_bytes(v, k) + TT_TAIL_BYTES;
}

size_t tt_layout_tl_ws(const tt_variant *v, int k)
{
    int k3 = tt_tl2_k3(k);
    switch (v->layout) {
    case TT_LAYOUT_TL1_TILE: return (size_t)(k / 2) * 32;
    case TT_LAYOUT_TL1_QUAD: return (size_t)(k / 4) * 256;
    case TT_LAYOUT_TL2_TILE: return (size_t)(k3 / 3) * 32 + (size_t)((k - k3) / 2) * 32;
    case TT_LAYOUT_TL2_BYTE: return (size_t)(k3 / 3) * 64 + (size_t)((k - k3) / 2) * 32;
    default: return 0;
    }
}

static int pair_index(const int8_t *t) { return 3 * t[0] + t[1] + 4; }
static int triple_value(const int8_t *t) { return 9 * t[0] + 3 * t[1] + t[2]; }

/* Pack one tile: tr[i] is row i's trits (a zero row for padding). */
static void pack_tile(const tt_variant *v, const int8_t *const *tr, int k, uint8_t *o)
{
    const int bm = v->p.bm, vb = tl_vbytes(v), k3 = tt_tl2_k3(k);
    int rows[1024];
    for (int p = 0; p < bm; p++) rows[p] = slot_row(p, vb);
    if (v->layout == TT_LAYOUT_TL1_TILE || v->layout == TT_LAYOUT_TL1_QUAD) {
        int quads = tl1_quads(v);
        for (int c = 0; c < k / 4; c++, o += bm)
            for (int p = 0; p < bm; p++) {
                const int8_t *t = tr[rows[p]] + 4 * c;
                o[p] = quads ? (uint8_t)(27 * (t[0] + 1) + 9 * (t[1] + 1) + 3 * (t[2] + 1) + (t[3] + 1))
                             : (uint8_t)(pair_index(t) | pair_index(t + 2) << 4);
            }
        return;
    }
    if (v->layout == TT_LAYOUT_TL2_TILE) {
        for (int oc = 0; oc < k3 / 24; oc++) {
            for (int c = 0; c < 4; c++, o += bm)
                for (int p = 0; p < bm; p++) {
                    const int8_t *t = tr[rows[p]] + 24 * oc + 6 * c;
                    int a = triple_value(t), b = triple_value(t + 3);
                    o[p] = (uint8_t)((a < 0 ? -a : a) | (b < 0 ? -b : b) << 4);
                }
            for (int p = 0; p < bm; p++) {
                const int8_t *t = tr[rows[p]] + 24 * oc;
                unsigned s = 0;
                for (int i = 0; i < 8; i++) s |= (unsigned)(triple_value(t + 3 * i) < 0) << i;
                o[p] = (uint8_t)s;
            }
            o += bm;
        }
    } else {
        for (int i = 0; i < k3 / 3; i++, o += bm)
            for (int p = 0; p < bm; p++) {
                int a = triple_value(tr[rows[p]] + 3 * i);
                o[p] = (uint8_t)(a < 0 ? 16 - a : a);
            }
    }
    for (int c = k3 / 4; c < k / 4; c++, o += bm)
        for (int p = 0; p < bm; p++) {
            const int8_t *t = tr[rows[p]] + 4 * c;
            o[p] = (uint8_t)(pair_index(t) | pair_index(t + 2) << 4);
        }
    if (v->layout == TT_LAYOUT_TL2_TILE)
        for (int r = 0; r < bm; r++) {
            int32_t n = 0;
            for (int i = 0; i < k3 / 3; i++) n += triple_value(tr[r] + 3 * i) < 0;
            memcpy(o + 4 * (size_t)r, &n, 4);
        }
}

tt_status tt_layout_tl_pack(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len)
{
    (void)len; /* checked by tt_variant_pack */
    const int bm = v->p.bm, k = w->k;
    if (bm < 1 || bm > 1024 || bm % tl_vbytes(v))
        return tt_fail(TT_ERR_VALUE, "%s: bm %d is not a multiple of the vector rows", v->name, bm);
    if (v->layout != TT_LAYOUT_TL1_TILE && v->layout != TT_LAYOUT_TL1_QUAD && v->layout != TT_LAYOUT_TL2_TILE &&
        v->layout != TT_LAYOUT_TL2_BYTE)
        return tt_fail(TT_ERR_UNSUPPORTED, "%s: not a TL layout", v->name);
    for (size_t i = 0; i < (size_t)w->m * k; i++)
        if (w->t[i] < -1 || w->t[i] > 1)
            return tt_fail(TT_ERR_VALUE, "trit %d at index %zu is not in {-1,0,1}", w->t[i], i);
    int8_t *zeros = calloc((size_t)k, 1);
    const int8_t **tr = malloc(sizeof *tr * (size_t)bm);
    if (!zeros || !tr) {
        free(zeros), free((void *)tr);
        return tt_fail(TT_ERR_NOMEM, "pack %s", v->name);
    }
    const int tiles = (w->m + bm - 1) / bm;
    const size_t tb = tile_bytes(v, k);
    for (int t = 0; t < tiles; t++) {
        for (int i = 0; i < bm; i++) {
            int r = t * bm + i;
            tr[i] = r < w->m ? w->t + (size_t)r * k : zeros;
        }
        pack_tile(v, tr, k, dst + (size_t)t * tb);
    }
    uint8_t *tail = dst + (size_t)tiles * tb;
    memset(tail, 0, TT_TAIL_BYTES);
    memcpy(tail, &w->scale, sizeof w->scale);
    free(zeros), free((void *)tr);
    return TT_OK;
}
