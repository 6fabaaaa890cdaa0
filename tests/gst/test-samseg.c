/* test-samseg.c — the samseg element with GstHarness on the synthetic model
 * (input size 256): caps for every format, prompts by property, file, event,
 * signal and navigation event, meta (ids, boxes, masks checked against the
 * engine run directly on the same frames), ROI meta, overlay pixels, carry
 * with inference-interval, resolution change, flush, latency, QoS, and bad
 * inputs that must give clear errors or warnings. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gst/video/navigation.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sam/sam.h"
#include "harness-util.h"
#include "gstsamsegevent.h"
#include "gstsamseg-convert.h"

#define S SAMSEG_TEST_INPUT_SIZE

/* The samseg element inside a harness made by gst_harness_new_parse. */
static GstElement *
seg (GstHarness * h)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "seg");
  fail_unless (e != NULL);
  gst_object_unref (e);         /* the bin keeps it alive */
  return e;
}

/* A test picture: dark background, a bright rectangle and a disc. */
static void
paint_rect_disc (guint8 * row, gint y, gint w, gint h, gint n)
{
  for (gint x = 0; x < w; x++) {
    gboolean rect = x > w / 5 + n && x < w / 2 + n && y > h / 4 && y < h / 2;
    gint dx = x - 3 * w / 4, dy = y - 2 * h / 3;
    gboolean disc = dx * dx + dy * dy < (w / 8) * (w / 8);
    row[3 * x + 0] = rect ? 230 : disc ? 40 : (guint8) (20 + (x + y) % 16);
    row[3 * x + 1] = rect ? 200 : disc ? 220 : 30;
    row[3 * x + 2] = rect ? 40 : disc ? 60 : 35;
  }
}

static GstBuffer *
make_frame (const gchar * format, gint w, gint h, gint n)
{
  return samseg_test_frame (format, w, h, n, paint_rect_disc);
}

static GstBuffer *
push_pull (GstHarness * h, const gchar * format, gint w, gint hh, gint n)
{
  return samseg_test_push_pull (h, make_frame (format, w, hh, n));
}

