/* test-meta.c — RLE codec, GstSamSegMeta API, copy and scale transforms. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <string.h>

#include "gstsamsegmeta.h"

static guint8 *
random_mask (GRand * r, guint w, guint h, gdouble density)
{
  guint8 *m = g_malloc ((gsize) w * h);
  /* blobs of runs so the RLE is non-trivial */
  for (gsize i = 0; i < (gsize) w * h; i++)
    m[i] = (i && g_rand_double (r) < 0.9) ? m[i - 1] :
        (g_rand_double (r) < density);
  return m;
}

GST_START_TEST (test_rle_roundtrip)
{
  GRand *r = g_rand_new_with_seed (42);
  const guint sizes[][2] = { {1, 1}, {7, 3}, {64, 48}, {333, 17} };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    for (gdouble d = 0.0; d <= 1.0; d += 0.25) {
      guint w = sizes[s][0], h = sizes[s][1], n;
      guint8 *m = random_mask (r, w, h, d);
      guint8 *back = g_malloc0 ((gsize) w * h);
      guint64 area, expect = 0;
      gint box[4], ebox[4] = { G_MAXINT, G_MAXINT, -1, -1 };
      guint32 *runs = gst_samseg_rle_encode (m, (gint) w, w, h, &n, &area,
          box);

      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          if (m[y * w + x]) {
            expect++;
            ebox[0] = MIN (ebox[0], (gint) x);
            ebox[1] = MIN (ebox[1], (gint) y);
            ebox[2] = MAX (ebox[2], (gint) x);
            ebox[3] = MAX (ebox[3], (gint) y);
          }
      fail_unless_equals_uint64 (area, expect);
      if (expect) {
        for (int k = 0; k < 4; k++)
          fail_unless_equals_int (box[k], ebox[k]);
      } else {
        fail_unless_equals_int (box[0], -1);
      }
      fail_unless (gst_samseg_rle_decode (runs, n, w, h, back, (gint) w, 1));
      fail_unless (memcmp (m, back, (gsize) w * h) == 0);
      /* runs alternate and start with zeros */
      fail_unless (n >= 1);
      /* a broken RLE is refused */
      if (n > 1) {
        runs[n - 1] += 1;
        fail_if (gst_samseg_rle_decode (runs, n, w, h, back, (gint) w, 1));
      }
      g_free (runs);
      g_free (m);
      g_free (back);
    }
  }
  g_rand_free (r);
}

GST_END_TEST;

