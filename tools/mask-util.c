/* mask-util.c — numpy.packbits-compatible packing and IoU of binary masks. */
#include "mask-util.h"

#include <string.h>

void
sam_mask_pack_logits (const float *logits, gint width, gint height,
    gint stride, guint8 * out)
{
  /* Pixels run on across rows, so a byte may straddle two rows. */
  gsize i = 0;
  memset (out, 0, sam_mask_packed_size ((gsize) width * height));
  for (gint y = 0; y < height; y++) {
    const float *row = logits + (gsize) y * stride;
    for (gint x = 0; x < width; x++, i++)
      if (row[x] > 0.0f)
        out[i >> 3] |= (guint8) (0x80u >> (i & 7));
  }
}

void
sam_mask_pack_bytes (const guint8 * mask, gsize n, guint8 * out)
{
  memset (out, 0, sam_mask_packed_size (n));
  for (gsize i = 0; i < n; i++)
    if (mask[i])
      out[i >> 3] |= (guint8) (0x80u >> (i & 7));
}

/* Mask of the bits of the last byte that hold pixels (MSB first). */
static guint8
tail_mask (gsize n_pixels)
{
  guint rem = n_pixels & 7;
  return rem ? (guint8) (0xffu << (8 - rem)) : 0xff;
}

gsize
sam_mask_count (const guint8 * packed, gsize n_pixels)
{
  gsize nb = sam_mask_packed_size (n_pixels), c = 0;
  if (nb == 0)
    return 0;
  for (gsize i = 0; i + 1 < nb; i++)
    c += (gsize) __builtin_popcount (packed[i]);
  return c + (gsize) __builtin_popcount (packed[nb - 1] &
      tail_mask (n_pixels));
}

double
sam_mask_iou (const guint8 * a, const guint8 * b, gsize n_pixels)
{
  gsize nb = sam_mask_packed_size (n_pixels), inter = 0, uni = 0;
  for (gsize i = 0; i < nb; i++) {
    guint m = i + 1 == nb ? tail_mask (n_pixels) : 0xff;
    inter += (gsize) __builtin_popcount (a[i] & b[i] & m);
    uni += (gsize) __builtin_popcount ((a[i] | b[i]) & m);
  }
  return uni ? (double) inter / (double) uni : 1.0;
}
