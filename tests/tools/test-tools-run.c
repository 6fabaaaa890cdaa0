/* test-tools-run — samseg-eval and samseg-bench run end to end on the
 * synthetic model and print well-formed JSON.
 *
 *   test-tools-run SAMSEG-EVAL SAMSEG-BENCH
 *
 * The synthetic model tracks nothing meaningful, so only the shape of the
 * output and the ranges of the scores are checked, not their values.
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static const gchar *eval_exe, *bench_exe;

/* Runs @argv, asserts success, returns the parsed stdout. (transfer full) */
static JsonParser *
run_json (const gchar * const *argv)
{
  gchar *out = NULL, *errout = NULL;
  gint status = 0;
  GError *err = NULL;
  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
      &out, &errout, &status, &err);
  g_assert_no_error (err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed:\n%s", argv[0], errout);
  JsonParser *p = json_parser_new ();
  if (!json_parser_load_from_data (p, out, -1, &err))
    g_error ("%s printed no JSON (%s):\n%s", argv[0], err->message, out);
  g_free (out);
  g_free (errout);
  return p;
}

static void
assert_unit (JsonObject * o, const gchar * member)
{
  g_assert_true (json_object_has_member (o, member));
  double x = json_object_get_double_member (o, member);
  g_assert_false (isnan (x));
  g_assert_cmpfloat (x, >=, 0.0);
  g_assert_cmpfloat (x, <=, 1.0);
}

static void
test_eval (void)
{
  const gchar *model = g_getenv ("SAMSEG_TEST_MODEL");
  gchar *ds = g_build_filename (g_getenv ("SAMSEG_TEST_DATA"), "eval-mini",
      NULL);
  const gchar *argv[] = { eval_exe, "--model", model, "--dataset", ds,
    "--input-size", "256", "--threads", "2", "--json", NULL
  };
  JsonParser *p = run_json (argv);
  JsonObject *root = json_node_get_object (json_parser_get_root (p));

  /* Exactly {"clips": {...}, "j_mean": x, "j_ref_mean": y}. */
  g_assert_cmpuint (json_object_get_size (root), ==, 3);
  JsonObject *clips = json_object_get_object_member (root, "clips");
  g_assert_nonnull (clips);
  g_assert_cmpuint (json_object_get_size (clips), ==, 1);
  JsonObject *c = json_object_get_object_member (clips, "clip00");
  g_assert_nonnull (c);
  g_assert_cmpuint (json_object_get_size (c), ==, 2);
  assert_unit (c, "j");
  assert_unit (c, "j_ref");
  assert_unit (root, "j_mean");
  assert_unit (root, "j_ref_mean");
  /* One clip: its scores are the means. */
  g_assert_cmpfloat (json_object_get_double_member (root, "j_mean"), ==,
      json_object_get_double_member (c, "j"));
  g_object_unref (p);
  g_free (ds);
}

static void
test_eval_errors (void)
{
  /* A missing dataset must fail with a message, not crash. */
  const gchar *argv[] = { eval_exe, "--model", g_getenv ("SAMSEG_TEST_MODEL"),
    "--dataset", "/nonexistent", "--json", NULL
  };
  gchar *errout = NULL;
  gint status = 0;
  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
      NULL, NULL, NULL, &errout, &status, NULL);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (errout, "samseg-eval: "));
  g_free (errout);
}

static void
test_bench (void)
{
  const gchar *argv[] = { bench_exe, "--model", g_getenv ("SAMSEG_TEST_MODEL"),
    "--input-size", "256", "--objects", "2", "--frames", "3", "--warmup", "1",
    "--threads", "2", "--precision", "f32", "--json", NULL
  };
  JsonParser *p = run_json (argv);
  JsonArray *rows = json_node_get_array (json_parser_get_root (p));
  g_assert_nonnull (rows);
  g_assert_cmpuint (json_array_get_length (rows), ==, 1);
  JsonObject *r = json_array_get_object_element (rows, 0);
  g_assert_cmpstr (json_object_get_string_member (r, "precision"), ==, "f32");
  g_assert_cmpint (json_object_get_int_member (r, "input_size"), ==, 256);
  g_assert_cmpint (json_object_get_int_member (r, "objects"), ==, 2);
  g_assert_cmpfloat (json_object_get_double_member (r, "frame_ms"), >, 0.0);
  g_assert_cmpint (json_object_get_int_member (r, "rss_kb"), >, 0);
  JsonObject *st = json_object_get_object_member (r, "stages_ms");
  g_assert_nonnull (st);
  g_assert_true (json_object_has_member (st, "image_encoder"));
  g_assert_true (json_object_has_member (st, "memory_attention"));
  g_assert_true (json_object_has_member (st, "mask_decoder"));
  g_assert_true (json_object_has_member (st, "memory_encoder"));
  /* multiply-adds counted on the extra frame, rate against the peak */
  JsonObject *sg = json_object_get_object_member (r, "stages_gmac");
  g_assert_cmpfloat (json_object_get_double_member (sg, "image_encoder"), >,
      1.0);
  g_assert_cmpfloat (json_object_get_double_member (r,
          "peak_gmacs_per_core"), >, 0.0);
  g_object_unref (p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc != 3 || !g_getenv ("SAMSEG_TEST_MODEL")
      || !g_getenv ("SAMSEG_TEST_DATA")) {
    g_printerr ("usage: %s SAMSEG-EVAL SAMSEG-BENCH (with SAMSEG_TEST_MODEL "
        "and SAMSEG_TEST_DATA set)\n", argv[0]);
    return 2;
  }
  eval_exe = argv[1];
  bench_exe = argv[2];
  g_test_add_func ("/tools/eval", test_eval);
  g_test_add_func ("/tools/eval-errors", test_eval_errors);
  g_test_add_func ("/tools/bench", test_bench);
  return g_test_run ();
}
