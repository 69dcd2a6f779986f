/* tt_workload.h — the distinct ternary GEMV shapes of a model (docs/FORMATS.md §7), fused QKV and gate+up included.
 * The presets' sizes come from the one preset table (kernels/tt_preset.h), the same rows `tritune model synth`
 * writes; a model file's sizes are put in a tt_preset too. */
#ifndef TT_WORKLOAD_H
#define TT_WORKLOAD_H

#include "tt_common.h"
#include "tt_preset.h"

typedef struct tt_shape {
    char name[32];
    int m, k;
    int per_token; /* how many times one decoded token runs this shape (all layers), unfused plan */
} tt_shape;

/* Shapes of a model from p's dim, ffn, layers, kv_heads and head_dim: q/o, k/v, fused qkv, gate/up, fused gate+up,
 * down (duplicates merged). Returns count. */
int tt_workload_shapes(const tt_preset *p, tt_shape *out, int max);

#endif
