/* gemm-f32.c — packed, register-blocked float32 GEMM.
 *
 * B is packed once per call into nr-column panels ([K][nr] each); A is read
 * in place (row-major, broadcast from each of mr rows: packing A cost more
 * than it saved at the small N of the SAM shapes), and a register-blocked
 * micro-kernel computes one mr × nr tile of C:
 *   avx512: 12 × 32 (24 zmm accumulators, 2 B vectors, 1 broadcast)
 *   avx2:    6 × 16 (12 ymm accumulators)
 *   C:       4 × 16 (no FMA; for CPUs without AVX2/FMA)
 * The SIMD kernels are compiled per ISA with target attributes in this file
 * and chosen at run time through the table in cpu.c.
 *
 * Loop order per task (rows [m0, m1) × columns [n0, n1) of C):
 *   for each kc chunk of K ─ for each B panel (its kc×nr slice stays in
 *   L1) ─ for each mr rows of the task (the mc×kc A block stays in L2):
 *   micro-kernel.
 * Tasks are independent tiles of C, and each element of C is one FMA chain
 * over k in order (chunks store and reload the exact partial sum), so the
 * result is the same for any task split, thread count, or SIMD width.
 */
#include "cpu.h"

#include <string.h>
#include <glib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif

#define KC_MAX 320              /* K chunk: a kc×32 B slice is ≤ 40 KiB (L1) */
#define MC_ROWS 192             /* rows per A block (~192×320×4 = 240 KiB, L2) */
#define NC_MAX 512              /* columns per task */

/* ---- portable micro-kernel (4 × 16, separate multiply and add) --------
 * As in the SIMD kernels, A element (i, k) is A[i * rs + k * cs]. */

static inline void
ukr_4x16_c (int64_t kc, const float *A, int64_t rs, int64_t cs,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  enum
  { MR = SAM_K_MR_C, NR = SAM_K_NR_C };
  float acc[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      acc[i][j] = (flags & SAM_UKR_LOAD_C) ? C[i * ldc + j] : 0.f;
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      float a = A[i * rs + k * cs];
      for (int j = 0; j < NR; j++)
        acc[i][j] += a * Bp[j];
    }
    Bp += NR;
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      C[i * ldc + j] = (flags & SAM_UKR_BIAS) ? acc[i][j] + bias[j] : acc[i][j];
}

void
sam_k_ukr_f32_c (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  ukr_4x16_c (kc, Ap, 1, SAM_K_MR_C, Bp, C, ldc, flags, bias);
}

void
sam_k_ukrs_f32_c (int64_t kc, const float *A, int64_t lda, const float *Bp,
    float *C, int64_t ldc, int flags, const float *bias)
{
  ukr_4x16_c (kc, A, lda, 1, Bp, C, ldc, flags, bias);
}

#ifdef SAM_X86

/* ---- AVX2 + FMA: 6 × 16 ---------------------------------------------- */

TGT_AVX2 static inline __attribute__((always_inline)) void
ukr_6x16_avx2 (int64_t kc, const float *A, int64_t rs, int64_t cs,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  __m256 c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b;
  if (flags & SAM_UKR_LOAD_C) {
#define LD(i) c##i##a = _mm256_loadu_ps (C + i * ldc); \
    c##i##b = _mm256_loadu_ps (C + i * ldc + 8);
    LD (0) LD (1) LD (2) LD (3) LD (4) LD (5)
#undef LD
  } else {
    c0a = c0b = c1a = c1b = c2a = c2b = _mm256_setzero_ps ();
    c3a = c3b = c4a = c4b = c5a = c5b = _mm256_setzero_ps ();
  }
  const float *a0 = A, *a3 = A + 3 * rs;
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps (Bp), b1 = _mm256_loadu_ps (Bp + 8), a;
#define ROW(i, p, o) a = _mm256_broadcast_ss (p + o * rs); \
    c##i##a = _mm256_fmadd_ps (a, b0, c##i##a); \
    c##i##b = _mm256_fmadd_ps (a, b1, c##i##b);
    ROW (0, a0, 0) ROW (1, a0, 1) ROW (2, a0, 2)
    ROW (3, a3, 0) ROW (4, a3, 1) ROW (5, a3, 2)
#undef ROW
    a0 += cs;
    a3 += cs;
    Bp += 16;
  }
  if (flags & SAM_UKR_BIAS) {
    __m256 ba = _mm256_loadu_ps (bias), bb = _mm256_loadu_ps (bias + 8);
#define BI(i) c##i##a = _mm256_add_ps (c##i##a, ba); \
    c##i##b = _mm256_add_ps (c##i##b, bb);
    BI (0) BI (1) BI (2) BI (3) BI (4) BI (5)
#undef BI
  }
