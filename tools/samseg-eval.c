/* samseg-eval — score the tracker on an evaluation set (docs:
 * shared/eval/README.md): per clip, prompt object 1 on frame 0 as the
 * metadata says, track through the video, and report J (mean IoU with the
 * ground truth over frames 1..T-1) and J_ref (the same against the float32
 * reference predictions).
 *
 *   samseg-eval --model M --dataset DIR [--input-size N] [--threads N]
 *               [--clip NAME]... [--frames N] [--json]
 *               [--memory-precision bf16|f32|int8]
 */
#include "core/safetensors.h"
#include "io/video-decode.h"
#include "mask-util.h"
#include "sam/sam.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const gchar *model_path;
  const gchar *dataset;
  gint input_size;
  gint n_threads;
  gint max_frames;
  gchar **clips;
  gboolean json;
  gint memory_precision;        /* SamMemoryPrecision */
  gint memory_frames;           /* num_maskmem; 0: the session's default */
} Options;

typedef struct {
  gchar *name;
  gint n_frames;
  double j, j_ref;              /* j_ref NAN without reference masks */
  double ref_j;                 /* the reference's J from the metadata, or NAN */
  double ms_per_frame;
} ClipResult;

static void
clip_result_clear (gpointer p)
{
  g_free (((ClipResult *) p)->name);
}

/* The dataset file: DIR/<basename of DIR>.safetensors, else the only one. */
static gchar *
find_dataset_file (const gchar * dir, GError ** error)
{
  gchar *base = g_path_get_basename (dir);
  gchar *name = g_strconcat (base, ".safetensors", NULL);
  gchar *path = g_build_filename (dir, name, NULL);
  g_free (base);
  g_free (name);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_clear_pointer (&path, g_free);

  GDir *d = g_dir_open (dir, 0, error);
  if (!d)
    return NULL;
  gint n = 0;
  const gchar *e;
  while ((e = g_dir_read_name (d))) {
    if (g_str_has_suffix (e, ".safetensors")) {
      n++;
      g_free (path);
      path = g_build_filename (dir, e, NULL);
    }
  }
  g_dir_close (d);
  if (n != 1) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
        "%s: expected one *.safetensors dataset file, found %d", dir, n);
    g_clear_pointer (&path, g_free);
  }
  return path;
}

static gint
compare_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

/* Sorted clip names (files NAME.mp4 in @dir). (transfer full) */
static GPtrArray *
list_clips (const gchar * dir, GError ** error)
{
  GDir *d = g_dir_open (dir, 0, error);
  if (!d)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const gchar *e;
  while ((e = g_dir_read_name (d)))
    if (g_str_has_suffix (e, ".mp4"))
      g_ptr_array_add (names, g_strndup (e, strlen (e) - 4));
  g_dir_close (d);
  g_ptr_array_sort (names, compare_str);
  return names;
}

