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

#if defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>

/* ORC 0.4.33's aarch64 code divides by a reciprocal estimate and its
 * refinement, not by fdiv: under qemu-aarch64 its bits differed from the
 * reference's (tests/quant/test-orc.c). The reference's operations on 4
 * lanes (vdivq_f32 rounds as the scalar division does). */
static void
normalize_neon (float *d, const uint8_t * s, const float *mean,
    const float *std, int n)
{
  const float32x4_t k255 = vdupq_n_f32 (255.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint16x8_t w = vmovl_u8 (vld1_u8 (s + i));
    for (int h = 0; h < 2; h++) {
      const uint32x4_t l = h ? vmovl_high_u16 (w) : vmovl_u16 (vget_low_u16
          (w));
      const float32x4_t f = vsubq_f32 (vdivq_f32 (vcvtq_f32_u32 (l), k255),
          vld1q_f32 (mean + i + 4 * h));
      vst1q_f32 (d + i + 4 * h, vdivq_f32 (f, vld1q_f32 (std + i + 4 * h)));
    }
  }
  sam_normalize_u8_f32_ref (d + i, s + i, mean + i, std + i, n - i);
}
#endif

void
sam_normalize_u8_f32 (float *d, const uint8_t * s, const float *mean,
    const float *std, int n)
{
  if (n <= 0)
    return;
#if defined(__aarch64__) && defined(__GNUC__)
  normalize_neon (d, s, mean, std, n);
#else
  ORC_CALL (sam_orc_normalize_u8_f32 (d, s, mean, std, n));
#endif
}
