/* test-orc.c — sam-orc.orc kernels (JIT or backup, whatever ORC picks; the
 * test also runs under ORC_CODE=backup) against their C references in
 * requant.c, bit for bit, on random data with odd lengths, denormals and
 * rounding ties; plus the accuracy of the softmax polynomial and of the AGQ
 * codes against the float formulas they implement. sam_quant_f32_u8 runs
 * AVX-512 on AVX-512 VNNI machines and AVX2 on AVX2 ones;
 * quant-orc-force-avx2 and quant-orc-force-ref keep the AVX2 path and the
 * ORC kernel under test there. On aarch64 the wrappers run the references
 * (or NEON forms of them) instead of ORC's code (orc-call.h). */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "kernels/blend.h"
#include "kernels/normalize.h"
#include "kernels/requant.h"
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

static const int lens[] = { 0, 1, 3, 7, 8, 15, 16, 17, 31, 64, 65, 255, 1000,
  4097
};

#define NMAX 4097

static float
rand_float (GRand * r)
{
  switch (g_rand_int_range (r, 0, 8)) {
    case 0:{                   /* denormal, either sign */
      uint32_t u = g_rand_int_range (r, 1, 0x7fffff) |
          (g_rand_boolean (r) ? 0x80000000u : 0);
      float f;
      memcpy (&f, &u, 4);
      return f;
    }
    case 1:                    /* exact half-integers: rounding ties */
      return (float) g_rand_int_range (r, -300, 300) + 0.5f;
    case 2:
      return 0.0f;
    default:
      return (float) g_rand_double_range (r, -200, 200);
  }
}

static void
test_requant (void)
{
  GRand *r = g_rand_new_with_seed (7);
  int32_t *s = g_new (int32_t, NMAX);
  int8_t *a = g_new (int8_t, NMAX), *b = g_new (int8_t, NMAX);
  uint8_t *ua = g_new (uint8_t, NMAX), *ub = g_new (uint8_t, NMAX);
  for (int it = 0; it < 40; it++)
    for (unsigned li = 0; li < G_N_ELEMENTS (lens); li++) {
      int n = lens[li];
      for (int i = 0; i < n; i++)
        s[i] = it % 4 == 0 ? (int32_t) g_rand_int (r)
            : g_rand_int_range (r, -(1 << 20), 1 << 20);
      int32_t mult, shift;
      double real = pow (2.0, g_rand_double_range (r, -22, 0));
      g_assert_cmpint (sam_requant_params (real, &mult, &shift), ==, 0);
      int32_t zp = g_rand_int_range (r, -128, 256);
      sam_requant_s32_s8_ref (a, s, mult, shift, zp, n);
      sam_requant_s32_s8 (b, s, mult, shift, zp, n);
      g_assert_cmpmem (a, n, b, n);
      sam_requant_s32_u8_ref (ua, s, mult, shift, zp, n);
      sam_requant_s32_u8 (ub, s, mult, shift, zp, n);
      g_assert_cmpmem (ua, n, ub, n);
      /* and the formula itself, in double */
      for (int i = 0; i < n; i++) {
        double v = floor (s[i] * ((double) mult / ldexp (1.0, shift)) + 0.5)
            + zp;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        g_assert_cmpint (ua[i], ==, (int) v);
      }
    }
  /* sam_requant_params: mult · 2^−shift ≈ real to 2^−30 relative */
  for (int i = 0; i < 1000; i++) {
    double real = pow (2.0, g_rand_double_range (r, -30, 20));
    int32_t m, sh;
    g_assert_cmpint (sam_requant_params (real, &m, &sh), ==, 0);
    g_assert_cmpfloat (fabs (m * ldexp (1.0, -sh) / real - 1.0), <, 1e-9);
    g_assert_cmpint (m, >=, 1 << 30);
  }
  g_free (s);
  g_free (a);
  g_free (b);
  g_free (ua);
  g_free (ub);
  g_rand_free (r);
}