/* Messages posted by the element (it has no pipeline in a harness). */
static GstBus *
attach_bus (GstHarness * h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

static gboolean
bus_has (GstBus * bus, GstMessageType type, const gchar * needle)
{
  GstMessage *m;
  gboolean found = FALSE;
  while ((m = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (m) == type) {
      GError *err = NULL;
      gchar *dbg = NULL;
      if (type == GST_MESSAGE_WARNING)
        gst_message_parse_warning (m, &err, &dbg);
      else if (type == GST_MESSAGE_ERROR)
        gst_message_parse_error (m, &err, &dbg);
      if (err && (strstr (err->message, needle) || (dbg && strstr (dbg,
                      needle))))
        found = TRUE;
      g_clear_error (&err);
      g_free (dbg);
    }
    gst_message_unref (m);
  }
  return found;
}

/* ---- caps ------------------------------------------------------------ */

GST_START_TEST (test_caps_every_format)
{
  const gchar *formats[] = { "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR",
    "RGBA", "BGRA", "I420", "NV12"
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = samseg_test_harness (NULL, formats[i], 70, 50);
    GstBuffer *out = push_pull (h, formats[i], 70, 50, 0);
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    GstStructure *s = gst_caps_get_structure (caps, 0);
    fail_unless_equals_string (gst_structure_get_string (s, "format"),
        formats[i]);
    fail_unless_equals_int (samseg_test_meta_of (out)->n_objects, 0);
    gst_caps_unref (caps);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
  /* an unsupported format is refused by the pad template */
  {
    GstElement *e = gst_element_factory_make ("samseg", NULL);
    GstPad *sink = gst_element_get_static_pad (e, "sink");
    GstCaps *c = gst_caps_from_string ("video/x-raw,format=YUY2,width=8,"
        "height=8,framerate=1/1");
    fail_if (gst_pad_query_accept_caps (sink, c));
    gst_caps_unref (c);
    gst_object_unref (sink);
    gst_object_unref (e);
  }
}

GST_END_TEST;

/* ---- masks against the engine ---------------------------------------- */

GST_START_TEST (test_property_prompt_matches_engine)
{
  const gint n_frames = 3;
  GstHarness *h = samseg_test_harness ("prompt=\"1:+60,70 2:140,150,230,220\" "
      "overlay=false", "RGB", S, S);
  SamModel *model;
  SamSession *sess;
  SamSessionParams sp;
  GError *err = NULL;

  model = sam_model_load (samseg_test_model_path (), NULL, &err);
  fail_unless (model != NULL, "%s", err ? err->message : "");
  sam_session_params_init (&sp);
  sp.input_size = S;
  sp.n_threads = 2;
  sess = sam_session_new (model, &sp, &err);
  fail_unless (sess != NULL, "%s", err ? err->message : "");
  {
    const gfloat pts[2] = { 60, 70 };
    const gint32 lab[1] = { 1 };
    SamPrompt p1 = { 1, pts, lab, FALSE, {0}, FALSE };
    SamPrompt p2 = { 0, NULL, NULL, TRUE, {140, 150, 230, 220}, FALSE };
    fail_unless (sam_session_add_prompt (sess, 1, &p1, NULL));
    fail_unless (sam_session_add_prompt (sess, 2, &p2, NULL));
  }

  for (gint n = 0; n < n_frames; n++) {
    GstBuffer *in = make_frame ("RGB", S, S, n);
    GstBuffer *out;
    GstMapInfo map;
    SamImage img;
    SamFrameResult res;
    GstSamSegMeta *meta;
    guint8 *mine = g_malloc (S * S);

    gst_buffer_map (in, &map, GST_MAP_READ);
    img.format = SAM_PIXEL_RGB;
    img.width = img.height = S;
    img.stride = S * 3;
    img.data = map.data;
    fail_unless (sam_session_process_frame (sess, &img, &res, &err), "%s",
        err ? err->message : "");
    gst_buffer_unmap (in, &map);
    out = gst_harness_push_and_pull (h, in);
    meta = samseg_test_meta_of (out);
    fail_unless (meta->inferred);
    fail_unless_equals_int (meta->width, S);
    fail_unless_equals_int (meta->n_objects, res.n_objects);
    fail_unless_equals_int (meta->n_objects, 2);
    for (gint i = 0; i < res.n_objects; i++) {
      const SamObjectResult *o = &res.objects[i];
      GstSamSegObject *mo = gst_samseg_meta_get_object (meta, o->obj_id);
      gint diff = 0;
      fail_unless (mo != NULL, "object %u missing", o->obj_id);
      fail_unless_equals_float (mo->object_score, o->object_score);
      fail_unless_equals_float (mo->iou, o->iou);
      fail_unless (gst_samseg_meta_rasterize (meta, mo, mine, S, 1));
      /* the engine's own frame-resolution logits, thresholded at 0 */
      for (gint k = 0; k < S * S; k++)
        diff += mine[k] != (o->logits[k] > 0.0f);
      fail_unless (diff <= S * S / 1000, "frame %d object %u: %d pixels "
          "differ from the engine", n, o->obj_id, diff);
      if (o->box[0] >= 0 && diff == 0) {
        fail_unless_equals_int (mo->x, o->box[0]);
        fail_unless_equals_int (mo->y, o->box[1]);
        fail_unless_equals_int (mo->x + mo->width - 1, o->box[2]);
        fail_unless_equals_int (mo->y + mo->height - 1, o->box[3]);
      }
    }
    g_free (mine);
    gst_buffer_unref (out);
  }
  sam_session_free (sess);
  sam_model_unref (model);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_roi_meta_and_messages)
{
  GstHarness *h = samseg_test_harness ("prompt=\"5:+30,20\"", "RGBx", 64, 48);
  GstBus *bus = attach_bus (h);
  GstBuffer *out = push_pull (h, "RGBx", 64, 48, 0);
  GstSamSegMeta *meta = samseg_test_meta_of (out);
  GstSamSegObject *o = gst_samseg_meta_get_object (meta, 5);
  gpointer state = NULL;
  GstMeta *m;
  gint n_roi = 0;
  GstMessage *msg;
  gboolean seen = FALSE;

  fail_unless (o != NULL);
  while ((m = gst_buffer_iterate_meta_filtered (out, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) m;
    GstStructure *p = gst_video_region_of_interest_meta_get_param (roi,
        "samseg");
    guint id;
    gdouble score;
    n_roi++;
    fail_unless_equals_int (roi->id, 5);
    fail_unless_equals_int (roi->x, o->x);
    fail_unless_equals_int (roi->w, o->width);
    fail_unless_equals_int (roi->h, o->height);
    fail_unless (p != NULL);
    fail_unless (gst_structure_get_uint (p, "id", &id) && id == 5);
    fail_unless (gst_structure_get_double (p, "score", &score));
    fail_unless_equals_float (score, o->object_score);
  }
  fail_unless_equals_int (n_roi, o->area > 0 ? 1 : 0);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "samseg")) {
      guint64 ts;
      const GValue *objs = gst_structure_get_value (s, "objects");
      fail_unless (gst_structure_get_uint64 (s, "timestamp", &ts));
      fail_unless_equals_uint64 (ts, 0);
      fail_unless_equals_int (gst_value_list_get_size (objs), 1);
      seen = TRUE;
    }
    gst_message_unref (msg);
  }
  fail_unless (seen, "no samseg element message");
  gst_buffer_unref (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- prompts by file, event, signal, navigation ----------------------- */

static guint
n_objects (GstBuffer * b)
{
  return samseg_test_meta_of (b)->n_objects;
}

GST_START_TEST (test_prompt_file)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("samseg-prompts-XXXXXX.txt", &path, NULL);
  const gchar *text = "# test prompts\n0 1:+20,20\n0.08s 2:+40,30  # frame 2\n";
  gchar *props;
  GstHarness *h;
  GstBuffer *b;

  fail_unless (fd >= 0);
  fail_unless (write (fd, text, strlen (text)) == (gssize) strlen (text));
  close (fd);
  props = g_strdup_printf ("prompt-file=\"%s\"", path);
  h = samseg_test_harness (props, "I420", 64, 48);
  b = push_pull (h, "I420", 64, 48, 0);
  fail_unless_equals_int (n_objects (b), 1);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 1) != NULL);
  gst_buffer_unref (b);
  b = push_pull (h, "I420", 64, 48, 1);
  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  b = push_pull (h, "I420", 64, 48, 2);
  fail_unless_equals_int (n_objects (b), 2);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 2) != NULL);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_unlink (path);
  g_free (path);
  g_free (props);
}

