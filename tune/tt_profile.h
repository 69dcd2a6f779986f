/* tt_profile.h — tuning "wisdom": a JSON profile signed by the CPU identity, the registry hash and the compiler
 * (docs/DESIGN.md §8). Readers refuse an unknown major version, and a profile from another CPU or registry is refused
 * with the field that differs: no silent fallback. Written atomically (temp file + rename) after every entry, so an
 * interrupted tuning run keeps what it measured and a rerun resumes. */
#ifndef TT_PROFILE_H
#define TT_PROFILE_H

#include "tt_baked.h"
#include "tt_cpu.h"
#include "tt_topo.h"

#define TT_PROFILE_SCHEMA "tritune-profile"
#define TT_PROFILE_MAJOR 1
#define TT_PROFILE_MINOR 4 /* 1.1: optional "prefill" (GEMM races); 1.2: optional entry "conditions", "flags_accepted";
                            * 1.3: optional "head" (LM-head races); 1.4: optional entry "formats" and "in_model" */

/* tt_cpu_id_current with the topology fields from topo (hwloc); topo NULL: unknown. */
void tt_cpu_id_here(tt_cpu_id *id, const tt_topo *topo);
/* Short folder-safe name, e.g. "amd-epyc-f25m17-2c". */
void tt_cpu_id_slug(const tt_cpu_id *id, char *buf, size_t len);

typedef struct tt_prof_stat {
    char variant[160];
    double median_ns, p25_ns, p75_ns, cv;
    int samples;
    double gbps;     /* weight bytes / median time */
    double bw_frac;  /* gbps / measured read bandwidth at this thread count */
} tt_prof_stat;

#define TT_PROF_MAX_COUNTERS 8
#define TT_PROF_MAX_FMTS 4 /* I2_S, TL1, TL2, B3 */
#define TT_PROF_IM_CANDS (TT_PROF_MAX_FMTS + 1) /* the winner, the race's runner-up of its format, one of each other */

/* The in-model stage (`tritune tune-model`, app/cmd_tune_model.c): the race's winner and the fastest kernel of each
 * other storage format (from the entry's final session) run inside the model, every matrix of the entry's shape
 * in turn, decode passes interleaved; what the model then runs for the entry. */
typedef struct tt_prof_im_cand {
    char variant[160];
    double phase_us;  /* median over passes of the decode phases holding the shape, per token */
    double tok_s;     /* median tokens per second of its passes */
    double ratio;     /* median over rounds of (the race winner's phase time / this one's) in the same round */
    int faster;       /* rounds in which its phase time was below the race winner's */
} tt_prof_im_cand;

typedef struct tt_prof_in_model {
    char variant[160]; /* the kernel the model runs for the entry; "" = the stage has not measured it (a fused
                        * shape's entry may then hold the stage's arrangement alone: fuse) */
    char phases[48];   /* the decode phases timed ("qkv", "o", "gate_up", "down", comma-separated) */
    int rounds, tokens, linears; /* timed rounds, tokens per pass, matrices of the shape in the model */
    int ncand;
    tt_prof_im_cand cand[TT_PROF_IM_CANDS]; /* cand[0]: the race's winner */
    char why[200];     /* the decision in words */
    /* On a fused shape's entry: the stage's arrangement of its group at this thread count (tt_model_alt_fusion), the
     * fused matrix against its parts inside the model. fuse: 0 not measured, TT_FUSE_MEASURED_ON or _OFF. */
    int fuse;
    double fuse_ratio;   /* median over rounds of (the load's arrangement's phase time / the other's) */
    double fuse_token;   /* the same for whole tokens */
    int fuse_faster, fuse_rounds;
    char fuse_why[200];
} tt_prof_in_model;

typedef struct tt_prof_entry {
    char shape[32]; /* "attn_q" ... */
    int m, k, threads;
    char split[8];
    char regime[8]; /* "cold" or "warm": the regime the race ran in */
    tt_prof_stat winner, runner_up, baseline; /* runner_up/baseline .variant "" if none */
    double warm_winner_ns, warm_baseline_ns, cold_winner_ns, cold_baseline_ns; /* both regimes, labelled */
    double cold_ceiling_ns; /* the faster pure read of the same bytes, no compute, same session; 0 = not measured */
    int candidates, verified, excluded, rounds;
    int ncounters;
    char counter_names[TT_PROF_MAX_COUNTERS][32];
    double counters[TT_PROF_MAX_COUNTERS];
    /* Measurement conditions (1.2; absent: not recorded): CPUs other processes and the hypervisor took during the
     * race (tt_load), read bandwidth probed at this thread count just before and after it (0: not probed), whether
     * the entry was measured twice, and the flags that stayed ("" when clean; "; "-separated). */
    double others_cpus, steal_cpus, bw_before_gbps, bw_after_gbps;
    bool remeasured;
    char flags[256];
    /* 1.4 (absent: none): the fastest kernel of each storage format in the final session (main regime), in
     * tt_fmt order, variant "" where the race had none; and the in-model stage's result. */
    tt_prof_stat fmt_best[TT_PROF_MAX_FMTS];
    tt_prof_in_model in_model;
} tt_prof_entry;

