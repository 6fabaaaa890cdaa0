/* test-gemm-i8.c — every int8 GEMM variant the CPU supports against the
 * oracle sam_k_gemm_i8_ref, bit for bit: random odd shapes, u8 and s8
 * activations, all four epilogues, extreme values (255 · −128 sums, which a
 * vpmaddubsw kernel would saturate), and 1 vs 2 threads. Also the float →
 * u8 activation codes and the Linear that fuses them with the GEMM. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "kernels/gemm-i8.h"

static const int Ms[] = { 1, 2, 3, 5, 7, 8, 9, 17, 33 };
static const int Ns[] = { 1, 5, 15, 16, 17, 31, 32, 33, 48, 100 };
static const int Ks[] = { 1, 2, 3, 4, 5, 7, 63, 64, 65, 127, 256 };

static size_t
osize (SamGemmI8Out o)
{
  return o == SAM_GEMM_I8_OUT_F32 || o == SAM_GEMM_I8_OUT_S32 ? 4 : 1;
}

typedef struct {
  int M, N, K, ldx, ldw, ldy;
  uint8_t *x;
  int8_t *W;
  int32_t *bias_i32, *mult, *shift;
  float *fscale, *bias;
} Case;

static void
case_init (Case * c, GRand * r, int M, int N, int K, bool extreme)
{
  c->M = M;
  c->N = N;
  c->K = K;
  c->ldx = K + g_rand_int_range (r, 0, 5);
  c->ldw = K + g_rand_int_range (r, 0, 3);
  c->ldy = N + g_rand_int_range (r, 0, 3);
  c->x = g_malloc ((size_t) M * c->ldx);
  c->W = g_malloc ((size_t) N * c->ldw);
  for (int i = 0; i < M * c->ldx; i++)
    c->x[i] = extreme ? 255 : (uint8_t) g_rand_int (r);
  for (int i = 0; i < N * c->ldw; i++)
    c->W[i] = extreme ? -128 : (int8_t) g_rand_int (r);
  c->bias_i32 = g_new (int32_t, N);
  c->mult = g_new (int32_t, N);
  c->shift = g_new (int32_t, N);
  c->fscale = g_new (float, N);
  c->bias = g_new (float, N);
  for (int n = 0; n < N; n++) {
    c->bias_i32[n] = g_rand_int_range (r, -100000, 100000);
    c->mult[n] = g_rand_int_range (r, 1 << 30, G_MAXINT32);
    /* acc ~ 2^(7+7+log2 K): land the output around ±2^7 */
    c->shift[n] = 31 + 7 + g_rand_int_range (r, 0, 6);
    c->fscale[n] = (float) g_rand_double_range (r, 1e-5, 1e-2);
    c->bias[n] = (float) g_rand_double_range (r, -3, 3);
  }
}

static void
case_clear (Case * c)
{
  g_free (c->x);
  g_free (c->W);
  g_free (c->bias_i32);
  g_free (c->mult);
  g_free (c->shift);
  g_free (c->fscale);
  g_free (c->bias);
}

static int n_compared;

static void
check_case (Case * c, SamPool * pool, GRand * r)
{
  SamGemmI8Weights *pw = sam_gemm_i8_weights_pack (c->W, c->N, c->K, c->ldw);
  g_assert_nonnull (pw);
  for (int out = 0; out < 4; out++) {
    for (int xt = 0; xt < 2; xt++) {
      SamGemmI8Epilogue ep = {
        .out = out,
        .bias_i32 = g_rand_boolean (r) ? c->bias_i32 : NULL,
        .fscale = c->fscale,
        .bias = g_rand_boolean (r) ? c->bias : NULL,
        .mult = c->mult,
        .shift = c->shift,
        .zy = g_rand_int_range (r, -20, 20),
      };
      int32_t zx = xt ? g_rand_int_range (r, -128, 128)
          : g_rand_int_range (r, 0, 256);
      size_t bytes = (size_t) c->M * c->ldy * osize (out);
      uint8_t *yref = g_malloc (bytes), *y = g_malloc (bytes);
      memset (yref, 0xcd, bytes);
      sam_k_gemm_i8_ref (c->x, c->M, c->ldx, xt, zx, c->W, c->N, c->K,
          c->ldw, &ep, yref, c->ldy);
      for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
        if (!sam_gemm_i8_isa_supported (isa))
          continue;
        for (int th = 0; th < 2; th++) {
          memset (y, 0xcd, bytes);
          sam_k_gemm_i8_isa (isa, th ? pool : NULL, c->x, c->M, c->ldx, xt,
              zx, pw, &ep, y, c->ldy);
          if (memcmp (y, yref, bytes) != 0) {
            g_error ("mismatch isa=%s M=%d N=%d K=%d out=%d xtype=%d "
                "threads=%d", sam_isa_name (isa), c->M, c->N, c->K, out, xt,
                th ? 2 : 1);
          }
          n_compared++;
        }
      }
      g_free (yref);
      g_free (y);
    }
  }
  sam_gemm_i8_weights_free (pw);
}

