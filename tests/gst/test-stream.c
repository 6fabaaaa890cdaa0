/* test-stream.c — the samseg element across stream events that
 * test-samseg.c does not cover: a format change mid-stream (the session
 * keeps tracking), a seek (flush + new segment: tracking restarts), EOS then
 * flush and a second stream, state changes up and down repeatedly in a real
 * pipeline (no leak of sessions, no error), and reuse of the element after
 * errors (a bad model, a refused format). Synthetic model, input size 256. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <string.h>

#include "harness-util.h"

#define S SAMSEG_TEST_INPUT_SIZE

/* A grey frame with a bright square at (16+n, 12): enough to track. */
static void
paint_square (guint8 * row, gint y, gint w, gint h, gint n)
{
  (void) h;
  for (gint x = 0; x < w; x++) {
    gboolean sq = x >= 16 + n % 8 && x < 36 + n % 8 && y >= 12 && y < 30;
    row[3 * x] = sq ? 240 : 40;
    row[3 * x + 1] = sq ? 220 : 40;
    row[3 * x + 2] = sq ? 30 : 50;
  }
}

static GstBuffer *
make_frame (const gchar * format, gint w, gint h, gint n)
{
  return samseg_test_frame (format, w, h, n, paint_square);
}

static GstBuffer *
push_pull (GstHarness * h, const gchar * format, gint w, gint hh, gint n)
{
  return samseg_test_push_pull (h, make_frame (format, w, hh, n));
}

static guint
n_objects (GstBuffer * b)
{
  return samseg_test_meta_of (b)->n_objects;
}

static void
drain_events (GstHarness * h)
{
  GstEvent *e;
  while ((e = gst_harness_try_pull_event (h)))
    gst_event_unref (e);
}

/* ---- caps change ------------------------------------------------------ */

GST_START_TEST (test_format_change_keeps_tracking)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+25,20\"", "RGB", 64, 48);
  GstBuffer *b = push_pull (h, "RGB", 64, 48, 0);
  guint64 fi;

  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  /* same size, other formats: the session (and the object) carry on */
  const gchar *formats[] = { "I420", "NV12", "BGRx", "RGB" };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=64,height=48,"
        "framerate=25/1", formats[i]);
    gst_harness_set_src_caps_str (h, caps);
    g_free (caps);
    b = push_pull (h, formats[i], 64, 48, 1 + i);
    fail_unless_equals_int (n_objects (b), 1);
    fi = samseg_test_meta_of (b)->frame_index;
    fail_unless_equals_int (fi, 1 + i);
    gst_buffer_unref (b);
  }
  /* caps with the same format and size again (renegotiation, no change) */
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  b = push_pull (h, "RGB", 64, 48, 5);
  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- seek --------------------------------------------------------------- */

GST_START_TEST (test_seek_restarts_tracking)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+25,20\"", "RGB", 64, 48);
  GstBuffer *b;
  GstEvent *e;
  GstSegment seg;
  gboolean got_seek = FALSE;

  for (gint i = 0; i < 2; i++) {
    b = push_pull (h, "RGB", 64, 48, i);
    fail_unless_equals_int (n_objects (b), 1);
    gst_buffer_unref (b);
  }
  /* the seek travels upstream through samseg */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_seek (1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH,
              GST_SEEK_TYPE_SET, 2 * GST_SECOND, GST_SEEK_TYPE_NONE, 0)));
  while ((e = gst_harness_try_pull_upstream_event (h))) {
    got_seek |= GST_EVENT_TYPE (e) == GST_EVENT_SEEK;
    gst_event_unref (e);
  }
  fail_unless (got_seek, "the seek did not reach upstream");
  /* what a source does for a flushing seek */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = 2 * GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  drain_events (h);
  b = push_pull (h, "RGB", 64, 48, 50);
  fail_unless_equals_int (n_objects (b), 0);
  fail_unless_equals_int (samseg_test_meta_of (b)->frame_index, 0);
  gst_buffer_unref (b);
  /* new prompts work after the seek */
  {
    gboolean ok = FALSE;
    GstElement *el = gst_bin_get_by_name (GST_BIN (h->element), "seg");
    g_signal_emit_by_name (el, "add-point", 2u, 25.0, 20.0, TRUE, &ok);
    gst_object_unref (el);
    fail_unless (ok);
  }
  b = push_pull (h, "RGB", 64, 48, 51);
  fail_unless_equals_int (n_objects (b), 1);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 2) != NULL);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- EOS, then a second stream ------------------------------------------ */

GST_START_TEST (test_eos_then_new_stream)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+25,20\"", "RGB", 64, 48);
  GstBuffer *b = push_pull (h, "RGB", 64, 48, 0);
  GstEvent *e;
  gboolean eos = FALSE;
  GstSegment seg;

  gst_buffer_unref (b);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((e = gst_harness_try_pull_event (h))) {
    eos |= GST_EVENT_TYPE (e) == GST_EVENT_EOS;
    gst_event_unref (e);
  }
  fail_unless (eos);
  /* after EOS only a flush makes the pad accept data again */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  drain_events (h);
  /* back at stream time 0: a new stream, the first-frame prompt applies
   * again (and nothing of the old tracks is left) */
  b = push_pull (h, "RGB", 64, 48, 0);
  fail_unless_equals_int (samseg_test_meta_of (b)->frame_index, 0);
  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  b = push_pull (h, "RGB", 64, 48, 1);
  fail_unless_equals_int (samseg_test_meta_of (b)->frame_index, 1);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- state changes ------------------------------------------------------ */

