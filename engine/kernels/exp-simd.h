/* exp-simd.h — the engine's vectorized exp (8 and 16 lanes), inline, for
 * the kernels that need exp inside a larger vector expression (softmax in
 * attention.c, GELU's erfc in ops.c): one definition, so every caller gets
 * the same bits as sam_k_exp_f32_avx2/avx512.
 * Include after <immintrin.h>, on x86-64 with GCC or Clang only. */
#ifndef SAM_KERNELS_EXP_SIMD_H
#define SAM_KERNELS_EXP_SIMD_H

#include <immintrin.h>
#include <math.h>

#define EXP_TGT_AVX2 __attribute__((target("avx2,fma")))
#define EXP_TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

/* ---- vectorized exp ------------------------------------------------------
 * exp(x) = 2^n · e^r, n = round(x·log2 e), r = x − n·ln 2 (two-part ln 2),
 * e^r ≈ 1 + r + r²·P(r) (Cephes expf polynomial), 2^n applied as two exact
 * power-of-two factors so subnormal results round once. Inputs below
 * EXP_LO give 0, above EXP_HI give +inf, NaN propagates. */

#include "exp-consts.h"


EXP_TGT_AVX2 static inline __m256
exp8 (__m256 x)
{
  const __m256 lo = _mm256_set1_ps (EXP_LO), hi = _mm256_set1_ps (EXP_HI);
  __m256 under = _mm256_cmp_ps (x, lo, _CMP_LT_OQ);
  __m256 over = _mm256_cmp_ps (x, hi, _CMP_GT_OQ);
  x = _mm256_min_ps (hi, _mm256_max_ps (lo, x));        /* NaN stays NaN */
  __m256 n = _mm256_round_ps (_mm256_mul_ps (x, _mm256_set1_ps (EXP_LOG2E)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps (n, _mm256_set1_ps (EXP_LN2_HI), x);
  r = _mm256_fnmadd_ps (n, _mm256_set1_ps (EXP_LN2_LO), r);
  __m256 p = _mm256_set1_ps (EXP_P0);
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P1));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P2));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P3));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P4));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P5));
  __m256 y = _mm256_fmadd_ps (p, _mm256_mul_ps (r, r), r);
  y = _mm256_add_ps (y, _mm256_set1_ps (1.f));
  __m256i ni = _mm256_cvtps_epi32 (n);
  __m256i e1 = _mm256_srai_epi32 (ni, 1), e2 = _mm256_sub_epi32 (ni, e1);
  const __m256i bias = _mm256_set1_epi32 (127);
  y = _mm256_mul_ps (y, _mm256_castsi256_ps (_mm256_slli_epi32
          (_mm256_add_epi32 (e1, bias), 23)));
  y = _mm256_mul_ps (y, _mm256_castsi256_ps (_mm256_slli_epi32
          (_mm256_add_epi32 (e2, bias), 23)));
  y = _mm256_andnot_ps (under, y);
  return _mm256_blendv_ps (y, _mm256_set1_ps (INFINITY), over);
}

EXP_TGT_AVX512 static inline __m512
exp16 (__m512 x)
{
  const __m512 lo = _mm512_set1_ps (EXP_LO), hi = _mm512_set1_ps (EXP_HI);
  __mmask16 under = _mm512_cmp_ps_mask (x, lo, _CMP_LT_OQ);
  __mmask16 over = _mm512_cmp_ps_mask (x, hi, _CMP_GT_OQ);
  x = _mm512_min_ps (hi, _mm512_max_ps (lo, x));
  __m512 n = _mm512_roundscale_ps (_mm512_mul_ps (x,
          _mm512_set1_ps (EXP_LOG2E)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps (n, _mm512_set1_ps (EXP_LN2_HI), x);
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (EXP_LN2_LO), r);
  __m512 p = _mm512_set1_ps (EXP_P0);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P1));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P2));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P3));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P4));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P5));
  __m512 y = _mm512_fmadd_ps (p, _mm512_mul_ps (r, r), r);
  y = _mm512_add_ps (y, _mm512_set1_ps (1.f));
  /* same two-factor scaling as exp8, so both ISAs give the same bits */
  __m512i ni = _mm512_cvtps_epi32 (n);
  __m512i e1 = _mm512_srai_epi32 (ni, 1), e2 = _mm512_sub_epi32 (ni, e1);
  const __m512i bias = _mm512_set1_epi32 (127);
  y = _mm512_mul_ps (y, _mm512_castsi512_ps (_mm512_slli_epi32
          (_mm512_add_epi32 (e1, bias), 23)));
  y = _mm512_mul_ps (y, _mm512_castsi512_ps (_mm512_slli_epi32
          (_mm512_add_epi32 (e2, bias), 23)));
  y = _mm512_maskz_mov_ps (~under, y);
  return _mm512_mask_mov_ps (y, over, _mm512_set1_ps (INFINITY));
}

/* Softmax variants for x <= 0 (or -inf): no overflow or NaN care, and the
 * clamp at -104 already rounds to 0 through the scaling (exp(-104) is below
 * half the smallest subnormal), so no underflow mask. Same bits as exp8 /
 * exp16 on that domain; avx512 scales with vscalefps, which rounds
 * subnormals once, like the two exact factors of the avx2 version. */
EXP_TGT_AVX2 static inline __m256
exp8_le0 (__m256 x)
{
  x = _mm256_max_ps (x, _mm256_set1_ps (-104.f));
  __m256 n = _mm256_round_ps (_mm256_mul_ps (x, _mm256_set1_ps (EXP_LOG2E)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps (n, _mm256_set1_ps (EXP_LN2_HI), x);
  r = _mm256_fnmadd_ps (n, _mm256_set1_ps (EXP_LN2_LO), r);
  __m256 p = _mm256_set1_ps (EXP_P0);
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P1));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P2));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P3));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P4));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (EXP_P5));
  __m256 y = _mm256_fmadd_ps (p, _mm256_mul_ps (r, r), r);
  y = _mm256_add_ps (y, _mm256_set1_ps (1.f));
  __m256i ni = _mm256_cvtps_epi32 (n);
  __m256i e1 = _mm256_srai_epi32 (ni, 1), e2 = _mm256_sub_epi32 (ni, e1);
  const __m256i bias = _mm256_set1_epi32 (127);
  y = _mm256_mul_ps (y, _mm256_castsi256_ps (_mm256_slli_epi32
          (_mm256_add_epi32 (e1, bias), 23)));
  return _mm256_mul_ps (y, _mm256_castsi256_ps (_mm256_slli_epi32
          (_mm256_add_epi32 (e2, bias), 23)));
}

EXP_TGT_AVX512 static inline __m512
exp16_le0 (__m512 x)
{
  x = _mm512_max_ps (x, _mm512_set1_ps (-104.f));
  __m512 n = _mm512_roundscale_ps (_mm512_mul_ps (x,
          _mm512_set1_ps (EXP_LOG2E)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps (n, _mm512_set1_ps (EXP_LN2_HI), x);
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (EXP_LN2_LO), r);
  __m512 p = _mm512_set1_ps (EXP_P0);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P1));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P2));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P3));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P4));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (EXP_P5));
  __m512 y = _mm512_fmadd_ps (p, _mm512_mul_ps (r, r), r);
  y = _mm512_add_ps (y, _mm512_set1_ps (1.f));
  return _mm512_scalef_ps (y, n);
}

#endif
