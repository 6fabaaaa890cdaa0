/* normalize.c — sam-orc.orc's input normalization and its C reference. */
#include "kernels/normalize.h"
#include "kernels/orc-call.h"
#include "sam-orc.h"

void
sam_normalize_u8_f32_ref (float *d, const uint8_t * s, const float *mean,
    const float *std, int n)
{
  for (int i = 0; i < n; i++)
    d[i] = ((float) s[i] / 255.0f - mean[i]) / std[i];
}

void
sam_normalize_u8_f32 (float *d, const uint8_t * s, const float *mean,
    const float *std, int n)
{
  if (n > 0)
    ORC_CALL (sam_orc_normalize_u8_f32 (d, s, mean, std, n));
}
