/* samseg-check — parity of the engine against a reference fixture.
 *
 *   samseg-check [--json] [--threads N] [--memory-precision bf16|f32|int8]
 *                [--compare QUANTIZED_MODEL] FIXTURE.safetensors...
 *
 * Rebuilds the fixture's synthetic model from its metadata (seed, overrides),
 * replays its prompt schedule frame by frame, and compares every tensor the
 * fixture stores with ours: one line per tensor with the relative L2 error
 * (and mask-sign agreement for mask logits), then a summary; exits 1 above
 * tolerance. Several files are read as one fixture (t1024-0/1/2).
 * --memory-precision int8 measures what int8 memory storage costs against
 * the reference (which stores bf16): expect it to fail the tolerances; the
 * summary's mean rel L2 and sign agreement over the per-frame outputs are
 * the numbers to read.
 *
 * --compare QUANTIZED_MODEL runs the fixture's frames and prompts through
 * the float model and through QUANTIZED_MODEL (samseg-quantize of the same
 * float model) and reports, instead of parity, the SQNR in dB
 * (10 log10 Σ f² / Σ (f − q)²) of every tapped tensor and per-frame output,
 * of every Linear's output (first call, end to end: upstream error
 * included), mask-sign agreement on |float logit| > 0.02, and the pooled
 * mask_logit_sqnr_db / sign_agree over all frames' low-res mask logits.
 * Exits 1 below 30 dB or 99% sign agreement (the W8A8 target); --min-sqnr
 * and --min-sign change the thresholds.
 *
 * --compare QUANTIZED_MODEL --video FILE --model FLOAT_MODEL [--frames N]
 *   [--input-size N] [--grid N] does the same on a real clip instead of a
 * fixture: the first N (8) frames of FILE, decoded as samseg-eval decodes
 * them, through FLOAT_MODEL and QUANTIZED_MODEL at the input size (default:
 * the model's), with one object per cell of a grid × grid (2) grid prompted
 * on frame 0 by a click at the cell centre; the objects are tracked on the
 * later frames. Same report (taps, Linears, mask logits of every frame and
 * object).
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "replay.h"
#include "model/quantized.h"
#ifdef SAMSEG_HAVE_VIDEO
#include "grid-track.h"
#endif

typedef struct
{
  float *data;
  int64_t numel;
} Ours;

typedef struct
{
  GHashTable *ours;             /* name -> Ours* */
} Collect;

static void
ours_free (gpointer p)
{
  Ours *o = p;
  g_free (o->data);
  g_free (o);
}

static void
put (Collect * c, const char *name, const float *data, int64_t numel)
{
  Ours *o = g_new (Ours, 1);
  o->data = g_memdup2 (data, sizeof (float) * numel);
  o->numel = numel;
  g_hash_table_replace (c->ours, g_strdup (name), o);
}

static void
on_tap (const gchar * name, const float *data, const gint64 * shape,
    gint ndim, gpointer user_data)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  put (user_data, name, data, n);
}

static void
on_frame (int frame, const SamFrameResult * r, gpointer user_data)
{
  Collect *c = user_data;
  for (int i = 0; i < r->n_objects; i++) {
    const SamObjectResult *o = &r->objects[i];
    char name[96];
    int L = o->low_res_size;
#define NAME(suffix) (g_snprintf (name, sizeof name, "f%d.obj%u.%s", frame, o->obj_id, suffix), name)
    put (c, NAME ("pred_masks"), o->low_res_logits, (int64_t) L * L);
    put (c, NAME ("object_score_logits"), &o->object_score, 1);
    put (c, NAME ("obj_ptr"), o->obj_ptr, 256);
    put (c, NAME ("video_res_logits"), o->logits,
        (int64_t) o->width * o->height);
#undef NAME
  }
}

typedef struct
{
  const char *name;
  double rel_l2;
  double sign_agree;            /* < 0: not applicable */
  double tol;
  gboolean pass;
  gboolean missing;
} Row;

static gboolean
is_mask_logits (const char *name)
{
  return g_str_has_suffix (name, ".pred_masks")
      || g_str_has_suffix (name, ".low_res_masks")
      || g_str_has_suffix (name, ".low_res_multimasks")
      || g_str_has_suffix (name, ".video_res_logits");
}

