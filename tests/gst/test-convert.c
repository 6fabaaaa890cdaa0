/* test-convert.c — frame → RGB for every format, resampling, logits → mask,
 * and the overlay (pixels change only inside the mask), without a pipeline. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <string.h>

#include "gstsamseg-convert.h"
#include "gstsamseg-overlay.h"
#include "kernels/cpu.h"

static const GstVideoFormat formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_I420,
  GST_VIDEO_FORMAT_NV12,
};

/* A smooth-ish random RGB frame converted to @fmt by libgstvideo. */
static GstBuffer *
make_frame (GstVideoFormat fmt, gint w, gint h, GstVideoInfo * info,
    guint8 ** rgb_out)
{
  GstVideoInfo rinfo;
  GstBuffer *rgbbuf, *out;
  GstVideoFrame rf, of;
  GstVideoConverter *conv;
  GRand *r = g_rand_new_with_seed (7);

  gst_video_info_set_format (&rinfo, GST_VIDEO_FORMAT_RGB, w, h);
  gst_video_info_set_format (info, fmt, w, h);
  rgbbuf = gst_buffer_new_allocate (NULL, rinfo.size, NULL);
  out = gst_buffer_new_allocate (NULL, info->size, NULL);
  gst_video_frame_map (&rf, &rinfo, rgbbuf, GST_MAP_READWRITE);
  for (gint y = 0; y < h; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&rf, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&rf, 0);
    /* smooth colours plus a little noise: chroma subsampling then costs
     * only a few levels whatever the upsampling filter */
    for (gint x = 0; x < w; x++) {
      row[3 * x + 0] = (guint8) (40 + 3 * x + g_rand_int_range (r, 0, 4));
      row[3 * x + 1] = (guint8) (60 + 4 * y + g_rand_int_range (r, 0, 4));
      row[3 * x + 2] = (guint8) (100 + 2 * (x + y));
    }
  }
  if (rgb_out) {
    *rgb_out = g_malloc ((gsize) w * h * 3);
    for (gint y = 0; y < h; y++)
      memcpy (*rgb_out + y * w * 3, (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&rf,
              0) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&rf, 0), w * 3);
  }
  gst_video_frame_map (&of, info, out, GST_MAP_WRITE);
  conv = gst_video_converter_new (&rinfo, info, NULL);
  gst_video_converter_frame (conv, &rf, &of);
  gst_video_converter_free (conv);
  gst_video_frame_unmap (&rf);
  gst_video_frame_unmap (&of);
  gst_buffer_unref (rgbbuf);
  g_rand_free (r);
  return out;
}

GST_START_TEST (test_frame_to_rgb_all_formats)
{
  const gint w = 37, h = 22;    /* odd sizes, padded strides */

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info, rinfo;
    guint8 *src_rgb, *ours = g_malloc (w * h * 3);
    GstBuffer *buf = make_frame (formats[f], w, h, &info, &src_rgb);
    GstVideoFrame frame;
    gint maxdiff = 0;
    gboolean yuv = formats[f] == GST_VIDEO_FORMAT_I420 ||
        formats[f] == GST_VIDEO_FORMAT_NV12;

    fail_unless (gst_samseg_convert_format_supported (formats[f]));
    fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
    gst_samseg_frame_to_rgb (&frame, ours, w * 3);
    if (!yuv) {
      /* packed RGB: exact */
      fail_unless (memcmp (ours, src_rgb, w * h * 3) == 0, "%s",
          gst_video_format_to_string (formats[f]));
    } else {
      /* YUV: against libgstvideo's own YUV → RGB of the same frame */
      GstBuffer *ref = gst_buffer_new_allocate (NULL, w * h * 4, NULL);
      GstVideoFrame rf;
      GstVideoConverter *conv;
      gst_video_info_set_format (&rinfo, GST_VIDEO_FORMAT_RGB, w, h);
      gst_video_frame_map (&rf, &rinfo, ref, GST_MAP_WRITE);
      conv = gst_video_converter_new (&info, &rinfo, NULL);
      gst_video_converter_frame (conv, &frame, &rf);
      gst_video_converter_free (conv);
      for (gint y = 0; y < h; y++)
        for (gint x = 0; x < 3 * w; x++) {
          gint a = ours[y * w * 3 + x];
          gint b = ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&rf, 0))[y *
              GST_VIDEO_FRAME_PLANE_STRIDE (&rf, 0) + x];
          maxdiff = MAX (maxdiff, ABS (a - b));
        }
      gst_video_frame_unmap (&rf);
      gst_buffer_unref (ref);
      /* chroma siting/filtering may differ from the generic path by a few
       * levels; the exact videoconvert fast path is checked against the
       * eval-mini frame hashes in test-pipelines */
      fail_unless (maxdiff <= 8, "%s: max diff %d",
          gst_video_format_to_string (formats[f]), maxdiff);
    }
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (buf);
    g_free (src_rgb);
    g_free (ours);
  }
  fail_if (gst_samseg_convert_format_supported (GST_VIDEO_FORMAT_YUY2));
}