static void
test_dequant_quant (void)
{
  GRand *r = g_rand_new_with_seed (8);
  int8_t *s8 = g_new (int8_t, NMAX), *q8a = g_new (int8_t, NMAX),
      *q8b = g_new (int8_t, NMAX);
  uint8_t *u8 = g_new (uint8_t, NMAX), *qa = g_new (uint8_t, NMAX),
      *qb = g_new (uint8_t, NMAX);
  float *fa = g_new (float, NMAX), *fb = g_new (float, NMAX),
      *x = g_new (float, NMAX);
  for (int it = 0; it < 40; it++)
    for (unsigned li = 0; li < G_N_ELEMENTS (lens); li++) {
      int n = lens[li];
      for (int i = 0; i < n; i++) {
        s8[i] = (int8_t) g_rand_int (r);
        u8[i] = (uint8_t) g_rand_int (r);
        x[i] = rand_float (r);
      }
      int32_t zp = g_rand_int_range (r, -128, 256);
      /* tiny scales reach denormal products: ORC flushes them */
      float scale = it % 5 == 0 ? 1e-40f * (float) (it + 1)
          : (float) g_rand_double_range (r, 1e-4, 1.0);
      sam_dequant_s8_f32_ref (fa, s8, zp, scale, n);
      sam_dequant_s8_f32 (fb, s8, zp, scale, n);
      g_assert_cmpmem (fa, 4 * n, fb, 4 * n);
      sam_dequant_u8_f32_ref (fa, u8, zp, scale, n);
      sam_dequant_u8_f32 (fb, u8, zp, scale, n);
      g_assert_cmpmem (fa, 4 * n, fb, 4 * n);
      float inv = it % 3 == 0 ? 1.0f : (float) g_rand_double_range (r, 0.1,
          10.0);
      int32_t zq = g_rand_int_range (r, 0, 256);
      sam_quant_f32_u8_ref (qa, x, inv, zq, n);
      sam_quant_f32_u8 (qb, x, inv, zq, n);
      g_assert_cmpmem (qa, n, qb, n);
      int32_t zs = g_rand_int_range (r, -128, 128);
      sam_quant_f32_s8_ref (q8a, x, inv, zs, n);
      sam_quant_f32_s8 (q8b, x, inv, zs, n);
      g_assert_cmpmem (q8a, n, q8b, n);
      if (inv == 1.0f && zq == 0)
        for (int i = 0; i < n; i++)     /* round half up, clamped */
          g_assert_cmpint (qa[i], ==, (int) fminf (fmaxf (floorf (x[i] +
                          0.5f), 0), 255));
    }
  g_free (s8);
  g_free (q8a);
  g_free (q8b);
  g_free (u8);
  g_free (qa);
  g_free (qb);
  g_free (fa);
  g_free (fb);
  g_free (x);
  g_rand_free (r);
}

/* sam_quant_f32_u8 (AVX-512 on AVX-512 VNNI machines, AVX2 on AVX2 and
 * AVX-VNNI ones, ORC otherwise: the quant-orc-force-avx2 and -force-ref
 * runs take the other two sides) on the values the random
 * test never draws: NaN of both signs, ±inf, ±FLT_MAX, denormals of both
 * signs, ties at both clamp ends, with scales that overflow the product,
 * zero it, or are denormal themselves; every length's tail. */
