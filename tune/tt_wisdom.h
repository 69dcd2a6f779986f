/* tt_wisdom.h — tuning profiles as runtime wisdom: the profile `tritune tune` writes is read when a program starts,
 * checked (tt_profile_check: one CPU identity rule, the registry hash) and installed as the table every kernel pick
 * reads (tt_wisdom_install, kernels/tt_baked.h). No rebuild between tuning and use; a baked table remains the
 * static fallback of a binary run where no profile is found. */
#ifndef TT_WISDOM_H
#define TT_WISDOM_H

#include "tt_profile.h"

/* Read path, check it against here and this registry, install its winners. note (optional) gets the brand note
 * when the profile comes from the same part under another brand string, else "". */
tt_status tt_wisdom_load(const char *path, const tt_cpu_id *here, char *note, size_t note_n);

/* Install the winners of a profile already read and checked; path names it in the source. */
tt_status tt_wisdom_install_profile(const tt_profile *p, const char *path);

/* The profile to load when none is named: $TRITUNE_WISDOM; else root/<slug>/profile.json of this machine; else the
 * first root/<dir>/profile.json (in name order) whose CPU tt_cpu_id_match accepts, i.e. the same part under
 * another brand string (its folder name differs, since the slug holds the brand). false if none. */
bool tt_wisdom_find(const tt_cpu_id *here, const char *root, char *path, size_t n);

#endif
