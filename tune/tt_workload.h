/* tt_workload.h — the distinct ternary GEMV shapes of a model (docs/FORMATS.md §7), fused QKV and gate+up included. */
#ifndef TT_WORKLOAD_H
#define TT_WORKLOAD_H

#include "tt_common.h"

typedef struct tt_shape {
    char name[32];
    int m, k;
    int per_token; /* how many times one decoded token runs this shape (all layers), unfused plan */
} tt_shape;

typedef struct tt_model_dims {
    const char *preset;
    int hidden, ffn, layers, heads, kv_heads, head_dim;
} tt_model_dims;

extern const tt_model_dims tt_presets[];
extern const int tt_preset_count;

const tt_model_dims *tt_preset_find(const char *name); /* "2b4t", "large", "3b", "8b" */
/* Shapes of a model: q/o, k/v, fused qkv, gate/up, fused gate+up, down (duplicates merged). Returns count. */
int tt_workload_shapes(const tt_model_dims *d, tt_shape *out, int max);

#endif