static void
test_quant_specials (void)
{
  static const uint32_t bits[] = { 0x7fc00000u, 0xffc00000u, 0x7f800001u,
    0x7f800000u, 0xff800000u, 0x7f7fffffu, 0xff7fffffu, 0x00000001u,
    0x80000001u, 0x007fffffu, 0x00000000u, 0x80000000u
  };
  static const float vals[] = { 254.5f, 255.49f, 255.5f, 256.f, -0.5f,
    -0.49f, 0.49f, 0.5f, 1e-30f, -1e-30f, 3e38f
  };
  /* 0x1p100 and either side of it: the AVX-512 and AVX2 paths' bound for
   * leaving out the denormal flushes */
  static const float invs[] = { 1.0f, 1e30f, 3e38f, 0.0f, 1e-40f, 3.5f,
    -2.0f, 0x1.fffffep99f, 0x1p100f, -0x1p100f, 0x1p126f
  };
  float x[64];
  uint8_t qa[64], qb[64];
  int n = 0;
#if defined(__x86_64__)
  /* ORC 0.4.33's JIT code leaves FTZ and DAZ set in MXCSR after a call
   * (0x1f80 -> 0x9fc0 measured here), which would hide a missing denormal
   * flush in a SIMD path: clear them for this test */
  const unsigned csr = _mm_getcsr ();
  _mm_setcsr (csr & ~0x8040u);
#endif
  for (int i = 0; i < 64; i++) {
    uint32_t u = bits[i % G_N_ELEMENTS (bits)];
    if (i % 3 == 2)
      x[i] = vals[i % G_N_ELEMENTS (vals)];
    else
      memcpy (&x[i], &u, 4);
  }
  for (unsigned ii = 0; ii < G_N_ELEMENTS (invs); ii++)
    for (int zq = 0; zq < 256; zq += 51)
      for (int len = 0; len <= 64; len += (len < 20 ? 1 : 11)) {
        memset (qa, 0xcd, sizeof qa);
        memset (qb, 0xcd, sizeof qb);
        sam_quant_f32_u8_ref (qa, x, invs[ii], zq, len);
        sam_quant_f32_u8 (qb, x, invs[ii], zq, len);
        g_assert_cmpmem (qa, sizeof qa, qb, sizeof qb);
        n++;
      }
#if defined(__x86_64__)
  _mm_setcsr (csr);
#endif
  g_test_message ("%d comparisons", n);
}

/* The ORC wrappers leave the caller's MXCSR as it was (ORC's JIT code sets
 * FTZ/DAZ and does not restore them; the engine runs on threads it does not
 * own, e.g. a GStreamer streaming thread). */
#if defined(__aarch64__) && defined(__GNUC__)
static unsigned long
get_fpcr (void)
{
  unsigned long v;
  __asm__ volatile ("mrs %0, fpcr" : "=r" (v));
  return v;
}

static void
set_fpcr (unsigned long v)
{
  __asm__ volatile ("msr fpcr, %0" : : "r" (v));
}
#endif

/* ... and on aarch64 the caller's FPCR (the wrappers run C or NEON there,
 * not ORC's code: see orc-call.h) */
static void
test_mxcsr_kept (void)
{
#if defined(__x86_64__) || (defined(__aarch64__) && defined(__GNUC__))
  float x[40], y[40];
  int8_t q8[40];
  uint8_t u8[40];
  int16_t s16[40];
  int32_t acc[40];
#if defined(__x86_64__)
  const unsigned csr = _mm_getcsr ();
  const unsigned ieee = csr & ~0x8040u;
#define KEPT(call) do { _mm_setcsr (ieee); call; \
    g_assert_cmphex (_mm_getcsr (), ==, ieee); } while (0)
#else
  const unsigned long csr = get_fpcr ();
  const unsigned long ieee = csr & ~(1ul << 24);
#define KEPT(call) do { set_fpcr (ieee); call; \
    g_assert_cmphex (get_fpcr (), ==, ieee); } while (0)
#endif
  for (int i = 0; i < 40; i++) {
    x[i] = (float) (i - 20) * 0.37f;
    acc[i] = (i - 20) * 1000;
  }
  KEPT (sam_requant_s32_s8 (q8, acc, 1 << 20, 24, 3, 40));
  KEPT (sam_requant_s32_u8 (u8, acc, 1 << 20, 24, 3, 40));
  KEPT (sam_dequant_s8_f32 (y, q8, 3, 0.5f, 40));
  KEPT (sam_dequant_u8_f32 (y, u8, 3, 0.5f, 40));
  KEPT (sam_quant_f32_u8 (u8, x, 2.0f, 128, 40));
  KEPT (sam_quant_f32_s8 (q8, x, 2.0f, 0, 40));
  KEPT (sam_exp2_sub_f32 (y, x, 8.0f, 1.4427f, 40));
  KEPT (sam_exp2_p15_f32_s16 (s16, x, 8.0f, 1.4427f, 40));
  KEPT (sam_scale_f32 (y, x, 0.25f, 40));
  KEPT (sam_log2q_f32_u8 (u8, x, 8.0f, 1.4427f, 0.f, 2.f, 15.f, 40));
  KEPT (sam_softmax_row_f32 (y, x, 0.125f, 40));
  KEPT (sam_softmax_row_f32 (y, y, 0.125f, 40));
  KEPT (sam_agq_encode_row (u8, x, 0.125f, 1.0f, 2, 4, 40));