static void
compare_one (const SamFixture * fx, Collect * c, const char *name, Row * row)
{
  row->name = name;
  row->sign_agree = -1;
  row->tol = g_str_has_prefix (name, "memenc") ? 1e-2 : 1e-3;
  int64_t n = 0;
  float *ref = sam_fixture_get_f32 (fx, name, &n);
  gboolean bits = g_str_has_suffix (name, ".video_res_mask_bits");
  Ours *o = NULL;
  if (bits) {
    char *logit_name = g_strndup (name, strlen (name) -
        strlen ("video_res_mask_bits"));
    char *full = g_strconcat (logit_name, "video_res_logits", NULL);
    o = g_hash_table_lookup (c->ours, full);
    g_free (full);
    g_free (logit_name);
  } else
    o = g_hash_table_lookup (c->ours, name);
  if (!o || !ref || (!bits && o->numel != n) || (bits && o->numel != n * 8)) {
    row->missing = TRUE;
    row->pass = FALSE;
    row->rel_l2 = INFINITY;
    g_free (ref);
    return;
  }
  if (bits) {
    /* numpy packbits, MSB first: compare our logits > 0 bit by bit */
    const guint8 *packed = sam_fixture_find (fx, name)->data;
    int64_t same = 0;
    for (int64_t i = 0; i < n * 8; i++) {
      int rb = (packed[i >> 3] >> (7 - (i & 7))) & 1;
      same += rb == (o->data[i] > 0.f);
    }
    row->sign_agree = (double) same / (double) (n * 8);
    row->rel_l2 = 1.0 - row->sign_agree;        /* fraction of differing pixels */
    row->pass = row->sign_agree >= 0.995;
  } else {
    row->rel_l2 = sam_rel_l2 (o->data, ref, n);
    row->pass = row->rel_l2 <= row->tol;
    if (is_mask_logits (name)) {
      row->sign_agree = sam_sign_agree (o->data, ref, n, 0.02f);
      if (row->sign_agree >= 0 && row->sign_agree < 0.995)
        row->pass = FALSE;
    }
  }
  g_free (ref);
}

/* Per-frame outputs summarised by kind: the quality cost of an option. */
typedef struct
{
  const char *label, *prefix, *suffix;
  int n, n_sign;
  double sum_l2, max_l2, sum_sign, min_sign;
} Group;

static void
summarise (Group * groups, int n_groups, const Row * r)
{
  for (int g = 0; g < n_groups; g++) {
    Group *k = &groups[g];
    if (r->missing || !g_str_has_prefix (r->name, k->prefix)
        || !g_str_has_suffix (r->name, k->suffix))
      continue;
    if (k->n == 0)
      k->min_sign = 1.0;
    k->n++;
    k->sum_l2 += r->rel_l2;
    k->max_l2 = MAX (k->max_l2, r->rel_l2);
    if (r->sign_agree >= 0) {
      k->n_sign++;
      k->sum_sign += r->sign_agree;
      k->min_sign = MIN (k->min_sign, r->sign_agree);
    }
  }
}

