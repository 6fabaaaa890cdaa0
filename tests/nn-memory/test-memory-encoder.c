/* test-memory-encoder.c — memory encoder parity against the t256 fixture:
 * memenc0/1 are objects 1 and 2 on frame 0 (prompted, so binarized masks,
 * on the fixture's frame-0 features); memenc2/3 the same objects tracked on
 * frame 1 (sigmoid masks, on our image encoder's frame-1 features). Plus the
 * no-object embedding for absent objects. */
#include <math.h>
#include <string.h>
#include "nn/nn.h"
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

/* The fixture's frame-0 features (backbone_fpn.2, channels-last). */
static void
frame0_features (SamImageFeatures * f)
{
  const int S = 256, H = 16, C = 256, N = H * H;
  float *fpn = get ("enc0.backbone_fpn.2", (int64_t) C * N);

  sam_image_features_alloc (f, S);
  sam_transpose (fpn, C, N, f->feat);   /* [256, HW] → [HW, 256] */
  g_free (fpn);
}

static void
encode_frame (int frame, SamPool * pool, SamImageFeatures * out)
{
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float std[3] = { 0.229f, 0.224f, 0.225f };
  const SamStTensor *t = sam_fixture_find (fx, "frames");
  const int S = (int) t->shape[1];
  const guint8 *u = (const guint8 *) t->data + (size_t) frame * S * S * 3;
  float *img = g_new (float, (size_t) S * S * 3);

  for (size_t i = 0; i < (size_t) S * S * 3; i++)
    img[i] = ((float) u[i] / 255.0f - mean[i % 3]) / std[i % 3];
  sam_image_features_alloc (out, S);
  sam_image_encoder_run (model, pool, img, S, out, NULL, NULL);
  g_free (img);
}

static void
check_memenc (const SamImageFeatures * f, int call, int heads,
    bool from_pts)
{
  const int S = 256, H = 16, D = 64, N = H * H;
  char name[64];
  float out[N * D], pos[N * D], ref[N * D], *mask, *score, *r;
  SamPool *pool = sam_pool_new (2);
  double err;

  g_snprintf (name, sizeof name, "heads%d.low_res_masks", heads);
  mask = get (name, (S / 4) * (S / 4));
  g_snprintf (name, sizeof name, "heads%d.object_score_logits", heads);
  score = get (name, 1);

  sam_memory_encoder_run (model, pool, f, mask, score[0], from_pts, out, pos,
      NULL, NULL);

  g_snprintf (name, sizeof name, "memenc%d.vision_features", call);
  r = get (name, (int64_t) D * N);
  sam_transpose (r, D, N, ref);
  err = sam_rel_l2 (out, ref, (int64_t) N * D);
  g_test_message ("memenc%d rel L2 %.3g", call, err);
  g_assert_cmpfloat (err, <=, 1e-2);
  /* Every output value is bf16-exact. */
  for (int i = 0; i < N * D; i++)
    g_assert_cmpfloat (out[i], ==, sam_bf16_to_f32 (sam_f32_to_bf16 (out[i])));

  g_free (r);
  g_free (mask);
  g_free (score);
  sam_pool_free (pool);
}

static void
test_memenc_prompted (void)
{
  SamImageFeatures f;

  frame0_features (&f);
  check_memenc (&f, 0, 0, true);
  check_memenc (&f, 1, 1, true);
  sam_image_features_clear (&f);
}

static void
test_memenc_tracked (void)
{
  SamImageFeatures f;
  SamPool *pool = sam_pool_new (2);

  encode_frame (1, pool, &f);
  check_memenc (&f, 2, 2, false);
  check_memenc (&f, 3, 3, false);
  sam_image_features_clear (&f);
  sam_pool_free (pool);
}

/* An absent object (score <= 0) gets no_obj_embed_spatial on every token;
 * the position encoding is the 64-channel sine encoding. */
