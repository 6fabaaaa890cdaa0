/* gstsamseg-convert.h — frame conversion for samseg: any supported raw video
 * format → packed RGB at the model input size (colour conversion with the
 * frame's colorimetry, then a separable PIL-style resampling filter, bicubic
 * by default as the SAM 2 reference's PIL resize), and the inverse direction
 * for results: low-resolution mask logits → binary mask at frame resolution
 * (bilinear, align_corners=False, as the reference's F.interpolate).
 * Plain C loops over precomputed taps (auto-vectorized), no GStreamer
 * pipeline needed, so it is unit-testable on its own.
 */
#ifndef GST_SAMSEG_CONVERT_H
#define GST_SAMSEG_CONVERT_H

#include <gst/video/video.h>

#include "core/threadpool.h"

G_BEGIN_DECLS

typedef enum {
  GST_SAMSEG_RESAMPLE_BILINEAR,         /* triangle, antialiased downscale */
  GST_SAMSEG_RESAMPLE_BICUBIC,          /* a = -0.5, antialiased downscale */
} GstSamSegResample;

typedef struct _GstSamSegConverter GstSamSegConverter;

/* TRUE if @format is one the converter (and the overlay) handles. */
gboolean gst_samseg_convert_format_supported (GstVideoFormat format);

/* @n_threads: threads for the resize (0: all cores, 1: the caller's). */
GstSamSegConverter *gst_samseg_converter_new (const GstVideoInfo * in_info,
    gint out_width, gint out_height, GstSamSegResample filter,
    gint n_threads);
void gst_samseg_converter_free (GstSamSegConverter * conv);

/* Writes out_width x out_height packed RGB into @rgb (row stride @stride). */
void gst_samseg_converter_run (GstSamSegConverter * conv,
    const GstVideoFrame * frame, guint8 * rgb, gint stride);

/* Frame → packed RGB at frame size (no resampling). */
void gst_samseg_frame_to_rgb (const GstVideoFrame * frame, guint8 * rgb,
    gint stride);

/* Resamples packed 8-bit RGB (3 bytes/pixel) from in_w x in_h to
 * out_w x out_h (PIL ImagingResample semantics: horizontal pass then
 * vertical, 22-bit fixed point, rounding, clip). */
void gst_samseg_resample_rgb (const guint8 * src, gint in_w, gint in_h,
    gint src_stride, guint8 * dst, gint out_w, gint out_h, gint dst_stride,
    GstSamSegResample filter);
/* The same with rows split over @pool (NULL: this thread); the same
 * bytes. */
void gst_samseg_resample_rgb_pool (SamPool * pool, const guint8 * src,
    gint in_w, gint in_h, gint src_stride, guint8 * dst, gint out_w,
    gint out_h, gint dst_stride, GstSamSegResample filter);
/* The same with the CPU's SIMD capped at @isa (a SamIsa, kernels/cpu.h):
 * for the tests; every ISA gives the same bytes. */
void gst_samseg_resample_rgb_isa (gint isa, SamPool * pool,
    const guint8 * src, gint in_w, gint in_h, gint src_stride, guint8 * dst,
    gint out_w, gint out_h, gint dst_stride, GstSamSegResample filter);

/* Bilinear upsampling (align_corners=False) of @logits (lw x lh) to
 * out_w x out_h, thresholded: dest = logit > threshold ? 1 : 0. Returns the
 * number of set pixels. */
guint64 gst_samseg_logits_to_mask (const gfloat * logits, gint lw, gint lh,
    guint8 * dest, gint out_w, gint out_h, gint dest_stride,
    gfloat threshold);
/* The same with the CPU's SIMD capped at @isa (a SamIsa, kernels/cpu.h):
 * for the tests; every ISA gives the same mask. */
guint64 gst_samseg_logits_to_mask_isa (gint isa, const gfloat * logits,
    gint lw, gint lh, guint8 * dest, gint out_w, gint out_h,
    gint dest_stride, gfloat threshold);

G_END_DECLS
#endif /* GST_SAMSEG_CONVERT_H */
