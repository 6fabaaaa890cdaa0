/* gstsamseg-overlay.c — mask fill + outline drawing for all samseg formats. */
#include "gstsamseg-overlay.h"
#include "kernels/blend.h"

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
 * fill inside, 256 on the outline (a set pixel with a clear 4-neighbour;
 * the frame's border is not one). Without branches, so that the loops
 * vectorize: set · (fill + edge · (256 − fill)). */
static void
alpha_row (const guint8 * mask, gint stride, gint w, gint h, gint y,
    gint a_fill, gboolean outline, gint x0, gint x1, guint16 * out)
{
  const guint8 *m = mask + (gsize) y * stride;
  const guint8 *up = y > 0 ? m - stride : m;
  const guint8 *dn = y < h - 1 ? m + stride : m;

  if (!outline) {
    for (gint x = x0; x < x1; x++)
      out[x] = (guint16) ((m[x] != 0) * a_fill);
    return;
  }
  const gint extra = 256 - a_fill;
  /* the first and last columns have one horizontal neighbour */
  gint xa = x0, xb = x1;
  if (xa == 0) {
    out[0] = (guint16) ((m[0] != 0) * (a_fill + !(up[0] && dn[0] &&
                (w < 2 || m[1])) * extra));
    xa = 1;
  }
  if (xb == w && xb > xa) {
    out[w - 1] = (guint16) ((m[w - 1] != 0) * (a_fill + !(up[w - 1] &&
                dn[w - 1] && m[w - 2]) * extra));
    xb = w - 1;
  }
  for (gint x = xa; x < xb; x++) {
    const gint inner = (up[x] != 0) & (dn[x] != 0) & (m[x - 1] != 0) &
        (m[x + 1] != 0);
    out[x] = (guint16) ((m[x] != 0) * (a_fill + (1 - inner) * extra));
  }
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
    guint16 *ac = g_new (guint16, cw), *a2 = g_new (guint16, 2 * cw);
    guint8 *uv = g_new (guint8, 2 * cw);
    for (gint cx = 0; cx < cw; cx++) {
      uv[2 * cx] = cu;
      uv[2 * cx + 1] = cv;
    }

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
      /* alpha 0 keeps a pixel: whole spans, no test per pixel */
      if (on0)
        sam_blend_u8 (yp + (gsize) y * ys + xa, a0 + xa, cy, xb - xa);
      if (on1)
        sam_blend_u8 (yp + (gsize) (y + 1) * ys + xa, a1 + xa, cy, xb - xa);
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
      /* each chroma sample: the mean of its (up to) four alphas */
      const gint c0 = xa / 2, c1 = MIN (cw, xe / 2);
      for (gint cx = c0; cx < c1; cx++) {
        gint x = 2 * cx;
        gint s = a0[x] + a1[x] + (x + 1 < w ? a0[x + 1] + a1[x + 1] : 0);
        ac[cx] = (guint16) ((s + 2) / 4);
      }
      if (cstep == 1) {
        sam_blend_u8 (ur + c0, ac + c0, cu, c1 - c0);
        sam_blend_u8 (vr + c0, ac + c0, cv, c1 - c0);
      } else {
        /* NV12's interleaved U, V: the alpha and colour per byte */
        for (gint cx = c0; cx < c1; cx++)
          a2[2 * cx] = a2[2 * cx + 1] = ac[cx];
        sam_blend_u8_colors (ur + 2 * c0, a2 + 2 * c0, uv + 2 * c0,
            2 * (c1 - c0));
      }
    }
    g_free (ac);
    g_free (a2);
    g_free (uv);
  } else {
    guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    gint ss = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
    gint ro = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_R);
    gint go = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_G);
    gint bo = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_B);
    /* interleaved: the colour and the alpha per byte; padding and alpha
     * channel bytes get alpha 0 (kept as they are) */
    const gsize nb = (gsize) w * ps;
    guint8 *colors = g_new0 (guint8, nb);
    guint16 *ab = g_new0 (guint16, nb);
    for (gint x = 0; x < w; x++) {
      colors[(gsize) x * ps + ro] = rgb[0];
      colors[(gsize) x * ps + go] = rgb[1];
      colors[(gsize) x * ps + bo] = rgb[2];
    }
    for (gint y = 0; y < h; y++) {
      guint8 *row = data + (gsize) y * ss;
      gint l, r;
      if (!row_span (mask + (gsize) y * mask_stride, w, &l, &r))
        continue;
      alpha_row (mask, mask_stride, w, h, y, a_fill, outline, l, r, a0);
      for (gint x = l; x < r; x++) {
        guint16 *p = ab + (gsize) x * ps;
        p[ro] = p[go] = p[bo] = a0[x];
      }
      sam_blend_u8_colors (row + (gsize) l * ps, ab + (gsize) l * ps,
          colors + (gsize) l * ps, (r - l) * ps);
    }
    g_free (colors);
    g_free (ab);
  }
  g_free (a0);
  g_free (a1);
}
