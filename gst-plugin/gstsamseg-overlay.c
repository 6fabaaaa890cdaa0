/* gstsamseg-overlay.c — mask fill + outline drawing for all samseg formats. */
#include "gstsamseg-overlay.h"

#include <math.h>
#include <string.h>

void
gst_samseg_color_for_id (guint32 id, guint8 rgb[3])
{
  /* hue walks by the golden ratio; saturation/value high for visibility */
  gdouble h = fmod (0.11 + id * 0.618033988749895, 1.0) * 6.0;
  gdouble s = 0.85, v = 0.95;
  gint i = (gint) h;
  gdouble f = h - i, p = v * (1 - s), q = v * (1 - s * f),
      t = v * (1 - s * (1 - f)), r, g, b;
  switch (i % 6) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  rgb[0] = (guint8) lrint (r * 255);
  rgb[1] = (guint8) lrint (g * 255);
  rgb[2] = (guint8) lrint (b * 255);
}

/* The columns [*x0, *x1) of mask row @m (w bytes) that hold its set
 * pixels, found a word at a time from each end; FALSE if none. Objects
 * usually cover a small part of the frame: rows and columns outside need
 * no alpha and no blend (their alpha is 0, which leaves pixels as they
 * are), so the overlay costs what the masks cover, not the frame. */
static gboolean
row_span (const guint8 * m, gint w, gint * x0, gint * x1)
{
  gint a = 0, b = w;
  guint64 word;
  while (a + 8 <= w && (memcpy (&word, m + a, 8), word == 0))
    a += 8;
  while (a < w && !m[a])
    a++;
  if (a == w)
    return FALSE;
  while (b - 8 >= a && (memcpy (&word, m + b - 8, 8), word == 0))
    b -= 8;
  while (!m[b - 1])
    b--;
  *x0 = a;
  *x1 = b;
  return TRUE;
}

/* Per-pixel alpha in 0..256 for columns [x0, x1): 0 outside the mask,
 * fill inside, 256 on the outline. */
static void
alpha_row (const guint8 * mask, gint stride, gint w, gint h, gint y,
    gint a_fill, gboolean outline, gint x0, gint x1, guint16 * out)
{
  const guint8 *m = mask + (gsize) y * stride;
  const guint8 *up = y > 0 ? m - stride : m;
  const guint8 *dn = y < h - 1 ? m + stride : m;

  for (gint x = x0; x < x1; x++) {
    if (!m[x]) {
      out[x] = 0;
      continue;
    }
    gboolean edge = FALSE;
    if (outline)
      edge = !up[x] || !dn[x] || (x > 0 && !m[x - 1]) ||
          (x < w - 1 && !m[x + 1]);
    out[x] = (guint16) (edge ? 256 : a_fill);
  }
}

static inline guint8
blend (guint8 d, guint8 c, gint a)
{
  return (guint8) ((d * (256 - a) + c * a + 128) >> 8);
}

