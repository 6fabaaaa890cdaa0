/* samseg-digest — one SHA-256 over everything the tracker outputs on a clip,
 * to show that a change to the engine left every bit as it was.
 *
 *   samseg-digest -m MODEL -v VIDEO [-s SIZE] [-n FRAMES] [-g GRID]
 *                 [-t THREADS] [--threads-check] [--expect HEX]
 *                 [--save-frames RAW]
 *
 * Decodes the first FRAMES (8) frames of VIDEO (a video, or a raw clip:
 * frame-source.h), prompts one object per
 * cell of a GRID × GRID (2) grid on frame 0 with a click at the cell's
 * centre, tracks them, and hashes every frame's per-object outputs (id,
 * object score, IoU, low-res and full-size mask logits, object pointer).
 * Prints the hex digest. Run it with the build before and after a change:
 * the same digest means the same bits.
 *
 * Unlike samseg-check, it installs no Linear observer and no tap, so the
 * engine takes its fast paths (cache-sized row groups, keys made in
 * pieces, padded rows skipped): samseg-check's observer makes every layer
 * see its literal inputs, which takes the whole-tensor path instead.
 *
 * --threads-check runs the clip with 1 thread and with THREADS (default:
 * all cores) and exits 1 when the digests differ: every kernel partitions
 * over independent outputs, so they must not.
 *
 * --expect HEX exits 1 unless the digest is HEX. The SIMD kernels (AVX2,
 * AVX-512, NEON) share one arithmetic, so a digest taken on one of them
 * holds on the others (tools-digest-golden runs this on every build);
 * the plain C kernels round differently (no FMA), so there it exits 77,
 * meson's "skipped".
 *
 * --save-frames RAW writes the tracked frames as a raw clip, which a build
 * without libav (the aarch64 cross build under qemu, tests/cross) tracks
 * to the same digest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "grid-track.h"
#include "kernels/cpu.h"

typedef struct {
  gchar *model, *video;         /* from the options: g_free them */
  int size, frames, grid, threads;
} DigestRun;

typedef struct {
  GChecksum *ck;
  FILE *save;                   /* --save-frames, or NULL */
  GError *save_err;             /* its first write error */
} HashState;

static void
hash_frame (int frame, const SamVideoFrame * vf, const SamFrameResult * r,
    gpointer user_data)
{
  HashState *hs = user_data;
  GChecksum *ck = hs->ck;
  if (hs->save && !hs->save_err)
    sam_raw_clip_write_frame (hs->save, vf, &hs->save_err);
  for (int i = 0; i < r->n_objects; i++) {
    const SamObjectResult *o = &r->objects[i];
    g_checksum_update (ck, (const guchar *) &o->obj_id, sizeof o->obj_id);
    g_checksum_update (ck, (const guchar *) &o->object_score,
        sizeof o->object_score);
    g_checksum_update (ck, (const guchar *) &o->iou, sizeof o->iou);
    g_checksum_update (ck, (const guchar *) o->low_res_logits,
        sizeof (float) * o->low_res_size * o->low_res_size);
    g_checksum_update (ck, (const guchar *) o->logits,
        sizeof (float) * o->width * o->height);
    g_checksum_update (ck, (const guchar *) o->obj_ptr, sizeof (float) * 256);
  }
}

/* The hex digest of one run (g_free it), or NULL with @err set; the
 * tracked frames into @save (NULL: not). */
static gchar *
digest (SamModel * m, const DigestRun * d, int threads, FILE * save,
    GError ** err)
{
  SamFrameSource *dec = sam_frame_source_open (d->video, err);
  if (!dec)
    return NULL;
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = d->size ? d->size : sam_model_default_input_size (m);
  sp.n_threads = threads;
  sp.num_frames = d->frames;
  SamSession *s = sam_session_new (m, &sp, err);
  HashState hs = { g_checksum_new (G_CHECKSUM_SHA256), save, NULL };
  gboolean ok = s && sam_grid_track (s, dec, d->frames, d->grid, hash_frame,
      &hs, err);
  if (!ok && err && *err)
    g_prefix_error (err, "%s: ", d->video);
  if (ok && save && hs.save_err == NULL && fflush (save) != 0)
    g_set_error (&hs.save_err, G_FILE_ERROR, G_FILE_ERROR_IO,
        "writing the raw clip failed");
  if (ok && hs.save_err) {
    g_propagate_error (err, hs.save_err);
    hs.save_err = NULL;
    ok = FALSE;
  }
  g_clear_error (&hs.save_err);
  gchar *hex = ok ? g_strdup (g_checksum_get_string (hs.ck)) : NULL;
  g_checksum_free (hs.ck);
  if (s)
    sam_session_free (s);
  sam_frame_source_free (dec);
  return hex;
}

