/* samseg-bench — per-frame and per-stage timings and peak memory of the
 * tracker on a synthetic video.
 *
 *   samseg-bench [--model PATH] [--input-size N] [--objects N] [--frames N]
 *                [--warmup N] [--threads N] [--json]
 *
 * Without --model the synthetic tiny model (engine/model/synth.h) is written
 * to a temporary directory. Without --input-size both 1024 and 512 are run.
 * Object 1..N are clicked on frame 0; later frames carry no prompt, so after
 * num_maskmem frames the memory bank is full and every timed frame does the
 * steady-state work. Times are medians over the frames after --warmup.
 * Each configuration runs in a fresh child process so that its peak RSS
 * (VmHWM) is its own.
 */
#include "model/synth.h"
#include "sam/sam.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum
{ ST_IMAGE_ENCODER, ST_MEMORY_ATTENTION, ST_DECODER, ST_MEMORY_ENCODER,
  ST_TOTAL, N_STAGES
};

static const char *stage_names[N_STAGES] = {
  "image_encoder", "memory_attention", "mask_decoder", "memory_encoder",
  "engine_total"
};

typedef struct {
  const gchar *model_path;
  gint objects, frames, warmup, n_threads;
  gboolean json;
} Options;

/* One configuration's result; plain data so a child can send it whole. */
typedef struct {
  gint input_size, objects, frames_timed;
  double frame_ms;
  double frame_cpu_ms;          /* CPU time of the process (all threads) */
  double frame_faults;          /* minor page faults per frame */
  double stages_ms[N_STAGES];   /* sums over objects for per-object stages */
  gint64 rss_kb;
  gboolean ok;
  char precision[48];           /* "f32", or "W8A8 int8" / "W8A8 sim" */
  char error[512];
} Row;

/* The model's precision from sam_model_quant_summary (): "f32" for a float
 * model, else the file's bits ("samseg.quant" metadata) and whether the
 * quantized layers run on the int8 GEMM or as fake quantization. */
static void
model_precision (const SamModel * m, char *out, gsize n)
{
  gchar *sum = sam_model_quant_summary (m);
  if (!sum || g_str_has_prefix (sum, "float32")) {
    g_strlcpy (out, "f32", n);
    g_free (sum);
    return;
  }
  char bits[16] = "quantized";
  const char *b = strstr (sum, "\"bits\":\"");
  if (b) {
    b += strlen ("\"bits\":\"");
    gsize k = 0;
    while (b[k] && b[k] != '"' && k + 1 < sizeof bits) {
      bits[k] = b[k];
      k++;
    }
    bits[k] = 0;
  }
  g_snprintf (out, n, "%s %s", bits, strstr (sum, "(simulated") ? "sim" :
      "int8");
  g_free (sum);
}

static gint64
peak_rss_kb (void)
{
  gchar *status = NULL;
  gint64 kb = -1;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const gchar *p = strstr (status, "VmHWM:");
  if (p)
    kb = g_ascii_strtoll (p + 6, NULL, 10);
  g_free (status);
  return kb;
}

/* CPU time of the whole process (every thread), in ms: on a loaded
 * machine it moves much less than the wall time. */
static double
process_cpu_ms (double *minflt)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  *minflt = (double) ru.ru_minflt;
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, gint n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A textured background with one bright disc per object drifting right, so
 * the frames change and each clicked object has something to follow. */
static void
make_frame (guint8 * rgb, gint w, gint h, gint f, gint objects)
{
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++) {
      guint8 *p = rgb + 3 * ((gsize) y * w + x);
      guint32 n = (guint32) (x * 73856093u ^ y * 19349663u) >> 27;
      p[0] = (guint8) (40 + (x * 60) / w + n);
      p[1] = (guint8) (60 + (y * 60) / h + n);
      p[2] = (guint8) (80 + n);
    }
  gint r = MAX (4, MIN (w, h) / (4 * (objects + 1)));
  for (gint k = 0; k < objects; k++) {
    gint cx = (k + 1) * w / (objects + 1) + f * 2, cy = h / 2;
    for (gint y = MAX (0, cy - r); y < MIN (h, cy + r); y++)
      for (gint x = MAX (0, cx - r); x < MIN (w, cx + r); x++)
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) {
          guint8 *p = rgb + 3 * ((gsize) y * w + x);
          p[0] = 230;
          p[1] = (guint8) (60 * k);
          p[2] = 40;
        }
  }
}

