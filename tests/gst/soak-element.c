/* soak-element — the samseg element over a long stream (a benchmark, run
 * with `meson test --benchmark` or directly; not part of the test suite):
 *
 *   soak-element [--frames N] [--interval K] [--prompt-period P]
 *                [--every E] [--size WxH] [--input-size S] [--model PATH]
 *
 * videotestsrc (a moving ball) → samseg → fakesink, N frames (default
 * 100000) as fast as they go. Along the way the signals click a new object
 * every P frames (default 500) and remove the oldest when more than 3 are
 * tracked, add a correction click every 3P/5+1 frames and a box every
 * 3P/2+1, and reset everything every 20011 frames — so objects come and go
 * and conditioning frames pile up past the caps. With --interval K the element
 * runs the networks every K-th frame (inference-interval; prompted frames
 * always run) and carries masks in between, which is what makes 100,000
 * frames fit in minutes on a CPU; every frame still goes through the
 * element (conversion, meta, overlay). Every E frames (default 5000) it
 * prints frame, VmRSS, the growth since the first sample, frames per second
 * and the objects in the last meta. Exits 1 on an error message, or if RSS
 * grew by more than 64 MiB after the first 10% of the run.
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstsamsegmeta.h"

typedef struct {
  GstElement *seg;
  guint64 frames, every;
  guint64 n;                    /* buffers seen (streaming thread) */
  gint64 t0, t_last;
  gint64 rss0, rss_after_warmup, rss_max;
  guint64 n_last;
  guint objs_last;
  guint next_id, oldest_id;
  guint64 period;
  GMainLoop *loop;
  gboolean failed;
} Soak;

static gint64
rss_kib (void)
{
  gchar *s = NULL;
  gint64 v = -1;
  if (g_file_get_contents ("/proc/self/status", &s, NULL, NULL)) {
    gchar *p = strstr (s, "VmRSS:");
    if (p)
      v = g_ascii_strtoll (p + 6, NULL, 10);
  }
  g_free (s);
  return v;
}

/* Prompt schedule, from the streaming thread before samseg sees the frame:
 * the element queues signal ops under its lock, as an app thread would. */
static void
prompts_for (Soak * s, guint64 n)
{
  gboolean ok;
  guint64 p = s->period;
  if (n % 20011 == 20010) {
    g_signal_emit_by_name (s->seg, "reset");
    s->oldest_id = s->next_id;
    return;
  }
  if (n % p == 0) {
    g_signal_emit_by_name (s->seg, "add-point", s->next_id++, 60.0 +
        (gdouble) (n % 40), 40.0, TRUE, &ok);
    if (s->next_id - s->oldest_id > 3)
      g_signal_emit_by_name (s->seg, "remove-object", s->oldest_id++);
  }
  if (n % (3 * p / 5 + 1) == 0 && s->next_id > s->oldest_id)
    g_signal_emit_by_name (s->seg, "add-point", s->next_id - 1, 30.0, 20.0,
        (n / p) % 2 == 0, &ok);
  if (n % (3 * p / 2 + 1) == 0 && s->next_id > s->oldest_id)
    g_signal_emit_by_name (s->seg, "add-box", s->oldest_id, 10.0, 10.0, 100.0,
        80.0, &ok);
}

static GstPadProbeReturn
sink_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Soak *s = data;
  prompts_for (s, s->n);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
