/* harness-util.c — shared set-up of the samseg element tests. */
#include "harness-util.h"

const gchar *
samseg_test_model_path (void)
{
  const gchar *p = g_getenv ("SAMSEG_TEST_MODEL");
  fail_unless (p != NULL, "SAMSEG_TEST_MODEL not set");
  return p;
}

GstHarness *
samseg_test_harness (const gchar * props, const gchar * format, gint w, gint h)
{
  g_autofree gchar *desc = g_strdup_printf ("samseg name=seg model=\"%s\" "
      "input-size=%d threads=2 %s", samseg_test_model_path (),
      SAMSEG_TEST_INPUT_SIZE, props ? props : "");
  g_autofree gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,"
      "height=%d,framerate=25/1", format, w, h);
  GstHarness *hr = gst_harness_new_parse (desc);
  gst_harness_set_src_caps_str (hr, caps);
  return hr;
}

GstBuffer *
samseg_test_frame (const gchar * format, gint w, gint h, gint n,
    SamsegTestPaintRow paint)
{
  GstVideoInfo rinfo, info;
  GstVideoFrame rf, of;
  GstBuffer *rgb, *out;
  GstVideoConverter *conv;

  gst_video_info_set_format (&rinfo, GST_VIDEO_FORMAT_RGB, w, h);
  gst_video_info_set_format (&info, gst_video_format_from_string (format), w,
      h);
  rgb = gst_buffer_new_allocate (NULL, rinfo.size, NULL);
  out = gst_buffer_new_allocate (NULL, info.size, NULL);
  gst_video_frame_map (&rf, &rinfo, rgb, GST_MAP_WRITE);
  for (gint y = 0; y < h; y++)
    paint ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&rf, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&rf, 0), y, w, h, n);
  gst_video_frame_map (&of, &info, out, GST_MAP_WRITE);
  conv = gst_video_converter_new (&rinfo, &info, NULL);
  gst_video_converter_frame (conv, &rf, &of);
  gst_video_converter_free (conv);
  gst_video_frame_unmap (&rf);
  gst_video_frame_unmap (&of);
  gst_buffer_unref (rgb);
  GST_BUFFER_PTS (out) = n * GST_SECOND / 25;
  GST_BUFFER_DURATION (out) = GST_SECOND / 25;
  return out;
}

GstBuffer *
samseg_test_push_pull (GstHarness * h, GstBuffer * buf)
{
  GstBuffer *out;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (out != NULL);
  return out;
}

GstSamSegMeta *
samseg_test_meta_of (GstBuffer * b)
{
  GstSamSegMeta *m = gst_buffer_get_samseg_meta (b);
  fail_unless (m != NULL, "no GstSamSegMeta");
  return m;
}