static gboolean
number_at (JsonArray * a, guint i, float *out)
{
  JsonNode *n = json_array_get_element (a, i);
  if (!JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  GType t = json_node_get_value_type (n);
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    return FALSE;
  *out = (float) json_node_get_double (n);
  return TRUE;
}

/* Fills @p (points into @pts/@labels) from a metadata prompt object:
 * {"frame", "obj_id", "points": [[x, y]...], "labels": [...], "box": [4]}. */
static gboolean
parse_prompt (JsonObject * o, const gchar * clip, SamPrompt * p, float *pts,
    gint32 * labels, gint * frame, guint32 * obj_id, GError ** error)
{
  memset (p, 0, sizeof *p);
  *frame = json_object_has_member (o, "frame") ?
      (gint) json_object_get_int_member (o, "frame") : 0;
  *obj_id = json_object_has_member (o, "obj_id") ?
      (guint32) json_object_get_int_member (o, "obj_id") : 1;

  if (json_object_has_member (o, "points")) {
    JsonArray *pa = json_object_get_array_member (o, "points");
    JsonArray *la = json_object_has_member (o, "labels") ?
        json_object_get_array_member (o, "labels") : NULL;
    guint n = pa ? json_array_get_length (pa) : 0;
    if (!pa || !la || json_array_get_length (la) != n
        || n > SAM_MAX_POINTS_PER_PROMPT)
      goto bad;
    for (guint i = 0; i < n; i++) {
      JsonNode *pn = json_array_get_element (pa, i);
      JsonArray *xy = JSON_NODE_HOLDS_ARRAY (pn) ?
          json_node_get_array (pn) : NULL;
      if (!xy || json_array_get_length (xy) != 2
          || !number_at (xy, 0, &pts[2 * i])
          || !number_at (xy, 1, &pts[2 * i + 1]))
        goto bad;
      labels[i] = (gint32) json_array_get_int_element (la, i);
    }
    p->n_points = (gint) n;
    p->points = pts;
    p->labels = labels;
  }
  if (json_object_has_member (o, "box")) {
    JsonArray *b = json_object_get_array_member (o, "box");
    if (!b || json_array_get_length (b) != 4)
      goto bad;
    for (guint i = 0; i < 4; i++)
      if (!number_at (b, i, &p->box[i]))
        goto bad;
    p->has_box = TRUE;
  }
  if (p->n_points == 0 && !p->has_box)
    goto bad;
  return TRUE;

bad:
  g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
      "metadata: malformed prompt for %s", clip);
  return FALSE;
}

/* A U8 [T, packed frame] mask tensor, checked against the frame size. */
static const SamStTensor *
mask_tensor (SamSafetensors * st, const gchar * prefix, const gchar * clip,
    gsize n_pixels, GError ** error)
{
  gchar *name = g_strconcat (prefix, ".", clip, NULL);
  const SamStTensor *t = sam_safetensors_find (st, name);
  if (t && (t->dtype != SAM_DTYPE_U8 || t->ndim != 2
          || (gsize) t->shape[1] != sam_mask_packed_size (n_pixels))) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_SHAPE, "%s: expected U8 [T, %"
        G_GSIZE_FORMAT "] for the video's frame size, got %s with %d dims "
        "(second %" G_GINT64_FORMAT ")", name, sam_mask_packed_size (n_pixels),
        sam_dtype_name (t->dtype), t->ndim, t->ndim > 1 ? t->shape[1] : -1);
    t = NULL;
  }
  g_free (name);
  return t;
}

