/* gen.h — the generator's model of a variant and the emitter interface. The manifest (data) expands into
 * gen_variant rows; each family emitter turns a row into C source; tritune_gen.c writes files and the registry. */
#ifndef GEN_H
#define GEN_H

#include "tt_registry.h"
#include <stdio.h>

typedef struct gen_variant {
    tt_name_parts x;   /* fmt, params, isa, trick */
    char name[160];
    tt_layout layout;
    int exact;
    int act_min, act_max; /* exactness domain */
    int row_align, k_align, k_max;
    int has_prep;
} gen_variant;

/* A family: validate a manifest row (fill derived fields, or return an error string), and emit its source.
 * A family is one (format, op): its variants go to <fmt>_<isa>.c (GEMV) or <fmt>_<op>_<isa>.c (other ops). */
typedef struct gen_family {
    tt_fmt fmt;
    tt_op op;
    const char *(*derive)(gen_variant *v); /* NULL = ok; else why the row is refused */
    void (*emit)(FILE *o, const gen_variant *v);
    void (*prelude)(FILE *o, tt_isa isa); /* file-level helpers for one (family, ISA) file */
} gen_family;

extern const gen_family gen_family_i2s;
extern const gen_family gen_family_tl1;
extern const gen_family gen_family_tl2;
extern const gen_family gen_family_b3;
extern const gen_family gen_family_i2s_gemm;

/* Helpers for emitters. */
int gen_isa_vbytes(tt_isa isa); /* vector width in bytes: 64 for AVX-512, 32 for AVX2, 16 NEON, 0 scalar */
int gen_isa_is_x86(tt_isa isa);
int gen_isa_is_arm(tt_isa isa);
void gen_banner(FILE *o, const char *what);
/* The one software-prefetch policy of every emitter (the p parameter, GRAMMAR.md): a step that consumes `bytes`
 * bytes of a weight stream at byte pointer expression `base` requests the 64-byte lines `pf` bytes ahead of them,
 * one hint per line (at least one), for reading into all cache levels: x86 _mm_prefetch(T0), ARM
 * __builtin_prefetch(p, 0, 3). pf = 0 emits nothing. */
void gen_prefetch(FILE *o, const char *ind, int arm, const char *base, int pf, int bytes);
/* The x86 spelling of the vector operations, one table per vector width (AVX2 / AVX-VNNI: 256 bits; AVX-512: 512),
 * shared by every emitter. hsum: the horizontal int32 sum (tt_hsum256 comes from gen_x86_hsum_prelude). */
typedef struct gen_x86 {
    const char *V; /* vector type */
    int vb;        /* bytes per vector */
    const char *load_pre, *load_post; /* unaligned full-vector load: pre + address + post */
    const char *bc16_pre, *bc16_post; /* 16 bytes broadcast to every 128-bit lane */
    const char *zero, *and_, *xor_, *srli, *shuf, *set1_8, *set1_16, *maddubs, *madd, *add16, *add32, *dot, *lo, *hi,
        *hsum;
} gen_x86;
const gen_x86 *gen_x86_ops(tt_isa isa); /* by gen_isa_vbytes: 64 -> 512-bit table, else the 256-bit one */
void gen_x86_load(FILE *o, const gen_x86 *X, const char *addr);
void gen_x86_bc16(FILE *o, const gen_x86 *X, const char *addr);
void gen_x86_hsum_prelude(FILE *o);
/* Into buf: 2-bit code group g (0..3, most significant first) of the I2_S byte vector x as bytes 0..2 (needs m3). */
void gen_x86_code(char *buf, size_t n, const gen_x86 *X, const char *x, int g);

/* The ARM (NEON, 128-bit) spelling of the operations the I2_S emitters share (gen/isa_arm.c). The TL emitter's table
 * look-ups (tbl, zip, uzp) are its own and stay with it. */
typedef struct gen_arm {
    const char *U8, *S8, *S32;       /* vector types: uint8x16_t, int8x16_t, int32x4_t */
    const char *ld_u8, *ld_s8;       /* loads */
    const char *and_u8, *shr_u8, *dup_u8, *dup_s32, *sub_u8, *s8_of_u8;
    const char *dot, *usdot, *hsum;  /* sdot (dotprod), usdot (i8mm), horizontal int32 sum */
} gen_arm;
const gen_arm *gen_arm_ops(void);
/* The I2_S decode constants (m3 = 3, one = 1) every ARM I2_S block declares. */
void gen_arm_i2s_consts(FILE *o, const char *ind);
/* Into buf: 2-bit code group g (0..3, most significant first) of byte vector x, as uint8 lanes 0..2. */
void gen_arm_code(char *buf, size_t n, const char *x, int g);
/* Into buf: the trit vector T = c - 1 as int8 lanes, from a code vector expression c. */
void gen_arm_trit(char *buf, size_t n, const char *c);

/* Layout, exactness domain and alignment shared by every I2_S multiply-add kernel (GEMV and GEMM). */
void gen_i2s_fill(gen_variant *v);
/* The AMX-INT8 branch of the i2s GEMM family (emit_amx.c). */
const char *gen_amx_derive(gen_variant *v);
void gen_amx_emit(FILE *o, const gen_variant *v);
void gen_amx_prelude(FILE *o);

#endif
