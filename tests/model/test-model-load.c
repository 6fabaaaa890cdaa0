/* test-model-load — the loader refuses every kind of bad model file with a
 * GError that names the problem, and loads F32/F16/BF16 files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "model/model.h"
#include "model/synth.h"

typedef struct
{
  SamStWriter *w;
  const char *skip;             /* tensor to leave out */
  const char *reshape;          /* tensor whose first dim is doubled */
  const char *retype;           /* tensor written as I32 */
  SamDtype dtype;               /* dtype of all others */
} Build;

static void
add_zero (const char *name, int ndim, const int64_t * shape, void *ud)
{
  Build *b = ud;
  if (b->skip && strcmp (name, b->skip) == 0)
    return;
  int64_t sh[4];
  memcpy (sh, shape, sizeof (int64_t) * ndim);
  if (b->reshape && strcmp (name, b->reshape) == 0)
    sh[0] *= 2;
  SamDtype dt = (b->retype && strcmp (name, b->retype) == 0) ? SAM_DTYPE_I32
      : b->dtype;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= sh[i];
  guint8 *zeros = g_malloc0 (n * sam_dtype_size (dt) + 1);
  /* a recognisable value for the dtype test: 1.5 is exact in f16/bf16 */
  if (strcmp (name, "no_mem_embed") == 0) {
    for (int64_t i = 0; i < n; i++) {
      if (dt == SAM_DTYPE_F32) {
        float f = 1.5f;
        memcpy (zeros + 4 * i, &f, 4);
      } else if (dt == SAM_DTYPE_F16) {
        guint16 h = sam_f32_to_f16 (1.5f);
        memcpy (zeros + 2 * i, &h, 2);
      } else if (dt == SAM_DTYPE_BF16) {
        guint16 h = sam_f32_to_bf16 (1.5f);
        memcpy (zeros + 2 * i, &h, 2);
      }
    }
  }
  sam_st_writer_add (b->w, name, dt, ndim, sh, zeros);
  g_free (zeros);
}

static char *
write_model (const char *skip, const char *reshape, const char *retype,
    SamDtype dtype, const char *extra)
{
  SamHParams hp;
  g_assert_true (sam_hparams_for_variant ("tiny", &hp));
  Build b = { sam_st_writer_new (), skip, reshape, retype, dtype };
  sam_manifest_foreach (&hp, add_zero, &b);
  if (extra) {
    int64_t sh[1] = { 4 };
    float v[4] = { 0 };
    sam_st_writer_add (b.w, extra, SAM_DTYPE_F32, 1, sh, v);
  }
  char *path = NULL;
  int fd = g_file_open_tmp ("samseg-test-XXXXXX.safetensors", &path, NULL);
  close (fd);
  GError *err = NULL;
  g_assert_true (sam_st_writer_write (b.w, path, &err));
  sam_st_writer_free (b.w);
  return path;
}

static void
expect_error (const char *path, int code, const char *needle1,
    const char *needle2)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (path, NULL, &err);
  g_assert_null (m);
  g_assert_error (err, SAM_ERROR, code);
  g_test_message ("error: %s", err->message);
  if (needle1)
    g_assert_nonnull (strstr (err->message, needle1));
  if (needle2)
    g_assert_nonnull (strstr (err->message, needle2));
  g_error_free (err);
}

static void
test_missing_file (void)
{
  expect_error ("/nonexistent/model.safetensors", SAM_ERROR_IO,
      "/nonexistent/model.safetensors", NULL);
}

static char *
write_bytes (const void *data, gsize len)
{
  char *path = NULL;
  int fd = g_file_open_tmp ("samseg-test-XXXXXX.safetensors", &path, NULL);
  close (fd);
  g_assert_true (g_file_set_contents (path, data, len, NULL));
  return path;
}

