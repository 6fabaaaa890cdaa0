/* attention-i8-dump.c — see attention-i8-dump.h */
#include "kernels/attention-i8-dump.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "SAMATT01"

typedef struct {
  char magic[8];
  uint32_t params_size;
  uint32_t pad;
  int64_t Nq, Nk, H, D, Dv;
} Header;

static gboolean
write_rows (FILE * f, const uint8_t * x, int64_t ld, int64_t rows,
    int64_t width)
{
  for (int64_t i = 0; i < rows; i++)
    if (fwrite (x + i * ld, 1, (size_t) width, f) != (size_t) width)
      return FALSE;
  return TRUE;
}

gboolean
sam_att_i8_dump_write (const char *path, const uint8_t * q, int64_t ldq,
    const uint8_t * k, int64_t ldk, const uint8_t * v, int64_t ldv,
    int64_t Nq, int64_t Nk, int H, int D, int Dv, const SamAttI8Params * p,
    GError ** error)
{
  Header h = {.params_size = sizeof *p,.Nq = Nq,.Nk = Nk,.H = H,.D = D,
    .Dv = Dv
  };
  memcpy (h.magic, MAGIC, sizeof h.magic);
  FILE *f = fopen (path, "wb");
  if (!f) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "%s: cannot create: %s", path, g_strerror (errno));
    return FALSE;
  }
  gboolean ok = fwrite (&h, sizeof h, 1, f) == 1
      && fwrite (p, sizeof *p, 1, f) == 1
      && write_rows (f, q, ldq, Nq, (int64_t) H * D)
      && write_rows (f, k, ldk, Nk, (int64_t) H * D)
      && write_rows (f, v, ldv, Nk, (int64_t) H * Dv);
  ok = fclose (f) == 0 && ok;
  if (!ok)
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: write failed",
        path);
  return ok;
}

SamAttI8Dump *
sam_att_i8_dump_read (const char *path, GError ** error)
{
  gchar *buf = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &buf, &len, error))
    return NULL;
  SamAttI8Dump *d = NULL;
  Header h;
  if (len < sizeof h) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s: %" G_GSIZE_FORMAT " bytes, shorter than a header", path, len);
    goto done;
  }
  memcpy (&h, buf, sizeof h);
  if (memcmp (h.magic, MAGIC, sizeof h.magic)
      || h.params_size != sizeof (SamAttI8Params)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s: not an attention dump of this build (magic or parameter size)",
        path);
    goto done;
  }
  /* each count bounded first, so that the products below cannot overflow */
  const int64_t lim = (int64_t) 1 << 24;
  if (h.Nq < 0 || h.Nk < 0 || h.Nq > lim || h.Nk > lim || h.H < 1
      || h.H > 64 || h.D < 1 || h.D > 4096 || h.Dv < 1 || h.Dv > 4096) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s: implausible shape q%" G_GINT64_FORMAT " k%" G_GINT64_FORMAT
        " h%" G_GINT64_FORMAT " d%" G_GINT64_FORMAT " dv%" G_GINT64_FORMAT,
        path, h.Nq, h.Nk, h.H, h.D, h.Dv);
    goto done;
  }
  const int64_t nq = h.Nq * h.H * h.D, nk = h.Nk * h.H * h.D,
      nv = h.Nk * h.H * h.Dv;
  const int64_t need = (int64_t) sizeof h + (int64_t) sizeof (SamAttI8Params)
      + nq + nk + nv;
  if ((int64_t) len != need) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s: %" G_GSIZE_FORMAT " bytes, the header says %" G_GINT64_FORMAT,
        path, len, need);
    goto done;
  }
  d = g_new0 (SamAttI8Dump, 1);
  d->Nq = h.Nq;
  d->Nk = h.Nk;
  d->H = (int) h.H;
  d->D = (int) h.D;
  d->Dv = (int) h.Dv;
  const guint8 *src = (const guint8 *) buf + sizeof h;
  memcpy (&d->p, src, sizeof d->p);
  src += sizeof d->p;
  d->q = g_memdup2 (src, (gsize) nq);
  d->k = g_memdup2 (src + nq, (gsize) nk);
  d->v = g_memdup2 (src + nq + nk, (gsize) nv);
done:
  g_free (buf);
  return d;
}

void
sam_att_i8_dump_free (SamAttI8Dump * d)
{
  if (!d)
    return;
  g_free (d->q);
  g_free (d->k);
  g_free (d->v);
  g_free (d);
}

void
sam_att_i8_dump_maybe (const uint8_t * q, int64_t ldq, const uint8_t * k,
    int64_t ldk, const uint8_t * v, int64_t ldv, int64_t Nq, int64_t Nk,
    int H, int D, int Dv, const SamAttI8Params * p)
{
  static gsize once = 0;
  static const char *dir = NULL;
  static gint seq = 0;
  if (g_once_init_enter (&once)) {
    dir = g_getenv ("SAMSEG_DUMP_ATTENTION");
    g_once_init_leave (&once, 1);
  }
  if (!dir || !*dir)
    return;
  char *path = g_strdup_printf ("%s/att-%ld-%04d.samatt", dir,
      (long) getpid (), g_atomic_int_add (&seq, 1));
  GError *err = NULL;
  if (!sam_att_i8_dump_write (path, q, ldq, k, ldk, v, ldv, Nq, Nk, H, D, Dv,
          p, &err)) {
    g_warning ("SAMSEG_DUMP_ATTENTION: %s", err->message);
    g_error_free (err);
  }
  g_free (path);
}