#undef KEPT
#if defined(__x86_64__)
  _mm_setcsr (csr);
#else
  set_fpcr (csr);
#endif
#else
  g_test_skip ("x86 and aarch64 only");
#endif
}

/* The exponential kernels on the values a row's scores never hold but
 * the kernels must still treat as their references do: NaN of both signs
 * (the float → int conversion differs there between ISAs), infinities,
 * huge and denormal values, against maxima that make s − max NaN or
 * infinite; every tail length. Only where these are our NEON forms
 * (aarch64): ORC's x86 code converts NaN and out-of-range floats to
 * INT32_MIN where its own backup C (and our reference) saturates by the
 * sign, so ORC and the reference differ there on values no score holds. */
static void
test_exp2_specials (void)
{
#if !defined(__aarch64__)
  g_test_skip ("aarch64 only (ORC's x86 conversion of NaN differs)");
  return;
#endif
  static const uint32_t bits[] = { 0x7fc00000u, 0xffc00000u, 0x7f800000u,
    0xff800000u, 0x7f7fffffu, 0xff7fffffu, 0x00000001u, 0x80000001u,
    0x00000000u, 0x3f800000u, 0xc2f00000u, 0x42f00000u
  };
  static const float maxes[] = { 0.f, 1.f, INFINITY, -INFINITY, 3e38f };
  float x[40], a[40], b[40];
  int16_t pa[40], pb[40];
  for (int i = 0; i < 40; i++)
    memcpy (&x[i], &bits[(i * 7) % G_N_ELEMENTS (bits)], 4);
  for (unsigned mi = 0; mi < G_N_ELEMENTS (maxes); mi++)
    for (int n = 0; n <= 40; n += (n < 12 ? 1 : 7)) {
      sam_exp2_sub_f32_ref (a, x, maxes[mi], 1.4427f, n);
      sam_exp2_sub_f32 (b, x, maxes[mi], 1.4427f, n);
      g_assert_cmpmem (a, 4 * n, b, 4 * n);
      const int32_t sa = sam_exp2_p15_f32_s16_ref (pa, x, maxes[mi], 1.4427f,
          n);
      const int32_t sb = sam_exp2_p15_f32_s16 (pb, x, maxes[mi], 1.4427f, n);
      g_assert_cmpmem (pa, 2 * n, pb, 2 * n);
      g_assert_cmpint (sa, ==, sb);
    }
}

