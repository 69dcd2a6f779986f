/* tt_preset.h — the one table of model presets (tt_preset.c): the architecture `tritune model synth` writes and the
 * GEMV shapes `tritune tune` and `tritune bake --default` race for a preset name. One row per name, so the model
 * that runs and the shapes that were tuned for it cannot disagree. The sizes are the synthetic model's, which
 * keeps I2_S's constraints; where they differ from the public model the row's note says how and why
 * (docs/FORMATS.md §7). */
#ifndef TT_PRESET_H
#define TT_PRESET_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_preset {
    const char *name;  /* "2b4t", "large", "3b", "8b", "tiny": --preset (synth), --model (tune, bake) */
    const char *desc;  /* general.name of the synthetic file */
    const char *arch;  /* general.architecture: a row of the model's architecture table */
    int dim;           /* hidden size; also n_heads * head_dim */
    int ffn;           /* FFN inner size (hidden_dim) */
    int layers;
    int heads, kv_heads, head_dim;
    int vocab, ctx;    /* vocabulary size, context length */
    float rope_theta;
    int bos, eos;
    bool tune;         /* a tuning target: tune and bake --default accept the name */
    const char *note;  /* how the row differs from the public model it is named after; NULL when it does not (or,
                        * tiny, when it is named after none) */
} tt_preset;

/* The row named name, or NULL (name NULL included). */
const tt_preset *tt_preset_find(const char *name);
/* Row i (0-based, in table order), or NULL past the end: for loops over every preset. */
const tt_preset *tt_preset_at(int i);
int tt_preset_count(void);
/* The names joined by sep ("2b4t, large, 3b, 8b, tiny"), only the tuning targets when tune_only, into buf (always
 * NUL-terminated; names that do not fit are left out). Returns buf: for usage texts and "unknown preset" messages. */
const char *tt_preset_names(char *buf, size_t n, const char *sep, bool tune_only);

#ifdef __cplusplus
}
#endif
#endif