int
main (int argc, char **argv)
{
  DigestRun d = { NULL, NULL, 0, 8, 2, 0 };
  gboolean threads_check = FALSE;
  gchar *expect = NULL, *save_path = NULL;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &d.model, "SAM 2.1 model",
        "PATH"},
    {"video", 'v', 0, G_OPTION_ARG_FILENAME, &d.video, "Clip to track",
        "PATH"},
    {"input-size", 's', 0, G_OPTION_ARG_INT, &d.size,
        "Model input size (default: the model's)", "N"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &d.frames,
        "Frames tracked (default 8)", "N"},
    {"grid", 'g', 0, G_OPTION_ARG_INT, &d.grid,
        "Objects: one per cell of an N × N grid (default 2)", "N"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &d.threads,
        "Worker threads (default: all cores)", "N"},
    {"threads-check", 0, 0, G_OPTION_ARG_NONE, &threads_check,
        "Run with 1 thread and with --threads; exit 1 if the digests differ",
        NULL},
    {"expect", 0, 0, G_OPTION_ARG_STRING, &expect,
        "Exit 1 unless the digest is HEX (77, skipped, on the plain C "
        "kernels, which round differently)", "HEX"},
    {"save-frames", 0, 0, G_OPTION_ARG_FILENAME, &save_path,
        "Write the tracked frames as a raw clip (-v reads it back in any "
        "build, also without libav)", "RAW"},
    {NULL}
  };
  GError *err = NULL;
  SamModel *m = NULL;
  FILE *save = NULL;
  gchar *a = NULL, *b = NULL;
  int rc = 2;
  GOptionContext *ctx = g_option_context_new ("- SHA-256 of every output of "
      "the tracker on a clip (bit-exactness across builds)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  const gboolean parsed = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  if (!parsed)
    goto done;
  if (!d.model || !d.video || d.frames < 1 || d.grid < 1 || d.threads < 0) {
    g_printerr ("samseg-digest: -m MODEL and -v VIDEO are required; "
        "frames and grid at least 1 (--help)\n");
    goto done;
  }
  if (expect && sam_cpu_isa () == SAM_ISA_REF) {
    printf ("skipped: --expect holds for the SIMD kernels, and this run "
        "has the plain C ones\n");
    rc = 77;
    goto done;
  }
  if (!d.threads)
    d.threads = (int) g_get_num_processors ();
  if (!(m = sam_model_load (d.model, NULL, &err)))
    goto done;
  if (save_path) {
    if (!(save = fopen (save_path, "wb"))) {
      g_set_error (&err, G_FILE_ERROR, g_file_error_from_errno (errno),
          "%s: %s", save_path, g_strerror (errno));
      goto done;
    }
    if (!sam_raw_clip_write_header (save, &err))
      goto done;
  }
  a = digest (m, &d, d.threads, save, &err);
  if (a && threads_check)
    b = digest (m, &d, 1, NULL, &err);
  if (!a || (threads_check && !b))
    goto done;
  rc = 0;
  if (threads_check) {
    printf ("%s  %d thread(s)\n%s  1 thread\n", a, d.threads, b);
    rc = g_strcmp0 (a, b) == 0 ? 0 : 1;
    if (rc)
      g_printerr ("samseg-digest: the digests differ\n");
  } else {
    printf ("%s\n", a);
  }
  if (rc == 0 && expect && g_ascii_strcasecmp (a, expect)) {
    g_printerr ("samseg-digest: expected %s (%s kernels)\n", expect,
        sam_cpu_isa_name (sam_cpu_isa ()));
    rc = 1;
  }
done:
  if (err)
    g_printerr ("samseg-digest: %s\n", err->message);
  if (save && fclose (save) != 0 && rc == 0) {
    g_printerr ("samseg-digest: %s: write error\n", save_path);
    rc = 2;
  }
  g_clear_error (&err);
  if (m)
    sam_model_unref (m);
  g_free (a);
  g_free (b);
  g_free (expect);
  g_free (save_path);
  g_free (d.model);
  g_free (d.video);
  return rc;
}

