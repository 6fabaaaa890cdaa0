/* test-image-encoder.c — image encoder parity against the fixtures:
 * t256: every trunk stage, FPN level and the level-2 position encoding of
 * frame 0, plus bit-identical results for 1 and 2 threads;
 * t1024: backbone_fpn.2 and vision_pos_enc.2 at the real input size. */
#include <string.h>
#include "nn/nn.h"
#include "fixture.h"

static SamModel *model;

typedef struct
{
  GHashTable *taps;             /* name → GByteArray of floats */
} Taps;

static void
collect (const gchar * name, const float *data, const gint64 * shape,
    gint ndim, gpointer user_data)
{
  Taps *t = user_data;
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  GByteArray *b = g_byte_array_sized_new (n * sizeof (float));
  g_byte_array_append (b, (const guint8 *) data, n * sizeof (float));
  g_hash_table_replace (t->taps, g_strdup (name), b);
}

static void
taps_init (Taps * t)
{
  t->taps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) g_byte_array_unref);
}

static SamFixture *
open_fixture (const char *const *files, int n)
{
  const char *dir = g_getenv ("SAMSEG_TEST_DATA");
  char *paths[4];
  GError *err = NULL;
  g_assert_nonnull (dir);
  for (int i = 0; i < n; i++)
    paths[i] = g_build_filename (dir, files[i], NULL);
  SamFixture *fx = sam_fixture_open (paths, n, &err);
  g_assert_no_error (err);
  for (int i = 0; i < n; i++)
    g_free (paths[i]);
  return fx;
}

/* Frame 0 of the fixture as the model input: (rgb/255 - mean) / std. */
static float *
frame0 (const SamFixture * fx, int *pS)
{
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float std[3] = { 0.229f, 0.224f, 0.225f };
  const SamStTensor *t = sam_fixture_find (fx, "frames");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, SAM_DTYPE_U8);
  g_assert_cmpint (t->ndim, ==, 4);
  const int S = (int) t->shape[1];
  const guint8 *u = t->data;
  float *img = g_new (float, (size_t) S * S * 3);
  for (size_t i = 0; i < (size_t) S * S * 3; i++)
    img[i] = ((float) u[i] / 255.0f - mean[i % 3]) / std[i % 3];
  *pS = S;
  return img;
}

static double
compare (const SamFixture * fx, const char *name, const float *ours,
    int64_t n)
{
  int64_t rn = 0;
  float *ref = sam_fixture_get_f32 (fx, name, &rn);
  g_assert_nonnull (ref);
  g_assert_cmpint (rn, ==, n);
  double e = sam_rel_l2 (ours, ref, n);
  if (sam_fixture_find (fx, name)->dtype == SAM_DTYPE_F16) {
    /* Most of the error is the fixture's F16 storage: show ours rounded
     * the same way too. */
    float *r16 = g_new (float, n);
    for (int64_t i = 0; i < n; i++)
      r16[i] = sam_f16_to_f32 (sam_f32_to_f16 (ours[i]));
    g_print ("  %-24s rel L2 %.3g (ours rounded to F16: %.3g)\n", name, e,
        sam_rel_l2 (r16, ref, n));
    g_free (r16);
  } else {
    g_print ("  %-24s rel L2 %.3g\n", name, e);
  }
  g_free (ref);
  return e;
}

static void
test_t256 (void)
{
  static const char *files[] = { "t256.safetensors" };
  static const char *names[] = {
    "enc0.trunk.0", "enc0.trunk.1", "enc0.trunk.2", "enc0.trunk.3",
    "enc0.backbone_fpn.0", "enc0.backbone_fpn.1", "enc0.backbone_fpn.2",
    "enc0.vision_pos_enc.2",
  };
  SamFixture *fx = open_fixture (files, 1);
  int S;
  float *img = frame0 (fx, &S);
  SamImageFeatures f[2];
  Taps taps[2];

  for (int r = 0; r < 2; r++) {
    SamPool *pool = sam_pool_new (r + 1);
    SamTap tap = { collect, &taps[r] };
    taps_init (&taps[r]);
    sam_image_features_alloc (&f[r], S);
    gint64 t0 = g_get_monotonic_time ();
    sam_image_encoder_run (model, pool, img, S, &f[r], &tap, "enc0");
    g_print ("  %d thread(s): %.1f ms\n", r + 1,
        (g_get_monotonic_time () - t0) / 1000.0);
    sam_pool_free (pool);
  }

  /* bit-identical whatever the thread count */
  const SamImageFeatures *a = &f[0], *b = &f[1];
  g_assert_cmpint (memcmp (a->feat_s0, b->feat_s0,
          sizeof (float) * a->H0 * a->H0 * 32), ==, 0);
  g_assert_cmpint (memcmp (a->feat_s1, b->feat_s1,
          sizeof (float) * a->H1 * a->H1 * 64), ==, 0);
  g_assert_cmpint (memcmp (a->feat, b->feat,
          sizeof (float) * a->H2 * a->H2 * 256), ==, 0);
  g_assert_cmpint (memcmp (a->pos, b->pos,
          sizeof (float) * a->H2 * a->H2 * 256), ==, 0);

  bool ok = true;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GByteArray *t1 = g_hash_table_lookup (taps[0].taps, names[i]);
    GByteArray *t2 = g_hash_table_lookup (taps[1].taps, names[i]);
    g_assert_nonnull (t1);
    g_assert_nonnull (t2);
    g_assert_cmpuint (t1->len, ==, t2->len);
    g_assert_cmpint (memcmp (t1->data, t2->data, t1->len), ==, 0);
    double e = compare (fx, names[i], (const float *) t1->data,
        t1->len / sizeof (float));
    ok = ok && e <= 1e-3;
  }
  g_assert_true (ok);

  for (int r = 0; r < 2; r++) {
    sam_image_features_clear (&f[r]);
    g_hash_table_unref (taps[r].taps);
  }
  g_free (img);
  sam_fixture_free (fx);
}

static void
test_t1024 (void)
{
  static const char *files[] = {
    "t1024-0.safetensors", "t1024-1.safetensors", "t1024-2.safetensors",
  };
  SamFixture *fx = open_fixture (files, 3);
  int S;
  float *img = frame0 (fx, &S);
  SamImageFeatures f;
  Taps taps;
  SamTap tap = { collect, &taps };
  SamPool *pool = sam_pool_new (0);

  g_assert_cmpint (S, ==, 1024);
  taps_init (&taps);
  sam_image_features_alloc (&f, S);
  gint64 t0 = g_get_monotonic_time ();
  sam_image_encoder_run (model, pool, img, S, &f, &tap, "enc0");
  g_print ("  %d thread(s): %.1f ms\n", sam_pool_n_threads (pool),
      (g_get_monotonic_time () - t0) / 1000.0);

  const int64_t n = (int64_t) f.H2 * f.H2 * 256;
  float *chw = g_new (float, n);
  sam_transpose (f.feat, (int64_t) f.H2 * f.H2, 256, chw);
  double e1 = compare (fx, "enc0.backbone_fpn.2", chw, n);
  sam_transpose (f.pos, (int64_t) f.H2 * f.H2, 256, chw);
  double e2 = compare (fx, "enc0.vision_pos_enc.2", chw, n);
  g_assert_cmpfloat (e1, <=, 1e-3);
  g_assert_cmpfloat (e2, <=, 1e-3);

  g_free (chw);
  sam_pool_free (pool);
  sam_image_features_clear (&f);
  g_hash_table_unref (taps.taps);
  g_free (img);
  sam_fixture_free (fx);
}

int
main (int argc, char **argv)
{
  GError *err = NULL;
  const char *path = g_getenv ("SAMSEG_TEST_MODEL");

  g_test_init (&argc, &argv, NULL);
  if (!path) {
    g_printerr ("SAMSEG_TEST_MODEL is not set\n");
    return 1;
  }
  model = sam_model_load (path, NULL, &err);
  g_assert_no_error (err);

  g_test_add_func ("/nn-image/t256", test_t256);
  g_test_add_func ("/nn-image/t1024", test_t1024);
  int rc = g_test_run ();
  sam_model_unref (model);
  return rc;
}
