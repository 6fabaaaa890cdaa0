/* attention.c — scaled-dot-product attention, flash-style, and the
 * vectorized exp / softmax helpers it uses.
 *
 * Per (head, block of bq queries): S = Q·Kᵀ for a tile of BK keys with the
 * GEMM micro-kernel (K is packed once per call as B panels), online softmax
 * on S rows, then O = O·corr + P·V with the micro-kernel again (V packed
 * once as B panels, P packed as A panels). The Nq × Nk score matrix is never
 * formed. Every query row is computed the same way whatever block or thread
 * it lands in, so results do not depend on the thread count; the avx2 and
 * avx512 paths give identical bits (same FMA chains, same exp polynomial,
 * same 8-lane reduction order).
 */
#include "ops.h"
#include "cpu.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif

#define ATT_BK 256              /* keys per tile */
#define ATT_BQ_PANELS 8         /* queries per block = 8 × mr */

/* ---- scalar oracles --------------------------------------------------- */

void
sam_k_exp_f32_ref (const float *x, float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = expf (x[i]);
}

float
sam_k_max_f32_ref (const float *x, int64_t n)
{
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    m = x[i] > m ? x[i] : m;
  return m;
}

float
sam_k_expsubsum_f32_ref (float *s, int64_t n, float m, float scale)
{
  float sum = 0.f;
  for (int64_t i = 0; i < n; i++) {
    s[i] = expf ((s[i] - m) * scale);
    sum += s[i];
  }
  return sum;
}

/* Straight per-query softmax(q·kᵀ/√D)·v: the oracle for the tiled kernel. */
void
sam_k_attention_f32_ref (const float *q, int64_t ldq, const float *k,
    int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv)
{
  const float scale = 1.0f / sqrtf ((float) D);
  double *p = g_new (double, Nk);
  double *o = g_new (double, Dv);
  for (int h = 0; h < H; h++)
    for (int64_t i = 0; i < Nq; i++) {
      const float *qr = q + i * ldq + (int64_t) h * D;
      double m = -INFINITY, sum = 0;
      for (int64_t j = 0; j < Nk; j++) {
        const float *kr = k + j * ldk + (int64_t) h * D;
        double s = 0;
        for (int d = 0; d < D; d++)
          s += (double) qr[d] * kr[d];
        p[j] = s * scale;
        m = p[j] > m ? p[j] : m;
      }
      for (int d = 0; d < Dv; d++)
        o[d] = 0;
      for (int64_t j = 0; j < Nk; j++) {
        double e = exp (p[j] - m);
        const float *vr = v + j * ldv + (int64_t) h * Dv;
        sum += e;
        for (int d = 0; d < Dv; d++)
          o[d] += e * vr[d];
      }
      for (int d = 0; d < Dv; d++)
        out[i * ldo + (int64_t) h * Dv + d] = (float) (o[d] / sum);
    }
  g_free (p);
  g_free (o);
}

#ifdef SAM_X86

#include "exp-simd.h"

TGT_AVX2 void
sam_k_exp_f32_avx2 (const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, exp8 (_mm256_loadu_ps (x + i)));
  if (i < n) {
    float t[8] = { 0 };
    memcpy (t, x + i, sizeof (float) * (n - i));
    _mm256_storeu_ps (t, exp8 (_mm256_loadu_ps (t)));
    memcpy (y + i, t, sizeof (float) * (n - i));
  }
}