GST_END_TEST;

/* Rows split over threads, and the AVX-512 horizontal pass, give the
 * one-thread C pass's bytes: both filters, down and up, in each direction
 * alone and both, shrinks of one to four tap chunks (7.5x), odd widths.
 * The source is exactly the pixels: a read past the last row's end is
 * ASan's to see. (Where the CPU has no AVX-512, that run is the C pass.) */
GST_START_TEST (test_resample_pool)
{
  static const gint sizes[][4] = { {300, 170, 80, 50}, {97, 41, 97, 13},
  {33, 50, 70, 50}, {20, 16, 64, 48}, {1920, 9, 512, 5}, {3840, 4, 512, 4},
  {301, 7, 97, 7}, {640, 5, 601, 5}, {45, 2, 7, 2}
  };
  SamPool *pool = sam_pool_new (3);
  GRand *r = g_rand_new_with_seed (11);
  for (gint f = 0; f < 2; f++)
    for (guint si = 0; si < G_N_ELEMENTS (sizes); si++) {
      const gint iw = sizes[si][0], ih = sizes[si][1];
      const gint ow = sizes[si][2], oh = sizes[si][3];
      const gsize n = (gsize) ow * oh * 3;
      guint8 *src = g_malloc ((gsize) iw * ih * 3);
      guint8 *a = g_malloc (n), *b = g_malloc (n), *c = g_malloc (n);
      for (gint i = 0; i < iw * ih * 3; i++)
        src[i] = (guint8) g_rand_int (r);
      gst_samseg_resample_rgb_isa (SAM_ISA_REF, NULL, src, iw, ih, iw * 3,
          a, ow, oh, ow * 3, f);
      gst_samseg_resample_rgb_pool (pool, src, iw, ih, iw * 3, b, ow, oh,
          ow * 3, f);
      gst_samseg_resample_rgb_isa (SAM_ISA_AVX512, NULL, src, iw, ih,
          iw * 3, c, ow, oh, ow * 3, f);
      fail_unless (memcmp (a, b, n) == 0, "pool: filter %d %dx%d -> %dx%d",
          f, iw, ih, ow, oh);
      fail_unless (memcmp (a, c, n) == 0, "avx512: filter %d %dx%d -> %dx%d",
          f, iw, ih, ow, oh);
      g_free (src);
      g_free (a);
      g_free (b);
      g_free (c);
    }
  g_rand_free (r);
  sam_pool_free (pool);
}

GST_END_TEST;

GST_START_TEST (test_resample)
{
  for (int f = 0; f < 2; f++) {
    guint8 *src = g_malloc (40 * 30 * 3), *dst = g_malloc (64 * 64 * 3);
    /* a constant image stays constant, down and up */
    memset (src, 77, 40 * 30 * 3);
    gst_samseg_resample_rgb (src, 40, 30, 120, dst, 16, 16, 48, f);
    for (int i = 0; i < 16 * 16 * 3; i++)
      fail_unless_equals_int (dst[i], 77);
    gst_samseg_resample_rgb (src, 40, 30, 120, dst, 64, 64, 192, f);
    for (int i = 0; i < 64 * 64 * 3; i++)
      fail_unless_equals_int (dst[i], 77);
    /* 1-pixel stripes shrunk 4x are averaged away (antialiasing) */
    for (int y = 0; y < 30; y++)
      for (int x = 0; x < 40; x++)
        memset (src + (y * 40 + x) * 3, (x & 1) ? 200 : 0, 3);
    gst_samseg_resample_rgb (src, 40, 30, 120, dst, 10, 10, 30, f);
    for (int i = 3; i < 9 * 3; i++)     /* away from the edges */
      fail_unless (dst[i] >= 90 && dst[i] <= 110, "filter %d: %d", f, dst[i]);
    /* same size is a copy */
    gst_samseg_resample_rgb (src, 40, 30, 120, dst, 40, 30, 120, f);
    fail_unless (memcmp (src, dst, 40 * 30 * 3) == 0);
    g_free (src);
    g_free (dst);
  }
}