src_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Soak *s = data;
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  GstSamSegMeta *m = gst_buffer_get_samseg_meta (b);
  guint64 n = ++s->n;

  if (m)
    s->objs_last = m->n_objects;
  if (n % s->every == 0 || n == s->frames) {
    gint64 now = g_get_monotonic_time (), rss = rss_kib ();
    if (n * 10 >= s->frames && s->rss_after_warmup == 0)
      s->rss_after_warmup = rss;
    s->rss_max = MAX (s->rss_max, rss);
    printf ("frame %7" G_GUINT64_FORMAT "  rss %7" G_GINT64_FORMAT " KiB  "
        "(%+6" G_GINT64_FORMAT " KiB)  %6.1f fps  objects %u\n", n, rss,
        rss - s->rss0, (gdouble) (n - s->n_last) * 1e6 / MAX (1,
            now - s->t_last), s->objs_last);
    fflush (stdout);
    s->t_last = now;
    s->n_last = n;
  }
  return GST_PAD_PROBE_OK;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer data)
{
  Soak *s = data;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      fprintf (stderr, "ERROR: %s (%s)\n", err->message, dbg ? dbg : "");
      g_clear_error (&err);
      g_free (dbg);
      s->failed = TRUE;
      g_main_loop_quit (s->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (s->loop);
      break;
    default:
      break;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint64 frames = 100000, interval = 100, every = 5000, input_size = 256;
  gint64 period = 500;
  gchar *size = NULL, *model = NULL;
  GOptionEntry entries[] = {
    {"frames", 0, 0, G_OPTION_ARG_INT64, &frames, "frames (100000)", "N"},
    {"interval", 0, 0, G_OPTION_ARG_INT64, &interval,
        "inference-interval (100)", "K"},
    {"prompt-period", 0, 0, G_OPTION_ARG_INT64, &period,
        "a new object every P frames (500)", "P"},
    {"every", 0, 0, G_OPTION_ARG_INT64, &every, "print every E frames", "E"},
    {"size", 0, 0, G_OPTION_ARG_STRING, &size, "frame size (160x120)", "WxH"},
    {"input-size", 0, 0, G_OPTION_ARG_INT64, &input_size, "model input (256)",
        "S"},
    {"model", 0, 0, G_OPTION_ARG_FILENAME, &model,
        "model (default $SAMSEG_TEST_MODEL)", "PATH"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- samseg element soak");
  GError *err = NULL;
  gint w = 160, h = 120;
  Soak s = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    fprintf (stderr, "%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (size && sscanf (size, "%dx%d", &w, &h) != 2) {
    fprintf (stderr, "bad --size\n");
    return 2;
  }
  if (!model)
    model = g_strdup (g_getenv ("SAMSEG_TEST_MODEL"));
  if (!model) {
    fprintf (stderr, "no --model and no SAMSEG_TEST_MODEL\n");
    return 2;
  }
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%" G_GINT64_FORMAT
      " pattern=ball ! video/x-raw,format=I420,width=%d,height=%d,"
      "framerate=30/1 ! samseg name=seg model=\"%s\" input-size=%"
      G_GINT64_FORMAT " threads=0 inference-interval=%" G_GINT64_FORMAT
      " prompt=\"1:+%d,%d\" ! fakesink sync=false", frames, w, h, model,
      input_size, interval, w / 2, h / 2);
  GstElement *pipe = gst_parse_launch (desc, &err);
  if (!pipe) {
    fprintf (stderr, "%s\n", err->message);
    return 2;
  }
  g_free (desc);
  s.seg = gst_bin_get_by_name (GST_BIN (pipe), "seg");
  s.frames = (guint64) frames;
  s.every = (guint64) MAX (1, every);
  s.period = (guint64) MAX (2, period);
  s.next_id = 2;
  s.oldest_id = 1;
  GstPad *sp = gst_element_get_static_pad (s.seg, "sink");
  GstPad *op = gst_element_get_static_pad (s.seg, "src");
  gst_pad_add_probe (sp, GST_PAD_PROBE_TYPE_BUFFER, sink_probe, &s, NULL);
  gst_pad_add_probe (op, GST_PAD_PROBE_TYPE_BUFFER, src_probe, &s, NULL);
  gst_object_unref (sp);
  gst_object_unref (op);
  s.loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (pipe);
  gst_bus_add_watch (bus, on_message, &s);
  printf ("soak: %" G_GINT64_FORMAT " frames %dx%d, input %" G_GINT64_FORMAT
      ", inference every %" G_GINT64_FORMAT " frames (and on prompted "
      "frames), a new object every %" G_GINT64_FORMAT " frames\n", frames, w,
      h, input_size, interval, period);
  s.t0 = s.t_last = g_get_monotonic_time ();
  s.rss0 = s.rss_max = rss_kib ();
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  g_main_loop_run (s.loop);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gint64 rss_end = rss_kib ();
  gdouble secs = (g_get_monotonic_time () - s.t0) / 1e6;
  printf ("soak: %" G_GUINT64_FORMAT " frames in %.0f s (%.1f fps), %u "
      "objects created; rss start %" G_GINT64_FORMAT " KiB, after 10%% %"
      G_GINT64_FORMAT " KiB, max %" G_GINT64_FORMAT " KiB, end (stopped) %"
      G_GINT64_FORMAT " KiB\n", s.n, secs, s.n / MAX (secs, 1e-9),
      s.next_id - 1, s.rss0, s.rss_after_warmup, s.rss_max, rss_end);
  gboolean grew = s.rss_after_warmup > 0 &&
      s.rss_max - s.rss_after_warmup > 64 * 1024;
  if (grew)
    fprintf (stderr, "soak: RSS grew by %" G_GINT64_FORMAT " KiB after "
        "warm-up\n", s.rss_max - s.rss_after_warmup);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (s.seg);
  gst_object_unref (pipe);
  g_main_loop_unref (s.loop);
  g_free (model);
  g_free (size);
  return s.failed || grew || s.n != (guint64) frames ? 1 : 0;
}
