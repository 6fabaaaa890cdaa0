/* test-attention-i8.c — the integer attention kernel: every variant the
 * CPU supports against the oracle sam_k_attention_i8_ref bit for bit (odd
 * sizes, strides, several heads, Nk around the 256-key tile, every post-
 * softmax quantizer, with 15- and 8-bit P), 1 vs 2 threads identical, the
 * P·V overflow edge
 * (flat rows of P = 32767 against v − zv = 255 over whole tiles), and the
 * kernel against a float fake-quantization reference of the same
 * quantizers (q̂ = s (q − z), softmax in double, the quantizer's p̂, P̂·V̂ in
 * double) within an error bound; and the dump of a call (attention-i8-
 * dump.h) read back the same, its corrupt forms refused. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "kernels/attention-i8.h"
#include "kernels/attention-i8-dump.h"
#include "kernels/gemm-i8.h"
#include "kernels/requant.h"

typedef struct {
  int64_t Nq, Nk, ldq, ldk, ldv, ldo;
  int H, D, Dv;
  uint8_t *q, *k, *v;
} Case;

static void
case_init (Case * c, GRand * r, int64_t Nq, int64_t Nk, int H, int D, int Dv,
    int flat)
{
  c->Nq = Nq;
  c->Nk = Nk;
  c->H = H;
  c->D = D;
  c->Dv = Dv;
  c->ldq = H * D + g_rand_int_range (r, 0, 5);
  c->ldk = H * D + g_rand_int_range (r, 0, 5);
  c->ldv = H * Dv + g_rand_int_range (r, 0, 5);
  c->ldo = H * Dv + g_rand_int_range (r, 0, 3);
  c->q = g_malloc (Nq * c->ldq + 1);
  c->k = g_malloc (Nk * c->ldk + 1);
  c->v = g_malloc (Nk * c->ldv + 1);
  for (int64_t i = 0; i < Nq * c->ldq; i++)
    c->q[i] = (uint8_t) g_rand_int (r);
  for (int64_t i = 0; i < Nk * c->ldk; i++)
    c->k[i] = flat ? 200 : (uint8_t) g_rand_int (r);
  for (int64_t i = 0; i < Nk * c->ldv; i++)
    c->v[i] = flat ? 255 : (uint8_t) g_rand_int (r);
}

static void
case_clear (Case * c)
{
  g_free (c->q);
  g_free (c->k);
  g_free (c->v);
}

static float *
run (const Case * c, const SamAttI8Params * p, int isa, SamPool * pool)
{
  float *o = g_new0 (float, c->Nq * c->ldo + 1);
  if (isa < 0)
    sam_k_attention_i8_ref (c->q, c->ldq, c->k, c->ldk, c->v, c->ldv, o,
        c->ldo, c->Nq, c->Nk, c->H, c->D, c->Dv, p);
  else
    sam_k_attention_i8_isa (isa, pool, c->q, c->ldq, c->k, c->ldk, c->v,
        c->ldv, o, c->ldo, c->Nq, c->Nk, c->H, c->D, c->Dv, p);
  return o;
}

static gboolean
same (const Case * c, const float *a, const float *b)
{
  for (int64_t i = 0; i < c->Nq; i++)
    if (memcmp (a + i * c->ldo, b + i * c->ldo,
            (size_t) c->H * c->Dv * sizeof (float)) != 0)
      return FALSE;
  return TRUE;
}

static SamAttI8Params
params (SamAttPKind kind, int tau, bool p8, GRand * r)
{
  SamAttI8Params p = {
    .sq = 0.02f,.sk = 0.025f,.sv = 0.01f,
    .zq = g_rand_int_range (r, 100, 156),.zk = g_rand_int_range (r, 100, 156),
    .zv = g_rand_int_range (r, 0, 256),.pkind = kind,.p8 = p8,
  };
  p.agq = (SamAgqParams) {
  0.5f, tau, 8};
  p.lnq = (SamLnqParams) {
  0.6f, 20.f, 8};
  p.drq = (SamDrqSoftmaxParams) {
  1.f / 64, 8, false};
  return p;
}

/* the quantizer settings: the last three with 8-bit P (the p8 of
 * attention-i8.h: the AVX-512 byte-plane path for NONE, the conversion
 * after the quantizer for the others) */