GST_END_TEST;

/* Every ISA gives the plain C mask and count: up and down in each
 * direction, widths around 16-lane blocks, NaN logits, a padded stride. */
GST_START_TEST (test_logits_to_mask_isa)
{
  static const gint sizes[][4] = { {128, 128, 1920, 1080}, {64, 64, 33, 17},
  {7, 5, 16, 31}, {256, 256, 640, 480}, {3, 3, 1, 1}, {128, 128, 250, 2}
  };
  GRand *r = g_rand_new_with_seed (3);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++) {
    const gint lw = sizes[si][0], lh = sizes[si][1];
    const gint w = sizes[si][2], h = sizes[si][3], st = w + 3;
    gfloat *l = g_new (gfloat, lw * lh);
    for (gint i = 0; i < lw * lh; i++)
      l[i] = i % 97 == 5 ? NAN : (gfloat) g_rand_double_range (r, -4, 4);
    guint8 *ref = g_new0 (guint8, (gsize) st * h);
    guint8 *out = g_new0 (guint8, (gsize) st * h);
    guint64 nref = gst_samseg_logits_to_mask_isa (SAM_ISA_REF, l, lw, lh,
        ref, w, h, st, 0.25f);
    /* the formula per pixel, both source rows interpolated each time */
    guint64 nf = 0;
    const gdouble sx = (gdouble) lw / w, sy = (gdouble) lh / h;
    for (gint y = 0; y < h; y++) {
      gdouble t = MAX ((y + 0.5) * sy - 0.5, 0);
      gint j = MIN ((gint) t, lh - 1), j1 = j < lh - 1 ? j + 1 : j;
      gfloat fy = (gfloat) (t - j);
      for (gint x = 0; x < w; x++) {
        gdouble u = MAX ((x + 0.5) * sx - 0.5, 0);
        gint i = MIN ((gint) u, lw - 1), i1 = i < lw - 1 ? i + 1 : i;
        gfloat fx = (gfloat) (u - i);
        gfloat a = (1.0f - fx) * l[j * lw + i] + fx * l[j * lw + i1];
        gfloat b = (1.0f - fx) * l[j1 * lw + i] + fx * l[j1 * lw + i1];
        gfloat v = (1.0f - fy) * a + fy * b;
        fail_unless_equals_int (ref[(gsize) y * st + x], v > 0.25f);
        nf += v > 0.25f;
      }
    }
    fail_unless_equals_uint64 (nref, nf);
    for (gint isa = SAM_ISA_AVX2; isa <= (gint) SAM_ISA_NEON; isa++) {
      if (!sam_cpu_isa_supported (isa))
        continue;
      memset (out, 0, (gsize) st * h);
      guint64 n = gst_samseg_logits_to_mask_isa (isa, l, lw, lh, out, w, h,
          st, 0.25f);
      fail_unless_equals_uint64 (n, nref);
      fail_unless (memcmp (out, ref, (gsize) st * h) == 0);
    }
    g_free (l);
    g_free (ref);
    g_free (out);
  }
  g_rand_free (r);
}

GST_END_TEST;

GST_START_TEST (test_logits_to_mask)
{
  const gfloat logits[4] = { -1, 1, -1, 1 };
  guint8 m[4 * 4];
  guint64 n = gst_samseg_logits_to_mask (logits, 2, 2, m, 4, 4, 4, 0.0f);
  const guint8 expect[4] = { 0, 0, 1, 1 };
  fail_unless_equals_uint64 (n, 8);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++)
      fail_unless_equals_int (m[y * 4 + x], expect[x]);
  /* threshold */
  n = gst_samseg_logits_to_mask (logits, 2, 2, m, 4, 4, 4, 2.0f);
  fail_unless_equals_uint64 (n, 0);
}

GST_END_TEST;