TGT_AVX512 void
sam_k_exp_f32_avx512 (const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, exp16 (_mm512_loadu_ps (x + i)));
  if (i < n) {
    __mmask16 k = (__mmask16) ((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps (y + i, k, exp16 (_mm512_maskz_loadu_ps (k, x + i)));
  }
}

TGT_AVX2 float
sam_k_max_f32_avx2 (const float *x, int64_t n)
{
  __m256 m = _mm256_set1_ps (-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    m = _mm256_max_ps (m, _mm256_loadu_ps (x + i));
  float t[8], r = -INFINITY;
  _mm256_storeu_ps (t, m);
  for (int j = 0; j < 8; j++)
    r = t[j] > r ? t[j] : r;
  for (; i < n; i++)
    r = x[i] > r ? x[i] : r;
  return r;
}

TGT_AVX512 float
sam_k_max_f32_avx512 (const float *x, int64_t n)
{
  __m512 m = _mm512_set1_ps (-INFINITY);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    m = _mm512_max_ps (m, _mm512_loadu_ps (x + i));
  if (i < n) {
    __mmask16 k = (__mmask16) ((1u << (n - i)) - 1);
    m = _mm512_mask_max_ps (m, k, m, _mm512_maskz_loadu_ps (k, x + i));
  }
  return _mm512_reduce_max_ps (m);
}

/* Fixed 8-lane reduction shared by both ISAs. */
TGT_AVX2 static inline float
hsum8 (__m256 v)
{
  float t[8];
  _mm256_storeu_ps (t, v);
  return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
}

/* Lane layout: element j goes to 8-lane accumulator (j / 8) % 2, lane j % 8;
 * the two accumulators are added, then hsum8 — the avx512 version keeps the
 * same accumulators as the low and high halves of one zmm. */
TGT_AVX2 float
sam_k_expsubsum_f32_avx2 (float *s, int64_t n, float m, float scale)
{
  const __m256 vm = _mm256_set1_ps (m), vs = _mm256_set1_ps (scale);
  __m256 acc[2] = { _mm256_setzero_ps (), _mm256_setzero_ps () };
  int64_t i = 0;
  int a = 0;
  for (; i + 8 <= n; i += 8, a ^= 1) {
    __m256 e = exp8_le0 (_mm256_mul_ps (_mm256_sub_ps (_mm256_loadu_ps (s +
                    i), vm), vs));
    _mm256_storeu_ps (s + i, e);
    acc[a] = _mm256_add_ps (acc[a], e);
  }
  if (i < n) {
    float t[8];
    for (int j = 0; j < 8; j++)
      t[j] = i + j < n ? s[i + j] : -INFINITY;
    __m256 e = exp8_le0 (_mm256_mul_ps (_mm256_sub_ps (_mm256_loadu_ps (t),
                vm), vs));
    _mm256_storeu_ps (t, e);
    memcpy (s + i, t, sizeof (float) * (n - i));
    acc[a] = _mm256_add_ps (acc[a], e);
  }
  return hsum8 (_mm256_add_ps (acc[0], acc[1]));
}

TGT_AVX512 float
sam_k_expsubsum_f32_avx512 (float *s, int64_t n, float m, float scale)
{
  const __m512 vm = _mm512_set1_ps (m), vs = _mm512_set1_ps (scale);
  __m512 acc = _mm512_setzero_ps ();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 e = exp16_le0 (_mm512_mul_ps (_mm512_sub_ps (_mm512_loadu_ps (s +
                    i), vm), vs));
    _mm512_storeu_ps (s + i, e);
    acc = _mm512_add_ps (acc, e);
  }
  if (i < n) {
    __mmask16 k = (__mmask16) ((1u << (n - i)) - 1);
    __m512 x = _mm512_mask_loadu_ps (_mm512_set1_ps (-INFINITY), k, s + i);
    __m512 e = exp16_le0 (_mm512_mul_ps (_mm512_sub_ps (x, vm), vs));
    _mm512_mask_storeu_ps (s + i, k, e);
    acc = _mm512_add_ps (acc, e);
  }
  return hsum8 (_mm256_add_ps (_mm512_castps512_ps256 (acc),
          _mm512_extractf32x8_ps (acc, 1)));
}

#else /* !SAM_X86: never selected */

void
sam_k_exp_f32_avx2 (const float *x, float *y, int64_t n)
{
  sam_k_exp_f32_ref (x, y, n);
}

void
sam_k_exp_f32_avx512 (const float *x, float *y, int64_t n)
{
  sam_k_exp_f32_ref (x, y, n);
}

float
sam_k_max_f32_avx2 (const float *x, int64_t n)
{
  return sam_k_max_f32_ref (x, n);
}

float
sam_k_max_f32_avx512 (const float *x, int64_t n)
{
  return sam_k_max_f32_ref (x, n);
}

float
sam_k_expsubsum_f32_avx2 (float *s, int64_t n, float m, float scale)
{
  return sam_k_expsubsum_f32_ref (s, n, m, scale);
}

float
sam_k_expsubsum_f32_avx512 (float *s, int64_t n, float m, float scale)
{
  return sam_k_expsubsum_f32_ref (s, n, m, scale);
}

#endif

/* ---- tiled attention ------------------------------------------------------ */

typedef struct
{
  const SamKernelsF32 *kt;
  const float *q;
  int64_t ldq;
  const float *Kp, *Vp;         /* per head: Kp + h * kpsz, Vp + h * vpsz */
  int64_t kpsz, vpsz;
  float *out;
  int64_t ldo, Nq, Nk;
  int H, D, Dv;
  int64_t bq, nqb;
  float scale;
} FlashCtx;

static void
flash_tasks (void *vctx, int64_t t0, int64_t t1)
{
  const FlashCtx *c = vctx;
  const SamKernelsF32 *kt = c->kt;
  const int MR = kt->mr, NR = kt->nr, D = c->D, Dv = c->Dv;
  const int64_t bq = c->bq, ldS = ATT_BK + 16;
  const int64_t Dvp = (Dv + NR - 1) / NR * NR;
  float *Qb = sam_k_scratch_get (SAM_SCRATCH_TASK_1, MR * MAX (D, 1));
  float *S = sam_k_scratch_get (SAM_SCRATCH_TASK_2, bq * ldS);
  float *O = sam_k_scratch_get (SAM_SCRATCH_TASK_3, bq * Dvp);
  float *m = g_new (float, bq), *l = g_new (float, bq);

  for (int64_t t = t0; t < t1; t++) {
    const int h = (int) (t / c->nqb);
    const int64_t q0 = (t % c->nqb) * bq;
    const int nq = (int) MIN (bq, c->Nq - q0);
    const int nqp = (nq + MR - 1) / MR;  /* query panels */
    const float *Kh = c->Kp + h * c->kpsz, *Vh = c->Vp + h * c->vpsz;

    /* Q rows in place; a partial last panel is copied with zero rows */
    const float *Q = c->q + q0 * c->ldq + (int64_t) h * D;
    const int64_t ldq = c->ldq;
    const int nfull = nq / MR;
    if (nq % MR) {
      for (int r = nfull * MR; r < nq; r++)
        memcpy (Qb + (int64_t) (r - nfull * MR) * D, Q + r * ldq,
            sizeof (float) * D);
      memset (Qb + (int64_t) (nq - nfull * MR) * D, 0,
          sizeof (float) * (nqp * MR - nq) * D);
    }
    for (int r = 0; r < nq; r++) {
      m[r] = -INFINITY;
      l[r] = 0.f;
    }
    for (int64_t k0 = 0; k0 < c->Nk; k0 += ATT_BK) {
      const int nk = (int) MIN (ATT_BK, c->Nk - k0);
      /* S = Q · Kᵀ (unscaled); padded keys give 0 and are never read */
      for (int jp = 0; jp * NR < nk; jp++) {
        const float *Bpan = Kh + (k0 / NR + jp) * D * NR;
        for (int ip = 0; ip < nqp; ip++)
          kt->ukrs (D, ip < nfull ? Q + ip * MR * ldq : Qb,
              ip < nfull ? ldq : D, Bpan, S + ip * MR * ldS + jp * NR, ldS,
              0, NULL);
      }
      /* online softmax, row by row; S becomes P */
      for (int r = 0; r < nq; r++) {
        float *sr = S + r * ldS;
        float mt = kt->max (sr, nk);
        mt = mt > m[r] ? mt : m[r];
        float corr = 0.f;
        if (k0 > 0 && m[r] != mt) {
          float d = (m[r] - mt) * c->scale;
          kt->exp (&d, &corr, 1);
          float *orow = O + r * Dvp;
          for (int64_t d = 0; d < Dv; d++)
            orow[d] *= corr;
        } else
          corr = 1.f;
        float sum = kt->exp_sub_sum (sr, nk, mt, c->scale);
        l[r] = k0 > 0 ? l[r] * corr + sum : sum;
        m[r] = mt;
      }
      /* O (=|+=) P · V; rows past nq hold finite junk, never stored */
      const int flags = k0 > 0 ? SAM_UKR_LOAD_C : 0;
      for (int jp = 0; jp * NR < Dv; jp++) {
        const float *Bpan = Vh + (int64_t) jp * c->Nk * NR + k0 * NR;
        for (int ip = 0; ip < nqp; ip++)
          kt->ukrs (nk, S + ip * MR * ldS, ldS, Bpan,
              O + ip * MR * Dvp + jp * NR, Dvp, flags, NULL);
      }
    }
    for (int r = 0; r < nq; r++) {
      const float *orow = O + r * Dvp;
      float *dst = c->out + (q0 + r) * c->ldo + (int64_t) h * Dv;
      float inv = 1.0f / l[r];
      for (int d = 0; d < Dv; d++)
        dst[d] = orow[d] * inv;
    }
  }
  sam_k_scratch_put (SAM_SCRATCH_TASK_1, Qb);
  sam_k_scratch_put (SAM_SCRATCH_TASK_2, S);
  sam_k_scratch_put (SAM_SCRATCH_TASK_3, O);
  g_free (m);
  g_free (l);
}

/* Packs every head's K (nk: B panels of Kᵀ) or V in one pool job, a head
 * per task: the decoder's attentions have 8 heads of 16 dims, and a pool
 * job per head was 16 hand-offs per call for a few µs of copying each.
 * Packing is a copy, so the panels are the same. */
typedef struct
{
  const SamKernelsF32 *kt;
  const float *src;
  int64_t ld, n, psz;
  int d;
  bool nk;
  float *dst;
} PackHeadsCtx;

static void
pack_heads (void *vc, int64_t h0, int64_t h1)
{
  const PackHeadsCtx *c = vc;
  for (int64_t h = h0; h < h1; h++) {
    if (c->nk)
      sam_k_pack_b_nk (c->kt, NULL, c->src + h * c->d, c->ld, c->d, c->n,
          c->dst + h * c->psz);
    else
      sam_k_pack_b_kn (c->kt, NULL, c->src + h * c->d, c->ld, c->n, c->d,
          c->dst + h * c->psz);
  }
}

static void
pack_all_heads (const SamKernelsF32 * kt, SamPool * pool, const float *src,
    int64_t ld, int d, int64_t n, int H, bool nk, float *dst, int64_t psz)
{
  if (H == 1) {
    /* one head (the memory attention's, up to 28,736 keys): the pack
     * itself goes over the pool */
    if (nk)
      sam_k_pack_b_nk (kt, pool, src, ld, d, n, dst);
    else
      sam_k_pack_b_kn (kt, pool, src, ld, n, d, dst);
    return;
  }
  PackHeadsCtx c = { kt, src, ld, n, psz, d, nk, dst };
  sam_pool_for_each (pool, H, pack_heads, &c);
}

void
sam_k_attention_f32_packed_k (const SamKernelsF32 * kt, SamPool * pool,
    const float *q, int64_t ldq, const float *Kp, const float *v, int64_t ldv,
    float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv)
{
  if (Nq <= 0 || H <= 0)
    return;
  const int MR = kt->mr;
  FlashCtx c = { kt, q, ldq };
  c.kpsz = sam_k_pack_b_size (kt, D, Nk);
  c.vpsz = sam_k_pack_b_size (kt, Nk, Dv);
  float *Vp = sam_k_scratch_get (SAM_SCRATCH_PACK_V, c.vpsz * H);
  pack_all_heads (kt, pool, v, ldv, Dv, Nk, H, false, Vp, c.vpsz);
  c.Kp = Kp;
  c.Vp = Vp;
  c.out = out;
  c.ldo = ldo;
  c.Nq = Nq;
  c.Nk = Nk;
  c.H = H;
  c.D = D;
  c.Dv = Dv;
  c.scale = 1.0f / sqrtf ((float) D);
  c.bq = MIN ((int64_t) ATT_BQ_PANELS * MR, (Nq + MR - 1) / MR * MR);
  /* enough blocks for the threads when there are few queries */
  int nth = sam_pool_n_threads (pool);
  while (c.bq > MR && H * ((Nq + c.bq - 1) / c.bq) < 4 * nth)
    c.bq -= MR;
  c.nqb = (Nq + c.bq - 1) / c.bq;
  sam_k_hint_hugepages (out, (int64_t) sizeof (float) * ((Nq - 1) * ldo +
          (int64_t) H * Dv));
  /* blocks of ≈ 100 queries against every key: coarse and uneven enough
   * to hand out one at a time */
  sam_pool_for_each (pool, c.nqb * H, flash_tasks, &c);
  sam_k_scratch_put (SAM_SCRATCH_PACK_V, Vp);
}

void
sam_k_attention_f32 (const SamKernelsF32 * kt, SamPool * pool,
    const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v,
    int64_t ldv, float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D,
    int Dv)
{
  if (Nq <= 0 || H <= 0)
    return;
  const int64_t kpsz = sam_k_pack_b_size (kt, D, Nk);
  float *Kp = sam_k_scratch_get (SAM_SCRATCH_PACK_B, kpsz * H);
  pack_all_heads (kt, pool, k, ldk, D, Nk, H, true, Kp, kpsz);
  sam_k_attention_f32_packed_k (kt, pool, q, ldq, Kp, v, ldv, out, ldo, Nq,
      Nk, H, D, Dv);
  sam_k_scratch_put (SAM_SCRATCH_PACK_B, Kp);
}

int64_t
sam_attention_packed_k_floats (int64_t Nk, int D)
{
  return sam_k_pack_b_size (sam_kernels_f32 (), D, Nk);
}

int
sam_attention_packed_k_align (void)
{
  return sam_kernels_f32 ()->nr;
}

void
sam_attention_pack_k (SamPool * pool, const float *k, int64_t ldk, int D,
    int64_t n, float *Kp_at)
{
  sam_k_pack_b_nk (sam_kernels_f32 (), pool, k, ldk, D, n, Kp_at);
}

void
sam_attention_packed_k (SamPool * pool, const float *q, int64_t ldq,
    const float *Kp, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int D, int Dv)
{
  sam_k_attention_f32_packed_k (sam_kernels_f32 (), pool, q, ldq, Kp, v, ldv,
      out, ldo, Nq, Nk, 1, D, Dv);
}

void
sam_attention (SamPool * pool, const float *q, int64_t ldq, const float *k,
    int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv)
{
  sam_k_attention_f32 (sam_kernels_f32 (), pool, q, ldq, k, ldk, v, ldv, out,
      ldo, Nq, Nk, H, D, Dv);
}