static const SamAttPKind kinds[] = { SAM_ATT_P_NONE, SAM_ATT_P_AGQ,
  SAM_ATT_P_AGQ, SAM_ATT_P_AGQ, SAM_ATT_P_LNQ, SAM_ATT_P_DRQ,
  SAM_ATT_P_NONE, SAM_ATT_P_AGQ, SAM_ATT_P_LNQ
};
static const int taus[] = { 1, 1, 2, 4, 1, 1, 1, 2, 1 };
static const bool p8s[] = { 0, 0, 0, 0, 0, 0, 1, 1, 1 };

/* Every shape × quantizer kind: each supported ISA, without and with a
 * pool, against the oracle; q/k scales multiplied by @peak. */
static void
check_against_oracle (const int (*shapes)[5], guint n_shapes, guint32 seed,
    float peak, const char *what)
{
  GRand *r = g_rand_new_with_seed (seed);
  SamPool *pool = sam_pool_new (2);
  for (guint s = 0; s < n_shapes; s++)
    for (guint kk = 0; kk < G_N_ELEMENTS (kinds); kk++) {
      const int *sh = shapes[s];
      Case c;
      case_init (&c, r, sh[0], sh[1], sh[2], sh[3], sh[4], 0);
      SamAttI8Params p = params (kinds[kk], taus[kk], p8s[kk], r);
      p.sq *= peak;
      p.sk *= peak;
      float *ref = run (&c, &p, -1, NULL);
      for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
        if (!sam_gemm_i8_isa_supported (isa))
          continue;
        float *o1 = run (&c, &p, isa, NULL);
        float *o2 = run (&c, &p, isa, pool);
        if (!same (&c, ref, o1) || !same (&c, ref, o2))
          g_error ("variant %s differs from the oracle%s: shape %u kind %u",
              sam_isa_name (isa), what, s, kk);
        g_free (o1);
        g_free (o2);
      }
      g_free (ref);
      case_clear (&c);
    }
  sam_pool_free (pool);
  g_rand_free (r);
}

static void
test_variants (void)
{
  static const int shapes[][5] = {
    /* Nq, Nk, H, D, Dv */
    {1, 1, 1, 1, 1}, {3, 2, 1, 3, 5}, {5, 17, 2, 6, 5}, {17, 255, 1, 16, 16},
    {9, 256, 3, 12, 20}, {21, 257, 1, 64, 64}, {33, 600, 2, 33, 48},
    {6, 513, 8, 32, 32}, {40, 31, 1, 96, 96}, {7, 1000, 1, 256, 64},
    /* more than one 32-row block over 16 QKᵀ key tiles */
    {37, 2100, 1, 256, 64},
    /* Hiera's global heads (D = 96: 6 output vectors, one 6-wide P·V
     * tile) over several 256-key P·V tiles */
    {35, 700, 2, 96, 96},
    /* heads wider than 256 (the AVX2 kernels' heap buffers) */
    {6, 40, 2, 300, 16},
  };
  check_against_oracle (shapes, G_N_ELEMENTS (shapes), 7, 1.f, "");
}

/* Peaked rows: scales 10x the usual, so the logits spread over hundreds
 * of bits and most keys lie far below their row's maximum (P = 0, the
 * exp clamp at −125, AGQ/LNQ/DRQ codes at their ends) next to a few near
 * it, as in a trained model's long memory rows rather than the flat rows
 * of random codes. Every variant against the oracle, every quantizer. */
static void
test_far_keys (void)
{
  static const int shapes[][5] = {
    {7, 1000, 1, 256, 64}, {33, 600, 2, 33, 48}, {17, 255, 1, 16, 16},
    {37, 2100, 1, 256, 64}, {35, 700, 2, 96, 96},
  };
  check_against_oracle (shapes, G_N_ELEMENTS (shapes), 19, 10.f,
      " on far keys");
}

/* Every key identical: e = 1 everywhere, P = 32767 on 600 keys, v − zv =
 * 255: the int32 tile sums sit just under 2^31. */