GST_START_TEST (test_overlay_only_inside)
{
  const gint w = 41, h = 30;

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info;
    GstBuffer *buf = make_frame (formats[f], w, h, &info, NULL);
    GstBuffer *orig = gst_buffer_copy_deep (buf);
    GstVideoFrame a, b;
    guint8 *mask = g_malloc0 (w * h);
    gboolean yuv = formats[f] == GST_VIDEO_FORMAT_I420 ||
        formats[f] == GST_VIDEO_FORMAT_NV12;
    gint changed_in = 0, n_in = 0;

    for (gint y = 0; y < h; y++)
      for (gint x = 0; x < w; x++)
        mask[y * w + x] = (x - 20) * (x - 20) + (y - 14) * (y - 14) < 64;
    gst_video_frame_map (&a, &info, buf, GST_MAP_READWRITE);
    gst_samseg_overlay_draw (&a, mask, w, 3, 0.5f, TRUE);
    gst_video_frame_map (&b, &info, orig, GST_MAP_READ);
    /* plane 0 per pixel (packed RGB or luma) */
    {
      gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&a, 0);
      for (gint y = 0; y < h; y++)
        for (gint x = 0; x < w; x++) {
          const guint8 *pa = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&a, 0) +
              y * GST_VIDEO_FRAME_PLANE_STRIDE (&a, 0) + x * ps;
          const guint8 *pb = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&b, 0) +
              y * GST_VIDEO_FRAME_PLANE_STRIDE (&b, 0) + x * ps;
          gboolean same = memcmp (pa, pb, ps) == 0;
          if (!mask[y * w + x])
            fail_unless (same, "%s: pixel %d,%d outside the mask changed",
                gst_video_format_to_string (formats[f]), x, y);
          else {
            n_in++;
            changed_in += !same;
          }
        }
    }
    fail_unless (changed_in > n_in * 9 / 10, "%s: only %d of %d changed",
        gst_video_format_to_string (formats[f]), changed_in, n_in);
    if (yuv) {
      /* chroma changes only for blocks that touch the mask */
      gint cw = (w + 1) / 2, ch = (h + 1) / 2;
      for (gint cy = 0; cy < ch; cy++)
        for (gint cx = 0; cx < cw; cx++) {
          gboolean touch = FALSE;
          for (gint dy = 0; dy < 2; dy++)
            for (gint dx = 0; dx < 2; dx++) {
              gint x = 2 * cx + dx, y = 2 * cy + dy;
              if (x < w && y < h && mask[y * w + x])
                touch = TRUE;
            }
          for (guint p = 1; p < GST_VIDEO_FRAME_N_PLANES (&a); p++) {
            gint ps = formats[f] == GST_VIDEO_FORMAT_NV12 ? 2 : 1;
            const guint8 *pa = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&a, p) +
                cy * GST_VIDEO_FRAME_PLANE_STRIDE (&a, p) + cx * ps;
            const guint8 *pb = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&b, p) +
                cy * GST_VIDEO_FRAME_PLANE_STRIDE (&b, p) + cx * ps;
            if (!touch)
              fail_unless (memcmp (pa, pb, ps) == 0, "chroma %d,%d changed",
                  cx, cy);
          }
        }
    } else {
      /* the outline is opaque: an edge pixel has the object's colour */
      guint8 col[3];
      gint ro = GST_VIDEO_FRAME_COMP_POFFSET (&a, GST_VIDEO_COMP_R);
      gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&a, 0);
      const guint8 *p = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&a, 0) +
          14 * GST_VIDEO_FRAME_PLANE_STRIDE (&a, 0) + 13 * ps;
      gst_samseg_color_for_id (3, col);
      fail_unless (mask[14 * w + 13] && !mask[14 * w + 12]);
      fail_unless_equals_int (p[ro], col[0]);
    }
    gst_video_frame_unmap (&a);
    gst_video_frame_unmap (&b);
    gst_buffer_unref (buf);
    gst_buffer_unref (orig);
    g_free (mask);
  }
}

GST_END_TEST;

GST_START_TEST (test_colors_stable)
{
  guint8 a[3], b[3], c[3];
  gst_samseg_color_for_id (1, a);
  gst_samseg_color_for_id (1, b);
  gst_samseg_color_for_id (2, c);
  fail_unless (memcmp (a, b, 3) == 0);
  fail_if (memcmp (a, c, 3) == 0);
}

GST_END_TEST;

static Suite *
convert_suite (void)
{
  Suite *s = suite_create ("samseg-convert");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_frame_to_rgb_all_formats);
  tcase_add_test (tc, test_resample);
  tcase_add_test (tc, test_resample_pool);
  tcase_add_test (tc, test_logits_to_mask);
  tcase_add_test (tc, test_logits_to_mask_isa);
  tcase_add_test (tc, test_overlay_only_inside);
  tcase_add_test (tc, test_colors_stable);
  return s;
}

GST_CHECK_MAIN (convert);
