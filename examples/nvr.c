/* nvr.c — a small NVR-style application around samseg.
 *
 *   samseg-nvr MODEL.safetensors SOURCE [--click T:ID:X,Y]... [--box T:ID:X0,Y0,X1,Y1]...
 *              [--input-size N] [--display]
 *
 * SOURCE is a video file, "camera" (v4l2src) or "test" (a live test pattern).
 * "Operator clicks" are simulated from the command line: at T seconds of
 * running time the application sends a samseg prompt event
 * (gst_samseg_event_new_add_points / _add_box) bound to the current running
 * time. A pad probe after samseg reads GstSamSegMeta and turns it into an
 * event log on stdout: an object appears, moves, disappears, reappears.
 * Without --click/--box, one click in the middle of the frame at 0.5 s.
 */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstsamsegmeta.h"
#include "gstsamsegevent.h"

typedef struct
{
  gdouble t;
  guint id;
  gboolean is_box;
  gfloat v[4];
} Click;

typedef struct
{
  guint id;
  gboolean present;
  gint x, y, w, h;
  guint missing;                /* frames absent in a row */
} Track;

typedef struct
{
  GMainLoop *loop;
  GstElement *pipe, *seg;
  GArray *clicks;               /* Click, sorted by t */
  guint next_click;
  GHashTable *tracks;           /* id -> Track */
  gint width, height;
  GMutex lock;
} App;

static void
log_line (GstClockTime rt, const gchar * fmt, ...)
{
  va_list ap;
  gchar *s;
  va_start (ap, fmt);
  s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  printf ("[%" GST_TIME_FORMAT "] %s\n", GST_TIME_ARGS (rt), s);
  fflush (stdout);
  g_free (s);
}

/* Meta → events. Runs on the streaming thread. */
static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  App *app = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstSamSegMeta *m = gst_buffer_get_samseg_meta (buf);
  GstClockTime ts = GST_BUFFER_PTS (buf);
  GHashTableIter it;
  gpointer v;

  if (!m)
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&app->lock);
  app->width = (gint) m->width;
  app->height = (gint) m->height;
  for (guint i = 0; i < m->n_objects; i++) {
    GstSamSegObject *o = &m->objects[i];
    Track *t = g_hash_table_lookup (app->tracks, GUINT_TO_POINTER (o->id));
    gboolean present = o->area > 0;
    if (!t) {
      t = g_new0 (Track, 1);
      t->id = o->id;
      g_hash_table_insert (app->tracks, GUINT_TO_POINTER (o->id), t);
    }
    if (present && !t->present)
      log_line (ts, "object %u %s at box %d,%d %dx%d (score %.2f, iou %.2f)",
          o->id, t->x || t->w ? "reappeared" : "appeared", o->x, o->y,
          o->width, o->height, o->object_score, o->iou);
    else if (present) {
      gint dx = (o->x + o->width / 2) - (t->x + t->w / 2);
      gint dy = (o->y + o->height / 2) - (t->y + t->h / 2);
      if (dx * dx + dy * dy > 400)      /* moved more than 20 px */
        log_line (ts, "object %u moved to %d,%d %dx%d", o->id, o->x, o->y,
            o->width, o->height);
      else
        goto keep_pos;
    }
    if (present) {
      t->x = o->x;
      t->y = o->y;
      t->w = o->width;
      t->h = o->height;
    }
  keep_pos:
    if (present) {
      t->present = TRUE;
      t->missing = 0;
    } else if (t->present && ++t->missing >= 3) {
      t->present = FALSE;
      log_line (ts, "object %u disappeared (score %.2f)", o->id,
          o->object_score);
    }
  }
  /* objects that left the meta (removed / reset) */
  g_hash_table_iter_init (&it, app->tracks);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Track *t = v;
    if (!gst_samseg_meta_get_object (m, t->id)) {
      log_line (ts, "object %u no longer tracked", t->id);
      g_hash_table_iter_remove (&it);
    }
  }
  g_mutex_unlock (&app->lock);
  return GST_PAD_PROBE_OK;
}

static GstClockTime
running_time_now (GstElement * e)
{
  GstClock *clock = gst_element_get_clock (e);
  GstClockTime now;
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock) - gst_element_get_base_time (e);
  gst_object_unref (clock);
  return now;
}