static gint
cmp_name (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
usage (void)
{
  fprintf (stderr, "usage: samseg-check [--json] [--threads N] "
      "[--memory-precision bf16|f32|int8] [--compare QUANTIZED_MODEL "
      "[--min-sqnr DB] [--min-sign F]] FIXTURE.safetensors...\n"
      "       samseg-check --compare QUANTIZED_MODEL --video FILE "
      "--model FLOAT_MODEL [--frames N] [--input-size N] [--grid N] "
      "[--json] [--threads N]\n");
}

/* ---- --compare: float vs quantized ------------------------------------- */

static void
on_linear_first (const char *name, const float *x, int64_t M, int K,
    int64_t ldx, const float *y, int N, int64_t ldy, void *ud)
{
  (void) x;
  (void) K;
  (void) ldx;
  Collect *c = ud;
  char key[300];
  g_snprintf (key, sizeof key, "linear:%s", name);
  if (g_hash_table_contains (c->ours, key))
    return;
  float *t = g_new (float, (size_t) M * N);
  for (int64_t r = 0; r < M; r++)
    memcpy (t + r * N, y + r * ldy, sizeof (float) * N);
  put (c, key, t, M * N);
  g_free (t);
}

/* Runs one model over the frames and prompts being compared, filling c. */
typedef gboolean (*RunFunc) (void *ctx, SamModel * m, int threads,
    int precision, Collect * c, GError ** err);

typedef struct {
  const SamFixture *fx;
  const SamFixtureMeta *meta;
} FixtureRun;

static gboolean
run_model (void *ctx, SamModel * m, int threads, int precision, Collect * c,
    GError ** err)
{
  const SamFixture *fx = ((FixtureRun *) ctx)->fx;
  const SamFixtureMeta *meta = ((FixtureRun *) ctx)->meta;
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = meta->image_size;
  sp.n_threads = threads;
  sp.num_frames = meta->num_frames;
  sp.memory_precision = precision;
  SamSession *s = sam_session_new (m, &sp, err);
  if (!s)
    return FALSE;
  sam_session_set_tap (s, on_tap, c);
  sam_model_set_observers (m, on_linear_first, NULL, c);
  gboolean ok = sam_fixture_replay (fx, meta, s, on_frame, c, err);
  sam_model_set_observers (m, NULL, NULL, NULL);
  sam_session_free (s);
  return ok;
}

#ifdef SAMSEG_HAVE_VIDEO
typedef struct {
  const char *path;
  int frames, input_size, grid;
} VideoRun;

static void
on_video_frame (int frame, const SamVideoFrame * vf, const SamFrameResult * r,
    gpointer user_data)
{
  (void) vf;
  on_frame (frame, r, user_data);
}

static gboolean
run_video (void *ctx, SamModel * m, int threads, int precision, Collect * c,
    GError ** err)
{
  const VideoRun *v = ctx;
  SamFrameSource *d = sam_frame_source_open (v->path, err);
  if (!d)
    return FALSE;
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = v->input_size ? v->input_size :
      sam_model_default_input_size (m);
  sp.n_threads = threads;
  sp.num_frames = v->frames;
  sp.memory_precision = precision;
  SamSession *s = sam_session_new (m, &sp, err);
  gboolean ok = s != NULL;
  if (ok) {
    sam_session_set_tap (s, on_tap, c);
    sam_model_set_observers (m, on_linear_first, NULL, c);
  }
  if (ok && !sam_grid_track (s, d, v->frames, v->grid, on_video_frame, c,
          err)) {
    g_prefix_error (err, "%s: ", v->path);
    ok = FALSE;
  }
  sam_model_set_observers (m, NULL, NULL, NULL);
  sam_session_free (s);
  sam_frame_source_free (d);
  return ok;
}
#endif

static double
sqnr_db (double sig, double noise)
{
  if (noise <= 0)
    return sig > 0 ? INFINITY : 0;
  return 10.0 * log10 (sig / noise);
}

static void
add_db (JsonBuilder * b, double v)
{
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_double_value (b, 999.0);
}

static int
run_compare (RunFunc run, void *ctx, SamModel * fmodel, const char *qpath,
    int threads, int precision, gboolean json, double min_sqnr,
    double min_sign)
{
  GError *err = NULL;
  SamModel *qm = sam_model_load (qpath, NULL, &err);
  Collect cf = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
          ours_free) };
  Collect cq = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
          ours_free) };
  if (!qm || !run (ctx, fmodel, threads, precision, &cf, &err)
      || !run (ctx, qm, threads, precision, &cq, &err)) {
    fprintf (stderr, "samseg-check: %s\n", err ? err->message : "failed");
    if (json)
      printf ("{\"tensors\": {}, \"pass\": false}\n");
    return 1;
  }
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, cf.ours);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_hash_table_contains (cq.ours, k))
      g_ptr_array_add (names, k);
  g_ptr_array_sort (names, (GCompareFunc) cmp_name);
  double msig = 0, mnoise = 0, vsig = 0, vnoise = 0;
  int64_t magree = 0, mn = 0, vagree = 0, vn = 0;
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tensors");
  json_builder_begin_object (b);
  GString *txt = g_string_new (NULL);
  double worst_layer = INFINITY;
  const char *worst_name = "";
  for (guint i = 0; i < names->len; i++) {
    const char *name = names->pdata[i];
    const Ours *f = g_hash_table_lookup (cf.ours, name);
    const Ours *q = g_hash_table_lookup (cq.ours, name);
    if (f->numel != q->numel)
      continue;
    double sig = 0, noise = 0;
    int64_t agree = 0, n = 0;
    gboolean mask = is_mask_logits (name);
    for (int64_t j = 0; j < f->numel; j++) {
      double d = (double) f->data[j] - q->data[j];
      sig += (double) f->data[j] * f->data[j];
      noise += d * d;
      if (mask && fabsf (f->data[j]) > 0.02f) {
        n++;
        agree += (f->data[j] > 0) == (q->data[j] > 0);
      }
    }
    if (g_str_has_suffix (name, ".pred_masks")) {
      msig += sig;
      mnoise += noise;
      magree += agree;
      mn += n;
    } else if (g_str_has_suffix (name, ".video_res_logits")) {
      vsig += sig;
      vnoise += noise;
      vagree += agree;
      vn += n;
    }
    double db = sqnr_db (sig, noise);
    if (g_str_has_prefix (name, "linear:") && db < worst_layer) {
      worst_layer = db;
      worst_name = name;
    }
    json_builder_set_member_name (b, name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "sqnr_db");
    add_db (b, db);
    json_builder_set_member_name (b, "sign_agree");
    if (mask && n)
      json_builder_add_double_value (b, (double) agree / n);
    else
      json_builder_add_null_value (b);
    json_builder_end_object (b);
    g_string_append_printf (txt, "%-64s sqnr %7.2f dB", name, db);
    if (mask && n)
      g_string_append_printf (txt, "  sign %.5f", (double) agree / n);
    g_string_append_c (txt, '\n');
  }
  json_builder_end_object (b);
  const double m_db = sqnr_db (msig, mnoise), v_db = sqnr_db (vsig, vnoise);
  const double m_sign = mn ? (double) magree / mn : 1.0;
  const double v_sign = vn ? (double) vagree / vn : 1.0;
  const gboolean pass = m_db >= min_sqnr && m_sign >= min_sign;
  int64_t fbytes = sam_model_weight_bytes (fmodel);
  int64_t qbytes = sam_model_weight_bytes (qm);
  json_builder_set_member_name (b, "mask_logit_sqnr_db");
  add_db (b, m_db);
  json_builder_set_member_name (b, "sign_agree");
  json_builder_add_double_value (b, m_sign);
  json_builder_set_member_name (b, "video_res_sqnr_db");
  add_db (b, v_db);
  json_builder_set_member_name (b, "video_res_sign_agree");
  json_builder_add_double_value (b, v_sign);
  json_builder_set_member_name (b, "worst_layer");
  json_builder_add_string_value (b, worst_name);
  json_builder_set_member_name (b, "worst_layer_sqnr_db");
  add_db (b, worst_layer);
  json_builder_set_member_name (b, "float_weight_bytes");
  json_builder_add_int_value (b, fbytes);
  json_builder_set_member_name (b, "quant_weight_bytes");
  json_builder_add_int_value (b, qbytes);
  json_builder_set_member_name (b, "n_quantized");
  json_builder_add_int_value (b, sam_model_n_quantized (qm));
  json_builder_set_member_name (b, "pass");
  json_builder_add_boolean_value (b, pass);
  json_builder_end_object (b);
  if (json) {
    JsonGenerator *g = json_generator_new ();
    JsonNode *root = json_builder_get_root (b);
    json_generator_set_root (g, root);
    gchar *t = json_generator_to_data (g, NULL);
    printf ("%s\n", t);
    g_free (t);
    json_node_unref (root);
    g_object_unref (g);
  } else {
    printf ("%s", txt->str);
    printf ("mask logits (low-res, all frames): sqnr %.2f dB, sign agreement "
        "%.5f (|logit| > 0.02)\n", m_db, m_sign);
    printf ("video-res logits: sqnr %.2f dB, sign agreement %.5f\n", v_db,
        v_sign);
    printf ("worst linear: %s %.2f dB\n", worst_name, worst_layer);
    printf ("weights in memory: float %.1f MiB, quantized %.1f MiB\n",
        fbytes / 1048576.0, qbytes / 1048576.0);
    printf ("samseg-check --compare: %s (thresholds %.1f dB, sign %.3f)\n",
        pass ? "PASS" : "FAIL", min_sqnr, min_sign);
  }
  g_string_free (txt, TRUE);
  g_object_unref (b);
  g_ptr_array_unref (names);
  g_hash_table_destroy (cf.ours);
  g_hash_table_destroy (cq.ours);
  sam_model_unref (qm);
  return pass ? 0 : 1;
}