static void
run_config (const Options * opt, gint input_size, Row * row)
{
  GError *err = NULL;
  SamModel *m = NULL;
  SamSession *s = NULL;
  gint n_timed = opt->frames - opt->warmup;
  double *frame_ms = g_new0 (double, n_timed);
  double *frame_cpu = g_new0 (double, n_timed);
  double *frame_flt = g_new0 (double, n_timed);
  double *stage_ms = g_new0 (double, (gsize) n_timed * N_STAGES);
  gint w = input_size, h = input_size;
  guint8 *rgb = g_malloc ((gsize) 3 * w * h);

  memset (row, 0, sizeof *row);
  row->input_size = input_size;
  row->objects = opt->objects;
  row->frames_timed = n_timed;

  if (!(m = sam_model_load (opt->model_path, NULL, &err)))
    goto out;
  model_precision (m, row->precision, sizeof row->precision);
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = input_size;
  sp.n_threads = opt->n_threads;
  sp.max_objects = MAX (sp.max_objects, opt->objects);
  if (!(s = sam_session_new (m, &sp, &err)))
    goto out;

  for (gint f = 0; f < opt->frames; f++) {
    make_frame (rgb, w, h, f, opt->objects);
    if (f == 0) {
      for (gint k = 0; k < opt->objects; k++) {
        float pt[2] = { (float) ((k + 1) * w / (opt->objects + 1)), h / 2.0f };
        gint32 label = 1;
        SamPrompt p = { 1, pt, &label, FALSE, {0}, FALSE };
        if (!sam_session_add_prompt (s, (guint32) k + 1, &p, &err))
          goto out;
      }
    }
    SamImage img = { SAM_PIXEL_RGB, w, h, 3 * w, rgb };
    SamFrameResult res;
    gint64 t0 = g_get_monotonic_time ();
    double f0, f1;
    double c0 = process_cpu_ms (&f0);
    if (!sam_session_process_frame (s, &img, &res, &err))
      goto out;
    double ms = (g_get_monotonic_time () - t0) / 1e3;
    double cpu = process_cpu_ms (&f1) - c0;
    gint i = f - opt->warmup;
    if (i >= 0) {
      SamTimings t;
      sam_session_get_timings (s, &t);
      frame_ms[i] = ms;
      frame_cpu[i] = cpu;
      frame_flt[i] = f1 - f0;
      stage_ms[ST_IMAGE_ENCODER * n_timed + i] = t.image_encoder_ms;
      stage_ms[ST_MEMORY_ATTENTION * n_timed + i] = t.memory_attention_ms;
      stage_ms[ST_DECODER * n_timed + i] = t.decoder_ms;
      stage_ms[ST_MEMORY_ENCODER * n_timed + i] = t.memory_encoder_ms;
      stage_ms[ST_TOTAL * n_timed + i] = t.total_ms;
    }
  }
  row->frame_ms = median (frame_ms, n_timed);
  row->frame_cpu_ms = median (frame_cpu, n_timed);
  row->frame_faults = median (frame_flt, n_timed);
  for (gint k = 0; k < N_STAGES; k++)
    row->stages_ms[k] = median (stage_ms + (gsize) k * n_timed, n_timed);
  row->rss_kb = peak_rss_kb ();
  row->ok = TRUE;

out:
  if (err) {
    g_strlcpy (row->error, err->message, sizeof row->error);
    g_error_free (err);
  }
  sam_session_free (s);
  if (m)
    sam_model_unref (m);
  g_free (rgb);
  g_free (frame_ms);
  g_free (frame_cpu);
  g_free (frame_flt);
  g_free (stage_ms);
}

/* Runs one configuration in a fresh process (this program, re-executed with
 * --in-process) so that VmHWM is its own: not the other size's, nor that of
 * writing the synthetic model. Reads its row back from its JSON. */
