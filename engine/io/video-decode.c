/* video-decode.c — libavformat/libavcodec demux + decode to RGB24.
 *
 * A plain pull loop: receive a frame; when the decoder wants input, read
 * packets of our stream; at the end of the file send the flush packet once
 * and drain. Decoding runs on one thread: the frames are small next to the
 * inference that follows, and the cores are better left to the engine.
 */
#include "io/video-decode.h"
#include "io/yuv-rgb.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (sam-video-error-quark, sam_video_error);

struct _SamVideoDecoder
{
  AVFormatContext *fmt;
  AVCodecContext *codec;
  AVPacket *pkt;
  AVFrame *frame;
  int stream;
  gboolean flushed;             /* the NULL packet has been sent */
  gboolean force_swscale;       /* SAMSEG_VIDEO_CONVERT=swscale, for comparisons */

  struct SwsContext *sws;
  int sws_w, sws_h, sws_fmt, sws_cs, sws_full;

  guint8 *rgb;
  gsize rgb_size;
  gint64 n_out;
  gchar conversion[64];
};

static gboolean
set_av_error (GError ** error, SamVideoError code, int averr,
    const gchar * what, const gchar * path)
{
  char buf[AV_ERROR_MAX_STRING_SIZE] = { 0 };
  av_strerror (averr, buf, sizeof buf);
  g_set_error (error, SAM_VIDEO_ERROR, code, "%s: %s: %s", path, what, buf);
  return FALSE;
}

SamVideoDecoder *
sam_video_decoder_open (const gchar * path, GError ** error)
{
  SamVideoDecoder *d = g_new0 (SamVideoDecoder, 1);
  const AVCodec *dec = NULL;
  int r;

  g_return_val_if_fail (path != NULL, NULL);

  d->stream = -1;
  d->force_swscale = g_strcmp0 (g_getenv ("SAMSEG_VIDEO_CONVERT"),
      "swscale") == 0;

  if ((r = avformat_open_input (&d->fmt, path, NULL, NULL)) < 0) {
    set_av_error (error, SAM_VIDEO_ERROR_OPEN, r, "cannot open", path);
    goto fail;
  }
  if ((r = avformat_find_stream_info (d->fmt, NULL)) < 0) {
    set_av_error (error, SAM_VIDEO_ERROR_OPEN, r, "cannot probe", path);
    goto fail;
  }
  d->stream = av_find_best_stream (d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &dec,
      0);
  if (d->stream < 0 || !dec) {
    set_av_error (error, SAM_VIDEO_ERROR_NO_STREAM, d->stream < 0 ? d->stream
        : AVERROR_DECODER_NOT_FOUND, "no decodable video stream", path);
    goto fail;
  }
  d->codec = avcodec_alloc_context3 (dec);
  if (!d->codec) {
    set_av_error (error, SAM_VIDEO_ERROR_NO_STREAM, AVERROR (ENOMEM),
        "cannot allocate decoder", path);
    goto fail;
  }
  r = avcodec_parameters_to_context (d->codec,
      d->fmt->streams[d->stream]->codecpar);
  if (r >= 0) {
    d->codec->thread_count = 1;
    d->codec->pkt_timebase = d->fmt->streams[d->stream]->time_base;
    r = avcodec_open2 (d->codec, dec, NULL);
  }
  if (r < 0) {
    set_av_error (error, SAM_VIDEO_ERROR_NO_STREAM, r, "cannot open decoder",
        path);
    goto fail;
  }
  d->pkt = av_packet_alloc ();
  d->frame = av_frame_alloc ();
  if (!d->pkt || !d->frame) {
    set_av_error (error, SAM_VIDEO_ERROR_OPEN, AVERROR (ENOMEM),
        "out of memory", path);
    goto fail;
  }
  g_strlcpy (d->conversion, "none", sizeof d->conversion);
  return d;

fail:
  sam_video_decoder_free (d);
  return NULL;
}

void
sam_video_decoder_free (SamVideoDecoder * d)
{
  if (!d)
    return;
  sws_freeContext (d->sws);
  av_frame_free (&d->frame);
  av_packet_free (&d->pkt);
  avcodec_free_context (&d->codec);
  avformat_close_input (&d->fmt);
  g_free (d->rgb);
  g_free (d);
}

gint
sam_video_decoder_width (const SamVideoDecoder * d)
{
  return d->codec->width;
}

gint
sam_video_decoder_height (const SamVideoDecoder * d)
{
  return d->codec->height;
}

const gchar *
sam_video_decoder_conversion (const SamVideoDecoder * d)
{
  return d->conversion;
}

/* GStreamer's choice of matrix: the stream's, else by frame height. */
static SamYuvMatrix
pick_matrix (const AVFrame * f)
{
  switch (f->colorspace) {
    case AVCOL_SPC_BT709:
      return SAM_YUV_MATRIX_BT709;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
      return SAM_YUV_MATRIX_BT601;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SAM_YUV_MATRIX_BT2020;
    default:
      return f->height > 576 ? SAM_YUV_MATRIX_BT709 : SAM_YUV_MATRIX_BT601;
  }
}

static const char *
matrix_name (SamYuvMatrix m)
{
  return m == SAM_YUV_MATRIX_BT709 ? "bt709" : m == SAM_YUV_MATRIX_BT2020 ?
      "bt2020" : "bt601";
}

