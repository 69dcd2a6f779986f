/* tt_plan.h — a plan: how one ternary matrix is run, decided once (in the spirit of an FFTW plan or a BLIS
 * context). Created for (format, m x k, threads, batch) from the matrix's trits, it owns
 *   - the GEMV kernel (decode) and, when batch > 1, the GEMM kernel (batched prefill), both chosen by the plan's
 *     backend: the registry's picks read the wisdom (tt_pick / tt_pick_gemm: the tuned winner for this shape and
 *     thread count, else the static default; a second packed copy for the GEMM only where the tuner measured it
 *     TT_GEMM_SECOND_COPY_GAIN faster), or the scalar oracle (tests);
 *   - the packed bytes in the GEMV kernel's layout, and the GEMM kernel's own copy only when its layout differs
 *     (a TL1 or TL2 GEMV gets an I2_S GEMM and so a second copy: the registry has GEMM kernels for I2_S only);
 *   - the per-token workspace of the GEMV kernel's activation prep;
 *   - the thread split: rows in blocks of the kernel's row alignment and of the epilogue's granule (the rows an
 *     epilogue needs on one thread: a RoPE head, matched gate/up rows), evenly over the threads.
 * A plan is read-only once created, except its workspace, which tt_plan_prep writes for the next tt_plan_gemv
 * calls (one token at a time per plan), and its GEMV kernel, which tt_plan_set_gemv may swap for a prefetch sibling
 * (the same bytes) before use: the model's load-time calibration.
 *
 * Plans for a given kernel (tt_plan_for, tt_plan_view) are how the verbs that name kernels run them: `bench`, the
 * tuner's candidates and the ceiling pseudo-variants, `bench-gemm` and the verifier (kernels/tt_verify.h). Every
 * ternary product in the project, model or verb, runs through a plan. */
#ifndef TT_PLAN_H
#define TT_PLAN_H

#include "tt_pool.h"
#include "tt_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a plan's decisions come from. select: the GEMV kernel; select_gemm: the GEMM kernel next to that GEMV
 * kernel (NULL: no batched path); packed_size / pack / ws_size: the kernel's layout and workspace. */
typedef struct tt_plan_backend {
    const char *name;
    const tt_variant *(*select)(tt_fmt fmt, int m, int k, int threads);
    size_t (*packed_size)(const tt_variant *v, int m, int k);
    tt_status (*pack)(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len);
    size_t (*ws_size)(const tt_variant *v, int k);
    const tt_variant *(*select_gemm)(tt_fmt fmt, int m, int k, int threads, const tt_variant *gemv);
} tt_plan_backend;

/* The registry through the wisdom (tt_pick, tt_pick_gemm; TRITUNE_KERNEL / TRITUNE_GEMM_KERNEL honoured). */
extern const tt_plan_backend tt_plan_backend_registry;
/* A scalar kernel reading plain I2_S through the format oracle (slow, always right), GEMV and GEMM. */
extern const tt_plan_backend tt_plan_backend_oracle;

typedef struct tt_plan {
    tt_fmt fmt;
    int m, k, threads;
    int granule;             /* tt_plan_opts.granule (>= 1) */
    const tt_plan_backend *be;
    const tt_variant *v;     /* GEMV kernel (NULL in a GEMM-only plan: tt_plan_for a GEMM variant) */
    const uint8_t *packed;   /* packed_bytes in v's layout (or vg's, GEMM-only): packed_own, or a view's bytes */
    uint8_t *packed_own;     /* the plan's own copy (NULL in a view) */
    size_t packed_bytes;
    void *ws;                /* v's per-token prep workspace (NULL: none) */
    const tt_variant *vg;    /* GEMM kernel for batched prefill (NULL: none, or batch 1) */
    const uint8_t *packed_g; /* vg's bytes: == packed when the layouts agree, else packed_g_own */
    uint8_t *packed_g_own;   /* the second copy, only when vg's layout differs */
    size_t packed_g_bytes;   /* its size (0 when shared) */
} tt_plan;

/* Whether n matrices of ms[i] rows (one k), read with one input, are better planned as one stacked matrix (q/k/v,
 * gate/up): fused when the wisdom's (or baked) cold medians time the stacked shape faster than the parts together
 * at this thread count; without those medians, not. why: the numbers, or their absence. */
bool tt_plan_fuse(const int *ms, int n, int k, int threads, char *why, size_t why_n);

/* What a plan is made for. */
typedef struct tt_plan_opts {
    int threads;                 /* >= 1 */
    int batch;                   /* tokens per prefill call: > 1 also plans the GEMM */
    const tt_plan_backend *be;   /* NULL: the registry */
    int granule;                 /* rows the caller's epilogue needs whole on one thread (0 or 1: any split); the
                                  * split hands out multiples of lcm(kernel alignment, granule) */
} tt_plan_opts;

