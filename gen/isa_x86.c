/* isa_x86.c — the x86 spelling of the vector operations every emitter uses (see gen.h). */
#include "gen.h"

static const gen_x86 x256 = {
    .V = "__m256i", .vb = 32,
    .load_pre = "_mm256_loadu_si256((const __m256i *)(", .load_post = "))",
    .bc16_pre = "_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(", .bc16_post = ")))",
    .zero = "_mm256_setzero_si256()", .and_ = "_mm256_and_si256", .xor_ = "_mm256_xor_si256",
    .srli = "_mm256_srli_epi16", .shuf = "_mm256_shuffle_epi8", .set1_8 = "_mm256_set1_epi8",
    .set1_16 = "_mm256_set1_epi16", .maddubs = "_mm256_maddubs_epi16", .madd = "_mm256_madd_epi16",
    .add16 = "_mm256_add_epi16", .add32 = "_mm256_add_epi32", .dot = "_mm256_dpbusd_avx_epi32",
    .lo = "_mm256_unpacklo_epi8", .hi = "_mm256_unpackhi_epi8", .hsum = "tt_hsum256",
};

static const gen_x86 x512 = {
    .V = "__m512i", .vb = 64,
    .load_pre = "_mm512_loadu_si512((const void *)(", .load_post = "))",
    .bc16_pre = "_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(", .bc16_post = ")))",
    .zero = "_mm512_setzero_si512()", .and_ = "_mm512_and_si512", .xor_ = "_mm512_xor_si512",
    .srli = "_mm512_srli_epi16", .shuf = "_mm512_shuffle_epi8", .set1_8 = "_mm512_set1_epi8",
    .set1_16 = "_mm512_set1_epi16", .maddubs = "_mm512_maddubs_epi16", .madd = "_mm512_madd_epi16",
    .add16 = "_mm512_add_epi16", .add32 = "_mm512_add_epi32", .dot = "_mm512_dpbusd_epi32",
    .lo = "_mm512_unpacklo_epi8", .hi = "_mm512_unpackhi_epi8", .hsum = "_mm512_reduce_add_epi32",
};

const gen_x86 *gen_x86_ops(tt_isa isa) { return gen_isa_vbytes(isa) == 64 ? &x512 : &x256; }

void gen_x86_load(FILE *o, const gen_x86 *X, const char *addr) { fprintf(o, "%s%s%s", X->load_pre, addr, X->load_post); }

void gen_x86_bc16(FILE *o, const gen_x86 *X, const char *addr) { fprintf(o, "%s%s%s", X->bc16_pre, addr, X->bc16_post); }

void gen_x86_hsum_prelude(FILE *o)
{
    fprintf(o, "static inline int32_t tt_hsum256(__m256i v)\n{\n"
               "    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));\n"
               "    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));\n"
               "    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));\n"
               "    return _mm_cvtsi128_si32(s);\n}\n\n");
}

void gen_x86_code(char *buf, size_t n, const gen_x86 *X, const char *x, int g)
{
    if (g == 3) snprintf(buf, n, "%s(%s, m3)", X->and_, x);
    else snprintf(buf, n, "%s(%s(%s, %d), m3)", X->and_, X->srli, x, 6 - 2 * g);
}
