/* gstsamsegmeta.c — GstSamSegMeta registration, RLE codec, transforms. */
#include "gstsamsegmeta.h"

#include <gst/video/video.h>
#include <string.h>

/* ---- RLE --------------------------------------------------------------- */

guint32 *
gst_samseg_rle_encode (const guint8 * mask, gint stride, guint width,
    guint height, guint * n_runs, guint64 * area, gint box[4])
{
  gsize cap = 64, n = 0;
  guint32 *runs = g_new (guint32, cap);
  guint8 cur = 0;
  guint32 len = 0;
  guint64 a = 0;
  gint x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;

  for (guint y = 0; y < height; y++) {
    const guint8 *row = mask + (gsize) y * stride;
    guint x = 0;
    while (x < width) {
      /* scan a stretch of equal values */
      guint s = x;
      guint8 v = row[x] ? 1 : 0;
      if (v)
        while (x < width && row[x])
          x++;
      else
        while (x < width && !row[x])
          x++;
      if (v) {
        a += x - s;
        if ((gint) s < x0)
          x0 = (gint) s;
        if ((gint) x - 1 > x1)
          x1 = (gint) x - 1;
        if ((gint) y < y0)
          y0 = (gint) y;
        y1 = (gint) y;
      }
      if (v != cur) {
        if (n == cap) {
          cap *= 2;
          runs = g_renew (guint32, runs, cap);
        }
        runs[n++] = len;
        len = 0;
        cur = v;
      }
      len += x - s;
    }
  }
  if (n == cap)
    runs = g_renew (guint32, runs, cap + 1);
  runs[n++] = len;
  *n_runs = (guint) n;
  if (area)
    *area = a;
  if (box) {
    if (a == 0)
      box[0] = box[1] = box[2] = box[3] = -1;
    else {
      box[0] = x0;
      box[1] = y0;
      box[2] = x1;
      box[3] = y1;
    }
  }
  return runs;
}

static gboolean
rle_valid (const guint32 * runs, guint n_runs, guint width, guint height)
{
  guint64 total = 0;
  for (guint i = 0; i < n_runs; i++)
    total += runs[i];
  return total == (guint64) width * height;
}

gboolean
gst_samseg_rle_decode (const guint32 * runs, guint n_runs, guint width,
    guint height, guint8 * dest, gint stride, guint8 value)
{
  guint x = 0, y = 0;

  if (!rle_valid (runs, n_runs, width, height))
    return FALSE;
  for (guint i = 0; i < n_runs; i++) {
    guint32 left = runs[i];
    guint8 v = (i & 1) ? value : 0;
    while (left > 0) {
      guint take = MIN (left, width - x);
      memset (dest + (gsize) y * stride + x, v, take);
      x += take;
      left -= take;
      if (x == width) {
        x = 0;
        y++;
      }
    }
  }
  return TRUE;
}

/* ---- meta -------------------------------------------------------------- */

static gboolean
samseg_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstSamSegMeta *m = (GstSamSegMeta *) meta;
  m->width = m->height = 0;
  m->frame_index = 0;
  m->inferred = FALSE;
  m->n_objects = m->n_alloc = 0;
  m->objects = NULL;
  return TRUE;
}

static void
samseg_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstSamSegMeta *m = (GstSamSegMeta *) meta;
  for (guint i = 0; i < m->n_objects; i++)
    g_free (m->objects[i].runs);
  g_free (m->objects);
  m->objects = NULL;
  m->n_objects = m->n_alloc = 0;
}

static GstSamSegObject *
append_object (GstSamSegMeta * m)
{
  if (m->n_objects == m->n_alloc) {
    m->n_alloc = m->n_alloc ? 2 * m->n_alloc : 4;
    m->objects = g_renew (GstSamSegObject, m->objects, m->n_alloc);
  }
  GstSamSegObject *o = &m->objects[m->n_objects++];
  memset (o, 0, sizeof *o);
  return o;
}

static void
copy_into (GstSamSegMeta * dst, const GstSamSegMeta * src)
{
  dst->width = src->width;
  dst->height = src->height;
  dst->frame_index = src->frame_index;
  dst->inferred = src->inferred;
  for (guint i = 0; i < src->n_objects; i++) {
    GstSamSegObject *o = append_object (dst);
    *o = src->objects[i];
    o->runs = g_memdup2 (src->objects[i].runs,
        sizeof (guint32) * src->objects[i].n_runs);
  }
}

/* Nearest-neighbour resample of every mask to @w x @h. */
static void
scale_into (GstSamSegMeta * dst, const GstSamSegMeta * src, guint w, guint h)
{
  guint8 *in, *out;
  guint *xmap;

  dst->width = w;
  dst->height = h;
  dst->frame_index = src->frame_index;
  dst->inferred = src->inferred;
  if (src->n_objects == 0)
    return;
  in = g_malloc ((gsize) src->width * src->height);
  out = g_malloc ((gsize) w * h);
  xmap = g_new (guint, w);
  for (guint x = 0; x < w; x++)
    xmap[x] = MIN ((guint) (((guint64) x * 2 + 1) * src->width / (2 * w)),
        src->width - 1);
  for (guint i = 0; i < src->n_objects; i++) {
    const GstSamSegObject *so = &src->objects[i];
    gint box[4];
    if (!gst_samseg_rle_decode (so->runs, so->n_runs, src->width,
            src->height, in, (gint) src->width, 1))
      continue;
    for (guint y = 0; y < h; y++) {
      guint sy = MIN ((guint) (((guint64) y * 2 + 1) * src->height / (2 * h)),
          src->height - 1);
      const guint8 *srow = in + (gsize) sy * src->width;
      guint8 *drow = out + (gsize) y * w;
      for (guint x = 0; x < w; x++)
        drow[x] = srow[xmap[x]];
    }
    GstSamSegObject *o = append_object (dst);
    o->id = so->id;
    o->object_score = so->object_score;
    o->iou = so->iou;
    o->runs = gst_samseg_rle_encode (out, (gint) w, w, h, &o->n_runs,
        &o->area, box);
    if (box[0] >= 0) {
      o->x = box[0];
      o->y = box[1];
      o->width = box[2] - box[0] + 1;
      o->height = box[3] - box[1] + 1;
    }
  }
  g_free (xmap);
  g_free (in);
  g_free (out);
}

