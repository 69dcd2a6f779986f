/* tt_preset.c — the one table of model presets (tt_preset.h). Each row is what the synthetic model of that name
 * runs, and so what the tuner races for it. Public models' facts: docs/FORMATS.md §7. */
#include "tt_preset.h"

#include <stdio.h>
#include <string.h>

/* Every row keeps dim == heads * head_dim, heads % kv_heads == 0, and dim and ffn multiples of 128 (I2_S's row
 * length); tests/model/test_gguf.c checks every row through tt_synth_preset and tt_model_config_check. */
static const tt_preset tt_presets[] = {
    {.name = "2b4t", .desc = "tritune synthetic BitNet b1.58 2B4T", .arch = "bitnet-b1.58", .dim = 2560, .ffn = 6912,
     .layers = 30, .heads = 20, .kv_heads = 5, .head_dim = 128, .vocab = 128256, .ctx = 4096, .rope_theta = 500000.0f,
     .bos = 128000, .eos = 128001, .tune = true, .note = NULL},
    /* The Llama-2 vocabulary size, BOS 1, EOS 2. */
    {.name = "large", .desc = "tritune synthetic BitNet b1.58 large (0.7B)", .arch = "bitnet-b1.58", .dim = 1536,
     .ffn = 4096, .layers = 24, .heads = 12, .kv_heads = 12, .head_dim = 128, .vocab = 32000, .ctx = 2048,
     .rope_theta = 10000.0f, .bos = 1, .eos = 2, .tune = true,
     .note = "bitnet_b1_58-large has 16 heads of 96; 12 of 128 here (the same q/k/v/o shapes)"},
    /* bitnet_b1_58-3B's FFN 8640 is not a multiple of 128, so ffn_down (K = FFN) could not be I2_S: the next multiple
     * of 128 (+0.7 % FFN work). 25 heads of 128 give the same 3200-wide q/k/v/o matrices as its 32 of 100. */
    {.name = "3b", .desc = "tritune synthetic BitNet b1.58 3B (FFN padded 8640 -> 8704 for I2_S)",
     .arch = "bitnet-b1.58", .dim = 3200, .ffn = 8704, .layers = 26, .heads = 25, .kv_heads = 25, .head_dim = 128,
     .vocab = 32000, .ctx = 2048, .rope_theta = 10000.0f, .bos = 1, .eos = 2, .tune = true,
     .note = "bitnet_b1_58-3B: FFN 8640 padded to 8704 (I2_S needs K % 128 == 0); 32 heads of 100, 25 of 128 here"},
    {.name = "8b", .desc = "tritune synthetic Llama3-8B-1.58", .arch = "bitnet-b1.58", .dim = 4096, .ffn = 14336,
     .layers = 32, .heads = 32, .kv_heads = 8, .head_dim = 128, .vocab = 128256, .ctx = 8192, .rope_theta = 500000.0f,
     .bos = 128000, .eos = 128001, .tune = true, .note = NULL},
    /* For the tests, named after no public model: small enough to synthesize, load and decode in milliseconds; not a
     * tuning target. */
    {.name = "tiny", .desc = "tritune synthetic tiny", .arch = "bitnet-b1.58", .dim = 256, .ffn = 512, .layers = 2,
     .heads = 4, .kv_heads = 2, .head_dim = 64, .vocab = 512, .ctx = 256, .rope_theta = 10000.0f, .bos = 510,
     .eos = 511, .tune = false, .note = NULL},
};

#define N_PRESETS (int)(sizeof tt_presets / sizeof tt_presets[0])

int tt_preset_count(void) { return N_PRESETS; }

const tt_preset *tt_preset_at(int i) { return i >= 0 && i < N_PRESETS ? &tt_presets[i] : NULL; }

const tt_preset *tt_preset_find(const char *name)
{
    for (int i = 0; name && i < N_PRESETS; i++)
        if (!strcmp(tt_presets[i].name, name)) return &tt_presets[i];
    return NULL;
}

const char *tt_preset_names(char *buf, size_t n, const char *sep, bool tune_only)
{
    if (!n) return buf;
    buf[0] = 0;
    size_t len = 0;
    for (int i = 0; i < N_PRESETS; i++) {
        if (tune_only && !tt_presets[i].tune) continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? sep : "", tt_presets[i].name);
        if (w < 0 || (size_t)w >= n - len) { /* does not fit: left out whole */
            buf[len] = 0;
            break;
        }
        len += (size_t)w;
    }
    return buf;
}
