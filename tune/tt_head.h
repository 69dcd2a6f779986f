/* tt_head.h — the LM-head race: the members of the head family (kernels/tt_dense.h) raced on a model's head shape
 * like the GEMV kernels, so the model reads the winner from the wisdom instead of timing anything at load.
 *
 * Every usable member of the kind is first checked against the portable member's bits on the race's own matrix
 * (tt_verify_dense, a prefix of rows that ends inside every row block); the survivors run in a short Google
 * Benchmark session, the 4 fastest and the static default again in a longer one, both randomly interleaved. The
 * weights stream from memory as in decode: the matrix is copied until the copies cover cold_bytes (at most 16) and
 * every pass reads the next copy. Threads take the rows as the model does (tt_guided_take, TT_HEAD_TAKE). */
#ifndef TT_HEAD_H
#define TT_HEAD_H

#include "tt_dense.h"
#include "tt_profile.h"
#include "tt_topo.h"

/* Races kind on m (vocab) x k (dim) at `threads` threads pinned by topo. json: the final session's Google Benchmark
 * JSON (NULL: none). out: the entry (kind, shape, winner, default, times, counts). log (optional) gets the
 * excluded kernels and why. */
tt_status tt_tune_head(tt_dense_kind kind, int m, int k, int threads, tt_topo *topo, size_t cold_bytes,
                       const char *json, tt_prof_head *out, char *log, size_t logn);

/* How many members tt_tune_head races for kind on this CPU (a profile's entry with another count was raced by a
 * build whose head family differed: the tuner races it again). */
int tt_head_candidates(tt_dense_kind kind);

#endif
