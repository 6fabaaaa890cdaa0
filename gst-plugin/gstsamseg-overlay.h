/* gstsamseg-overlay.h — draws object masks onto raw video frames in place:
 * a fill at a given alpha in a stable colour per object id, plus an opaque
 * outline (mask pixels with a 4-neighbour outside the mask). Packed RGB
 * variants are blended per pixel; I420/NV12 blend luma per pixel and chroma
 * per 2x2 block weighted by the block's coverage. Only pixels inside the mask
 * change (for YUV: luma; chroma of a block touched by the mask).
 */
#ifndef GST_SAMSEG_OVERLAY_H
#define GST_SAMSEG_OVERLAY_H

#include <gst/video/video.h>

G_BEGIN_DECLS

/* Stable, well-separated colour for an object id (golden-ratio hues). */
void gst_samseg_color_for_id (guint32 id, guint8 rgb[3]);

/* @mask: frame width x height bytes at @mask_stride, nonzero = inside.
 * @alpha: fill opacity in [0, 1]; @outline: draw the opaque border. */
void gst_samseg_overlay_draw (GstVideoFrame * frame, const guint8 * mask,
    gint mask_stride, guint32 id, gfloat alpha, gboolean outline);

G_END_DECLS
#endif /* GST_SAMSEG_OVERLAY_H */
