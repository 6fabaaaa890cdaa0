/* test-memory-encoder.c — memory encoder parity against the t256 fixture:
 * memenc0/1 are objects 1 and 2 on frame 0 (prompted, so binarized masks). */
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

static void
check_memenc (int call, int heads)
{
  const int S = 256, H = 16, C = 256, D = 64, N = H * H;
  char name[64];
  float *fpn = get ("enc0.backbone_fpn.2", (int64_t) C * N);
  float feat[N * C];
  SamImageFeatures f = { .S = S, .H0 = S / 4, .H1 = S / 8, .H2 = H,
    .feat = feat
  };
  float out[N * D], pos[N * D], ref_chw[N * D], ref[N * D];
  float *mask, *score;
  SamPool *pool = sam_pool_new (2);
  double err;

  sam_transpose (fpn, C, N, feat);      /* [256, HW] → [HW, 256] */
  g_snprintf (name, sizeof name, "heads%d.low_res_masks", heads);
  mask = get (name, (S / 4) * (S / 4));
  g_snprintf (name, sizeof name, "heads%d.object_score_logits", heads);
  score = get (name, 1);

  sam_memory_encoder_run (model, pool, &f, mask, score[0], true, out, pos,
      NULL, NULL);

  g_snprintf (name, sizeof name, "memenc%d.vision_features", call);
  float *r = get (name, (int64_t) D * N);
  memcpy (ref_chw, r, sizeof ref_chw);
  sam_transpose (ref_chw, D, N, ref);
  err = sam_rel_l2 (out, ref, (int64_t) N * D);
  g_test_message ("memenc%d rel L2 %.3g", call, err);
  g_assert_cmpfloat (err, <=, 1e-2);
  /* Every output value is bf16-exact. */
  for (int i = 0; i < N * D; i++)
    g_assert_cmpfloat (out[i], ==, sam_bf16_to_f32 (sam_f32_to_bf16 (out[i])));

  g_free (r);
  g_free (mask);
  g_free (score);
  g_free (fpn);
  sam_pool_free (pool);
}

static void
test_memenc0 (void)
{
  check_memenc (0, 0);
}

static void
test_memenc1 (void)
{
  check_memenc (1, 1);
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

  g_test_add_func ("/nn-memory/encoder/memenc0", test_memenc0);
  g_test_add_func ("/nn-memory/encoder/memenc1", test_memenc1);
  int ret = g_test_run ();
  sam_fixture_free (fx);
  sam_model_unref (model);
  return ret;
}
