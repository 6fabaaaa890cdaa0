/* test-memory-attention.c — memory attention:
 * RoPE against a plain complex-number formulation (double, cexp), and
 * parity of memattn0/1/2 of t256 end to end: frames 1 and 2 encoded by our
 * image encoder, memories (the fixture's memenc features, heads obj_ptrs)
 * stored in a memory bank and assembled by sam_memory_build_tokens. */
#include <complex.h>
#include <math.h>
#include <string.h>
#include "nn/nn.h"
#include "nn/memory-prep.h"
#include "fixture.h"

static SamModel *model;
static SamFixture *fx;

static float *
get (const char *name, int64_t expect)
{
  int64_t n = 0;
  float *v = sam_fixture_get_f32 (fx, name, &n);
  g_assert_nonnull (v);
  g_assert_cmpint (n, ==, expect);
  return v;
}

/* RoPE by definition: channel pair i of the token at (x, y) is a complex
 * number multiplied by e^{i·θ}, θ = x·f_i for i < dim/4, y·f_{i-dim/4}
 * after, with f_j = theta^(-4j/dim). */
static void
rope_reference (const float *in, double *out, int64_t n, int dim, int H,
    int W, double theta)
{
  const int nf = dim / 4;
  for (int64_t r = 0; r < n; r++) {
    int64_t tok = r % ((int64_t) H * W);
    int x = (int) (tok % W), y = (int) (tok / W);
    for (int i = 0; i < dim / 2; i++) {
      int j = i < nf ? i : i - nf;
      double f = pow (theta, -4.0 * j / dim);
      double ang = (i < nf ? x : y) * f;
      double complex z = in[r * dim + 2 * i] + I * in[r * dim + 2 * i + 1];
      z *= cexp (I * ang);
      out[r * dim + 2 * i] = creal (z);
      out[r * dim + 2 * i + 1] = cimag (z);
    }
  }
}

