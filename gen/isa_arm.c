/* isa_arm.c — the ARM (NEON) spelling of the vector operations the I2_S GEMV and GEMM emitters share (gen.h). */
#include "gen.h"

static const gen_arm neon = {
    .U8 = "uint8x16_t", .S8 = "int8x16_t", .S32 = "int32x4_t",
    .ld_u8 = "vld1q_u8", .ld_s8 = "vld1q_s8",
    .and_u8 = "vandq_u8", .shr_u8 = "vshrq_n_u8", .dup_u8 = "vdupq_n_u8", .dup_s32 = "vdupq_n_s32",
    .sub_u8 = "vsubq_u8", .s8_of_u8 = "vreinterpretq_s8_u8",
    .dot = "vdotq_s32", .usdot = "vusdotq_s32", .hsum = "vaddvq_s32",
};

const gen_arm *gen_arm_ops(void) { return &neon; }

void gen_arm_i2s_consts(FILE *o, const char *ind)
{
    fprintf(o, "%sconst %s m3 = %s(3), one = %s(1);\n%s(void)one;\n", ind, neon.U8, neon.dup_u8, neon.dup_u8, ind);
}

void gen_arm_code(char *buf, size_t n, const char *x, int g)
{
    if (g == 3) snprintf(buf, n, "%s(%s, m3)", neon.and_u8, x);
    else snprintf(buf, n, "%s(%s(%s, %d), m3)", neon.and_u8, neon.shr_u8, x, 6 - 2 * g);
}

void gen_arm_trit(char *buf, size_t n, const char *c) { snprintf(buf, n, "%s(%s(%s, one))", neon.s8_of_u8, neon.sub_u8, c); }