static gboolean
samseg_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer,
    GQuark type, gpointer data)
{
  GstSamSegMeta *src = (GstSamSegMeta *) meta, *dst;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    GstMetaTransformCopy *copy = data;
    if (copy->region)
      return TRUE;              /* a sub-region of the bytes: masks do not map */
    if (gst_buffer_get_samseg_meta (dest))
      return TRUE;
    dst = gst_buffer_add_samseg_meta (dest, src->width, src->height);
    if (!dst)
      return FALSE;
    copy_into (dst, src);
    return TRUE;
  }
  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    GstVideoMetaTransform *tr = data;
    guint w = (guint) GST_VIDEO_INFO_WIDTH (tr->out_info);
    guint h = (guint) GST_VIDEO_INFO_HEIGHT (tr->out_info);
    if (w == 0 || h == 0)
      return FALSE;
    dst = gst_buffer_add_samseg_meta (dest, w, h);
    if (!dst)
      return FALSE;
    if (w == src->width && h == src->height)
      copy_into (dst, src);
    else
      scale_into (dst, src, w, h);
    return TRUE;
  }
  return FALSE;
}

GType
gst_samseg_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR,
    GST_META_TAG_VIDEO_SIZE_STR, NULL
  };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstSamSegMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

const GstMetaInfo *
gst_samseg_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_SAMSEG_META_API_TYPE,
        "GstSamSegMeta", sizeof (GstSamSegMeta), samseg_meta_init,
        samseg_meta_free, samseg_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstSamSegMeta *
gst_buffer_add_samseg_meta (GstBuffer * buffer, guint width, guint height)
{
  GstSamSegMeta *m;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  m = (GstSamSegMeta *) gst_buffer_add_meta (buffer, GST_SAMSEG_META_INFO,
      NULL);
  if (m) {
    m->width = width;
    m->height = height;
  }
  return m;
}

GstSamSegObject *
gst_samseg_meta_add_object (GstSamSegMeta * meta, guint32 id,
    gfloat object_score, gfloat iou, const guint8 * mask, gint stride)
{
  GstSamSegObject *o;
  gint box[4];

  g_return_val_if_fail (meta != NULL && mask != NULL, NULL);
  o = append_object (meta);
  o->id = id;
  o->object_score = object_score;
  o->iou = iou;
  o->runs = gst_samseg_rle_encode (mask, stride, meta->width, meta->height,
      &o->n_runs, &o->area, box);
  if (box[0] >= 0) {
    o->x = box[0];
    o->y = box[1];
    o->width = box[2] - box[0] + 1;
    o->height = box[3] - box[1] + 1;
  }
  return o;
}

GstSamSegObject *
gst_samseg_meta_add_object_rle (GstSamSegMeta * meta, guint32 id,
    gfloat object_score, gfloat iou, const guint32 * runs, guint n_runs)
{
  GstSamSegObject *o;
  gint x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;
  guint64 pos = 0, area = 0;

  g_return_val_if_fail (meta != NULL && (runs != NULL || n_runs == 0), NULL);
  if (meta->width == 0 || !rle_valid (runs, n_runs, meta->width, meta->height))
    return NULL;
  for (guint i = 0; i < n_runs; i++) {
    if ((i & 1) && runs[i]) {
      guint64 s = pos, e = pos + runs[i] - 1;
      gint sy = (gint) (s / meta->width), ey = (gint) (e / meta->width);
      area += runs[i];
      y0 = MIN (y0, sy);
      y1 = MAX (y1, ey);
      if (sy != ey) {
        x0 = 0;
        x1 = (gint) meta->width - 1;
      } else {
        x0 = MIN (x0, (gint) (s % meta->width));
        x1 = MAX (x1, (gint) (e % meta->width));
      }
    }
    pos += runs[i];
  }
  o = append_object (meta);
  o->id = id;
  o->object_score = object_score;
  o->iou = iou;
  o->n_runs = n_runs;
  o->runs = g_memdup2 (runs, sizeof (guint32) * n_runs);
  o->area = area;
  if (area) {
    o->x = x0;
    o->y = y0;
    o->width = x1 - x0 + 1;
    o->height = y1 - y0 + 1;
  }
  return o;
}

GstSamSegObject *
gst_samseg_meta_get_object (GstSamSegMeta * meta, guint32 id)
{
  g_return_val_if_fail (meta != NULL, NULL);
  for (guint i = 0; i < meta->n_objects; i++)
    if (meta->objects[i].id == id)
      return &meta->objects[i];
  return NULL;
}

gboolean
gst_samseg_meta_rasterize (const GstSamSegMeta * meta,
    const GstSamSegObject * obj, guint8 * dest, gint stride, guint8 value)
{
  g_return_val_if_fail (meta != NULL && obj != NULL && dest != NULL, FALSE);
  g_return_val_if_fail (stride >= (gint) meta->width, FALSE);
  return gst_samseg_rle_decode (obj->runs, obj->n_runs, meta->width,
      meta->height, dest, stride, value);
}
