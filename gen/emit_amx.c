/* I2_S GEMM on AMX-INT8 tiles (batched prefill): dot[t][r] = Σ_k T[r][k]·q[t][k], exact int32.
 *
 * Tiles (palette 1: 8 tiles of up to 16 rows x 64 bytes):
 *   A(a) = tiles 4, 5: 16 tokens x 64 activations, loaded straight from q (row stride ldq), signed bytes;
 *   B(b) = tiles 6, 7: 16 x 64 bytes of codes c = T + 1 in the VNNI order TDPBSUD wants: B[kk][4i + e] is row i's
 *          code for weight k0 + 4kk + e (unsigned bytes);
 *   C(a,b) = tiles 2a + b: 16 tokens x 16 rows of int32, exactly the layout of dot (row stride 4m bytes).
 * TDPBSUD (signed A x unsigned B) accumulates Σ q·c; C starts at -Σq per token (the offset trick c = T + 1), so
 * the result is Σ q·T. int32 arithmetic wraps, and |Σ q·T| <= 128·K fits, so the sum is exact (docs/FORMATS.md §2).
 *
 * Layout: the row-interleaved I2_S layout with a 4-byte granule (kernels/tt_layout.c): per tile of R rows, for
 * every 4 bytes of a row's I2_S codes the R rows' 4 bytes are adjacent. So 64 bytes at granule s of a 128-weight
 * block hold 16 rows x 4 bytes, and shifting them by 6, 4, 2, 0 (mask 3) yields four B rows at once — weights
 * 32g + 4s .. 32g + 4s + 3 of each of the 16 rows: the decode is load, shift, mask, store; no transpose.
 *
 * Blocking: a call walks passes of R rows (1 or 2 B tiles) x N tokens (1 or 2 A tiles). For each pass of rows it
 * decodes K in pieces of 1024 weights into a 32 KiB stack buffer, then runs every token block over that piece;
 * between pieces the C tiles go through dot itself (their layouts agree). Tails — fewer than 16 tokens or rows in
 * a tile — get a tile configuration with fewer rows (tokens) or fewer column bytes (rows), so no tile reads or
 * writes past the data, and rows of other threads are never written.
 * Names: tt_i2s_gemm_r<R>_n<N>_u1_f0_p0_il__amx, R and N in {16, 32}. */
#include "gen.h"

const char *gen_amx_derive(gen_variant *v)
{
    const tt_params *p = &v->x.p;
    if (p->rows != 16 && p->rows != 32) return "amx: rows per pass must be 16 or 32 (one or two B tiles)";
    if (p->n != 16 && p->n != 32) return "amx: tokens per pass must be 16 or 32 (one or two A tiles)";
    if (p->unroll != 1 || p->fold || p->pf) return "amx: u1, f0 (int32 tiles), p0";
    if (!p->il) return "amx: reads its own 4-byte-granule row-interleaved layout: il is required";
    if (p->bm || p->bk || p->lut) return "i2s gemm takes no TL parameters";
    if (v->x.trick[0]) return "no tricks for i2s gemm";
    gen_i2s_fill(v);
    v->has_prep = 0; /* A tiles read q as it is */
    return NULL;
}

void gen_amx_prelude(FILE *o)
{
    fprintf(o, "#include <string.h>\n\n");
}

/* The runtime condition under which C tile (a, b) exists: A tile a has tokens and B tile b has rows. */
static const char *c_guard(int a, int b)
{
    return a && b ? "if (ta[1] && rb[1]) " : a ? "if (ta[1]) " : b ? "if (rb[1]) " : "";
}

