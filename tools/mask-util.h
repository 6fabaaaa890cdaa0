/* mask-util.h — binary masks packed like numpy.packbits (row-major, most
 * significant bit first, the last byte zero-padded) and their IoU, as the
 * evaluation sets store ground truth and reference predictions.
 */
#ifndef SAM_TOOLS_MASK_UTIL_H
#define SAM_TOOLS_MASK_UTIL_H

#include <glib.h>

/* Bytes of a packed mask of @n_pixels. */
static inline gsize
sam_mask_packed_size (gsize n_pixels)
{
  return (n_pixels + 7) / 8;
}

/* Packs logits > 0 of a @width × @height map (rows @stride floats apart)
 * into @out (sam_mask_packed_size (width × height) bytes). */
void sam_mask_pack_logits (const float *logits, gint width, gint height,
    gint stride, guint8 * out);

/* Packs a byte mask (nonzero = set) of @n pixels. */
void sam_mask_pack_bytes (const guint8 * mask, gsize n, guint8 * out);

/* Value of pixel @i of a packed mask. */
static inline gboolean
sam_mask_get (const guint8 * packed, gsize i)
{
  return (packed[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Set pixels among the first @n_pixels (padding bits are ignored). */
gsize sam_mask_count (const guint8 * packed, gsize n_pixels);

/* Intersection over union of two packed masks of @n_pixels; 1 when both
 * are empty (a correct "object absent"), as in the evaluation sets. */
double sam_mask_iou (const guint8 * a, const guint8 * b, gsize n_pixels);

#endif