static void
run_config_child (const Options * opt, gint input_size, Row * row)
{
  gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  gchar *a_size = g_strdup_printf ("%d", input_size);
  gchar *a_obj = g_strdup_printf ("%d", opt->objects);
  gchar *a_frames = g_strdup_printf ("%d", opt->frames);
  gchar *a_warmup = g_strdup_printf ("%d", opt->warmup);
  gchar *a_threads = g_strdup_printf ("%d", opt->n_threads);
  const gchar *argv[] = { self, "--in-process", "--json",
    "--model", opt->model_path, "--input-size", a_size, "--objects", a_obj,
    "--frames", a_frames, "--warmup", a_warmup, "--threads", a_threads, NULL
  };
  gchar *out = NULL;
  gint status = 0;
  GError *err = NULL;
  JsonParser *p = json_parser_new ();

  memset (row, 0, sizeof *row);
  if (!self) {
    g_strlcpy (row->error, "cannot find /proc/self/exe", sizeof row->error);
    goto out;
  }
  /* The child's stderr goes straight to ours. */
  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN,
          NULL, NULL, &out, NULL, &status, &err)
      || !g_spawn_check_wait_status (status, &err)
      || !json_parser_load_from_data (p, out, -1, &err)) {
    g_snprintf (row->error, sizeof row->error, "input size %d: %s",
        input_size, err->message);
    goto out;
  }
  JsonNode *root = json_parser_get_root (p);
  JsonArray *rows = root && JSON_NODE_HOLDS_ARRAY (root) ?
      json_node_get_array (root) : NULL;
  JsonObject *o = rows && json_array_get_length (rows) == 1 ?
      json_array_get_object_element (rows, 0) : NULL;
  JsonObject *st = o ? json_object_get_object_member (o, "stages_ms") : NULL;
  if (!st) {
    g_snprintf (row->error, sizeof row->error, "input size %d: unexpected "
        "output", input_size);
    goto out;
  }
  row->input_size = (gint) json_object_get_int_member (o, "input_size");
  row->objects = (gint) json_object_get_int_member (o, "objects");
  row->frames_timed = opt->frames - opt->warmup;
  row->frame_ms = json_object_get_double_member (o, "frame_ms");
  row->frame_cpu_ms = json_object_get_double_member (o, "frame_cpu_ms");
  row->frame_faults = json_object_get_double_member (o, "page_faults");
  for (gint k = 0; k < N_STAGES; k++)
    row->stages_ms[k] = json_object_get_double_member (st, stage_names[k]);
  row->rss_kb = json_object_get_int_member (o, "rss_kb");
  g_strlcpy (row->precision, json_object_has_member (o, "precision") ?
      json_object_get_string_member (o, "precision") : "f32",
      sizeof row->precision);
  row->ok = TRUE;

out:
  g_clear_error (&err);
  g_object_unref (p);
  g_free (out);
  g_free (self);
  g_free (a_size);
  g_free (a_obj);
  g_free (a_frames);
  g_free (a_warmup);
  g_free (a_threads);
}

static void
print_json (const Row * rows, gint n)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_array (b);
  for (gint i = 0; i < n; i++) {
    const Row *r = &rows[i];
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "precision");
    json_builder_add_string_value (b, r->precision[0] ? r->precision : "f32");
    json_builder_set_member_name (b, "input_size");
    json_builder_add_int_value (b, r->input_size);
    json_builder_set_member_name (b, "objects");
    json_builder_add_int_value (b, r->objects);
    json_builder_set_member_name (b, "frame_ms");
    json_builder_add_double_value (b, r->frame_ms);
    json_builder_set_member_name (b, "frame_cpu_ms");
    json_builder_add_double_value (b, r->frame_cpu_ms);
    json_builder_set_member_name (b, "page_faults");
    json_builder_add_double_value (b, r->frame_faults);
    json_builder_set_member_name (b, "stages_ms");
    json_builder_begin_object (b);
    for (gint k = 0; k < N_STAGES; k++) {
      json_builder_set_member_name (b, stage_names[k]);
      json_builder_add_double_value (b, r->stages_ms[k]);
    }
    json_builder_end_object (b);
    json_builder_set_member_name (b, "rss_kb");
    json_builder_add_int_value (b, r->rss_kb);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
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
print_markdown (const Options * opt, const Row * rows, gint n)
{
  printf ("model: %s; threads: %d; median of %d frames after %d warm-up; "
      "per-object stages are summed over objects\n\n", opt->model_path,
      opt->n_threads, opt->frames - opt->warmup, opt->warmup);
  printf ("| precision | input | objects | frame ms | frame CPU ms | "
      "image enc ms | mem attn ms | decoder ms | mem enc ms | "
      "peak RSS MiB | page faults |\n");
  printf ("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (gint i = 0; i < n; i++) {
    const Row *r = &rows[i];
    printf ("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | "
        "%.1f | %.0f |\n", r->precision[0] ? r->precision : "f32", r->input_size, r->objects, r->frame_ms, r->frame_cpu_ms,
        r->stages_ms[ST_IMAGE_ENCODER], r->stages_ms[ST_MEMORY_ATTENTION],
        r->stages_ms[ST_DECODER], r->stages_ms[ST_MEMORY_ENCODER],
        r->rss_kb / 1024.0, r->frame_faults);
  }
}