static void
test_softmax (void)
{
  GRand *r = g_rand_new_with_seed (9);
  float *x = g_new (float, NMAX), *a = g_new (float, NMAX),
      *b = g_new (float, NMAX);
  double worst = 0;
  for (int it = 0; it < 30; it++)
    for (unsigned li = 0; li < G_N_ELEMENTS (lens); li++) {
      int n = lens[li];
      double spread = it % 3 == 0 ? 200.0 : 8.0;
      for (int i = 0; i < n; i++)
        x[i] = it % 7 == 0 ? rand_float (r)
            : (float) g_rand_double_range (r, -spread, spread);
      float sc = 1.0f / sqrtf ((float) (16 << (it % 3)));
      float mx = -INFINITY;
      for (int i = 0; i < n; i++)
        mx = fmaxf (mx, x[i]);
      /* element kernels */
      sam_exp2_sub_f32_ref (a, x, mx, sc * 1.4426950408889634f, n);
      sam_exp2_sub_f32 (b, x, mx, sc * 1.4426950408889634f, n);
      g_assert_cmpmem (a, 4 * n, b, 4 * n);
      sam_scale_f32_ref (a, x, sc, n);
      sam_scale_f32 (b, x, sc, n);
      g_assert_cmpmem (a, 4 * n, b, 4 * n);
      /* 15-bit numerators of the integer attention: bit-exact, and
       * within 0.5 of 32767 · 2^y */
      {
        int16_t *pa = (int16_t *) b, *pb = pa + n;
        sam_exp2_sub_f32_ref (a, x, mx, sc * 1.4426950408889634f, n);
        int32_t sa = sam_exp2_p15_f32_s16_ref (pa, x, mx,
            sc * 1.4426950408889634f, n);
        int32_t sb = sam_exp2_p15_f32_s16 (pb, x, mx,
            sc * 1.4426950408889634f, n);
        g_assert_cmpmem (pa, 2 * n, pb, 2 * n);
        g_assert_cmpint (sa, ==, sb);
        int64_t s2 = 0;
        for (int i = 0; i < n; i++) {
          g_assert_cmpfloat (fabs (pa[i] - 32767.0 * a[i]), <=, 0.5 + 1e-3);
          s2 += pa[i];
        }
        g_assert_cmpint (s2, ==, sa);
      }
      /* rows, out of place and in place */
      sam_softmax_row_f32_ref (a, x, sc, n);
      sam_softmax_row_f32 (b, x, sc, n);
      g_assert_cmpmem (a, 4 * n, b, 4 * n);
      memcpy (b, x, 4 * n);
      sam_softmax_row_f32 (b, b, sc, n);
      g_assert_cmpmem (a, 4 * n, b, 4 * n);
      /* accuracy against expf in double */
      double sum = 0;
      for (int i = 0; i < n; i++)
        sum += exp (((double) x[i] - mx) * sc);
      for (int i = 0; i < n; i++) {
        double p = exp (((double) x[i] - mx) * sc) / sum;
        /* the float argument y = (x − max)·scale·log2 e carries a rounding
         * error of ~|y|·2^−24, amplified by ln 2 in 2^y: scale it out */
        double y = fabs (((double) x[i] - mx) * sc * 1.4426950408889634);
        if (p > 1e-30)
          worst = fmax (worst, fabs (a[i] - p) / p / (1.0 + y / 2.0));
      }
    }
  g_test_message ("softmax worst relative error %.3g", worst);
  g_assert_cmpfloat (worst, <, 3e-6);
  g_free (x);
  g_free (a);
  g_free (b);
  g_rand_free (r);
}

static void
test_agq_codes (void)
{
  GRand *r = g_rand_new_with_seed (10);
  float *x = g_new (float, NMAX), *p = g_new (float, NMAX);
  uint8_t *a = g_new (uint8_t, NMAX), *b = g_new (uint8_t, NMAX);
  int off = 0, total = 0;
  for (int it = 0; it < 24; it++)
    for (unsigned li = 1; li < G_N_ELEMENTS (lens); li++) {
      int n = lens[li];
      for (int i = 0; i < n; i++)
        x[i] = (float) g_rand_double_range (r, -10, 10);
      int tau = 1 << (it % 3), bits = it % 2 ? 8 : 4;
      float sa = (float) g_rand_double_range (r, 0.05, 1.0);
      sam_agq_encode_row_ref (a, x, 0.5f, sa, tau, bits, n);
      sam_agq_encode_row (b, x, 0.5f, sa, tau, bits, n);
      g_assert_cmpmem (a, n, b, n);
      /* the code is round (−τ log2 (p / s_a)) clamped, 2^b − 1 = zero */
      sam_softmax_row_f32_ref (p, x, 0.5f, n);
      int qmax = (1 << bits) - 1;
      for (int i = 0; i < n; i++) {
        double qr = -tau * log2 (p[i] / sa);
        int q = (int) floor (qr + 0.5);
        q = q < 0 ? 0 : q > qmax ? qmax : q;
        /* allow the ±1 flip right at a rounding boundary */
        double frac = qr + 0.5 - floor (qr + 0.5);
        if (a[i] != q) {
          g_assert_true (frac < 1e-3 || frac > 1 - 1e-3);
          off++;
        }
        total++;
      }
    }
  g_test_message ("AGQ codes off by one at a boundary: %d / %d", off, total);
  g_free (x);
  g_free (p);
  g_free (a);
  g_free (b);
  g_rand_free (r);
}