static void
check_rope (int H, int W, int dim, int frames)
{
  const int64_t n = (int64_t) H * W * frames;
  float *x = g_new (float, n * dim);
  double *ref = g_new (double, n * dim);
  float *c = g_new (float, (size_t) H * W * dim / 2);
  float *s = g_new (float, (size_t) H * W * dim / 2);
  double num = 0, den = 0, maxd = 0;

  g_test_message ("rope %dx%d dim %d frames %d", H, W, dim, frames);
  for (int64_t i = 0; i < n * dim; i++)
    x[i] = sinf (0.37f * (float) i) + 0.25f * cosf (1.3f * (float) i);
  rope_reference (x, ref, n, dim, H, W, 10000.0);
  sam_rope_axial_table (H, W, dim, 10000.f, c, s);
  sam_rope_apply (NULL, x, n, dim, dim, c, s, (int64_t) H * W);
  for (int64_t i = 0; i < n * dim; i++) {
    double d = x[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    maxd = fmax (maxd, fabs (d));
  }
  g_test_message ("  rel L2 %.3g, max abs %.3g", sqrt (num / den), maxd);
  /* float32 angles up to 63 rad (64×64): a few ulps of the angle */
  g_assert_cmpfloat (sqrt (num / den), <=, 1e-5);
  g_assert_cmpfloat (maxd, <=, 5e-5);
  g_free (s);
  g_free (c);
  g_free (ref);
  g_free (x);
}

static void
test_rope (void)
{
  check_rope (16, 16, 256, 1);
  check_rope (16, 16, 256, 3);  /* repeated per memory frame */
  check_rope (64, 64, 256, 1);
  check_rope (4, 8, 16, 2);     /* non-square: x is the column */
}

/* The pointer tokens are not rotated: rope over a prefix leaves the rest. */
static void
test_rope_prefix (void)
{
  const int dim = 8, H = 2, W = 2;
  float x[6 * 8], orig[6 * 8], c[4 * 4], s[4 * 4];
  for (int i = 0; i < 6 * dim; i++)
    x[i] = orig[i] = (float) i;
  sam_rope_axial_table (H, W, dim, 10000.f, c, s);
  sam_rope_apply (NULL, x, 4, dim, dim, c, s, 4);
  g_assert_cmpmem (x + 4 * dim, 2 * dim * sizeof (float), orig + 4 * dim,
      2 * dim * sizeof (float));
  /* token (0, 0) has angle 0 */
  g_assert_cmpmem (x, dim * sizeof (float), orig, dim * sizeof (float));
}

/* ---- end to end on t256 ------------------------------------------------ */

static void
encode_frame (int f, SamPool * pool, SamImageFeatures * out)
{
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float std[3] = { 0.229f, 0.224f, 0.225f };
  const SamStTensor *t = sam_fixture_find (fx, "frames");
  const int S = (int) t->shape[1];
  const guint8 *u = (const guint8 *) t->data + (size_t) f * S * S * 3;
  float *img = g_new (float, (size_t) S * S * 3);

  for (size_t i = 0; i < (size_t) S * S * 3; i++)
    img[i] = ((float) u[i] / 255.0f - mean[i % 3]) / std[i % 3];
  sam_image_features_alloc (out, S);
  sam_image_encoder_run (model, pool, img, S, out, NULL, NULL);
  g_free (img);
}

/* Stores call @memenc / @heads of the fixture as frame @frame's memory. */
static void
bank_add (SamMemoryBank * b, int64_t frame, bool cond, int memenc, int heads)
{
  const int N = 256, D = 64;
  char name[64];
  float feat[N * D], *chw, *ptr, *score;

  g_snprintf (name, sizeof name, "memenc%d.vision_features", memenc);
  chw = get (name, N * D);
  sam_transpose (chw, D, N, feat);
  g_snprintf (name, sizeof name, "heads%d.obj_ptr", heads);
  ptr = get (name, 256);
  g_snprintf (name, sizeof name, "heads%d.object_score_logits", heads);
  score = get (name, 1);
  g_assert_true (sam_memory_bank_add (b, frame, cond, feat, ptr, score[0]));
  g_free (score);
  g_free (ptr);
  g_free (chw);
}

static void
check_memattn (SamPool * pool, const SamImageFeatures * f,
    const SamMemoryBank * b, int64_t frame, int call)
{
  const int H = f->H2, N = H * H, C = 256;
  float *maskmem_pos = g_new (float, N * 64);
  float *memory, *memory_pos, *out = g_new (float, (size_t) N * C);
  int n_mem, n_ptr;
  char name[64];
  float *ref, *len;
  double err;

  sam_pos_enc_sine_2d (H, H, 64, maskmem_pos);
  g_assert_true (sam_memory_build_tokens (model, NULL, b, frame, 8, maskmem_pos,
          &memory, &memory_pos, &n_mem, &n_ptr));
  g_snprintf (name, sizeof name, "memattn%d.memory_len", call);
  len = get (name, 1);
  g_assert_cmpint (n_mem, ==, (int) len[0]);

  sam_memory_attention_run (model, pool, f->feat, f->pos, H, H, memory,
      memory_pos, n_mem, n_ptr, out, NULL, NULL);
  g_snprintf (name, sizeof name, "memattn%d.out", call);
  ref = get (name, (int64_t) N * C);
  err = sam_rel_l2 (out, ref, (int64_t) N * C);
  g_test_message ("memattn%d (frame %d, %d tokens, %d pointer tokens): "
      "rel L2 %.3g", call, (int) frame, n_mem, n_ptr, err);
  g_assert_cmpfloat (err, <=, 1e-3);

  /* The frame-shared prefix + per-object rest give the same bits. */
  {
    float *x1 = g_new (float, (size_t) N * C);
    float *q0 = g_new (float, (size_t) N * C);
    float *out2 = g_new (float, (size_t) N * C);
    sam_memory_attention_shared (model, pool, f->feat, f->pos, H, H, x1, q0);
    sam_memory_attention_run_shared (model, pool, H, H, x1, q0, memory,
        memory_pos, n_mem, n_ptr, out2, NULL, NULL);
    g_assert_cmpmem (out2, sizeof (float) * N * C, out,
        sizeof (float) * N * C);
    g_free (out2);
    g_free (q0);
    g_free (x1);
  }

  g_free (ref);
  g_free (len);
  g_free (memory);
  g_free (memory_pos);
  g_free (out);
  g_free (maskmem_pos);
}

static void
test_memattn_t256 (void)
{
  SamMemoryBankConfig cfg;
  SamMemoryBank *obj1, *obj2;
  SamImageFeatures f1, f2;
  SamPool *pool = sam_pool_new (2);

  sam_memory_bank_config_init (&cfg);
  cfg.n_tokens = 16 * 16;
  obj1 = sam_memory_bank_new (&cfg);
  obj2 = sam_memory_bank_new (&cfg);
  /* frame 0: prompted for both objects (memenc0/1, heads0/1) */
  bank_add (obj1, 0, true, 0, 0);
  bank_add (obj2, 0, true, 1, 1);

  encode_frame (1, pool, &f1);
  check_memattn (pool, &f1, obj1, 1, 0);
  check_memattn (pool, &f1, obj2, 1, 1);
  /* frame 1 tracked: obj1 is memenc2/heads2 */
  bank_add (obj1, 1, false, 2, 2);

  encode_frame (2, pool, &f2);
  check_memattn (pool, &f2, obj1, 2, 2);

  sam_image_features_clear (&f2);
  sam_image_features_clear (&f1);
  sam_memory_bank_free (obj2);
  sam_memory_bank_free (obj1);
  sam_pool_free (pool);
}

int
main (int argc, char **argv)
{
  GError *err = NULL;
  char *path;

  g_test_init (&argc, &argv, NULL);
  model = sam_model_load (g_getenv ("SAMSEG_TEST_MODEL"), NULL, &err);
  g_assert_no_error (err);
  path = g_build_filename (g_getenv ("SAMSEG_TEST_DATA"), "t256.safetensors",
      NULL);
  fx = sam_fixture_open (&path, 1, &err);
  g_assert_no_error (err);
  g_free (path);

  g_test_add_func ("/nn-memory/rope/complex", test_rope);
  g_test_add_func ("/nn-memory/rope/prefix", test_rope_prefix);
  g_test_add_func ("/nn-memory/attention/t256", test_memattn_t256);
  int ret = g_test_run ();
  sam_fixture_free (fx);
  sam_model_unref (model);
  return ret;
}