#define ST(i) _mm256_storeu_ps (C + i * ldc, c##i##a); \
  _mm256_storeu_ps (C + i * ldc + 8, c##i##b);
  ST (0) ST (1) ST (2) ST (3) ST (4) ST (5)
#undef ST
}

TGT_AVX2 void
sam_k_ukr_f32_avx2 (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  ukr_6x16_avx2 (kc, Ap, 1, SAM_K_MR_AVX2, Bp, C, ldc, flags, bias);
}

TGT_AVX2 void
sam_k_ukrs_f32_avx2 (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  ukr_6x16_avx2 (kc, A, lda, 1, Bp, C, ldc, flags, bias);
}

/* ---- AVX-512 + FMA: 12 × 32 ------------------------------------------ */

/* A element (i, k) is A[i * rs + k * cs]: packed panels have rs = 1,
 * cs = 12; a row-major A (no packing) has rs = lda, cs = 1. */
TGT_AVX512 static inline __attribute__((always_inline)) void
ukr_12x32_avx512 (int64_t kc, const float *A, int64_t rs, int64_t cs,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  __m512 c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b;
  __m512 c6a, c6b, c7a, c7b, c8a, c8b, c9a, c9b, c10a, c10b, c11a, c11b;
  if (flags & SAM_UKR_LOAD_C) {
#define LD(i) c##i##a = _mm512_loadu_ps (C + i * ldc); \
    c##i##b = _mm512_loadu_ps (C + i * ldc + 16);
    LD (0) LD (1) LD (2) LD (3) LD (4) LD (5)
    LD (6) LD (7) LD (8) LD (9) LD (10) LD (11)
#undef LD
  } else {
    c0a = c0b = c1a = c1b = c2a = c2b = _mm512_setzero_ps ();
    c3a = c3b = c4a = c4b = c5a = c5b = _mm512_setzero_ps ();
    c6a = c6b = c7a = c7b = c8a = c8b = _mm512_setzero_ps ();
    c9a = c9b = c10a = c10b = c11a = c11b = _mm512_setzero_ps ();
  }
  const float *a0 = A, *a3 = A + 3 * rs, *a6 = A + 6 * rs, *a9 = A + 9 * rs;
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_loadu_ps (Bp), b1 = _mm512_loadu_ps (Bp + 16), a;
#define ROW(i, p, o) a = _mm512_set1_ps (p[o * rs]); \
    c##i##a = _mm512_fmadd_ps (a, b0, c##i##a); \
    c##i##b = _mm512_fmadd_ps (a, b1, c##i##b);
    ROW (0, a0, 0) ROW (1, a0, 1) ROW (2, a0, 2)
    ROW (3, a3, 0) ROW (4, a3, 1) ROW (5, a3, 2)
    ROW (6, a6, 0) ROW (7, a6, 1) ROW (8, a6, 2)
    ROW (9, a9, 0) ROW (10, a9, 1) ROW (11, a9, 2)
#undef ROW
    a0 += cs;
    a3 += cs;
    a6 += cs;
    a9 += cs;
    Bp += 32;
  }
  if (flags & SAM_UKR_BIAS) {
    __m512 ba = _mm512_loadu_ps (bias), bb = _mm512_loadu_ps (bias + 16);
#define BI(i) c##i##a = _mm512_add_ps (c##i##a, ba); \
    c##i##b = _mm512_add_ps (c##i##b, bb);
    BI (0) BI (1) BI (2) BI (3) BI (4) BI (5)
    BI (6) BI (7) BI (8) BI (9) BI (10) BI (11)
#undef BI
  }
