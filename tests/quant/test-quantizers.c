/* test-quantizers.c — engine/quant on hand-built distributions: each
 * quantizer against its formula (QUANTIZATION.md), the searches picking what
 * the construction dictates (AGQ τ), BIG's fold exact and useful, ACNR
 * lowering κ while the layer output on its activations stays put. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "quant/quant.h"

static double
gauss (GRand * r)
{
  double u = g_rand_double_range (r, 1e-12, 1), v = g_rand_double (r);
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

static double
mse (const float *a, const float *b, int64_t n)
{
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  return s / n;
}

/* ---- uniform --------------------------------------------------------------- */

static void
test_uniform_formula (void)
{
  /* s = (max (mx,0) − min (mn,0)) / 255, z = clamp (−round (mn / s)) */
  SamQParams p = sam_qparams_from_range (-1.0f, 3.0f, 8, false);
  g_assert_cmpfloat_with_epsilon (p.scale, 4.0f / 255, 1e-9);
  g_assert_cmpint (p.zero, ==, 64);     /* round (63.75) */
  g_assert_cmpint (sam_quantize (0.0f, &p), ==, 64);
  g_assert_cmpint (sam_quantize (100.0f, &p), ==, 255);
  g_assert_cmpint (sam_quantize (-100.0f, &p), ==, 0);
  /* all-positive range: z = 0 */
  p = sam_qparams_from_range (0.5f, 2.0f, 4, false);
  g_assert_cmpint (p.zero, ==, 0);
  g_assert_cmpfloat_with_epsilon (p.scale, 2.0f / 15, 1e-9);
  /* round half to even, as torch.round */
  SamQParams one = {.scale = 1,.zero = 0,.qmin = -10,.qmax = 10 };
  g_assert_cmpint (sam_quantize (2.5f, &one), ==, 2);
  g_assert_cmpint (sam_quantize (3.5f, &one), ==, 4);
  /* symmetric */
  p = sam_qparams_from_range (-2.0f, 1.0f, 8, true);
  g_assert_cmpfloat_with_epsilon (p.scale, 2.0f / 127, 1e-9);
  g_assert_cmpint (p.zero, ==, 0);
  g_assert_cmpint (sam_quantize (-2.0f, &p), ==, -127);
}

static void
test_observers (void)
{
  GRand *r = g_rand_new_with_seed (1);
  int n = 4000;
  float *x = g_new (float, n), *y = g_new (float, n);
  for (int i = 0; i < n; i++)
    x[i] = (float) gauss (r);
  x[7] = 40.0f;                 /* one outlier */
  SamObserverParams op;
  double err[4], l24[4], l2[4];
  for (int k = 0; k < 4; k++) {
    sam_observer_params_init (&op, k, 4, false);
    op.percentile = 1e-3f;
    SamQParams p = sam_observe (x, n, 1, &op);
    sam_quant_fake (x, y, 1, n, SAM_GRAN_TENSOR, 0, &p);
    l24[k] = l2[k] = 0;
    for (int i = 0; i < n; i++) {
      double d = fabs ((double) y[i] - x[i]);
      l24[k] += pow (d, 2.4) / n;
      l2[k] += d * d / n;
    }
    y[7] = x[7];                /* the error on the bulk, outlier aside */
    err[k] = mse (x, y, n);
    if (k == SAM_OBSERVER_MINMAX) {
      float mn = INFINITY, mx = -INFINITY;
      for (int i = 0; i < n; i++) {
        mn = fminf (mn, x[i]);
        mx = fmaxf (mx, x[i]);
      }
      SamQParams ref = sam_qparams_from_range (mn, mx, 4, false);
      g_assert_cmpfloat (p.scale, ==, ref.scale);
      g_assert_cmpint (p.zero, ==, ref.zero);
    }
  }
  g_test_message ("4-bit, one outlier: bulk mse minmax %.4g pct %.4g mse %.4g "
      "omse %.4g; L2.4 minmax %.4g mse %.4g; L2 minmax %.4g omse %.4g",
      err[0], err[1], err[2], err[3], l24[0], l24[2], l2[0], l2[3]);
  /* percentile clips the outlier; MSE and OMSE each minimise their own loss
   * (with the outlier in it) over a grid that contains the min/max point */
  g_assert_cmpfloat (err[1], <, err[0] / 4);
  g_assert_cmpfloat (l24[2], <=, l24[0]);
  g_assert_cmpfloat (l2[3], <=, l2[0]);
  g_assert_cmpfloat (err[2], <, err[0]);
  g_assert_cmpfloat (err[3], <, err[0]);
  g_free (x);
  g_free (y);
  g_rand_free (r);
}