GST_END_TEST;

GST_START_TEST (test_prompt_events)
{
  GstHarness *h = samseg_test_harness (NULL, "NV12", 64, 48);
  GstBuffer *b;
  gfloat xy[4] = { 10, 10, 50, 40 };
  gint32 lab[2] = { 1, 0 };

  /* bound to the running time of frame 1: frame 0 has nothing yet */
  fail_unless (gst_harness_push_event (h,
          gst_samseg_event_new_add_points (FALSE, GST_SECOND / 25, 3, 2, xy,
              lab)));
  fail_unless (gst_harness_push_event (h,
          gst_samseg_event_new_add_box (FALSE, 2 * GST_SECOND / 25, 4, 30, 5,
              60, 40)));
  b = push_pull (h, "NV12", 64, 48, 0);
  fail_unless_equals_int (n_objects (b), 0);
  gst_buffer_unref (b);
  b = push_pull (h, "NV12", 64, 48, 1);
  fail_unless_equals_int (n_objects (b), 1);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 3) != NULL);
  gst_buffer_unref (b);
  b = push_pull (h, "NV12", 64, 48, 2);
  fail_unless_equals_int (n_objects (b), 2);
  gst_buffer_unref (b);
  /* upstream variants, sent from downstream */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_samseg_event_new_remove_object (TRUE, GST_CLOCK_TIME_NONE, 3)));
  b = push_pull (h, "NV12", 64, 48, 3);
  fail_unless_equals_int (n_objects (b), 1);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 4) != NULL);
  gst_buffer_unref (b);
  fail_unless (gst_harness_push_event (h, gst_samseg_event_new_reset (FALSE,
              GST_CLOCK_TIME_NONE)));
  b = push_pull (h, "NV12", 64, 48, 4);
  fail_unless_equals_int (n_objects (b), 0);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_prompt_signals)
{
  GstHarness *h = samseg_test_harness (NULL, "BGRA", 64, 48);
  GstBus *bus = attach_bus (h);
  GstBuffer *b;
  gboolean ok = FALSE;

  g_signal_emit_by_name (seg (h), "add-point", 4u, 10.0, 12.0, TRUE, &ok);
  fail_unless (ok);
  g_signal_emit_by_name (seg (h), "add-box", 6u, 1.0, 2.0, 30.0, 40.0, &ok);
  fail_unless (ok);
  b = push_pull (h, "BGRA", 64, 48, 0);
  fail_unless_equals_int (n_objects (b), 2);
  gst_buffer_unref (b);
  g_signal_emit_by_name (seg (h), "add-box", 7u, 9.0, 2.0, 3.0, 40.0, &ok);
  fail_if (ok, "an inverted box was accepted");
  g_signal_emit_by_name (seg (h), "add-prompt", "8:+3,3 9:+nan,1", &ok);
  fail_if (ok);
  fail_unless (bus_has (bus, GST_MESSAGE_WARNING, "column"));
  g_signal_emit_by_name (seg (h), "add-prompt", "8:+3,3", &ok);
  fail_unless (ok);
  g_signal_emit_by_name (seg (h), "remove-object", 4u);
  b = push_pull (h, "BGRA", 64, 48, 1);
  fail_unless_equals_int (n_objects (b), 2);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 8) != NULL);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 4) == NULL);
  gst_buffer_unref (b);
  g_signal_emit_by_name (seg (h), "reset");
  b = push_pull (h, "BGRA", 64, 48, 2);
  fail_unless_equals_int (n_objects (b), 0);
  gst_buffer_unref (b);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_navigation_clicks)
{
  GstHarness *h = samseg_test_harness (NULL, "RGB", 64, 48);
  GstBuffer *b;
  guint sel = 99;

  /* left click with nothing selected: a new object, which gets selected */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_navigation_event_new_mouse_button_press (1, 20, 20, 0)));
  b = push_pull (h, "RGB", 64, 48, 0);
  fail_unless_equals_int (n_objects (b), 1);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 1) != NULL);
  gst_buffer_unref (b);
  g_object_get (seg (h), "selected-object", &sel, NULL);
  fail_unless_equals_int (sel, 1);
  /* right click refines object 1; shift+left starts object 2 */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_navigation_event_new_mouse_button_press (3, 40, 30, 0)));
  fail_unless (gst_harness_push_upstream_event (h,
          gst_navigation_event_new_mouse_button_press (1, 50, 40,
              GST_NAVIGATION_MODIFIER_SHIFT_MASK)));
  b = push_pull (h, "RGB", 64, 48, 1);
  fail_unless_equals_int (n_objects (b), 2);
  fail_unless (gst_samseg_meta_get_object (samseg_test_meta_of (b), 2) != NULL);
  gst_buffer_unref (b);
  g_object_get (seg (h), "selected-object", &sel, NULL);
  fail_unless_equals_int (sel, 2);
  /* key 'r' resets */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_navigation_event_new_key_press ("r", 0)));
  b = push_pull (h, "RGB", 64, 48, 2);
  fail_unless_equals_int (n_objects (b), 0);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- overlay, carry, resolution change, flush ------------------------- */