void gen_amx_emit(FILE *o, const gen_variant *v)
{
    const int R = v->x.p.rows, N = v->x.p.n, NB = R / 16, NA = N / 16;
    const char *nm = v->name;
    fprintf(o, "void %s(const tt_gemm_args *a, int32_t *dot, int r0, int r1)\n{\n", nm);
    fprintf(o, "    assert(a && a->w && a->q && a->sum_q && dot && a->k %% 128 == 0 && a->n >= 1 && a->ldq >= (size_t)a->k);\n");
    fprintf(o, "    assert(0 <= r0 && r0 <= r1 && r1 <= a->m && r0 %% %d == 0 && (r1 %% %d == 0 || r1 == a->m));\n", R, R);
    fprintf(o, "    if (r0 >= r1) return;\n");
    fprintf(o, "    const int kb = a->k / 4, n = a->n, m = a->m;\n    const size_t ldq = a->ldq;\n");
    fprintf(o, "    const __m512i m3 = _mm512_set1_epi8(3);\n");
    fprintf(o, "    _Alignas(64) uint8_t bb[%d][16][16][64]; /* [B tile][64-weight chunk of the piece][kk][4 x 16 rows] */\n", NB);
    fprintf(o, "    _Alignas(64) int32_t negs[%d][16];       /* -Σq of each token of the block, repeated: C's start */\n", N);
    fprintf(o, "    tt_amx_cfg cfg, cur;\n    memset(&cur, 0, sizeof cur);\n");
    fprintf(o, "    for (int r = r0; r < r1; r += %d) {\n", R);
    fprintf(o, "        const uint8_t *t = a->w + (size_t)r * kb; /* this pass's tile of %d rows (padded) */\n", R);
    fprintf(o, "        const int nr = r1 - r < %d ? r1 - r : %d;\n", R, R);
    fprintf(o, "        int rb[2];\n        rb[0] = nr < 16 ? nr : 16;\n        rb[1] = nr > 16 ? nr - 16 : 0;\n");
    fprintf(o, "        for (int k0 = 0; k0 < a->k; k0 += 1024) {\n");
    fprintf(o, "            const int kp = a->k - k0 < 1024 ? a->k - k0 : 1024;\n");
    fprintf(o, "            for (int blk = 0; blk < kp / 128; blk++) /* 128 weights: granules s = 0..7 of 4 bytes */\n");
    fprintf(o, "                for (int s = 0; s < 8; s++) {\n");
    fprintf(o, "                    const uint8_t *src = t + ((size_t)k0 / 4 + 32 * (size_t)blk + 4 * (size_t)s) * %d;\n", R);
    for (int b = 0; b < NB; b++) {
        fprintf(o, "                    {\n");
        fprintf(o, "                        const __m512i x = _mm512_loadu_si512((const void *)(src + %d));\n", 64 * b);
        for (int g = 0; g < 4; g++) { /* plane g (shift 6 - 2g): chunk 2blk + g/2, B row 8(g%2) + s */
            char plane[64] = "x";
            if (g < 3) snprintf(plane, sizeof plane, "_mm512_srli_epi16(x, %d)", 6 - 2 * g);
            fprintf(o, "                        _mm512_store_si512((void *)bb[%d][2 * blk%s][%ss], _mm512_and_si512(%s, m3));\n", b,
                    g / 2 ? " + 1" : "", g % 2 ? "8 + " : "", plane);
        }
        fprintf(o, "                    }\n");
    }
    fprintf(o, "                }\n");
    fprintf(o, "            for (int tk = 0; tk < n; tk += %d) {\n", N);
    fprintf(o, "                const int nt = n - tk < %d ? n - tk : %d;\n", N, N);
    fprintf(o, "                int ta[2];\n                ta[0] = nt < 16 ? nt : 16;\n                ta[1] = nt > 16 ? nt - 16 : 0;\n");
    fprintf(o, "                memset(&cfg, 0, sizeof cfg);\n                cfg.palette = 1;\n");
    fprintf(o, "                for (int i = 0; i < 2; i++) {\n");
    fprintf(o, "                    cfg.rows[4 + i] = (uint8_t)ta[i], cfg.colsb[4 + i] = (uint16_t)(ta[i] ? 64 : 0);\n");
    fprintf(o, "                    cfg.rows[6 + i] = (uint8_t)(rb[i] ? 16 : 0), cfg.colsb[6 + i] = (uint16_t)(4 * rb[i]);\n");
    fprintf(o, "                    for (int j = 0; j < 2; j++) {\n");
    fprintf(o, "                        const int on = ta[i] && rb[j];\n");
    fprintf(o, "                        cfg.rows[2 * i + j] = (uint8_t)(on ? ta[i] : 0), cfg.colsb[2 * i + j] = (uint16_t)(on ? 4 * rb[j] : 0);\n");
    fprintf(o, "                    }\n                }\n");
    fprintf(o, "                if (memcmp(&cfg, &cur, sizeof cfg)) {\n                    TT_TILE_LOADCONFIG(&cfg);\n                    cur = cfg;\n                }\n");
    fprintf(o, "                if (k0 == 0)\n                    for (int i = 0; i < nt; i++)\n"
               "                        for (int j = 0; j < 16; j++) negs[i][j] = -a->sum_q[tk + i];\n");
    /* C tiles: start at -Σq (first piece) or continue from dot */
    for (int ia = 0; ia < NA; ia++)
        for (int jb = 0; jb < NB; jb++) {
            fprintf(o, "                %s{\n", c_guard(ia, jb));
            fprintf(o, "                    if (k0 == 0) TT_TILE_LOAD(%d, negs[%d], 64);\n", 2 * ia + jb, 16 * ia);
            fprintf(o, "                    else TT_TILE_LOAD(%d, dot + (size_t)(tk + %d) * m + r + %d, 4 * (size_t)m);\n", 2 * ia + jb, 16 * ia, 16 * jb);
            fprintf(o, "                }\n");
        }
    fprintf(o, "                const int8_t *qt = a->q + (size_t)tk * ldq + k0;\n");
    fprintf(o, "                for (int c = 0; c < kp / 64; c++) {\n");
    fprintf(o, "                    TT_TILE_LOAD(4, qt + 64 * c, ldq);\n");
    if (NA > 1) fprintf(o, "                    if (ta[1]) TT_TILE_LOAD(5, qt + 16 * ldq + 64 * c, ldq);\n");
    fprintf(o, "                    TT_TILE_LOAD(6, bb[0][c], 64);\n");
    if (NB > 1) fprintf(o, "                    if (rb[1]) TT_TILE_LOAD(7, bb[1][c], 64);\n");
    fprintf(o, "                    TT_TILE_DPBSUD(0, 4, 6);\n");
    if (NB > 1) fprintf(o, "                    if (rb[1]) TT_TILE_DPBSUD(1, 4, 7);\n");
    if (NA > 1) {
        fprintf(o, "                    if (ta[1]) {\n                        TT_TILE_DPBSUD(2, 5, 6);\n");
        if (NB > 1) fprintf(o, "                        if (rb[1]) TT_TILE_DPBSUD(3, 5, 7);\n");
        fprintf(o, "                    }\n");
    }
    fprintf(o, "                }\n");
    for (int ia = 0; ia < NA; ia++)
        for (int jb = 0; jb < NB; jb++) {
            fprintf(o, "                %sTT_TILE_STORE(%d, dot + (size_t)(tk + %d) * m + r + %d, 4 * (size_t)m);\n", c_guard(ia, jb),
                    2 * ia + jb, 16 * ia, 16 * jb);
        }
    fprintf(o, "            }\n        }\n    }\n    TT_TILE_RELEASE();\n}\n");
}