static void
test_random_shapes (void)
{
  GRand *r = g_rand_new_with_seed (1234);
  SamPool *pool = sam_pool_new (2);
  for (unsigned a = 0; a < G_N_ELEMENTS (Ms); a++)
    for (unsigned b = 0; b < G_N_ELEMENTS (Ns); b++)
      for (unsigned k = 0; k < G_N_ELEMENTS (Ks); k++) {
        Case c;
        case_init (&c, r, Ms[a], Ns[b], Ks[k], false);
        check_case (&c, pool, r);
        case_clear (&c);
      }
  g_test_message ("%d comparisons", n_compared);
  sam_pool_free (pool);
  g_rand_free (r);
}

/* 255 · (−128) everywhere: the largest |partial sums| a u8×s8 kernel sees. */
static void
test_extreme (void)
{
  GRand *r = g_rand_new_with_seed (99);
  SamPool *pool = sam_pool_new (2);
  int shapes[][3] = { {9, 33, 1024}, {1, 16, 4099}, {17, 100, 777} };
  for (unsigned i = 0; i < G_N_ELEMENTS (shapes); i++) {
    Case c;
    case_init (&c, r, shapes[i][0], shapes[i][1], shapes[i][2], true);
    check_case (&c, pool, r);
    /* also check the value itself: acc = K·(255 − zx)·(−128) */
    SamGemmI8Weights *pw = sam_gemm_i8_weights_pack (c.W, c.N, c.K, c.ldw);
    SamGemmI8Epilogue ep = {.out = SAM_GEMM_I8_OUT_S32 };
    int32_t *y = g_new (int32_t, (size_t) c.M * c.ldy);
    sam_k_gemm_i8 (NULL, c.x, c.M, c.ldx, SAM_GEMM_I8_X_U8, 3, pw, &ep, y,
        c.ldy);
    g_assert_cmpint (y[0], ==, c.K * 252 * -128);
    g_free (y);
    sam_gemm_i8_weights_free (pw);
    case_clear (&c);
  }
  sam_pool_free (pool);
  g_rand_free (r);
}

static void
test_dispatch (void)
{
  SamIsa isa = sam_gemm_i8_isa ();
  g_test_message ("dispatch: %s", sam_isa_name (isa));
  g_assert_true (sam_gemm_i8_isa_supported (isa));
  const char *force = g_getenv ("SAMSEG_FORCE_ISA");
  if (force && g_ascii_strcasecmp (force, "ref") == 0)
    g_assert_cmpint (isa, ==, SAM_ISA_REF);
}

/* Float values that probe the code arithmetic: signed zeros, infinities,
 * NaN, ties (x · inv + z landing on .5), the clamp edges, huge values. */
static float
probe_value (GRand * r, float inv, float z, float qmax)
{
  switch (g_rand_int_range (r, 0, 12)) {
    case 0:
      return -0.0f;
    case 1:
      return g_rand_boolean (r) ? INFINITY : -INFINITY;
    case 2:
      return NAN;
    case 3:                    /* a tie: (n + 0.5 − z) / inv */
      return ((float) g_rand_int_range (r, -3, (int) qmax + 3) + 0.5f - z) /
          inv;
    case 4:                    /* just around the top and the bottom */
      return (g_rand_boolean (r) ? qmax - z : -z) / inv *
          (float) g_rand_double_range (r, 0.999, 1.001);
    case 5:
      return (float) g_rand_double_range (r, -1e30, 1e30);
    default:
      return (float) g_rand_double_range (r, -1.5, 1.5) * (qmax + 1) / inv;
  }
}