GST_START_TEST (test_overlay_only_inside_masks)
{
  const gchar *formats[] = { "RGB", "xBGR", "I420" };
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstHarness *h = samseg_test_harness ("prompt=\"1:+20,20 2:+48,32\" overlay=true "
        "overlay-alpha=0.6", formats[f], 64, 48);
    GstBuffer *in = make_frame (formats[f], 64, 48, 0);
    GstBuffer *copy = gst_buffer_copy_deep (in);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    GstSamSegMeta *meta = samseg_test_meta_of (out);
    GstVideoInfo info;
    GstVideoFrame a, b;
    guint8 *uni = g_malloc0 (64 * 48), *m = g_malloc (64 * 48);
    gint changed = 0, inside = 0;

    for (guint i = 0; i < meta->n_objects; i++) {
      fail_unless (gst_samseg_meta_rasterize (meta, &meta->objects[i], m, 64,
              1));
      for (gint k = 0; k < 64 * 48; k++)
        uni[k] |= m[k];
    }
    gst_video_info_set_format (&info, gst_video_format_from_string (formats
            [f]), 64, 48);
    gst_video_frame_map (&a, &info, out, GST_MAP_READ);
    gst_video_frame_map (&b, &info, copy, GST_MAP_READ);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&a, 0);
    for (gint y = 0; y < 48; y++)
      for (gint x = 0; x < 64; x++) {
        const guint8 *pa = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&a, 0) +
            y * GST_VIDEO_FRAME_PLANE_STRIDE (&a, 0) + x * ps;
        const guint8 *pb = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&b, 0) +
            y * GST_VIDEO_FRAME_PLANE_STRIDE (&b, 0) + x * ps;
        gboolean diff = memcmp (pa, pb, ps) != 0;
        if (!uni[y * 64 + x])
          fail_unless (!diff, "%s: pixel %d,%d outside the masks changed",
              formats[f], x, y);
        inside += uni[y * 64 + x];
        changed += diff;
      }
    fail_unless (inside == 0 || changed > inside / 2, "%s: %d of %d changed",
        formats[f], changed, inside);
    gst_video_frame_unmap (&a);
    gst_video_frame_unmap (&b);
    g_free (uni);
    g_free (m);
    gst_buffer_unref (out);
    gst_buffer_unref (copy);
    /* overlay=false leaves the pixels alone */
    g_object_set (seg (h), "overlay", FALSE, NULL);
    in = make_frame (formats[f], 64, 48, 1);
    copy = gst_buffer_copy_deep (in);
    out = gst_harness_push_and_pull (h, in);
    {
      GstMapInfo mi, mo;
      gst_buffer_map (copy, &mi, GST_MAP_READ);
      gst_buffer_map (out, &mo, GST_MAP_READ);
      fail_unless (mi.size == mo.size && memcmp (mi.data, mo.data,
              mi.size) == 0);
      gst_buffer_unmap (copy, &mi);
      gst_buffer_unmap (out, &mo);
    }
    gst_buffer_unref (out);
    gst_buffer_unref (copy);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_interval_carries_masks)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+20,20\" inference-interval=3",
      "RGB", 64, 48);
  GstBuffer *b0 = push_pull (h, "RGB", 64, 48, 0);
  GstBuffer *b1 = push_pull (h, "RGB", 64, 48, 1);
  GstBuffer *b3;
  GstSamSegMeta *m0 = samseg_test_meta_of (b0), *m1 = samseg_test_meta_of (b1);

  fail_unless (m0->inferred);
  fail_if (m1->inferred);
  fail_unless_equals_int (m1->n_objects, 1);
  fail_unless_equals_int (m1->objects[0].n_runs, m0->objects[0].n_runs);
  fail_unless (memcmp (m1->objects[0].runs, m0->objects[0].runs,
          4 * m0->objects[0].n_runs) == 0);
  gst_buffer_unref (push_pull (h, "RGB", 64, 48, 2));
  b3 = push_pull (h, "RGB", 64, 48, 3);
  fail_unless (samseg_test_meta_of (b3)->inferred);
  gst_buffer_unref (b0);
  gst_buffer_unref (b1);
  gst_buffer_unref (b3);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_resolution_change_and_flush)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+20,20\"", "RGB", 64, 48);
  GstBuffer *b = push_pull (h, "RGB", 64, 48, 0);
  GstSegment seg;

  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=96,height=80,framerate=25/1");
  b = push_pull (h, "RGB", 96, 80, 1);
  fail_unless_equals_int (samseg_test_meta_of (b)->width, 96);
  fail_unless_equals_int (samseg_test_meta_of (b)->height, 80);
  fail_unless_equals_int (n_objects (b), 1);
  fail_unless (samseg_test_meta_of (b)->inferred);
  gst_buffer_unref (b);
  /* flush: tracking state is gone */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  b = push_pull (h, "RGB", 96, 80, 25);
  fail_unless_equals_int (n_objects (b), 0);
  fail_unless_equals_int (samseg_test_meta_of (b)->frame_index, 0);
  gst_buffer_unref (b);
  /* EOS goes through */
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  {
    GstEvent *e;
    gboolean eos = FALSE;
    while ((e = gst_harness_try_pull_event (h))) {
      eos |= GST_EVENT_TYPE (e) == GST_EVENT_EOS;
      gst_event_unref (e);
    }
    fail_unless (eos);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_latency_and_qos)
{
  GstHarness *h = samseg_test_harness ("prompt=\"1:+20,20\"", "RGB", 64, 48);
  GstBuffer *b = push_pull (h, "RGB", 64, 48, 0);
  GstClockTime lat;

  gst_buffer_unref (b);
  lat = gst_harness_query_latency (h);
  /* the latency is measured: minutes per frame under valgrind */
  fail_unless (lat > 0 && lat < (g_getenv ("SAMSEG_VALGRIND") ? 3600 : 60) *
      GST_SECOND, "latency %" GST_TIME_FORMAT, GST_TIME_ARGS (lat));
  /* a QoS event saying we are a second late: the next frame keeps the
   * previous masks instead of being dropped */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 0.5, GST_SECOND,
              GST_SECOND / 25)));
  b = push_pull (h, "RGB", 64, 48, 1);
  fail_if (samseg_test_meta_of (b)->inferred);
  fail_unless_equals_int (n_objects (b), 1);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- bad inputs -------------------------------------------------------- */

