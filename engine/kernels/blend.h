/* blend.h — alpha blending of 8-bit rows (mask overlays), ORC-vectorized.
 *
 *   d = (d · (256 − a) + c · a + 128) >> 8,   a ∈ [0, 256]
 *
 * a = 0 leaves a byte as it is, a = 256 makes it c. The element draws its
 * mask overlays with these (gst-plugin/gstsamseg-overlay.c); an
 * application embedding the engine may too. Integer only: the ORC code
 * and the C references give the same bytes. */
#ifndef SAM_KERNELS_BLEND_H
#define SAM_KERNELS_BLEND_H

#include <stdint.h>

/* n bytes of d towards the colour c, alpha a[i] per byte */
void sam_blend_u8 (uint8_t * d, const uint16_t * a, uint8_t c, int n);
void sam_blend_u8_ref (uint8_t * d, const uint16_t * a, uint8_t c, int n);
/* the same with a colour c[i] per byte (interleaved RGB rows) */
void sam_blend_u8_colors (uint8_t * d, const uint16_t * a,
    const uint8_t * c, int n);
void sam_blend_u8_colors_ref (uint8_t * d, const uint16_t * a,
    const uint8_t * c, int n);

#endif