void
gst_samseg_overlay_draw (GstVideoFrame * frame, const guint8 * mask,
    gint mask_stride, guint32 id, gfloat alpha, gboolean outline)
{
  const GstVideoInfo *info = &frame->info;
  GstVideoFormat fmt = GST_VIDEO_INFO_FORMAT (info);
  gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  gint a_fill = (gint) lrintf (CLAMP (alpha, 0.0f, 1.0f) * 256.0f);
  guint8 rgb[3];
  guint16 *a0 = g_new (guint16, w), *a1 = g_new (guint16, w);

  gst_samseg_color_for_id (id, rgb);

  if (fmt == GST_VIDEO_FORMAT_I420 || fmt == GST_VIDEO_FORMAT_NV12) {
    gdouble kr, kb;
    gint off[4], scale[4];
    GstVideoColorRange range = info->colorimetry.range;
    if (!gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, &kr, &kb)) {
      kr = 0.299;
      kb = 0.114;
    }
    if (range == GST_VIDEO_COLOR_RANGE_UNKNOWN)
      range = GST_VIDEO_COLOR_RANGE_16_235;
    gst_video_color_range_offsets (range, info->finfo, off, scale);
    gdouble R = rgb[0] / 255.0, G = rgb[1] / 255.0, B = rgb[2] / 255.0;
    gdouble Y = kr * R + (1 - kr - kb) * G + kb * B;
    gdouble U = (B - Y) / (2 * (1 - kb)), V = (R - Y) / (2 * (1 - kr));
    guint8 cy = (guint8) CLAMP (lrint (off[0] + Y * scale[0]), 0, 255);
    guint8 cu = (guint8) CLAMP (lrint (off[1] + U * scale[1]), 0, 255);
    guint8 cv = (guint8) CLAMP (lrint (off[2] + V * scale[2]), 0, 255);
    guint8 *yp = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    gint ys = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    gint cw = (w + 1) / 2;

    for (gint y = 0; y < h; y += 2) {
      guint8 *ur, *vr;
      gint cstep, l0 = w, r0 = 0, l1 = w, r1 = 0;
      gboolean on0 = row_span (mask + (gsize) y * mask_stride, w, &l0, &r0);
      gboolean on1 = y + 1 < h
          && row_span (mask + (gsize) (y + 1) * mask_stride, w, &l1, &r1);
      if (!on0 && !on1)
        continue;
      /* both rows' alphas over the union of their spans widened to whole
       * column pairs, so that every chroma sample below sees its four */
      const gint xa = MIN (l0, l1) & ~1, xe = (MAX (r0, r1) + 1) & ~1;
      const gint xb = MIN (xe, w);
      memset (a0 + xa, 0, sizeof (guint16) * (xb - xa));
      memset (a1 + xa, 0, sizeof (guint16) * (xb - xa));
      if (on0)
        alpha_row (mask, mask_stride, w, h, y, a_fill, outline, l0, r0, a0);
      if (on1)
        alpha_row (mask, mask_stride, w, h, y + 1, a_fill, outline, l1, r1,
            a1);
      for (gint x = xa; x < xb; x++) {
        if (a0[x])
          yp[(gsize) y * ys + x] = blend (yp[(gsize) y * ys + x], cy, a0[x]);
        if (a1[x])
          yp[(gsize) (y + 1) * ys + x] =
              blend (yp[(gsize) (y + 1) * ys + x], cy, a1[x]);
      }
      if (fmt == GST_VIDEO_FORMAT_I420) {
        ur = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (frame, 1) +
            (gsize) (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE (frame, 1);
        vr = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (frame, 2) +
            (gsize) (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE (frame, 2);
        cstep = 1;
      } else {
        ur = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (frame, 1) +
            (gsize) (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE (frame, 1);
        vr = ur + 1;
        cstep = 2;
      }
      for (gint cx = xa / 2; cx < MIN (cw, xe / 2); cx++) {
        gint x = 2 * cx;
        gint s = a0[x] + a1[x] + (x + 1 < w ? a0[x + 1] + a1[x + 1] : 0);
        if (!s)
          continue;
        gint a = (s + 2) / 4;
        ur[cx * cstep] = blend (ur[cx * cstep], cu, a);
        vr[cx * cstep] = blend (vr[cx * cstep], cv, a);
      }
    }
  } else {
    guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    gint ss = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
    gint ro = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_R);
    gint go = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_G);
    gint bo = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_B);
    for (gint y = 0; y < h; y++) {
      guint8 *row = data + (gsize) y * ss;
      gint l, r;
      if (!row_span (mask + (gsize) y * mask_stride, w, &l, &r))
        continue;
      alpha_row (mask, mask_stride, w, h, y, a_fill, outline, l, r, a0);
      for (gint x = l; x < r; x++) {
        gint a = a0[x];
        if (!a)
          continue;
        guint8 *p = row + (gsize) x * ps;
        p[ro] = blend (p[ro], rgb[0], a);
        p[go] = blend (p[go], rgb[1], a);
        p[bo] = blend (p[bo], rgb[2], a);
      }
    }
  }
  g_free (a0);
  g_free (a1);
}