static void
test_overflow_edge (void)
{
  GRand *r = g_rand_new_with_seed (3);
  Case c;
  case_init (&c, r, 9, 600, 1, 8, 40, 1);
  SamAttI8Params p = params (SAM_ATT_P_NONE, 1, false, r);
  p.zv = 0;
  float *ref = run (&c, &p, -1, NULL);
  for (int64_t i = 0; i < c.Nq; i++)
    for (int d = 0; d < c.Dv; d++)
      g_assert_cmpfloat (fabsf (ref[i * c.ldo + d] - 255 * p.sv), <, 1e-5f);
  for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
    if (!sam_gemm_i8_isa_supported (isa))
      continue;
    float *o = run (&c, &p, isa, NULL);
    g_assert_true (same (&c, ref, o));
    g_free (o);
  }
  g_free (ref);
  case_clear (&c);
  g_rand_free (r);
}

/* Float fake-quant reference of the same quantization. */
static void
fake_ref (const Case * c, const SamAttI8Params * p, double *out)
{
  double *s = g_new (double, c->Nk), *pr = g_new (double, c->Nk);
  float lut[256];
  sam_agq_decode_lut (&p->agq, lut);
  for (int h = 0; h < c->H; h++)
    for (int64_t i = 0; i < c->Nq; i++) {
      double m = -INFINITY, sum = 0;
      for (int64_t j = 0; j < c->Nk; j++) {
        double a = 0;
        for (int d = 0; d < c->D; d++)
          a += (double) p->sq * (c->q[i * c->ldq + h * c->D + d] - p->zq)
              * p->sk * (c->k[j * c->ldk + h * c->D + d] - p->zk);
        s[j] = a / sqrt ((double) c->D);
        m = fmax (m, s[j]);
      }
      for (int64_t j = 0; j < c->Nk; j++)
        sum += pr[j] = exp (s[j] - m);
      for (int64_t j = 0; j < c->Nk; j++) {
        float x = (float) (pr[j] / sum);
        switch (p->pkind) {
          case SAM_ATT_P_NONE:
            break;
          case SAM_ATT_P_AGQ:
            x = lut[sam_agq_encode (x, &p->agq)];
            break;
          case SAM_ATT_P_LNQ:
            x = sam_lnq_fake (x, &p->lnq);
            break;
          case SAM_ATT_P_DRQ:
            x = sam_drq_softmax_fake (x, &p->drq);
            break;
        }
        pr[j] = x;
      }
      if (p->p8) {
        /* 8 bits relative to the row maximum; the plain softmax
         * renormalized over them */
        double pm = 0, s8 = 0;
        for (int64_t j = 0; j < c->Nk; j++)
          pm = fmax (pm, pr[j]);
        for (int64_t j = 0; j < c->Nk && pm > 0; j++) {
          pr[j] = floor (pr[j] / pm * 255 + 0.5);
          s8 += pr[j];
        }
        for (int64_t j = 0; j < c->Nk && pm > 0; j++)
          pr[j] = p->pkind == SAM_ATT_P_NONE ? pr[j] / s8 : pr[j] * pm / 255;
      }
      for (int d = 0; d < c->Dv; d++) {
        double a = 0;
        for (int64_t j = 0; j < c->Nk; j++)
          a += pr[j] * p->sv * (c->v[j * c->ldv + h * c->Dv + d] - p->zv);
        out[(i * c->H + h) * c->Dv + d] = a;
      }
    }
  g_free (s);
  g_free (pr);
}

/* Error against fake quantization, relative to max |v̂| (= 255 sv at most):
 * P carries 15 fractional bits relative to the row maximum (8 with p8)
 * and AGQ codes (and 8-bit P) may flip at a rounding boundary between
 * float logits and exact integer ones, so the bound is on the mean (and a
 * looser one on the max). */