int
main (int argc, char **argv)
{
  gboolean json = FALSE;
  int threads = 0;
  int precision = SAM_MEMORY_PRECISION_BF16;
  const char *compare = NULL, *video = NULL, *fpath = NULL;
  int v_frames = 8, v_size = 0, v_grid = 2;
  double min_sqnr = 30.0, min_sign = 0.99;
  /* released on every return, usage errors included */
  g_autoptr (GPtrArray) files = g_ptr_array_new ();
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--json") == 0)
      json = TRUE;
    else if (strcmp (argv[i], "--threads") == 0 && i + 1 < argc)
      threads = atoi (argv[++i]);
    else if (strcmp (argv[i], "--compare") == 0 && i + 1 < argc)
      compare = argv[++i];
    else if (strcmp (argv[i], "--video") == 0 && i + 1 < argc)
      video = argv[++i];
    else if (strcmp (argv[i], "--model") == 0 && i + 1 < argc)
      fpath = argv[++i];
    else if (strcmp (argv[i], "--frames") == 0 && i + 1 < argc)
      v_frames = atoi (argv[++i]);
    else if (strcmp (argv[i], "--input-size") == 0 && i + 1 < argc)
      v_size = atoi (argv[++i]);
    else if (strcmp (argv[i], "--grid") == 0 && i + 1 < argc)
      v_grid = atoi (argv[++i]);
    else if (strcmp (argv[i], "--min-sqnr") == 0 && i + 1 < argc)
      min_sqnr = g_ascii_strtod (argv[++i], NULL);
    else if (strcmp (argv[i], "--min-sign") == 0 && i + 1 < argc)
      min_sign = g_ascii_strtod (argv[++i], NULL);
    else if (strcmp (argv[i], "--memory-precision") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp (v, "bf16") == 0)
        precision = SAM_MEMORY_PRECISION_BF16;
      else if (strcmp (v, "f32") == 0)
        precision = SAM_MEMORY_PRECISION_F32;
      else if (strcmp (v, "int8") == 0)
        precision = SAM_MEMORY_PRECISION_INT8;
      else {
        usage ();
        return 2;
      }
    }
    else if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0) {
      usage ();
      return 0;
    } else if (argv[i][0] == '-') {
      usage ();
      return 2;
    } else
      g_ptr_array_add (files, argv[i]);
  }
  GError *err = NULL;
  if (video) {
    if (!compare || !fpath || files->len || v_frames < 1 || v_grid < 1
        || v_size < 0) {
      usage ();
      return 2;
    }
#ifdef SAMSEG_HAVE_VIDEO
    SamModel *fm = sam_model_load (fpath, NULL, &err);
    if (!fm) {
      fprintf (stderr, "samseg-check: %s\n", err->message);
      return 1;
    }
    VideoRun vr = { video, v_frames, v_size, v_grid };
    int rc = run_compare (run_video, &vr, fm, compare, threads, precision,
        json, min_sqnr, min_sign);
    sam_model_unref (fm);
    return rc;
#else
    fprintf (stderr, "samseg-check: built without video decoding (--video)\n");
    return 2;
#endif
  }
  if (files->len == 0) {
    usage ();
    return 2;
  }
  SamFixture *fx = sam_fixture_open ((char **) files->pdata, (int) files->len,
      &err);
  SamFixtureMeta meta;
  SamModel *model = NULL;
  SamSession *s = NULL;
  if (!fx || !sam_fixture_meta_parse (sam_fixture_meta (fx), &meta, &err))
    goto fail;
  model = sam_fixture_build_model (&meta, &err);
  if (!model)
    goto fail;
  if (compare) {
    FixtureRun fr = { fx, &meta };
    int rc = run_compare (run_model, &fr, model, compare, threads, precision,
        json, min_sqnr, min_sign);
    sam_model_unref (model);
    sam_fixture_meta_clear (&meta);
    sam_fixture_free (fx);
    return rc;
  }
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = meta.image_size;
  sp.n_threads = threads;
  sp.num_frames = meta.num_frames;
  sp.memory_precision = precision;
  s = sam_session_new (model, &sp, &err);
  if (!s)
    goto fail;
  Collect c = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
          ours_free)
  };
  sam_session_set_tap (s, on_tap, &c);
  if (!sam_fixture_replay (fx, &meta, s, on_frame, &c, &err))
    goto fail;

  GPtrArray *names = sam_fixture_names (fx);
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (Row));
  double worst = 0;
  gboolean all_pass = TRUE;
  /* *INDENT-OFF* */
  Group groups[] = {
    { "pred_masks", "f", ".pred_masks" },
    { "video_res_logits", "f", ".video_res_logits" },
    { "obj_ptr", "f", ".obj_ptr" },
    { "object_score", "f", ".object_score_logits" },
    { "memory_features", "memenc", ".vision_features" },
  };
  /* *INDENT-ON* */
  const int n_groups = G_N_ELEMENTS (groups);
  for (guint i = 0; i < names->len; i++) {
    const char *name = names->pdata[i];
    if (strcmp (name, "frames") == 0)
      continue;
    Row row = { 0 };
    compare_one (fx, &c, name, &row);
    g_array_append_val (rows, row);
    summarise (groups, n_groups, &row);
    if (!g_str_has_suffix (name, "_mask_bits") && row.rel_l2 > worst)
      worst = row.rel_l2;
    all_pass &= row.pass;
  }
  if (json) {
    JsonBuilder *b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "tensors");
    json_builder_begin_object (b);
    for (guint i = 0; i < rows->len; i++) {
      Row *r = &g_array_index (rows, Row, i);
      json_builder_set_member_name (b, r->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "rel_l2");
      if (isfinite (r->rel_l2))
        json_builder_add_double_value (b, r->rel_l2);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "sign_agree");
      if (r->sign_agree >= 0)
        json_builder_add_double_value (b, r->sign_agree);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
    json_builder_set_member_name (b, "summary");
    json_builder_begin_object (b);
    for (int g = 0; g < n_groups; g++) {
      if (!groups[g].n)
        continue;
      json_builder_set_member_name (b, groups[g].label);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "mean_rel_l2");
      json_builder_add_double_value (b, groups[g].sum_l2 / groups[g].n);
      json_builder_set_member_name (b, "max_rel_l2");
      json_builder_add_double_value (b, groups[g].max_l2);
      if (groups[g].n_sign) {
        json_builder_set_member_name (b, "mean_sign_agree");
        json_builder_add_double_value (b,
            groups[g].sum_sign / groups[g].n_sign);
        json_builder_set_member_name (b, "min_sign_agree");
        json_builder_add_double_value (b, groups[g].min_sign);
      }
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
    json_builder_set_member_name (b, "worst_rel_l2");
    if (isfinite (worst))
      json_builder_add_double_value (b, worst);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "pass");
    json_builder_add_boolean_value (b, all_pass);
    json_builder_end_object (b);
    JsonGenerator *g = json_generator_new ();
    JsonNode *root = json_builder_get_root (b);
    json_generator_set_root (g, root);
    gchar *txt = json_generator_to_data (g, NULL);
    printf ("%s\n", txt);
    g_free (txt);
    json_node_unref (root);
    g_object_unref (g);
    g_object_unref (b);
  } else {
    int n_fail = 0;
    for (guint i = 0; i < rows->len; i++) {
      Row *r = &g_array_index (rows, Row, i);
      if (r->missing)
        printf ("%-44s MISSING (engine produced no such tensor)\n", r->name);
      else if (r->sign_agree >= 0)
        printf ("%-44s rel_l2 %.3e  sign %.5f  %s\n", r->name, r->rel_l2,
            r->sign_agree, r->pass ? "ok" : "FAIL");
      else
        printf ("%-44s rel_l2 %.3e  (tol %.0e)  %s\n", r->name, r->rel_l2,
            r->tol, r->pass ? "ok" : "FAIL");
      n_fail += !r->pass;
    }
    for (int g = 0; g < n_groups; g++) {
      const Group *k = &groups[g];
      if (!k->n)
        continue;
      printf ("summary %-18s %3d tensors  rel_l2 mean %.3e max %.3e", k->label,
          k->n, k->sum_l2 / k->n, k->max_l2);
      if (k->n_sign)
        printf ("  sign mean %.5f min %.5f", k->sum_sign / k->n_sign,
            k->min_sign);
      printf ("\n");
    }
    printf ("samseg-check: %u tensors, %d failed, worst rel_l2 %.3e: %s\n",
        rows->len, n_fail, worst, all_pass ? "PASS" : "FAIL");
  }
  g_array_unref (rows);
  g_ptr_array_unref (names);
  g_hash_table_destroy (c.ours);
  sam_session_free (s);
  sam_model_unref (model);
  sam_fixture_meta_clear (&meta);
  sam_fixture_free (fx);
  return all_pass ? 0 : 1;

fail:
  fprintf (stderr, "samseg-check: %s\n", err ? err->message : "failed");
  if (json)
    printf ("{\"tensors\": {}, \"worst_rel_l2\": null, \"pass\": false, "
        "\"error\": \"%s\"}\n", err ? g_strescape (err->message, "") : "");
  g_clear_error (&err);
  sam_session_free (s);
  if (model)
    sam_model_unref (model);
  sam_fixture_free (fx);
  return 1;
}
