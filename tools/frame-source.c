/* frame-source.c — see frame-source.h */
#include "frame-source.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define RAW_MAGIC "SAMRGB1\n"
/* a frame larger than this is a corrupt header, not a video frame */
#define RAW_MAX_SIDE 16384

struct _SamFrameSource {
  FILE *raw;                    /* a raw clip, or NULL */
  SamVideoDecoder *dec;         /* a video, or NULL */
  guint8 *buf;                  /* the raw clip's current frame */
  gsize buf_size;
  gint64 index;
};

/* (the callers prefix the path, as for a decoder's errors) */
static void
set_raw_error (GError ** err, const SamFrameSource * s, const char *what)
{
  g_set_error (err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
      "raw clip frame %" G_GINT64_FORMAT ": %s", s->index, what);
}

SamFrameSource *
sam_frame_source_open (const char *path, GError ** err)
{
  SamFrameSource *s = g_new0 (SamFrameSource, 1);
  FILE *f = fopen (path, "rb");
  if (!f) {
    g_set_error (err, G_FILE_ERROR, g_file_error_from_errno (errno),
        "%s: %s", path, g_strerror (errno));
    goto fail;
  }
  char magic[8];
  if (fread (magic, 1, 8, f) == 8 && memcmp (magic, RAW_MAGIC, 8) == 0) {
    s->raw = f;
    return s;
  }
  fclose (f);
#ifdef SAMSEG_HAVE_VIDEO
  s->dec = sam_video_decoder_open (path, err);
  if (s->dec)
    return s;
#else
  g_set_error (err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
      "%s: not a raw clip, and this build has no video decoder (libav)",
      path);
#endif
fail:
  sam_frame_source_free (s);
  return NULL;
}

/* 1: read; 0: a clean end (no byte); -1: truncated or a read error */
static int
read_u32 (FILE * f, guint32 * v)
{
  guint8 b[4];
  const size_t got = fread (b, 1, 4, f);
  if (got == 0 && feof (f))
    return 0;
  if (got != 4)
    return -1;
  *v = (guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16
      | (guint32) b[3] << 24;
  return 1;
}

gboolean
sam_frame_source_next (SamFrameSource * s, SamVideoFrame * vf, GError ** err)
{
#ifdef SAMSEG_HAVE_VIDEO
  if (s->dec)
    return sam_video_decoder_next (s->dec, vf, err);
#endif
  guint32 w, h;
  const int r = read_u32 (s->raw, &w);
  if (r == 0)
    return FALSE;
  if (r < 0 || read_u32 (s->raw, &h) != 1 || w < 1 || h < 1
      || w > RAW_MAX_SIDE || h > RAW_MAX_SIDE) {
    set_raw_error (err, s, "bad or truncated frame header");
    return FALSE;
  }
  const gsize n = (gsize) w * h * 3;
  if (n > s->buf_size) {
    g_free (s->buf);
    s->buf = g_malloc (n);
    s->buf_size = n;
  }
  if (fread (s->buf, 1, n, s->raw) != n) {
    set_raw_error (err, s, "truncated frame");
    return FALSE;
  }
  *vf = (SamVideoFrame) {
  .width = (gint) w,.height = (gint) h,.stride = (gint) w * 3,.data =
        s->buf,.index = s->index++,.pts_s = NAN};
  return TRUE;
}

void
sam_frame_source_free (SamFrameSource * s)
{
  if (!s)
    return;
  if (s->raw)
    fclose (s->raw);
#ifdef SAMSEG_HAVE_VIDEO
  sam_video_decoder_free (s->dec);
#endif
  g_free (s->buf);
  g_free (s);
}

static gboolean
write_all (FILE * f, const void *p, gsize n, GError ** err)
{
  if (fwrite (p, 1, n, f) == n)
    return TRUE;
  g_set_error (err, G_FILE_ERROR, g_file_error_from_errno (errno),
      "writing the raw clip: %s", g_strerror (errno));
  return FALSE;
}

gboolean
sam_raw_clip_write_header (FILE * f, GError ** err)
{
  return write_all (f, RAW_MAGIC, 8, err);
}

gboolean
sam_raw_clip_write_frame (FILE * f, const SamVideoFrame * vf, GError ** err)
{
  guint8 hdr[8];
  const guint32 wh[2] = { (guint32) vf->width, (guint32) vf->height };
  for (int i = 0; i < 2; i++)
    for (int b = 0; b < 4; b++)
      hdr[4 * i + b] = (guint8) (wh[i] >> (8 * b));
  if (!write_all (f, hdr, 8, err))
    return FALSE;
  for (gint y = 0; y < vf->height; y++)
    if (!write_all (f, vf->data + (gsize) y * vf->stride,
            (gsize) vf->width * 3, err))
      return FALSE;
  return TRUE;
}