static void
test_granularity (void)
{
  GRand *r = g_rand_new_with_seed (2);
  int rows = 16, cols = 64;
  float *W = g_new (float, rows * cols), *y = g_new (float, rows * cols);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++)
      W[i * cols + j] = (float) (gauss (r) * pow (4.0, i % 4) *
          (j < 32 ? 1 : 0.1));
  SamObserverParams op;
  sam_observer_params_init (&op, SAM_OBSERVER_MINMAX, 8, true);
  SamQParams pt, prow[16], pgrp[32], pcol[64];
  double e[4];
  sam_quant_calibrate (W, rows, cols, SAM_GRAN_TENSOR, 0, &op, &pt);
  sam_quant_fake (W, y, rows, cols, SAM_GRAN_TENSOR, 0, &pt);
  e[0] = mse (W, y, rows * cols);
  sam_quant_calibrate (W, rows, cols, SAM_GRAN_ROW, 0, &op, prow);
  sam_quant_fake (W, y, rows, cols, SAM_GRAN_ROW, 0, prow);
  e[1] = mse (W, y, rows * cols);
  g_assert_cmpint (sam_quant_n_params (rows, cols, SAM_GRAN_GROUP, 32), ==,
      32);
  sam_quant_calibrate (W, rows, cols, SAM_GRAN_GROUP, 32, &op, pgrp);
  sam_quant_fake (W, y, rows, cols, SAM_GRAN_GROUP, 32, pgrp);
  e[2] = mse (W, y, rows * cols);
  sam_quant_calibrate (W, rows, cols, SAM_GRAN_COL, 0, &op, pcol);
  sam_quant_fake (W, y, rows, cols, SAM_GRAN_COL, 0, pcol);
  e[3] = mse (W, y, rows * cols);
  g_test_message ("tensor %.3g row %.3g group %.3g col %.3g", e[0], e[1],
      e[2], e[3]);
  g_assert_cmpfloat (e[1], <, e[0] / 4);
  g_assert_cmpfloat (e[2], <, e[1]);
  /* per-row params are each row's own max |w| / 127 */
  for (int i = 0; i < rows; i++) {
    float m = 0;
    for (int j = 0; j < cols; j++)
      m = fmaxf (m, fabsf (W[i * cols + j]));
    g_assert_cmpfloat_with_epsilon (prow[i].scale, m / 127, m * 1e-6);
  }
  int8_t *q = g_new (int8_t, rows * cols);
  float sc[16];
  sam_quant_weights_s8 (W, rows, cols, &op, q, sc);
  for (int i = 0; i < rows * cols; i++)
    g_assert_cmpfloat (fabsf (q[i] * sc[i / cols] - W[i]), <=,
        sc[i / cols] * 0.5001f);
  g_free (q);
  g_free (W);
  g_free (y);
  g_rand_free (r);
}

static double
parabola (double x, void *ctx)
{
  return (x - 2.0) * (x - 2.0) + 1;
}

static void
test_fminbound (void)
{
  double f;
  double x = sam_quant_fminbound (parabola, NULL, 0, 5, 1e-7, 500, &f);
  g_assert_cmpfloat (fabs (x - 2.0), <, 1e-5);
  g_assert_cmpfloat (fabs (f - 1.0), <, 1e-9);
  x = sam_quant_fminbound (parabola, NULL, 3, 5, 1e-7, 500, &f);
  g_assert_cmpfloat (fabs (x - 3.0), <, 1e-5);
}

/* ---- softmax quantizers ---------------------------------------------------- */

static void
softmax_rows (const float *z, float *p, int rows, int n)
{
  for (int r = 0; r < rows; r++) {
    double m = -INFINITY, s = 0;
    /* not fmax: GCC 12 for aarch64 crashes vectorizing that reduction of
     * floats into a double (internal compiler error) */
    for (int j = 0; j < n; j++)
      m = z[r * n + j] > m ? z[r * n + j] : m;
    for (int j = 0; j < n; j++)
      s += exp (z[r * n + j] - m);
    for (int j = 0; j < n; j++)
      p[r * n + j] = (float) (exp (z[r * n + j] - m) / s);
  }
}

