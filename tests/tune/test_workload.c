/* test_workload.c — the shapes tune races for a preset come from its row of the one preset table
 * (kernels/tt_preset.c), the model synth writes: 3b's padded FFN, the fused shapes, duplicates merged. */
#include "tt_preset.h"
#include "tt_test.h"
#include "tt_workload.h"

#include <string.h>

static const tt_shape *find(const tt_shape *s, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s[i].name, name)) return &s[i];
    return NULL;
}

int main(void)
{
    for (int i = 0; i < tt_preset_count(); i++) {
        const tt_preset *p = tt_preset_at(i);
        if (!p->tune) continue; /* tiny's fused q/k/v has gate/up's shape: merged, so it names no ffn_gate_up */
        tt_shape s[32];
        int n = tt_workload_shapes(p, s, 32), kv = p->kv_heads * p->head_dim;
        const tt_shape *down = find(s, n, "ffn_down"), *gu = find(s, n, "ffn_gate_up"), *qo = find(s, n, "attn_q_o");
        CHECKF(down && down->m == p->dim && down->k == p->ffn && down->per_token == p->layers, "%s: ffn_down", p->name);
        CHECKF(gu && gu->m == p->ffn && gu->k == p->dim, "%s: ffn_gate_up", p->name);
        CHECKF(qo && qo->m == p->dim && qo->k == p->dim, "%s: attn_q_o", p->name);
        const tt_shape *kvs = find(s, n, "attn_k_v");
        if (kv == p->dim) /* no GQA: k/v have q's shape and are merged into it */
            CHECKF(!kvs && qo->per_token == 4 * p->layers, "%s: k/v merged into q/o", p->name);
        else
            CHECKF(kvs && kvs->m == kv && kvs->k == p->dim && kvs->per_token == 2 * p->layers, "%s: attn_k_v", p->name);
        const tt_shape *qkv = find(s, n, "attn_qkv_fused"), *gu2 = find(s, n, "ffn_gate_up_fused");
        CHECKF(qkv && qkv->m == p->dim + 2 * kv && qkv->per_token == 0, "%s: attn_qkv_fused", p->name);
        CHECKF(gu2 && gu2->m == 2 * p->ffn && gu2->per_token == 0, "%s: ffn_gate_up_fused", p->name);
        for (int j = 0; j < n; j++) CHECKF(s[j].k % 128 == 0, "%s: %s K = %d is not I2_S", p->name, s[j].name, s[j].k);
    }
    /* 3b races the FFN the synthetic model runs: padded to 8704, not the public model's */
    tt_shape s[32];
    int n = tt_workload_shapes(tt_preset_find("3b"), s, 32);
    const tt_shape *down = find(s, n, "ffn_down");
    CHECK(down && down->k == 8704);
    return tt_test_end("workload");
}
