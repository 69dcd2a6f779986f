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
