/* tt_registry.h — one table, one row per generated kernel variant (docs/DESIGN.md §2). Tests, benches, the tuner and
 * dispatch all read this table. A variant's name is parseable (grammar in gen/GRAMMAR.md):
 *     tt_<fmt>_<op>_<param>[_<param>...]__<isa>[_<trick>]      e.g. tt_i2s_gemv_r8_u2_f0_p512_il__avx512vnni
 * and tt_variant_parse(name) recovers exactly the row's parameters. Two operations share the table:
 *   gemv  one token per call (decode): row->gemv != NULL, row->gemm == NULL;
 *   gemm  n tokens per call sharing each weight unpack (prefill): row->gemm != NULL, row->gemv == NULL.
 * Code that runs GEMVs (tune, bench, dispatch) must skip rows whose op is not TT_OP_GEMV. */
#ifndef TT_REGISTRY_H
#define TT_REGISTRY_H

#include "tt_cpu.h"
#include "tt_format.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a variant runs: the "__<isa>" part of its name. */
typedef enum tt_isa {
    TT_ISA_SCALAR = 0,
    TT_ISA_AVX2,
    TT_ISA_AVXVNNI,
    TT_ISA_AVX512BW,
    TT_ISA_AVX512VNNI,
    TT_ISA_AVX512VBMI,
    TT_ISA_NEON,
    TT_ISA_DOTPROD,
    TT_ISA_I8MM,
    TT_ISA_AMX, /* AMX-INT8 tiles (+ AVX-512BW for the weight decode); x86, GEMM only */
    TT_ISA_COUNT
} tt_isa;

const char *tt_isa_name(tt_isa i);
int tt_isa_from_name(const char *s); /* -1 if unknown */
uint32_t tt_isa_required(tt_isa i);  /* TT_F_* bits a kernel of this ISA needs */

/* Packed weight layouts a kernel reads; all are produced from the canonical matrix by tt_variant_pack. */
typedef enum tt_layout {
    TT_LAYOUT_I2S = 0,    /* plain I2_S rows (bitnet.cpp's bytes; zero-copy from GGUF) */
    TT_LAYOUT_I2S_IL,     /* I2_S codes, R rows' granules (u*32 bytes) adjacent: one stream per row block */
    TT_LAYOUT_TL1_TILE,   /* TL1 pair indices tiled bm rows x 2 pairs per vector (see kernels/tt_layout.c) */
    TT_LAYOUT_TL2_TILE,   /* TL2 triple magnitudes + sign bits tiled bm rows, pair tail tiled likewise */
    TT_LAYOUT_TL2_BYTE,   /* TL2 5-bit index (sign<<4 | magnitude) one byte per triple, tiled bm rows */
    TT_LAYOUT_TL1_QUAD,   /* TL1 family, one byte per 4-weight quad (index 0..80), tiled bm rows (vpermi2b) */
    TT_LAYOUT_B3,         /* plain B3 rows (base 3, five trits per byte; tt_format.h) */
    TT_LAYOUT_COUNT
} tt_layout;

/* The operation a variant computes (the "_<op>" part of its name). */
typedef enum tt_op {
    TT_OP_GEMV = 0, /* dot[r] = Σ_k T[r][k]·q[k] for one token */
    TT_OP_GEMM,     /* dot[t][r] = Σ_k T[r][k]·q[t][k] for n tokens (batched prefill) */
    TT_OP_COUNT
} tt_op;

const char *tt_op_name(tt_op o);
int tt_op_from_name(const char *s); /* -1 if unknown */

/* Every tunable axis. Unused axes are 0. The name carries exactly the non-zero ones (plus flags). */
typedef struct tt_params {
    int rows;   /* r: rows per block sharing one activation load (I2_S) */
    int unroll; /* u: vector loads per row per inner iteration */
    int fold;   /* f: int16 accumulation fold interval in maddubs terms (<= 64); 0 = int32 (VNNI dot) */
    int pf;     /* p: software prefetch distance in bytes, 0 = none */
    int il;     /* il: row-interleaved packed layout */
    int bm;     /* bm: rows per compute block (TL) */
    int bk;     /* bk: K columns per block between int16 -> int32 folds (TL) */
    int lut;    /* lut: LUT construction strategy id (TL) */
    int n;      /* n: tokens per block sharing one weight unpack (GEMM only; 0 for GEMV) */
    int st;     /* st: the r rows of a block lie a part of the range apart, one stream each (B3) */
} tt_params;

/* One GEMV call computes dot[r] (absolute row index) for r in [r0, r1). */
typedef struct tt_gemv_args {
    const uint8_t *w; /* packed weights in the variant's layout */
    const int8_t *q;  /* int8 activations, length k */
    const void *ws;   /* per-token workspace filled by prep (LUTs / reordered q), NULL if ws_size == 0 */
    int32_t sum_q;    /* Σq (for the offset trick c = T + 1) */
    int m, k;
} tt_gemv_args;

typedef void (*tt_gemv_fn)(const tt_gemv_args *a, int32_t *dot, int r0, int r1);
typedef void (*tt_prep_fn)(const int8_t *q, int k, void *ws);

/* One GEMM call computes dot[t * m + r] for every token t in [0, n) and rows r in [r0, r1) (absolute row index):
 * the exact int32 Σ_k T[r][k]·q[t][k]. Weights are in the variant's layout (the same I2_S layouts and packers as
 * the GEMV variants). Workspace: when v->prep != NULL the kernel reads ws instead of q, holding token t's prepped
 * vector at (int8_t *)ws + t * ldq — prep is the per-token GEMV prep, called once per token
 * (tt_variant_gemm_prep does it; tt_variant_gemm_ws_size gives the bytes). */
typedef struct tt_gemm_args {
    const uint8_t *w;       /* packed weights in the variant's layout */
    const int8_t *q;        /* n tokens x k int8 activations, token t at q + t * ldq */
    size_t ldq;             /* row stride of q (and of ws) in bytes, >= k */
    const void *ws;         /* n prepped token vectors at stride ldq, NULL if the variant has no prep */
    const int32_t *sum_q;   /* Σq per token (offset trick), n entries */
    int m, k, n;
} tt_gemm_args;

typedef void (*tt_gemm_fn)(const tt_gemm_args *a, int32_t *dot, int r0, int r1);

typedef struct tt_variant {
    const char *name;
    tt_fmt fmt;
    tt_isa isa;
    tt_layout layout;
    tt_params p;
    bool exact;       /* bit-exact int32 dots on the whole activation domain below */
    bool baseline;    /* follows bitnet.cpp's published decode loop (trick "_base") */
    int act_min, act_max; /* activation domain on which exactness is guaranteed */
    int row_align;    /* r0 (and r1 unless r1 == m) must be multiples of this */
    int k_align;      /* K must be a multiple of this */
    int k_max;        /* largest K the variant accepts (overflow budget) */
    tt_prep_fn prep;  /* NULL when the kernel reads q directly (per token, also for GEMM) */
    tt_gemv_fn gemv;  /* op == TT_OP_GEMV; NULL for GEMM rows */
    tt_op op;
    tt_gemm_fn gemm;  /* op == TT_OP_GEMM; NULL for GEMV rows */
} tt_variant;

/* The table (generated). Only variants compiled for this target are present. */
extern const tt_variant tt_registry[];
extern const int tt_registry_count;

/* FNV-1a over every row's name and parameters: a profile made with another registry is refused. */
uint64_t tt_registry_hash(void);

const tt_variant *tt_variant_find(const char *name);

/* Eligible here: every feature the ISA needs is usable (CPUID + OS + TRITUNE_ISA cap). If not, *why (optional)
 * names the missing features. */
bool tt_variant_eligible(const tt_variant *v, const tt_cpu *cpu, char *why, size_t why_len);

/* Shape acceptance (format constraint, k_align, k_max); message in tt_last_error(). */
tt_status tt_variant_check_shape(const tt_variant *v, int m, int k);

/* Layout sizes and packing from the canonical matrix. */
size_t tt_variant_packed_size(const tt_variant *v, int m, int k);
tt_status tt_variant_pack(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len);
size_t tt_variant_ws_size(const tt_variant *v, int k);

/* Name grammar. format: writes the canonical name for (fmt, params, isa, trick) into buf.
 * parse: fills fmt/params/isa/trick from a name; false (with tt_last_error) if it does not follow the grammar. */
typedef struct tt_name_parts {
    tt_fmt fmt;
    tt_params p;
    tt_isa isa;
    char trick[16]; /* "", "base", "vpermb", "lossy", ... */
    tt_op op;       /* TT_OP_GEMV (0) unless the name says "_gemm" */
} tt_name_parts;

int tt_name_format(const tt_name_parts *parts, char *buf, size_t len);
bool tt_name_parse(const char *name, tt_name_parts *parts);

/* GEMM helpers: workspace bytes for n tokens at stride ldq (0 when the variant reads q directly) and the per-token
 * prep into it. Running a kernel is a plan's job (kernels/tt_plan.h: tt_plan_for, tt_plan_view). */
size_t tt_variant_gemm_ws_size(const tt_variant *v, int k, int n, size_t ldq);
void tt_variant_gemm_prep(const tt_variant *v, const int8_t *q, size_t ldq, int k, int n, void *ws);

/* Dispatch: the best eligible exact GEMV variant for a format by a static preference order, honouring
 * TRITUNE_KERNEL=<name> (forced; refused loudly if ineligible) and logging the choice (TRITUNE_DEBUG=1). */
const tt_variant *tt_dispatch_default(tt_fmt fmt, int m, int k);

/* The same for GEMM variants (prefill), honouring TRITUNE_GEMM_KERNEL=<name>. Within the best ISA it prefers a
 * variant whose packed layout agrees with gemv's (tt_variant_layouts_agree), so the model keeps one packed copy
 * for decode and prefill; gemv may be NULL (no preference). */
const tt_variant *tt_dispatch_default_gemm(tt_fmt fmt, int m, int k, const tt_variant *gemv);

/* Whether two variants read the same packed bytes: the same layout, and for the row-interleaved layout the same
 * rows per tile and the same granule (vector width). */
bool tt_variant_layouts_agree(const tt_variant *a, const tt_variant *b);

/* The row-interleaved layout's granule in bytes: the vector width (32 or 64), or 4 for the AMX GEMM (16 rows x 4
 * bytes = one 64-byte tile row of codes). */
int tt_variant_il_granule(const tt_variant *v);

#ifdef __cplusplus
}
#endif
#endif
