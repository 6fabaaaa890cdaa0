/* test-kernels — f32 kernels: every ISA's kernels vs the scalar _ref
 * oracles on random shapes with odd edge sizes, the vectorized exp vs expf,
 * and 1- vs 2- vs 3-thread bit-identity of linear, attention and conv.
 *
 * The FMA paths (avx2, avx512, neon) compute each GEMM output as the same
 * FMA chain as the oracle, so they must match it bit for bit; the portable
 * C path (no FMA) is held to a relative error bound. /kernels/f32-bits
 * holds the SIMD paths of x86 and aarch64 to the same bits.
 */
#include "core/preprocess.h"
#include "kernels/cpu.h"
#include "kernels/ops.h"

#include <math.h>
#include <string.h>
#include <glib.h>

static float *
rnd (GRand * r, int64_t n)
{
  float *p = g_new (float, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (r, -1, 1);
  return p;
}

/* max |a - b| / max |b| over n elements at stride ld (row length w) */
static double
rel_err (const float *a, const float *b, int64_t rows, int64_t w, int64_t ld)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < w; j++) {
      double d = fabs ((double) a[i * ld + j] - b[i * ld + j]);
      num = MAX (num, d);
      den = MAX (den, fabs ((double) b[i * ld + j]));
    }
  return den > 0 ? num / den : num;
}

static bool
rows_equal (const float *a, const float *b, int64_t rows, int64_t w,
    int64_t ld)
{
  for (int64_t i = 0; i < rows; i++)
    if (memcmp (a + i * ld, b + i * ld, sizeof (float) * w))
      return false;
  return true;
}

/* ---- exp ------------------------------------------------------------------ */

static void
test_exp (void)
{
  const int64_t n = 1 << 21;
  float *x = g_new (float, n), *y = g_new (float, n);
  for (SamIsa isa = SAM_ISA_AVX2; isa <= SAM_ISA_NEON; isa++) {
    if (!sam_cpu_isa_supported (isa))
      continue;
    const SamKernelsF32 *kt = sam_kernels_f32_for (isa);
    /* dense sweep of the range with normal results */
    for (int64_t i = 0; i < n; i++)
      x[i] = -87.0f + 175.5f * (float) i / (float) (n - 1);
    kt->exp (x, y, n - 3);      /* odd length: masked / scalar tail */
    double worst = 0;
    for (int64_t i = 0; i < n - 3; i++) {
      double e = exp ((double) x[i]);
      worst = MAX (worst, fabs (y[i] - e) / e);
    }
    g_test_message ("%s exp: max rel error %.3g", sam_cpu_isa_name (isa),
        worst);
    g_assert_cmpfloat (worst, <, 1e-6);
    /* specials */
    float sx[] = { -INFINITY, -200.f, -104.f, 0.f, 89.f, INFINITY, NAN };
    float sy[G_N_ELEMENTS (sx)];
    kt->exp (sx, sy, G_N_ELEMENTS (sx));
    g_assert_cmpfloat (sy[0], ==, 0.f);
    g_assert_cmpfloat (sy[1], ==, 0.f);
    g_assert_cmpfloat (sy[2], ==, 0.f);
    g_assert_cmpfloat (sy[3], ==, 1.f);
    g_assert_true (isinf (sy[4]) && sy[4] > 0);
    g_assert_true (isinf (sy[5]) && sy[5] > 0);
    g_assert_true (isnan (sy[6]));
    /* subnormal results: absolute error below the smallest normal */
    for (float v = -103.f; v < -87.f; v += 0.37f) {
      float r;
      kt->exp (&v, &r, 1);
      g_assert_cmpfloat (fabs (r - exp ((double) v)), <, 1.2e-38);
    }
  }
  if (sam_cpu_isa_detected () == SAM_ISA_REF)
    g_test_skip ("no SIMD ISA on this CPU");
  g_free (x);
  g_free (y);
}

/* ---- GEMM ----------------------------------------------------------------- */

static const int gM[] = { 1, 5, 13, 37, 200, 385 };
static const int gK[] = { 1, 7, 96, 333, 700 };
static const int gN[] = { 1, 17, 33, 100, 257 };

static void
check_linear (const SamKernelsF32 * kt, SamPool * pool, GRand * r, int M,
    int K, int N, int pad, bool bias)
{
  const int64_t ldx = K + pad, ldy = N + pad;
  float *x = rnd (r, M * ldx), *W = rnd (r, (int64_t) N * K);
  float *b = bias ? rnd (r, N) : NULL;
  float *y = rnd (r, M * ldy), *yr = g_memdup2 (y, sizeof (float) * M * ldy);
  float *Bp = g_aligned_alloc (sam_k_pack_b_size (kt, K, N), sizeof (float),
      64);
  sam_k_pack_b_nk (kt, pool, W, K, K, N, Bp);
  sam_k_gemm_f32 (kt, pool, x, ldx, Bp, y, ldy, M, N, K, false, b);
  sam_k_linear_f32_ref (x, M, K, ldx, W, b, N, yr, ldy);
  if (kt->isa == SAM_ISA_REF)
    g_assert_cmpfloat (rel_err (y, yr, M, N, ldy), <, 1e-5);
  else if (!rows_equal (y, yr, M, N, ldy)) {
    g_test_message ("%s linear M=%d K=%d N=%d: rel err %.3g",
        sam_cpu_isa_name (kt->isa), M, K, N, rel_err (y, yr, M, N, ldy));
    g_test_fail ();
  }
  /* padding columns of y untouched */
  for (int64_t i = 0; i < M; i++)
    for (int j = N; j < ldy; j++)
      g_assert_cmpfloat (y[i * ldy + j], ==, yr[i * ldy + j]);
  g_aligned_free (Bp);
  g_free (x);
  g_free (W);
  g_free (b);
  g_free (y);
  g_free (yr);
}

static void
check_matmul (const SamKernelsF32 * kt, SamPool * pool, GRand * r, int M,
    int K, int N, bool acc)
{
  const int64_t lda = K + 3, ldb = N + 5, ldc = N + 1;
  float *A = rnd (r, M * lda), *B = rnd (r, K * ldb);
  float *C = rnd (r, M * ldc), *Cr = g_memdup2 (C, sizeof (float) * M * ldc);
  float *Bp = g_aligned_alloc (sam_k_pack_b_size (kt, K, N), sizeof (float),
      64);
  sam_k_pack_b_kn (kt, pool, B, ldb, K, N, Bp);
  sam_k_gemm_f32 (kt, pool, A, lda, Bp, C, ldc, M, N, K, acc, NULL);
  sam_k_matmul_f32_ref (A, lda, B, ldb, Cr, ldc, M, N, K, acc);
  if (kt->isa == SAM_ISA_REF)
    g_assert_cmpfloat (rel_err (C, Cr, M, N, ldc), <, 1e-5);
  else
    g_assert_true (rows_equal (C, Cr, M, N, ldc));
  g_aligned_free (Bp);
  g_free (A);
  g_free (B);
  g_free (C);
  g_free (Cr);
}