static void
test_agq_formula (void)
{
  SamAgqParams p = {.s = 1.0f,.tau = 2,.bits = 4 };
  g_assert_cmpfloat (sam_agq_fake (0.5f, &p), ==, 0.5f);        /* q = 2 */
  g_assert_cmpfloat (sam_agq_fake (1.0f, &p), ==, 1.0f);
  g_assert_cmpfloat (sam_agq_fake (3.0f, &p), ==, 1.0f);        /* above s */
  /* q = 15 is the last level s 2^(−15/2); q = 16 is masked to 0 */
  g_assert_cmpfloat_with_epsilon (sam_agq_fake (exp2f (-7.5f), &p),
      exp2f (-7.5f), 1e-9);
  g_assert_cmpfloat (sam_agq_fake (exp2f (-8.0f), &p), ==, 0.0f);
  g_assert_cmpfloat (sam_agq_fake (0.0f, &p), ==, 0.0f);
  /* integer codes: code 15 = zero; decode (encode) = fake elsewhere */
  float lut[16];
  sam_agq_decode_lut (&p, lut);
  g_assert_cmpfloat (lut[15], ==, 0.0f);
  for (int i = 0; i < 200; i++) {
    float a = exp2f (-i / 20.0f);
    uint8_t c = sam_agq_encode (a, &p);
    if (c < 15)
      g_assert_cmpfloat_with_epsilon (lut[c], sam_agq_fake (a, &p), 1e-6);
    else
      g_assert_cmpfloat (a, <, exp2f (-7.0f));
  }
}

/* Rows built so that one base fits: b = 3 (7 levels + zero).
 * tau 1: exact powers of two over 7 octaves, equal mass per octave;
 * tau 4: flat rows spanning < 1.75 octaves; tau 2: ~3.5 octaves. */
static int
agq_pick (int which, GRand * r, double *err)
{
  int rows = 48, n = which == 1 ? 127 : 16, dv = 8;
  float *z = g_new (float, rows * n), *A = g_new (float, rows * n);
  float *V = g_new (float, n * dv);
  for (int i = 0; i < n * dv; i++)
    V[i] = (float) gauss (r);
  if (which == 1) {
    for (int row = 0; row < rows; row++) {
      int j = 0;
      for (int k = 0; k < 7; k++)
        for (int c = 0; c < (1 << k); c++)
          A[row * n + j++] = exp2f (-(float) k) / 7.0f;
    }
    /* 2^k keys of 2^−k / 7: mass 1/7 per octave, each value a power of two
     * times one common factor, so τ = 1 with s = 1/7 is exact */
  } else {
    double spread = which == 4 ? 1.15 : 2.4;
    for (int i = 0; i < rows * n; i++)
      z[i] = (float) g_rand_double_range (r, 0, spread);
    softmax_rows (z, A, rows, n);
  }
  SamAgqParams p;
  sam_agq_search (A, rows, n, V, dv, 3, &p, err);
  g_free (z);
  g_free (A);
  g_free (V);
  return p.tau;
}

static void
test_agq_search (void)
{
  GRand *r = g_rand_new_with_seed (3);
  for (int which = 1; which <= 4; which *= 2) {
    double err[3];
    int tau = agq_pick (which, r, err);
    g_test_message ("rows for tau %d: picked %d (errors %.3g %.3g %.3g)",
        which, tau, err[0], err[1], err[2]);
    g_assert_cmpint (tau, ==, which);
  }
  g_rand_free (r);
}