int
main (int argc, char **argv)
{
  Options opt = { NULL, 1, 12, 8, 0, FALSE };
  gchar *model = NULL;
  gint input_size = 0;
  gboolean in_process = FALSE;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
        "SAM 2.1 model (default: a synthetic tiny model)", "PATH"},
    {"input-size", 's', 0, G_OPTION_ARG_INT, &input_size,
        "Model input size (default: 1024 and 512)", "N"},
    {"objects", 'o', 0, G_OPTION_ARG_INT, &opt.objects,
        "Tracked objects (default 1)", "N"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &opt.frames,
        "Frames processed (default 12)", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &opt.warmup,
        "Untimed frames first; 8 fills the default memory bank", "N"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &opt.n_threads,
        "Worker threads (default: all cores)", "N"},
    {"json", 'j', 0, G_OPTION_ARG_NONE, &opt.json,
        "Print a JSON list of rows", NULL},
    {"in-process", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &in_process,
        "Measure in this process (used for the per-size child processes)",
        NULL},
    {NULL}
  };
  GError *err = NULL;
  GOptionContext *ctx = g_option_context_new ("- per-stage timings and "
      "peak memory of the tracker");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean parsed = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  if (!parsed) {
    g_printerr ("samseg-bench: %s\n", err->message);
    g_error_free (err);
    return 2;
  }
  if (opt.objects < 1 || opt.frames < 1 || opt.warmup < 0) {
    g_printerr ("samseg-bench: --objects and --frames must be >= 1\n");
    return 2;
  }
  if (opt.warmup >= opt.frames)
    opt.warmup = opt.frames - 1;

  gchar *tmpdir = NULL, *tmpmodel = NULL;
  if (in_process && (!model || !input_size)) {
    g_printerr ("samseg-bench: --in-process needs --model and --input-size\n");
    return 2;
  }
  if (!model) {
    tmpdir = g_dir_make_tmp ("samseg-bench-XXXXXX", &err);
    if (!tmpdir) {
      g_printerr ("samseg-bench: %s\n", err->message);
      return 1;
    }
    tmpmodel = g_build_filename (tmpdir, "synth-tiny.safetensors", NULL);
    /* Biased so objects are present: absent objects skip no work today,
     * but a tracker following something is the case worth timing. */
    SamSynthOverride ov = {
      (char *) "sam_mask_decoder.pred_obj_score_head.layers.2.bias", 2.0
    };
    if (!sam_synth_write_model ("tiny", 1, &ov, 1, tmpmodel, &err)) {
      g_printerr ("samseg-bench: %s\n", err->message);
      g_rmdir (tmpdir);
      return 1;
    }
    opt.model_path = tmpmodel;
  } else {
    opt.model_path = model;
  }

  gint sizes[2] = { 1024, 512 };
  gint n = 2;
  if (input_size) {
    sizes[0] = input_size;
    n = 1;
  }
  Row rows[2];
  int rc = 0;
  for (gint i = 0; i < n; i++) {
    if (in_process)
      run_config (&opt, sizes[i], &rows[i]);
    else
      run_config_child (&opt, sizes[i], &rows[i]);
    if (!rows[i].ok) {
      g_printerr ("samseg-bench: input size %d: %s\n", sizes[i],
          rows[i].error);
      rc = 1;
      break;
    }
  }
  if (rc == 0) {
    if (opt.json)
      print_json (rows, n);
    else
      print_markdown (&opt, rows, n);
  }

  if (tmpmodel) {
    g_unlink (tmpmodel);
    g_rmdir (tmpdir);
  }
  g_free (tmpmodel);
  g_free (tmpdir);
  g_free (model);
  return rc;
}