static void
test_gemm (void)
{
  GRand *r = g_rand_new_with_seed (42);
  SamPool *pool = sam_pool_new (2);
  for (SamIsa isa = SAM_ISA_REF; isa <= SAM_ISA_NEON; isa++) {
    if (!sam_cpu_isa_supported (isa))
      continue;
    const SamKernelsF32 *kt = sam_kernels_f32_for (isa);
    for (guint a = 0; a < G_N_ELEMENTS (gM); a++)
      for (guint b = 0; b < G_N_ELEMENTS (gK); b++)
        for (guint c = 0; c < G_N_ELEMENTS (gN); c++) {
          bool bias = (a + b + c) % 2 == 0;
          check_linear (kt, (a + c) % 2 ? pool : NULL, r, gM[a], gK[b], gN[c],
              (int) ((a * 7 + c) % 3), bias);
        }
    for (guint a = 0; a < G_N_ELEMENTS (gM); a += 2)
      for (guint b = 0; b < G_N_ELEMENTS (gK); b++)
        for (guint c = 0; c < G_N_ELEMENTS (gN); c += 2) {
          check_matmul (kt, pool, r, gM[a], gK[b], gN[c], false);
          check_matmul (kt, NULL, r, gM[a], gK[b], gN[c], true);
        }
    /* K = 0: bias only */
    check_linear (kt, NULL, r, 3, 0, 5, 0, true);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* ---- the same bits on every SIMD ISA, x86 and aarch64 ------------------ */

/* inputs from a 32-bit LCG (GRand's doubles would do too; this keeps the
 * test's data independent of any library) */
static float *
lcg_floats (uint32_t * st, int64_t n)
{
  float *p = g_new (float, MAX (n, 1));
  for (int64_t i = 0; i < n; i++) {
    *st = *st * 1664525u + 1013904223u;
    p[i] = (float) (*st >> 8) / 16777216.f * 2.f - 1.f;
  }
  return p;
}

static void
fnv1a (guint64 * h, const void *data, size_t bytes)
{
  const guint8 *b = data;
  for (size_t i = 0; i < bytes; i++) {
    *h ^= b[i];
    *h *= 1099511628211ull;
  }
}

/* The float kernels' arithmetic is one contract (cpu.h, exp-simd.h): FMA
 * chains in k order, one exp polynomial with the same fused steps, one
 * softmax sum order. So AVX2, AVX-512 and NEON give the same bits, and a
 * model's float path gives the same numbers on an x86 server and an ARM
 * camera. The hashes below are of those bits (taken on AVX2 and AVX-512,
 * and on NEON under qemu-aarch64; LayerNorm and GELU too): a change to any
 * kernel's arithmetic
 * shows here on every machine, and a port that rounds differently fails
 * on its own. The portable C path (no FMA) is not held to them. */
static void
test_f32_bits (void)
{
  const guint64 want_gemm = 0x77d2170034e08179ull;
  const guint64 want_att = 0x62308fff3f0c0bcfull;
  const guint64 want_exp = 0xc4ee8707e9415b4full;
  const guint64 want_ln_gelu = 0x595e4944f678ef27ull;
  int n_simd = 0;
  for (SamIsa isa = SAM_ISA_AVX2; isa <= SAM_ISA_NEON; isa++) {
    if (!sam_cpu_isa_supported (isa))
      continue;
    n_simd++;
    const SamKernelsF32 *kt = sam_kernels_f32_for (isa);
    uint32_t st = 12345;
    static const int Ms[] = { 1, 5, 13, 37, 200 }, Ks[] = { 1, 7, 96, 333 };
    static const int Ns[] = { 1, 17, 33, 100, 257 };
    guint64 h = 1469598103934665603ull;
    for (guint a = 0; a < G_N_ELEMENTS (Ms); a++)
      for (guint b = 0; b < G_N_ELEMENTS (Ks); b++)
        for (guint c = 0; c < G_N_ELEMENTS (Ns); c++) {
          const int M = Ms[a], K = Ks[b], N = Ns[c];
          float *x = lcg_floats (&st, (int64_t) M * K);
          float *W = lcg_floats (&st, (int64_t) N * K);
          float *bias = lcg_floats (&st, N), *y = g_new0 (float, M * N);
          float *Bp = g_aligned_alloc (sam_k_pack_b_size (kt, K, N),
              sizeof (float), 64);
          sam_k_pack_b_nk (kt, NULL, W, K, K, N, Bp);
          sam_k_gemm_f32 (kt, NULL, x, K, Bp, y, N, M, N, K, false, bias);
          fnv1a (&h, y, sizeof (float) * M * N);
          g_aligned_free (Bp);
          g_free (x);
          g_free (W);
          g_free (bias);
          g_free (y);
        }
    g_test_message ("%s gemm bits %016" G_GINT64_MODIFIER "x",
        sam_cpu_isa_name (isa), h);
    g_assert_cmpuint (h, ==, want_gemm);

    static const int sh[][5] = { {7, 5, 8, 16, 16}, {13, 300, 2, 33, 20},
    {100, 513, 3, 96, 96}, {130, 700, 1, 256, 256}
    };
    h = 1469598103934665603ull;
    for (guint s = 0; s < G_N_ELEMENTS (sh); s++) {
      const int Nq = sh[s][0], Nk = sh[s][1], H = sh[s][2], D = sh[s][3];
      const int Dv = sh[s][4];
      float *q = lcg_floats (&st, (int64_t) Nq * H * D);
      float *k = lcg_floats (&st, (int64_t) Nk * H * D);
      float *v = lcg_floats (&st, (int64_t) Nk * H * Dv);
      float *o = g_new0 (float, (gsize) Nq * H * Dv);
      for (int64_t i = 0; i < (int64_t) Nq * H * D; i++)
        q[i] *= 4.f;
      sam_k_attention_f32 (kt, NULL, q, H * D, k, H * D, v, H * Dv, o,
          H * Dv, Nq, Nk, H, D, Dv);
      fnv1a (&h, o, sizeof (float) * Nq * H * Dv);
      g_free (q);
      g_free (k);
      g_free (v);
      g_free (o);
    }
    g_test_message ("%s attention bits %016" G_GINT64_MODIFIER "x",
        sam_cpu_isa_name (isa), h);
    g_assert_cmpuint (h, ==, want_att);

    /* exp over its whole range (underflow to 0, overflow to inf), the
     * softmax helper on an odd length, the maximum */
    h = 1469598103934665603ull;
    const int n = 100003;
    float *x = g_new (float, n), *y = g_new (float, n);
    for (int i = 0; i < n; i++)
      x[i] = -100.f + 190.f * (float) i / (float) (n - 1);
    kt->exp (x, y, n);
    fnv1a (&h, y, sizeof (float) * n);
    float *sc = lcg_floats (&st, n);
    const float sum = kt->exp_sub_sum (sc, n - 5, 0.5f, 3.f);
    fnv1a (&h, sc, sizeof (float) * (n - 5));
    fnv1a (&h, &sum, sizeof sum);
    const float mx = kt->max (x, n - 1);
    fnv1a (&h, &mx, sizeof mx);
    g_test_message ("%s exp/softmax bits %016" G_GINT64_MODIFIER "x",
        sam_cpu_isa_name (isa), h);
    g_assert_cmpuint (h, ==, want_exp);
    g_free (x);
    g_free (y);
    g_free (sc);

    /* LayerNorm (vector widths, a tail, the narrow rows) and the exact
     * GELU over [-14, 14] and beyond (no NaN: an x86 and an ARM core
     * make different NaN bits, as for GELU(−inf) = −inf · 0) */
    h = 1469598103934665603ull;
    static const int lnC[] = { 256, 100, 96, 8, 4 };
    for (guint t = 0; t < G_N_ELEMENTS (lnC); t++) {
      const int C = lnC[t], M = 37;
      float *lx = lcg_floats (&st, (int64_t) M * C);
      float *g = lcg_floats (&st, C), *b = lcg_floats (&st, C);
      float *ly = g_new (float, M * C);
      for (int64_t i = 0; i < (int64_t) M * C; i++)
        lx[i] = lx[i] * 3.f + 0.5f;
      sam_layernorm_isa (isa, NULL, lx, M, C, g, b, 1e-6f, ly);
      fnv1a (&h, ly, sizeof (float) * M * C);
      g_free (lx);
      g_free (g);
      g_free (b);
      g_free (ly);
    }
    const int ng = 40001;
    float *gx = lcg_floats (&st, ng + 4);
    for (int i = 0; i < ng; i++)
      gx[i] = -14.f + 28.f * (float) i / (float) (ng - 1) + gx[i] * 1e-3f;
    gx[ng] = 0.f;
    gx[ng + 1] = -0.f;
    gx[ng + 2] = INFINITY;
    gx[ng + 3] = -40.f;
    float *gq = g_memdup2 (gx, sizeof (float) * (ng + 4));
    sam_gelu_isa (isa, NULL, gx, ng + 4);
    fnv1a (&h, gx, sizeof (float) * (ng + 4));
    sam_gelu_q_rows_isa (isa, gq, ng + 4, 1, ng + 4);
    fnv1a (&h, gq, sizeof (float) * (ng + 4));
    g_free (gx);
    g_free (gq);
    g_test_message ("%s layernorm/gelu bits %016" G_GINT64_MODIFIER "x",
        sam_cpu_isa_name (isa), h);
    g_assert_cmpuint (h, ==, want_ln_gelu);
  }
  if (!n_simd)
    g_test_skip ("no SIMD ISA on this CPU");
}

/* ---- attention -------------------------------------------------------------- */

typedef struct
{
  int Nq, Nk, H, D, Dv;
} AttShape;

static const AttShape att_shapes[] = {
  {1, 1, 1, 16, 16},
  {7, 5, 8, 16, 16},
  {13, 300, 2, 33, 20},
  {100, 513, 3, 96, 96},
  {64, 64, 1, 96, 96},
  {130, 700, 1, 256, 256},
};

static void
test_attention (void)
{
  GRand *r = g_rand_new_with_seed (7);
  SamPool *pool = sam_pool_new (2);
  for (guint s = 0; s < G_N_ELEMENTS (att_shapes); s++) {
    const AttShape *a = &att_shapes[s];
    const int64_t ldq = a->H * a->D + 3, ldk = a->H * a->D + 1;
    const int64_t ldv = a->H * a->Dv + 2, ldo = a->H * a->Dv + 5;
    float *q = rnd (r, a->Nq * ldq), *k = rnd (r, a->Nk * ldk);
    float *v = rnd (r, a->Nk * ldv);
    /* spread the scores so the softmax is not flat */
    for (int64_t i = 0; i < a->Nq * ldq; i++)
      q[i] *= 4.f;
    float *ref = g_new0 (float, a->Nq * ldo);
    float *prev = NULL;
    sam_k_attention_f32_ref (q, ldq, k, ldk, v, ldv, ref, ldo, a->Nq, a->Nk,
        a->H, a->D, a->Dv);
    for (SamIsa isa = SAM_ISA_REF; isa <= SAM_ISA_NEON; isa++) {
      if (!sam_cpu_isa_supported (isa))
        continue;
      const SamKernelsF32 *kt = sam_kernels_f32_for (isa);
      float *out = g_new0 (float, a->Nq * ldo);
      sam_k_attention_f32 (kt, s % 2 ? pool : NULL, q, ldq, k, ldk, v, ldv,
          out, ldo, a->Nq, a->Nk, a->H, a->D, a->Dv);
      double e = rel_err (out, ref, a->Nq, (int64_t) a->H * a->Dv, ldo);
      g_test_message ("%s attention q%d k%d h%d d%d/%d: rel err %.3g",
          sam_cpu_isa_name (isa), a->Nq, a->Nk, a->H, a->D, a->Dv, e);
      g_assert_cmpfloat (e, <, 2e-5);
      /* avx2 and avx512 give the same bits */
      if (isa == SAM_ISA_AVX512 && prev)
        g_assert_true (rows_equal (out, prev, a->Nq, (int64_t) a->H * a->Dv,
                ldo));
      g_free (prev);
      prev = isa == SAM_ISA_REF ? (g_free (out), NULL) : out;
    }
    g_free (prev);
    g_free (q);
    g_free (k);
    g_free (v);
    g_free (ref);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* ---- conv ------------------------------------------------------------------- */

typedef struct
{
  int H, W, Cin, Cout, K, stride, pad, groups;
} ConvShape;

static const ConvShape conv_shapes[] = {
  {13, 11, 5, 7, 3, 2, 1, 1},
  {33, 35, 3, 40, 7, 4, 3, 1},  /* patch-embed-like */
  {16, 16, 4, 16, 3, 2, 1, 1},
  {9, 10, 24, 33, 1, 1, 0, 1},  /* 1×1 → linear */
  {12, 9, 37, 37, 7, 1, 3, 37}, /* depthwise, channel tail */
  {10, 10, 80, 80, 7, 1, 3, 80},
  {8, 8, 64, 64, 3, 2, 1, 64},
};

static void
test_conv (void)
{
  GRand *r = g_rand_new_with_seed (3);
  SamPool *pool = sam_pool_new (2);
  for (guint s = 0; s < G_N_ELEMENTS (conv_shapes); s++) {
    const ConvShape *c = &conv_shapes[s];
    const int Ho = (c->H + 2 * c->pad - c->K) / c->stride + 1;
    const int Wo = (c->W + 2 * c->pad - c->K) / c->stride + 1;
    const int64_t ny = (int64_t) Ho * Wo * c->Cout;
    float *x = rnd (r, (int64_t) c->H * c->W * c->Cin);
    float *w = rnd (r, (int64_t) c->Cout * (c->Cin / c->groups) * c->K * c->K);
    float *b = rnd (r, c->Cout);
    float *ref = g_new (float, ny), *y = g_new (float, ny);
    sam_k_conv2d_f32_ref (x, c->H, c->W, c->Cin, w, b, c->Cout, c->K, c->K,
        c->stride, c->pad, c->groups, ref);
    for (SamIsa isa = SAM_ISA_REF; isa <= SAM_ISA_NEON; isa++) {
      if (!sam_cpu_isa_supported (isa))
        continue;
      const SamKernelsF32 *kt = sam_kernels_f32_for (isa);
      sam_k_conv2d_f32 (kt, s % 2 ? pool : NULL, x, c->H, c->W, c->Cin, w, b,
          c->Cout, c->K, c->K, c->stride, c->pad, c->groups, y);
      double e = rel_err (y, ref, 1, ny, ny);
      g_test_message ("%s conv %dx%dx%d->%d k%d s%d g%d: rel err %.3g",
          sam_cpu_isa_name (isa), c->H, c->W, c->Cin, c->Cout, c->K,
          c->stride, c->groups, e);
      g_assert_cmpfloat (e, <, 1e-5);
    }
    g_free (x);
    g_free (w);
    g_free (b);
    g_free (ref);
    g_free (y);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* im2col + GEMM: every output is one FMA chain over the patch in (ci, ky,
 * kx) order whatever the SIMD width, so the AVX2 and AVX-512 paths agree
 * bit for bit; both build the patch rows of narrow kernels with permutes
 * (AVX-512: KW · Cin ≤ 32, AVX2: ≤ 24 and KW ≤ 8), which must move the
 * same values as the scalar copies. Shapes: patch-embed-like, the mask
 * downsampler's first two stages, one above the permute limit. */
static void
test_conv_isa_exact (void)
{
  static const ConvShape shapes[] = {
    {37, 41, 3, 40, 7, 4, 3, 1}, {34, 30, 1, 4, 3, 2, 1, 1},
    {20, 34, 1, 4, 3, 2, 1, 1}, {9, 101, 1, 4, 3, 2, 1, 1},
    {6, 128, 1, 4, 3, 2, 1, 1},
    {17, 19, 4, 16, 3, 2, 1, 1}, {12, 13, 16, 24, 3, 2, 1, 1},
    {13, 11, 16, 64, 3, 2, 1, 1}, {9, 40, 16, 64, 3, 2, 1, 1},
    {7, 41, 16, 128, 3, 2, 1, 1}, {9, 10, 8, 128, 3, 1, 1, 1},
  };
  if (!sam_cpu_isa_supported (SAM_ISA_AVX512)) {
    g_test_skip ("no AVX-512 on this CPU");
    return;
  }
  GRand *r = g_rand_new_with_seed (13);
  SamPool *pool = sam_pool_new (2);
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    const ConvShape *c = &shapes[s];
    const int Ho = (c->H + 2 * c->pad - c->K) / c->stride + 1;
    const int Wo = (c->W + 2 * c->pad - c->K) / c->stride + 1;
    const int64_t ny = (int64_t) Ho * Wo * c->Cout;
    float *x = rnd (r, (int64_t) c->H * c->W * c->Cin);
    float *w = rnd (r, (int64_t) c->Cout * c->Cin * c->K * c->K);
    float *b = rnd (r, c->Cout);
    float *y2 = g_new (float, ny), *y5 = g_new (float, ny);
    sam_k_conv2d_f32 (sam_kernels_f32_for (SAM_ISA_AVX2), pool, x, c->H,
        c->W, c->Cin, w, b, c->Cout, c->K, c->K, c->stride, c->pad, 1, y2);
    sam_k_conv2d_f32 (sam_kernels_f32_for (SAM_ISA_AVX512), pool, x, c->H,
        c->W, c->Cin, w, b, c->Cout, c->K, c->K, c->stride, c->pad, 1, y5);
    g_test_message ("conv %dx%dx%d->%d k%d s%d: avx2 vs avx512", c->H, c->W,
        c->Cin, c->Cout, c->K, c->stride);
    g_assert_cmpint (memcmp (y2, y5, sizeof (float) * ny), ==, 0);
    g_free (x);
    g_free (w);
    g_free (b);
    g_free (y2);
    g_free (y5);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* The AVX2 patch rows of narrow kernels (KW < 4: the prompt encoder's
 * 2 × 2 and the mask downsampler's 3 × 3 convolutions) must not write
 * past the patch buffer: each shape runs first in a fresh thread, whose
 * scratch buffers are then allocated at exactly the size asked, so an
 * overrun past the last pixel's row is a heap overflow for ASan (and
 * the outputs are checked against AVX-512 where there is one). */
typedef struct {
  const ConvShape *c;
  float *x, *w, *b, *y;
} ConvJob;

static gpointer
conv_avx2_job (gpointer data)
{
  ConvJob *j = data;
  const ConvShape *c = j->c;
  sam_k_conv2d_f32 (sam_kernels_f32_for (SAM_ISA_AVX2), NULL, j->x, c->H,
      c->W, c->Cin, j->w, j->b, c->Cout, c->K, c->K, c->stride, c->pad, 1,
      j->y);
  return NULL;
}

static void
test_conv_avx2_narrow (void)
{
  static const ConvShape shapes[] = {
    {16, 16, 1, 4, 2, 2, 0, 1}, {8, 8, 4, 16, 2, 2, 0, 1},
    {16, 16, 1, 4, 3, 2, 1, 1}, {8, 8, 4, 16, 3, 2, 1, 1},
    {6, 10, 8, 8, 3, 1, 1, 1},
  };
  if (!sam_cpu_isa_supported (SAM_ISA_AVX2)) {
    g_test_skip ("no AVX2 on this CPU");
    return;
  }
  GRand *r = g_rand_new_with_seed (21);
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    const ConvShape *c = &shapes[s];
    const int Ho = (c->H + 2 * c->pad - c->K) / c->stride + 1;
    const int Wo = (c->W + 2 * c->pad - c->K) / c->stride + 1;
    const int64_t ny = (int64_t) Ho * Wo * c->Cout;
    ConvJob j = { c, rnd (r, (int64_t) c->H * c->W * c->Cin),
      rnd (r, (int64_t) c->Cout * c->Cin * c->K * c->K), rnd (r, c->Cout),
      g_new (float, ny)
    };
    g_thread_join (g_thread_new ("conv-avx2", conv_avx2_job, &j));
    float *ref = g_new (float, ny);
    sam_k_conv2d_f32_ref (j.x, c->H, c->W, c->Cin, j.w, j.b, c->Cout, c->K,
        c->K, c->stride, c->pad, 1, ref);
    g_assert_cmpfloat (rel_err (j.y, ref, 1, ny, ny), <, 1e-5);
    if (sam_cpu_isa_supported (SAM_ISA_AVX512)) {
      sam_k_conv2d_f32 (sam_kernels_f32_for (SAM_ISA_AVX512), NULL, j.x,
          c->H, c->W, c->Cin, j.w, j.b, c->Cout, c->K, c->K, c->stride,
          c->pad, 1, ref);
      g_assert_cmpint (memcmp (j.y, ref, sizeof (float) * ny), ==, 0);
    }
    g_free (ref);
    g_free (j.x);
    g_free (j.w);
    g_free (j.b);
    g_free (j.y);
  }
  g_rand_free (r);
}

/* The SIMD depthwise kernels compute each output as one FMA chain from the
 * bias over the valid taps in (ky, kx) order, whatever the pixel blocking
 * (the interior of a stride-1 7×7 row 8 pixels at a time with AVX-512, 4
 * with AVX2 where C is a multiple of 8):
 * bit for bit this fmaf chain. Widths put block edges and per-pixel
 * remainders on both sides; 37 channels give a masked tail. */
static void
test_conv_dw_exact (void)
{
  static const int dims[][3] = { {9, 23, 37}, {16, 16, 256}, {5, 14, 16} };
  GRand *r = g_rand_new_with_seed (11);
  SamPool *pool = sam_pool_new (2);
  for (guint d = 0; d < G_N_ELEMENTS (dims); d++) {
    const int H = dims[d][0], W = dims[d][1], C = dims[d][2], K = 7, P = 3;
    float *x = rnd (r, (int64_t) H * W * C), *w = rnd (r, (int64_t) C * K * K);
    float *b = rnd (r, C), *ref = g_new (float, (int64_t) H * W * C);
    float *y = g_new (float, (int64_t) H * W * C);
    for (int oy = 0; oy < H; oy++)
      for (int ox = 0; ox < W; ox++)
        for (int ch = 0; ch < C; ch++) {
          float acc = b[ch];
          for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
              const int iy = oy - P + ky, ix = ox - P + kx;
              if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                acc = fmaf (x[((int64_t) iy * W + ix) * C + ch],
                    w[((int64_t) ch * K + ky) * K + kx], acc);
            }
          ref[((int64_t) oy * W + ox) * C + ch] = acc;
        }
    for (SamIsa isa = SAM_ISA_AVX2; isa <= SAM_ISA_NEON; isa++) {
      if (!sam_cpu_isa_supported (isa))
        continue;
      memset (y, 0, sizeof (float) * H * W * C);
      sam_k_conv2d_f32 (sam_kernels_f32_for (isa), pool, x, H, W, C, w, b, C,
          K, K, 1, P, C, y);
      g_test_message ("%s depthwise 7x7 %dx%dx%d", sam_cpu_isa_name (isa), H,
          W, C);
      g_assert_cmpint (memcmp (y, ref, sizeof (float) * H * W * C), ==, 0);
    }
    g_free (x);
    g_free (w);
    g_free (b);
    g_free (ref);
    g_free (y);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* ---- the pool: every index exactly once, in contiguous calls ------------- */

typedef struct {
  gint *hits;
  gint calls;
} PoolProbe;

static void
pool_probe (void *ctx, int64_t b, int64_t e)
{
  PoolProbe *pp = ctx;
  g_assert_cmpint (b, <, e);
  for (int64_t i = b; i < e; i++)
    g_atomic_int_inc (&pp->hits[i]);
  g_atomic_int_inc (&pp->calls);
}

static void
test_pool (void)
{
  static const int threads[] = { 1, 2, 3, 5 };
  static const int64_t ns[] = { 1, 2, 7, 8, 9, 31, 1000, 4099 };
  static const int64_t grains[] = { 1, 3, 16, 5000 };
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++) {
    SamPool *pool = sam_pool_new (threads[t]);
    for (guint a = 0; a < G_N_ELEMENTS (ns); a++)
      for (guint g = 0; g < G_N_ELEMENTS (grains); g++)
        /* several jobs in a row: a worker must see each one */
        for (int rep = 0; rep < 3; rep++) {
          const int64_t n = ns[a];
          PoolProbe pp = {.hits = g_new0 (gint, n) };
          sam_pool_for (rep == 2 ? NULL : pool, n, grains[g], pool_probe,
              &pp);
          for (int64_t i = 0; i < n; i++)
            g_assert_cmpint (pp.hits[i], ==, 1);
          /* no call smaller than the grain unless the job is */
          g_assert_cmpint (pp.calls, <=, MAX (1, n / grains[g]));
          g_free (pp.hits);
        }
    /* one item per call (inline: one call for all) */
    for (guint a = 0; a < G_N_ELEMENTS (ns); a++)
      for (int rep = 0; rep < 3; rep++) {
        const int64_t n = ns[a];
        PoolProbe pp = {.hits = g_new0 (gint, n) };
        sam_pool_for_each (rep == 2 ? NULL : pool, n, pool_probe, &pp);
        for (int64_t i = 0; i < n; i++)
          g_assert_cmpint (pp.hits[i], ==, 1);
        g_assert_cmpint (pp.calls, ==, rep == 2 || threads[t] == 1 ? 1 : n);
        g_free (pp.hits);
      }
    sam_pool_free (pool);
  }
}

/* The slow hand-offs: a worker's chunk that outlasts the caller's spin (the
 * caller blocks on the join and must be woken), and a job posted after the
 * workers stopped spinning (they must be woken too). A lost wake-up hangs
 * here, and the test's timeout fails it. */
typedef struct {
  GThread *caller;
  gint calls;
  gint slow_worker;             /* 1: workers' chunks sleep; 0: the caller's */
} SlowProbe;

static void
slow_probe (void *ctx, int64_t b, int64_t e)
{
  SlowProbe *sp = ctx;
  gboolean by_caller = g_thread_self () == sp->caller;
  if (by_caller != (gboolean) sp->slow_worker)
    g_usleep (300);
  g_atomic_int_add (&sp->calls, (gint) (e - b));
}

static void
test_pool_blocking (void)
{
  SamPool *pool = sam_pool_new (2);
  for (int rep = 0; rep < 200; rep++) {
    SlowProbe sp = {.caller = g_thread_self (),.slow_worker = rep % 3 != 2 };
    sam_pool_for_each (pool, 2, slow_probe, &sp);
    g_assert_cmpint (g_atomic_int_get (&sp.calls), ==, 2);
    if (rep % 4 == 0)
      g_usleep (500);           /* the worker goes to sleep */
  }
  sam_pool_free (pool);
}

/* ---- thread-count bit-identity (public ops, the selected ISA) -------------- */

static void
test_threads (void)
{
  GRand *r = g_rand_new_with_seed (11);
  SamPool *pools[3] = { NULL, sam_pool_new (2), sam_pool_new (3) };

  /* linear: big enough that every pool splits it */
  const int M = 1000, K = 333, N = 301;
  float *x = rnd (r, (int64_t) M * K), *W = rnd (r, (int64_t) N * K);
  float *b = rnd (r, N);
  float *y[3];
  for (int p = 0; p < 3; p++) {
    y[p] = g_new (float, (int64_t) M * N);
    sam_linear (pools[p], x, M, K, K, W, b, N, y[p], N);
  }
  for (int p = 1; p < 3; p++)
    g_assert_cmpint (memcmp (y[0], y[p], sizeof (float) * M * N), ==, 0);

  /* weights packed once: the bits of sam_linear, at few rows (what it is
   * for, a row tail of the kernel's row blocks included) and at many */
  SamPackedF32 *Wp = sam_packed_f32_new (W, K, N);
  float *yp = g_new (float, (int64_t) M * N);
  for (int p = 0; p < 3; p++) {
    const int rows[] = { 1, 7, 13, M };
    for (guint t = 0; t < G_N_ELEMENTS (rows); t++) {
      sam_linear (pools[p], x, rows[t], K, K, W, b, N, y[p], N);
      memset (yp, 0xff, sizeof (float) * rows[t] * N);
      sam_linear_packed (pools[p], x, rows[t], K, K, Wp, b, N, yp, N);
      g_assert_cmpint (memcmp (yp, y[p], sizeof (float) * rows[t] * N), ==,
          0);
    }
  }
  sam_packed_f32_free (Wp);
  g_free (yp);

  /* matmul, accumulating */
  float *B = rnd (r, (int64_t) K * N);
  for (int p = 0; p < 3; p++) {
    memcpy (y[p], x, sizeof (float) * M * N / 2);
    sam_matmul (pools[p], x, K, B, N, y[p], N, M / 2, N, K, true);
  }
  for (int p = 1; p < 3; p++)
    g_assert_cmpint (memcmp (y[0], y[p], sizeof (float) * M * N / 2), ==, 0);

  /* element-wise adds and ReLU over the pool (64 KB pieces) */
  const int64_t ne = 100003;
  float *e0 = rnd (r, ne), *e1 = rnd (r, ne), *ey[3];
  for (int p = 0; p < 3; p++) {
    ey[p] = g_memdup2 (e0, sizeof (float) * ne);
    sam_add_pool (pools[p], ey[p], e1, ne);
    sam_relu_pool (pools[p], ey[p], ne);
  }
  for (int64_t i = 0; i < ne; i++) {
    float ref = e0[i] + e1[i];
    g_assert_true (ey[0][i] == (ref > 0.f ? ref : 0.f));
  }
  for (int p = 1; p < 3; p++)
    g_assert_cmpint (memcmp (ey[0], ey[p], sizeof (float) * ne), ==, 0);
  for (int p = 0; p < 3; p++)
    g_free (ey[p]);
  g_free (e0);
  g_free (e1);

  /* attention, several heads and a key tail */
  const int Nq = 301, Nk = 777, H = 2, D = 40;
  float *q = rnd (r, (int64_t) Nq * H * D), *k = rnd (r, (int64_t) Nk * H * D);
  float *v = rnd (r, (int64_t) Nk * H * D);
  for (int p = 0; p < 3; p++)
    sam_attention (pools[p], q, H * D, k, H * D, v, H * D, y[p], H * D, Nq,
        Nk, H, D, D);
  for (int p = 1; p < 3; p++)
    g_assert_cmpint (memcmp (y[0], y[p], sizeof (float) * Nq * H * D), ==, 0);

  /* im2col and depthwise conv */
  const int S = 37, C = 24;
  float *img = rnd (r, (int64_t) S * S * C), *w = rnd (r, 48 * C * 9);
  for (int p = 0; p < 3; p++)
    sam_conv2d (pools[p], img, S, S, C, w, b, 48, 3, 3, 2, 1, 1, y[p]);
  int So = (S + 2 - 3) / 2 + 1;
  for (int p = 1; p < 3; p++)
    g_assert_cmpint (memcmp (y[0], y[p], sizeof (float) * So * So * 48), ==,
        0);
  for (int p = 0; p < 3; p++)
    sam_conv2d (pools[p], img, S, S, C, w, b, C, 7, 7, 1, 3, C, y[p]);
  for (int p = 1; p < 3; p++)
    g_assert_cmpint (memcmp (y[0], y[p], sizeof (float) * S * S * C), ==, 0);

  for (int p = 0; p < 3; p++) {
    g_free (y[p]);
    sam_pool_free (pools[p]);
  }
  g_free (x);
  g_free (W);
  g_free (b);
  g_free (B);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (img);
  g_free (w);
  g_rand_free (r);
}

/* ---- elementwise (public ops, the selected ISA) --------------------------- */

static void
test_gelu (void)
{
  const int64_t n = 1 << 20;
  float *x = g_new (float, n), *y = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = -14.f + 28.f * (float) i / (float) (n - 1);
  memcpy (y, x, sizeof (float) * n);
  SamPool *pool = sam_pool_new (2);
  sam_gelu (pool, y, n - 5);    /* odd length: tails */
  /* bound: relative 1e-6, plus the float rounding of 1 + erf(z) (what
   * erff-based code, and PyTorch, have in the negative tail) */
  double worst = 0;
  for (int64_t i = 0; i < n - 5; i++) {
    double xd = x[i], ref = 0.5 * xd * (1.0 + erf (xd * M_SQRT1_2));
    double e = fabs (y[i] - ref), bound = 1e-6 * fabs (ref) + 1e-7 * fabs (xd);
    if (e > bound) {
      g_test_message ("gelu(%.9g) = %.9g, expected %.9g", xd, y[i], ref);
      g_test_fail ();
      break;
    }
    if (fabs (ref) > 1e-6)
      worst = MAX (worst, e / fabs (ref));
  }
  g_test_message ("%s gelu: max rel error %.3g where |gelu| > 1e-6",
      sam_cpu_isa_name (sam_cpu_isa ()), worst);
  float sx[] = { 0.f, -0.f, INFINITY, -40.f, NAN, 1.f, -1.f };
  sam_gelu (NULL, sx, G_N_ELEMENTS (sx));
  g_assert_cmpfloat (sx[0], ==, 0.f);
  g_assert_cmpfloat (sx[1], ==, 0.f);
  g_assert_true (isinf (sx[2]) && sx[2] > 0);
  g_assert_cmpfloat (fabs (sx[3]), ==, 0.f);
  g_assert_true (isnan (sx[4]));
  g_assert_cmpfloat (fabs (sx[5] - 0.8413447460685429), <, 1e-7);
  g_assert_cmpfloat (fabs (sx[6] + 0.15865525393145707), <, 1e-7);
  sam_pool_free (pool);
  g_free (x);
  g_free (y);
}

/* sam_gelu_q (an integer layer's GELU): within 2e-6 + 4e-7 |x| of the
 * exact form on [-14, 14]; the plain C, AVX2 and AVX-512 versions give the
 * same bits, on strided rows (the epilogue form) as over the pool; the
 * edges: ±0, ±inf, NaN, the ends of the fit (±3.5 √2). */
static void
test_gelu_q (void)
{
  const int64_t n = (1 << 20) + 3;
  float *x = g_new (float, n), *y = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = -14.f + 28.f * (float) i / (float) (n - 1);
  memcpy (y, x, sizeof (float) * n);
  SamPool *pool = sam_pool_new (2);
  sam_gelu_q (pool, y, n);
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double xd = x[i], ref = 0.5 * xd * (1.0 + erf (xd * M_SQRT1_2));
    double e = fabs (y[i] - ref);
    if (e > 2e-6 + 4e-7 * fabs (xd)) {
      g_test_message ("gelu_q(%.9g) = %.9g, expected %.9g", xd, y[i], ref);
      g_test_fail ();
      break;
    }
    worst = MAX (worst, e);
  }
  g_test_message ("gelu_q: max abs error %.3g on [-14, 14]", worst);
  /* every ISA this CPU has, on rows of odd length and stride, against the
   * plain C version: the same bits */
  /* every path: 3 x 64 + 16 + 11 (AVX-512), 6 x 32 + 3 x 8 + 3 (AVX2) */
  const int rows = 37, cols = 219, ld = 227;
  float *ref = g_new (float, rows * ld), *a = g_new (float, rows * ld);
  const float edge = 3.5f * (float) M_SQRT2;
  for (int i = 0; i < rows * ld; i++)
    ref[i] = x[(i * 7919) % n];
  const float special[] = { 0.f, -0.f, INFINITY, -INFINITY, 1.f, -1.f,
    edge, -edge, nextafterf (edge, 0.f), nextafterf (-edge, 0.f),
    nextafterf (edge, 9.f), nextafterf (-edge, -9.f)
  };
  memcpy (ref + 5, special, sizeof special);
  ref[ld + 3] = NAN;
  memcpy (a, ref, sizeof (float) * rows * ld);
  sam_gelu_q_rows_isa (SAM_ISA_REF, ref, ld, rows, cols);
  g_assert_cmpfloat (ref[5], ==, 0.f);
  g_assert_cmpfloat (ref[6], ==, 0.f);
  g_assert_true (isinf (ref[7]) && ref[7] > 0);
  g_assert_true (isnan (ref[8]));       /* -inf · (1 - 1): as erf's form */
  g_assert_true (isnan (ref[ld + 3]));
  for (int isa = SAM_ISA_AVX2; isa <= (int) SAM_ISA_NEON; isa++) {
    if (!sam_cpu_isa_supported (isa))
      continue;
    float *b = g_memdup2 (a, sizeof (float) * rows * ld);
    sam_gelu_q_rows_isa (isa, b, ld, rows, cols);
    for (int i = 0; i < rows * ld; i++)
      if (!(isnan (b[i]) && isnan (ref[i])) && memcmp (b + i, ref + i, 4)) {
        g_test_message ("%s gelu_q [%d] (%.9g) = %.9g, plain C %.9g",
            sam_cpu_isa_name ((SamIsa) isa), i, a[i], b[i], ref[i]);
        g_test_fail ();
        break;
      }
    g_free (b);
  }
  /* rows against the pool's pass: the same bits */
  float *d = g_new (float, rows * cols);
  for (int r = 0; r < rows; r++)
    memcpy (d + r * cols, a + r * ld, sizeof (float) * cols);
  sam_gelu_q (pool, d, rows * cols);
  sam_gelu_q_rows (a, ld, rows, cols);
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      g_assert_true (memcmp (d + r * cols + c, a + r * ld + c, 4) == 0
          || (isnan (d[r * cols + c]) && isnan (a[r * ld + c])));
  g_free (d);
  g_free (a);
  g_free (ref);
  sam_pool_free (pool);
  g_free (x);
  g_free (y);
}

/* sam_maxpool2x2 and sam_maxpool2x2_px (AVX-512 where selected) against
 * the plain comparisons, bit for bit: channel counts around the vector
 * width, odd maps, ±0 and NaN (max (b, m) keeps m unless b > m). */
static void
test_maxpool (void)
{
  GRand *r = g_rand_new_with_seed (11);
  SamPool *pool = sam_pool_new (2);
  static const int Cs[] = { 1, 15, 16, 17, 96, 193 };
  static const float sp[] = { 0.f, -0.f, NAN, -INFINITY, INFINITY };
  for (unsigned ci = 0; ci < G_N_ELEMENTS (Cs); ci++)
    for (int H = 2; H <= 7; H += 5)
      for (int W = 2; W <= 9; W += 7) {
        const int C = Cs[ci], ldp = C + 3;
        float *x = g_new (float, (size_t) H * W * ldp);
        float *y = g_new (float, (size_t) (H / 2) * (W / 2) * C);
        float *ref = g_new (float, (size_t) (H / 2) * (W / 2) * C);
        for (int i = 0; i < H * W * ldp; i++)
          x[i] = i % 5 == 2 ? sp[g_rand_int_range (r, 0, 5)]
              : (float) g_rand_int_range (r, -3, 4);
        for (int pass = 0; pass < 2; pass++) {
          const int lp = pass ? ldp : C;
          for (int oy = 0; oy < H / 2; oy++)
            for (int ox = 0; ox < W / 2; ox++)
              for (int c = 0; c < C; c++) {
                const float *p = x + ((int64_t) 2 * oy * W + 2 * ox) * lp + c;
                float m = p[0];
                m = p[lp] > m ? p[lp] : m;
                m = p[(int64_t) W * lp] > m ? p[(int64_t) W * lp] : m;
                m = p[(int64_t) (W + 1) * lp] > m ? p[(int64_t) (W + 1) * lp]
                    : m;
                ref[((int64_t) oy * (W / 2) + ox) * C + c] = m;
              }
          if (pass)
            sam_maxpool2x2_px (x, ldp, H, W, C, y);
          else
            sam_maxpool2x2 (pool, x, H, W, C, y);
          g_assert_cmpmem (y, sizeof (float) * (H / 2) * (W / 2) * C, ref,
              sizeof (float) * (H / 2) * (W / 2) * C);
        }
        g_free (x);
        g_free (y);
        g_free (ref);
      }
  g_test_message ("%s maxpool", sam_cpu_isa_name (sam_cpu_isa ()));
  sam_pool_free (pool);
  g_rand_free (r);
}

/* sam_resize_bilinear against F.interpolate's formula written per pixel
 * (source index, clamped neighbours, weights), bit for bit: masks (C = 1)
 * and channels, up and down, both align_corners. */
static float
bl_src (float scale, int dst, bool ac)
{
  if (ac)
    return scale * dst;
  float s = scale * (dst + 0.5f) - 0.5f;
  return s < 0.f ? 0.f : s;
}

static void
test_resize_bilinear (void)
{
  GRand *r = g_rand_new_with_seed (5);
  SamPool *pool = sam_pool_new (2);
  static const int sizes[][4] = { {4, 5, 16, 13}, {64, 64, 256, 256},
  {17, 9, 6, 4}, {3, 3, 3, 3}, {8, 8, 1, 1}
  };
  for (unsigned si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (int C = 1; C <= 3; C += 2)
      for (int ac = 0; ac < 2; ac++) {
        const int H = sizes[si][0], W = sizes[si][1];
        const int Ho = sizes[si][2], Wo = sizes[si][3];
        float *x = g_new (float, (size_t) H * W * C);
        float *y = g_new (float, (size_t) Ho * Wo * C);
        float *ref = g_new (float, (size_t) Ho * Wo * C);
        for (int i = 0; i < H * W * C; i++)
          x[i] = (float) g_rand_double_range (r, -20, 20);
        float sh = ac ? (Ho > 1 ? (float) (H - 1) / (float) (Ho - 1) : 0.f)
            : (float) H / (float) Ho;
        float sw = ac ? (Wo > 1 ? (float) (W - 1) / (float) (Wo - 1) : 0.f)
            : (float) W / (float) Wo;
        for (int oy = 0; oy < Ho; oy++) {
          float fy = bl_src (sh, oy, ac);
          int y0 = (int) fy, y1 = y0 + (y0 < H - 1);
          float ly1 = fy - y0, ly0 = 1.f - ly1;
          for (int ox = 0; ox < Wo; ox++) {
            float fx = bl_src (sw, ox, ac);
            int x0 = (int) fx, x1 = x0 + (x0 < W - 1);
            float lx1 = fx - x0, lx0 = 1.f - lx1;
            for (int ch = 0; ch < C; ch++)
              ref[((size_t) oy * Wo + ox) * C + ch] =
                  ly0 * (lx0 * x[((size_t) y0 * W + x0) * C + ch] +
                  lx1 * x[((size_t) y0 * W + x1) * C + ch]) +
                  ly1 * (lx0 * x[((size_t) y1 * W + x0) * C + ch] +
                  lx1 * x[((size_t) y1 * W + x1) * C + ch]);
          }
        }
        sam_resize_bilinear (pool, x, H, W, C, y, Ho, Wo, ac);
        g_assert_cmpmem (y, sizeof (float) * Ho * Wo * C, ref,
            sizeof (float) * Ho * Wo * C);
        g_free (x);
        g_free (y);
        g_free (ref);
      }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* sam_positive_box: every ISA against plain C and against a direct scan,
 * on maps with no positive pixel, one pixel at each edge, NaN, -0 and
 * widths around the 16-lane blocks. */
static void
check_box (const float *x, int W, int H)
{
  int want[4] = { W, H, -1, -1 };
  for (int y = 0; y < H; y++)
    for (int i = 0; i < W; i++)
      if (x[(size_t) y * W + i] > 0.f) {
        want[0] = MIN (want[0], i);
        want[1] = MIN (want[1], y);
        want[2] = MAX (want[2], i);
        want[3] = MAX (want[3], y);
      }
  if (want[2] < 0)
    want[0] = want[1] = want[2] = want[3] = -1;
  for (int isa = SAM_ISA_REF; isa <= (int) SAM_ISA_NEON; isa++) {
    if (!sam_cpu_isa_supported (isa))
      continue;
    int box[4];
    sam_positive_box_isa (isa, x, W, H, box);
    g_assert_cmpmem (box, sizeof box, want, sizeof want);
  }
}

static void
test_positive_box (void)
{
  GRand *r = g_rand_new_with_seed (21);
  static const int widths[] = { 1, 5, 15, 16, 17, 31, 32, 33, 47, 100 };
  for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++) {
    const int W = widths[wi], H = 7;
    float *x = g_new (float, (size_t) W * H);
    for (int i = 0; i < W * H; i++)
      x[i] = i % 3 ? -0.f : (i % 2 ? NAN : -1.f);
    check_box (x, W, H);        /* none */
    for (int t = 0; t < 60; t++) {
      for (int i = 0; i < W * H; i++)
        x[i] = -(float) g_rand_double_range (r, 0, 5);
      const int n = g_rand_int_range (r, 1, 4);
      for (int k = 0; k < n; k++) {
        int px = g_rand_int_range (r, 0, W), py = g_rand_int_range (r, 0, H);
        if (t % 4 == 0)
          px = t % 8 ? 0 : W - 1;       /* the row's first or last lane */
        x[(size_t) py * W + px] = (float) g_rand_double_range (r, 1e-30, 3);
      }
      check_box (x, W, H);
    }
    g_free (x);
  }
  /* a frame-size mask */
  const int W = 1920, H = 1080;
  float *x = g_new (float, (size_t) W * H);
  for (int y = 0; y < H; y++)
    for (int i = 0; i < W; i++)
      x[(size_t) y * W + i] = 40.f - hypotf (i - 700.f, (y - 300.f) * 1.3f);
  check_box (x, W, H);
  g_free (x);
  g_rand_free (r);
}

/* sam_preprocess_rgb: rows split over threads give the serial values, and
 * the SIMD horizontal pass the C pass's; a constant frame stays constant through the antialiased resize; an
 * S × S frame is the normalization alone; stripes finer than the output
 * grid average out. */
static void
test_preprocess (void)
{
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float stdv[3] = { 0.229f, 0.224f, 0.225f };
  static const int sizes[][3] = { {640, 360, 256}, {100, 300, 256},
  {256, 256, 256}, {40, 30, 64}, {1921, 1081, 512}, {97, 61, 256}
  };
  GRand *r = g_rand_new_with_seed (17);
  SamPool *pool = sam_pool_new (3);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++) {
    const int w = sizes[si][0], h = sizes[si][1], S = sizes[si][2];
    const int st = 3 * w + 7;
    guint8 *d = g_new (guint8, (size_t) st * h);
    float *a = g_new (float, (size_t) S * S * 3);
    float *b = g_new (float, (size_t) S * S * 3);
    for (size_t i = 0; i < (size_t) st * h; i++)
      d[i] = (guint8) g_rand_int (r);
    sam_preprocess_rgb (NULL, d, w, h, st, S, a);
    sam_preprocess_rgb (pool, d, w, h, st, S, b);
    g_assert_cmpmem (a, sizeof (float) * S * S * 3, b,
        sizeof (float) * S * S * 3);
    sam_preprocess_rgb_isa (SAM_ISA_REF, NULL, d, w, h, st, S, a);
    sam_preprocess_rgb_isa (SAM_ISA_AVX2, NULL, d, w, h, st, S, b);
    g_assert_cmpmem (a, sizeof (float) * S * S * 3, b,
        sizeof (float) * S * S * 3);
    if (w == S && h == S)
      for (int y = 0; y < S; y++)
        for (int x = 0; x < 3 * S; x++) {
          float want = ((float) d[(size_t) y * st + x] / 255.0f -
              mean[x % 3]) / stdv[x % 3];
          g_assert_cmpfloat (a[(size_t) y * 3 * S + x], ==, want);
        }
    /* constant 77, 140, 201 */
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        d[(size_t) y * st + 3 * x] = 77;
        d[(size_t) y * st + 3 * x + 1] = 140;
        d[(size_t) y * st + 3 * x + 2] = 201;
      }
    sam_preprocess_rgb (pool, d, w, h, st, S, a);
    for (int i = 0; i < S * S * 3; i++) {
      const float v = i % 3 == 0 ? 77.f : i % 3 == 1 ? 140.f : 201.f;
      g_assert_cmpfloat (a[i], ==, (v / 255.0f - mean[i % 3]) / stdv[i % 3]);
    }
    /* 1-pixel black/white columns shrunk by 2.5x: mid-grey away from the
     * edges */
    if (w > S) {
      for (int y = 0; y < h; y++)
        for (int x = 0; x < 3 * w; x++)
          d[(size_t) y * st + x] = (x / 3) % 2 ? 255 : 0;
      sam_preprocess_rgb (pool, d, w, h, st, S, a);
      for (int x = 4; x < 3 * (S - 2); x++) {
        const float v = (a[(size_t) (S / 2) * 3 * S + x] * stdv[x % 3] +
            mean[x % 3]) * 255.0f;
        g_assert_cmpfloat (fabsf (v - 127.5f), <, 30.f);
      }
    }
    g_free (d);
    g_free (a);
    g_free (b);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

/* sam_add (AVX-512 or AVX2 where selected) against the plain loop, bit for bit:
 * every tail length, and ±0, ±inf, one NaN, denormals, overflow. */
static void
test_add (void)
{
  GRand *r = g_rand_new_with_seed (9);
  static const float sp[] = { 0.f, -0.f, INFINITY, -INFINITY, NAN, 1e-40f,
    -1e-40f, 3e38f, -3e38f
  };
  float x[1000], y[1000], ref[1000];
  for (int n = 0; n <= 1000; n += (n < 40 ? 1 : 137)) {
    for (int i = 0; i < n; i++) {
      x[i] = (float) g_rand_double_range (r, -100, 100);
      y[i] = (float) g_rand_double_range (r, -100, 100);
      if (i % 7 == 3)
        x[i] = sp[i % G_N_ELEMENTS (sp)];
      if (i % 11 == 5)
        y[i] = 3e38f;
    }
    for (int i = 0; i < n; i++)
      ref[i] = y[i] + x[i];
    sam_add (y, x, n);
    g_assert_cmpmem (y, sizeof (float) * n, ref, sizeof (float) * n);
  }
  g_rand_free (r);
}

/* ReLU and RoPE rows in every ISA this CPU has against plain C: the same
 * bits, specials and odd lengths included */
static void
test_relu_rope (void)
{
  GRand *r = g_rand_new_with_seed (13);
  static const float sp[] = { 0.f, -0.f, INFINITY, -INFINITY, NAN, 1e-40f,
    -1e-40f, 3e38f, -3e38f
  };
  enum { NMAX = 531 };
  float x[NMAX], ref[NMAX], y[NMAX], co[NMAX / 2], si[NMAX / 2];
  for (int n = 0; n <= NMAX; n += (n < 40 ? 1 : 89)) {
    for (int i = 0; i < n; i++) {
      x[i] = (float) g_rand_double_range (r, -50, 50);
      if (i % 7 == 3)
        x[i] = sp[i % G_N_ELEMENTS (sp)];
    }
    for (int i = 0; i < n / 2; i++) {
      double a = g_rand_double_range (r, -10, 10);
      co[i] = (float) cos (a);
      si[i] = (float) sin (a);
      if (i % 9 == 4)
        co[i] = sp[i % G_N_ELEMENTS (sp)];
    }
    memcpy (ref, x, sizeof (float) * n);
    sam_relu_isa (SAM_ISA_REF, ref, n);
    for (int i = 0; i < n; i++)
      g_assert_true (x[i] > 0.f ? ref[i] == x[i] : memcmp (ref + i,
              &(float) { 0.f }, 4) == 0);
    for (int isa = SAM_ISA_AVX2; isa <= (int) SAM_ISA_NEON; isa++) {
      if (!sam_cpu_isa_supported (isa))
        continue;
      memcpy (y, x, sizeof (float) * n);
      sam_relu_isa (isa, y, n);
      g_assert_cmpmem (y, sizeof (float) * n, ref, sizeof (float) * n);
    }
    memcpy (ref, x, sizeof (float) * n);
    sam_rope_row_isa (SAM_ISA_REF, ref, n / 2, co, si);
    if (n >= 2 && isfinite (x[0]) && isfinite (x[1]) && isfinite (co[0]))
      g_assert_cmpfloat (ref[0], ==, x[0] * co[0] - x[1] * si[0]);
    for (int isa = SAM_ISA_AVX2; isa <= (int) SAM_ISA_NEON; isa++) {
      if (!sam_cpu_isa_supported (isa))
        continue;
      memcpy (y, x, sizeof (float) * n);
      sam_rope_row_isa (isa, y, n / 2, co, si);
      for (int i = 0; i < n; i++)
        if (!(isnan (y[i]) && isnan (ref[i])) && memcmp (y + i, ref + i, 4)) {
          g_test_message ("%s rope n %d [%d] = %.9g, plain C %.9g",
              sam_cpu_isa_name ((SamIsa) isa), n, i, y[i], ref[i]);
          g_test_fail ();
          return;
        }
    }
  }
  g_rand_free (r);
}

static void
test_layernorm (void)
{
  GRand *r = g_rand_new_with_seed (5);
  const int M = 67;
  const int Cs[] = { 1, 4, 7, 15, 16, 96, 100, 256, 301 };
  for (guint ci = 0; ci < G_N_ELEMENTS (Cs); ci++) {
    const int C = Cs[ci];
    float *x = rnd (r, (int64_t) M * C), *g = rnd (r, C), *b = rnd (r, C);
    for (int64_t i = 0; i < (int64_t) M * C; i++)
      x[i] = x[i] * 3.f + 10.f;
    float *y = g_new (float, (int64_t) M * C);
    sam_layernorm (NULL, x, M, C, g, b, 1e-6f, y);
    for (int i = 0; i < M; i++) {
      double mean = 0, var = 0;
      for (int k = 0; k < C; k++)
        mean += x[i * C + k];
      mean /= C;
      for (int k = 0; k < C; k++)
        var += (x[i * C + k] - mean) * (x[i * C + k] - mean);
      var /= C;
      for (int k = 0; k < C; k++) {
        double ref = (x[i * C + k] - mean) / sqrt (var + 1e-6) * g[k] + b[k];
        g_assert_cmpfloat (fabs (y[i * C + k] - ref), <, 1e-5 * (1 + fabs
                (ref)));
      }
    }
    if (C < 16) {
      /* narrow rows: the SIMD path's bits are those of the plain row
       * loop (double sums from 0 in channel order) */
      for (int i = 0; i < M; i++) {
        const float *xr = x + (int64_t) i * C;
        double mean = 0, var = 0;
        for (int k = 0; k < C; k++)
          mean += xr[k];
        mean /= C;
        for (int k = 0; k < C; k++) {
          double d = xr[k] - mean;
          var += d * d;
        }
        var /= C;
        float inv = (float) (1.0 / sqrt (var + 1e-6f)), m = (float) mean;
        for (int k = 0; k < C; k++) {
          float ref = (xr[k] - m) * inv * g[k] + b[k];
          g_assert_cmpint (memcmp (&ref, y + (int64_t) i * C + k, 4), ==, 0);
        }
      }
    }
    /* each row alone (the one-row loop) gives the bits of the whole call
     * (four rows at a time where C is a multiple of 16) */
    float *one = g_new (float, C);
    for (int i = 0; i < M; i++) {
      sam_layernorm_serial (x + (int64_t) i * C, 1, C, g, b, 1e-6f, one);
      g_assert_cmpmem (one, sizeof (float) * C, y + (int64_t) i * C,
          sizeof (float) * C);
    }
    g_free (one);
    /* every ISA, on rows of mixed magnitudes: near the plain loop, and
     * AVX2 gives AVX-512's bits (the same summation order; a different
     * pairing of the double sums would only show at double rounding, but
     * a wrong lane or load shows at once) */
    {
      float *xm = g_memdup2 (x, sizeof (float) * M * C);
      for (int64_t i = 0; i < (int64_t) M * C; i += 3)
        xm[i] *= 1e4f;
      float *ya = g_new (float, (int64_t) M * C);
      float *yb = g_new (float, (int64_t) M * C);
      sam_layernorm_isa (SAM_ISA_REF, NULL, xm, M, C, g, b, 1e-6f, ya);
      for (int isa = SAM_ISA_AVX2; isa <= (int) SAM_ISA_NEON; isa++) {
        if (!sam_cpu_isa_supported (isa))
          continue;
        sam_layernorm_isa (isa, NULL, xm, M, C, g, b, 1e-6f, yb);
        for (int64_t i = 0; i < (int64_t) M * C; i++)
          g_assert_cmpfloat (fabsf (yb[i] - ya[i]), <=, 1e-5f * (1.f +
                  fabsf (ya[i])));
        if (isa == SAM_ISA_AVX2 && sam_cpu_isa_supported (SAM_ISA_AVX512)) {
          sam_layernorm_isa (SAM_ISA_AVX512, NULL, xm, M, C, g, b, 1e-6f, ya);
          g_assert_cmpmem (yb, sizeof (float) * M * C, ya,
              sizeof (float) * M * C);
          sam_layernorm_isa (SAM_ISA_REF, NULL, xm, M, C, g, b, 1e-6f, ya);
        }
      }
      g_free (xm);
      g_free (ya);
      g_free (yb);
    }
    /* in place, threads */
    SamPool *pool = sam_pool_new (3);
    sam_layernorm (pool, x, M, C, g, b, 1e-6f, x);
    g_assert_cmpint (memcmp (x, y, sizeof (float) * M * C), ==, 0);
    sam_pool_free (pool);
    g_free (x);
    g_free (g);
    g_free (b);
    g_free (y);
  }
  g_rand_free (r);
}

static void
test_transpose (void)
{
  const int64_t shapes[][2] = { {1, 1}, {3, 70}, {64, 64}, {100, 37},
  {257, 513}
  };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    int64_t R = shapes[s][0], C = shapes[s][1];
    float *a = g_new (float, R * C), *t = g_new (float, R * C);
    for (int64_t i = 0; i < R * C; i++)
      a[i] = (float) i;
    sam_transpose (a, R, C, t);
    for (int64_t r = 0; r < R; r++)
      for (int64_t c = 0; c < C; c++)
        g_assert_cmpfloat (t[c * R + r], ==, a[r * C + c]);
    g_free (a);
    g_free (t);
  }
}

/* SAMSEG_FORCE_ISA caps the selected ISA (run by meson with the variable set). */
static void
test_isa (void)
{
  const char *force = g_getenv ("SAMSEG_FORCE_ISA");
  SamIsa det = sam_cpu_isa_detected (), want = det;
  if (force && !strcmp (force, "ref"))
    want = SAM_ISA_REF;
  else if (force && (!strcmp (force, "avx2") || !strcmp (force, "avxvnni")))
    want = MIN (det, SAM_ISA_AVX2);     /* the float kernels' AVX2 */
  else if (force && (!strcmp (force, "neon") || !strcmp (force, "neondot")))
    want = SAM_ISA_NEON;
  g_test_message ("detected %s, selected %s", sam_cpu_isa_name (det),
      sam_cpu_isa_name (sam_cpu_isa ()));
  g_assert_cmpint (sam_cpu_isa (), ==, want);
  g_assert_cmpint (sam_kernels_f32 ()->isa, ==, want);
  /* and the public ops run on it */
  float x[3 * 5], W[4 * 5], y[3 * 4], yr[3 * 4];
  for (int i = 0; i < 15; i++)
    x[i] = (float) i / 7.f;
  for (int i = 0; i < 20; i++)
    W[i] = (float) (i % 3) - 1.f;
  sam_linear (NULL, x, 3, 5, 5, W, NULL, 4, y, 4);
  sam_k_linear_f32_ref (x, 3, 5, 5, W, NULL, 4, yr, 4);
  g_assert_cmpfloat (rel_err (y, yr, 1, 12, 12), <, 1e-6);
}

/* ConvTranspose2d(k 2, s 2) against PyTorch's definition written out, each
 * output one FMA chain over Cin from 0 then + bias (what the GEMM does, so
 * bit for bit), on shapes with GEMM tails, 1 and 3 threads. */
static void
test_conv_transpose (void)
{
  GRand *r = g_rand_new_with_seed (13);
  SamPool *pool = sam_pool_new (3);
  static const int shapes[][4] = { {1, 1, 1, 1}, {3, 5, 7, 9}, {8, 8, 64, 32},
    {5, 13, 33, 20}
  };
  for (guint t = 0; t < G_N_ELEMENTS (shapes); t++) {
    const int H = shapes[t][0], W = shapes[t][1], Cin = shapes[t][2],
        Cout = shapes[t][3];
    float *x = rnd (r, (int64_t) H * W * Cin), *w = rnd (r, Cin * Cout * 4);
    float *b = rnd (r, Cout);
    const int64_t ny = (int64_t) 4 * H * W * Cout;
    float *ref = g_new (float, ny), *y = g_new (float, ny);
    for (int iy = 0; iy < H; iy++)
      for (int ix = 0; ix < W; ix++)
        for (int a = 0; a < 2; a++)
          for (int bx = 0; bx < 2; bx++)
            for (int co = 0; co < Cout; co++) {
              float s = 0.f;
              for (int ci = 0; ci < Cin; ci++)
                s = fmaf (x[((int64_t) iy * W + ix) * Cin + ci],
                    w[((ci * Cout + co) * 2 + a) * 2 + bx], s);
              ref[(((int64_t) (2 * iy + a) * 2 * W) + 2 * ix + bx) * Cout +
                  co] = s + b[co];
            }
    for (int p = 0; p < 2; p++) {
      memset (y, 0xff, sizeof (float) * ny);
      sam_conv_transpose2x2 (p ? pool : NULL, x, H, W, Cin, w, b, Cout, y);
      g_assert_cmpint (memcmp (y, ref, sizeof (float) * ny), ==, 0);
    }
    g_free (x);
    g_free (w);
    g_free (b);
    g_free (ref);
    g_free (y);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernels/isa", test_isa);
  g_test_add_func ("/kernels/exp", test_exp);
  g_test_add_func ("/kernels/gemm", test_gemm);
  g_test_add_func ("/kernels/attention", test_attention);
  g_test_add_func ("/kernels/f32-bits", test_f32_bits);
  g_test_add_func ("/kernels/conv", test_conv);
  g_test_add_func ("/kernels/conv-dw-exact", test_conv_dw_exact);
  g_test_add_func ("/kernels/conv-isa-exact", test_conv_isa_exact);
  g_test_add_func ("/kernels/conv-avx2-narrow", test_conv_avx2_narrow);
  g_test_add_func ("/kernels/pool", test_pool);
  g_test_add_func ("/kernels/pool-blocking", test_pool_blocking);
  g_test_add_func ("/kernels/threads", test_threads);
  g_test_add_func ("/kernels/gelu", test_gelu);
  g_test_add_func ("/kernels/gelu-q", test_gelu_q);
  g_test_add_func ("/kernels/add", test_add);
  g_test_add_func ("/kernels/relu-rope", test_relu_rope);
  g_test_add_func ("/kernels/maxpool", test_maxpool);
  g_test_add_func ("/kernels/conv-transpose", test_conv_transpose);
  g_test_add_func ("/kernels/resize-bilinear", test_resize_bilinear);
  g_test_add_func ("/kernels/positive-box", test_positive_box);
  g_test_add_func ("/kernels/preprocess", test_preprocess);
  g_test_add_func ("/kernels/layernorm", test_layernorm);
  g_test_add_func ("/kernels/transpose", test_transpose);
  return g_test_run ();
}