static void
test_lnq (void)
{
  SamLnqParams p = {.s = 0.5f,.alpha = 10.0f,.bits = 4 };
  /* q = round (15 ln (1 + 10x) / ln 6) */
  g_assert_cmpint (sam_lnq_quantize (0.5f, &p), ==, 15);
  g_assert_cmpint (sam_lnq_quantize (0.0f, &p), ==, 0);
  g_assert_cmpint (sam_lnq_quantize (0.1f, &p), ==,
      (int) nearbyint (15 * log (2.0) / log (6.0)));
  g_assert_cmpfloat (sam_lnq_dequantize (0, &p), ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (sam_lnq_dequantize (15, &p), 0.5f, 1e-6);
  /* search: beats a uniform grid of the same size on peaky softmax rows */
  GRand *r = g_rand_new_with_seed (4);
  int rows = 32, n = 64, dv = 8;
  float *z = g_new (float, rows * n), *A = g_new (float, rows * n),
      *Ah = g_new (float, rows * n), *V = g_new (float, n * dv);
  for (int i = 0; i < rows * n; i++)
    z[i] = (float) (3 * gauss (r));
  for (int i = 0; i < n * dv; i++)
    V[i] = (float) gauss (r);
  softmax_rows (z, A, rows, n);
  SamLnqParams best;
  g_assert_cmpint (sam_lnq_search (A, rows, n, V, dv, 4, &best), ==, 0);
  for (int i = 0; i < rows * n; i++)
    Ah[i] = sam_lnq_fake (A[i], &best);
  double e_lnq = sam_quant_av_loss (A, Ah, rows, n, V, dv, 2.0);
  SamQParams u = sam_qparams_from_range (0, 1, 4, false);
  for (int i = 0; i < rows * n; i++)
    Ah[i] = sam_fake_quant (A[i], &u);
  double e_uni = sam_quant_av_loss (A, Ah, rows, n, V, dv, 2.0);
  g_test_message ("LNQ alpha %g s %g: err %.3g vs uniform %.3g", best.alpha,
      best.s, e_lnq, e_uni);
  g_assert_cmpfloat (e_lnq, <, e_uni);
  g_free (z);
  g_free (A);
  g_free (Ah);
  g_free (V);
  g_rand_free (r);
}

static float
gelu (float x)
{
  return 0.5f * x * (1 + erff (x / sqrtf (2)));
}

static void
test_hluq (void)
{
  /* m = −0.2, R = 1, r = 0.5, g = 0.5, b = 4: N_L = 8, N_U = 8,
   * s_L = 0.5, s_U = 0.5 / (15 · 0.5) = 1/15 */
  SamHluqParams p = {.m = -0.2f,.R = 1.0f,.r = 0.5f,.g = 0.5f,.bits = 4 };
  g_assert_cmpfloat_with_epsilon (sam_hluq_fake (-0.2f + 0.25f, &p),
      -0.2f + 0.25f, 1e-6);     /* q_L = 1 */
  g_assert_cmpfloat_with_epsilon (sam_hluq_fake (-0.2f + 0.5f, &p), 0.3f,
      1e-6);                    /* q_L = 0 */
  g_assert_cmpfloat (sam_hluq_fake (-0.2f, &p), ==, -0.2f);     /* overflow */
  float u = -0.2f + 0.5f + 3.0f / 15;   /* uniform q_U = 3 */
  g_assert_cmpfloat_with_epsilon (sam_hluq_fake (u + 0.01f, &p), u, 1e-6);
  /* the code's bug zeroes uniform-region values whose raw d ≥ N_L; with the
   * fix a value far in the uniform region decodes to the top level */
  g_assert_cmpfloat_with_epsilon (sam_hluq_fake (100.0f, &p),
      -0.2f + 0.5f + 7.0f / 15, 1e-5);
  /* search on post-GELU activations: beats uniform asymmetric at 4 bits */
  GRand *r = g_rand_new_with_seed (5);
  int T = 256, in = 32, out = 16;
  float *x = g_new (float, T * in), *xh = g_new (float, T * in),
      *W = g_new (float, out * in);
  for (int i = 0; i < T * in; i++)
    x[i] = gelu ((float) (1.2 * gauss (r) - 0.8));
  for (int i = 0; i < out * in; i++)
    W[i] = (float) gauss (r);
  SamHluqParams best;
  g_assert_cmpint (sam_hluq_search (x, T, in, W, out, 4, &best), ==, 0);
  for (int i = 0; i < T * in; i++)
    xh[i] = sam_hluq_fake (x[i], &best);
  double eh = mse (x, xh, T * in);
  SamObserverParams op;
  sam_observer_params_init (&op, SAM_OBSERVER_MINMAX, 4, false);
  SamQParams q = sam_observe (x, T * in, 1, &op);
  sam_quant_fake (x, xh, 1, T * in, SAM_GRAN_TENSOR, 0, &q);
  double eu = mse (x, xh, T * in);
  g_test_message ("HLUQ r %.2f g %.3f: mse %.3g vs uniform %.3g", best.r,
      best.g, eh, eu);
  g_assert_cmpfloat (eh, <, eu);
  g_free (x);
  g_free (xh);
  g_free (W);
  g_rand_free (r);
}

static void
test_drq (void)
{
  /* b = 8: M = 127; split = 1/8 */
  SamDrqSoftmaxParams p = {.split = 0.125f,.bits = 8,.released = false };
  SamDrqSoftmaxParams rel = p;
  rel.released = true;
  float d1 = 0.125f / 127;
  g_assert_cmpfloat_with_epsilon (sam_drq_softmax_fake (5.4f * d1, &p),
      5 * d1, 1e-9);
  g_assert_cmpfloat_with_epsilon (sam_drq_softmax_fake (0.5f, &p),
      nearbyintf (0.5f * 127) / 127, 1e-7);
  /* the released code adds the full low region above the split */
  g_assert_cmpfloat_with_epsilon (sam_drq_softmax_fake (0.5f, &rel),
      sam_drq_softmax_fake (0.5f, &p) + 0.125f, 1e-6);
  /* below the split the high term is round (split·M)/M ≠ 0 here */
  g_assert_cmpfloat_with_epsilon (sam_drq_softmax_fake (0.01f, &rel),
      sam_drq_softmax_fake (0.01f, &p) + nearbyintf (0.125f * 127) / 127,
      1e-6);
  /* search: rows whose values are all small pick a small split */
  GRand *r = g_rand_new_with_seed (6);
  int rows = 16, n = 256, dv = 4;
  float *z = g_new (float, rows * n), *A = g_new (float, rows * n),
      *V = g_new (float, n * dv);
  for (int i = 0; i < rows * n; i++)
    z[i] = (float) (0.5 * gauss (r));
  for (int i = 0; i < n * dv; i++)
    V[i] = (float) gauss (r);
  softmax_rows (z, A, rows, n);
  SamDrqSoftmaxParams best = {.released = false };
  sam_drq_softmax_search (A, rows, n, V, dv, 8, &best);
  float amax = 0;
  for (int i = 0; i < rows * n; i++)
    amax = fmaxf (amax, A[i]);
  g_test_message ("DRQ split 2^%d (max prob %.3g)", (int) log2f (best.split),
      amax);
  /* all probabilities small: the fine region covers (about) all of them */
  g_assert_cmpfloat (best.split, <=, 1.0f / 16);
  g_assert_cmpfloat (best.split, >=, amax / 2);
  /* post-GELU: fixed negative step, searched positive step */
  SamDrqGeluParams gp = {.dpos = 0.1f,.dneg = 0.16997f / 128,.bits = 8 };
  g_assert_cmpfloat_with_epsilon (sam_drq_gelu_fake (0.26f, &gp), 0.3f, 1e-6);
  g_assert_cmpfloat_with_epsilon (sam_drq_gelu_fake (100.0f, &gp), 12.7f,
      1e-5);
  g_assert_cmpfloat_with_epsilon (sam_drq_gelu_fake (-0.17f, &gp),
      -128 * gp.dneg, 1e-7);
  float *x = g_new (float, 4096);
  for (int i = 0; i < 4096; i++)
    x[i] = gelu ((float) (2 * gauss (r)));
  SamDrqGeluParams g8;
  sam_drq_gelu_search (x, 64, 64, NULL, 0, 8, &g8);
  g_assert_cmpfloat_with_epsilon (g8.dneg, 0.16997f / 128, 1e-9);
  g_assert_cmpfloat (g8.dpos, >, 0);
  g_test_message ("DRQ GELU dpos %.4g", g8.dpos);
  g_free (x);
  g_free (z);
  g_free (A);
  g_free (V);
  g_rand_free (r);
}

/* ---- grouping -------------------------------------------------------------- */

static void
test_cag (void)
{
  GRand *r = g_rand_new_with_seed (7);
  int T = 512, C = 64;
  /* four channel families (offset, spread) with distinct zero points
   * (128, 0, 255, 64): the code clusters unnormalised (s, z) points, where z
   * dominates, so families that share z would merge (QUANTIZATION.md §3.3) */
  const float fam[4][2] = { {0, 0.1f}, {2, 0.5f}, {-3, 1.0f}, {1, 2.0f} };
  float *x = g_new (float, T * C), *y = g_new (float, T * C);
  int family[64];
  for (int c = 0; c < C; c++)
    family[c] = g_rand_int_range (r, 0, 4);
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++)
      x[t * C + c] = fam[family[c]][0] + fam[family[c]][1] *
          (float) g_rand_double_range (r, -1, 1);
  SamCag *cag = sam_cag_fit (x, T, C, 8, 4, 0);
  g_assert_nonnull (cag);
  /* same family → same group */
  for (int a = 0; a < C; a++)
    for (int b = 0; b < C; b++)
      if (family[a] == family[b])
        g_assert_cmpint (cag->label[a], ==, cag->label[b]);
  sam_cag_fake (cag, x, y, T);
  double e_cag = mse (x, y, T * C);
  SamObserverParams op;
  sam_observer_params_init (&op, SAM_OBSERVER_MINMAX, 8, false);
  SamQParams pt, pc[64];
  sam_quant_calibrate (x, T, C, SAM_GRAN_TENSOR, 0, &op, &pt);
  sam_quant_fake (x, y, T, C, SAM_GRAN_TENSOR, 0, &pt);
  double e_t = mse (x, y, T * C);
  sam_quant_calibrate (x, T, C, SAM_GRAN_COL, 0, &op, pc);
  sam_quant_fake (x, y, T, C, SAM_GRAN_COL, 0, pc);
  double e_c = mse (x, y, T * C);
  g_test_message ("CAG mse %.3g (per-tensor %.3g, per-channel %.3g)", e_cag,
      e_t, e_c);
  g_assert_cmpfloat (e_cag, <, e_t / 2);
  g_assert_cmpfloat (e_cag, <, e_c * 1.5);
  int perm[64];
  sam_cag_permutation (cag, perm);
  for (int i = 1; i < C; i++)
    g_assert_cmpint (cag->label[perm[i - 1]], <=, cag->label[perm[i]]);
  sam_cag_free (cag);
  g_free (x);
  g_free (y);
  g_rand_free (r);
}

