/* tt_cpu.h — CPU identity and ISA features, probed once: CPUID *and* XGETBV on x86 (a feature counts only
 * when the OS saves its registers), the auxiliary vector on ARM. TRITUNE_ISA caps what dispatch may use. */
#ifndef TT_CPU_H
#define TT_CPU_H

#include "tt_common.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits. A kernel's isa_mask lists every bit it needs. */
enum {
    TT_F_SSE42 = 1u << 0,
    TT_F_AVX2 = 1u << 1,
    TT_F_FMA = 1u << 2,
    TT_F_AVXVNNI = 1u << 3,
    TT_F_AVX512F = 1u << 4,
    TT_F_AVX512BW = 1u << 5,
    TT_F_AVX512VL = 1u << 6,
    TT_F_AVX512VNNI = 1u << 7,
    TT_F_AVX512VBMI = 1u << 8,
    TT_F_AMX_TILE = 1u << 9,
    TT_F_AMX_INT8 = 1u << 10,
    TT_F_F16C = 1u << 11,
    TT_F_NEON = 1u << 16,
    TT_F_DOTPROD = 1u << 17,
    TT_F_I8MM = 1u << 18,
    TT_F_SVE = 1u << 19,
};

typedef struct tt_feature_name {
    uint32_t bit;
    const char *name; /* as users type it: "avx2", "avx512vnni", ... */
} tt_feature_name;

extern const tt_feature_name tt_feature_names[];
extern const int tt_feature_count;

typedef struct tt_cpu {
    char arch[16];    /* "x86_64" or "aarch64" */
    char vendor[16];  /* "GenuineIntel", "AuthenticAMD", ARM implementer "0x41" ... */
    char brand[64];
    int family, model, stepping;
    uint32_t cpuid_features; /* what the CPU reports */
    uint32_t os_features;    /* what the CPU reports AND the OS has enabled (XCR0 / AMX permission) */
    uint32_t usable;         /* os_features after the TRITUNE_ISA cap */
    char cap[32];            /* TRITUNE_ISA value applied, "" if none */
    char os_note[160];       /* why a CPUID feature is not usable, if any */
} tt_cpu;

/* A machine's identity for tuning data (profiles, baked tables): the microarchitecture and what shapes its
 * timings. The brand string is informational: two VMs of one part can report different ones ("AMD EPYC",
 * "Oxide Virtual Turin-like Processor"). Sizes and counts of 0 are unknown. */
typedef struct tt_cpu_id {
    char arch[16], vendor[16], brand[64];
    int family, model, stepping;
    uint32_t features; /* OS-usable ISA features (before any TRITUNE_ISA cap) */
    size_t l1d, l2, l3;
    int cores, pus;
} tt_cpu_id;

typedef enum tt_id_match {
    TT_ID_SAME = 0,      /* every field equal */
    TT_ID_SAME_BUT_BRAND, /* only the brand string differs: the same part, use the data with a note */
    TT_ID_OTHER,         /* another machine: the data must not be used */
} tt_id_match;

/* THE identity rule, for every kind of tuning data: arch, vendor, family, model, stepping and the OS-usable
 * features must be equal, and cores, PUs and L1d/L2/L3 sizes too where both sides know them (non-zero). why
 * (optional) gets the first field that differs, or the brand note. */
tt_id_match tt_cpu_id_match(const tt_cpu_id *tuned, const tt_cpu_id *here, char *why, size_t why_n);
/* This machine: the CPUID fields of tt_cpu_get (features before the TRITUNE_ISA cap), and the topology fields the
 * application set with tt_cpu_id_set_topology (from hwloc), else 0 (unknown). */
void tt_cpu_id_current(tt_cpu_id *id);
void tt_cpu_id_set_topology(size_t l1d, size_t l2, size_t l3, int cores, int pus);

/* Probed once (thread safe); TRITUNE_ISA=<name> caps usable features to that ISA level and below. */
const tt_cpu *tt_cpu_get(void);

/* Re-probe, ignoring the environment cap if ignore_env; for tests. */
void tt_cpu_probe(tt_cpu *out, const char *isa_cap);

/* The feature set an ISA level name implies ("scalar", "avx2", "avxvnni", "avx512bw", "avx512vnni",
 * "avx512vbmi", "amx", "neon", "dotprod", "i8mm"); returns false if unknown. */
bool tt_isa_level_mask(const char *name, uint32_t *mask);

/* Comma-separated feature names for a mask, into buf. */
const char *tt_features_str(uint32_t mask, char *buf, size_t len);

/* Debug log (TRITUNE_DEBUG=1): prints to stderr with a "tritune:" prefix. */
bool tt_debug_enabled(void);
void tt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif
