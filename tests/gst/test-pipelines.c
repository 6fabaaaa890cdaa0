/* test-pipelines.c — samseg in real decoding pipelines:
 *  - a real H.264 clip (filesrc ! qtdemux ! h264parse ! avdec_h264 ! samseg)
 *    where every frame comes out with meta;
 *  - the element's I420 → RGB equals videoconvert bit for bit on the
 *    eval-mini frames (the SHA-256s in tests/data/eval-mini/README.md);
 *  - the trained proxy model on clip07 of the shapes set: the element's masks
 *    have a mean IoU >= 0.9 with the dataset's reference masks.
 * Needs gst-plugins-base/good (qtdemux) /bad (h264parse) and gst-libav. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <string.h>

#include "core/safetensors.h"
#include "gstsamsegmeta.h"
#include "gstsamseg-convert.h"

static gchar *
data_path (const gchar * rel)
{
  const gchar *d = g_getenv ("SAMSEG_TEST_DATA");
  fail_unless (d != NULL, "SAMSEG_TEST_DATA not set");
  return g_build_filename (d, rel, NULL);
}

static gboolean
have_elements (void)
{
  const gchar *need[] = { "filesrc", "qtdemux", "h264parse", "avdec_h264",
    "appsink"
  };
  for (guint i = 0; i < G_N_ELEMENTS (need); i++) {
    GstElementFactory *f = gst_element_factory_find (need[i]);
    if (!f) {
      g_printerr ("SKIP: element '%s' not installed\n", need[i]);
      return FALSE;
    }
    gst_object_unref (f);
  }
  return TRUE;
}

/* Runs @desc (with an appsink named "sink") and calls @fn on every sample. */
static gint
run_pipeline (const gchar * desc, void (*fn) (GstSample *, gint, gpointer),
    gpointer data)
{
  GError *err = NULL;
  GstElement *pipe = gst_parse_launch (desc, &err);
  GstElement *sink;
  GstBus *bus;
  GstMessage *msg;
  gint n = 0;

  fail_unless (pipe != NULL, "%s: %s", desc, err ? err->message : "");
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  bus = gst_element_get_bus (pipe);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  for (;;) {
    GstSample *s = NULL;
    g_signal_emit_by_name (sink, "pull-sample", &s);
    if (!s)
      break;
    fn (s, n++, data);
    gst_sample_unref (s);
  }
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (msg) {
    GError *e = NULL;
    gst_message_parse_error (msg, &e, NULL);
    fail ("pipeline error: %s", e->message);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  return n;
}

/* ---- a real H.264 clip: every frame processed ------------------------- */

typedef struct
{
  gint inferred, with_object;
  guint64 last_index;
} H264Stats;

static void
h264_frame (GstSample * s, gint n, gpointer data)
{
  H264Stats *st = data;
  GstSamSegMeta *m = gst_buffer_get_samseg_meta (gst_sample_get_buffer (s));
  fail_unless (m != NULL, "frame %d without meta", n);
  fail_unless_equals_uint64 (m->frame_index, (guint64) n);
  fail_unless_equals_int (m->width, 960);
  st->inferred += m->inferred;
  st->with_object += m->n_objects == 1;
}

static void
count_frame (GstSample * s, gint n, gpointer data)
{
}

GST_START_TEST (test_h264_every_frame)
{
  gchar *clip = data_path ("media/bedroom.mp4");
  gchar *plain, *desc;
  H264Stats st = { 0 };
  gint n_plain, n;

  if (!have_elements ())
    return;
  plain = g_strdup_printf ("filesrc location=\"%s\" ! qtdemux ! h264parse ! "
      "avdec_h264 ! appsink name=sink sync=false", clip);
  n_plain = run_pipeline (plain, count_frame, NULL);
  fail_unless (n_plain > 100);
  desc = g_strdup_printf ("filesrc location=\"%s\" ! qtdemux ! h264parse ! "
      "avdec_h264 ! samseg model=\"%s\" input-size=256 threads=2 "
      "inference-interval=20 prompt=\"1:+480,270 1:300,150,700,450\" ! "
      "videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false",
      clip, g_getenv ("SAMSEG_TEST_MODEL"));
  n = run_pipeline (desc, h264_frame, &st);
  fail_unless_equals_int (n, n_plain);
  fail_unless_equals_int (st.with_object, n);
  fail_unless_equals_int (st.inferred, (n + 19) / 20);
  g_free (plain);
  g_free (desc);
  g_free (clip);
}

GST_END_TEST;

/* ---- I420 → RGB is videoconvert's ------------------------------------ */

static const gchar *eval_mini_sha[4] = {
  "67e852669e3ee87b455a153df2f164c19a58e47264d19f86229fc0f9876f487f",
  "4751243767be1b079d7aa6a341e7daf36eabed0fe84cdd4d867526d83c39237e",
  "39fc1519e745b4462b5c77d7c49c58694989ba7ae15df0f1c3f463f645e10d33",
  "f475354ee6dcef6f6eeb620f485680263783f1c510462e402d48048803983b08",
};

static void
hash_frame (GstSample * s, gint n, gpointer data)
{
  GstVideoInfo info;
  GstVideoFrame f;
  guint8 *rgb;
  gchar *sha;

  fail_unless (n < 4);
  fail_unless (gst_video_info_from_caps (&info, gst_sample_get_caps (s)));
  fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&info),
      GST_VIDEO_FORMAT_I420);
  fail_unless (gst_video_frame_map (&f, &info, gst_sample_get_buffer (s),
          GST_MAP_READ));
  rgb = g_malloc ((gsize) 512 * 512 * 3);
  gst_samseg_frame_to_rgb (&f, rgb, 512 * 3);
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, rgb, 512 * 512 * 3);
  fail_unless_equals_string (sha, eval_mini_sha[n]);
  g_free (sha);
  g_free (rgb);
  gst_video_frame_unmap (&f);
}

GST_START_TEST (test_i420_is_videoconvert)
{
  gchar *clip = data_path ("eval-mini/clip00.mp4"), *desc;

  if (!have_elements ())
    return;
  desc = g_strdup_printf ("filesrc location=\"%s\" ! qtdemux ! h264parse ! "
      "avdec_h264 ! video/x-raw,format=I420 ! appsink name=sink sync=false",
      clip);
  fail_unless_equals_int (run_pipeline (desc, hash_frame, NULL), 4);
  g_free (desc);
  g_free (clip);
}

GST_END_TEST;

/* ---- clip07 with the trained proxy ------------------------------------ */

typedef struct
{
  const guint8 *ref, *gt;       /* packbits, T × 512*512/8 */
  gint T;
  gdouble iou_sum, j_sum;
  gint n;
} Clip07;

static gdouble
iou_packed (const guint8 * mask, const guint8 * packed)
{
  guint64 inter = 0, uni = 0;
  for (gint i = 0; i < 512 * 512; i++) {
    gboolean a = mask[i] != 0;
    gboolean b = (packed[i >> 3] >> (7 - (i & 7))) & 1;
    inter += a && b;
    uni += a || b;
  }
  return uni ? (gdouble) inter / uni : 1.0;
}

static void
clip07_frame (GstSample * s, gint n, gpointer data)
{
  Clip07 *c = data;
  GstSamSegMeta *m = gst_buffer_get_samseg_meta (gst_sample_get_buffer (s));
  guint8 *mask = g_malloc0 (512 * 512);
  GstSamSegObject *o;
  gdouble iou, j;

  fail_unless (n < c->T);
  fail_unless (m != NULL && m->inferred);
  o = gst_samseg_meta_get_object (m, 1);
  fail_unless (o != NULL);
  fail_unless (gst_samseg_meta_rasterize (m, o, mask, 512, 1));
  iou = iou_packed (mask, c->ref + (gsize) n * 32768);
  j = iou_packed (mask, c->gt + (gsize) n * 32768);
  g_print ("clip07 frame %2d: IoU with reference %.4f, J %.4f\n", n, iou, j);
  if (n > 0) {                  /* frame 0 carries the prompt */
    c->iou_sum += iou;
    c->j_sum += j;
    c->n++;
  }
  g_free (mask);
}

GST_START_TEST (test_clip07_proxy_iou)
{
  gchar *clip = data_path ("eval/clip07.mp4");
  gchar *refs = data_path ("eval/clip07.safetensors");
  gchar *model = data_path ("models/sam2.1_hiera_t-proxy-shapes-bf16.safetensors");
  GError *err = NULL;
  SamSafetensors *st;
  const SamStTensor *ref, *gt;
  Clip07 c = { 0 };
  gchar *desc;
  gint n;

  if (!have_elements ())
    return;
  st = sam_safetensors_open (refs, &err);
  fail_unless (st != NULL, "%s", err ? err->message : "");
  ref = sam_safetensors_find (st, "ref.clip07");
  gt = sam_safetensors_find (st, "gt.clip07");
  fail_unless (ref && gt && ref->shape[1] == 32768);
  c.ref = ref->data;
  c.gt = gt->data;
  c.T = (gint) ref->shape[0];
  /* the dataset's prompt for clip07: a box on frame 0 */
  desc = g_strdup_printf ("filesrc location=\"%s\" ! qtdemux ! h264parse ! "
      "avdec_h264 ! samseg model=\"%s\" input-size=512 threads=2 "
      "overlay=false prompt=\"1:67.31486511230469,354.48455810546875,"
      "221.28831481933594,430.74407958984375\" ! appsink name=sink "
      "sync=false", clip, model);
  n = run_pipeline (desc, clip07_frame, &c);
  fail_unless_equals_int (n, c.T);
  g_print ("clip07: mean IoU with the reference masks %.4f, J %.4f "
      "(reference J 0.5255)\n", c.iou_sum / c.n, c.j_sum / c.n);
  fail_unless (c.iou_sum / c.n >= 0.9, "mean IoU %.4f < 0.9",
      c.iou_sum / c.n);
  sam_safetensors_close (st);
  g_free (desc);
  g_free (clip);
  g_free (refs);
  g_free (model);
}

GST_END_TEST;

static Suite *
pipelines_suite (void)
{
  Suite *s = suite_create ("samseg-pipelines");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_i420_is_videoconvert);
  tcase_add_test (tc, test_h264_every_frame);
  tcase_add_test (tc, test_clip07_proxy_iou);
  return s;
}

GST_CHECK_MAIN (pipelines);