/* sam_k_quant_act_u8 of every ISA against the reference, per tensor and per
 * channel, 2..8 bits. */
static void
test_quant_act (void)
{
  GRand *r = g_rand_new_with_seed (77);
  int n = 0;
  for (int it = 0; it < 400; it++) {
    int K = g_rand_int_range (r, 1, 100);
    int bits = g_rand_int_range (r, 2, 9);
    float qmax = (float) ((1 << bits) - 1);
    bool pc = g_rand_boolean (r);
    float *inv = g_new (float, K), *z = g_new (float, K), *x = g_new (float, K);
    for (int k = 0; k < K; k++) {
      inv[k] = 1.f / (float) g_rand_double_range (r, 1e-3, 2.0);
      z[k] = (float) g_rand_int_range (r, 0, (int) qmax + 1);
    }
    for (int k = 0; k < K; k++)
      x[k] = probe_value (r, inv[pc ? k : 0], z[pc ? k : 0], qmax);
    SamGemmI8ActQuant q = { pc, inv, z, qmax };
    uint8_t *dref = g_malloc (K + 1), *d = g_malloc (K + 1);
    dref[K] = d[K] = 0xab;
    sam_k_quant_act_u8_ref (&q, x, dref, K);
    for (int k = 0; k < K; k++)
      g_assert_cmpint (dref[k], <=, (int) qmax);
    for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
      if (!sam_gemm_i8_isa_supported (isa))
        continue;
      memset (d, 0xcd, K);
      sam_k_quant_act_u8_isa (isa, &q, x, d, K);
      for (int k = 0; k < K; k++)
        if (d[k] != dref[k])
          g_error ("quant-act isa=%s K=%d k=%d x=%a inv=%a z=%g: %d != %d",
              sam_isa_name (isa), K, k, x[k], inv[pc ? k : 0], z[pc ? k : 0],
              d[k], dref[k]);
      g_assert_cmpint (d[K], ==, 0xab);
      n++;
    }
    g_free (inv);
    g_free (z);
    g_free (x);
    g_free (dref);
    g_free (d);
  }
  /* the formula itself on a few values (scale 0.5, zero 10, 8 bits) */
  float inv1 = 2.f, z1 = 10.f;
  SamGemmI8ActQuant q = { false, &inv1, &z1, 255.f };
  float x[] = { 0.f, 0.25f, -0.25f, -5.f, -5.3f, 200.f, NAN, -INFINITY };
  uint8_t want[] = { 10, 11, 10, 0, 0, 255, 0, 0 }, d[8];
  sam_k_quant_act_u8_ref (&q, x, d, 8);
  g_assert_cmpmem (d, 8, want, 8);
  g_test_message ("%d rows compared", n);
  g_rand_free (r);
}

/* sam_k_linear_i8 (quantization fused in the GEMM) of every ISA against the
 * reference codes + the GEMM oracle, every epilogue, odd shapes (full and
 * edge tiles), per-tensor and per-channel codes, 1 and 2 threads. */
/* a rows_done callback: any element-wise function will do */
static void
affine_rows (float *y, int64_t ldy, int64_t rows, int64_t n)
{
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < n; j++)
      y[r * ldy + j] = 2.f * y[r * ldy + j] + 1.f;
}

/* a rows_at callback: a function of the row's index, after rows_done */
static void
index_rows (void *ud, float *y, int64_t ldy, int64_t row0, int64_t rows)
{
  const int64_t n = *(const int64_t *) ud;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < n; j++)
      y[r * ldy + j] = y[r * ldy + j] * 0.5f - (float) (row0 + r);
}

/* sam_k_linear_i8_isa of every supported ISA, one and two threads, against
 * yref (bytes long); the number of runs */