/* The GEMV kernel the model runs for e: the in-model stage's pick where it measured one, else the race's winner. */
const char *tt_prof_entry_kernel(const tt_prof_entry *e);

/* One prefill race: the GEMM variants for (m, k, threads) on `tokens` tokens (the model's prefill chunk), warm
 * weights (each weight is reused over the chunk: compute-bound), every candidate checked against the oracle's dots
 * on this shape first. shared: the fastest GEMM that reads the GEMV winner's packed bytes (one copy for decode and
 * prefill; "" if none); gemv: the GEMV winner run token by token, the reference. Times are medians of one
 * interleaved Google Benchmark session. */
typedef struct tt_prof_gemm {
    char shape[32];
    int m, k, threads, tokens;
    char winner[160], shared[160], gemv[160];
    double winner_ns, shared_ns, gemv_ns;
    int candidates, verified, excluded;
} tt_prof_gemm;

/* One LM-head race: the members of the head family (kernels/tt_dense.h) of one kind ("f16": the file's f16 head;
 * "i8": the 8-bit copy of --lm-head q8) on the model's head shape (m = vocab rows, k = dim), at one thread count,
 * the weights streaming from memory as in decode; every candidate checked first against the portable member's bits
 * (tt_verify_dense). deflt: the static default the model takes without this entry, timed in the same session. */
typedef struct tt_prof_head {
    char kind[8];
    int m, k, threads;
    char winner[96], deflt[96];
    double winner_ns, default_ns, gbps;
    int candidates, verified, excluded;
} tt_prof_head;

typedef struct tt_profile {
    tt_cpu_id cpu;
    uint64_t registry_hash;
    int registry_count;
    char compiler[96], flags[96], version[16], created[32], model[64];
    char papi[160], energy[160];
    int nbw;
    int bw_threads[16];
    double bw_gbps[16];
    double cold_bytes; /* total size of the rotating weight copies in the cold regime */
    tt_prof_entry *e;
    int n, cap;
    tt_prof_gemm *g; /* prefill races (optional; profiles before 1.1 have none) */
    int ng, gcap;
    bool flags_accepted; /* tune --force-bake: entries with flags are used anyway (1.2) */
    tt_prof_head *h;     /* LM-head races (optional; profiles before 1.3 have none) */
    int nh, hcap;
} tt_profile;

void tt_profile_init(tt_profile *p);
void tt_profile_free(tt_profile *p);
tt_prof_entry *tt_profile_add(tt_profile *p); /* zeroed new entry, NULL on OOM */
tt_prof_gemm *tt_profile_add_gemm(tt_profile *p); /* zeroed new prefill entry, NULL on OOM */
const tt_prof_gemm *tt_profile_find_gemm(const tt_profile *p, int m, int k, int threads);
tt_prof_head *tt_profile_add_head(tt_profile *p); /* zeroed new LM-head entry, NULL on OOM */
const tt_prof_head *tt_profile_find_head(const tt_profile *p, const char *kind, int m, int k, int threads);
/* The entry for (m, k, threads) raced in regime ('cold' / 'warm'; NULL = either). */
const tt_prof_entry *tt_profile_find(const tt_profile *p, int m, int k, int threads, const char *regime);

/* The entries that stand for the profile's GEMV winners, as both `bake` and the runtime wisdom take them: per
 * (m, k, threads) the cold-raced entry (decode streams weights from DRAM), the warm one only where no cold entry
 * exists; entries with measurement flags only when p->flags_accepted (*flagged, optional, counts those left out).
 * The kernel each stands for is tt_prof_entry_kernel (the in-model pick, else the race's winner); its time stays the
 * race winner's median, the shape's best isolated time, which the fusion and thread-count rules compare. Every GEMV
 * kernel named (winner and in-model pick) must be an exact GEMV variant of this registry accepting the entry's
 * shape, every prefill winner (and its shared kernel) an exact GEMM one, every LM-head winner a head kernel of its
 * kind: TT_ERR_FORMAT naming the first that is not. out: room for p->n pointers. */
tt_status tt_profile_winners(const tt_profile *p, const tt_prof_entry **out, int *n, int *flagged);
/* How many of the entries that would stand for winners (as tt_profile_winners picks them: per shape and thread count
 * the cold entry, the warm one only where no cold one exists) carry measurement flags, accepted or not: what blocks
 * a bake without --force-bake. */
int tt_profile_flagged_winners(const tt_profile *p);

tt_status tt_profile_write(const tt_profile *p, const char *path);
tt_status tt_profile_read(const char *path, tt_profile *p);
/* The profile applies here: the CPU by tt_cpu_id_match (a brand-only difference is accepted, and note, optional,
 * says so; else it is emptied) and the registry hash. TT_ERR_MISMATCH with tt_last_error() naming the field. */
tt_status tt_profile_check(const tt_profile *p, const tt_cpu_id *here, uint64_t registry_hash, char *note,
                           size_t note_n);

/* Compiler and flags tritune was built with (the profile records them). */
const char *tt_build_compiler(void);
const char *tt_build_flags(void);

#endif
