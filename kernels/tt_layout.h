/* tt_layout.h — packed weight layouts the kernels read, produced from the canonical matrix (internal API). */
#ifndef TT_LAYOUT_H
#define TT_LAYOUT_H

#include "tt_registry.h"

/* Interleave q for 512-bit I2_S kernels: within each 256-weight chunk, group g of block h (32 bytes) moves to
 * offset g*64 + h*32, so one 64-byte load lines up with the shifted codes of two blocks. A lone last block stays. */
void tt_i2s_prep_q256(const int8_t *q, int k, void *ws);

/* TL layouts (kernels/tt_layout_tl.c). */
size_t tt_layout_tl_size(const tt_variant *v, int m, int k);
tt_status tt_layout_tl_pack(const tt_variant *v, const tt_tern *w, uint8_t *dst, size_t len);
size_t tt_layout_tl_ws(const tt_variant *v, int k);

#endif