#define ST(i) _mm512_storeu_ps (C + i * ldc, c##i##a); \
  _mm512_storeu_ps (C + i * ldc + 16, c##i##b);
  ST (0) ST (1) ST (2) ST (3) ST (4) ST (5)
  ST (6) ST (7) ST (8) ST (9) ST (10) ST (11)
#undef ST
}

TGT_AVX512 void
sam_k_ukr_f32_avx512 (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  ukr_12x32_avx512 (kc, Ap, 1, SAM_K_MR_AVX512, Bp, C, ldc, flags, bias);
}

TGT_AVX512 void
sam_k_ukrs_f32_avx512 (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  ukr_12x32_avx512 (kc, A, lda, 1, Bp, C, ldc, flags, bias);
}

#else /* !SAM_X86: never selected (the probe returns SAM_ISA_REF) */

void
sam_k_ukr_f32_avx2 (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  g_assert_not_reached ();
}

void
sam_k_ukr_f32_avx512 (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias)
{
  g_assert_not_reached ();
}

void
sam_k_ukrs_f32_avx2 (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  g_assert_not_reached ();
}

void
sam_k_ukrs_f32_avx512 (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias)
{
  g_assert_not_reached ();
}

#endif

/* ---- packing ----------------------------------------------------------- */

int64_t
sam_k_pack_b_size (const SamKernelsF32 * kt, int64_t K, int64_t N)
{
  int64_t np = (N + kt->nr - 1) / kt->nr;
  return np * kt->nr * MAX (K, 1);
}

typedef struct
{
  const float *src;
  int64_t ld, K, N;
  int nr;
  float *Bp;
} PackBCtx;

/* W[N, K] → panels: Bp[p][k][j] = W[p*nr + j][k] (transposing copy,
 * blocked over k so the panel lines being filled stay in L1). */
static void
pack_b_nk_panels (void *vctx, int64_t p0, int64_t p1)
{
  const PackBCtx *c = vctx;
  const int nr = c->nr;
  const int64_t K = c->K;
  for (int64_t p = p0; p < p1; p++) {
    float *dst = c->Bp + p * K * nr;
    for (int64_t k0 = 0; k0 < K; k0 += 64) {
      int64_t k1 = MIN (K, k0 + 64);
      for (int j = 0; j < nr; j++) {
        int64_t n = p * nr + j;
        if (n < c->N) {
          const float *s = c->src + n * c->ld;
          for (int64_t k = k0; k < k1; k++)
            dst[k * nr + j] = s[k];
        } else {
          for (int64_t k = k0; k < k1; k++)
            dst[k * nr + j] = 0.f;
        }
      }
    }
  }
}

#ifdef SAM_X86
/* The same with 8 × 8 register transposes (AVX2, also used on AVX-512
 * machines): 8 rows of W × 8 consecutive k per step; ragged edges scalar. */
