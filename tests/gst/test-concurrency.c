/* test-concurrency.c — prompts from application threads while frames
 * stream: two threads emit the action signals (add-point, add-box,
 * add-prompt, remove-object, reset), write and read properties, and send
 * custom prompt events (upstream from the sink, downstream into samseg's
 * sink pad) and navigation clicks, while a videotestsrc pipeline runs to
 * EOS. Must end without an error message; built with -Db_sanitize=thread it
 * is the ThreadSanitizer check of the element's locking (.ci/run).
 * SAMSEG_CONCURRENCY_FRAMES sets the stream length (default 12). */
#include <gst/check/gstcheck.h>
#include <gst/video/navigation.h>
#include <string.h>

#include "gstsamsegevent.h"

typedef struct {
  GstElement *pipe, *seg, *sink;
  GstPad *seg_sink;
  gint stop;                    /* atomic */
  guint seed;
  guint ops;
} Ctx;

static void
send_events (Ctx * c, GRand * r, guint i)
{
  gfloat xy[4] = { g_rand_int_range (r, 0, 64), g_rand_int_range (r, 0, 48),
    g_rand_int_range (r, 0, 64), g_rand_int_range (r, 0, 48)
  };
  gint32 lab[2] = { 1, 0 };
  guint32 id = 1 + i % 6;
  switch (i % 5) {
    case 0:                    /* upstream, from the sink: any thread */
      gst_element_send_event (c->sink, gst_samseg_event_new_add_points (TRUE,
              GST_CLOCK_TIME_NONE, id, 2, xy, lab));
      break;
    case 1:
      gst_element_send_event (c->sink, gst_samseg_event_new_add_box (TRUE,
              GST_CLOCK_TIME_NONE, id, 2, 2, 40, 30));
      break;
    case 2:                    /* downstream into samseg: serialized */
      gst_pad_send_event (c->seg_sink,
          gst_samseg_event_new_remove_object (FALSE, GST_CLOCK_TIME_NONE, id));
      break;
    case 3:
      gst_element_send_event (c->sink,
          gst_navigation_event_new_mouse_button_press (1, xy[0], xy[1], 0));
      break;
    default:
      gst_pad_send_event (c->seg_sink,
          gst_samseg_event_new_add_points (FALSE, GST_CLOCK_TIME_NONE, id, 1,
              xy, lab));
      break;
  }
}

static void
emit_signals (Ctx * c, GRand * r, guint i)
{
  gboolean ok;
  guint id = 1 + g_rand_int_range (r, 0, 6);
  gdouble x = g_rand_double_range (r, 0, 64), y = g_rand_double_range (r, 0,
      48);
  gchar *p;

  switch (i % 9) {
    case 0:
      g_signal_emit_by_name (c->seg, "add-point", id, x, y, (i & 1) != 0,
          &ok);
      break;
    case 1:
      g_signal_emit_by_name (c->seg, "add-box", id, 1.0, 1.0, 40.0, 30.0, &ok);
      break;
    case 2:
      p = g_strdup_printf ("%u:+%d,%d %u:2,2,30,30", id, (gint) x, (gint) y,
          id + 1);
      g_signal_emit_by_name (c->seg, "add-prompt", p, &ok);
      g_free (p);
      break;
    case 3:
      g_signal_emit_by_name (c->seg, "remove-object", id);
      break;
    case 4:
      if (i % 36 == 4)
        g_signal_emit_by_name (c->seg, "reset");
      break;
    case 5:                    /* property writes */
      g_object_set (c->seg, "overlay-alpha", g_rand_double (r), "outline",
          (i & 2) != 0, "mask-threshold", g_rand_double_range (r, -1, 1),
          NULL);
      break;
    case 6:
      g_object_set (c->seg, "selected-object", id, "inference-interval",
          1 + (i / 9) % 2, "overlay", (i & 4) != 0, NULL);
      break;
    case 7:                    /* property writes the element reads at start */
      p = g_strdup_printf ("%u:+%d,%d", id, (gint) x, (gint) y);
      g_object_set (c->seg, "prompt", p, NULL);
      g_free (p);
      break;
    default:{                  /* property reads */
      gchar *s = NULL;
      guint sel;
      gdouble a;
      g_object_get (c->seg, "prompt", &s, "selected-object", &sel,
          "overlay-alpha", &a, NULL);
      g_free (s);
      break;
    }
  }
}

