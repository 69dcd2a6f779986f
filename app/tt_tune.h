/* tt_tune.h — tuner internals shared by the tune and bake commands. */
#ifndef TT_TUNE_H
#define TT_TUNE_H

#include "tt_profile.h"

#ifndef TT_VERSION
#define TT_VERSION "0.1.0"
#endif

/* Write the C winner table for a profile (see kernels/tt_baked.h). */
tt_status tt_bake_write(const tt_profile *p, const char *profile_path, const char *out_path);

#endif