static void
test_rorq (void)
{
  GRand *r = g_rand_new_with_seed (8);
  int n = 8192;
  float *x = g_new (float, n), *y = g_new (float, n);
  for (int i = 0; i < n; i++)
    x[i] = (float) gauss (r);
  for (int i = 0; i < 8; i++)
    x[g_rand_int_range (r, 0, n)] = (float) (150 * (i % 2 ? 1 : -1) +
        g_rand_double_range (r, -20, 20));
  SamRorq q;
  g_assert_cmpint (sam_rorq_fit (x, n, 8, &q), ==, 0);
  g_assert_cmpint (q.n_bands, >=, 2);
  /* band 0: threshold μ + 3σ of |x| */
  double s = 0, s2 = 0;
  int cnt = 0;
  for (int i = 0; i < n; i++)
    if (x[i] != 0) {
      s += fabs (x[i]);
      s2 += x[i] * x[i];
      cnt++;
    }
  double mu = s / cnt, t0 = mu + 3 * sqrt (s2 / cnt - mu * mu);
  g_assert_cmpfloat_with_epsilon (q.thresh[0], t0, 1e-4);
  for (int i = 0; i < n; i++)
    y[i] = sam_rorq_fake (x[i], &q);
  double e_r = mse (x, y, n);
  SamQParams pt = sam_qparams_from_range (-170, 170, 8, false);
  float mn = 0, mx = 0;
  for (int i = 0; i < n; i++) {
    mn = fminf (mn, x[i]);
    mx = fmaxf (mx, x[i]);
  }
  pt = sam_qparams_from_range (mn, mx, 8, false);
  for (int i = 0; i < n; i++)
    y[i] = sam_fake_quant (x[i], &pt);
  double e_t = mse (x, y, n);
  g_test_message ("RORQ %d bands: mse %.3g vs per-tensor %.3g", q.n_bands,
      e_r, e_t);
  g_assert_cmpfloat (e_r, <, e_t / 10);
  g_free (x);
  g_free (y);
  g_rand_free (r);
}

