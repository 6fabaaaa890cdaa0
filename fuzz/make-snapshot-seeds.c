/* make-snapshot-seeds — writes the seed corpus of fuzz-snapshot: real
 * session snapshots (input size 256) after a few frames on a model.
 *
 *   make-snapshot-seeds MODEL OUTDIR
 *
 * Each seed is written twice: with flag byte 0 (as saved: valid for MODEL
 * only) and flag byte 3 (re-signed with the fuzzed model's fingerprint). */
#include "sam/sam.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static void
frame (guint8 * rgb, int w, int h, int n)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      gboolean sq = x >= 10 + n && x < 30 + n && y >= 10 && y < 28;
      guint8 *p = rgb + 3 * (y * w + x);
      p[0] = sq ? 230 : 30;
      p[1] = sq ? 200 : 40;
      p[2] = sq ? 40 : 50;
    }
}

static void
seed (SamModel * m, const char *dir, const char *name, int precision,
    int n_obj, int n_frames, gboolean pending)
{
  SamSessionParams p;
  GError *err = NULL;
  guint8 rgb[64 * 48 * 3];
  SamImage img = { SAM_PIXEL_RGB, 64, 48, 64 * 3, rgb };
  SamFrameResult r;

  sam_session_params_init (&p);
  p.input_size = 256;
  p.memory_precision = precision;
  p.num_maskmem = 3;
  p.max_cond_frames = 2;
  SamSession *s = sam_session_new (m, &p, &err);
  g_assert_no_error (err);
  for (int f = 0; f < n_frames + (pending ? 1 : 0); f++) {
    if (f == 0 || (pending && f == n_frames))
      for (int o = 0; o < n_obj; o++) {
        float xy[4] = { 15 + 10 * o, 15, 40, 30 };
        gint32 lab[2] = { 1, 0 };
        SamPrompt pr = { 2, xy, lab, o == 1, {5, 5, 40, 40}, FALSE };
        g_assert (sam_session_add_prompt (s, 1 + 7 * o, &pr, &err));
      }
    if (f == n_frames)
      break;
    frame (rgb, 64, 48, f);
    g_assert (sam_session_process_frame (s, &img, &r, &err));
  }
  gchar *path = g_build_filename (dir, "tmp.samseg", NULL);
  g_assert (sam_session_save (s, path, &err));
  gchar *data;
  gsize len;
  g_assert (g_file_get_contents (path, &data, &len, NULL));
  for (int flag = 0; flag <= 3; flag += 3) {
    gchar *out = g_strdup_printf ("%s/seed-%s-%d", dir, name, flag);
    FILE *f = fopen (out, "wb");
    fputc (flag, f);
    fwrite (data, 1, len, f);
    fclose (f);
    printf ("%s: %zu bytes\n", out, len + 1);
    g_free (out);
  }
  g_unlink (path);
  g_free (path);
  g_free (data);
  sam_session_free (s);
}

int
main (int argc, char **argv)
{
  GError *err = NULL;
  if (argc != 3) {
    fprintf (stderr, "usage: %s MODEL OUTDIR\n", argv[0]);
    return 2;
  }
  SamModel *m = sam_model_load (argv[1], NULL, &err);
  if (!m) {
    fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  g_mkdir_with_parents (argv[2], 0755);
  seed (m, argv[2], "pending-only", SAM_MEMORY_PRECISION_BF16, 1, 0, TRUE);
  seed (m, argv[2], "one-object-bf16", SAM_MEMORY_PRECISION_BF16, 1, 1, FALSE);
  seed (m, argv[2], "two-objects-int8", SAM_MEMORY_PRECISION_INT8, 2, 2, TRUE);
  seed (m, argv[2], "one-object-f32", SAM_MEMORY_PRECISION_F32, 1, 2, FALSE);
  sam_model_unref (m);
  return 0;
}
