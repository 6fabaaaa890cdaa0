/* blend.c — sam-orc.orc's overlay blends and their C references. */
#include "kernels/blend.h"
#include "kernels/orc-call.h"
#include "sam-orc.h"

static inline uint8_t
blend1 (uint8_t d, uint8_t c, unsigned a)
{
  return (uint8_t) ((d * (256u - a) + c * a + 128u) >> 8);
}

void
sam_blend_u8_ref (uint8_t * d, const uint16_t * a, uint8_t c, int n)
{
  for (int i = 0; i < n; i++)
    d[i] = blend1 (d[i], c, a[i]);
}

void
sam_blend_u8_colors_ref (uint8_t * d, const uint16_t * a, const uint8_t * c,
    int n)
{
  for (int i = 0; i < n; i++)
    d[i] = blend1 (d[i], c[i], a[i]);
}

void
sam_blend_u8 (uint8_t * d, const uint16_t * a, uint8_t c, int n)
{
  if (!SAM_ORC_JIT)
    sam_blend_u8_ref (d, a, c, n);
  else if (n > 0)
    ORC_CALL (sam_orc_blend_u8 (d, a, c, 256, n));
}

void
sam_blend_u8_colors (uint8_t * d, const uint16_t * a, const uint8_t * c,
    int n)
{
  if (!SAM_ORC_JIT)
    sam_blend_u8_colors_ref (d, a, c, n);
  else if (n > 0)
    ORC_CALL (sam_orc_blend_u8_colors (d, a, c, 256, n));
}