static void
test_corrupt_headers (void)
{
  /* too short */
  char *p = write_bytes ("abc", 3);
  expect_error (p, SAM_ERROR_FORMAT, "too short", NULL);
  g_unlink (p);
  g_free (p);
  /* header length beyond the file */
  guint8 huge[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}' };
  p = write_bytes (huge, sizeof huge);
  expect_error (p, SAM_ERROR_FORMAT, "header length", NULL);
  g_unlink (p);
  g_free (p);
  /* not JSON */
  guint8 bad[16] = { 8, 0, 0, 0, 0, 0, 0, 0, 'n', 'o', 't', ' ', 'j', 's', 'o',
    'n'
  };
  p = write_bytes (bad, sizeof bad);
  expect_error (p, SAM_ERROR_FORMAT, "JSON", NULL);
  g_unlink (p);
  g_free (p);
  /* offsets outside the data, size mismatch, overlap */
  const char *cases[][2] = {
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}",
        "outside"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
        "need"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
          "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        "overlap"},
    {"{\"a\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "dtype"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
        "malformed"},
    {"[1,2,3]", "not a JSON object"},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gsize hl = strlen (cases[i][0]);
    GByteArray *ba = g_byte_array_new ();
    guint8 len[8];
    for (int k = 0; k < 8; k++)
      len[k] = (guint8) ((guint64) hl >> (8 * k));
    g_byte_array_append (ba, len, 8);
    g_byte_array_append (ba, (const guint8 *) cases[i][0], hl);
    guint8 data[16] = { 0 };
    g_byte_array_append (ba, data, 16);
    p = write_bytes (ba->data, ba->len);
    expect_error (p, SAM_ERROR_FORMAT, cases[i][1], NULL);
    g_unlink (p);
    g_free (p);
    g_byte_array_unref (ba);
  }
}

static void
test_not_sam (void)
{
  SamStWriter *w = sam_st_writer_new ();
  int64_t sh[1] = { 2 };
  float v[2] = { 1, 2 };
  sam_st_writer_add (w, "some.other.weight", SAM_DTYPE_F32, 1, sh, v);
  char *path = NULL;
  int fd = g_file_open_tmp ("samseg-test-XXXXXX.safetensors", &path, NULL);
  close (fd);
  g_assert_true (sam_st_writer_write (w, path, NULL));
  sam_st_writer_free (w);
  expect_error (path, SAM_ERROR_FORMAT, "not a SAM 2 model", NULL);
  g_unlink (path);
  g_free (path);
}

static void
test_missing_tensor (void)
{
  char *p = write_model ("memory_attention.layers.2.norm1.bias", NULL, NULL,
      SAM_DTYPE_F32, NULL);
  expect_error (p, SAM_ERROR_SHAPE, "memory_attention.layers.2.norm1.bias",
      "missing");
  g_unlink (p);
  g_free (p);
}

static void
test_wrong_shape (void)
{
  char *p = write_model (NULL, "sam_mask_decoder.iou_token.weight", NULL,
      SAM_DTYPE_F32, NULL);
  expect_error (p, SAM_ERROR_SHAPE, "[2, 256]", "[1, 256]");
  g_unlink (p);
  g_free (p);
}

static void
test_wrong_dtype (void)
{
  char *p = write_model (NULL, NULL, "no_obj_ptr", SAM_DTYPE_F32, NULL);
  expect_error (p, SAM_ERROR_FORMAT, "no_obj_ptr", "I32");
  g_unlink (p);
  g_free (p);
}

static void
test_unknown_tensor (void)
{
  char *p = write_model (NULL, NULL, NULL, SAM_DTYPE_F32, "rogue.bias");
  expect_error (p, SAM_ERROR_SHAPE, "rogue.bias", "unknown");
  g_unlink (p);
  g_free (p);
}

static void
test_dtypes_load (void)
{
  SamDtype types[3] = { SAM_DTYPE_F32, SAM_DTYPE_F16, SAM_DTYPE_BF16 };
  for (int i = 0; i < 3; i++) {
    char *p = write_model (NULL, NULL, NULL, types[i], NULL);
    GError *err = NULL;
    SamModel *m = sam_model_load (p, NULL, &err);
    g_assert_no_error (err);
    g_assert_cmpstr (sam_model_variant (m), ==, "tiny");
    g_assert_cmpint (sam_model_default_input_size (m), ==, 1024);
    const float *v = sam_model_wd (m, "no_mem_embed");
    g_assert_cmpfloat (v[0], ==, 1.5f);
    g_assert_cmpfloat (v[255], ==, 1.5f);
    /* the model outlives the file's directory entry (mmap) */
    g_unlink (p);
    g_assert_cmpfloat (sam_model_wd (m, "no_mem_embed")[7], ==, 1.5f);
    sam_model_unref (m);
    g_free (p);
  }
}