/* ---- BIG ------------------------------------------------------------------- */

static void
test_big (void)
{
  GRand *r = g_rand_new_with_seed (9);
  int T = 512, C = 32, in = 16;
  float *X = g_new (float, T * in), *Wq = g_new (float, C * in),
      *Wk = g_new (float, C * in), *bq = g_new (float, C), *bk = g_new (float,
      C);
  for (int i = 0; i < T * in; i++)
    X[i] = (float) gauss (r);
  for (int i = 0; i < C * in; i++) {
    Wq[i] = (float) (gauss (r) / sqrt (in));
    Wk[i] = (float) (0.5 * gauss (r) / sqrt (in));
  }
  float sign[32];
  for (int c = 0; c < C; c++) {
    sign[c] = g_rand_boolean (r) ? 1.0f : -1.0f;
    bk[c] = 8.0f * sign[c];     /* each channel on one of the two peaks */
    bq[c] = (float) gauss (r);
  }
  float *Q = g_new (float, T * C), *K = g_new (float, T * C),
      *Q2 = g_new (float, T * C), *K2 = g_new (float, T * C);
#define PROJ(OUT, W, B) \
  for (int t = 0; t < T; t++) for (int c = 0; c < C; c++) { \
    double a = B[c]; \
    for (int i = 0; i < in; i++) { a += (double) W[c * in + i] * X[t * in + i]; } \
    OUT[t * C + c] = (float) a; }
  PROJ (Q, Wq, bq);
  PROJ (K, Wk, bk);
  g_assert_true (sam_big_detect (K, T * C));
  g_assert_false (sam_big_detect (Q, T * C));
  float gamma[32];
  sam_big_signs (K, T, C, gamma);
  for (int c = 0; c < C; c++)
    g_assert_cmpfloat (gamma[c], ==, sign[c]);
  sam_big_fold (gamma, C, in, Wq, bq, Wk, bk);
  PROJ (Q2, Wq, bq);
  PROJ (K2, Wk, bk);
#undef PROJ
  g_assert_false (sam_big_detect (K2, T * C));
  /* exact: q·k per head (4 heads of 8) unchanged to float precision */
  double worst = 0;
  for (int a = 0; a < 64; a++)
    for (int b = 0; b < 64; b++)
      for (int h = 0; h < 4; h++) {
        double d0 = 0, d1 = 0, mag = 0;
        for (int c = 8 * h; c < 8 * h + 8; c++) {
          d0 += (double) Q[a * C + c] * K[b * C + c];
          d1 += (double) Q2[a * C + c] * K2[b * C + c];
          mag += fabs ((double) Q[a * C + c] * K[b * C + c]);
        }
        worst = fmax (worst, fabs (d0 - d1) / (mag + 1e-30));
      }
  g_test_message ("BIG q.k relative change %.3g", worst);
  g_assert_cmpfloat (worst, <, 1e-6);
  /* per-tensor 8-bit quantization error of k drops */
  SamObserverParams op;
  sam_observer_params_init (&op, SAM_OBSERVER_MINMAX, 8, false);
  float *y = g_new (float, T * C);
  SamQParams p = sam_observe (K, T * C, 1, &op);
  sam_quant_fake (K, y, 1, T * C, SAM_GRAN_TENSOR, 0, &p);
  double e0 = mse (K, y, T * C);
  p = sam_observe (K2, T * C, 1, &op);
  sam_quant_fake (K2, y, 1, T * C, SAM_GRAN_TENSOR, 0, &p);
  double e1 = mse (K2, y, T * C);
  g_test_message ("BIG k quant mse %.3g -> %.3g", e0, e1);
  /* the PTQ4SAM range always contains 0: [−10, 10] becomes [0, 10], so the
   * step halves and the error drops about 4× */
  g_assert_cmpfloat (e1, <, e0 / 3);
  g_free (y);
  g_free (X);
  g_free (Wq);
  g_free (Wk);
  g_free (bq);
  g_free (bk);
  g_free (Q);
  g_free (K);
  g_free (Q2);
  g_free (K2);
  g_rand_free (r);
}

