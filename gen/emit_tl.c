/* TL1 / TL2 look-up-table GEMV emitters (placeholder until the LUT families land: refuses every row). */
#include "gen.h"

static const char *tl_derive(gen_variant *v)
{
    (void)v;
    return "the TL emitters are not built yet";
}

static void tl_emit(FILE *o, const gen_variant *v)
{
    (void)o;
    (void)v;
}

const gen_family gen_family_tl1 = {TT_FMT_TL1, tl_derive, tl_emit, NULL};
const gen_family gen_family_tl2 = {TT_FMT_TL2, tl_derive, tl_emit, NULL};