/* Sets up samseg (with @props) in a pipeline and expects READY→PAUSED to
 * fail with an error message containing @needle. */
static void
expect_start_error (const gchar * props, const gchar * needle)
{
  gchar *desc = g_strdup_printf ("fakesrc ! samseg %s ! fakesink", props);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstBus *bus;
  GstStateChangeReturn r;

  fail_unless (pipe != NULL);
  bus = gst_element_get_bus (pipe);
  r = gst_element_set_state (pipe, GST_STATE_PAUSED);
  fail_unless_equals_int (r, GST_STATE_CHANGE_FAILURE);
  fail_unless (bus_has (bus, GST_MESSAGE_ERROR, needle), "%s: no error "
      "mentioning '%s'", props, needle);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_free (desc);
}

GST_START_TEST (test_bad_model_and_prompts)
{
  gchar *corrupt = NULL, *props;
  gint fd = g_file_open_tmp ("samseg-corrupt-XXXXXX.safetensors", &corrupt,
      NULL);

  fail_unless (write (fd, "\x10\0\0\0\0\0\0\0{\"a\":garbage}   ", 24) == 24);
  close (fd);
  expect_start_error ("", "No SAM model");
  expect_start_error ("model=/nonexistent/model.safetensors",
      "Could not load SAM model");
  props = g_strdup_printf ("model=\"%s\"", corrupt);
  expect_start_error (props, "Could not load SAM model");
  g_free (props);
  props = g_strdup_printf ("model=\"%s\" input-size=250", samseg_test_model_path ());
  expect_start_error (props, "input size");
  g_free (props);
  props = g_strdup_printf ("model=\"%s\" prompt=\"1:+3\"", samseg_test_model_path ());
  expect_start_error (props, "column");
  g_free (props);
  props = g_strdup_printf ("model=\"%s\" prompt-file=/nonexistent/p.txt",
      samseg_test_model_path ());
  expect_start_error (props, "prompt-file");
  g_free (props);
  {
    gchar *pf = NULL;
    gint pfd = g_file_open_tmp ("samseg-bad-XXXXXX.txt", &pf, NULL);
    fail_unless (write (pfd, "0 1:+1,1\n5 2:+inf,3\n", 20) == 20);
    close (pfd);
    props = g_strdup_printf ("model=\"%s\" prompt-file=\"%s\"", samseg_test_model_path (),
        pf);
    expect_start_error (props, "line 2");
    g_free (props);
    g_unlink (pf);
    g_free (pf);
  }
  g_unlink (corrupt);
  g_free (corrupt);
}

