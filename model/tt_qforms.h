/* tt_qforms.h — the one rule that chooses among the forms of a quantized LM-head product (model/q6k.c, q32.c):
 * a table of {name, needs, fn} rows, the portable loop first, the others by ISA; a form may run where every
 * feature it needs is usable (CPUID + OS + the TRITUNE_ISA cap), and the model takes the last such row. */
#ifndef TT_QFORMS_H
#define TT_QFORMS_H

#include "tt_cpu.h"

#include <stdbool.h>
#include <stddef.h>

static inline bool tt_qform_usable(uint32_t needs) { return (tt_cpu_get()->usable & needs) == needs; }

/* Defines FN FORM(int i, const char **name, bool *usable) (row i, NULL past the last) and FN PICK(const char **name)
 * (the fastest usable row) over the static table TABLE. */
#define TT_QFORMS(TABLE, FN, FORM, PICK)                                                                              \
    FN FORM(int i, const char **name, bool *usable)                                                                   \
    {                                                                                                                 \
        if (i < 0 || i >= (int)(sizeof TABLE / sizeof TABLE[0])) return NULL;                                        \
        if (name) *name = TABLE[i].name;                                                                              \
        if (usable) *usable = tt_qform_usable(TABLE[i].needs);                                                        \
        return TABLE[i].fn;                                                                                           \
    }                                                                                                                 \
    FN PICK(const char **name)                                                                                        \
    {                                                                                                                 \
        int best = 0;                                                                                                 \
        for (int i = 1; i < (int)(sizeof TABLE / sizeof TABLE[0]); i++)                                              \
            if (tt_qform_usable(TABLE[i].needs)) best = i;                                                            \
        if (name) *name = TABLE[best].name;                                                                           \
        return TABLE[best].fn;                                                                                        \
    }

#endif
