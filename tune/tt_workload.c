#include "tt_workload.h"

#include <stdio.h>
#include <string.h>

/* docs/FORMATS.md §7. large: 16 heads of 96; 3b: 32 heads of 100; both without GQA. */
const tt_model_dims tt_presets[] = {
    {"2b4t", 2560, 6912, 30, 20, 5, 128},
    {"large", 1536, 4096, 24, 16, 16, 96},
    {"3b", 3200, 8640, 26, 32, 32, 100},
    {"8b", 4096, 14336, 32, 32, 8, 128},
};
const int tt_preset_count = (int)(sizeof tt_presets / sizeof tt_presets[0]);

const tt_model_dims *tt_preset_find(const char *name)
{
    for (int i = 0; i < tt_preset_count; i++)
        if (!strcmp(tt_presets[i].preset, name)) return &tt_presets[i];
    return NULL;
}

static int add(tt_shape *out, int n, int max, const char *name, int m, int k, int per_token)
{
    for (int i = 0; i < n; i++)
        if (out[i].m == m && out[i].k == k) {
            out[i].per_token += per_token;
            return n;
        }
    if (n == max) return n;
    snprintf(out[n].name, sizeof out[n].name, "%s", name);
    out[n].m = m;
    out[n].k = k;
    out[n].per_token = per_token;
    return n + 1;
}

int tt_workload_shapes(const tt_model_dims *d, tt_shape *out, int max)
{
    int kv = d->kv_heads * d->head_dim, L = d->layers, n = 0;
    n = add(out, n, max, "attn_q_o", d->hidden, d->hidden, 2 * L);
    n = add(out, n, max, "attn_k_v", kv, d->hidden, 2 * L);
    n = add(out, n, max, "attn_qkv_fused", d->hidden + 2 * kv, d->hidden, 0);
    n = add(out, n, max, "ffn_gate_up", d->ffn, d->hidden, 2 * L);
    n = add(out, n, max, "ffn_gate_up_fused", 2 * d->ffn, d->hidden, 0);
    n = add(out, n, max, "ffn_down", d->hidden, d->ffn, L);
    return n;
}