static void
test_fake_quant (void)
{
  GRand *r = g_rand_new_with_seed (11);
  for (guint kk = 0; kk < G_N_ELEMENTS (kinds); kk++) {
    Case c;
    case_init (&c, r, 24, 700, 2, 32, 24, 0);
    SamAttI8Params p = params (kinds[kk], taus[kk], p8s[kk], r);
    float *o = run (&c, &p, sam_gemm_i8_isa (), NULL);
    double *f = g_new (double, c.Nq * c.H * c.Dv);
    fake_ref (&c, &p, f);
    double vmax = 0, emax = 0, esum = 0, omax = 0;
    /* the largest |v − zv| in integers, then scaled (sv > 0): GCC 12 for
     * aarch64 crashes vectorizing an fmax reduction of converted bytes
     * (internal compiler error in vect_transform_reduction) */
    int vmi = 0;
    for (int64_t i = 0; i < c.Nk * c.ldv; i++)
      vmi = MAX (vmi, ABS ((int) c.v[i] - p.zv));
    vmax = vmi * (double) p.sv;
    for (int64_t i = 0; i < c.Nq; i++)
      for (int hd = 0; hd < c.H * c.Dv; hd++) {
        double e = fabs (o[i * c.ldo + hd] - f[i * c.H * c.Dv + hd]);
        emax = fmax (emax, e);
        esum += e;
        omax = fmax (omax, fabs (f[i * c.H * c.Dv + hd]));
      }
    double emean = esum / (c.Nq * c.H * c.Dv);
    g_test_message ("kind %u: max |err| %.3g, mean %.3g, max |out| %.3g, "
        "max |v| %.3g", kk, emax, emean, omax, vmax);
    g_assert_cmpfloat (omax, >, 0.01 * vmax);   /* not a trivial output */
    g_assert_cmpfloat (emean, <, 1e-3 * vmax);
    g_assert_cmpfloat (emax, <, 2e-2 * vmax);
    g_free (o);
    g_free (f);
    case_clear (&c);
  }
  g_rand_free (r);
}

/* The AVX-512 numerators skip the polynomial where every lane has
 * t = (y − m) · c ≤ −16, writing P = 0: the reference must give 0 there.
 * Sweep t over (−17, −15) in steps of 2^−12, and the floats next to −16. */
static void
test_p15_zero_bound (void)
{
  enum { N = 2 * 4096 + 3 };
  float *y = g_new (float, N);
  int16_t *P = g_new (int16_t, N);
  for (int i = 0; i < N - 3; i++)
    y[i] = -17.f + (float) i / 4096.f;
  y[N - 3] = -16.f;
  y[N - 2] = nextafterf (-16.f, 0.f);
  y[N - 1] = nextafterf (-16.f, -17.f);
  sam_exp2_p15_f32_s16_ref (P, y, 0.f, 1.f, N);
  int nonzero_above = 0;
  for (int i = 0; i < N; i++) {
    if (y[i] <= -16.f)
      g_assert_cmpint (P[i], ==, 0);
    else
      nonzero_above += P[i] != 0;
  }
  /* and the bound is tight: just above −16 the first P = 1 appear */
  g_assert_cmpint (nonzero_above, >, 0);
  g_free (y);
  g_free (P);
}

/* With 8-bit P the AVX-512 numerators skip the polynomial where every lane
 * has t ≤ −9 (p15_planes_avx512): the contract's P must be 0 there. Rows
 * of a maximum (t = 0) and a sweep of t over (−10, −8) in steps of 2^−12,
 * and the floats next to −9, through sam_att_i8_row_probs. */
static void
test_p8_zero_bound (void)
{
  enum { N = 2 * 4096 + 4 };
  float *y = g_new (float, N);
  int16_t *P = g_new (int16_t, N);
  void *tmp = g_malloc ((size_t) N * 5);
  y[0] = 0.f;
  for (int i = 1; i < N - 3; i++)
    y[i] = -10.f + (float) i / 4096.f;
  y[N - 3] = -9.f;
  y[N - 2] = nextafterf (-9.f, 0.f);
  y[N - 1] = nextafterf (-9.f, -10.f);
  SamAttI8Params p = {.pkind = SAM_ATT_P_NONE,.p8 = true };
  double rho = sam_att_i8_row_probs (y, N, 0.f, 1.f, &p, P, tmp);
  g_assert_cmpint (P[0], ==, 255);
  int64_t sum = 0;
  int nonzero_above = 0;
  for (int i = 0; i < N; i++) {
    g_assert_cmpint (P[i], >=, 0);
    g_assert_cmpint (P[i], <=, 255);
    sum += P[i];
    if (y[i] <= -9.f)
      g_assert_cmpint (P[i], ==, 0);
    else
      nonzero_above += P[i] != 0;
  }
  g_assert_cmpfloat (rho, ==, 1.0 / (double) sum);
  /* P = 1 from P15 = 65 on (t ≈ −8.99): the bound is nearly tight */
  g_assert_cmpint (nonzero_above, >, 0);
  g_free (y);
  g_free (P);
  g_free (tmp);
}

/* The oracle's P of a score t below a row maximum 0 (c = 1) */
static int
oracle_p (float t, const SamAttI8Params * p)
{
  float y[2] = { 0.f, t };
  int16_t P[2];
  float tmp[2 * 5];
  sam_att_i8_row_probs (y, 2, 0.f, 1.f, p, P, tmp);
  return P[1];
}

