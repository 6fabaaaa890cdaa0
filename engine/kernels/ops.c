/* ops.c — float32 operations (see ops.h for layout and threading rules).
 *
 * Linear and matmul run on the packed GEMM of gemm-f32.c, whose micro-kernels
 * are compiled per ISA (AVX-512, AVX2+FMA, portable C) and picked at run
 * time by CPU features (cpu.c) — never assumed at build time. gemm-ref.c
 * holds the scalar oracle the tests compare against. Attention lives in
 * attention.c, convolution in conv.c.
 */
#include "ops.h"
#include "cpu.h"

#include <math.h>
#include <string.h>
#include <glib.h>

/* ---- linear / matmul: packed GEMM (gemm-f32.c) ------------------------ */

void
sam_linear (SamPool * pool, const float *x, int64_t M, int K, int64_t ldx,
    const float *W, const float *b, int N, float *y, int64_t ldy)
{
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  if (M <= 0 || N <= 0)
    return;
  float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
      sam_k_pack_b_size (kt, K, N));
  sam_k_pack_b_nk (kt, pool, W, K, K, N, Bp);
  sam_k_gemm_f32 (kt, pool, x, ldx, Bp, y, ldy, M, N, K, false, b);
  sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
}

struct _SamPackedF32
{
  const SamKernelsF32 *kt;      /* the table Bp is packed for */
  const float *W;               /* [N, K], not owned */
  float *Bp;
  int K, N;
};

SamPackedF32 *
sam_packed_f32_new (const float *W, int K, int N)
{
  g_return_val_if_fail (W && K > 0 && N > 0, NULL);
  SamPackedF32 *p = g_new0 (SamPackedF32, 1);
  p->kt = sam_kernels_f32 ();
  p->W = W;
  p->K = K;
  p->N = N;
  p->Bp = g_aligned_alloc (sam_k_pack_b_size (p->kt, K, N), sizeof (float),
      64);
  sam_k_pack_b_nk (p->kt, NULL, W, K, K, N, p->Bp);
  return p;
}

void
sam_packed_f32_free (SamPackedF32 * p)
{
  if (!p)
    return;
  g_aligned_free (p->Bp);
  g_free (p);
}

void
sam_linear_packed (SamPool * pool, const float *x, int64_t M, int K,
    int64_t ldx, const SamPackedF32 * W, const float *b, int N, float *y,
    int64_t ldy)
{
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  g_return_if_fail (W && W->K == K && W->N == N);
  if (W->kt != kt) {
    sam_linear (pool, x, M, K, ldx, W->W, b, N, y, ldy);
    return;
  }
  if (M > 0)
    sam_k_gemm_f32 (kt, pool, x, ldx, W->Bp, y, ldy, M, N, K, false, b);
}

void
sam_matmul (SamPool * pool, const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, int64_t M, int64_t N, int64_t K,
    bool accumulate)
{
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  if (M <= 0 || N <= 0)
    return;
  float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
      sam_k_pack_b_size (kt, K, N));
  sam_k_pack_b_kn (kt, pool, B, ldb, K, N, Bp);
  sam_k_gemm_f32 (kt, pool, A, lda, Bp, C, ldc, M, N, K, accumulate, NULL);
  sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
}

/* ---- layernorm / elementwise ----------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#include "exp-simd.h"
#endif
#if defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>
#define SAM_ARM64 1
#include "exp-neon.h"
#endif

typedef struct
{
  const float *x, *g, *b;
  float *y;
  int C;
  float eps;
} LnCtx;

/* Statistics in double, output ((x - m) * inv) * g + b in float. */
static void
ln_rows (void *vctx, int64_t r0, int64_t r1)
{
  const LnCtx *c = vctx;
  for (int64_t i = r0; i < r1; i++) {
    const float *xr = c->x + i * c->C;
    float *yr = c->y + i * c->C;
    double mean = 0, var = 0;
    for (int k = 0; k < c->C; k++)
      mean += xr[k];
    mean /= c->C;
    for (int k = 0; k < c->C; k++) {
      double d = xr[k] - mean;
      var += d * d;
    }
    var /= c->C;
    float inv = (float) (1.0 / sqrt (var + c->eps));
    float m = (float) mean;
    for (int k = 0; k < c->C; k++)
      yr[k] = (xr[k] - m) * inv * c->g[k] + c->b[k];
  }
}

/* The SIMD rows' scalar ends: the sums of channels [C16, C) added to the
 * vector part's sum, in channel order; then the mean, or 1 / σ in float */
static inline double
ln_mean_tail (const float *xr, int C16, int C, double sum)
{
  for (int k = C16; k < C; k++)
    sum += xr[k];
  return sum / C;
}

static inline float
ln_inv_tail (const float *xr, int C16, int C, double mean, double var,
    float eps)
{
  for (int k = C16; k < C; k++) {
    const double d = xr[k] - mean;
    var += d * d;
  }
  var /= C;
  return (float) (1.0 / sqrt (var + eps));
}

#ifdef SAM_X86
/* The same with the double sums over 16 lanes (a different summation order:
 * differences at double rounding) and the float output vectorized with the
 * same operation order. */
/* C < 16 (the mask downsampler's 4-channel maps at a quarter of the
 * input resolution): 8 rows at once, one per double lane, with the very
 * operations of the row loop below for such a C (sums from 0 in channel
 * order, the divide, the square root, the float output), so the same
 * bits; the per-row chains of dependent double operations, which bound
 * that loop, now serve 8 rows. */
/* xk[k] holds channel k of the 8 rows and becomes its output; the callers
 * move the rows in and out. */
TGT_AVX512 static inline __attribute__((always_inline)) void
ln8_narrow_core (const LnCtx * c, int C, __m256 * xk)
{
  __m512d mean = _mm512_setzero_pd (), var = _mm512_setzero_pd ();
  for (int k = 0; k < C; k++)
    mean = _mm512_add_pd (mean, _mm512_cvtps_pd (xk[k]));
  mean = _mm512_div_pd (mean, _mm512_set1_pd ((double) C));
  for (int k = 0; k < C; k++) {
    const __m512d d = _mm512_sub_pd (_mm512_cvtps_pd (xk[k]), mean);
    var = _mm512_add_pd (var, _mm512_mul_pd (d, d));
  }
  var = _mm512_div_pd (var, _mm512_set1_pd ((double) C));
  const __m256 inv = _mm512_cvtpd_ps (_mm512_div_pd (_mm512_set1_pd (1.0),
          _mm512_sqrt_pd (_mm512_add_pd (var,
                  _mm512_set1_pd ((double) c->eps)))));
  const __m256 m = _mm512_cvtpd_ps (mean);
  for (int k = 0; k < C; k++) {
    __m256 t = _mm256_mul_ps (_mm256_sub_ps (xk[k], m), inv);
    xk[k] = _mm256_add_ps (_mm256_mul_ps (t, _mm256_set1_ps (c->g[k])),
        _mm256_set1_ps (c->b[k]));
  }
}

TGT_AVX512 static void
ln_rows8_narrow_avx512 (const LnCtx * c, int64_t i)
{
  const int C = c->C;
  const __m256i idx = _mm256_mullo_epi32 (_mm256_set1_epi32 (C),
      _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
  const float *x = c->x + i * C;
  float *y = c->y + i * C;
  __m256 xk[15];
  for (int k = 0; k < C; k++)
    xk[k] = _mm256_i32gather_ps (x + k, idx, 4);
  ln8_narrow_core (c, C, xk);
  for (int k = 0; k < C; k++)
    _mm256_i32scatter_ps (y + k, idx, xk[k], 4);
}

/* C = 4 (the downsampler's first stage, a quarter of the input's pixels):
 * the same with the 8 rows' 32 floats moved by two loads and permutes
 * instead of a gather and a scatter per channel (those bounded it). */
TGT_AVX512 static void
ln_rows8_c4_avx512 (const LnCtx * c, int64_t i)
{
  const float *x = c->x + i * 4;
  float *y = c->y + i * 4;
  const __m512i col = _mm512_setr_epi32 (0, 4, 8, 12, 16, 20, 24, 28, 0, 0,
      0, 0, 0, 0, 0, 0);
  const __m512 q0 = _mm512_loadu_ps (x), q1 = _mm512_loadu_ps (x + 16);
  __m256 t[4];
  for (int k = 0; k < 4; k++)
    t[k] = _mm512_castps512_ps256 (_mm512_permutex2var_ps (q0,
            _mm512_add_epi32 (col, _mm512_set1_epi32 (k)), q1));
  ln8_narrow_core (c, 4, t);
  /* rows r = 0 .. 7, channel k: u = t0 | t1, v = t2 | t3 */
  const __m512 u = _mm512_insertf32x8 (_mm512_castps256_ps512 (t[0]), t[1],
      1);
  const __m512 v = _mm512_insertf32x8 (_mm512_castps256_ps512 (t[2]), t[3],
      1);
  const __m512i out0 = _mm512_setr_epi32 (0, 8, 16, 24, 1, 9, 17, 25, 2, 10,
      18, 26, 3, 11, 19, 27);
  _mm512_storeu_ps (y, _mm512_permutex2var_ps (u, out0, v));
  _mm512_storeu_ps (y + 16, _mm512_permutex2var_ps (u,
          _mm512_add_epi32 (out0, _mm512_set1_epi32 (4)), v));
}

/* Four rows of a C that is a multiple of 16, each with the very
 * operations of the row loop below (same bits), step by step side by
 * side: one row's chain of dependent double sums, reductions, divides
 * and square root bounds that loop; four hide most of it. Named vectors
 * (GCC spills arrays of them). */
#define LN4(X) X(0) X(1) X(2) X(3)
TGT_AVX512 static void
ln_rows4_avx512 (const LnCtx * c, int64_t i)
{
  const int C = c->C;
#define LN_DECL(r) const float *x##r = c->x + (i + r) * C; \
  float *y##r = c->y + (i + r) * C; \
  __m512d s##r##0 = _mm512_setzero_pd (), s##r##1 = s##r##0;
  LN4 (LN_DECL)
#define LN_SUM(r) { \
    const __m512 v = _mm512_loadu_ps (x##r + k); \
    s##r##0 = _mm512_add_pd (s##r##0, \
        _mm512_cvtps_pd (_mm512_castps512_ps256 (v))); \
    s##r##1 = _mm512_add_pd (s##r##1, \
        _mm512_cvtps_pd (_mm512_extractf32x8_ps (v, 1))); }
  /* the next four rows' lines, one per row and step: streaming from
   * memory (Hiera's first stages), four rows at a time otherwise ran
   * slower than one */
  const char *nx = (const char *) (c->x + (i + 4) * C);
  for (int k = 0; k < C; k += 16) {
    for (int r = 0; r < 4; r++)
      _mm_prefetch (nx + ((int64_t) r * C + k) * 4, _MM_HINT_T0);
    LN4 (LN_SUM)
  }
