/* TL1/TL2 tiled layouts — placeholder until the LUT families land. */
#include "tt_layout.h"

size_t tt_layout_tl_size(const tt_variant *v, int m, int k) { (void)v; (void)m; (void)k; return 0; }
tt_status tt_layout_tl_pack(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len)
{
    (void)w; (void)dst; (void)len;
    return tt_fail(TT_ERR_UNSUPPORTED, "%s: TL layouts not implemented", v->name);
}
size_t tt_layout_tl_ws(const tt_variant *v, int k) { (void)v; (void)k; return 0; }