GST_END_TEST;

GST_START_TEST (test_bad_runtime_prompts)
{
  GstHarness *h = samseg_test_harness ("max-objects=2 prompt=\"1:+20,20 2:+30,30 "
      "3:+40,40 4:+500,10 5:1,1,90,10\"", "RGB", 64, 48);
  GstBus *bus = attach_bus (h);
  GstBuffer *b = push_pull (h, "RGB", 64, 48, 0);

  /* 4 and 5 lie outside the 64x48 frame; 3 is over max-objects */
  fail_unless_equals_int (n_objects (b), 2);
  fail_unless (bus_has (bus, GST_MESSAGE_WARNING, "outside"));
  gst_buffer_unref (b);
  /* over max-objects */
  {
    gboolean ok;
    g_signal_emit_by_name (seg (h), "add-point", 9u, 3.0, 3.0, TRUE, &ok);
    fail_unless (ok);           /* accepted; refused when applied */
  }
  b = push_pull (h, "RGB", 64, 48, 1);
  fail_unless_equals_int (n_objects (b), 2);
  fail_unless (bus_has (bus, GST_MESSAGE_WARNING, "Too many objects"));
  gst_buffer_unref (b);
  /* malformed custom events: a warning, no crash, the stream goes on */
  fail_unless (gst_harness_push_event (h,
          gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
              gst_structure_new ("samseg-add-points", "object-id",
                  G_TYPE_UINT, 3, "points", G_TYPE_STRING, "1,2", NULL))));
  fail_unless (gst_harness_push_event (h,
          gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
              gst_structure_new ("samseg-add-box", "object-id",
                  G_TYPE_UINT, 3, "x0", G_TYPE_DOUBLE, NAN, NULL))));
  b = push_pull (h, "RGB", 64, 48, 2);
  fail_unless_equals_int (n_objects (b), 2);
  fail_unless (bus_has (bus, GST_MESSAGE_WARNING, "malformed"));
  gst_buffer_unref (b);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- a real pipeline: meta survives videoscale ------------------------ */