/* ---- ACNR ------------------------------------------------------------------ */

/* random orthonormal columns [n, k] by Gram-Schmidt */
static void
orthonormal (GRand * r, int n, int k, double *Q)
{
  for (int j = 0; j < k; j++) {
    for (int i = 0; i < n; i++)
      Q[i * k + j] = gauss (r);
    for (int p = 0; p < j; p++) {
      double d = 0;
      for (int i = 0; i < n; i++)
        d += Q[i * k + j] * Q[i * k + p];
      for (int i = 0; i < n; i++)
        Q[i * k + j] -= d * Q[i * k + p];
    }
    double nn = 0;
    for (int i = 0; i < n; i++)
      nn += Q[i * k + j] * Q[i * k + j];
    for (int i = 0; i < n; i++)
      Q[i * k + j] /= sqrt (nn);
  }
}

static void
test_svd (void)
{
  GRand *r = g_rand_new_with_seed (10);
  /* odd lengths exercise the 4-lane column dots' remainder loop */
  int shapes[][2] = { {7, 5}, {5, 7}, {16, 16}, {37, 11}, {11, 37} };
  for (int s = 0; s < 5; s++) {
    int m = shapes[s][0], n = shapes[s][1], k = MIN (m, n);
    double *A = g_new (double, m * n), *U = g_new (double, m * k),
        *S = g_new (double, k), *Vt = g_new (double, k * n);
    for (int i = 0; i < m * n; i++)
      A[i] = gauss (r);
    sam_quant_svd (A, m, n, U, S, Vt);
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double a = 0;
        for (int p = 0; p < k; p++)
          a += U[i * k + p] * S[p] * Vt[p * n + j];
        g_assert_cmpfloat (fabs (a - A[i * n + j]), <, 1e-10);
      }
    for (int p = 1; p < k; p++)
      g_assert_cmpfloat (S[p], <=, S[p - 1]);
    g_free (A);
    g_free (U);
    g_free (S);
    g_free (Vt);
  }
  g_rand_free (r);
}

