/* video-decode.h — read any video FFmpeg can demux and decode, one packed
 * RGB24 frame at a time (for samseg-eval and samseg-quantize).
 *
 * 4:2:0 8-bit content is converted to RGB with GStreamer videoconvert's
 * arithmetic (see yuv-rgb.h), choosing the matrix and range the way
 * GStreamer does: from the stream's signalling, else BT.601 limited for
 * SD (height <= 576) and BT.709 limited above. Anything else goes through
 * swscale (accurate rounding, full chroma interpolation, bit-exact).
 *
 * This lives outside libsamseg-engine on purpose: the engine never links
 * FFmpeg; only tools that need video do.
 */
#ifndef SAM_IO_VIDEO_DECODE_H
#define SAM_IO_VIDEO_DECODE_H

#include <glib.h>

G_BEGIN_DECLS

#define SAM_VIDEO_ERROR (sam_video_error_quark ())
GQuark sam_video_error_quark (void);

typedef enum {
  SAM_VIDEO_ERROR_OPEN,         /* cannot open or probe the file */
  SAM_VIDEO_ERROR_NO_STREAM,    /* no decodable video stream */
  SAM_VIDEO_ERROR_DECODE,       /* demuxing or decoding failed mid-stream */
  SAM_VIDEO_ERROR_CONVERT,      /* pixel format conversion failed */
} SamVideoError;

typedef struct _SamVideoDecoder SamVideoDecoder;

typedef struct {
  gint width, height;
  gint stride;                  /* bytes per row, >= 3 × width */
  const guint8 *data;           /* packed R, G, B (transfer none) */
  gint64 index;                 /* 0, 1, 2, ... in decode output order */
  double pts_s;                 /* presentation time in seconds, or NAN */
} SamVideoFrame;

/* (transfer full) NULL and @error set on failure. */
SamVideoDecoder *sam_video_decoder_open (const gchar * path, GError ** error);
void sam_video_decoder_free (SamVideoDecoder * d);

/* Size of the video stream as declared by the container/codec. */
gint sam_video_decoder_width (const SamVideoDecoder * d);
gint sam_video_decoder_height (const SamVideoDecoder * d);

/* Decodes the next frame into @frame, whose data belongs to the decoder and
 * stays valid until the next call. Returns FALSE at the end of the stream
 * (with @error unset) or on failure (with @error set). */
gboolean sam_video_decoder_next (SamVideoDecoder * d, SamVideoFrame * frame,
    GError ** error);

/* How the last frame was converted, e.g. "videoconvert-bt601-limited" or
 * "swscale-yuv444p". (transfer none) */
const gchar *sam_video_decoder_conversion (const SamVideoDecoder * d);

G_END_DECLS
#endif