TGT_AVX2 static void
pack_b_nk_panels_avx2 (void *vctx, int64_t p0, int64_t p1)
{
  const PackBCtx *c = vctx;
  const int nr = c->nr;
  const int64_t K = c->K, K8 = K & ~(int64_t) 7;
  for (int64_t p = p0; p < p1; p++) {
    float *dst = c->Bp + p * K * nr;
    for (int j0 = 0; j0 < nr; j0 += 8) {
      const int64_t n0 = p * nr + j0;
      if (n0 + 8 > c->N) {      /* partial group of rows: scalar */
        for (int j = j0; j < j0 + 8; j++) {
          const int64_t n = p * nr + j;
          for (int64_t k = 0; k < K; k++)
            dst[k * nr + j] = n < c->N ? c->src[n * c->ld + k] : 0.f;
        }
        continue;
      }
      const float *s = c->src + n0 * c->ld;
      const int64_t ld = c->ld;
      for (int64_t k = 0; k < K8; k += 8) {
        __m256 r0 = _mm256_loadu_ps (s + 0 * ld + k);
        __m256 r1 = _mm256_loadu_ps (s + 1 * ld + k);
        __m256 r2 = _mm256_loadu_ps (s + 2 * ld + k);
        __m256 r3 = _mm256_loadu_ps (s + 3 * ld + k);
        __m256 r4 = _mm256_loadu_ps (s + 4 * ld + k);
        __m256 r5 = _mm256_loadu_ps (s + 5 * ld + k);
        __m256 r6 = _mm256_loadu_ps (s + 6 * ld + k);
        __m256 r7 = _mm256_loadu_ps (s + 7 * ld + k);
        __m256 t0 = _mm256_unpacklo_ps (r0, r1), t1 = _mm256_unpackhi_ps (r0, r1);
        __m256 t2 = _mm256_unpacklo_ps (r2, r3), t3 = _mm256_unpackhi_ps (r2, r3);
        __m256 t4 = _mm256_unpacklo_ps (r4, r5), t5 = _mm256_unpackhi_ps (r4, r5);
        __m256 t6 = _mm256_unpacklo_ps (r6, r7), t7 = _mm256_unpackhi_ps (r6, r7);
        __m256 u0 = _mm256_shuffle_ps (t0, t2, 0x44);
        __m256 u1 = _mm256_shuffle_ps (t0, t2, 0xee);
        __m256 u2 = _mm256_shuffle_ps (t1, t3, 0x44);
        __m256 u3 = _mm256_shuffle_ps (t1, t3, 0xee);
        __m256 u4 = _mm256_shuffle_ps (t4, t6, 0x44);
        __m256 u5 = _mm256_shuffle_ps (t4, t6, 0xee);
        __m256 u6 = _mm256_shuffle_ps (t5, t7, 0x44);
        __m256 u7 = _mm256_shuffle_ps (t5, t7, 0xee);
        float *d = dst + k * nr + j0;
        _mm256_storeu_ps (d + 0 * nr, _mm256_permute2f128_ps (u0, u4, 0x20));
        _mm256_storeu_ps (d + 1 * nr, _mm256_permute2f128_ps (u1, u5, 0x20));
        _mm256_storeu_ps (d + 2 * nr, _mm256_permute2f128_ps (u2, u6, 0x20));
        _mm256_storeu_ps (d + 3 * nr, _mm256_permute2f128_ps (u3, u7, 0x20));
        _mm256_storeu_ps (d + 4 * nr, _mm256_permute2f128_ps (u0, u4, 0x31));
        _mm256_storeu_ps (d + 5 * nr, _mm256_permute2f128_ps (u1, u5, 0x31));
        _mm256_storeu_ps (d + 6 * nr, _mm256_permute2f128_ps (u2, u6, 0x31));
        _mm256_storeu_ps (d + 7 * nr, _mm256_permute2f128_ps (u3, u7, 0x31));
      }
      for (int64_t k = K8; k < K; k++)
        for (int j = 0; j < 8; j++)
          dst[k * nr + j0 + j] = s[j * ld + k];
    }
  }
}
#endif

/* B[K, N] → panels: Bp[p][k][j] = B[k][p*nr + j]. */
static void
pack_b_kn_panels (void *vctx, int64_t p0, int64_t p1)
{
  const PackBCtx *c = vctx;
  const int nr = c->nr;
  for (int64_t p = p0; p < p1; p++) {
    float *dst = c->Bp + p * c->K * nr;
    int64_t n0 = p * nr;
    int w = (int) MIN (nr, c->N - n0);
    for (int64_t k = 0; k < c->K; k++) {
      memcpy (dst + k * nr, c->src + k * c->ld + n0, sizeof (float) * w);
      for (int j = w; j < nr; j++)
        dst[k * nr + j] = 0.f;
    }
  }
}