static void
test_acnr (void)
{
  GRand *r = g_rand_new_with_seed (11);
  int in = 24, out = 32, k = 24, top = 20, T = 256;
  double *P = g_new (double, out * k), *Q = g_new (double, in * k);
  orthonormal (r, out, k, P);
  orthonormal (r, in, k, Q);
  double sig[24];
  for (int j = 0; j < k; j++)
    sig[j] = j < top ? 2.0 - 0.005 * j : 1e-3;
  float *W = g_new (float, out * in), *W0 = g_new (float, out * in);
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++) {
      double a = 0;
      for (int j = 0; j < k; j++)
        a += P[o * k + j] * sig[j] * Q[i * k + j];
      W[o * in + i] = (float) a;
    }
  memcpy (W0, W, sizeof (float) * out * in);
  /* activations live in the span of the top input directions; the
   * quantization error dX is small and isotropic */
  float *X = g_new (float, T * in), *dX = g_new (float, T * in);
  for (int t = 0; t < T; t++) {
    double z[24];
    for (int j = 0; j < top; j++)
      z[j] = gauss (r);
    for (int i = 0; i < in; i++) {
      double a = 0;
      for (int j = 0; j < top; j++)
        a += z[j] * Q[i * k + j];
      X[t * in + i] = (float) a;
      dX[t * in + i] = (float) (0.01 * gauss (r));
    }
  }
  SamAcnrParams ap;
  sam_acnr_params_init (&ap);
  double kb, ka;
  g_assert_cmpint (sam_acnr_apply (W, out, in, dX, T, &ap, &kb, &ka), ==, 1);
  double kw = sam_quant_condition_number (W, out, in);
  g_test_message ("ACNR kappa %.4g -> %.4g (recomputed %.4g)", kb, ka, kw);
  g_assert_cmpfloat (fabs (kb / 2000.0 - 1), <, 0.01);
  g_assert_cmpfloat (ka, <, kb / 100);
  g_assert_cmpfloat (fabs (kw / ka - 1), <, 1e-3);
  /* layer output on the calibration activations: unchanged to 1e-5 */
  double num = 0, den = 0;
  for (int t = 0; t < T; t++)
    for (int o = 0; o < out; o++) {
      double a = 0, b = 0;
      for (int i = 0; i < in; i++) {
        a += (double) W[o * in + i] * X[t * in + i];
        b += (double) W0[o * in + i] * X[t * in + i];
      }
      num += (a - b) * (a - b);
      den += b * b;
    }
  g_test_message ("ACNR output relative change %.3g", sqrt (num / den));
  g_assert_cmpfloat (sqrt (num / den), <, 1e-5);
  /* κ < 100: untouched */
  memcpy (W, W0, sizeof (float) * out * in);
  for (int j = top; j < k; j++)
    sig[j] = 0.5;
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++) {
      double a = 0;
      for (int j = 0; j < k; j++)
        a += P[o * k + j] * sig[j] * Q[i * k + j];
      W[o * in + i] = W0[o * in + i] = (float) a;
    }
  g_assert_cmpint (sam_acnr_apply (W, out, in, dX, T, &ap, &kb, &ka), ==, 0);
  g_assert_cmpmem (W, sizeof (float) * out * in, W0,
      sizeof (float) * out * in);
  g_free (P);
  g_free (Q);
  g_free (W);
  g_free (W0);
  g_free (X);
  g_free (dX);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quant/uniform/formula", test_uniform_formula);
  g_test_add_func ("/quant/uniform/observers", test_observers);
  g_test_add_func ("/quant/uniform/granularity", test_granularity);
  g_test_add_func ("/quant/fminbound", test_fminbound);
  g_test_add_func ("/quant/agq/formula", test_agq_formula);
  g_test_add_func ("/quant/agq/search", test_agq_search);
  g_test_add_func ("/quant/lnq", test_lnq);
  g_test_add_func ("/quant/hluq", test_hluq);
  g_test_add_func ("/quant/drq", test_drq);
  g_test_add_func ("/quant/cag", test_cag);
  g_test_add_func ("/quant/rorq", test_rorq);
  g_test_add_func ("/quant/big", test_big);
  g_test_add_func ("/quant/svd", test_svd);
  g_test_add_func ("/quant/acnr", test_acnr);
  return g_test_run ();
}