/* save-state / load-state: a new element continues from the file exactly
 * as the original does; bad files are refused and keep the current state. */
static GArray *
frame_signature (GstBuffer * b)
{
  GstSamSegMeta *m = samseg_test_meta_of (b);
  GArray *sig = g_array_new (FALSE, TRUE, 1);
  for (guint i = 0; i < m->n_objects; i++) {
    GstSamSegObject *o = &m->objects[i];
    guint8 *mask = g_malloc0 ((gsize) m->width * m->height);
    gst_samseg_meta_rasterize (m, o, mask, m->width, 1);
    g_array_append_vals (sig, &o->id, sizeof o->id);
    g_array_append_vals (sig, &o->object_score, sizeof o->object_score);
    g_array_append_vals (sig, mask, m->width * m->height);
    g_free (mask);
  }
  return sig;
}

GST_START_TEST (test_save_load_state)
{
  GstHarness *a = samseg_test_harness (NULL, "RGB", 96, 64);
  GstBuffer *b;
  gboolean ok = FALSE;
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("samseg-state-XXXXXX", &path, NULL);
  GArray *want[2];

  close (fd);
  g_signal_emit_by_name (seg (a), "add-point", 3u, 40.0, 25.0, TRUE, &ok);
  fail_unless (ok);
  g_signal_emit_by_name (seg (a), "add-box", 5u, 60.0, 30.0, 90.0, 60.0, &ok);
  for (gint n = 0; n < 3; n++)
    gst_buffer_unref (push_pull (a, "RGB", 96, 64, n));
  g_signal_emit_by_name (seg (a), "save-state", path, &ok);
  fail_unless (ok, "save-state failed");
  for (gint n = 3; n < 5; n++) {
    b = push_pull (a, "RGB", 96, 64, n);
    fail_unless_equals_int (n_objects (b), 2);
    want[n - 3] = frame_signature (b);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (a);

  GstHarness *c = samseg_test_harness (NULL, "RGB", 96, 64);
  GstBus *bus = attach_bus (c);
  gchar *junk = g_strdup_printf ("%s.junk", path);
  fail_unless (g_file_set_contents (junk, "not a snapshot", -1, NULL));
  g_signal_emit_by_name (seg (c), "load-state", junk, &ok);
  fail_if (ok, "a junk file was loaded");
  fail_unless (bus_has (bus, GST_MESSAGE_WARNING, "load"));
  g_signal_emit_by_name (seg (c), "load-state", path, &ok);
  fail_unless (ok, "load-state failed");
  for (gint n = 3; n < 5; n++) {
    b = push_pull (c, "RGB", 96, 64, n);
    GArray *got = frame_signature (b);
    fail_unless_equals_int (got->len, want[n - 3]->len);
    fail_unless (memcmp (got->data, want[n - 3]->data, got->len) == 0,
        "frame %d differs after load-state", n);
    g_array_unref (got);
    g_array_unref (want[n - 3]);
    gst_buffer_unref (b);
  }
  gst_element_set_bus (c->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (c);
  g_unlink (junk);
  g_unlink (path);
  g_free (junk);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_meta_survives_videoscale)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 pattern=ball ! "
      "video/x-raw,format=I420,width=160,height=120 ! samseg model=\"%s\" "
      "input-size=%d threads=2 prompt=\"1:20,20,140,100\" ! videoscale ! "
      "video/x-raw,width=80,height=60 ! appsink name=sink sync=false",
      samseg_test_model_path (), S);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  GstSample *sample;
  gint n = 0;

  fail_unless (pipe != NULL);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  for (;;) {
    sample = NULL;
    g_signal_emit_by_name (sink, "pull-sample", &sample);
    if (!sample)
      break;
    GstBuffer *b = gst_sample_get_buffer (sample);
    GstSamSegMeta *m = samseg_test_meta_of (b);
    fail_unless_equals_int (m->width, 80);
    fail_unless_equals_int (m->height, 60);
    fail_unless_equals_int (m->n_objects, 1);
    fail_unless (m->objects[0].x + m->objects[0].width <= 80);
    {
      guint8 *r = g_malloc (80 * 60);
      fail_unless (gst_samseg_meta_rasterize (m, &m->objects[0], r, 80, 1));
      g_free (r);
    }
    n++;
    gst_sample_unref (sample);
  }
  fail_unless_equals_int (n, 2);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  g_free (desc);
}

GST_END_TEST;

static Suite *
samseg_suite (void)
{
  Suite *s = suite_create ("samseg");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps_every_format);
  tcase_add_test (tc, test_property_prompt_matches_engine);
  tcase_add_test (tc, test_roi_meta_and_messages);
  tcase_add_test (tc, test_prompt_file);
  tcase_add_test (tc, test_prompt_events);
  tcase_add_test (tc, test_prompt_signals);
  tcase_add_test (tc, test_navigation_clicks);
  tcase_add_test (tc, test_overlay_only_inside_masks);
  tcase_add_test (tc, test_interval_carries_masks);
  tcase_add_test (tc, test_resolution_change_and_flush);
  tcase_add_test (tc, test_latency_and_qos);
  tcase_add_test (tc, test_bad_model_and_prompts);
  tcase_add_test (tc, test_bad_runtime_prompts);
  tcase_add_test (tc, test_meta_survives_videoscale);
  tcase_add_test (tc, test_save_load_state);
  return s;
}

GST_CHECK_MAIN (samseg);