static int
linear_all_isas (SamPool * pool, const float *xf, int M, int ldxf,
    const SamGemmI8ActQuant * q, int32_t zx, const SamGemmI8Weights * pw,
    const SamGemmI8Epilogue * ep, uint8_t * y, const uint8_t * yref,
    size_t bytes, int ldy, const char *what, int N, int K)
{
  int n = 0;
  for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
    if (!sam_gemm_i8_isa_supported (isa))
      continue;
    for (int th = 0; th < 2; th++) {
      memset (y, 0xcd, bytes);
      sam_k_linear_i8_isa (isa, th ? pool : NULL, xf, M, ldxf, q, zx, pw, ep,
          y, ldy);
      if (memcmp (y, yref, bytes) != 0)
        g_error ("linear %s mismatch isa=%s M=%d N=%d K=%d out=%d "
            "per-channel=%d threads=%d", what, sam_isa_name (isa), M, N, K,
            ep->out, q->per_channel, th ? 2 : 1);
      n++;
    }
  }
  return n;
}

static void
test_linear (void)
{
  GRand *r = g_rand_new_with_seed (4321);
  SamPool *pool = sam_pool_new (2);
  int n = 0;
  static const int LMs[] = { 1, 7, 8, 9, 17, 40 };
  static const int LNs[] = { 5, 16, 32, 33, 64, 100 };
  static const int LKs[] = { 1, 3, 4, 5, 64, 97 };
  for (unsigned a = 0; a < G_N_ELEMENTS (LMs); a++)
    for (unsigned b = 0; b < G_N_ELEMENTS (LNs); b++)
      for (unsigned kk = 0; kk < G_N_ELEMENTS (LKs); kk++) {
        int M = LMs[a], N = LNs[b], K = LKs[kk];
        Case c;
        case_init (&c, r, M, N, K, false);
        int ldxf = K + g_rand_int_range (r, 0, 4);
        float *xf = g_new (float, (size_t) M * ldxf);
        bool pc = g_rand_boolean (r);
        int bits = g_rand_int_range (r, 2, 9);
        float qmax = (float) ((1 << bits) - 1);
        float *inv = g_new (float, K), *z = g_new (float, K);
        for (int k = 0; k < K; k++) {
          inv[k] = 1.f / (float) g_rand_double_range (r, 0.01, 0.1);
          z[k] = (float) g_rand_int_range (r, 0, (int) qmax + 1);
        }
        for (int i = 0; i < M * ldxf; i++)
          xf[i] = probe_value (r, inv[pc ? i % ldxf % K : 0],
              z[pc ? i % ldxf % K : 0], qmax);
        SamGemmI8ActQuant q = { pc, inv, z, qmax };
        uint8_t *codes = g_malloc ((size_t) M * K);
        for (int m = 0; m < M; m++)
          sam_k_quant_act_u8_ref (&q, xf + (size_t) m * ldxf,
              codes + (size_t) m * K, K);
        int32_t zx = pc ? 0 : (int32_t) z[0];
        SamGemmI8Weights *pw = sam_gemm_i8_weights_pack (c.W, N, K, c.ldw);
        for (int out = 0; out < 4; out++) {
          SamGemmI8Epilogue ep = {
            .out = out,
            .bias_i32 = g_rand_boolean (r) ? c.bias_i32 : NULL,
            .fscale = c.fscale,
            .bias = g_rand_boolean (r) ? c.bias : NULL,
            .mult = c.mult,
            .shift = c.shift,
            .zy = g_rand_int_range (r, -20, 20),
          };
          size_t bytes = (size_t) M * c.ldy * osize (out);
          uint8_t *yref = g_malloc (bytes), *y = g_malloc (bytes);
          memset (yref, 0xcd, bytes);
          sam_k_gemm_i8_ref (codes, M, K, SAM_GEMM_I8_X_U8, zx, c.W, N, K,
              c.ldw, &ep, yref, c.ldy);
          n += linear_all_isas (pool, xf, M, ldxf, &q, zx, pw, &ep, y, yref,
              bytes, c.ldy, "plain", N, K);
          if (out == SAM_GEMM_I8_OUT_F32) {
            /* rows_done sees every finished row tile once, N columns (the
             * row padding up to ldy untouched) */
            for (int m = 0; m < M; m++)
              affine_rows ((float *) yref + (size_t) m * c.ldy, 0, 1, N);
            ep.rows_done = affine_rows;
            n += linear_all_isas (pool, xf, M, ldxf, &q, zx, pw, &ep, y, yref,
                bytes, c.ldy, "rows_done", N, K);
            /* rows_at after it, with each tile's first row */
            int64_t nn = N;
            for (int m = 0; m < M; m++)
              index_rows (&nn, (float *) yref + (size_t) m * c.ldy, 0, m, 1);
            ep.rows_at = index_rows;
            ep.rows_ud = &nn;
            n += linear_all_isas (pool, xf, M, ldxf, &q, zx, pw, &ep, y, yref,
                bytes, c.ldy, "rows_at", N, K);
          }
          g_free (yref);
          g_free (y);
        }
        sam_gemm_i8_weights_free (pw);
        g_free (codes);
        g_free (xf);
        g_free (inv);
        g_free (z);
        case_clear (&c);
      }
  g_test_message ("%d comparisons", n);
  sam_pool_free (pool);
  g_rand_free (r);
}

