/* track-file.c — track objects through a video file from first-frame
 * prompts; write an overlay video and the per-frame masks.
 *
 *   samseg-track-file IN.mp4 MODEL.safetensors "1:+310,200" OUTDIR [INPUT_SIZE]
 *
 * Writes OUTDIR/overlay.mp4 (H.264 with openh264enc, else MPEG-4 part 2),
 * OUTDIR/masks/NNNNN.pgm (one label image per frame: pixel = object id,
 * 0 = background; later objects win where masks overlap) and
 * OUTDIR/masks.jsonl (one line per frame: time, objects with id, score,
 * predicted IoU, box, area and the COCO-style RLE of the mask).
 */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstsamsegmeta.h"

typedef struct
{
  gchar *mask_dir;
  FILE *jsonl;
  guint64 n;
  guint8 *labels, *tmp;
  gsize labels_size;
} Writer;

static GstPadProbeReturn
on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Writer *w = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstSamSegMeta *m = gst_buffer_get_samseg_meta (buf);
  gchar *path;
  FILE *f;

  if (!m)
    return GST_PAD_PROBE_OK;
  gsize size = (gsize) m->width * m->height;
  if (size != w->labels_size) {
    w->labels = g_realloc (w->labels, size);
    w->tmp = g_realloc (w->tmp, size);
    w->labels_size = size;
  }
  memset (w->labels, 0, size);
  fprintf (w->jsonl, "{\"frame\": %" G_GUINT64_FORMAT ", \"pts\": %.6f, "
      "\"width\": %u, \"height\": %u, \"inferred\": %s, \"objects\": [",
      w->n, GST_BUFFER_PTS_IS_VALID (buf) ?
      (double) GST_BUFFER_PTS (buf) / GST_SECOND : -1.0, m->width, m->height,
      m->inferred ? "true" : "false");
  for (guint i = 0; i < m->n_objects; i++) {
    GstSamSegObject *o = &m->objects[i];
    gst_samseg_meta_rasterize (m, o, w->tmp, (gint) m->width, 1);
    for (gsize k = 0; k < size; k++)
      if (w->tmp[k])
        w->labels[k] = (guint8) MIN (o->id, 255u);
    fprintf (w->jsonl, "%s{\"id\": %u, \"score\": %.4f, \"iou\": %.4f, "
        "\"box\": [%d, %d, %d, %d], \"area\": %" G_GUINT64_FORMAT
        ", \"rle\": [", i ? ", " : "", o->id, o->object_score, o->iou, o->x,
        o->y, o->width, o->height, o->area);
    for (guint r = 0; r < o->n_runs; r++)
      fprintf (w->jsonl, "%s%u", r ? "," : "", o->runs[r]);
    fprintf (w->jsonl, "]}");
  }
  fprintf (w->jsonl, "]}\n");
  path = g_strdup_printf ("%s/%05" G_GUINT64_FORMAT ".pgm", w->mask_dir, w->n);
  f = fopen (path, "wb");
  if (f) {
    fprintf (f, "P5\n%u %u\n255\n", m->width, m->height);
    fwrite (w->labels, 1, size, f);
    fclose (f);
  }
  g_free (path);
  w->n++;
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  GstElement *pipe, *seg;
  GstBus *bus;
  GstMessage *msg;
  GError *err = NULL;
  Writer w = { 0 };
  gchar *desc, *out, *jsonl;
  const gchar *enc;
  GstElementFactory *f;
  GstPad *pad;
  int ret = 0;

  gst_init (&argc, &argv);
  if (argc < 5) {
    fprintf (stderr, "usage: %s IN.mp4 MODEL.safetensors PROMPT OUTDIR "
        "[INPUT_SIZE]\n  e.g. %s clip.mp4 model.safetensors "
        "\"1:+310,200\" out 512\n", argv[0], argv[0]);
    return 2;
  }
  w.mask_dir = g_build_filename (argv[4], "masks", NULL);
  g_mkdir_with_parents (w.mask_dir, 0755);
  out = g_build_filename (argv[4], "overlay.mp4", NULL);
  jsonl = g_build_filename (argv[4], "masks.jsonl", NULL);
  w.jsonl = fopen (jsonl, "w");
  if (!w.jsonl) {
    fprintf (stderr, "cannot write %s\n", jsonl);
    return 1;
  }
  f = gst_element_factory_find ("openh264enc");
  enc = f ? "openh264enc ! h264parse" : "avenc_mpeg4 bitrate=4000000";
  if (f)
    gst_object_unref (f);
  desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! "
      "videoconvert ! video/x-raw,format=I420 ! samseg name=seg model=\"%s\" "
      "input-size=%s prompt=\"%s\" overlay=true post-messages=false ! "
      "videoconvert ! %s ! mp4mux ! filesink location=\"%s\"", argv[1],
      argv[2], argc > 5 ? argv[5] : "0", argv[3], enc, out);
  pipe = gst_parse_launch (desc, &err);
  if (!pipe) {
    fprintf (stderr, "pipeline: %s\n", err->message);
    return 1;
  }
  seg = gst_bin_get_by_name (GST_BIN (pipe), "seg");
  pad = gst_element_get_static_pad (seg, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &w, NULL);
  gst_object_unref (pad);

  gst_element_set_state (pipe, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipe);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &err, &dbg);
    fprintf (stderr, "error: %s\n%s\n", err->message, dbg ? dbg : "");
    g_free (dbg);
    ret = 1;
  } else {
    printf ("%" G_GUINT64_FORMAT " frames: %s, %s/*.pgm, %s\n", w.n, out,
        w.mask_dir, jsonl);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (seg);
  gst_object_unref (pipe);
  fclose (w.jsonl);
  g_free (w.labels);
  g_free (w.tmp);
  g_free (w.mask_dir);
  g_free (desc);
  g_free (out);
  g_free (jsonl);
  return ret;
}
