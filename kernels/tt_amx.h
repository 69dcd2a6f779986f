/* tt_amx.h — the AMX tile operations the generated AMX GEMM kernels use (gen/emit_amx.c), spelled once.
 *
 * Normal build: the AMX-TILE / AMX-INT8 intrinsics. The kernels are only called where tt_cpu reports the CPU's
 * AMX bits, XCR0's tile state and the Linux permission (arch_prctl ARCH_REQ_XCOMP_PERM) — never elsewhere.
 *
 * TT_AMX_EMU: a scalar model of the same operations, for testing the generated kernels' tiling, tails and layout
 * on a CPU without AMX: tests/meson.build builds a second kernel library whose AMX file is compiled with it and
 * whose tt_cpu.c reports AMX usable wherever AVX-512BW is (the decode half of the kernels is real AVX-512). The model is strict
 * where the hardware faults or silently differs: a tile used while unconfigured, a load or store whose shape is
 * not the configured one, a dot product whose tile shapes do not chain (A colsb = 4 * B rows, C = A rows x B
 * colsb), a palette other than 1. Any such misuse aborts with a message, so a test fails loudly. Loading a
 * configuration zeroes every tile, as the hardware does. */
#ifndef TT_AMX_H
#define TT_AMX_H

#include <stdint.h>

/* LDTILECFG's 64-byte memory operand, palette 1: 8 tiles of up to 16 rows x 64 bytes. */
typedef struct __attribute__((aligned(64))) tt_amx_cfg {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tt_amx_cfg;

#ifdef TT_AMX_EMU
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tt_amx_emu_tile {
    int rows, colsb;
    uint8_t d[16][64];
} tt_amx_emu_tile;

static _Thread_local tt_amx_emu_tile tt_amx_emu_t[8];

static void tt_amx_emu_die(const char *what, int t)
{
    fprintf(stderr, "tt_amx emulator: %s (tile %d, rows %d, colsb %d)\n", what, t, t >= 0 ? tt_amx_emu_t[t].rows : 0,
            t >= 0 ? tt_amx_emu_t[t].colsb : 0);
    abort();
}

static inline void tt_amx_emu_cfg(const tt_amx_cfg *c)
{
    if (c->palette != 1) tt_amx_emu_die("palette is not 1", -1);
    if (c->start_row) tt_amx_emu_die("start_row is not 0", -1);
    for (int t = 0; t < 8; t++) {
        if (c->rows[t] > 16 || c->colsb[t] > 64 || (!c->rows[t]) != (!c->colsb[t]))
            tt_amx_emu_die("configured shape out of range", t);
        tt_amx_emu_t[t].rows = c->rows[t];
        tt_amx_emu_t[t].colsb = c->colsb[t];
        memset(tt_amx_emu_t[t].d, 0, sizeof tt_amx_emu_t[t].d);
    }
}

static inline tt_amx_emu_tile *tt_amx_emu_use(int t)
{
    if (t < 0 || t > 7 || !tt_amx_emu_t[t].rows) tt_amx_emu_die("tile used while unconfigured", t);
    return &tt_amx_emu_t[t];
}

static inline void tt_amx_emu_load(int t, const void *p, long stride)
{
    tt_amx_emu_tile *x = tt_amx_emu_use(t);
    for (int r = 0; r < x->rows; r++) memcpy(x->d[r], (const uint8_t *)p + (long)r * stride, (size_t)x->colsb);
    for (int r = 0; r < 16; r++) /* bytes beyond the configured shape read as zero */
        memset(x->d[r] + (r < x->rows ? x->colsb : 0), 0, (size_t)(64 - (r < x->rows ? x->colsb : 0)));
}

static inline void tt_amx_emu_store(int t, void *p, long stride)
{
    tt_amx_emu_tile *x = tt_amx_emu_use(t);
    for (int r = 0; r < x->rows; r++) memcpy((uint8_t *)p + (long)r * stride, x->d[r], (size_t)x->colsb);
}

static inline void tt_amx_emu_zero(int t)
{
    tt_amx_emu_tile *x = tt_amx_emu_use(t);
    memset(x->d, 0, sizeof x->d);
}

/* C[m][n] += sum over k4 < A.colsb/4, e < 4 of (int8)A[m][4*k4+e] * (uint8)B[k4][4*n+e], int32 wrap-around */
static inline void tt_amx_emu_dpbsud(int c, int a, int b)
{
    tt_amx_emu_tile *C = tt_amx_emu_use(c), *A = tt_amx_emu_use(a), *B = tt_amx_emu_use(b);
    if (A->colsb % 4 || B->colsb % 4 || C->colsb % 4) tt_amx_emu_die("colsb not a multiple of 4", c);
    if (A->colsb != 4 * B->rows) tt_amx_emu_die("A colsb != 4 * B rows", a);
    if (C->rows != A->rows || C->colsb != B->colsb) tt_amx_emu_die("C shape != A rows x B colsb", c);
    for (int m = 0; m < C->rows; m++)
        for (int n = 0; n < C->colsb / 4; n++) {
            int32_t acc;
            memcpy(&acc, C->d[m] + 4 * n, 4);
            uint32_t u = (uint32_t)acc;
            for (int k4 = 0; k4 < B->rows; k4++)
                for (int e = 0; e < 4; e++)
                    u += (uint32_t)((int32_t)(int8_t)A->d[m][4 * k4 + e] * (int32_t)B->d[k4][4 * n + e]);
            acc = (int32_t)u;
            memcpy(C->d[m] + 4 * n, &acc, 4);
        }
}

static inline void tt_amx_emu_release(void)
{
    for (int t = 0; t < 8; t++) tt_amx_emu_t[t].rows = tt_amx_emu_t[t].colsb = 0;
}

#define TT_TILE_LOADCONFIG(cfg) tt_amx_emu_cfg(cfg)
#define TT_TILE_LOAD(t, p, stride) tt_amx_emu_load(t, p, (long)(stride))
#define TT_TILE_STORE(t, p, stride) tt_amx_emu_store(t, p, (long)(stride))
#define TT_TILE_ZERO(t) tt_amx_emu_zero(t)
#define TT_TILE_DPBSUD(c, a, b) tt_amx_emu_dpbsud(c, a, b)
#define TT_TILE_RELEASE() tt_amx_emu_release()
#else
#include <immintrin.h>
/* GCC 12's tileloadd and ldtilecfg are asm statements that do not tell the compiler they read memory (only the
 * pointer, or the first 8 bytes of the configuration): without a barrier, stores to the decode buffer or to the
 * configuration could be sunk past the load or dropped as dead. The empty asm takes the address and clobbers
 * memory, so every earlier store is done before the tile instruction (volatile asm keeps its order). */
#define TT_AMX_BARRIER(p) __asm__ volatile("" : : "r"(p) : "memory")
#define TT_TILE_LOADCONFIG(cfg)                                                                                      \
    do {                                                                                                             \
        TT_AMX_BARRIER(cfg);                                                                                         \
        _tile_loadconfig(cfg);                                                                                       \
    } while (0)
#define TT_TILE_LOAD(t, p, stride)                                                                                   \
    do {                                                                                                             \
        TT_AMX_BARRIER(p);                                                                                           \
        _tile_loadd(t, p, stride);                                                                                   \
    } while (0)
#define TT_TILE_STORE(t, p, stride) _tile_stored(t, p, stride)
#define TT_TILE_ZERO(t) _tile_zero(t)
#define TT_TILE_DPBSUD(c, a, b) _tile_dpbsud(c, a, b)
#define TT_TILE_RELEASE() _tile_release()
#endif

#endif