static void
make_iota (float *out, void *user_data)
{
  int *calls = user_data;
  (*calls)++;
  for (int i = 0; i < 1000; i++)
    out[i] = (float) i;
}

/* sam_model_derived: a table per key, made once and kept with the model */
static void
test_derived (void)
{
  char *p = write_model (NULL, NULL, NULL, SAM_DTYPE_F32, NULL);
  GError *err = NULL;
  SamModel *m = sam_model_load (p, NULL, &err);
  g_assert_no_error (err);
  int calls = 0;
  const float *a = sam_model_derived (m, "iota", 1000, make_iota, &calls);
  const float *b = sam_model_derived (m, "iota", 1000, make_iota, &calls);
  const float *c = sam_model_derived (m, "iota 2", 1000, make_iota, &calls);
  g_assert_true (a == b);
  g_assert_true (a != c);
  g_assert_cmpint (calls, ==, 2);
  g_assert_cmpfloat (a[999], ==, 999.f);
  sam_model_unref (m);
  g_unlink (p);
  g_free (p);
}

typedef struct
{
  GHashTable *shapes;           /* name -> "[a, b]" */
  int n;
} Manifest;

static void
collect (const char *name, int ndim, const int64_t * shape, void *ud)
{
  Manifest *mf = ud;
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  g_hash_table_insert (mf->shapes, g_strdup (name), g_string_free (s, FALSE));
  mf->n++;
}

static void
test_variants_manifest (void)
{
  /* the tiny manifest equals the official key list with shapes */
  const char *dir = g_getenv ("SAMSEG_TEST_DATA");
  g_assert_nonnull (dir);
  char *path = g_build_filename (dir, "sam2.1_hiera_t.manifest.json", NULL);
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &err));
  JsonArray *a = json_node_get_array (json_parser_get_root (parser));
  SamHParams hp;
  g_assert_true (sam_hparams_for_variant ("tiny", &hp));
  Manifest mf = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
          g_free), 0
  };
  sam_manifest_foreach (&hp, collect, &mf);
  g_assert_cmpint (mf.n, ==, (int) json_array_get_length (a));
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonArray *e = json_array_get_array_element (a, i);
    const char *name = json_array_get_string_element (e, 0);
    JsonArray *sh = json_array_get_array_element (e, 1);
    GString *s = g_string_new ("[");
    for (guint k = 0; k < json_array_get_length (sh); k++)
      g_string_append_printf (s, "%s%" G_GINT64_FORMAT, k ? ", " : "",
          json_array_get_int_element (sh, k));
    g_string_append_c (s, ']');
    g_assert_cmpstr (g_hash_table_lookup (mf.shapes, name), ==, s->str);
    g_string_free (s, TRUE);
  }
  g_hash_table_destroy (mf.shapes);
  g_object_unref (parser);
  g_free (path);
  static const char *variants[] = { "tiny", "small", "base_plus", "large" };
  static const int blocks[] = { 12, 16, 24, 48 };
  for (int v = 0; v < 4; v++) {
    g_assert_true (sam_hparams_for_variant (variants[v], &hp));
    g_assert_cmpint (hp.n_blocks, ==, blocks[v]);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/missing-file", test_missing_file);
  g_test_add_func ("/model/corrupt-headers", test_corrupt_headers);
  g_test_add_func ("/model/not-sam", test_not_sam);
  g_test_add_func ("/model/missing-tensor", test_missing_tensor);
  g_test_add_func ("/model/wrong-shape", test_wrong_shape);
  g_test_add_func ("/model/wrong-dtype", test_wrong_dtype);
  g_test_add_func ("/model/unknown-tensor", test_unknown_tensor);
  g_test_add_func ("/model/dtypes", test_dtypes_load);
  g_test_add_func ("/model/derived", test_derived);
  g_test_add_func ("/model/variants", test_variants_manifest);
  return g_test_run ();
}