static gboolean
eval_clip (SamModel * model, const Options * opt, SamSafetensors * st,
    JsonObject * meta, ClipResult * res, GError ** error)
{
  const gchar *clip = res->name;
  gchar *video = g_strconcat (opt->dataset, G_DIR_SEPARATOR_S, clip, ".mp4",
      NULL);
  SamVideoDecoder *dec = NULL;
  SamSession *s = NULL;
  guint8 *pred = NULL;
  gboolean ok = FALSE;
  float pts[2 * SAM_MAX_POINTS_PER_PROMPT];
  gint32 labels[SAM_MAX_POINTS_PER_PROMPT];
  SamPrompt prompt;
  gint prompt_frame;
  guint32 obj_id;

  JsonObject *prompts = json_object_has_member (meta, "prompts") ?
      json_object_get_object_member (meta, "prompts") : NULL;
  if (!prompts || !json_object_has_member (prompts, clip)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "metadata: no prompt for %s", clip);
    goto out;
  }
  if (!parse_prompt (json_object_get_object_member (prompts, clip), clip,
          &prompt, pts, labels, &prompt_frame, &obj_id, error))
    goto out;

  dec = sam_video_decoder_open (video, error);
  if (!dec)
    goto out;
  gint w = sam_video_decoder_width (dec), h = sam_video_decoder_height (dec);
  gsize n_pix = (gsize) w * h;
  const SamStTensor *gt = mask_tensor (st, "gt", clip, n_pix, error);
  if (!gt) {
    if (error && !*error)
      g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, "no gt.%s", clip);
    goto out;
  }
  const SamStTensor *ref = mask_tensor (st, "ref", clip, n_pix, error);
  if (!ref && error && *error)
    goto out;
  gint64 n_gt = gt->shape[0];
  if (ref && ref->shape[0] != n_gt) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_SHAPE,
        "gt.%s and ref.%s disagree on the frame count", clip, clip);
    goto out;
  }

  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = opt->input_size;
  sp.n_threads = opt->n_threads;
  sp.memory_precision = opt->memory_precision;
  if (opt->memory_frames != 0)        /* the session refuses a bad count */
    sp.num_maskmem = opt->memory_frames;
  /* The reference ran the offline predictor, which knows the video length. */
  sp.num_frames = n_gt;
  s = sam_session_new (model, &sp, error);
  if (!s)
    goto out;

  gsize psize = sam_mask_packed_size (n_pix);
  pred = g_malloc (psize);
  double sum_j = 0, sum_jr = 0;
  gint n_scored = 0;
  gint64 t0 = g_get_monotonic_time ();
  SamVideoFrame vf;
  GError *derr = NULL;
  gint64 limit = opt->max_frames > 0 ? MIN (opt->max_frames, n_gt) : n_gt;

  while (res->n_frames < limit && sam_video_decoder_next (dec, &vf, &derr)) {
    gint i = res->n_frames;
    if (vf.width != w || vf.height != h) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_SHAPE, "%s: frame %d is %dx%d, "
          "expected %dx%d", video, i, vf.width, vf.height, w, h);
      goto out;
    }
    if (i == prompt_frame && !sam_session_add_prompt (s, obj_id, &prompt,
            error))
      goto out;

    SamImage img = { SAM_PIXEL_RGB, vf.width, vf.height, vf.stride, vf.data };
    SamFrameResult fr;
    if (!sam_session_process_frame (s, &img, &fr, error))
      goto out;

    memset (pred, 0, psize);
    for (gint k = 0; k < fr.n_objects; k++) {
      const SamObjectResult *o = &fr.objects[k];
      if (o->obj_id == obj_id && o->logits && o->width == w && o->height == h)
        sam_mask_pack_logits (o->logits, w, h, w, pred);
    }
    /* Frame 0 carries the prompt: J is scored on the frames after it. */
    if (i > prompt_frame) {
      sum_j += sam_mask_iou (pred, (const guint8 *) gt->data + i * psize,
          n_pix);
      if (ref)
        sum_jr += sam_mask_iou (pred, (const guint8 *) ref->data + i * psize,
            n_pix);
      n_scored++;
    }
    res->n_frames++;
  }
  if (derr) {
    g_propagate_error (error, derr);
    goto out;
  }
  if (res->n_frames < limit)
    g_printerr ("samseg-eval: %s: %d frames decoded, the dataset has %"
        G_GINT64_FORMAT "\n", clip, res->n_frames, n_gt);
  if (n_scored == 0) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: no frame after the prompt to score", clip);
    goto out;
  }
  res->ms_per_frame = (g_get_monotonic_time () - t0) / 1e3 / res->n_frames;
  res->j = sum_j / n_scored;
  res->j_ref = ref ? sum_jr / n_scored : NAN;
  ok = TRUE;

out:
  g_free (pred);
  sam_session_free (s);
  sam_video_decoder_free (dec);
  g_free (video);
  return ok;
}