/* Each variant's row functions (the float-domain softmax of a row) against
 * the oracle's, bit for bit, on the scores where a different rounding
 * would show: the floats within a few ulps of every t at which the
 * oracle's P steps (found by bisection: the polynomial's 2^t is not 2^t
 * there), in rows of odd lengths (the vector loops' tails), around the
 * zero bounds, and with the AGQ quantizer (a plain sweep). A random row
 * of the whole kernel hits such a score rarely: the p8 polynomial's
 * second multiply-add unfused (AVX2 or NEON) passes /variants but fails
 * here. */
static void
test_row_probs_variants (void)
{
  enum { ULPS = 4 };
  for (int kind = 0; kind < 4; kind++) {
    const bool p8 = kind == 1;
    SamAttI8Params p = {.pkind = kind < 2 ? SAM_ATT_P_NONE : SAM_ATT_P_AGQ,
      .p8 = p8
    };
    p.agq = (SamAgqParams) {
    0.5f, kind == 3 ? 2 : 1, 8};
    /* the scores: t = y − 0 (m = 0, c = 1), a maximum first */
    GArray *ys = g_array_new (FALSE, FALSE, sizeof (float));
    float zero = 0.f;
    g_array_append_val (ys, zero);
    const int steps = kind >= 2 ? 0 : p8 ? 255 : 32767;
    for (int k = 0; k < steps; k++) {
      /* the least t with P > k: P is 0 at −17 and its most at 0 */
      float lo = -17.f, hi = 0.f;
      if (oracle_p (lo, &p) > k)
        continue;
      while (nextafterf (lo, 0.f) < hi) {
        float mid = lo + (hi - lo) / 2;
        if (mid <= lo || mid >= hi)
          mid = nextafterf (lo, 0.f);
        if (oracle_p (mid, &p) > k)
          hi = mid;
        else
          lo = mid;
      }
      float t = hi;
      for (int u = 0; u < ULPS; u++)
        t = nextafterf (t, -INFINITY);
      for (int u = 0; u <= 2 * ULPS && t <= 0.f; u++, t = nextafterf (t, 0.f))
        g_array_append_val (ys, t);
    }
    for (float t = -17.f; t < 0.f; t += 1.f / 256)
      g_array_append_val (ys, t);
    const int64_t N = ys->len;
    int16_t *Pr = g_new (int16_t, N), *Pv = g_new (int16_t, N);
    void *tmp = g_malloc ((size_t) N * 5 * sizeof (float));
    for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
      if (!sam_gemm_i8_isa_supported (isa))
        continue;
      /* whole, and cut to lengths that leave every tail size */
      for (int64_t n = N; n > N - 17; n--) {
        const float *y = (const float *) ys->data;
        double rr = sam_att_i8_row_probs (y, n, 0.f, 1.f, &p, Pr, tmp);
        double rv = sam_att_i8_row_probs_isa (isa, y, n, 0.f, 1.f, &p, Pv,
            tmp);
        if (rr != rv || memcmp (Pr, Pv, (size_t) n * sizeof *Pr) != 0) {
          int64_t j = 0;
          while (j < n && Pr[j] == Pv[j])
            j++;
          g_error ("variant %s: row P differs from the oracle (kind %d, "
              "n %" G_GINT64_FORMAT ", first at t = %.9g: %d vs %d, rho %g vs "
              "%g)", sam_isa_name (isa), kind, n, j < n ? y[j] : 0.f,
              j < n ? Pr[j] : 0, j < n ? Pv[j] : 0, rr, rv);
        }
      }
    }
    g_free (Pr);
    g_free (Pv);
    g_free (tmp);
    g_array_free (ys, TRUE);
  }
}

/* A call written with strides, read back dense: the same shape, parameters
 * and codes, and the kernel's output on it the same bits. A truncated
 * file, a foreign one and an implausible shape are errors, not crashes. */
