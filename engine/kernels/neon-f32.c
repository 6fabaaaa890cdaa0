/* neon-f32.c — the float kernels of cpu.h's table on aarch64 (Advanced
 * SIMD): the GEMM micro-kernel and the exp / max / softmax helpers of the
 * tiled attention.
 *
 * They keep the x86 kernels' arithmetic, so they give the avx2 / avx512
 * bits: every GEMM output is one FMA chain over k in order, the bias added
 * last; exp is exp-simd.h's (same polynomial, same fused steps, the same
 * two power-of-two factors); the softmax sum keeps sam_k_expsubsum_f32_
 * avx2's lanes (two 8-lane accumulators, as two pairs of 4-lane vectors)
 * and its reduction order. test-kernels holds them to that.
 */
#include "cpu.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#if defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>
#include "exp-neon.h"

/* ---- GEMM micro-kernel: 6 × 16 (24 of the 32 vector registers) -------
 * A element (i, k) at A[i * rs + k * cs], as in gemm-f32.c. */
static inline __attribute__((always_inline)) void
ukr_6x16_neon (int64_t kc, const float *A, int64_t rs, int64_t cs,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  float32x4_t c[6][4];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 4; j++)
      c[i][j] = (flags & SAM_UKR_LOAD_C) ? vld1q_f32 (C + i * ldc + 4 * j)
          : vdupq_n_f32 (0.f);
  for (int64_t k = 0; k < kc; k++) {
    const float32x4_t b0 = vld1q_f32 (Bp), b1 = vld1q_f32 (Bp + 4);
    const float32x4_t b2 = vld1q_f32 (Bp + 8), b3 = vld1q_f32 (Bp + 12);
    for (int i = 0; i < 6; i++) {
      const float32x4_t a = vld1q_dup_f32 (A + i * rs);
      c[i][0] = vfmaq_f32 (c[i][0], a, b0);
      c[i][1] = vfmaq_f32 (c[i][1], a, b1);
      c[i][2] = vfmaq_f32 (c[i][2], a, b2);
      c[i][3] = vfmaq_f32 (c[i][3], a, b3);
    }
    A += cs;
    Bp += 16;
  }
  if (flags & SAM_UKR_BIAS)
    for (int j = 0; j < 4; j++) {
      const float32x4_t b = vld1q_f32 (bias + 4 * j);
      for (int i = 0; i < 6; i++)
        c[i][j] = vaddq_f32 (c[i][j], b);
    }
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 4; j++)
      vst1q_f32 (C + i * ldc + 4 * j, c[i][j]);
}

void
sam_k_ukr_f32_neon (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  ukr_6x16_neon (kc, Ap, 1, SAM_K_MR_NEON, Bp, C, ldc, flags, bias);
}

void
sam_k_ukrs_f32_neon (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  ukr_6x16_neon (kc, A, lda, 1, Bp, C, ldc, flags, bias);
}

void
sam_k_exp_f32_neon (const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    vst1q_f32 (y + i, exp4 (vld1q_f32 (x + i)));
  if (i < n) {
    float t[4] = { 0 };
    memcpy (t, x + i, sizeof (float) * (size_t) (n - i));
    vst1q_f32 (t, exp4 (vld1q_f32 (t)));
    memcpy (y + i, t, sizeof (float) * (size_t) (n - i));
  }
}

float
sam_k_max_f32_neon (const float *x, int64_t n)
{
  /* maxNum: a NaN input is passed over, as in the scalar oracle */
  float32x4_t m = vdupq_n_f32 (-INFINITY);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    m = vmaxnmq_f32 (m, vld1q_f32 (x + i));
  float r = vmaxnmvq_f32 (m);
  for (; i < n; i++)
    r = x[i] > r ? x[i] : r;
  return r;
}

/* sam_k_expsubsum_f32_avx2's sums: element j in 8-lane accumulator
 * (j / 8) % 2, lane j % 8 (here the pair lo = lanes 0–3, hi = 4–7); then
 * the two accumulators added and hsum8's order,
 * ((t0 + t4) + (t1 + t5)) + ((t2 + t6) + (t3 + t7)). */
float
sam_k_expsubsum_f32_neon (float *s, int64_t n, float m, float scale)
{
  const float32x4_t vm = vdupq_n_f32 (m), vs = vdupq_n_f32 (scale);
  float32x4_t lo[2] = { vdupq_n_f32 (0.f), vdupq_n_f32 (0.f) };
  float32x4_t hi[2] = { lo[0], lo[0] };
  int64_t i = 0;
  int a = 0;
  for (; i + 8 <= n; i += 8, a ^= 1) {
    const float32x4_t e0 = exp4_le0 (vmulq_f32 (vsubq_f32 (vld1q_f32 (s + i),
                vm), vs));
    const float32x4_t e1 = exp4_le0 (vmulq_f32 (vsubq_f32 (vld1q_f32 (s + i
                    + 4), vm), vs));
    vst1q_f32 (s + i, e0);
    vst1q_f32 (s + i + 4, e1);
    lo[a] = vaddq_f32 (lo[a], e0);
    hi[a] = vaddq_f32 (hi[a], e1);
  }
  if (i < n) {
    float t[8];
    for (int j = 0; j < 8; j++)
      t[j] = i + j < n ? s[i + j] : -INFINITY;
    const float32x4_t e0 = exp4_le0 (vmulq_f32 (vsubq_f32 (vld1q_f32 (t),
                vm), vs));
    const float32x4_t e1 = exp4_le0 (vmulq_f32 (vsubq_f32 (vld1q_f32 (t + 4),
                vm), vs));
    vst1q_f32 (t, e0);
    vst1q_f32 (t + 4, e1);
    memcpy (s + i, t, sizeof (float) * (size_t) (n - i));
    lo[a] = vaddq_f32 (lo[a], e0);
    hi[a] = vaddq_f32 (hi[a], e1);
  }
  const float32x4_t u = vaddq_f32 (vaddq_f32 (lo[0], lo[1]),
      vaddq_f32 (hi[0], hi[1]));
  return (vgetq_lane_f32 (u, 0) + vgetq_lane_f32 (u, 1))
      + (vgetq_lane_f32 (u, 2) + vgetq_lane_f32 (u, 3));
}

#else /* not aarch64: never selected (the probe returns an x86 level) */

void
sam_k_ukr_f32_neon (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  g_assert_not_reached ();
}

void
sam_k_ukrs_f32_neon (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  g_assert_not_reached ();
}

void
sam_k_exp_f32_neon (const float *x, float *y, int64_t n)
{
  g_assert_not_reached ();
}

float
sam_k_max_f32_neon (const float *x, int64_t n)
{
  g_assert_not_reached ();
  return 0.f;
}

float
sam_k_expsubsum_f32_neon (float *s, int64_t n, float m, float scale)
{
  g_assert_not_reached ();
  return 0.f;
}

#endif