static double
meta_double (JsonObject * o, const gchar * member, const gchar * key)
{
  if (member) {
    if (!json_object_has_member (o, member))
      return NAN;
    JsonNode *n = json_object_get_member (o, member);
    if (!JSON_NODE_HOLDS_OBJECT (n))
      return NAN;
    o = json_node_get_object (n);
  }
  if (!json_object_has_member (o, key))
    return NAN;
  JsonNode *n = json_object_get_member (o, key);
  if (!JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  return json_node_get_double (n);
}

static void
print_json (GArray * results, double j_mean, double jr_mean)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "clips");
  json_builder_begin_object (b);
  for (guint i = 0; i < results->len; i++) {
    ClipResult *r = &g_array_index (results, ClipResult, i);
    json_builder_set_member_name (b, r->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "j");
    json_builder_add_double_value (b, r->j);
    json_builder_set_member_name (b, "j_ref");
    if (isnan (r->j_ref))
      json_builder_add_null_value (b);
    else
      json_builder_add_double_value (b, r->j_ref);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "j_mean");
  json_builder_add_double_value (b, j_mean);
  json_builder_set_member_name (b, "j_ref_mean");
  if (isnan (jr_mean))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, jr_mean);
  json_builder_end_object (b);

  JsonGenerator *g = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (g, root);
  gchar *s = json_generator_to_data (g, NULL);
  printf ("%s\n", s);
  g_free (s);
  json_node_unref (root);
  g_object_unref (g);
  g_object_unref (b);
}

static void
print_num (double x)
{
  if (isnan (x))
    printf ("  %6s", "-");
  else
    printf ("  %6.3f", x);
}

