/* test-snapshot — sam_session_save/_load on the t256 fixture:
 *   - continuing from a snapshot is bit-identical to never having stopped
 *     (snapshot after frame 4, and after frame 3 with frame 4's prompts
 *     pending, one of them creating an object), in bf16 and int8 storage;
 *   - save → load → save gives the same file, and the in-memory snapshot
 *     (sam_session_save_to_data / _load_from_data) the same bytes;
 *   - snapshots of another model, corrupt, truncated, of another format
 *     version, or not snapshots at all are refused with clear errors.
 */
#include <glib/gstdio.h>

#include "session-util.h"

static T256 t;
static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static SamSession *
load (const char *path, GError ** error)
{
  return sam_session_load (t.model, path, NULL, error);
}

static void
save (SamSession * s, const char *path)
{
  GError *err = NULL;
  g_assert_true (sam_session_save (s, path, &err));
  g_assert_no_error (err);
}

static void
assert_same_bytes (GByteArray * a, GByteArray * b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_true (memcmp (a->data, b->data, a->len) == 0);
}

static void
test_continuation (gconstpointer data)
{
  const int precision = GPOINTER_TO_INT (data);
  char *pending = tmp_path ("pending.samseg"), *after4 =
      tmp_path ("after4.samseg"), *again = tmp_path ("again.samseg");
  /* the uninterrupted run, saving twice along the way */
  SamSession *s = t256_session (&t, precision, 0);
  GByteArray *ref4 = g_byte_array_new ();      /* frames 4..7 */
  for (int f = 0; f < 4; f++) {
    t256_prompts (&t, s, f);
    t256_step (&t, s, f, NULL);
  }
  t256_prompts (&t, s, 4);      /* new object 3 pending */
  save (s, pending);
  t256_step (&t, s, 4, ref4);
  save (s, after4);
  for (int f = 5; f < 8; f++)
    t256_step (&t, s, f, ref4);
  sam_session_free (s);

  /* restored after frame 4: frames 5..7 */
  GError *err = NULL;
  SamSession *r = load (after4, &err);
  g_assert_no_error (err);
  g_assert_cmpuint (sam_session_frame_index (r), ==, 5);
  g_assert_cmpint (sam_session_n_objects (r), ==, 3);
  for (int i = 0; i < 3; i++)
    g_assert_cmpuint (sam_session_object_id (r, i), ==, (guint32) i + 1);
  /* the file written from a restored session is the same file */
  save (r, again);
  gchar *a, *b;
  gsize la, lb;
  g_assert_true (g_file_get_contents (after4, &a, &la, NULL));
  g_assert_true (g_file_get_contents (again, &b, &lb, NULL));
  g_assert_cmpmem (a, la, b, lb);
  g_test_message ("snapshot after frame 4, 3 objects, precision %d: %zu "
      "bytes", precision, la);
  /* and the in-memory snapshot is that file's image */
  gsize lm;
  guint8 *mem = sam_session_save_to_data (r, &lm, &err);
  g_assert_no_error (err);
  g_assert_cmpmem (mem, lm, a, la);
  g_free (mem);
  g_free (a);
  g_free (b);
  GByteArray *got = g_byte_array_new ();
  for (int f = 5; f < 8; f++)
    t256_step (&t, r, f, got);
  sam_session_free (r);
  /* ref4 holds frames 4..7; compare its tail */
  GByteArray *tail = g_byte_array_new ();
  g_byte_array_append (tail, ref4->data + (ref4->len - got->len), got->len);
  assert_same_bytes (got, tail);
  g_byte_array_unref (tail);

  /* restored with frame 4's prompts pending, from memory: frames 4..7 */
  g_assert_true (g_file_get_contents (pending, &a, &la, NULL));
  r = sam_session_load_from_data (t.model, a, la, NULL, &err);
  g_free (a);                   /* not kept by the session */
  g_assert_no_error (err);
  g_assert_cmpuint (sam_session_frame_index (r), ==, 4);
  g_assert_cmpint (sam_session_n_objects (r), ==, 3);
  g_byte_array_set_size (got, 0);
  for (int f = 4; f < 8; f++)
    t256_step (&t, r, f, got);
  sam_session_free (r);
  assert_same_bytes (got, ref4);

  g_byte_array_unref (got);
  g_byte_array_unref (ref4);
  g_unlink (pending);
  g_unlink (after4);
  g_unlink (again);
  g_free (pending);
  g_free (after4);
  g_free (again);
}

/* A snapshot on disk to damage; 2 frames, 2 objects. */
static char *
make_snapshot (const char *name)
{
  char *path = tmp_path (name);
  SamSession *s = t256_session (&t, 0, 0);
  for (int f = 0; f < 2; f++) {
    t256_prompts (&t, s, f);
    t256_step (&t, s, f, NULL);
  }
  save (s, path);
  sam_session_free (s);
  return path;
}