/* The overlay blends against their C references: every alpha in
 * [0, 256] (0 and 256 at the ends: the byte kept, the colour), bytes and
 * colours at 0 and 255, odd lengths; and the two ends checked as values.
 * In place over the whole row, as the element calls them. */
static void
test_blend (void)
{
  GRand *r = g_rand_new_with_seed (23);
  uint8_t *d = g_new (uint8_t, NMAX), *e = g_new (uint8_t, NMAX);
  uint8_t *c = g_new (uint8_t, NMAX);
  uint16_t *a = g_new (uint16_t, NMAX);
  for (guint li = 0; li < G_N_ELEMENTS (lens); li++)
    for (int rep = 0; rep < 4; rep++) {
      const int n = lens[li];
      for (int i = 0; i < n; i++) {
        const int k = g_rand_int_range (r, 0, 10);
        d[i] = k == 0 ? 0 : k == 1 ? 255 : (uint8_t) g_rand_int (r);
        c[i] = (uint8_t) (rep == 0 ? 0 : rep == 1 ? 255 : g_rand_int (r));
        a[i] = (uint16_t) (k == 2 ? 0 : k == 3 ? 256 :
            g_rand_int_range (r, 0, 257));
      }
      const uint8_t col = n ? c[0] : 0;
      memcpy (e, d, n);
      sam_blend_u8 (d, a, col, n);
      sam_blend_u8_ref (e, a, col, n);
      g_assert_cmpmem (d, n, e, n);
      sam_blend_u8_colors (d, a, c, n);
      sam_blend_u8_colors_ref (e, a, c, n);
      g_assert_cmpmem (d, n, e, n);
    }
  /* a = 0 keeps the byte, a = 256 gives the colour */
  d[0] = 200;
  d[1] = 17;
  a[0] = 0;
  a[1] = 256;
  sam_blend_u8 (d, a, 99, 2);
  g_assert_cmpuint (d[0], ==, 200);
  g_assert_cmpuint (d[1], ==, 99);
  g_free (d);
  g_free (e);
  g_free (c);
  g_free (a);
  g_rand_free (r);
}

/* The input normalization against its C reference, bit for bit: every
 * byte value under each of SAM's three channel means and stds, odd
 * lengths. */
static void
test_normalize (void)
{
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float stdv[3] = { 0.229f, 0.224f, 0.225f };
  GRand *r = g_rand_new_with_seed (29);
  uint8_t *s = g_new (uint8_t, NMAX);
  float *m = g_new (float, NMAX), *sd = g_new (float, NMAX);
  float *a = g_new (float, NMAX), *b = g_new (float, NMAX);
  for (int i = 0; i < NMAX; i++) {
    m[i] = mean[i % 3];
    sd[i] = stdv[i % 3];
  }
  for (guint li = 0; li < G_N_ELEMENTS (lens); li++) {
    const int n = lens[li];
    for (int i = 0; i < n; i++)
      s[i] = (uint8_t) (n >= 768 ? (guint32) i / 3 : g_rand_int (r));
    sam_normalize_u8_f32 (a, s, m, sd, n);
    sam_normalize_u8_f32_ref (b, s, m, sd, n);
    g_assert_cmpmem (a, sizeof (float) * n, b, sizeof (float) * n);
  }
  g_free (s);
  g_free (m);
  g_free (sd);
  g_free (a);
  g_free (b);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quant/orc/requant", test_requant);
  g_test_add_func ("/quant/orc/dequant-quant", test_dequant_quant);
  g_test_add_func ("/quant/orc/quant-specials", test_quant_specials);
  g_test_add_func ("/quant/orc/softmax", test_softmax);
  g_test_add_func ("/quant/orc/exp2-specials", test_exp2_specials);
  g_test_add_func ("/quant/orc/mxcsr-kept", test_mxcsr_kept);
  g_test_add_func ("/quant/orc/agq-codes", test_agq_codes);
  g_test_add_func ("/quant/orc/blend", test_blend);
  g_test_add_func ("/quant/orc/normalize", test_normalize);
  return g_test_run ();
}
