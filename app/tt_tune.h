/* tt_tune.h — tuner internals shared by the tune, tune-model and bake commands. */
#ifndef TT_TUNE_H
#define TT_TUNE_H

#include "tt_profile.h"

#include <stdio.h>

#ifndef TT_VERSION
#define TT_VERSION "0.1.0"
/* summary.md of a tuning run (also printed to `also` when not NULL): the races, LM head, in-model stage, prefill. */
void tt_tune_write_summary(const tt_profile *p, const char *path, FILE *also);

#endif

/* Write the C winner table for a profile (see kernels/tt_baked.h). */
tt_status tt_bake_write(const tt_profile *p, const char *profile_path, const char *out_path);

/* summary.md of a tuning run (also printed to `also` when not NULL): the races, LM head, in-model stage, prefill. */
void tt_tune_write_summary(const tt_profile *p, const char *path, FILE *also);

#endif
