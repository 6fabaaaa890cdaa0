/* exp-neon.h — exp-simd.h's vectorized exp on aarch64 (4 lanes), inline,
 * for the kernels that need exp inside a larger vector expression (the
 * tiled attention's softmax, GELU's erfc): the same constants and the same
 * fused steps as exp8 / exp8_le0, so the same bits as the x86 kernels.
 * Include after <arm_neon.h>, on aarch64 only. */
#ifndef SAM_KERNELS_EXP_NEON_H
#define SAM_KERNELS_EXP_NEON_H

#include <arm_neon.h>
#include <math.h>

#include "exp-consts.h"

/* e^r for |r| ≤ ln 2 / 2 times 2^n, n integral in [-150, 128]: the
 * polynomial and the two exact factors (subnormal results round once) */
static inline float32x4_t
exp_core (float32x4_t x)
{
  const float32x4_t n = vrndnq_f32 (vmulq_n_f32 (x, EXP_LOG2E));
  float32x4_t r = vfmsq_f32 (x, n, vdupq_n_f32 (EXP_LN2_HI));
  r = vfmsq_f32 (r, n, vdupq_n_f32 (EXP_LN2_LO));
  float32x4_t p = vdupq_n_f32 (EXP_P0);
  p = vfmaq_f32 (vdupq_n_f32 (EXP_P1), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (EXP_P2), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (EXP_P3), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (EXP_P4), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (EXP_P5), p, r);
  float32x4_t y = vfmaq_f32 (r, p, vmulq_f32 (r, r));
  y = vaddq_f32 (y, vdupq_n_f32 (1.f));
  const int32x4_t ni = vcvtq_s32_f32 (n);
  const int32x4_t e1 = vshrq_n_s32 (ni, 1), e2 = vsubq_s32 (ni, e1);
  const int32x4_t bias = vdupq_n_s32 (127);
  y = vmulq_f32 (y, vreinterpretq_f32_s32 (vshlq_n_s32 (vaddq_s32 (e1, bias),
              23)));
  return vmulq_f32 (y, vreinterpretq_f32_s32 (vshlq_n_s32 (vaddq_s32 (e2,
                  bias), 23)));
}

static inline float32x4_t
exp4 (float32x4_t x)
{
  const float32x4_t lo = vdupq_n_f32 (EXP_LO), hi = vdupq_n_f32 (EXP_HI);
  const uint32x4_t under = vcltq_f32 (x, lo), over = vcgtq_f32 (x, hi);
  /* vmaxq / vminq return NaN for a NaN operand: NaN stays NaN */
  x = vminq_f32 (hi, vmaxq_f32 (lo, x));
  float32x4_t y = exp_core (x);
  y = vreinterpretq_f32_u32 (vbicq_u32 (vreinterpretq_u32_f32 (y), under));
  return vbslq_f32 (over, vdupq_n_f32 (INFINITY), y);
}

/* exp8_le0: x ≤ 0 or −inf; the clamp at −104 rounds to 0 in the scaling */
static inline float32x4_t
exp4_le0 (float32x4_t x)
{
  return exp_core (vmaxq_f32 (x, vdupq_n_f32 (-104.f)));
}

#endif