static int
run (const Options * opt)
{
  GError *err = NULL;
  SamModel *model = NULL;
  SamSafetensors *st = NULL;
  JsonParser *parser = NULL;
  GPtrArray *clips = NULL;
  GArray *results = g_array_new (FALSE, TRUE, sizeof (ClipResult));
  g_array_set_clear_func (results, clip_result_clear);
  int rc = 1;

  gchar *ds_path = find_dataset_file (opt->dataset, &err);
  if (!ds_path || !(st = sam_safetensors_open (ds_path, &err)))
    goto out;
  const gchar *meta_s = sam_safetensors_metadata (st, "meta");
  parser = json_parser_new ();
  if (!meta_s) {
    g_set_error (&err, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: no __metadata__.meta", ds_path);
    goto out;
  }
  if (!json_parser_load_from_data (parser, meta_s, -1, &err))
    goto out;
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (&err, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: __metadata__.meta is not a JSON object", ds_path);
    goto out;
  }
  JsonObject *meta = json_node_get_object (root);

  if (!(clips = list_clips (opt->dataset, &err)))
    goto out;
  /* as the element does: reuse each frame's temporaries (sam.h) */
  sam_tune_process_allocator ();
  if (!(model = sam_model_load (opt->model_path, NULL, &err)))
    goto out;

  gint in_size = opt->input_size ? opt->input_size :
      sam_model_default_input_size (model);
  if (!opt->json)
    printf ("model %s (%s), input %d, dataset %s\n", opt->model_path,
        sam_model_variant (model), in_size, ds_path);

  for (guint i = 0; i < clips->len; i++) {
    const gchar *name = g_ptr_array_index (clips, i);
    if (opt->clips && !g_strv_contains ((const gchar * const *) opt->clips,
            name))
      continue;
    gchar *gt_name = g_strconcat ("gt.", name, NULL);
    gboolean in_set = sam_safetensors_find (st, gt_name) != NULL;
    g_free (gt_name);
    if (!in_set) {
      g_printerr ("samseg-eval: skipping %s.mp4: no gt.%s in the dataset\n",
          name, name);
      continue;
    }
    ClipResult r = { g_strdup (name), 0, NAN, NAN, NAN, 0 };
    r.ref_j = meta_double (meta, "ref_j_per_clip", name);
    if (!eval_clip (model, opt, st, meta, &r, &err)) {
      clip_result_clear (&r);
      goto out;
    }
    g_array_append_val (results, r);
    if (!opt->json) {
      if (results->len == 1)
        printf ("%-10s %6s  %6s  %6s  %6s  %9s\n", "clip", "frames", "J",
            "J_ref", "ref_J", "ms/frame");
      printf ("%-10s %6d", r.name, r.n_frames);
      print_num (r.j);
      print_num (r.j_ref);
      print_num (r.ref_j);
      printf ("  %9.1f\n", r.ms_per_frame);
      fflush (stdout);
    }
  }
  if (results->len == 0) {
    g_set_error (&err, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: no clip to evaluate", opt->dataset);
    goto out;
  }

  double sj = 0, sjr = 0, srj = 0;
  for (guint i = 0; i < results->len; i++) {
    ClipResult *r = &g_array_index (results, ClipResult, i);
    sj += r->j;
    sjr += r->j_ref;
    srj += r->ref_j;
  }
  double n = results->len;
  if (opt->json) {
    print_json (results, sj / n, sjr / n);
  } else {
    printf ("%-10s %6s", "mean", "");
    print_num (sj / n);
    print_num (sjr / n);
    print_num (srj / n);
    printf ("\nreference ref_j_mean (metadata, all clips): ");
    print_num (meta_double (meta, NULL, "ref_j_mean"));
    printf ("\n");
  }
  rc = 0;

out:
  if (err) {
    g_printerr ("samseg-eval: %s\n", err->message);
    g_error_free (err);
  }
  if (model)
    sam_model_unref (model);
  if (parser)
    g_object_unref (parser);
  if (clips)
    g_ptr_array_unref (clips);
  g_array_unref (results);
  sam_safetensors_close (st);
  g_free (ds_path);
  return rc;
}

int
main (int argc, char **argv)
{
  Options opt = { 0 };
  gchar *model = NULL, *dataset = NULL, *precision = NULL;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
        "SAM 2.1 model (safetensors)", "PATH"},
    {"dataset", 'd', 0, G_OPTION_ARG_FILENAME, &dataset,
        "Evaluation set directory (clipNN.mp4 + one .safetensors)", "DIR"},
    {"input-size", 's', 0, G_OPTION_ARG_INT, &opt.input_size,
        "Model input size (default: the model's)", "N"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &opt.n_threads,
        "Worker threads (default: all cores)", "N"},
    {"clip", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &opt.clips,
        "Only this clip (repeatable)", "NAME"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &opt.max_frames,
        "Only the first N frames of each clip", "N"},
    {"json", 'j', 0, G_OPTION_ARG_NONE, &opt.json,
        "Print {\"clips\": {...}, \"j_mean\", \"j_ref_mean\"} as JSON", NULL},
    {"memory-precision", 'p', 0, G_OPTION_ARG_STRING, &precision,
        "Memory bank storage: bf16 (default), f32, int8", "P"},
    {"memory-frames", 'M', 0, G_OPTION_ARG_INT, &opt.memory_frames,
        "Memories per object incl. the prompted frame (default 7; the "
        "element's memory-frames)", "N"},
    {NULL}
  };
  GError *err = NULL;
  GOptionContext *ctx = g_option_context_new ("- J / J_ref of the tracker "
      "on an evaluation set");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("samseg-eval: %s\n", err->message);
    g_error_free (err);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  if (!model || !dataset) {
    g_printerr ("samseg-eval: --model and --dataset are required "
        "(see --help)\n");
    return 2;
  }
  if (!precision || strcmp (precision, "bf16") == 0)
    opt.memory_precision = SAM_MEMORY_PRECISION_BF16;
  else if (strcmp (precision, "f32") == 0)
    opt.memory_precision = SAM_MEMORY_PRECISION_F32;
  else if (strcmp (precision, "int8") == 0)
    opt.memory_precision = SAM_MEMORY_PRECISION_INT8;
  else {
    g_printerr ("samseg-eval: --memory-precision is bf16, f32 or int8\n");
    return 2;
  }
  g_free (precision);
  opt.model_path = model;
  opt.dataset = dataset;
  int rc = run (&opt);
  g_free (model);
  g_free (dataset);
  g_strfreev (opt.clips);
  return rc;
}