#define LN_MEAN(r) double mean##r = \
      _mm512_reduce_add_pd (_mm512_add_pd (s##r##0, s##r##1)) / C; \
  const __m512d vm##r = _mm512_set1_pd (mean##r); \
  s##r##0 = s##r##1 = _mm512_setzero_pd ();
  LN4 (LN_MEAN)
#define LN_VAR(r) { \
    const __m512 v = _mm512_loadu_ps (x##r + k); \
    const __m512d d0 = _mm512_sub_pd (_mm512_cvtps_pd ( \
            _mm512_castps512_ps256 (v)), vm##r); \
    const __m512d d1 = _mm512_sub_pd (_mm512_cvtps_pd ( \
            _mm512_extractf32x8_ps (v, 1)), vm##r); \
    s##r##0 = _mm512_add_pd (s##r##0, _mm512_mul_pd (d0, d0)); \
    s##r##1 = _mm512_add_pd (s##r##1, _mm512_mul_pd (d1, d1)); }
  for (int k = 0; k < C; k += 16) {
    LN4 (LN_VAR)
  }
#define LN_INV(r) const double var##r = \
      _mm512_reduce_add_pd (_mm512_add_pd (s##r##0, s##r##1)) / C; \
  const __m512 vinv##r = _mm512_set1_ps ((float) (1.0 / sqrt (var##r + \
              c->eps))), vmf##r = _mm512_set1_ps ((float) mean##r);
  LN4 (LN_INV)
#define LN_OUT(r) { \
    __m512 t = _mm512_mul_ps (_mm512_sub_ps (_mm512_loadu_ps (x##r + k), \
            vmf##r), vinv##r); \
    _mm512_storeu_ps (y##r + k, _mm512_add_ps (_mm512_mul_ps (t, g), b)); }
  for (int k = 0; k < C; k += 16) {
    const __m512 g = _mm512_loadu_ps (c->g + k), b = _mm512_loadu_ps (c->b
        + k);
    LN4 (LN_OUT)
  }
#undef LN_OUT
#undef LN_INV
#undef LN_VAR
#undef LN_MEAN
#undef LN_SUM
#undef LN_DECL
}
#undef LN4

TGT_AVX512 static void
ln_rows_avx512 (void *vctx, int64_t r0, int64_t r1)
{
  const LnCtx *c = vctx;
  const int C = c->C, C16 = C & ~15;
  if (C == 4)
    for (; r0 + 8 <= r1; r0 += 8)
      ln_rows8_c4_avx512 (c, r0);
  if (C < 16)
    for (; r0 + 8 <= r1; r0 += 8)
      ln_rows8_narrow_avx512 (c, r0);
  /* in place (y == x) is fine: each row is read whole before it is
   * written */
  if (C == C16)
    for (; r0 + 4 <= r1; r0 += 4)
      ln_rows4_avx512 (c, r0);
  for (int64_t i = r0; i < r1; i++) {
    const float *xr = c->x + i * C;
    float *yr = c->y + i * C;
    __m512d s0 = _mm512_setzero_pd (), s1 = _mm512_setzero_pd ();
    for (int k = 0; k < C16; k += 16) {
      __m512 v = _mm512_loadu_ps (xr + k);
      s0 = _mm512_add_pd (s0, _mm512_cvtps_pd (_mm512_castps512_ps256 (v)));
      s1 = _mm512_add_pd (s1, _mm512_cvtps_pd (_mm512_extractf32x8_ps (v,
                  1)));
    }
    const double mean = ln_mean_tail (xr, C16, C,
        _mm512_reduce_add_pd (_mm512_add_pd (s0, s1)));
    const __m512d vm = _mm512_set1_pd (mean);
    s0 = s1 = _mm512_setzero_pd ();
    for (int k = 0; k < C16; k += 16) {
      __m512 v = _mm512_loadu_ps (xr + k);
      __m512d d0 = _mm512_sub_pd (_mm512_cvtps_pd (_mm512_castps512_ps256
              (v)), vm);
      __m512d d1 = _mm512_sub_pd (_mm512_cvtps_pd (_mm512_extractf32x8_ps (v,
                  1)), vm);
      s0 = _mm512_add_pd (s0, _mm512_mul_pd (d0, d0));
      s1 = _mm512_add_pd (s1, _mm512_mul_pd (d1, d1));
    }
    const float inv = ln_inv_tail (xr, C16, C, mean,
        _mm512_reduce_add_pd (_mm512_add_pd (s0, s1)), c->eps);
    const float m = (float) mean;
    const __m512 vmf = _mm512_set1_ps (m), vinv = _mm512_set1_ps (inv);
    for (int k = 0; k < C16; k += 16) {
      __m512 t = _mm512_mul_ps (_mm512_sub_ps (_mm512_loadu_ps (xr + k), vmf),
          vinv);
      t = _mm512_add_ps (_mm512_mul_ps (t, _mm512_loadu_ps (c->g + k)),
          _mm512_loadu_ps (c->b + k));
      _mm512_storeu_ps (yr + k, t);
    }
    for (int k = C16; k < C; k++)
      yr[k] = (xr[k] - m) * inv * c->g[k] + c->b[k];
  }
}
#endif

#ifdef SAM_X86
/* The AVX-512 rows' arithmetic in 256-bit vectors, for the same bits:
 * its two accumulators of 8 doubles become four of 4 (a0 a1 = the first,
 * b0 b1 = the second), added as _mm512_reduce_add_pd adds their sum
 * ((a1 + b1) + (a0 + b0), then the halves, then the last two lanes).
 * Narrow rows (C < 16) take the plain loop, as the AVX-512 ones do in
 * effect. Without it the AVX2 machines ran LayerNorm in scalar doubles
 * (5 % of their frame). */
TGT_AVX2 static inline double
ln_reduce_avx2 (__m256d a0, __m256d a1, __m256d b0, __m256d b1)
{
  const __m256d t = _mm256_add_pd (_mm256_add_pd (a1, b1),
      _mm256_add_pd (a0, b0));
  const __m128d h = _mm_add_pd (_mm256_extractf128_pd (t, 1),
      _mm256_castpd256_pd128 (t));
  return _mm_cvtsd_f64 (h) + _mm_cvtsd_f64 (_mm_unpackhi_pd (h, h));
}

TGT_AVX2 static void
ln_rows_avx2 (void *vctx, int64_t r0, int64_t r1)
{
  const LnCtx *c = vctx;
  const int C = c->C, C16 = C & ~15;
  if (C < 16) {
    ln_rows (vctx, r0, r1);
    return;
  }
  for (int64_t i = r0; i < r1; i++) {
    const float *xr = c->x + i * C;
    float *yr = c->y + i * C;
    __m256d a0 = _mm256_setzero_pd (), a1 = a0, b0 = a0, b1 = a0;
    for (int k = 0; k < C16; k += 16) {
      a0 = _mm256_add_pd (a0, _mm256_cvtps_pd (_mm_loadu_ps (xr + k)));
      a1 = _mm256_add_pd (a1, _mm256_cvtps_pd (_mm_loadu_ps (xr + k + 4)));
      b0 = _mm256_add_pd (b0, _mm256_cvtps_pd (_mm_loadu_ps (xr + k + 8)));
      b1 = _mm256_add_pd (b1, _mm256_cvtps_pd (_mm_loadu_ps (xr + k + 12)));
    }
    const double mean = ln_mean_tail (xr, C16, C,
        ln_reduce_avx2 (a0, a1, b0, b1));
    const __m256d vm = _mm256_set1_pd (mean);
    a0 = a1 = b0 = b1 = _mm256_setzero_pd ();
#define LN_SQ(acc, off) {       const __m256d d = _mm256_sub_pd (_mm256_cvtps_pd (_mm_loadu_ps (xr +                   k + off)), vm);       acc = _mm256_add_pd (acc, _mm256_mul_pd (d, d)); }
    for (int k = 0; k < C16; k += 16) {
      LN_SQ (a0, 0) LN_SQ (a1, 4) LN_SQ (b0, 8) LN_SQ (b1, 12)
    }
#undef LN_SQ
    const float inv = ln_inv_tail (xr, C16, C, mean,
        ln_reduce_avx2 (a0, a1, b0, b1), c->eps);
    const float m = (float) mean;
    const __m256 vmf = _mm256_set1_ps (m), vinv = _mm256_set1_ps (inv);
    for (int k = 0; k < C16; k += 8) {
      __m256 t = _mm256_mul_ps (_mm256_sub_ps (_mm256_loadu_ps (xr + k),
              vmf), vinv);
      t = _mm256_add_ps (_mm256_mul_ps (t, _mm256_loadu_ps (c->g + k)),
          _mm256_loadu_ps (c->b + k));
      _mm256_storeu_ps (yr + k, t);
    }
    for (int k = C16; k < C; k++)
      yr[k] = (xr[k] - m) * inv * c->g[k] + c->b[k];
  }
}
#endif

#ifdef SAM_ARM64
/* ln_rows_avx2 in NEON, for the same bits: its four accumulators of 4
 * doubles become eight of 2 (a0 = a0l a0h, ...), reduced in its order:
 * t = (a1 + b1) + (a0 + b0), then its high half plus its low half, then
 * the two lanes. */
static inline double
ln_reduce_neon (const float64x2_t * acc)
{
  const float64x2_t tl = vaddq_f64 (vaddq_f64 (acc[2], acc[6]),
      vaddq_f64 (acc[0], acc[4]));
  const float64x2_t th = vaddq_f64 (vaddq_f64 (acc[3], acc[7]),
      vaddq_f64 (acc[1], acc[5]));
  const float64x2_t h = vaddq_f64 (th, tl);
  return vgetq_lane_f64 (h, 0) + vgetq_lane_f64 (h, 1);
}

static void
ln_rows_neon (void *vctx, int64_t r0, int64_t r1)
{
  const LnCtx *c = vctx;
  const int C = c->C, C16 = C & ~15;
  if (C < 16) {
    ln_rows (vctx, r0, r1);
    return;
  }
  for (int64_t i = r0; i < r1; i++) {
    const float *xr = c->x + i * C;
    float *yr = c->y + i * C;
    /* acc[2q], acc[2q + 1]: channels k + 4q .. k + 4q + 3 */
    float64x2_t acc[8];
    for (int q = 0; q < 8; q++)
      acc[q] = vdupq_n_f64 (0.0);
    for (int k = 0; k < C16; k += 16)
      for (int q = 0; q < 4; q++) {
        const float32x4_t v = vld1q_f32 (xr + k + 4 * q);
        acc[2 * q] = vaddq_f64 (acc[2 * q], vcvt_f64_f32 (vget_low_f32 (v)));
        acc[2 * q + 1] = vaddq_f64 (acc[2 * q + 1], vcvt_high_f64_f32 (v));
      }
    const double mean = ln_mean_tail (xr, C16, C, ln_reduce_neon (acc));
    const float64x2_t vm = vdupq_n_f64 (mean);
    for (int q = 0; q < 8; q++)
      acc[q] = vdupq_n_f64 (0.0);
    for (int k = 0; k < C16; k += 16)
      for (int q = 0; q < 4; q++) {
        const float32x4_t v = vld1q_f32 (xr + k + 4 * q);
        const float64x2_t d0 = vsubq_f64 (vcvt_f64_f32 (vget_low_f32 (v)), vm);
        const float64x2_t d1 = vsubq_f64 (vcvt_high_f64_f32 (v), vm);
        acc[2 * q] = vaddq_f64 (acc[2 * q], vmulq_f64 (d0, d0));
        acc[2 * q + 1] = vaddq_f64 (acc[2 * q + 1], vmulq_f64 (d1, d1));
      }
    const float inv = ln_inv_tail (xr, C16, C, mean, ln_reduce_neon (acc),
        c->eps);
    const float m = (float) mean;
    const float32x4_t vmf = vdupq_n_f32 (m), vinv = vdupq_n_f32 (inv);
    for (int k = 0; k < C16; k += 4) {
      float32x4_t t = vmulq_f32 (vsubq_f32 (vld1q_f32 (xr + k), vmf), vinv);
      t = vaddq_f32 (vmulq_f32 (t, vld1q_f32 (c->g + k)),
          vld1q_f32 (c->b + k));
      vst1q_f32 (yr + k, t);
    }
    for (int k = C16; k < C; k++)
      yr[k] = (xr[k] - m) * inv * c->g[k] + c->b[k];
  }
}
#endif

static SamPoolFunc
ln_rows_for (int isa)
{
#ifdef SAM_X86
  if (sam_isa_x86_at_least (isa, SAM_ISA_AVX512))
    return ln_rows_avx512;
  if (isa == SAM_ISA_AVX2)
    return ln_rows_avx2;
#endif
#ifdef SAM_ARM64
  if (isa == SAM_ISA_NEON)
    return ln_rows_neon;
#endif
  return ln_rows;
}

void
sam_layernorm_isa (int isa, SamPool * pool, const float *x, int64_t M, int C,
    const float *gamma, const float *beta, float eps, float *y)
{
  LnCtx c = { x, gamma, beta, y, C, eps };
  if (y != x)
    sam_k_hint_hugepages (y, (int64_t) sizeof (float) * M * C);
  isa = MIN (isa, (int) sam_cpu_isa_detected ());
  sam_pool_for (pool, M, 16, ln_rows_for (isa), &c);
}

void
sam_layernorm (SamPool * pool, const float *x, int64_t M, int C,
    const float *gamma, const float *beta, float eps, float *y)
{
  sam_layernorm_isa (sam_cpu_isa (), pool, x, M, C, gamma, beta, eps, y);
}

void
sam_layernorm_serial (const float *x, int64_t M, int C, const float *gamma,
    const float *beta, float eps, float *y)
{
  LnCtx c = { x, gamma, beta, y, C, eps };
  ln_rows_for (sam_cpu_isa ()) (&c, 0, M);
}

/* GELU, exact (erf) form: 0.5 x (1 + erf(x/√2)).
 * The SIMD versions evaluate 1 + erf(z), z = x/√2, as
 *   |z| <= 1:       1 + z·A(z²)
 *   1 < |z| < 9.5:  erfc(|z|) = exp(-z²)·Q(|z|), then 2 - erfc or erfc by
 *                   sign; Q(a) = B(a - 1.75) for a <= 2.5, else u·Cu(u),
 *                   u = 1/a; z² split into hi + lo with an FMA so exp(-z²)
 *                   keeps full precision
 *   |z| >= 9.5:     erfc = 0
 * A, B, Cu are Chebyshev fits (mpmath.chebyfit: erf(√t)/√t on t ∈ [0, 1],
 * erfc(a)·exp(a²) on a ∈ [1, 2.5], erfc(1/u)·exp(1/u²)/u on u ∈ [0.1, 0.4]),
 * relative error of the fits ≤ 1e-8; the tests hold the result to 1e-6 of
 * erff. */
static void
gelu_range (void *ctx, int64_t b, int64_t e)
{
  float *x = ctx;
  for (int64_t i = b; i < e; i++)
    x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
}

#if defined(SAM_X86) || defined(SAM_ARM64)
static const float gelu_A[] = { -9.667044650996104e-06f,
  0.00011265958892181516f, -0.0008484080317430198f, 0.005221031606197357f,
  -0.026865430176258087f, 0.11283782124519348f, -0.37612637877464294f,
  1.128379225730896f
};

static const float gelu_B[] = { -3.81819081667345e-05f,
  0.0001248153275810182f, -0.00034130492713302374f, 0.001031487830914557f,
  -0.0030214269645512104f, 0.00840588565915823f, -0.022259963676333427f,
  0.055763520300388336f, -0.1309763491153717f, 0.28497225046157837f
};

static const float gelu_C[] = { -0.7480106353759766f, 1.4692814350128174f,
  -0.8505125045776367f, -0.2720975875854492f, 0.5104084610939026f,
  -0.015013468451797962f, -0.2805976867675781f, -8.146838081302121e-05f,
  0.564191460609436f
};

#define HORNER(T, FMA, SET, p, x, r) do { \
    r = SET (p[0]); \
    for (guint k_ = 1; k_ < G_N_ELEMENTS (p); k_++) \
      r = FMA (r, x, SET (p[k_])); \
  } while (0)
#endif

#ifdef SAM_X86
/* NAME (x, n): x[0..n) = F (x) in place, 16 (AVX-512) or 8 (AVX2) lanes at
 * a time; the tail through a masked load (AVX-512) or a zero-padded copy
 * (AVX2). F is inlined: one driver per element function. */
#define RANGE_AVX512(NAME, F) \
TGT_AVX512 static void \
NAME (float *x, int64_t n) \
{ \
  int64_t i = 0; \
  for (; i + 16 <= n; i += 16) \
    _mm512_storeu_ps (x + i, F (_mm512_loadu_ps (x + i))); \
  if (i < n) { \
    __mmask16 k = (__mmask16) ((1u << (n - i)) - 1); \
    _mm512_mask_storeu_ps (x + i, k, F (_mm512_maskz_loadu_ps (k, x + i))); \
  } \
}
#define RANGE_AVX2(NAME, F) \
TGT_AVX2 static void \
NAME (float *x, int64_t n) \
{ \
  int64_t i = 0; \
  for (; i + 8 <= n; i += 8) \
    _mm256_storeu_ps (x + i, F (_mm256_loadu_ps (x + i))); \
  if (i < n) { \
    float t[8] = { 0 }; \
    memcpy (t, x + i, sizeof (float) * (n - i)); \
    _mm256_storeu_ps (t, F (_mm256_loadu_ps (t))); \
    memcpy (x + i, t, sizeof (float) * (n - i)); \
  } \
}

TGT_AVX512 static inline __m512
gelu16 (__m512 x)
{
  const __m512 one = _mm512_set1_ps (1.f);
  __m512 z = _mm512_mul_ps (x, _mm512_set1_ps ((float) M_SQRT1_2));
  __m512 a = _mm512_min_ps (_mm512_abs_ps (z), _mm512_set1_ps (9.5f));
  __m512 pa, pb, pc;
  HORNER (__m512, _mm512_fmadd_ps, _mm512_set1_ps, gelu_A,
      _mm512_mul_ps (z, z), pa);
  __m512 small = _mm512_fmadd_ps (z, pa, one);
  /* every lane |z| <= 1 (30 % of the vectors in Hiera's MLPs): the result
   * is small's, the erfc branch would be computed for nothing. NaN lanes
   * have a = 9.5 (min drops the NaN), so they never take this exit. */
  if (_mm512_cmp_ps_mask (a, one, _CMP_LE_OQ) == 0xffff)
    return _mm512_mul_ps (_mm512_mul_ps (_mm512_set1_ps (0.5f), x), small);
  HORNER (__m512, _mm512_fmadd_ps, _mm512_set1_ps, gelu_B,
      _mm512_sub_ps (a, _mm512_set1_ps (1.75f)), pb);
  /* the tail fit (a division and 9 terms) only where a lane needs it:
   * |x| > 3.5 is rare in activations, and the other lanes take pb anyway */
  __m512 q = pb;
  const __mmask16 tail = _mm512_cmp_ps_mask (a, _mm512_set1_ps (2.5f),
      _CMP_GT_OQ);
  if (tail) {
    __m512 u = _mm512_div_ps (one, a);
    HORNER (__m512, _mm512_fmadd_ps, _mm512_set1_ps, gelu_C, u, pc);
    pc = _mm512_mul_ps (pc, u);
    q = _mm512_mask_mov_ps (pb, tail, pc);
  }
  __m512 hi = _mm512_mul_ps (a, a), lo = _mm512_fmsub_ps (a, a, hi);
  /* inline (exp-simd.h): the same bits as sam_k_exp_f32_avx512, without
   * the round trip through memory and the call */
  __m512 ex = exp16 (_mm512_sub_ps (_mm512_setzero_ps (), hi));
  __m512 erfc = _mm512_mul_ps (_mm512_mul_ps (ex, _mm512_sub_ps (one, lo)),
      q);
  erfc = _mm512_maskz_mov_ps (_mm512_cmp_ps_mask (a, _mm512_set1_ps (9.5f),
          _CMP_LT_OQ), erfc);
  __m512 large = _mm512_mask_mov_ps (erfc, _mm512_cmp_ps_mask (z,
          _mm512_setzero_ps (), _CMP_GT_OQ),
      _mm512_sub_ps (_mm512_set1_ps (2.f), erfc));
  __m512 ope = _mm512_mask_mov_ps (large, _mm512_cmp_ps_mask (a, one,
          _CMP_LE_OQ), small);
  /* NaN in, NaN out (the comparisons above drop it) */
  ope = _mm512_mask_mov_ps (ope, _mm512_cmp_ps_mask (x, x, _CMP_UNORD_Q), x);
  return _mm512_mul_ps (_mm512_mul_ps (_mm512_set1_ps (0.5f), x), ope);
}

RANGE_AVX512 (gelu_x_avx512, gelu16)

static void
gelu_range_avx512 (void *ctx, int64_t b, int64_t e)
{
  gelu_x_avx512 ((float *) ctx + b, e - b);
}

TGT_AVX2 static inline __m256
gelu8 (__m256 x)
{
  const __m256 one = _mm256_set1_ps (1.f);
  __m256 z = _mm256_mul_ps (x, _mm256_set1_ps ((float) M_SQRT1_2));
  __m256 a = _mm256_min_ps (_mm256_andnot_ps (_mm256_set1_ps (-0.f), z),
      _mm256_set1_ps (9.5f));
  __m256 pa, pb, pc;
  HORNER (__m256, _mm256_fmadd_ps, _mm256_set1_ps, gelu_A,
      _mm256_mul_ps (z, z), pa);
  __m256 small = _mm256_fmadd_ps (z, pa, one);
  HORNER (__m256, _mm256_fmadd_ps, _mm256_set1_ps, gelu_B,
      _mm256_sub_ps (a, _mm256_set1_ps (1.75f)), pb);
  __m256 u = _mm256_div_ps (one, a);
  HORNER (__m256, _mm256_fmadd_ps, _mm256_set1_ps, gelu_C, u, pc);
  pc = _mm256_mul_ps (pc, u);
  __m256 q = _mm256_blendv_ps (pb, pc, _mm256_cmp_ps (a,
          _mm256_set1_ps (2.5f), _CMP_GT_OQ));
  __m256 hi = _mm256_mul_ps (a, a), lo = _mm256_fmsub_ps (a, a, hi);
  __m256 ex = exp8 (_mm256_sub_ps (_mm256_setzero_ps (), hi));
  __m256 erfc = _mm256_mul_ps (_mm256_mul_ps (ex, _mm256_sub_ps (one, lo)),
      q);
  erfc = _mm256_and_ps (erfc, _mm256_cmp_ps (a, _mm256_set1_ps (9.5f),
          _CMP_LT_OQ));
  __m256 large = _mm256_blendv_ps (erfc, _mm256_sub_ps (_mm256_set1_ps (2.f),
          erfc), _mm256_cmp_ps (z, _mm256_setzero_ps (), _CMP_GT_OQ));
  __m256 ope = _mm256_blendv_ps (large, small, _mm256_cmp_ps (a, one,
          _CMP_LE_OQ));
  ope = _mm256_blendv_ps (ope, x, _mm256_cmp_ps (x, x, _CMP_UNORD_Q));
  return _mm256_mul_ps (_mm256_mul_ps (_mm256_set1_ps (0.5f), x), ope);
}

RANGE_AVX2 (gelu_x_avx2, gelu8)

static void
gelu_range_avx2 (void *ctx, int64_t b, int64_t e)
{
  gelu_x_avx2 ((float *) ctx + b, e - b);
}
#endif

#ifdef SAM_ARM64
/* gelu8 in NEON: the same operations per lane, so the same bits (vminq
 * returns NaN where _mm256_min_ps returns 9.5, for a NaN x only, whose
 * result is x either way) */
static inline float32x4_t
fma_neon (float32x4_t a, float32x4_t b, float32x4_t c)
{
  return vfmaq_f32 (c, a, b);
}

static inline float32x4_t
gelu4 (float32x4_t x)
{
  const float32x4_t one = vdupq_n_f32 (1.f);
  const float32x4_t z = vmulq_f32 (x, vdupq_n_f32 ((float) M_SQRT1_2));
  const float32x4_t a = vminq_f32 (vabsq_f32 (z), vdupq_n_f32 (9.5f));
  float32x4_t pa, pb, pc;
  HORNER (float32x4_t, fma_neon, vdupq_n_f32, gelu_A, vmulq_f32 (z, z), pa);
  const float32x4_t small = vfmaq_f32 (one, z, pa);
  HORNER (float32x4_t, fma_neon, vdupq_n_f32, gelu_B,
      vsubq_f32 (a, vdupq_n_f32 (1.75f)), pb);
  const float32x4_t u = vdivq_f32 (one, a);
  HORNER (float32x4_t, fma_neon, vdupq_n_f32, gelu_C, u, pc);
  pc = vmulq_f32 (pc, u);
  const float32x4_t q = vbslq_f32 (vcgtq_f32 (a, vdupq_n_f32 (2.5f)), pc,
      pb);
  const float32x4_t hi = vmulq_f32 (a, a);
  const float32x4_t lo = vfmaq_f32 (vnegq_f32 (hi), a, a);
  const float32x4_t ex = exp4 (vsubq_f32 (vdupq_n_f32 (0.f), hi));
  float32x4_t erfc = vmulq_f32 (vmulq_f32 (ex, vsubq_f32 (one, lo)), q);
  erfc = vreinterpretq_f32_u32 (vandq_u32 (vreinterpretq_u32_f32 (erfc),
          vcltq_f32 (a, vdupq_n_f32 (9.5f))));
  const float32x4_t large = vbslq_f32 (vcgtq_f32 (z, vdupq_n_f32 (0.f)),
      vsubq_f32 (vdupq_n_f32 (2.f), erfc), erfc);
  float32x4_t ope = vbslq_f32 (vcleq_f32 (a, one), small, large);
  ope = vbslq_f32 (vceqq_f32 (x, x), ope, x);
  return vmulq_f32 (vmulq_f32 (vdupq_n_f32 (0.5f), x), ope);
}

static void
gelu_range_neon (void *ctx, int64_t b, int64_t e)
{
  float *x = (float *) ctx + b;
  const int64_t n = e - b;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    vst1q_f32 (x + i, gelu4 (vld1q_f32 (x + i)));
  if (i < n) {
    float t[4] = { 0 };
    memcpy (t, x + i, sizeof (float) * (size_t) (n - i));
    vst1q_f32 (t, gelu4 (vld1q_f32 (t)));
    memcpy (x + i, t, sizeof (float) * (size_t) (n - i));
  }
}
#endif

/* The GELU range kernel of an ISA (capped at the detected one) */
static SamPoolFunc
gelu_fn (int isa)
{
  isa = MIN (isa, (int) sam_cpu_isa_detected ());
#ifdef SAM_X86
  if (isa == SAM_ISA_AVX512)
    return gelu_range_avx512;
  if (isa == SAM_ISA_AVX2)
    return gelu_range_avx2;
#endif
#ifdef SAM_ARM64
  if (isa == SAM_ISA_NEON)
    return gelu_range_neon;
#endif
  return gelu_range;
}

void
sam_gelu_isa (int isa, SamPool * pool, float *x, int64_t n)
{
  sam_pool_for (pool, n, 4096, gelu_fn (isa), x);
}

void
sam_gelu (SamPool * pool, float *x, int64_t n)
{
  sam_gelu_isa (sam_cpu_isa (), pool, x, n);
}

/* ---- GELU ahead of an 8-bit quantizer -------------------------------------
 * 0.5 x (1 + e), e = z · P(u) for |z| < 3.5 and ±1 beyond, z = x/√2,
 * u = z² · 2/3.5² − 1: P is a degree-13 Chebyshev fit of erf(z)/z on
 * [0, 3.5] (numpy, converted to monomials of u, which keeps them well
 * conditioned in float). Within 2e-6 + 4e-7 |x| of the exact form
 * (tests/engine/test-kernels.c), about a thousandth of the step of the
 * 8-bit code that the next layer makes of it, in 14 FMAs and no branch:
 * sam_gelu spends 2-3x that on its erfc path and its early exits
 * mispredict on Hiera's MLP rows. The same operations in the same order
 * in every ISA: the same bits. */
static const float gelu_q_P[] = { -7.889687549e-04f, 1.758324215e-03f,
  -1.585476799e-03f, 3.713239450e-03f, -1.002696808e-02f, 1.782595739e-02f,
  -2.847463638e-02f, 4.465419427e-02f, -6.518902630e-02f, 8.847718686e-02f,
  -1.145649403e-01f, 1.467445791e-01f, -2.007025778e-01f, 4.038730562e-01f
};

#define GELU_Q_ZMAX 3.5f
#define GELU_Q_U2 1.632653028e-01f      /* 2 / 3.5² */

static float
gelu_q1 (float x)
{
  const float z = x * (float) M_SQRT1_2;
  /* NaN z passes both (and the last product keeps it NaN) */
  const float zc = z > GELU_Q_ZMAX ? GELU_Q_ZMAX : z < -GELU_Q_ZMAX ?
      -GELU_Q_ZMAX : z;
  const float u = fmaf (zc * zc, GELU_Q_U2, -1.f);
  float p = gelu_q_P[0];
  for (guint k = 1; k < G_N_ELEMENTS (gelu_q_P); k++)
    p = fmaf (p, u, gelu_q_P[k]);
  float e = zc * p;
  e = z >= GELU_Q_ZMAX ? 1.f : z <= -GELU_Q_ZMAX ? -1.f : e;
  return 0.5f * x * (1.f + e);
}

static void
gelu_q_range (float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = gelu_q1 (x[i]);
}

#ifdef SAM_X86
/* gelu_q1 on 16 lanes, four vectors at a time with their steps
 * interleaved (the same operations per lane: the same bits). One vector
 * per iteration left the 14-FMA Horner chain's latency exposed; the
 * out-of-order window does not reach far enough into the next
 * iterations to hide it. Named vectors, not arrays: GCC spills arrays of
 * vectors here. 4,096 floats in L2, one thread: 0.255 → 0.21 ns per
 * element. The vectors are read from and written back to xp. */
#define GQ_PRE(v) \
  const __m512 x##v = _mm512_loadu_ps (xp + 16 * v); \
  const __m512 z##v = _mm512_mul_ps (x##v, rs2); \
  /* min / max return the second operand for a NaN z: zc is finite, and \
   * the last product still gives NaN */ \
  const __m512 zc##v = _mm512_max_ps (_mm512_min_ps (z##v, zmax), nzmax); \
  const __m512 u##v = _mm512_fmadd_ps (_mm512_mul_ps (zc##v, zc##v), ku2, \
      m1); \
  __m512 p##v = _mm512_set1_ps (gelu_q_P[0]);
#define GQ_HORNER(v) p##v = _mm512_fmadd_ps (p##v, u##v, pk);
#define GQ_POST(v) { \
    __m512 e = _mm512_mul_ps (zc##v, p##v); \
    e = _mm512_mask_mov_ps (e, _mm512_cmp_ps_mask (z##v, zmax, _CMP_GE_OQ), \
        one); \
    e = _mm512_mask_mov_ps (e, _mm512_cmp_ps_mask (z##v, nzmax, \
            _CMP_LE_OQ), _mm512_set1_ps (-1.f)); \
    _mm512_storeu_ps (xp + 16 * v, _mm512_mul_ps (_mm512_mul_ps ( \
                _mm512_set1_ps (0.5f), x##v), _mm512_add_ps (one, e))); }
#define GQ_RUN(VECS) { \
    VECS (GQ_PRE) \
    for (guint k = 1; k < G_N_ELEMENTS (gelu_q_P); k++) { \
      const __m512 pk = _mm512_set1_ps (gelu_q_P[k]); \
      VECS (GQ_HORNER) \
    } \
    VECS (GQ_POST) }
#define GQ4(X) X(0) X(1) X(2) X(3)
#define GQ1(X) X(0)
TGT_AVX512 static void
gelu_q_range_avx512 (float *x, int64_t n)
{
  const __m512 rs2 = _mm512_set1_ps ((float) M_SQRT1_2);
  const __m512 zmax = _mm512_set1_ps (GELU_Q_ZMAX);
  const __m512 nzmax = _mm512_sub_ps (_mm512_setzero_ps (), zmax);
  const __m512 ku2 = _mm512_set1_ps (GELU_Q_U2), m1 = _mm512_set1_ps (-1.f);
  const __m512 one = _mm512_set1_ps (1.f);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    float *xp = x + i;
    GQ_RUN (GQ4)
  }
  for (; i < n; i += 16) {
    /* the last partial vector through a zero-padded copy */
    float tail[16] = { 0 };
    const int64_t m = MIN (16, n - i);
    float *xp = m == 16 ? x + i : tail;
    if (m < 16)
      memcpy (tail, x + i, sizeof (float) * m);
    GQ_RUN (GQ1)
    if (m < 16)
      memcpy (x + i, tail, sizeof (float) * m);
  }
}
#undef GQ1
#undef GQ4
#undef GQ_RUN
#undef GQ_POST
#undef GQ_HORNER
#undef GQ_PRE

TGT_AVX2 static inline __m256
gelu_q8 (__m256 x)
{
  const __m256 z = _mm256_mul_ps (x, _mm256_set1_ps ((float) M_SQRT1_2));
  const __m256 zmax = _mm256_set1_ps (GELU_Q_ZMAX);
  const __m256 nzmax = _mm256_sub_ps (_mm256_setzero_ps (), zmax);
  const __m256 zc = _mm256_max_ps (_mm256_min_ps (z, zmax), nzmax);
  const __m256 u = _mm256_fmadd_ps (_mm256_mul_ps (zc, zc),
      _mm256_set1_ps (GELU_Q_U2), _mm256_set1_ps (-1.f));
  __m256 p;
  HORNER (__m256, _mm256_fmadd_ps, _mm256_set1_ps, gelu_q_P, u, p);
  __m256 e = _mm256_mul_ps (zc, p);
  e = _mm256_blendv_ps (e, _mm256_set1_ps (1.f), _mm256_cmp_ps (z, zmax,
          _CMP_GE_OQ));
  e = _mm256_blendv_ps (e, _mm256_set1_ps (-1.f), _mm256_cmp_ps (z, nzmax,
          _CMP_LE_OQ));
  return _mm256_mul_ps (_mm256_mul_ps (_mm256_set1_ps (0.5f), x),
      _mm256_add_ps (_mm256_set1_ps (1.f), e));
}

/* gelu_q8 on four vectors at a time, their Horner chains interleaved as
 * in gelu_q_range_avx512 (the same operations per lane: the same bits).
 * Only u and p of each vector stay in registers through the chain (16
 * ymm registers); x is read again for the end, and z, zc made again from
 * it. */
#define GQ8_PRE(v) \
  __m256 u##v, p##v = _mm256_set1_ps (gelu_q_P[0]); { \
    const __m256 z = _mm256_mul_ps (_mm256_loadu_ps (xp + 8 * v), rs2); \
    const __m256 zc = _mm256_max_ps (_mm256_min_ps (z, zmax), nzmax); \
    u##v = _mm256_fmadd_ps (_mm256_mul_ps (zc, zc), ku2, m1); }
#define GQ8_HORNER(v) p##v = _mm256_fmadd_ps (p##v, u##v, pk);
#define GQ8_POST(v) { \
    const __m256 x = _mm256_loadu_ps (xp + 8 * v); \
    const __m256 z = _mm256_mul_ps (x, rs2); \
    const __m256 zc = _mm256_max_ps (_mm256_min_ps (z, zmax), nzmax); \
    __m256 e = _mm256_mul_ps (zc, p##v); \
    e = _mm256_blendv_ps (e, one, _mm256_cmp_ps (z, zmax, _CMP_GE_OQ)); \
    e = _mm256_blendv_ps (e, _mm256_set1_ps (-1.f), _mm256_cmp_ps (z, \
            nzmax, _CMP_LE_OQ)); \
    _mm256_storeu_ps (xp + 8 * v, _mm256_mul_ps (_mm256_mul_ps ( \
                _mm256_set1_ps (0.5f), x), _mm256_add_ps (one, e))); }
#define GQ8_4(X) X(0) X(1) X(2) X(3)
TGT_AVX2 static void
gelu_q_range_avx2 (float *x, int64_t n)
{
  const __m256 rs2 = _mm256_set1_ps ((float) M_SQRT1_2);
  const __m256 zmax = _mm256_set1_ps (GELU_Q_ZMAX);
  const __m256 nzmax = _mm256_sub_ps (_mm256_setzero_ps (), zmax);
  const __m256 ku2 = _mm256_set1_ps (GELU_Q_U2), m1 = _mm256_set1_ps (-1.f);
  const __m256 one = _mm256_set1_ps (1.f);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    float *xp = x + i;
    GQ8_4 (GQ8_PRE)
    for (guint k = 1; k < G_N_ELEMENTS (gelu_q_P); k++) {
      const __m256 pk = _mm256_set1_ps (gelu_q_P[k]);
      GQ8_4 (GQ8_HORNER)
    }
    GQ8_4 (GQ8_POST)
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (x + i, gelu_q8 (_mm256_loadu_ps (x + i)));
  if (i < n) {
    float t[8] = { 0 };
    memcpy (t, x + i, sizeof (float) * (n - i));
    _mm256_storeu_ps (t, gelu_q8 (_mm256_loadu_ps (t)));
    memcpy (x + i, t, sizeof (float) * (n - i));
  }
}
#undef GQ8_4
#undef GQ8_POST
#undef GQ8_HORNER
#undef GQ8_PRE
#endif

#ifdef SAM_ARM64
/* gelu_q1 on 4 lanes, two vectors' Horner chains interleaved (the same
 * operations per lane: the same bits) */
static inline float32x4_t
gelu_q4_end (float32x4_t x, float32x4_t p)
{
  const float32x4_t z = vmulq_f32 (x, vdupq_n_f32 ((float) M_SQRT1_2));
  const float32x4_t zmax = vdupq_n_f32 (GELU_Q_ZMAX);
  const float32x4_t nzmax = vsubq_f32 (vdupq_n_f32 (0.f), zmax);
  const float32x4_t zc = vmaxq_f32 (vminq_f32 (z, zmax), nzmax);
  float32x4_t e = vmulq_f32 (zc, p);
  e = vbslq_f32 (vcgeq_f32 (z, zmax), vdupq_n_f32 (1.f), e);
  e = vbslq_f32 (vcleq_f32 (z, nzmax), vdupq_n_f32 (-1.f), e);
  return vmulq_f32 (vmulq_f32 (vdupq_n_f32 (0.5f), x),
      vaddq_f32 (vdupq_n_f32 (1.f), e));
}

static inline float32x4_t
gelu_q4_u (float32x4_t x)
{
  const float32x4_t z = vmulq_f32 (x, vdupq_n_f32 ((float) M_SQRT1_2));
  const float32x4_t zmax = vdupq_n_f32 (GELU_Q_ZMAX);
  const float32x4_t nzmax = vsubq_f32 (vdupq_n_f32 (0.f), zmax);
  const float32x4_t zc = vmaxq_f32 (vminq_f32 (z, zmax), nzmax);
  return vfmaq_f32 (vdupq_n_f32 (-1.f), vmulq_f32 (zc, zc),
      vdupq_n_f32 (GELU_Q_U2));
}

static void
gelu_q_range_neon (float *x, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t x0 = vld1q_f32 (x + i), x1 = vld1q_f32 (x + i + 4);
    const float32x4_t u0 = gelu_q4_u (x0), u1 = gelu_q4_u (x1);
    float32x4_t p0 = vdupq_n_f32 (gelu_q_P[0]), p1 = p0;
    for (guint k = 1; k < G_N_ELEMENTS (gelu_q_P); k++) {
      const float32x4_t pk = vdupq_n_f32 (gelu_q_P[k]);
      p0 = vfmaq_f32 (pk, p0, u0);
      p1 = vfmaq_f32 (pk, p1, u1);
    }
    vst1q_f32 (x + i, gelu_q4_end (x0, p0));
    vst1q_f32 (x + i + 4, gelu_q4_end (x1, p1));
  }
  for (; i < n; i++)
    x[i] = gelu_q1 (x[i]);
}
#endif

typedef void (*GeluQFn) (float *x, int64_t n);

static GeluQFn
gelu_q_fn (SamIsa isa)
{
#ifdef SAM_X86
  if (isa == SAM_ISA_AVX512)
    return gelu_q_range_avx512;
  if (isa == SAM_ISA_AVX2)
    return gelu_q_range_avx2;
#endif
#ifdef SAM_ARM64
  if (isa == SAM_ISA_NEON)
    return gelu_q_range_neon;
#endif
  return gelu_q_range;
}

void
sam_gelu_q_rows_isa (int isa, float *y, int64_t ldy, int64_t rows,
    int64_t n)
{
  GeluQFn fn = gelu_q_fn ((SamIsa) MIN (isa, (int) sam_cpu_isa_detected ()));
  for (int64_t r = 0; r < rows; r++)
    fn (y + r * ldy, n);
}

void
sam_gelu_q_rows (float *y, int64_t ldy, int64_t rows, int64_t n)
{
  sam_gelu_q_rows_isa (sam_cpu_isa (), y, ldy, rows, n);
}

static void
gelu_q_task (void *ctx, int64_t b, int64_t e)
{
  gelu_q_fn (sam_cpu_isa ()) ((float *) ctx + b, e - b);
}

void
sam_gelu_q (SamPool * pool, float *x, int64_t n)
{
  sam_pool_for (pool, n, 4096, gelu_q_task, x);
}

void
sam_relu_rows (float *y, int64_t ldy, int64_t rows, int64_t n)
{
  for (int64_t r = 0; r < rows; r++)
    sam_relu (y + r * ldy, n);
}

static void
relu_c (float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = x[i] > 0.f ? x[i] : 0.f;
}

#ifdef SAM_X86
/* max (x, 0) gives 0 where x > 0 fails, as the C form does: for -0 and
 * NaN too (vmaxps returns its second operand then) */
TGT_AVX512 static void
relu_avx512 (float *x, int64_t n)
{
  const __m512 z = _mm512_setzero_ps ();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (x + i, _mm512_max_ps (_mm512_loadu_ps (x + i), z));
  if (i < n) {
    __mmask16 k = (__mmask16) ((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps (x + i, k,
        _mm512_max_ps (_mm512_maskz_loadu_ps (k, x + i), z));
  }
}
#endif

void
sam_relu_isa (int isa, float *x, int64_t n)
{
#ifdef SAM_X86
  if (sam_isa_x86_at_least (MIN (isa, (int) sam_cpu_isa_detected ()), SAM_ISA_AVX512)) {
    relu_avx512 (x, n);
    return;
  }
#endif
  (void) isa;
  relu_c (x, n);
}

void
sam_relu (float *x, int64_t n)
{
  sam_relu_isa (sam_cpu_isa (), x, n);
}

/* ref: sam2/modeling/position_encoding.py apply_rotary_enc, one row:
 * pair i (x[2i], x[2i + 1]) times cos[i] + i·sin[i], as complex numbers */
static void
rope_row_c (float *x, int half, const float *co, const float *si)
{
  for (int i = 0; i < half; i++) {
    float re = x[2 * i], im = x[2 * i + 1];
    x[2 * i] = re * co[i] - im * si[i];
    x[2 * i + 1] = re * si[i] + im * co[i];
  }
}

#ifdef SAM_X86
/* Eight pairs at a time with the C form's products and sums (no FMA):
 * even lanes re·cos − im·sin, odd lanes im·cos + re·sin, which is the
 * same sum as re·sin + im·cos. */
TGT_AVX512 static void
rope_row_avx512 (float *x, int half, const float *co, const float *si)
{
  const __m512i dup = _mm512_set_epi32 (7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2,
      1, 1, 0, 0);
  int i = 0;
  for (; i + 8 <= half; i += 8) {
    __m512 v = _mm512_loadu_ps (x + 2 * i);
    __m512 c = _mm512_permutexvar_ps (dup,
        _mm512_castps256_ps512 (_mm256_loadu_ps (co + i)));
    __m512 s = _mm512_permutexvar_ps (dup,
        _mm512_castps256_ps512 (_mm256_loadu_ps (si + i)));
    __m512 p = _mm512_mul_ps (v, c);
    __m512 q = _mm512_mul_ps (_mm512_permute_ps (v, 0xb1), s);
    _mm512_storeu_ps (x + 2 * i,
        _mm512_mask_sub_ps (_mm512_add_ps (p, q), 0x5555, p, q));
  }
  rope_row_c (x + 2 * i, half - i, co + i, si + i);
}

/* The same four pairs at a time in ymm: vaddsubps subtracts in the even
 * lanes and adds in the odd ones */
TGT_AVX2 static void
rope_row_avx2 (float *x, int half, const float *co, const float *si)
{
  const __m256i dup = _mm256_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3);
  int i = 0;
  for (; i + 4 <= half; i += 4) {
    const __m256 v = _mm256_loadu_ps (x + 2 * i);
    const __m256 c = _mm256_permutevar8x32_ps (_mm256_castps128_ps256
        (_mm_loadu_ps (co + i)), dup);
    const __m256 s = _mm256_permutevar8x32_ps (_mm256_castps128_ps256
        (_mm_loadu_ps (si + i)), dup);
    const __m256 p = _mm256_mul_ps (v, c);
    const __m256 q = _mm256_mul_ps (_mm256_permute_ps (v, 0xb1), s);
    _mm256_storeu_ps (x + 2 * i, _mm256_addsub_ps (p, q));
  }
  rope_row_c (x + 2 * i, half - i, co + i, si + i);
}
#endif

void
sam_rope_row_isa (int isa, float *x, int half, const float *co,
    const float *si)
{
#ifdef SAM_X86
  if (sam_isa_x86_at_least (MIN (isa, (int) sam_cpu_isa_detected ()), SAM_ISA_AVX512)) {
    rope_row_avx512 (x, half, co, si);
    return;
  }
  if (sam_isa_x86_at_least (MIN (isa, (int) sam_cpu_isa_detected ()), SAM_ISA_AVX2)) {
    rope_row_avx2 (x, half, co, si);
    return;
  }
#endif
  (void) isa;
  rope_row_c (x, half, co, si);
}

void
sam_rope_row (float *x, int half, const float *co, const float *si)
{
  sam_rope_row_isa (sam_cpu_isa (), x, half, co, si);
}

void
sam_sigmoid (float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = 1.0f / (1.0f + expf (-x[i]));
}

#ifdef SAM_X86
/* The residual adds (Hiera's window unpartition adds Co = 96..768 floats at
 * a time): the same IEEE adds 16 lanes at a time. */
TGT_AVX512 static void
add_avx512 (float *y, const float *x, int64_t n)
{
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, _mm512_add_ps (_mm512_loadu_ps (y + i),
            _mm512_loadu_ps (x + i)));
  if (i < n) {
    __mmask16 k = (__mmask16) ((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps (y + i, k, _mm512_add_ps (_mm512_maskz_loadu_ps (k,
                y + i), _mm512_maskz_loadu_ps (k, x + i)));
  }
}

/* the same on AVX2 (the scalar loop's tail) */
TGT_AVX2 static void
add_avx2 (float *y, const float *x, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_add_ps (_mm256_loadu_ps (y + i),
            _mm256_loadu_ps (x + i)));
  for (; i < n; i++)
    y[i] += x[i];
}
#endif

void
sam_add (float *y, const float *x, int64_t n)
{
#ifdef SAM_X86
  switch (sam_cpu_isa ()) {
    case SAM_ISA_AVX512:
      add_avx512 (y, x, n);
      return;
    case SAM_ISA_AVX2:
      add_avx2 (y, x, n);
      return;
    default:
      break;
  }
#endif
  for (int64_t i = 0; i < n; i++)
    y[i] += x[i];
}

typedef struct {
  float *y;
  const float *x;
} AddCtx;

static void
add_range (void *ctx, int64_t b, int64_t e)
{
  const AddCtx *c = ctx;
  sam_add (c->y + b, c->x + b, e - b);
}

void
sam_add_pool (SamPool * pool, float *y, const float *x, int64_t n)
{
  AddCtx c = { y, x };
  /* element-wise, so any split gives the same bits; 64 KB pieces at least
   * (a task's cost must outweigh the pool's wake-up) */
  sam_pool_for (pool, n, 16384, add_range, &c);
}

typedef struct {
  float *y;
  const float *a, *b;
  float s;
} SumCtx;

static void
sum_range (void *ctx, int64_t i0, int64_t i1)
{
  const SumCtx *c = ctx;
  /* restrict: without it GCC keeps this loop scalar. s · b then the add
   * (no contraction in C11 mode): with s = 1 the product is exact, so
   * these are a + b's bits */
  float *restrict y = c->y;
  const float *restrict a = c->a, *restrict b = c->b;
  const float s = c->s;
  for (int64_t i = i0; i < i1; i++)
    y[i] = a[i] + s * b[i];
}

void
sam_sum_scaled_pool (SamPool * pool, float *y, const float *a, float s,
    const float *b, int64_t n)
{
  SumCtx c = { y, a, b, s };
  sam_pool_for (pool, n, 16384, sum_range, &c);
}

void
sam_sum_pool (SamPool * pool, float *y, const float *a, const float *b,
    int64_t n)
{
  sam_sum_scaled_pool (pool, y, a, 1.f, b, n);
}

static void
relu_range (void *ctx, int64_t b, int64_t e)
{
  sam_relu ((float *) ctx + b, e - b);
}

void
sam_relu_pool (SamPool * pool, float *x, int64_t n)
{
  sam_pool_for (pool, n, 16384, relu_range, x);
}

void
sam_scale (float *y, float s, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] *= s;
}

/* sam_attention: attention.c; sam_conv2d: conv.c */

typedef struct
{
  const SamKernelsF32 *kt;
  const float *x, *Bp[2], *bt;
  float *y;
  int W, Cin, Cout;
} ConvT2Ctx;

/* Input rows [i0, i1): for each output row parity a, one GEMM of the W
 * input pixels straight into output row 2·iy + a, where each pixel's
 * (bx, co) outputs are the 2·Cout contiguous floats at column 2·ix. */
static void
convt2_rows (void *vctx, int64_t i0, int64_t i1)
{
  const ConvT2Ctx *c = vctx;
  const int W = c->W, Cin = c->Cin, N = 2 * c->Cout;
  for (int64_t iy = i0; iy < i1; iy++)
    for (int a = 0; a < 2; a++)
      sam_k_gemm_f32 (c->kt, NULL, c->x + iy * W * Cin, Cin, c->Bp[a],
          c->y + (2 * iy + a) * W * N, N, W, N, Cin, false, c->bt);
}

void
sam_conv_transpose2x2 (SamPool * pool, const float *x, int H, int W, int Cin,
    const float *w, const float *b, int Cout, float *y)
{
  /* Per output row parity a, the weight as [(bx, co), Cin]: one GEMM row
   * per input pixel gives the 2 × Cout outputs it writes on that output
   * row, already in y's order, so no scatter copy (a memcpy per pixel and
   * tap, one thread, was half of the decoder's upscaling). Each output is
   * the same FMA chain over Cin then + bias whatever the GEMM's shape. */
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  const int N = 2 * Cout;
  float *wt = g_new (float, (size_t) N * Cin);
  float *bt = g_new (float, N);
  const int64_t psz = sam_k_pack_b_size (kt, Cin, N);
  float *Bp = g_aligned_alloc (2 * psz, sizeof (float), 64);
  for (int a = 0; a < 2; a++) {
    for (int bx = 0; bx < 2; bx++)
      for (int co = 0; co < Cout; co++) {
        const int row = bx * Cout + co;
        bt[row] = b ? b[co] : 0.f;
        for (int ci = 0; ci < Cin; ci++)
          wt[(size_t) row * Cin + ci] =
              w[(((size_t) ci * Cout + co) * 2 + a) * 2 + bx];
      }
    sam_k_pack_b_nk (kt, NULL, wt, Cin, Cin, N, Bp + a * psz);
  }
  ConvT2Ctx c = { kt, x, {Bp, Bp + psz}, bt, y, W, Cin, Cout };
  sam_k_hint_hugepages (y, (int64_t) sizeof (float) * 4 * H * W * Cout);
  sam_pool_for (pool, H, 1, convt2_rows, &c);
  g_aligned_free (Bp);
  g_free (wt);
  g_free (bt);
}

/* One output row oy of MaxPool2d(2, 2); pixels are ldp floats apart, the
 * output dense. m = b > m ? b : m is what vmaxps (b, m) computes, NaN and
 * signed zeros included, so both versions give the same bits. */
static void
maxpool_row (const float *x, int64_t ldp, int W, int C, int oy, float *y)
{
  const int Wo = W / 2;
  for (int ox = 0; ox < Wo; ox++) {
    const float *p00 = x + ((int64_t) (2 * oy) * W + 2 * ox) * ldp;
    const float *p01 = p00 + ldp;
    const float *p10 = p00 + (int64_t) W * ldp;
    const float *p11 = p10 + ldp;
    float *o = y + ((int64_t) oy * Wo + ox) * C;
    for (int c = 0; c < C; c++) {
      float m = p00[c];
      m = p01[c] > m ? p01[c] : m;
      m = p10[c] > m ? p10[c] : m;
      m = p11[c] > m ? p11[c] : m;
      o[c] = m;
    }
  }
}

#ifdef SAM_X86
TGT_AVX512 static void
maxpool_row_avx512 (const float *x, int64_t ldp, int W, int C, int oy,
    float *y)
{
  const int Wo = W / 2;
  for (int ox = 0; ox < Wo; ox++) {
    const float *p00 = x + ((int64_t) (2 * oy) * W + 2 * ox) * ldp;
    const float *p01 = p00 + ldp;
    const float *p10 = p00 + (int64_t) W * ldp;
    const float *p11 = p10 + ldp;
    float *o = y + ((int64_t) oy * Wo + ox) * C;
    for (int c = 0; c < C; c += 16) {
      __mmask16 k = C - c >= 16 ? 0xffff : (__mmask16) ((1u << (C - c)) - 1);
      __m512 m = _mm512_maskz_loadu_ps (k, p00 + c);
      m = _mm512_max_ps (_mm512_maskz_loadu_ps (k, p01 + c), m);
      m = _mm512_max_ps (_mm512_maskz_loadu_ps (k, p10 + c), m);
      m = _mm512_max_ps (_mm512_maskz_loadu_ps (k, p11 + c), m);
      _mm512_mask_storeu_ps (o + c, k, m);
    }
  }
}
#endif

typedef void (*MaxPoolRowFn) (const float *x, int64_t ldp, int W, int C,
    int oy, float *y);

static MaxPoolRowFn
maxpool_row_fn (void)
{
#ifdef SAM_X86
  if (sam_cpu_isa () == SAM_ISA_AVX512)
    return maxpool_row_avx512;
#endif
  return maxpool_row;
}

void
sam_maxpool2x2_px (const float *x, int64_t ldp, int H, int W, int C,
    float *y)
{
  MaxPoolRowFn fn = maxpool_row_fn ();
  for (int oy = 0; oy < H / 2; oy++)
    fn (x, ldp, W, C, oy, y);
}

typedef struct {
  const float *x;
  float *y;
  int W, C;
  MaxPoolRowFn fn;
} MaxPoolCtx;

static void
maxpool_rows (void *vc, int64_t oy0, int64_t oy1)
{
  const MaxPoolCtx *c = vc;
  for (int64_t oy = oy0; oy < oy1; oy++)
    c->fn (c->x, c->C, c->W, c->C, (int) oy, c->y);
}

void
sam_maxpool2x2 (SamPool * pool, const float *x, int H, int W, int C,
    float *y)
{
  MaxPoolCtx c = { x, y, W, C, maxpool_row_fn () };
  sam_pool_for (pool, H / 2, 4, maxpool_rows, &c);
}

/* ---- resizing (PyTorch F.interpolate semantics) ----------------------- */

static float
src_index (float scale, int dst, bool align_corners, bool cubic)
{
  if (align_corners)
    return scale * dst;
  float s = scale * (dst + 0.5f) - 0.5f;
  return (!cubic && s < 0.f) ? 0.f : s;
}

static float
area_scale (int in, int out, bool align_corners)
{
  if (align_corners)
    return out > 1 ? (float) (in - 1) / (float) (out - 1) : 0.f;
  return (float) in / (float) out;
}

typedef struct
{
  const float *x;
  float *y;
  int H, W, C, Ho, Wo;
  bool ac;
  /* bilinear: each output column's two source columns and weights */
  const int *x0, *x1;
  const float *lx0, *lx1;
} ResizeCtx;

static void
bilinear_rows (void *vctx, int64_t r0, int64_t r1)
{
  const ResizeCtx *c = vctx;
  float sh = area_scale (c->H, c->Ho, c->ac);
  for (int64_t oy = r0; oy < r1; oy++) {
    float fy = src_index (sh, (int) oy, c->ac, false);
    int y0 = (int) fy;
    int y1 = y0 + (y0 < c->H - 1);
    float ly1 = fy - y0, ly0 = 1.f - ly1;
    const float *row0 = c->x + (size_t) y0 * c->W * c->C;
    const float *row1 = c->x + (size_t) y1 * c->W * c->C;
    float *orow = c->y + (size_t) oy * c->Wo * c->C;
    if (c->C == 1) {
      /* masks: one channel, the same expression per pixel */
      for (int ox = 0; ox < c->Wo; ox++) {
        const int a = c->x0[ox], b = c->x1[ox];
        const float lx0 = c->lx0[ox], lx1 = c->lx1[ox];
        orow[ox] = ly0 * (lx0 * row0[a] + lx1 * row0[b]) +
            ly1 * (lx0 * row1[a] + lx1 * row1[b]);
      }
      continue;
    }
    for (int ox = 0; ox < c->Wo; ox++) {
      const float lx0 = c->lx0[ox], lx1 = c->lx1[ox];
      const float *p00 = row0 + (size_t) c->x0[ox] * c->C;
      const float *p01 = row0 + (size_t) c->x1[ox] * c->C;
      const float *p10 = row1 + (size_t) c->x0[ox] * c->C;
      const float *p11 = row1 + (size_t) c->x1[ox] * c->C;
      float *o = orow + (size_t) ox * c->C;
      for (int ch = 0; ch < c->C; ch++)
        o[ch] = ly0 * (lx0 * p00[ch] + lx1 * p01[ch]) +
            ly1 * (lx0 * p10[ch] + lx1 * p11[ch]);
    }
  }
}

/* One channel, upsampled in y: the inner terms of the expression above,
 * h(row, ox) = lx0 · row[a] + lx1 · row[b], depend on the source row
 * only, so each task makes them once for the source rows its output rows
 * read (instead of twice per output pixel), then every output pixel is
 * ly0 · h(row0) + ly1 · h(row1): the same operations on the same values,
 * hence the same bits. The low-res masks (256² at input 1024) become the
 * memory encoder's 1024² input and each object's frame-size logits. */
#ifdef SAM_X86

TGT_AVX512 static void
mask_v_row_avx512 (int Wo, float ly0, const float *h0, float ly1,
    const float *h1, float *o)
{
  const __m512 w0 = _mm512_set1_ps (ly0), w1 = _mm512_set1_ps (ly1);
  int ox = 0;
  for (; ox + 16 <= Wo; ox += 16)
    _mm512_storeu_ps (o + ox, _mm512_add_ps (_mm512_mul_ps (w0,
                _mm512_loadu_ps (h0 + ox)), _mm512_mul_ps (w1,
                _mm512_loadu_ps (h1 + ox))));
  for (; ox < Wo; ox++)
    o[ox] = ly0 * h0[ox] + ly1 * h1[ox];
}

static void
mask_up_rows_avx512 (void *vctx, int64_t r0, int64_t r1)
{
  const ResizeCtx *c = vctx;
  float sh = area_scale (c->H, c->Ho, c->ac);
  /* the source rows these output rows read: [first, last] */
  const int first = (int) src_index (sh, (int) r0, c->ac, false);
  const float fl = src_index (sh, (int) (r1 - 1), c->ac, false);
  const int last = MIN ((int) fl + 1, c->H - 1);
  float *h = g_new (float, (size_t) (last - first + 1) * c->Wo);
  for (int sy = first; sy <= last; sy++)
    sam_lerp_row_isa (SAM_ISA_AVX512, c->x + (size_t) sy * c->W, c->x0,
        c->x1, c->lx0, c->lx1, c->Wo, h + (size_t) (sy - first) * c->Wo);
  for (int64_t oy = r0; oy < r1; oy++) {
    float fy = src_index (sh, (int) oy, c->ac, false);
    int y0 = (int) fy;
    int y1 = y0 + (y0 < c->H - 1);
    float ly1 = fy - y0, ly0 = 1.f - ly1;
    mask_v_row_avx512 (c->Wo, ly0, h + (size_t) (y0 - first) * c->Wo, ly1,
        h + (size_t) (y1 - first) * c->Wo, c->y + (size_t) oy * c->Wo);
  }
  g_free (h);
}
#endif

/* ---- one row of linear interpolation ----------------------------------- */

static void
lerp_row_c (const float *a, const int *i0, const int *i1, const float *w0,
    const float *w1, int n, float *out)
{
  for (int x = 0; x < n; x++)
    out[x] = w0[x] * a[i0[x]] + w1[x] * a[i1[x]];
}

#ifdef SAM_X86
TGT_AVX512 static void
lerp_row_avx512 (const float *a, const int *i0, const int *i1,
    const float *w0, const float *w1, int n, float *out)
{
  int x = 0;
  for (; x + 16 <= n; x += 16) {
    const __m512 p = _mm512_i32gather_ps (_mm512_loadu_si512 (i0 + x), a, 4);
    const __m512 q = _mm512_i32gather_ps (_mm512_loadu_si512 (i1 + x), a, 4);
    _mm512_storeu_ps (out + x, _mm512_add_ps (_mm512_mul_ps (_mm512_loadu_ps
                (w0 + x), p), _mm512_mul_ps (_mm512_loadu_ps (w1 + x), q)));
  }
  lerp_row_c (a, i0 + x, i1 + x, w0 + x, w1 + x, n - x, out + x);
}
#endif

void
sam_lerp_row_isa (int isa, const float *a, const int *i0, const int *i1,
    const float *w0, const float *w1, int n, float *out)
{
#ifdef SAM_X86
  if (sam_isa_x86_at_least (MIN (isa, (int) sam_cpu_isa_detected ()), SAM_ISA_AVX512)) {
    lerp_row_avx512 (a, i0, i1, w0, w1, n, out);
    return;
  }
#endif
  (void) isa;
  lerp_row_c (a, i0, i1, w0, w1, n, out);
}

/* ---- bounding box of a mask ------------------------------------------ */

static void
positive_box_c (const float *x, int W, int H, int box[4])
{
  int x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (int y = 0; y < H; y++) {
    const float *row = x + (size_t) y * W;
    for (int i = 0; i < W; i++)
      if (row[i] > 0.f) {
        x0 = MIN (x0, i);
        x1 = MAX (x1, i);
        y0 = MIN (y0, y);
        y1 = MAX (y1, y);
      }
  }
  if (x1 < 0)
    x0 = y0 = x1 = y1 = -1;
  box[0] = x0;
  box[1] = y0;
  box[2] = x1;
  box[3] = y1;
}

#ifdef SAM_X86
/* Per row, the first positive pixel from the left and the last from the
 * right, 16 at a time (a row with none is read once): the scalar loop
 * above read and tested every pixel, 0.77 ms per object for a 1080p
 * frame. */
TGT_AVX512 static void
positive_box_avx512 (const float *x, int W, int H, int box[4])
{
  const __m512 zero = _mm512_setzero_ps ();
  int x0 = W, y0 = -1, x1 = -1, y1 = -1;
  for (int y = 0; y < H; y++) {
    const float *row = x + (size_t) y * W;
    int first = -1;
    for (int i = 0; i < W; i += 16) {
      const __mmask16 k = W - i >= 16 ? 0xffff :
          (__mmask16) ((1u << (W - i)) - 1);
      const unsigned m = _mm512_mask_cmp_ps_mask (k,
          _mm512_maskz_loadu_ps (k, row + i), zero, _CMP_GT_OQ);
      if (m) {
        first = i + __builtin_ctz (m);
        break;
      }
    }
    if (first < 0)
      continue;
    int last = first;
    for (int i = (W - 1) / 16 * 16; i >= first / 16 * 16; i -= 16) {
      const __mmask16 k = W - i >= 16 ? 0xffff :
          (__mmask16) ((1u << (W - i)) - 1);
      const unsigned m = _mm512_mask_cmp_ps_mask (k,
          _mm512_maskz_loadu_ps (k, row + i), zero, _CMP_GT_OQ);
      if (m) {
        last = i + 31 - __builtin_clz (m);
        break;
      }
    }
    x0 = MIN (x0, first);
    x1 = MAX (x1, last);
    if (y0 < 0)
      y0 = y;
    y1 = y;
  }
  if (x1 < 0)
    x0 = y0 = x1 = y1 = -1;
  box[0] = x0;
  box[1] = y0;
  box[2] = x1;
  box[3] = y1;
}
#endif

void
sam_positive_box_isa (int isa, const float *x, int W, int H, int box[4])
{
#ifdef SAM_X86
  if (sam_isa_x86_at_least (MIN (isa, (int) sam_cpu_isa_detected ()), SAM_ISA_AVX512)) {
    positive_box_avx512 (x, W, H, box);
    return;
  }
#endif
  (void) isa;
  positive_box_c (x, W, H, box);
}

void
sam_positive_box (const float *x, int W, int H, int box[4])
{
  sam_positive_box_isa (sam_cpu_isa (), x, W, H, box);
}

void
sam_resize_bilinear (SamPool * pool, const float *x, int H, int W, int C,
    float *y, int Ho, int Wo, bool align_corners)
{
  /* the column terms once per call, not once per output pixel (the same
   * values, so the same bits) */
  int *xi = g_new (int, 2 * (size_t) Wo);
  float *lx = g_new (float, 2 * (size_t) Wo);
  const float sw = area_scale (W, Wo, align_corners);
  for (int ox = 0; ox < Wo; ox++) {
    float fx = src_index (sw, ox, align_corners, false);
    int x0 = (int) fx;
    xi[ox] = x0;
    xi[Wo + ox] = x0 + (x0 < W - 1);
    lx[Wo + ox] = fx - x0;
    lx[ox] = 1.f - lx[Wo + ox];
  }
  ResizeCtx c = { x, y, H, W, C, Ho, Wo, align_corners, xi, xi + Wo, lx,
    lx + Wo
  };
#ifdef SAM_X86
  if (C == 1 && Ho >= H && sam_cpu_isa () == SAM_ISA_AVX512) {
    sam_pool_for (pool, Ho, 8, mask_up_rows_avx512, &c);
    g_free (xi);
    g_free (lx);
    return;
  }
#endif
  sam_pool_for (pool, Ho, 8, bilinear_rows, &c);
  g_free (xi);
  g_free (lx);
}

static void
cubic_coeffs (float t, float w[4])
{
  const float A = -0.75f;
  float x1 = t + 1.f, x2 = t, x3 = 1.f - t, x4 = 2.f - t;
  w[0] = ((A * x1 - 5 * A) * x1 + 8 * A) * x1 - 4 * A;
  w[1] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
  w[2] = ((A + 2) * x3 - (A + 3)) * x3 * x3 + 1;
  w[3] = ((A * x4 - 5 * A) * x4 + 8 * A) * x4 - 4 * A;
}

/* PyTorch's upsample_bicubic2d interpolates each of the 4 source rows
 * along x, then those 4 values along y. The x pass depends only on the
 * source row and the output column, so it is made once per source row
 * (sam_resize_bicubic_h) instead of once per output pixel: the same
 * operations in the same order, hence the same bits, at a quarter of the
 * work (4 + 1 products per output instead of 16 + 4). */
void
sam_resize_bicubic_h (const float *x, int H, int W, int C, int Wo,
    bool align_corners, float *t)
{
  float sw = area_scale (W, Wo, align_corners);
  for (int ox = 0; ox < Wo; ox++) {
    float fx = src_index (sw, ox, align_corners, true);
    int ix = (int) floorf (fx);
    float wx[4];
    cubic_coeffs (fx - ix, wx);
    int xx[4];
    for (int bb = 0; bb < 4; bb++)
      xx[bb] = CLAMP (ix - 1 + bb, 0, W - 1);
    for (int yy = 0; yy < H; yy++) {
      const float *row = x + (size_t) yy * W * C;
      const float *p0 = row + (size_t) xx[0] * C, *p1 = row + (size_t) xx[1]
          * C, *p2 = row + (size_t) xx[2] * C, *p3 = row + (size_t) xx[3] * C;
      float *o = t + ((size_t) yy * Wo + ox) * C;
#pragma GCC ivdep
      for (int ch = 0; ch < C; ch++) {
        float r = 0.f;
        r += p0[ch] * wx[0];
        r += p1[ch] * wx[1];
        r += p2[ch] * wx[2];
        r += p3[ch] * wx[3];
        o[ch] = r;
      }
    }
  }
}

void
sam_resize_bicubic_v (const float *t, int H, int Wo, int C, int Ho,
    bool align_corners, int oy, float *y)
{
  float sh = area_scale (H, Ho, align_corners);
  float fy = src_index (sh, oy, align_corners, true);
  int iy = (int) floorf (fy);
  float wy[4];
  cubic_coeffs (fy - iy, wy);
  const float *r[4];
  for (int a = 0; a < 4; a++)
    r[a] = t + (size_t) CLAMP (iy - 1 + a, 0, H - 1) * Wo * C;
  const int64_t n = (int64_t) Wo * C;
#pragma GCC ivdep
  for (int64_t i = 0; i < n; i++)
    y[i] = r[0][i] * wy[0] + r[1][i] * wy[1] + r[2][i] * wy[2] +
        r[3][i] * wy[3];
}

void
sam_upsample_nearest (const float *x, int H, int W, int C, float *y, int Ho,
    int Wo)
{
  float sh = (float) H / Ho, sw = (float) W / Wo;
  for (int oy = 0; oy < Ho; oy++) {
    int iy = MIN ((int) floorf (oy * sh), H - 1);
    for (int ox = 0; ox < Wo; ox++) {
      int ix = MIN ((int) floorf (ox * sw), W - 1);
      memcpy (y + ((size_t) oy * Wo + ox) * C, x + ((size_t) iy * W + ix) * C,
          sizeof (float) * C);
    }
  }
}

/* 32 × 32 blocks: both the rows read and the rows written stay in L1. */
void
sam_transpose (const float *in, int64_t rows, int64_t cols, float *out)
{
  for (int64_t r0 = 0; r0 < rows; r0 += 32)
    for (int64_t c0 = 0; c0 < cols; c0 += 32) {
      const int64_t r1 = MIN (rows, r0 + 32), c1 = MIN (cols, c0 + 32);
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++)
          out[c * rows + r] = in[r * cols + c];
    }
}