static void
test_dump (void)
{
  GRand *r = g_rand_new_with_seed (77);
  Case c;
  case_init (&c, r, 37, 300, 2, 20, 12, 0);
  SamAttI8Params p = {.sq = 0.02f,.sk = 0.03f,.sv = 0.01f,.zq = 120,
    .zk = 131,.zv = 127,.pkind = SAM_ATT_P_NONE,.p8 = TRUE
  };
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("samatt-XXXXXX", &err);
  g_assert_no_error (err);
  gchar *path = g_build_filename (dir, "a.samatt", NULL);
  g_assert_true (sam_att_i8_dump_write (path, c.q, c.ldq, c.k, c.ldk, c.v,
          c.ldv, c.Nq, c.Nk, c.H, c.D, c.Dv, &p, &err));
  g_assert_no_error (err);
  SamAttI8Dump *d = sam_att_i8_dump_read (path, &err);
  g_assert_no_error (err);
  g_assert_nonnull (d);
  g_assert_cmpint (d->Nq, ==, c.Nq);
  g_assert_cmpint (d->Nk, ==, c.Nk);
  g_assert_cmpint (d->H, ==, c.H);
  g_assert_cmpint (d->D, ==, c.D);
  g_assert_cmpint (d->Dv, ==, c.Dv);
  g_assert_true (d->p.p8 && d->p.zk == 131 && d->p.sv == 0.01f);
  for (int64_t i = 0; i < c.Nq; i++)
    g_assert_cmpmem (d->q + i * c.H * c.D, c.H * c.D, c.q + i * c.ldq,
        c.H * c.D);
  for (int64_t i = 0; i < c.Nk; i++) {
    g_assert_cmpmem (d->k + i * c.H * c.D, c.H * c.D, c.k + i * c.ldk,
        c.H * c.D);
    g_assert_cmpmem (d->v + i * c.H * c.Dv, c.H * c.Dv, c.v + i * c.ldv,
        c.H * c.Dv);
  }
  float *o1 = run (&c, &p, -1, NULL);
  float *o2 = g_new0 (float, c.Nq * c.ldo + 1);
  sam_k_attention_i8_ref (d->q, c.H * c.D, d->k, c.H * c.D, d->v,
      c.H * c.Dv, o2, c.ldo, d->Nq, d->Nk, d->H, d->D, d->Dv, &d->p);
  g_assert_cmpmem (o1, sizeof (float) * c.Nq * c.ldo, o2,
      sizeof (float) * c.Nq * c.ldo);
  sam_att_i8_dump_free (d);

  /* corrupt forms */
  gchar *buf;
  gsize len;
  g_assert_true (g_file_get_contents (path, &buf, &len, NULL));
  gchar *bad = g_build_filename (dir, "b.samatt", NULL);
  g_assert_true (g_file_set_contents (bad, buf, (gssize) len - 1, NULL));
  g_assert_null (sam_att_i8_dump_read (bad, &err));
  g_assert_error (err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_clear_error (&err);
  buf[0] = 'X';
  g_assert_true (g_file_set_contents (bad, buf, (gssize) len, NULL));
  g_assert_null (sam_att_i8_dump_read (bad, &err));
  g_assert_error (err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_clear_error (&err);
  buf[0] = 'S';
  int64_t huge = (int64_t) 1 << 40;
  memcpy (buf + 16, &huge, sizeof huge);        /* Nq */
  g_assert_true (g_file_set_contents (bad, buf, (gssize) len, NULL));
  g_assert_null (sam_att_i8_dump_read (bad, &err));
  g_assert_error (err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_clear_error (&err);
  g_assert_null (sam_att_i8_dump_read (dir, &err));     /* a directory */
  g_assert_nonnull (err);
  g_clear_error (&err);

  g_remove (bad);
  g_remove (path);
  g_rmdir (dir);
  g_free (buf);
  g_free (bad);
  g_free (path);
  g_free (dir);
  g_free (o1);
  g_free (o2);
  case_clear (&c);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quant/attention-i8/variants", test_variants);
  g_test_add_func ("/quant/attention-i8/far-keys", test_far_keys);
  g_test_add_func ("/quant/attention-i8/overflow-edge", test_overflow_edge);
  g_test_add_func ("/quant/attention-i8/fake-quant", test_fake_quant);
  g_test_add_func ("/quant/attention-i8/p15-zero-bound", test_p15_zero_bound);
  g_test_add_func ("/quant/attention-i8/p8-zero-bound", test_p8_zero_bound);
  g_test_add_func ("/quant/attention-i8/row-probs-variants",
      test_row_probs_variants);
  g_test_add_func ("/quant/attention-i8/dump", test_dump);
  return g_test_run ();
}
