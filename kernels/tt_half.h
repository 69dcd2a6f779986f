/* tt_half.h — IEEE half <-> float conversion in portable C (the model is built for the baseline ISA, so F16C is
 * not assumed). Internal to model/. */
#ifndef TT_HALF_H
#define TT_HALF_H

#include <stdint.h>
#include <string.h>

static inline float tt_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) { /* subnormal: normalize */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The same conversion without branches or tables, so loops over it vectorize at the baseline ISA (SSE2): place
 * exponent and mantissa in a float, rescale by 2^112 (which also normalizes half subnormals), then patch inf/nan
 * and the sign. Bit-identical to tt_half_to_float. */
static inline float tt_half_to_float_vec(uint16_t h)
{
    uint32_t u = (uint32_t)(h & 0x7fff) << 13, r;
    float f;
    memcpy(&f, &u, 4);
    f *= 0x1p112f;
    memcpy(&r, &f, 4);
    r |= f >= 65536.0f ? 0x7f800000u : 0u; /* was inf / nan in half */
    r |= (uint32_t)(h & 0x8000) << 16;
    memcpy(&f, &r, 4);
    return f;
}

/* Round to nearest even; overflow to inf, NaN stays NaN. */
static inline uint16_t tt_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {                                   /* subnormal or zero in half */
        if (ax < 0x33000000u) return (uint16_t)sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((ax - 0x38000000u) >> 13), rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

#endif