static void
expect_refused (const char *path, SamModel * m, gint code,
    const char *in_message)
{
  GError *err = NULL;
  SamSession *s = sam_session_load (m, path, NULL, &err);
  g_assert_null (s);
  g_assert_error (err, SAM_ERROR, code);
  g_test_message ("refused: %s", err->message);
  if (in_message)
    g_assert_nonnull (strstr (err->message, in_message));
  g_error_free (err);
}

static void
write_bytes (const char *path, const gchar * data, gsize len)
{
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

static void
test_refusals (void)
{
  char *good = make_snapshot ("good.samseg");
  char *bad = tmp_path ("bad.samseg");
  gchar *data;
  gsize len;
  GError *err = NULL;
  g_assert_true (g_file_get_contents (good, &data, &len, NULL));

  /* the intact file loads */
  SamSession *s = load (good, &err);
  g_assert_no_error (err);
  g_assert_cmpint (sam_session_n_objects (s), ==, 2);
  sam_session_free (s);

  /* another model: the same variant with one bias changed */
  const char *absent_path = g_getenv ("SAMSEG_TEST_MODEL_ABSENT");
  g_assert_nonnull (absent_path);
  SamModel *absent = sam_model_load (absent_path, NULL, &err);
  g_assert_no_error (err);
  g_assert_cmpuint (sam_model_fingerprint (absent), !=,
      sam_model_fingerprint (t.model));
  g_assert_cmpuint (sam_model_fingerprint (t.model), ==,
      sam_model_fingerprint (t.model));
  expect_refused (good, absent, SAM_ERROR_UNSUPPORTED, "other weights");
  sam_model_unref (absent);

  /* a flipped byte in the data, then in the header's state */
  gchar *copy = g_memdup2 (data, len);
  copy[len - 3] ^= 0x01;
  write_bytes (bad, copy, len);
  expect_refused (bad, t.model, SAM_ERROR_FORMAT, "checksum");
  memcpy (copy, data, len);
  /* the header starts after its 8-byte length */
  char *fi = g_strstr_len (copy + 8, (gssize) MIN (len - 8, 65536),
      "frame_index");
  g_assert_nonnull (fi);
  fi[0] = 'g';                  /* the state no longer matches its checksum */
  write_bytes (bad, copy, len);
  expect_refused (bad, t.model, SAM_ERROR_FORMAT, "checksum");
  g_free (copy);

  /* truncated: in the data, in the header, nearly empty */
  gsize cuts[3] = { len - 100, 200, 5 };
  for (int i = 0; i < 3; i++) {
    write_bytes (bad, data, cuts[i]);
    expect_refused (bad, t.model, SAM_ERROR_FORMAT, NULL);
  }

  /* another format version (the checksum does not cover it) */
  SamSafetensors *st = sam_safetensors_open (good, &err);
  g_assert_no_error (err);
  SamStWriter *w = sam_st_writer_new ();
  for (int i = 0; i < sam_safetensors_n_tensors (st); i++) {
    const SamStTensor *tt = sam_safetensors_tensor (st, i);
    sam_st_writer_add (w, tt->name, tt->dtype, tt->ndim, tt->shape, tt->data);
  }
  const char *keys[] = { "format", "model_variant", "model_fingerprint",
    "state", "checksum"
  };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    sam_st_writer_add_metadata (w, keys[i], sam_safetensors_metadata (st,
            keys[i]));
  sam_st_writer_add_metadata (w, "version", "2");
  g_assert_true (sam_st_writer_write (w, bad, &err));
  sam_st_writer_free (w);
  sam_safetensors_close (st);
  expect_refused (bad, t.model, SAM_ERROR_FORMAT, "version 2");

  /* not a snapshot: a fixture; a file that does not exist */
  char *fixture = g_build_filename (g_getenv ("SAMSEG_TEST_DATA"),
      "t256absent.safetensors", NULL);
  expect_refused (fixture, t.model, SAM_ERROR_FORMAT, "not a samseg session");
  g_free (fixture);
  char *missing = tmp_path ("missing.samseg");
  expect_refused (missing, t.model, SAM_ERROR_IO, NULL);
  g_free (missing);

  /* more objects than the loading session allows */
  SamSessionParams p;
  sam_session_params_init (&p);
  p.max_objects = 1;
  g_assert_null (sam_session_load (t.model, good, &p, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_LIMIT);
  g_clear_error (&err);

  g_free (data);
  g_unlink (good);
  g_unlink (bad);
  g_free (good);
  g_free (bad);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  t256_open (&t);
  tmpdir = g_dir_make_tmp ("samseg-snapshot-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_test_add_data_func ("/session/snapshot/continuation-bf16",
      GINT_TO_POINTER (SAM_MEMORY_PRECISION_BF16), test_continuation);
  g_test_add_data_func ("/session/snapshot/continuation-int8",
      GINT_TO_POINTER (SAM_MEMORY_PRECISION_INT8), test_continuation);
  g_test_add_func ("/session/snapshot/refusals", test_refusals);
  int rc = g_test_run ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  t256_close (&t);
  return rc;
}
