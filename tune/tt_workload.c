#include "tt_workload.h"

#include <stdio.h>
#include <string.h>

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

int tt_workload_shapes(const tt_preset *p, tt_shape *out, int max)
{
    int kv = p->kv_heads * p->head_dim, L = p->layers, n = 0;
    n = add(out, n, max, "attn_q_o", p->dim, p->dim, 2 * L);
    n = add(out, n, max, "attn_k_v", kv, p->dim, 2 * L);
    n = add(out, n, max, "attn_qkv_fused", p->dim + 2 * kv, p->dim, 0);
    n = add(out, n, max, "ffn_gate_up", p->ffn, p->dim, 2 * L);
    n = add(out, n, max, "ffn_gate_up_fused", 2 * p->ffn, p->dim, 0);
    n = add(out, n, max, "ffn_down", p->dim, p->ffn, L);
    return n;
}
