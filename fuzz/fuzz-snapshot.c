/* fuzz-snapshot.c — session snapshots (engine/snapshot.c, sam_session_load)
 * on arbitrary files: the safetensors container, the metadata (format,
 * version, variant, model fingerprint, checksum), the state JSON (parameters,
 * counters, object records) and the per-object tensors, including the memory
 * bank blob (sam_memory_bank_deserialize).
 *
 * The first input byte holds flags; the rest is the file. A checksum guards
 * the file, so with flag 1 the harness re-signs it (copies its tensors and
 * metadata and writes the checksum snapshot.c expects) and with flag 2 it
 * also stamps this model's fingerprint, which lets mutations reach the
 * parsers behind those checks. A loaded session must respect its caps, save
 * again and load back with the same objects and frame index, and that
 * reload must save the very same bytes.
 *
 * Everything stays in memory (sam_session_load_from_data /
 * sam_session_save_to_data, the file functions' only difference being the
 * mmap of the file) and the sessions run one thread: no file and no thread
 * per input.
 *
 * The model: $SAMSEG_FUZZ_MODEL, else $SAMSEG_TEST_MODEL, else the
 * synthetic tiny model (seed 1), written to a temporary file at start. */
#include "fuzz-common.h"
#include "model/model.h"
#include "model/synth.h"
#include "core/safetensors.h"
#include "snapshot-private.h"
#include "sam/sam.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static SamModel *model;
static SamSessionParams params;

static void
cleanup (void)
{
  sam_model_unref (model);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  GError *err = NULL;
  const gchar *mp = g_getenv ("SAMSEG_FUZZ_MODEL");
  gchar *synth = NULL;

  fuzz_quiet_glib ();
  gchar *tmp_dir = NULL;
  if (!mp)
    mp = g_getenv ("SAMSEG_TEST_MODEL");
  if (!mp) {
    tmp_dir = g_dir_make_tmp ("samseg-fuzz-snapshot-XXXXXX", &err);
    FUZZ_CHECK (tmp_dir != NULL, "%s", err ? err->message : "");
    synth = g_build_filename (tmp_dir, "model.safetensors", NULL);
    FUZZ_CHECK (sam_synth_write_model ("tiny", 1, NULL, 0, synth, &err),
        "%s", err ? err->message : "");
    mp = synth;
  }
  model = sam_model_load (mp, NULL, &err);
  FUZZ_CHECK (model != NULL, "%s", err ? err->message : "");
  if (synth) {
    g_unlink (synth);
    g_rmdir (tmp_dir);
  }
  g_free (synth);
  g_free (tmp_dir);
  sam_session_params_init (&params);
  params.n_threads = 1;
  atexit (cleanup);
  return 0;
}

/* ---- re-signing --------------------------------------------------------- */

static int
cmp_tensor (gconstpointer a, gconstpointer b)
{
  const SamStTensor *x = *(const SamStTensor * const *) a;
  const SamStTensor *y = *(const SamStTensor * const *) b;
  return strcmp (x->name, y->name);
}

/* @st's tensors and snapshot metadata with a valid checksum (and this
 * model's fingerprint if @stamp), as a new file image. */
static guint8 *
resign (SamSafetensors * st, gboolean stamp, gsize * len)
{
  static const char *keys[] = { "format", "version", "model_variant",
    "model_fingerprint", "state"
  };
  const char *variant = sam_safetensors_metadata (st, "model_variant");
  const char *state = sam_safetensors_metadata (st, "state");
  const char *fp = sam_safetensors_metadata (st, "model_fingerprint");
  gchar fpbuf[17];
  SamStWriter *w = sam_st_writer_new ();
  GPtrArray *ts = g_ptr_array_new ();
  guint8 *out;

  if (stamp) {
    g_snprintf (fpbuf, sizeof fpbuf, "%016" G_GINT64_MODIFIER "x",
        sam_model_fingerprint (model));
    fp = fpbuf;
  }
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const char *v = sam_safetensors_metadata (st, keys[i]);
    if (i == 3 && stamp)
      v = fp;
    if (v)
      sam_st_writer_add_metadata (w, keys[i], v);
  }
  for (int i = 0; i < sam_safetensors_n_tensors (st); i++)
    g_ptr_array_add (ts, (gpointer) sam_safetensors_tensor (st, i));
  g_ptr_array_sort (ts, cmp_tensor);
  if (variant && fp && state) {
    guint64 h = sam_snapshot_checksum (st, variant, fp, state);
    gchar *sum = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", h);
    sam_st_writer_add_metadata (w, "checksum", sum);
    g_free (sum);
  }
  for (guint i = 0; i < ts->len; i++) {
    const SamStTensor *t = ts->pdata[i];
    sam_st_writer_add (w, t->name, t->dtype, t->ndim, t->shape, t->data);
  }
  out = sam_st_writer_to_data (w, len);
  sam_st_writer_free (w);
  g_ptr_array_unref (ts);
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *err = NULL;
  guint8 flags, *signed_ = NULL, *saved, *saved2;
  gsize signed_len = 0, saved_len, saved2_len;

  if (size < 1)
    return 0;
  flags = data[0];
  data++;
  size--;
  if (flags & 3) {
    SamSafetensors *st = sam_safetensors_open_memory (data, size, NULL);
    if (st) {
      signed_ = resign (st, (flags & 2) != 0, &signed_len);
      sam_safetensors_close (st);
    }
  }
  if (signed_) {
    data = signed_;
    size = signed_len;
  }

  SamSession *s = sam_session_load_from_data (model, data, size, &params,
      &err);
  g_free (signed_);             /* the session must not keep it */
  if (!s) {
    FUZZ_CHECK (err && err->domain == SAM_ERROR && err->message[0],
        "refused without a message");
    if (g_getenv ("FUZZ_VERBOSE"))
      fprintf (stderr, "refused: %s\n", err->message);
    g_error_free (err);
    return 0;
  }
  gint n = sam_session_n_objects (s);
  if (g_getenv ("FUZZ_VERBOSE"))
    fprintf (stderr, "loaded: %d objects\n", n);
  guint64 fi = sam_session_frame_index (s);
  FUZZ_CHECK (n >= 0 && n <= 64, "%d objects", n);
  FUZZ_CHECK (sam_session_memory_bytes (s) < ((gsize) 1 << 32), "memory");
  /* what was loaded saves and loads back the same */
  saved = sam_session_save_to_data (s, &saved_len, &err);
  FUZZ_CHECK (saved != NULL, "save: %s", err ? err->message : "");
  sam_session_free (s);
  s = sam_session_load_from_data (model, saved, saved_len, &params, &err);
  FUZZ_CHECK (s != NULL, "reload: %s", err ? err->message : "");
  FUZZ_CHECK (sam_session_n_objects (s) == n && sam_session_frame_index (s)
      == fi, "reload differs");
  saved2 = sam_session_save_to_data (s, &saved2_len, &err);
  FUZZ_CHECK (saved2 != NULL, "save again: %s", err ? err->message : "");
  FUZZ_CHECK (saved2_len == saved_len
      && memcmp (saved, saved2, saved_len) == 0, "a reload saves other bytes");
  g_free (saved);
  g_free (saved2);
  sam_session_free (s);
  return 0;
}