/* 120 s; an hour under valgrind (SAMSEG_VALGRIND=1, set by
 * tests/sanitizers/run-sanitizers.sh), where a frame at input 256 takes
 * minutes. */
static GstMessage *
wait_eos_or_error (GstElement * pipe)
{
  const guint64 secs = g_getenv ("SAMSEG_VALGRIND") ? 3600 : 120;
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, secs * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_object_unref (bus);
  fail_unless (m != NULL, "no EOS within %" G_GUINT64_FORMAT " s", secs);
  return m;
}

static void
expect_eos (GstElement * pipe)
{
  GstMessage *m = wait_eos_or_error (pipe);
  if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error (m, &err, &dbg);
    fail ("error: %s (%s)", err->message, dbg ? dbg : "");
  }
  gst_message_unref (m);
}

static GstElement *
test_pipeline (const gchar * samseg_props, gint n_buffers)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=ball ! "
      "video/x-raw,format=RGB,width=64,height=48,framerate=25/1 ! "
      "samseg name=seg input-size=%d threads=2 %s ! fakesink sync=false "
      "name=sink", n_buffers, S, samseg_props);
  GError *err = NULL;
  GstElement *pipe = gst_parse_launch (desc, &err);
  fail_unless (pipe != NULL && err == NULL, "%s", err ? err->message : "");
  g_free (desc);
  return pipe;
}

GST_START_TEST (test_state_changes_repeated)
{
  gchar *props = g_strdup_printf ("model=\"%s\" prompt=\"1:+32,24\"",
      samseg_test_model_path ());
  GstElement *pipe = test_pipeline (props, 2);
  GstElement *seg = gst_bin_get_by_name (GST_BIN (pipe), "seg");

  /* READY <-> PAUSED without data: start/stop load and free the model */
  for (gint i = 0; i < 3; i++) {
    fail_unless (gst_element_set_state (seg, GST_STATE_READY) !=
        GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_set_state (seg, GST_STATE_PAUSED) !=
        GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_set_state (seg, GST_STATE_READY) !=
        GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_set_state (seg, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
  }
  /* the whole pipeline to PLAYING and back, running to EOS each time */
  for (gint i = 0; i < 3; i++) {
    fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE);
    expect_eos (pipe);
    fail_unless (gst_element_set_state (pipe, i % 2 ? GST_STATE_READY :
            GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  }
  /* PLAYING -> PAUSED -> PLAYING mid-stream */
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  expect_eos (pipe);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (seg);
  gst_object_unref (pipe);
  g_free (props);
}

GST_END_TEST;

/* ---- reuse after errors ---------------------------------------------------- */

GST_START_TEST (test_reuse_after_bad_model)
{
  GstElement *pipe = test_pipeline ("model=/nonexistent/m.safetensors", 2);
  GstElement *seg = gst_bin_get_by_name (GST_BIN (pipe), "seg");
  GstMessage *m;
  gchar *good;

  /* fails at READY -> PAUSED with an error message */
  fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  m = wait_eos_or_error (pipe);
  fail_unless_equals_int (GST_MESSAGE_TYPE (m), GST_MESSAGE_ERROR);
  gst_message_unref (m);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  /* fix the property: the same element runs */
  good = g_strdup_printf ("%s", samseg_test_model_path ());
  g_object_set (seg, "model", good, "prompt", "1:+32,24", NULL);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  expect_eos (pipe);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  /* a bad prompt, then fixed again */
  g_object_set (seg, "prompt", "1:+nan,3", NULL);
  fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  g_object_set (seg, "prompt", "1:+3,3", NULL);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  expect_eos (pipe);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  g_free (good);
  gst_object_unref (seg);
  gst_object_unref (pipe);
}

GST_END_TEST;

GST_START_TEST (test_reuse_after_refused_caps)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+25,20\"", "RGB", 64, 48);
  GstBuffer *b = push_pull (h, "RGB", 64, 48, 0);

  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  /* a format samseg does not take: refused, the element survives */
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=GRAY16_LE,width=64,height=48,framerate=25/1");
  {
    GstBuffer *g = gst_buffer_new_allocate (NULL, 64 * 48 * 2, NULL);
    gst_buffer_memset (g, 0, 0, 64 * 48 * 2);
    fail_if (gst_harness_push (h, g) == GST_FLOW_OK);
  }
  /* back to a supported format after a flush: frames flow again */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=64,height=48,framerate=25/1");
  drain_events (h);
  b = push_pull (h, "RGB", 64, 48, 1);
  fail_unless_equals_int (samseg_test_meta_of (b)->width, 64);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
samseg_stream_suite (void)
{
  Suite *s = suite_create ("samseg-stream");
  TCase *tc = tcase_create ("stream");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_format_change_keeps_tracking);
  tcase_add_test (tc, test_seek_restarts_tracking);
  tcase_add_test (tc, test_eos_then_new_stream);
  tcase_add_test (tc, test_state_changes_repeated);
  tcase_add_test (tc, test_reuse_after_bad_model);
  tcase_add_test (tc, test_reuse_after_refused_caps);
  return s;
}

GST_CHECK_MAIN (samseg_stream);