/* A larger product, timed per variant (information only). */
/* sam_k_mlp_i8 against two sam_k_linear_i8 calls (each already held to the
 * oracle above), bit for bit, on every ISA: row counts around the tiles,
 * the second layer's codes per tensor and per channel, with and without
 * an activation between, and in place (y = x) as the engine calls it. */
static void
test_mlp (void)
{
  GRand *r = g_rand_new_with_seed (777);
  SamPool *pool = sam_pool_new (2);
  int n = 0;
  static const int Ms[] = { 1, 7, 8, 9, 33 };
  static const int Ks[] = { 3, 16, 96 };
  static const int N1s[] = { 5, 32, 100 };
  for (unsigned a = 0; a < G_N_ELEMENTS (Ms); a++)
    for (unsigned b = 0; b < G_N_ELEMENTS (Ks); b++)
      for (unsigned d = 0; d < G_N_ELEMENTS (N1s); d++) {
        const int M = Ms[a], K = Ks[b], N1 = N1s[d], N2 = K;
        Case c1, c2;
        case_init (&c1, r, M, N1, K, false);
        case_init (&c2, r, M, N2, N1, false);
        /* small float scales: the hidden values land inside the second
         * quantizer's range, with some outside */
        for (int i = 0; i < N1; i++)
          c1.fscale[i] = (float) g_rand_double_range (r, 1e-7, 1e-5);
        for (int i = 0; i < N2; i++)
          c2.fscale[i] = (float) g_rand_double_range (r, 1e-6, 1e-4);
        const int ldx = K + 2;
        float *x = g_new (float, (size_t) M * ldx);
        float inv1 = 10.f, z1 = 100.f, qmax = 255.f;
        for (int i = 0; i < M * ldx; i++)
          x[i] = probe_value (r, inv1, z1, qmax);
        bool pc = g_rand_boolean (r);
        float *inv2 = g_new (float, N1), *z2 = g_new (float, N1);
        for (int k = 0; k < N1; k++) {
          inv2[k] = (float) g_rand_double_range (r, 5, 50);
          z2[k] = (float) g_rand_int_range (r, 0, 256);
        }
        SamGemmI8ActQuant q1 = { false, &inv1, &z1, qmax };
        SamGemmI8ActQuant q2 = { pc, inv2, z2, qmax };
        SamGemmI8Weights *w1 = sam_gemm_i8_weights_pack (c1.W, N1, K, c1.ldw);
        SamGemmI8Weights *w2 = sam_gemm_i8_weights_pack (c2.W, N2, N1,
            c2.ldw);
        SamGemmI8Epilogue e1 = {.out = SAM_GEMM_I8_OUT_F32,
          .bias_i32 = c1.bias_i32,.fscale = c1.fscale,.bias = c1.bias,
          .rows_done = g_rand_boolean (r) ? affine_rows : NULL
        };
        SamGemmI8Epilogue e2 = {.out = SAM_GEMM_I8_OUT_F32,
          .fscale = c2.fscale,.bias = c2.bias
        };
        SamGemmI8Layer l1 = { &q1, (int32_t) z1, w1, &e1 };
        SamGemmI8Layer l2 = { &q2, pc ? 0 : (int32_t) z2[0], w2, &e2 };
        float *h = g_new (float, (size_t) M * N1);
        float *ref = g_new (float, (size_t) M * ldx);
        float *y = g_new (float, (size_t) M * ldx);
        for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
          if (!sam_gemm_i8_isa_supported (isa))
            continue;
          memset (ref, 0xcd, sizeof (float) * M * ldx);
          sam_k_linear_i8_isa (isa, pool, x, M, ldx, &q1, l1.zx, w1, &e1, h,
              N1);
          sam_k_linear_i8_isa (isa, pool, h, M, N1, &q2, l2.zx, w2, &e2, ref,
              ldx);
          memset (y, 0xcd, sizeof (float) * M * ldx);
          sam_k_mlp_i8_isa (isa, pool, x, M, ldx, &l1, &l2, y, ldx);
          if (memcmp (y, ref, sizeof (float) * M * ldx) != 0)
            g_error ("mlp mismatch isa=%s M=%d K=%d N1=%d", sam_isa_name (isa),
                M, K, N1);
          /* in place */
          memcpy (y, x, sizeof (float) * M * ldx);
          sam_k_mlp_i8_isa (isa, isa & 1 ? pool : NULL, y, M, ldx, &l1, &l2,
              y, ldx);
          for (int m = 0; m < M; m++)
            if (memcmp (y + (size_t) m * ldx, ref + (size_t) m * ldx,
                    sizeof (float) * N2) != 0)
              g_error ("mlp in place mismatch isa=%s M=%d K=%d N1=%d",
                  sam_isa_name (isa), M, K, N1);
          n += 2;
        }
        g_free (h);
        g_free (ref);
        g_free (y);
        g_free (x);
        g_free (inv2);
        g_free (z2);
        sam_gemm_i8_weights_free (w1);
        sam_gemm_i8_weights_free (w2);
        case_clear (&c1);
        case_clear (&c2);
      }
  g_test_message ("%d comparisons", n);
  sam_pool_free (pool);
  g_rand_free (r);
}

