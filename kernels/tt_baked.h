/* tt_baked.h — the winner table baked into a binary from a tuning profile (`tritune bake`, `make tune`). A baked
 * file defines tt_baked_table(); without one, the weak default here reports an empty table and callers fall back to
 * tt_dispatch_default (logged with TRITUNE_DEBUG=1). */
#ifndef TT_BAKED_H
#define TT_BAKED_H

#include "tt_dense.h"
#include "tt_registry.h"

typedef struct tt_baked_entry {
    int m, k, threads;
    const char *variant;
    tt_gemv_fn gemv;  /* the winner's kernel, referenced directly */
    double median_ns; /* the winner's median in the race (cold regime where raced); 0 = not known */
    int fuse;         /* on a fused shape's entry (q/k/v or gate/up stacked): the in-model stage's arrangement at this
                       * thread count, TT_FUSE_MEASURED_ON (fused) or _OFF (apart); 0: not measured, the medians
                       * decide (tt_plan_fuse) */
} tt_baked_entry;
#define TT_FUSE_MEASURED_ON 1
#define TT_FUSE_MEASURED_OFF 2

const tt_baked_entry *tt_baked_table(int *n, const char **source);

/* The CPU a baked table was tuned on (NULL for the static default table). The table is used only where
 * tt_cpu_id_match accepts that CPU: the kernels would still be exact elsewhere, but the numbers they were chosen
 * by belong to another machine. */
const tt_cpu_id *tt_baked_cpu_of_table(void);

/* Whether the baked tables apply on this CPU (tt_cpu_id_match against tt_cpu_id_current); why (optional) says
 * whose they are when not, or carries the brand note when they apply to the same part under another brand. */
bool tt_baked_for_this_cpu(char *why, size_t why_n);

/* Prefill (GEMM) winners from the tuner's prefill races: the fastest, and the fastest that reads the GEMV winner's
 * packed bytes (NULL when none does). A baked file from a profile without prefill races defines no table. */
typedef struct tt_baked_gemm {
    int m, k, threads;
    const char *winner;
    tt_gemm_fn winner_fn;
    double winner_ns;
    const char *shared;
    tt_gemm_fn shared_fn;
    double shared_ns;
} tt_baked_gemm;

const tt_baked_gemm *tt_baked_gemm_table(int *n);

/* LM-head winners from the tuner's head races (`tritune tune`): per head kind (f16 file head, or the 8-bit copy
 * of --lm-head q8), shape (vocab x dim) and thread count, the fastest member of the head family (kernels/tt_dense.h).
 * A baked file from a profile without head races defines no table. */
typedef struct tt_baked_head {
    int kind; /* tt_dense_kind */
    int m, k, threads;
    const char *variant;
    double median_ns;
} tt_baked_head;

const tt_baked_head *tt_baked_head_table(int *n);

/* ---- wisdom: the winner table every pick below reads ----
 * A table loaded at run time from a tuning profile (tt_wisdom_install: tritune installs results/<cpu>/profile.json
 * or --wisdom FILE at start, after checking it with tt_cpu_id_match and the registry hash) replaces the baked
 * table; without one the baked table applies where its CPU matches; otherwise there is none and the static
 * defaults decide. Install before any model is opened (the table is read without locks). */
typedef struct tt_wisdom {
    const tt_baked_entry *e; /* GEMV winners; gemv must be the registry's kernel of that name */
    int n;
    const tt_baked_gemm *g;  /* prefill winners (may be NULL) */
    int ng;
    const tt_baked_head *h;  /* LM-head winners (may be NULL) */
    int nh;
    const char *source;      /* for logs and reports, e.g. "wisdom results/<cpu>/profile.json (created ...)" */
} tt_wisdom;
/* Install a copy of w; NULL removes the runtime table (the baked one applies again). */
tt_status tt_wisdom_install(const tt_wisdom *w);
/* Where the winners come from now: the runtime wisdom's source, the baked table's, or why there is none. */
const char *tt_wisdom_source(void);
/* Take the runtime table out of effect (none is then set: the baked table applies) and hand it to the caller, who
 * puts it back with tt_wisdom_restore (which first removes whatever was installed meanwhile). For a verb that
 * installs other tables for a while (bench-ab --profiles). NULL: out of memory (nothing changed). */