/* The "operator": sends scheduled clicks as samseg events. */
static gboolean
operator_tick (gpointer user_data)
{
  App *app = user_data;
  GstClockTime now = running_time_now (app->pipe);

  while (GST_CLOCK_TIME_IS_VALID (now) && app->next_click < app->clicks->len) {
    Click *c = &g_array_index (app->clicks, Click, app->next_click);
    GstEvent *ev;
    if (now < (GstClockTime) (c->t * GST_SECOND))
      break;
    if (c->is_box) {
      ev = gst_samseg_event_new_add_box (FALSE, now, c->id, c->v[0], c->v[1],
          c->v[2], c->v[3]);
      log_line (now, "operator: box %.0f,%.0f,%.0f,%.0f for object %u",
          c->v[0], c->v[1], c->v[2], c->v[3], c->id);
    } else {
      gint32 label = 1;
      gfloat xy[2] = { c->v[0], c->v[1] };
      if (xy[0] < 0) {          /* default click: the frame centre */
        g_mutex_lock (&app->lock);
        xy[0] = app->width / 2.0f;
        xy[1] = app->height / 2.0f;
        g_mutex_unlock (&app->lock);
        if (xy[0] <= 0)
          break;                /* no frame seen yet */
      }
      ev = gst_samseg_event_new_add_points (FALSE, now, c->id, 1, xy, &label);
      log_line (now, "operator: click %.0f,%.0f for object %u", xy[0], xy[1],
          c->id);
    }
    /* a downstream event sent to an element enters its sink pad */
    gst_element_send_event (app->seg, ev);
    app->next_click++;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  App *app = user_data;
  GError *err = NULL;
  gchar *dbg = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &dbg);
      fprintf (stderr, "error: %s\n%s\n", err->message, dbg ? dbg : "");
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &err, &dbg);
      fprintf (stderr, "warning: %s (%s)\n", err->message, dbg ? dbg : "");
      break;
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  g_clear_error (&err);
  g_free (dbg);
  return TRUE;
}

static gint
cmp_click (gconstpointer a, gconstpointer b)
{
  gdouble d = ((const Click *) a)->t - ((const Click *) b)->t;
  return d < 0 ? -1 : d > 0;
}

int
main (int argc, char **argv)
{
  App app = { 0 };
  const gchar *model, *source;
  gchar *src_desc, *desc, *input_size = g_strdup ("0");
  gboolean display = FALSE;
  GError *err = NULL;
  GstPad *pad;
  GstBus *bus;

  gst_init (&argc, &argv);
  if (argc < 3) {
    fprintf (stderr, "usage: %s MODEL SOURCE(file|camera|test) "
        "[--click T:ID:X,Y]... [--box T:ID:X0,Y0,X1,Y1]... "
        "[--input-size N] [--display]\n", argv[0]);
    return 2;
  }
  model = argv[1];
  source = argv[2];
  app.clicks = g_array_new (FALSE, TRUE, sizeof (Click));
  for (int i = 3; i < argc; i++) {
    Click c = { 0 };
    if ((!strcmp (argv[i], "--click") || !strcmp (argv[i], "--box")) &&
        i + 1 < argc) {
      c.is_box = !strcmp (argv[i], "--box");
      if (c.is_box ? sscanf (argv[i + 1], "%lf:%u:%f,%f,%f,%f", &c.t, &c.id,
              &c.v[0], &c.v[1], &c.v[2], &c.v[3]) != 6 :
          sscanf (argv[i + 1], "%lf:%u:%f,%f", &c.t, &c.id, &c.v[0],
              &c.v[1]) != 4) {
        fprintf (stderr, "bad %s '%s'\n", argv[i], argv[i + 1]);
        return 2;
      }
      g_array_append_val (app.clicks, c);
      i++;
    } else if (!strcmp (argv[i], "--input-size") && i + 1 < argc) {
      g_free (input_size);
      input_size = g_strdup (argv[++i]);
    } else if (!strcmp (argv[i], "--display")) {
      display = TRUE;
    } else {
      fprintf (stderr, "unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (app.clicks->len == 0) {
    Click c = { 0.5, 1, FALSE, {-1, -1} };
    g_array_append_val (app.clicks, c);
  }
  g_array_sort (app.clicks, cmp_click);

  if (!strcmp (source, "camera"))
    src_desc = g_strdup ("v4l2src ! videoconvert");
  else if (!strcmp (source, "test"))
    src_desc = g_strdup ("videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,width=640,height=480,framerate=10/1");
  else
    src_desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! "
        "videoconvert", source);
  desc = g_strdup_printf ("%s ! samseg name=seg model=\"%s\" input-size=%s "
      "overlay=%s post-messages=false ! %s", src_desc, model, input_size,
      display ? "true" : "false",
      display ? "videoconvert ! autovideosink" : "fakesink sync=true");
  app.pipe = gst_parse_launch (desc, &err);
  if (!app.pipe) {
    fprintf (stderr, "pipeline: %s\n", err->message);
    return 1;
  }
  app.seg = gst_bin_get_by_name (GST_BIN (app.pipe), "seg");
  app.tracks = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_mutex_init (&app.lock);
  pad = gst_element_get_static_pad (app.seg, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &app, NULL);
  gst_object_unref (pad);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app.pipe);
  gst_bus_add_watch (bus, on_message, &app);
  g_timeout_add (20, operator_tick, &app);
  gst_element_set_state (app.pipe, GST_STATE_PLAYING);
  g_main_loop_run (app.loop);

  gst_element_set_state (app.pipe, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (app.seg);
  gst_object_unref (app.pipe);
  g_main_loop_unref (app.loop);
  g_hash_table_unref (app.tracks);
  g_array_unref (app.clicks);
  g_mutex_clear (&app.lock);
  g_free (src_desc);
  g_free (desc);
  g_free (input_size);
  return 0;
}