static void
pack_b (const SamKernelsF32 * kt, SamPool * pool, const float *src,
    int64_t ld, int64_t K, int64_t N, float *Bp, SamPoolFunc fn)
{
  PackBCtx c = { src, ld, K, N, kt->nr, Bp };
  int64_t np = (N + kt->nr - 1) / kt->nr;
  /* threads only pay off for big weights */
  int64_t grain = MAX (1, (1 << 16) / MAX (1, K * kt->nr));
  sam_pool_for (pool, np, grain, fn, &c);
}

void
sam_k_pack_b_nk (const SamKernelsF32 * kt, SamPool * pool, const float *W,
    int64_t ldw, int64_t K, int64_t N, float *Bp)
{
  SamPoolFunc fn = pack_b_nk_panels;
#ifdef SAM_X86
  if (sam_isa_x86_at_least (kt->isa, SAM_ISA_AVX2) && kt->nr % 8 == 0)
    fn = pack_b_nk_panels_avx2;
#endif
  pack_b (kt, pool, W, ldw, K, N, Bp, fn);
}

void
sam_k_pack_b_kn (const SamKernelsF32 * kt, SamPool * pool, const float *B,
    int64_t ldb, int64_t K, int64_t N, float *Bp)
{
  pack_b (kt, pool, B, ldb, K, N, Bp, pack_b_kn_panels);
}

void
sam_k_pack_a (const SamKernelsF32 * kt, const float *A, int64_t lda,
    int64_t m, int64_t kc, float *Ap)
{
  const int mr = kt->mr;
  for (int64_t r0 = 0; r0 < m; r0 += mr) {
    int rows = (int) MIN (mr, m - r0);
    for (int i = 0; i < rows; i++) {
      const float *s = A + (r0 + i) * lda;
      for (int64_t k = 0; k < kc; k++)
        Ap[k * mr + i] = s[k];
    }
    for (int i = rows; i < mr; i++)
      for (int64_t k = 0; k < kc; k++)
        Ap[k * mr + i] = 0.f;
    Ap += kc * mr;
  }
}

/* ---- driver -------------------------------------------------------------- */

typedef struct
{
  const SamKernelsF32 *kt;
  const float *A, *Bp, *bias;
  float *C;
  int64_t lda, ldc, M, N, K;
  int64_t mc, nc, nbn, kc, nkb;
  bool acc;
} GemmCtx;

/* One tile of C that sticks out of [M, N]: missing rows of A are zero rows
 * of a scratch copy, missing rows/columns of C go to a scratch tile. */
static void
edge_tile (const GemmCtx * c, int64_t kc, const float *A, float *Ascr,
    const float *Bp, float *C, int mr, int nr, int flags, const float *bias)
{
  const int MR = c->kt->mr, NR = c->kt->nr;
  float tile[SAM_K_MR_AVX512 * SAM_K_NR_AVX512] __attribute__((aligned (64)));
  float bb[SAM_K_NR_AVX512] __attribute__((aligned (64)));
  int64_t lda = c->lda;
  if (mr < MR) {
    for (int i = 0; i < mr; i++)
      memcpy (Ascr + i * kc, A + i * lda, sizeof (float) * kc);
    memset (Ascr + mr * kc, 0, sizeof (float) * (MR - mr) * kc);
    A = Ascr;
    lda = kc;
  }
  if (flags & SAM_UKR_LOAD_C) {
    memset (tile, 0, sizeof (float) * MR * NR);
    for (int i = 0; i < mr; i++)
      memcpy (tile + i * NR, C + i * c->ldc, sizeof (float) * nr);
  }
  if (flags & SAM_UKR_BIAS) {
    memset (bb, 0, sizeof bb);
    memcpy (bb, bias, sizeof (float) * nr);
  }
  c->kt->ukrs (kc, A, lda, Bp, tile, NR, flags,
      (flags & SAM_UKR_BIAS) ? bb : NULL);
  for (int i = 0; i < mr; i++)
    memcpy (C + i * c->ldc, tile + i * NR, sizeof (float) * nr);
}

