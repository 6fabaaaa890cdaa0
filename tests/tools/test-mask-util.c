/* test-mask-util — packing must match numpy.packbits (MSB first, row-major,
 * zero-padded tail) or every J computed against the datasets is wrong. */
#include "mask-util.h"

#include <string.h>

static void
test_pack_bytes (void)
{
  /* np.packbits([1,0,1,1,0,0,0,0, 1,1]) == [0xb0, 0xc0] */
  const guint8 m[10] = { 1, 0, 1, 1, 0, 0, 0, 0, 1, 1 };
  guint8 out[2] = { 0xff, 0xff };
  g_assert_cmpuint (sam_mask_packed_size (10), ==, 2);
  sam_mask_pack_bytes (m, 10, out);
  g_assert_cmphex (out[0], ==, 0xb0);
  g_assert_cmphex (out[1], ==, 0xc0);
  for (gsize i = 0; i < 10; i++)
    g_assert_cmpint (sam_mask_get (out, i), ==, m[i]);
  g_assert_cmpuint (sam_mask_count (out, 10), ==, 5);
}

static void
test_pack_logits_stride (void)
{
  /* 3×3 map stored with stride 4; the padding column must be ignored and
   * pixels run on across rows (the second byte starts mid-row). Only
   * strictly positive logits are set. */
  const float l[12] = {
    1, -1, 0, 99,
    -2, 3, 4, 99,
    5, -6, 0.5f, 99,
  };
  guint8 out[2];
  sam_mask_pack_logits (l, 3, 3, 4, out);
  /* row-major bits: 1 0 0 | 0 1 1 | 1 0 1 -> 1000 1110 | 1(000 0000) */
  g_assert_cmphex (out[0], ==, 0x8e);
  g_assert_cmphex (out[1], ==, 0x80);
}

static void
test_iou (void)
{
  guint8 a[2] = { 0xf0, 0x00 }, b[2] = { 0x3c, 0x00 }, z[2] = { 0, 0 };
  /* a = bits 0-3, b = bits 2-5: intersection 2, union 6 */
  g_assert_cmpfloat_with_epsilon (sam_mask_iou (a, b, 16), 2.0 / 6.0, 1e-12);
  g_assert_cmpfloat (sam_mask_iou (a, a, 16), ==, 1.0);
  g_assert_cmpfloat (sam_mask_iou (a, z, 16), ==, 0.0);
  /* Two empty masks agree perfectly (object absent, correctly). */
  g_assert_cmpfloat (sam_mask_iou (z, z, 16), ==, 1.0);
}

static void
test_iou_ignores_padding (void)
{
  /* 10 pixels: bits beyond pixel 9 in the last byte are padding, even if a
   * writer left garbage there. */
  guint8 a[2] = { 0x00, 0x3f }, z[2] = { 0, 0 };
  g_assert_cmpuint (sam_mask_count (a, 10), ==, 0);
  g_assert_cmpfloat (sam_mask_iou (a, z, 10), ==, 1.0);
  a[1] = 0x7f;                  /* pixel 9 set */
  g_assert_cmpuint (sam_mask_count (a, 10), ==, 1);
  g_assert_cmpfloat (sam_mask_iou (a, z, 10), ==, 0.0);
}

static void
test_large_random (void)
{
  /* Byte-wise popcount IoU against a per-pixel count on an odd size. */
  const gsize n = 513 * 511;
  guint8 *ma = g_malloc (n), *mb = g_malloc (n);
  guint8 *pa = g_malloc (sam_mask_packed_size (n));
  guint8 *pb = g_malloc (sam_mask_packed_size (n));
  GRand *r = g_rand_new_with_seed (7);
  gsize inter = 0, uni = 0;
  for (gsize i = 0; i < n; i++) {
    ma[i] = g_rand_int_range (r, 0, 3) == 0;
    mb[i] = g_rand_int_range (r, 0, 2) == 0;
    inter += ma[i] && mb[i];
    uni += ma[i] || mb[i];
  }
  sam_mask_pack_bytes (ma, n, pa);
  sam_mask_pack_bytes (mb, n, pb);
  g_assert_cmpfloat_with_epsilon (sam_mask_iou (pa, pb, n),
      (double) inter / uni, 1e-12);
  g_rand_free (r);
  g_free (ma);
  g_free (mb);
  g_free (pa);
  g_free (pb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mask-util/pack-bytes", test_pack_bytes);
  g_test_add_func ("/mask-util/pack-logits-stride", test_pack_logits_stride);
  g_test_add_func ("/mask-util/iou", test_iou);
  g_test_add_func ("/mask-util/iou-ignores-padding", test_iou_ignores_padding);
  g_test_add_func ("/mask-util/large-random", test_large_random);
  return g_test_run ();
}
