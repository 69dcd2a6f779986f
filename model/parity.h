/* parity.h — comparing two logit vectors for the same input (tritune against another implementation, or against
 * golden outputs another implementation wrote): correlation, largest difference against the reference's range, and
 * the top-k ids of each. Used by `tritune eval --ref` and the golden tests, with one definition of "agree". */
#ifndef TT_PARITY_H
#define TT_PARITY_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TT_PARITY_TOP_MAX 16

/* The agreement the parity tests require (docs/FORMATS.md §7, tests/data/golden/README.md): measured between two
 * implementations that differ only in rounding (f16 vs f32 KV cache, FMA contraction, int8 requantization ties). */
#define TT_PARITY_MIN_PEARSON 0.9995
#define TT_PARITY_MAX_DIFF_OF_RANGE 0.02
#define TT_PARITY_TOP 5
/* Two reference logits closer than this can trade places between implementations that differ only in rounding:
 * top lists are compared up to such near ties, and greedy ids only while the top-1 margin is at least this. */
#define TT_PARITY_TIE 0.1

typedef struct tt_logit_cmp {
    int n, top;                   /* vector length; ids compared in the top lists */
    double pearson;               /* correlation of ref and got (NaN when either is constant) */
    double max_abs_diff;          /* max |got - ref| */
    double ref_range;             /* max(ref) - min(ref) */
    double ref_margin;            /* ref's top-1 minus its top-2 logit */
    int top_ref[TT_PARITY_TOP_MAX], top_got[TT_PARITY_TOP_MAX]; /* ids by decreasing logit, ties to the lower id */
    bool top_same;                /* the same ids in the same order */
    bool top_ties;                /* the same up to near ties: at each rank i < top, ref[got's i-th] is within
                                   * TT_PARITY_TIE of ref's i-th logit */
    bool nonfinite;               /* got has a NaN or infinity */
} tt_logit_cmp;

/* Compare got against ref (n floats each), top lists of min(top, TT_PARITY_TOP_MAX, n). */
void tt_logits_compare(const float *ref, const float *got, int n, int top, tt_logit_cmp *out);
/* Whether c meets the thresholds above (Pearson, max |diff| as a share of the range, the top-5 up to near ties). */
bool tt_logits_agree(const tt_logit_cmp *c);
/* The k largest of v (k <= TT_PARITY_TOP_MAX), by decreasing value, ties to the lower index (as tt_argmax). */
void tt_topk(const float *v, int n, int k, int *idx);

#ifdef __cplusplus
}
#endif
#endif