static void
gemm_tasks (void *vctx, int64_t t0, int64_t t1)
{
  const GemmCtx *c = vctx;
  const int MR = c->kt->mr, NR = c->kt->nr;
  const SamUkrsF32 ukrs = c->kt->ukrs;
  float *Ascr = sam_k_scratch_get (SAM_SCRATCH_TASK_0, MR * MAX (c->kc, 1));
  for (int64_t t = t0; t < t1; t++) {
    const int64_t m0 = (t / c->nbn) * c->mc, m1 = MIN (c->M, m0 + c->mc);
    const int64_t n0 = (t % c->nbn) * c->nc, n1 = MIN (c->N, n0 + c->nc);
    for (int64_t kb = 0; kb < c->nkb; kb++) {
      const int64_t k0 = kb * c->kc, kc = MIN (c->kc, c->K - k0);
      int flags = (kb > 0 || c->acc) ? SAM_UKR_LOAD_C : 0;
      if (kb == c->nkb - 1 && c->bias)
        flags |= SAM_UKR_BIAS;
      for (int64_t n = n0; n < n1; n += NR) {
        const int nr = (int) MIN (NR, n1 - n);
        const float *Bpan = c->Bp + (n / NR) * c->K * NR + k0 * NR;
        const float *bias = c->bias ? c->bias + n : NULL;
        for (int64_t m = m0; m < m1; m += MR) {
          const int mr = (int) MIN (MR, m1 - m);
          const float *Am = c->A + m * c->lda + k0;
          float *Ct = c->C + m * c->ldc + n;
          if (mr == MR && nr == NR)
            ukrs (kc, Am, c->lda, Bpan, Ct, c->ldc, flags, bias);
          else
            edge_tile (c, kc, Am, Ascr, Bpan, Ct, mr, nr, flags, bias);
        }
      }
    }
  }
  sam_k_scratch_put (SAM_SCRATCH_TASK_0, Ascr);
}

void
sam_k_gemm_f32 (const SamKernelsF32 * kt, SamPool * pool, const float *A,
    int64_t lda, const float *Bp, float *C, int64_t ldc, int64_t M, int64_t N,
    int64_t K, bool accumulate, const float *bias)
{
  if (M <= 0 || N <= 0)
    return;
  const int MR = kt->mr, NR = kt->nr;
  const int nth = sam_pool_n_threads (pool);
  GemmCtx c = { kt, A, Bp, bias, C, lda, ldc, M, N, K };
  c.acc = accumulate;
  /* K chunks of equal size ≤ KC_MAX (at least one, even for K == 0) */
  c.nkb = MAX (1, (K + KC_MAX - 1) / KC_MAX);
  c.kc = (K + c.nkb - 1) / c.nkb;
  c.mc = MIN ((int64_t) MC_ROWS / MR * MR, (M + MR - 1) / MR * MR);
  int64_t nbm = (M + c.mc - 1) / c.mc;
  int64_t np = (N + NR - 1) / NR;
  int64_t ncb = (np * NR + NC_MAX - 1) / NC_MAX;
  /* enough tasks to balance the threads: split columns, then rows */
  if (nth > 1 && nbm * ncb < 4 * nth) {
    ncb = MIN (np, MAX (ncb, (4 * nth + nbm - 1) / nbm));
    if (nbm * ncb < 2 * nth && c.mc > MR) {
      c.mc = MAX (MR, (M / (2 * nth)) / MR * MR);
      nbm = (M + c.mc - 1) / c.mc;
    }
  }
  int64_t pp = (np + ncb - 1) / ncb;    /* panels per column block */
  c.nc = pp * NR;
  c.nbn = (np + pp - 1) / pp;
  sam_k_hint_hugepages (C, (int64_t) sizeof (float) * ((M - 1) * ldc + N));
  sam_pool_for (pool, nbm * c.nbn, 1, gemm_tasks, &c);
}