static gboolean
convert_swscale (SamVideoDecoder * d, const AVFrame * f, SamYuvMatrix m,
    gboolean full, GError ** error)
{
  int cs = m == SAM_YUV_MATRIX_BT709 ? SWS_CS_ITU709 :
      m == SAM_YUV_MATRIX_BT2020 ? SWS_CS_BT2020 : SWS_CS_ITU601;
  if (!d->sws || d->sws_w != f->width || d->sws_h != f->height
      || d->sws_fmt != f->format || d->sws_cs != cs || d->sws_full != full) {
    sws_freeContext (d->sws);
    /* Bicubic only matters for the chroma upsampling here (same size). */
    d->sws = sws_getContext (f->width, f->height, f->format, f->width,
        f->height, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND |
        SWS_FULL_CHR_H_INT | SWS_BITEXACT, NULL, NULL, NULL);
    if (!d->sws) {
      g_set_error (error, SAM_VIDEO_ERROR, SAM_VIDEO_ERROR_CONVERT,
          "swscale cannot convert %s to rgb24",
          av_get_pix_fmt_name (f->format));
      return FALSE;
    }
    const int *coef = sws_getCoefficients (cs);
    sws_setColorspaceDetails (d->sws, coef, full, coef, 1, 0, 1 << 16,
        1 << 16);
    d->sws_w = f->width;
    d->sws_h = f->height;
    d->sws_fmt = f->format;
    d->sws_cs = cs;
    d->sws_full = full;
  }
  uint8_t *dst[4] = { d->rgb };
  int dst_stride[4] = { 3 * f->width };
  sws_scale (d->sws, (const uint8_t * const *) f->data, f->linesize, 0,
      f->height, dst, dst_stride);
  g_snprintf (d->conversion, sizeof d->conversion, "swscale-%s-%s-%s",
      av_get_pix_fmt_name (f->format), matrix_name (m),
      full ? "full" : "limited");
  return TRUE;
}

static gboolean
convert_frame (SamVideoDecoder * d, const AVFrame * f, GError ** error)
{
  gsize need = (gsize) 3 * f->width * f->height;
  if (f->width <= 0 || f->height <= 0) {
    g_set_error (error, SAM_VIDEO_ERROR, SAM_VIDEO_ERROR_DECODE,
        "decoder produced a %dx%d frame", f->width, f->height);
    return FALSE;
  }
  if (need > d->rgb_size) {
    g_free (d->rgb);
    d->rgb = g_malloc (need);
    d->rgb_size = need;
  }

  SamYuvMatrix m = pick_matrix (f);
  gboolean full = f->color_range == AVCOL_RANGE_JPEG
      || f->format == AV_PIX_FMT_YUVJ420P;

  if (!d->force_swscale && (f->format == AV_PIX_FMT_YUV420P
          || f->format == AV_PIX_FMT_YUVJ420P)) {
    SamYuvCoeffs c;
    sam_yuv_coeffs_init (&c, m, full);
    sam_yuv420_to_rgb (&c, f->width, f->height, f->data[0], f->linesize[0],
        f->data[1], f->linesize[1], f->data[2], f->linesize[2], d->rgb,
        3 * f->width);
    g_snprintf (d->conversion, sizeof d->conversion,
        "videoconvert-%s-%s", matrix_name (m), full ? "full" : "limited");
    return TRUE;
  }
  return convert_swscale (d, f, m, full, error);
}

gboolean
sam_video_decoder_next (SamVideoDecoder * d, SamVideoFrame * frame,
    GError ** error)
{
  const char *path = d->fmt->url ? d->fmt->url : "video";
  int r;

  g_return_val_if_fail (frame != NULL, FALSE);

  for (;;) {
    r = avcodec_receive_frame (d->codec, d->frame);
    if (r >= 0)
      break;
    if (r == AVERROR_EOF)
      return FALSE;
    if (r != AVERROR (EAGAIN))
      return set_av_error (error, SAM_VIDEO_ERROR_DECODE, r, "decoding failed",
          path);
    if (d->flushed)             /* cannot happen with a conforming decoder */
      return FALSE;

    /* The decoder wants input: feed it the next packet of our stream. */
    r = av_read_frame (d->fmt, d->pkt);
    if (r == AVERROR_EOF) {
      d->flushed = TRUE;
      r = avcodec_send_packet (d->codec, NULL);
    } else if (r < 0) {
      return set_av_error (error, SAM_VIDEO_ERROR_DECODE, r,
          "reading the file failed", path);
    } else {
      if (d->pkt->stream_index == d->stream)
        r = avcodec_send_packet (d->codec, d->pkt);
      av_packet_unref (d->pkt);
    }
    if (r < 0 && r != AVERROR_EOF)
      return set_av_error (error, SAM_VIDEO_ERROR_DECODE, r,
          "decoding failed", path);
  }

  gboolean ok = convert_frame (d, d->frame, error);
  AVRational tb = d->fmt->streams[d->stream]->time_base;
  frame->pts_s = d->frame->best_effort_timestamp == AV_NOPTS_VALUE ? NAN :
      d->frame->best_effort_timestamp * av_q2d (tb);
  frame->width = d->frame->width;
  frame->height = d->frame->height;
  frame->stride = 3 * d->frame->width;
  frame->data = d->rgb;
  frame->index = d->n_out++;
  av_frame_unref (d->frame);
  return ok;
}
