/* tt_verify.h — the one exactness check: a variant against the scalar oracle, bit for bit (int32 dots,
 * docs/FORMATS.md §1). The tests (tests/kernels/test_variants.c), `tritune verify` and the tuner (tt_harness: every candidate on the
 * very bytes it will time) all call it; nothing else compares a kernel with the oracle.
 *
 * A case is T (m x k), n tokens of activations at stride ldq (the padding between tokens holds bytes a kernel must
 * not read into a dot), and the oracle's dots. A check runs the variant whole, on row ranges [r0, r1) (rows outside
 * must stay untouched), and optionally split over a thread pool as the model splits it. */
#ifndef TT_VERIFY_H
#define TT_VERIFY_H

#include "tt_dense.h"
#include "tt_pool.h"
#include "tt_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_vcase {
    tt_tern w;
    int n;          /* tokens (1 for a GEMV case) */
    size_t ldq;     /* activation stride, >= k */
    int8_t *q;      /* n x ldq */
    int32_t *sum_q; /* n */
    int32_t *want;  /* n x m: the oracle's dots */
} tt_vcase;

/* mode 0: random T and q uniform over [qlo, qhi]; mode +1 / -1: T all +1 / -1, tokens alternating q = qhi (even
 * tokens) and q = qlo (odd ones): the largest |dot| each domain edge gives. */
tt_status tt_vcase_make(tt_vcase *c, int m, int k, int n, size_t pad, int mode, int qlo, int qhi, uint64_t seed);
void tt_vcase_free(tt_vcase *c);

/* Checks v (GEMV: token 0 only; GEMM: every token) on c: whole, then `splits` row ranges, then over pool if not
 * NULL. packed: v's packed bytes of c->w (NULL: packed here). TT_ERR_MISMATCH with detail naming the first
 * differing (token, row) and both values; another status when pack/run fail (detail says so). */
tt_status tt_verify_case(const tt_variant *v, const tt_vcase *c, const uint8_t *packed, int splits, tt_pool *pool,
                         char *detail, size_t dlen);

/* The adversarial edges at one shape: T all +1 / -1 with q at both ends of v's activation domain (the harness runs
 * these at the shape it times). */
tt_status tt_verify_edges(const tt_variant *v, int m, int k, char *detail, size_t dlen);

/* The whole sweep for one variant (must be eligible here). GEMV: K at, below and above each block and step, M
 * around the row block and 1, the 2B4T k/v and down shapes, adversarial edges at the largest K it accepts (capped
 * at 2^20, 2^14 quick). GEMM: also every token count from 1 to 2n+1 around its token block, padded strides, and
 * adversarial tokens at large K. Both: row-range splits, and pool splits over 2 and 3 threads. quick trims the
 * sweep (sanitizer runs). cases (optional) gets the number of cases checked; 0 accepted is an error. */
tt_status tt_verify_variant(const tt_variant *v, bool quick, int *cases, char *detail, size_t dlen);

/* The LM-head family (kernels/tt_dense.h) has no integer oracle: its contract is the portable member's float bits.
 * Checks v (usable here) against the portable member of its kind on one matrix (w: m x k halves for f16, int8 for i8
 * with per-row scale; x: k floats): all rows, a range starting and ending inside a row block, the last rows alone,
 * and the rows outside a range left untouched. TT_ERR_MISMATCH with detail naming the first differing row. */
tt_status tt_verify_dense(const tt_dense_variant *v, const void *w, const float *scale, const float *x, int m, int k,
                          char *detail, size_t dlen);

#ifdef __cplusplus
}
#endif
#endif