GST_START_TEST (test_meta_api)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL);
  guint8 mask[6 * 4] = { 0 };
  guint8 out[8 * 4];
  GstSamSegMeta *meta;
  GstSamSegObject *o;

  /* object 5: a 2x2 square at (3,1) */
  mask[1 * 6 + 3] = mask[1 * 6 + 4] = mask[2 * 6 + 3] = mask[2 * 6 + 4] = 1;
  meta = gst_buffer_add_samseg_meta (buf, 6, 4);
  fail_unless (meta != NULL);
  o = gst_samseg_meta_add_object (meta, 5, 1.5f, 0.75f, mask, 6);
  fail_unless_equals_int (o->x, 3);
  fail_unless_equals_int (o->y, 1);
  fail_unless_equals_int (o->width, 2);
  fail_unless_equals_int (o->height, 2);
  fail_unless_equals_uint64 (o->area, 4);
  /* an empty object */
  memset (mask, 0, sizeof mask);
  o = gst_samseg_meta_add_object (meta, 9, -3.0f, 0.1f, mask, 6);
  fail_unless_equals_uint64 (o->area, 0);
  fail_unless_equals_int (o->width, 0);

  meta = gst_buffer_get_samseg_meta (buf);
  fail_unless_equals_int (meta->n_objects, 2);
  o = gst_samseg_meta_get_object (meta, 5);
  fail_unless (o != NULL);
  fail_unless_equals_float (o->object_score, 1.5f);
  fail_unless (gst_samseg_meta_get_object (meta, 4) == NULL);
  memset (out, 0xaa, sizeof out);
  fail_unless (gst_samseg_meta_rasterize (meta, o, out, 8, 255));
  fail_unless_equals_int (out[1 * 8 + 3], 255);
  fail_unless_equals_int (out[1 * 8 + 2], 0);
  fail_unless_equals_int (out[1 * 8 + 6], 0xaa);      /* past the width */

  /* add from RLE: box computed from runs, bad runs refused */
  {
    guint32 runs[] = { 7, 2, 4, 2, 9 };
    guint32 bad[] = { 7, 2 };
    o = gst_samseg_meta_add_object_rle (meta, 11, 0, 0, runs, 5);
    fail_unless (o != NULL);
    fail_unless_equals_int (o->x, 1);
    fail_unless_equals_int (o->y, 1);
    fail_unless_equals_int (o->width, 2);
    fail_unless_equals_int (o->height, 2);
    fail_unless (gst_samseg_meta_add_object_rle (meta, 12, 0, 0, bad,
            2) == NULL);
  }
  fail_unless_equals_int (meta->n_objects, 3);

  /* copy transform: a deep copy */
  {
    GstBuffer *copy = gst_buffer_copy (buf);
    GstSamSegMeta *m2 = gst_buffer_get_samseg_meta (copy);
    fail_unless (m2 != NULL && m2 != meta);
    fail_unless_equals_int (m2->n_objects, 3);
    fail_unless (m2->objects[0].runs != meta->objects[0].runs);
    fail_unless_equals_int (m2->objects[0].n_runs, meta->objects[0].n_runs);
    gst_buffer_unref (copy);
  }
  gst_buffer_unref (buf);

  fail_unless (gst_meta_api_type_has_tag (GST_SAMSEG_META_API_TYPE,
          g_quark_from_static_string (GST_META_TAG_VIDEO_STR)));
  fail_unless (gst_meta_api_type_has_tag (GST_SAMSEG_META_API_TYPE,
          g_quark_from_static_string (GST_META_TAG_VIDEO_SIZE_STR)));
}

GST_END_TEST;

GST_START_TEST (test_meta_scale)
{
  GstBuffer *src = gst_buffer_new_allocate (NULL, 16, NULL);
  GstBuffer *dst = gst_buffer_new_allocate (NULL, 16, NULL);
  guint8 mask[8 * 8] = { 0 };
  GstVideoInfo in, out;
  GstVideoMetaTransform tr = { &in, &out };
  GstSamSegMeta *meta, *m2;
  const GstMetaInfo *info = GST_SAMSEG_META_INFO;

  for (int y = 2; y < 6; y++)
    for (int x = 4; x < 8; x++)
      mask[y * 8 + x] = 1;
  meta = gst_buffer_add_samseg_meta (src, 8, 8);
  gst_samseg_meta_add_object (meta, 1, 1, 1, mask, 8);
  gst_video_info_set_format (&in, GST_VIDEO_FORMAT_RGB, 8, 8);
  gst_video_info_set_format (&out, GST_VIDEO_FORMAT_RGB, 16, 4);
  fail_unless (info->transform_func (dst, (GstMeta *) meta, src,
          gst_video_meta_transform_scale_get_quark (), &tr));
  m2 = gst_buffer_get_samseg_meta (dst);
  fail_unless (m2 != NULL);
  fail_unless_equals_int (m2->width, 16);
  fail_unless_equals_int (m2->height, 4);
  fail_unless_equals_int (m2->objects[0].x, 8);
  fail_unless_equals_int (m2->objects[0].width, 8);
  fail_unless_equals_int (m2->objects[0].y, 1);
  fail_unless_equals_int (m2->objects[0].height, 2);
  fail_unless_equals_uint64 (m2->objects[0].area, 16);
  gst_buffer_unref (src);
  gst_buffer_unref (dst);
}

GST_END_TEST;

static Suite *
meta_suite (void)
{
  Suite *s = suite_create ("samseg-meta");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_rle_roundtrip);
  tcase_add_test (tc, test_meta_api);
  tcase_add_test (tc, test_meta_scale);
  return s;
}

GST_CHECK_MAIN (meta);