static gpointer
app_thread (gpointer data)
{
  Ctx *c = data;
  GRand *r = g_rand_new_with_seed (c->seed);
  guint i = 0;

  while (!g_atomic_int_get (&c->stop)) {
    if (c->seed & 1)
      send_events (c, r, i);
    else
      emit_signals (c, r, i);
    i++;
    g_usleep (500 + g_rand_int_range (r, 0, 2000));
  }
  c->ops = i;
  g_rand_free (r);
  return NULL;
}

GST_START_TEST (test_prompts_from_threads_while_streaming)
{
  const gchar *model = g_getenv ("SAMSEG_TEST_MODEL");
  const gchar *nf = g_getenv ("SAMSEG_CONCURRENCY_FRAMES");
  gint frames = nf ? atoi (nf) : 12;
  gchar *desc;
  GstElement *pipe;
  GstBus *bus;
  GstMessage *m;
  Ctx ctx[3];
  GThread *th[3];
  guint warnings = 0;

  fail_unless (model != NULL);
  desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=ball ! "
      "video/x-raw,format=RGB,width=64,height=48,framerate=25/1 ! "
      "samseg name=seg model=\"%s\" input-size=256 threads=2 "
      "prompt=\"1:+32,24\" ! fakesink name=sink sync=false", frames, model);
  pipe = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (pipe != NULL);
  bus = gst_element_get_bus (pipe);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  for (guint t = 0; t < G_N_ELEMENTS (th); t++) {
    memset (&ctx[t], 0, sizeof ctx[t]);
    ctx[t].pipe = pipe;
    ctx[t].seg = gst_bin_get_by_name (GST_BIN (pipe), "seg");
    ctx[t].sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
    ctx[t].seg_sink = gst_element_get_static_pad (ctx[t].seg, "sink");
    ctx[t].seed = 1 + t;
    th[t] = g_thread_new ("app", app_thread, &ctx[t]);
  }
  /* the main thread pauses and resumes the pipeline meanwhile */
  for (;;) {
    m = gst_bus_timed_pop_filtered (bus, 300 * GST_MSECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    if (!m) {
      static guint k;
      if (++k % 7 == 0) {
        gst_element_set_state (pipe, GST_STATE_PAUSED);
        g_usleep (20000);
        gst_element_set_state (pipe, GST_STATE_PLAYING);
      }
      continue;
    }
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_WARNING) {
      warnings++;               /* too many objects, out of frame, ... */
      gst_message_unref (m);
      continue;
    }
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (m, &err, &dbg);
      fail ("error while streaming: %s (%s)", err->message, dbg ? dbg : "");
    }
    gst_message_unref (m);
    break;
  }
  for (guint t = 0; t < G_N_ELEMENTS (th); t++)
    g_atomic_int_set (&ctx[t].stop, 1);
  for (guint t = 0; t < G_N_ELEMENTS (th); t++) {
    g_thread_join (th[t]);
    GST_INFO ("thread %u: %u operations", t, ctx[t].ops);
    fail_unless (ctx[t].ops > 0);
  }
  /* and once more while the pipeline goes down */
  for (guint t = 0; t < G_N_ELEMENTS (th); t++) {
    ctx[t].stop = 0;
    th[t] = g_thread_new ("app", app_thread, &ctx[t]);
  }
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  for (guint t = 0; t < G_N_ELEMENTS (th); t++) {
    g_atomic_int_set (&ctx[t].stop, 1);
    g_thread_join (th[t]);
    gst_object_unref (ctx[t].seg_sink);
    gst_object_unref (ctx[t].seg);
    gst_object_unref (ctx[t].sink);
  }
  GST_INFO ("%u warnings", warnings);
  gst_object_unref (bus);
  gst_object_unref (pipe);
}

GST_END_TEST;

static Suite *
samseg_concurrency_suite (void)
{
  Suite *s = suite_create ("samseg-concurrency");
  TCase *tc = tcase_create ("concurrency");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_prompts_from_threads_while_streaming);
  return s;
}

GST_CHECK_MAIN (samseg_concurrency);