typedef struct tt_wisdom_saved tt_wisdom_saved;
tt_wisdom_saved *tt_wisdom_detach(void);
void tt_wisdom_restore(tt_wisdom_saved *s);

/* A second packed copy (the GEMM winner's own layout) is kept only when that winner is at least this much faster
 * than the fastest GEMM on the GEMV winner's bytes (prefill time ratio). */
#define TT_GEMM_SECOND_COPY_GAIN 1.25

/* The GEMM kernel for (fmt, m, k, threads) next to the GEMV kernel gemv: TRITUNE_GEMM_KERNEL if set and usable;
 * else the baked prefill winner, unless it needs a second packed copy without being TT_GEMM_SECOND_COPY_GAIN faster
 * than the baked GEMM on gemv's bytes (then that one). When the entry's GEMM-on-the-GEMV's-bytes does not fit gemv
 * (the entry was measured against another GEMV kernel) the winner is kept only if no GEMM can read gemv's bytes;
 * otherwise, and without an entry, the static default (tt_dispatch_default_gemm) decides. The choice and its
 * reason go to why (optional) and to the debug log. */
/* A GEMV kernel of another format than fmt (TL1/TL2; the GEMM runs in I2_S on its own copy) takes the prefill
 * winner whatever the entry's GEMV kernel was. */
const tt_variant *tt_pick_gemm(tt_fmt fmt, int m, int k, int threads, const tt_variant *gemv, char *why, size_t why_n);

/* The LM-head kernel for (kind, m = vocab, k = dim, threads): the wisdom's (or baked) head winner for that shape at
 * the nearest tuned thread count, if this CPU can run it; else the static default (tt_dense_variant_default). No
 * timing happens here: head kernels are raced by the tuner like the GEMVs. why (optional) gets the reason; *untuned
 * (optional) whether it is the static default for want of a usable tuned winner. */
const tt_dense_variant *tt_pick_head(tt_dense_kind kind, int m, int k, int threads, char *why, size_t why_n,
                                     bool *untuned);

/* The baked winner for (m, k) at this thread count (or the nearest tuned count), if it is eligible here; NULL if the
 * table has no entry for the shape. */
const tt_variant *tt_baked_find(int m, int k, int threads);

/* The in-model stage's arrangement recorded on the fused shape m x k at exactly this thread count (tt_baked_entry.fuse:
 * TT_FUSE_MEASURED_ON / _OFF), 0 when none is. */
int tt_baked_fuse_measured(int m, int k, int threads);

/* The baked winner's median (ns) for (m, k) at this thread count (or the nearest tuned count); 0 if not known. */
double tt_baked_median_ns(int m, int k, int threads);

/* The tuned thread count: of the counts in the table, the one whose winners' medians add up to the least over the
 * shapes timed at every count (the time of one pass over those matrices). 0 when the table has no medians. */
int tt_baked_best_threads(void);

/* The kernel for (fmt, m, k, threads): baked winner if any, else the static default. Logs the choice. */
const tt_variant *tt_pick(tt_fmt fmt, int m, int k, int threads);

/* The storage format to run an m x k matrix in at this thread count: that of TRITUNE_KERNEL when it names a GEMV
 * kernel runnable here that accepts the shape; else that of the wisdom's (or baked) winner for the shape (the tuner
 * races the I2_S, TL1, TL2 and B3 kernels on every shape, so this is the format measured fastest); else, untuned,
 * B3 where its carry decoder runs on AVX-512 VNNI (docs/MEASUREMENT.md, "B3"), else I2_S, the format every CPU runs
 * and the files carry. why (optional) gets the reason. */
tt_fmt tt_pick_fmt(int m, int k, int threads, char *why, size_t why_n);

/* The untuned part of that rule: B3 where an exact B3 carry kernel for AVX-512 VNNI runs here and accepts the shape,
 * else I2_S (what `tritune bake --default` bakes, so a default table holds what an untuned model would). */
tt_fmt tt_untuned_fmt(int m, int k);

#endif