static void
test_bench (void)
{
  int M = 1024, N = 384, K = 384;
  GRand *r = g_rand_new_with_seed (5);
  Case c;
  case_init (&c, r, M, N, K, false);
  SamGemmI8Weights *pw = sam_gemm_i8_weights_pack (c.W, N, K, c.ldw);
  SamGemmI8Epilogue ep = {.out = SAM_GEMM_I8_OUT_U8,.mult = c.mult,
    .shift = c.shift
  };
  uint8_t *y = g_malloc ((size_t) M * c.ldy);
  for (int isa = 0; isa < SAM_ISA_COUNT; isa++) {
    if (!sam_gemm_i8_isa_supported (isa))
      continue;
    gint64 t0 = g_get_monotonic_time ();
    int reps = 3;
    for (int i = 0; i < reps; i++)
      sam_k_gemm_i8_isa (isa, NULL, c.x, M, c.ldx, 0, 7, pw, &ep, y, c.ldy);
    double s = (g_get_monotonic_time () - t0) / 1e6 / reps;
    g_test_message ("%-10s %dx%dx%d: %.2f ms, %.1f GMAC/s (1 thread)",
        sam_isa_name (isa), M, N, K, s * 1e3, (double) M * N * K / s / 1e9);
  }
  g_free (y);
  sam_gemm_i8_weights_free (pw);
  case_clear (&c);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quant/gemm-i8/dispatch", test_dispatch);
  g_test_add_func ("/quant/gemm-i8/random-shapes", test_random_shapes);
  g_test_add_func ("/quant/gemm-i8/extreme", test_extreme);
  g_test_add_func ("/quant/gemm-i8/quant-act", test_quant_act);
  g_test_add_func ("/quant/gemm-i8/linear", test_linear);
  g_test_add_func ("/quant/gemm-i8/mlp", test_mlp);
  g_test_add_func ("/quant/gemm-i8/bench", test_bench);
  return g_test_run ();
}