/* Plan w (fmt, w->m x w->k). On error the plan is empty (tt_plan_free is still fine) and tt_last_error says why. */
tt_status tt_plan_create(tt_plan *p, tt_fmt fmt, const tt_tern *w, const tt_plan_opts *o);
void tt_plan_free(tt_plan *p);

/* A plan for one given kernel v (a GEMV variant, or a GEMM variant: then a GEMM-only plan, v = NULL, vg = v):
 * refused unless v is eligible on this CPU and OS and accepts w's shape. Packs w into bytes the plan owns. */
tt_status tt_plan_for(tt_plan *p, const tt_variant *v, const tt_tern *w, int threads);
/* (plans for a given kernel split with granule 1) */
/* The same over bytes already packed in v's layout that the caller owns and keeps alive (the tuner's shared and
 * rotating cold copies): m x k, `bytes` long (at least tt_variant_packed_size). tt_plan_bind moves a view to
 * another copy of the same bytes. */
tt_status tt_plan_view(tt_plan *p, const tt_variant *v, const uint8_t *packed, size_t bytes, int m, int k,
                       int threads);
void tt_plan_bind(tt_plan *p, const uint8_t *packed);

/* Bytes the plan keeps (its packed copies). */
size_t tt_plan_bytes(const tt_plan *p);

/* The thread split: thread tid of nth gets rows [r0, r1), in blocks of lcm(the GEMV kernel's row alignment (the
 * GEMM kernel's alignment or row block, whichever is larger), the granule); only the last block may be short. */
void tt_plan_split(const tt_plan *p, int tid, int nth, int *r0, int *r1);
void tt_plan_split_gemm(const tt_plan *p, int tid, int nth, int *r0, int *r1);

/* Decode: tt_plan_prep once per token (the kernel's activation prep into the plan's workspace, if it has one),
 * then tt_plan_gemv on any row ranges: dot[r] = Σ_j T[r][j]·q[j] for r in [r0, r1), exact int32. */
void tt_plan_prep(const tt_plan *p, const int8_t *q);
void tt_plan_gemv(const tt_plan *p, const int8_t *q, int32_t sum_q, int32_t *dot, int r0, int r1);
/* The same with this token's prep in ws (tokens prepped ahead by the caller, tt_variant_ws_size bytes each). */
void tt_plan_gemv_ws(const tt_plan *p, const int8_t *q, const void *ws, int32_t sum_q, int32_t *dot, int r0, int r1);

/* Prefill: n tokens at stride ldq (ws: the GEMM kernel's prep of them when vg->prep, else NULL);
 * dot[t·m + r] for r in [r0, r1). */
void tt_plan_gemm(const tt_plan *p, const int8_t *q, size_t ldq, const void *ws, const int32_t *sum_q, int n,
                  int32_t *dot, int r0, int r1);
/* The GEMM kernel's workspace for n tokens at stride ldq (0: none) and its prep of them. */
size_t tt_plan_gemm_ws_size(const tt_plan *p, int n, size_t ldq);
void tt_plan_gemm_prep(const tt_plan *p, const int8_t *q, size_t ldq, int n, void *ws);

/* A whole product on a pool's threads (pool NULL: on the caller). GEMV: the prep, then the rows split by `split`
 * (TT_SPLIT_EVEN is tt_plan_split's). GEMM: the rows split by tt_plan_split_gemm; ws as for tt_plan_gemm. */
void tt_plan_run_gemv(const tt_plan *p, tt_pool *pool, const int8_t *q, int32_t sum_q, int32_t *dot, tt_split split);
void tt_plan_run_gemm(const tt_plan *p, tt_pool *pool, const int8_t *q, size_t ldq, const void *ws,
                      const int32_t *sum_q, int n, int32_t *dot);

/* The eligible GEMV variant that is v in every respect but its software prefetch distance, which is pf (same
 * format, ISA, layout and every other parameter, so the same packed bytes, prep, split and shape rules): v itself
 * when pf is v's; NULL when the registry has none. */
const tt_variant *tt_variant_pf_sibling(const tt_variant *v, int pf);
/* Run p's GEMV through v from now on: v must be a prefetch sibling of p's kernel (it reads the same bytes). The
 * model's load-time calibration of untuned plans (model/calib.c) is the one user. */
tt_status tt_plan_set_gemv(tt_plan *p, const tt_variant *v);

#ifdef __cplusplus
}
#endif
#endif