static void
test_memenc_absent (void)
{
  const int H = 16, D = 64, N = H * H;
  const float *no_obj = sam_model_wd (model, "no_obj_embed_spatial");
  float present[N * D], absent[N * D], pos[N * D], sine[N * D];
  float *mask = get ("heads0.low_res_masks", 64 * 64);
  SamImageFeatures f;
  double worst = 0;

  frame0_features (&f);
  sam_memory_encoder_run (model, NULL, &f, mask, 0.5f, true, present, pos,
      NULL, NULL);
  sam_memory_encoder_run (model, NULL, &f, mask, 0.f, true, absent, pos,
      NULL, NULL);
  for (int i = 0; i < N * D; i++) {
    /* both sides are bf16-rounded: allow two half-ulps of bf16 */
    double d = (absent[i] - present[i]) - no_obj[i % D];
    double tol = (fabs (absent[i]) + fabs (present[i])) / 256.0 + 1e-30;
    worst = MAX (worst, fabs (d) / tol);
  }
  g_test_message ("no_obj_embed_spatial: worst error %.3g of tolerance",
      worst);
  g_assert_cmpfloat (worst, <=, 1.0);
  sam_pos_enc_sine_2d (H, H, D, sine);
  g_assert_cmpmem (pos, sizeof pos, sine, sizeof sine);
  sam_image_features_clear (&f);
  g_free (mask);
}

/* t1024: the real input size (the fixture holds only memenc0, on F16
 * features, so the input itself carries ~1e-3 of error). */
static void
test_memenc_t1024 (void)
{
  const char *files[] = { "t1024-0.safetensors", "t1024-1.safetensors",
    "t1024-2.safetensors"
  };
  const int S = 1024, H = 64, C = 256, D = 64, N = H * H;
  char *paths[3];
  GError *err = NULL;
  SamFixture *f1024;
  SamImageFeatures f;
  SamPool *pool = sam_pool_new (2);
  int64_t n;
  float *fpn, *mask, *score, *r, *out, *pos, *ref;
  double e;

  for (int i = 0; i < 3; i++)
    paths[i] = g_build_filename (g_getenv ("SAMSEG_TEST_DATA"), files[i],
        NULL);
  f1024 = sam_fixture_open (paths, 3, &err);
  g_assert_no_error (err);
  for (int i = 0; i < 3; i++)
    g_free (paths[i]);

  fpn = sam_fixture_get_f32 (f1024, "enc0.backbone_fpn.2", &n);
  g_assert_cmpint (n, ==, (int64_t) C * N);
  sam_image_features_alloc (&f, S);
  sam_transpose (fpn, C, N, f.feat);
  mask = sam_fixture_get_f32 (f1024, "heads0.low_res_masks", &n);
  g_assert_cmpint (n, ==, (S / 4) * (S / 4));
  score = sam_fixture_get_f32 (f1024, "heads0.object_score_logits", &n);
  out = g_new (float, N * D);
  pos = g_new (float, N * D);
  ref = g_new (float, N * D);

  sam_memory_encoder_run (model, pool, &f, mask, score[0], true, out, pos,
      NULL, NULL);
  r = sam_fixture_get_f32 (f1024, "memenc0.vision_features", &n);
  g_assert_cmpint (n, ==, (int64_t) D * N);
  sam_transpose (r, D, N, ref);
  e = sam_rel_l2 (out, ref, (int64_t) N * D);
  g_test_message ("t1024 memenc0 rel L2 %.3g", e);
  g_assert_cmpfloat (e, <=, 1e-2);

  g_free (r);
  g_free (ref);
  g_free (pos);
  g_free (out);
  g_free (score);
  g_free (mask);
  g_free (fpn);
  sam_image_features_clear (&f);
  sam_fixture_free (f1024);
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

  g_test_add_func ("/nn-memory/encoder/prompted", test_memenc_prompted);
  g_test_add_func ("/nn-memory/encoder/tracked", test_memenc_tracked);
  g_test_add_func ("/nn-memory/encoder/absent", test_memenc_absent);
  g_test_add_func ("/nn-memory/encoder/t1024", test_memenc_t1024);
  int ret = g_test_run ();
  sam_fixture_free (fx);
  sam_model_unref (model);
  return ret;
}
