/* samseg-bench — per-frame and per-stage timings, work rate and peak memory
 * of the tracker on a synthetic video, float32 and int8 side by side.
 *
 *   samseg-bench [--model PATH] [--precision f32,int8] [--input-size N]
 *                [--objects N[,N...]] [--frames N] [--warmup N]
 *                [--threads N] [--calib-size N] [--frame-size WxH]
 *                [--memory-frames N] [--json]
 *
 * Without --model the synthetic tiny model (engine/model/synth.h) is written
 * to a temporary directory. int8 rows bench a W8A8 model made from the float
 * one the way a user makes it: samseg-quantize (next to this program, or on
 * PATH) calibrates it on frames of the same synthetic video, written as a
 * Y4M file, at --calib-size (default 256; the speed of the int8 path does
 * not depend on the calibrated ranges). A --model that is already quantized
 * is benched as it is (its own precision; f32 rows need a float model).
 * Without --input-size both 1024 and 512 are run; --objects defaults to 1,3.
 * Frames are input-size squares unless --frame-size gives the camera's
 * resolution: then the frame time also holds what grows with it (the
 * resize to the model's input, each object's frame-size logits and box).
 * Object 1..N are clicked on frame 0; later frames carry no prompt, so after
 * num_maskmem frames the memory bank is full and every timed frame does the
 * steady-state work. Times are medians over the frames after --warmup; the
 * heap's one-time move onto huge pages (sam_tune_process_allocator) is
 * finished at the end of the warm-up.
 * Each configuration runs in a fresh child process so that its peak RSS
 * (VmHWM) is its own.
 *
 * Work rate: after the timed frames one more frame runs with the model's
 * Linear and attention observers counting multiply-adds per stage
 * (convolutions are not counted: most of the memory encoder, the patch
 * embedding and the decoder's upscaling). GMAC/s = counted MACs / stage
 * median, and "% peak" divides by threads × the per-core peak this program
 * measures on the running machine (cpu-peak.c: float32 FMA for f32 rows, the
 * int8 GEMM's integer multiply-add for int8 rows).
 */
#include "cpu-peak.h"
#include "model/quantized.h"
#include "model/synth.h"
#include "sam/sam.h"

#include <errno.h>
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
  gint frame_w, frame_h;        /* 0: input_size × input_size */
  gint memory_frames;           /* num_maskmem; 0: the session's default (7) */
  const char *cpu;              /* sam_cpu_description () */
  gboolean json;
  gboolean default_heap;        /* glibc's adaptive malloc thresholds */
  double peak_f32, peak_i8;     /* G MAC/s per core, measured */
} Options;

/* One configuration's result; plain data so a child can send it whole. */
typedef struct {
  gint input_size, objects, frames_timed;
  double frame_ms;
  double frame_cpu_ms;          /* CPU time of the process (all threads) */
  double frame_faults;          /* minor page faults per frame */
  double stages_ms[N_STAGES];   /* sums over objects for per-object stages */
  double stages_gmac[N_STAGES]; /* counted multiply-adds per frame, G */
  gint64 rss_kb;
  gboolean ok;
  char precision[48];           /* "f32", "int8", or "int8-sim" */
  char quant[48];               /* "", or e.g. "W8A8 int8" (the file's bits) */
  char error[512];
} Row;

/* The model's precision from sam_model_quant_summary (): "f32" for a float
 * model, else the file's bits ("samseg.quant" metadata) and whether the
 * quantized layers run on the int8 GEMM or as fake quantization. */
static void
model_precision (const SamModel * m, char *out, gsize n, char *prec,
    gsize np)
{
  gchar *sum = sam_model_quant_summary (m);
  if (!sum || g_str_has_prefix (sum, "float32")) {
    g_strlcpy (out, "", n);
    g_strlcpy (prec, "f32", np);
    g_free (sum);
    return;
  }
  g_strlcpy (prec, strstr (sum, "(simulated") ? "int8-sim" : "int8", np);
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

/* Multiply-adds per stage, counted by the model's observers on one frame. */
typedef struct {
  GMutex lock;
  double macs[N_STAGES];
} MacCount;

static gint
stage_of (const char *name)
{
  if (g_str_has_prefix (name, "image_encoder."))
    return ST_IMAGE_ENCODER;
  if (g_str_has_prefix (name, "memory_attention."))
    return ST_MEMORY_ATTENTION;
  if (g_str_has_prefix (name, "memory_encoder."))
    return ST_MEMORY_ENCODER;
  return ST_DECODER;            /* prompt encoder, mask decoder, obj_ptr_proj */
}

static void
count_linear (const char *name, const float *x, int64_t M, int K,
    int64_t ldx, const float *y, int N, int64_t ldy, void *ud)
{
  MacCount *c = ud;
  g_mutex_lock (&c->lock);
  c->macs[stage_of (name)] += (double) M * K * N;
  g_mutex_unlock (&c->lock);
}

static void
count_attention (const char *name, const float *q, int64_t ldq,
    const float *k, int64_t ldk, const float *v, int64_t ldv, int64_t Nq,
    int64_t Nk, int H, int D, int Dv, void *ud)
{
  MacCount *c = ud;
  g_mutex_lock (&c->lock);
  c->macs[stage_of (name)] += (double) Nq * Nk * H * (D + Dv);
  g_mutex_unlock (&c->lock);
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
  gint w = opt->frame_w ? opt->frame_w : input_size;
  gint h = opt->frame_h ? opt->frame_h : input_size;
  guint8 *rgb = g_malloc ((gsize) 3 * w * h);

  memset (row, 0, sizeof *row);
  row->input_size = input_size;
  row->objects = opt->objects;
  row->frames_timed = n_timed;

  if (!(m = sam_model_load (opt->model_path, NULL, &err)))
    goto out;
  model_precision (m, row->quant, sizeof row->quant, row->precision,
      sizeof row->precision);
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = input_size;
  sp.n_threads = opt->n_threads;
  sp.max_objects = MAX (sp.max_objects, opt->objects);
  if (opt->memory_frames != 0)  /* the session refuses a bad count */
    sp.num_maskmem = opt->memory_frames;
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
    /* The heap's one-time move onto huge pages (sam.h), which the session
     * spreads over its first frames, belongs to the warm-up: finish it
     * before the timed frames. Nothing to do with --default-heap. */
    if (i == -1)
      sam_process_heap_huge_pages_step (-1);
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

  /* one more frame, untimed, counting multiply-adds (observers make the
   * model skip the Hiera padding shortcut, so that count is ~2-8 % high) */
  {
    MacCount mc = { 0 };
    g_mutex_init (&mc.lock);
    sam_model_set_observers (m, count_linear, count_attention, &mc);
    make_frame (rgb, w, h, opt->frames, opt->objects);
    SamImage img = { SAM_PIXEL_RGB, w, h, 3 * w, rgb };
    SamFrameResult res;
    gboolean ok = sam_session_process_frame (s, &img, &res, &err);
    sam_model_set_observers (m, NULL, NULL, NULL);
    g_mutex_clear (&mc.lock);
    if (!ok)
      goto out;
    for (gint k = 0; k < ST_TOTAL; k++) {
      row->stages_gmac[k] = mc.macs[k] / 1e9;
      row->stages_gmac[ST_TOTAL] += mc.macs[k] / 1e9;
    }
  }
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
  gchar *a_frame = g_strdup_printf ("%dx%d", opt->frame_w, opt->frame_h);
  gchar *a_mem = g_strdup_printf ("%d", opt->memory_frames);
  const gchar *argv[] = { self, "--in-process", "--json",
    "--model", opt->model_path, "--input-size", a_size, "--objects", a_obj,
    "--frames", a_frames, "--warmup", a_warmup, "--threads", a_threads,
    NULL, NULL, NULL, NULL, NULL, NULL
  };
  /* the optional ones after the fixed ones, NULL-terminated */
  gint na = 15;
  if (opt->frame_w) {
    argv[na++] = "--frame-size";
    argv[na++] = a_frame;
  }
  if (opt->default_heap)
    argv[na++] = "--default-heap";
  if (opt->memory_frames) {
    argv[na++] = "--memory-frames";
    argv[na++] = a_mem;
  }
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
  JsonObject *st = o && json_object_has_member (o, "stages_ms") ?
      json_object_get_object_member (o, "stages_ms") : NULL;
  JsonObject *sg = o && json_object_has_member (o, "stages_gmac") ?
      json_object_get_object_member (o, "stages_gmac") : NULL;
  if (!st || !sg) {
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
  for (gint k = 0; k < N_STAGES; k++) {
    row->stages_ms[k] = json_object_get_double_member (st, stage_names[k]);
    row->stages_gmac[k] = json_object_get_double_member (sg, stage_names[k]);
  }
  row->rss_kb = json_object_get_int_member (o, "rss_kb");
  g_strlcpy (row->precision, json_object_get_string_member_with_default (o,
          "precision", "f32"), sizeof row->precision);
  g_strlcpy (row->quant, json_object_get_string_member_with_default (o,
          "quant", ""), sizeof row->quant);
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
  g_free (a_mem);
  g_free (a_threads);
  g_free (a_frame);
}

static gint
n_threads_of (const Options * opt)
{
  return opt->n_threads > 0 ? opt->n_threads : (gint) g_get_num_processors ();
}

/* Per-core peak for the row's precision (0 in the child: not measured). */
static double
row_peak (const Options * opt, const Row * r)
{
  return g_str_has_prefix (r->precision, "int8") && strcmp (r->precision,
      "int8-sim") != 0 ? opt->peak_i8 : opt->peak_f32;
}

static double
stage_gmacs (const Row * r, gint k)
{
  return r->stages_ms[k] > 0 ? r->stages_gmac[k] / (r->stages_ms[k] / 1e3)
      : 0;
}

static void
add_stage_object (JsonBuilder * b, const char *member, const double *v)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  for (gint k = 0; k < N_STAGES; k++) {
    json_builder_set_member_name (b, stage_names[k]);
    json_builder_add_double_value (b, v[k]);
  }
  json_builder_end_object (b);
}

static void
print_json (const Options * opt, const Row * rows, gint n)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_array (b);
  for (gint i = 0; i < n; i++) {
    const Row *r = &rows[i];
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "precision");
    json_builder_add_string_value (b, r->precision[0] ? r->precision : "f32");
    json_builder_set_member_name (b, "quant");
    json_builder_add_string_value (b, r->quant);
    json_builder_set_member_name (b, "input_size");
    json_builder_add_int_value (b, r->input_size);
    json_builder_set_member_name (b, "objects");
    json_builder_add_int_value (b, r->objects);
    json_builder_set_member_name (b, "frame_width");
    json_builder_add_int_value (b, opt->frame_w ? opt->frame_w :
        r->input_size);
    json_builder_set_member_name (b, "frame_height");
    json_builder_add_int_value (b, opt->frame_h ? opt->frame_h :
        r->input_size);
    json_builder_set_member_name (b, "threads");
    json_builder_add_int_value (b, n_threads_of (opt));
    json_builder_set_member_name (b, "cpu");
    json_builder_add_string_value (b, opt->cpu);
    if (opt->memory_frames) {
      json_builder_set_member_name (b, "memory_frames");
      json_builder_add_int_value (b, opt->memory_frames);
    }
    json_builder_set_member_name (b, "frame_ms");
    json_builder_add_double_value (b, r->frame_ms);
    json_builder_set_member_name (b, "frame_cpu_ms");
    json_builder_add_double_value (b, r->frame_cpu_ms);
    json_builder_set_member_name (b, "page_faults");
    json_builder_add_double_value (b, r->frame_faults);
    add_stage_object (b, "stages_ms", r->stages_ms);
    add_stage_object (b, "stages_gmac", r->stages_gmac);
    double peak = row_peak (opt, r);
    if (peak > 0) {
      double gs[N_STAGES], pct[N_STAGES];
      for (gint k = 0; k < N_STAGES; k++) {
        gs[k] = stage_gmacs (r, k);
        pct[k] = 100.0 * gs[k] / (peak * n_threads_of (opt));
      }
      add_stage_object (b, "stages_gmacs", gs);
      add_stage_object (b, "stages_peak_pct", pct);
      json_builder_set_member_name (b, "peak_gmacs_per_core");
      json_builder_add_double_value (b, peak);
    }
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
  gint nt = n_threads_of (opt);
  printf ("cpu: %s; threads: %d; median of %d frames after %d warm-up; "
      "per-object stages are summed over objects; measured peak per core: "
      "f32 FMA %.1f, int8 %.1f G MAC/s\n\n", opt->cpu, nt,
      opt->frames - opt->warmup, opt->warmup, opt->peak_f32, opt->peak_i8);
  if (opt->frame_w)
    printf ("frames: %d × %d pixels\n\n", opt->frame_w, opt->frame_h);
  if (opt->memory_frames)
    printf ("memory frames: %d per object\n\n", opt->memory_frames);
  printf ("| precision | input | objects | frame ms | frame CPU ms | "
      "image enc ms | mem attn ms | decoder ms | mem enc ms | "
      "peak RSS MiB | page faults |\n");
  printf ("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (gint i = 0; i < n; i++) {
    const Row *r = &rows[i];
    printf ("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | "
        "%.1f | %.0f |\n", r->precision, r->input_size, r->objects,
        r->frame_ms, r->frame_cpu_ms, r->stages_ms[ST_IMAGE_ENCODER],
        r->stages_ms[ST_MEMORY_ATTENTION], r->stages_ms[ST_DECODER],
        r->stages_ms[ST_MEMORY_ENCODER], r->rss_kb / 1024.0, r->frame_faults);
  }
  printf ("\nWork rate: counted GMAC per frame, GMAC/s on the stage median "
      "(wall), %% of %d × the precision's per-core peak (convolutions not "
      "counted)\n\n", nt);
  printf ("| precision | input | objects | image enc | mem attn | decoder | "
      "mem enc | engine total |\n");
  printf ("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  const gint order[] = { ST_IMAGE_ENCODER, ST_MEMORY_ATTENTION, ST_DECODER,
    ST_MEMORY_ENCODER, ST_TOTAL
  };
  for (gint i = 0; i < n; i++) {
    const Row *r = &rows[i];
    double peak = row_peak (opt, r) * nt;
    printf ("| %s | %d | %d |", r->precision, r->input_size, r->objects);
    for (guint j = 0; j < G_N_ELEMENTS (order); j++) {
      gint k = order[j];
      double g = stage_gmacs (r, k);
      printf (" %.1f G, %.0f G/s, %.0f %% |", r->stages_gmac[k], g,
          peak > 0 ? 100.0 * g / peak : 0.0);
    }
    printf ("\n");
  }
  if (rows[0].quant[0] || (n > 1 && rows[n - 1].quant[0]))
    for (gint i = 0; i < n; i++)
      if (rows[i].quant[0]) {
        printf ("\nint8 model: %s\n", rows[i].quant);
        break;
      }
}

/* ---- an int8 model, as a user makes one ---------------------------------- */

/* The bench's synthetic frames as a Y4M file (4:2:0, BT.601 limited range,
 * which is how FFmpeg reads an unlabelled SD Y4M back), for
 * samseg-quantize's --calib. */
static gboolean
write_calib_y4m (const char *path, gint size, gint frames, gint objects,
    GError ** error)
{
  FILE *f = fopen (path, "wb");
  if (!f) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "%s: %s", path, g_strerror (errno));
    return FALSE;
  }
  gint w = size, h = size, cw = w / 2, ch = h / 2;
  guint8 *rgb = g_malloc ((gsize) 3 * w * h);
  guint8 *yuv = g_malloc ((gsize) w * h + 2 * (gsize) cw * ch);
  fprintf (f, "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\n", w, h);
  for (gint fr = 0; fr < frames; fr++) {
    make_frame (rgb, w, h, fr, objects);
    guint8 *Y = yuv, *U = yuv + (gsize) w * h, *V = U + (gsize) cw * ch;
    for (gint i = 0; i < w * h; i++) {
      const guint8 *p = rgb + 3 * i;
      Y[i] = (guint8) (16.5 + (65.481 * p[0] + 128.553 * p[1] +
              24.966 * p[2]) / 255.0);
    }
    for (gint y = 0; y < ch; y++)
      for (gint x = 0; x < cw; x++) {
        double r = 0, g = 0, bl = 0;
        for (gint d = 0; d < 4; d++) {
          const guint8 *p = rgb + 3 * ((gsize) (2 * y + d / 2) * w + 2 * x +
              d % 2);
          r += p[0] / 4.0;
          g += p[1] / 4.0;
          bl += p[2] / 4.0;
        }
        U[y * cw + x] = (guint8) (128.5 + (-37.797 * r - 74.203 * g +
                112.0 * bl) / 255.0);
        V[y * cw + x] = (guint8) (128.5 + (112.0 * r - 93.786 * g -
                18.214 * bl) / 255.0);
      }
    fputs ("FRAME\n", f);
    fwrite (yuv, 1, (gsize) w * h + 2 * (gsize) cw * ch, f);
  }
  g_free (rgb);
  g_free (yuv);
  if (fclose (f) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "%s: %s", path, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

/* samseg-quantize FLOAT --calib Y4M --input-size N --frames 4 --bits W8A8. */
static gboolean
quantize_model (const char *fmodel, const char *dir, gint calib_size,
    gint threads, char **qmodel, GError ** error)
{
  gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  gchar *sdir = self ? g_path_get_dirname (self) : NULL;
  gchar *tool = sdir ? g_build_filename (sdir, "samseg-quantize", NULL) : NULL;
  if (!tool || !g_file_test (tool, G_FILE_TEST_IS_EXECUTABLE)) {
    g_free (tool);
    tool = g_find_program_in_path ("samseg-quantize");
  }
  gchar *y4m = g_build_filename (dir, "calib.y4m", NULL);
  gchar *out = g_build_filename (dir, "bench-w8a8.safetensors", NULL);
  gchar *a_size = g_strdup_printf ("%d", calib_size);
  gchar *a_thr = g_strdup_printf ("%d", threads);
  gboolean ok = FALSE;
  gint status = 0;
  if (!tool) {
    g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT, "int8 rows need "
        "samseg-quantize (built with video support), not found next to "
        "samseg-bench nor on PATH");
    goto out;
  }
  const gint frames = 4;
  if (!write_calib_y4m (y4m, calib_size, frames, 3, error))
    goto out;
  const gchar *argv[] = { tool, fmodel, "--calib", y4m, "--input-size",
    a_size, "--frames", "4", "--bits", "W8A8", "--threads", a_thr, "-o", out,
    NULL
  };
  g_printerr ("samseg-bench: making the int8 model: %s %s --calib %s "
      "--input-size %s --frames 4 --bits W8A8 -o %s\n", tool, fmodel, y4m,
      a_size, out);
  ok = g_spawn_sync (NULL, (gchar **) argv, NULL,
      G_SPAWN_CHILD_INHERITS_STDIN | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
      NULL, NULL, &status, error) && g_spawn_check_wait_status (status, error);
  g_unlink (y4m);
  if (ok)
    *qmodel = g_steal_pointer (&out);
out:
  g_free (self);
  g_free (sdir);
  g_free (tool);
  g_free (y4m);
  g_free (out);
  g_free (a_size);
  g_free (a_thr);
  return ok;
}

/* "1,3" → {1, 3}; FALSE on anything else. */
static gboolean
parse_int_list (const char *s, gint * v, gint max, gint * n)
{
  gchar **parts = g_strsplit (s, ",", -1);
  gboolean ok = parts[0] != NULL;
  *n = 0;
  for (gint i = 0; ok && parts[i]; i++) {
    gchar *end = NULL;
    gint64 x = g_ascii_strtoll (parts[i], &end, 10);
    ok = end != parts[i] && *end == 0 && x >= 1 && x <= 64 && *n < max;
    if (ok)
      v[(*n)++] = (gint) x;
  }
  g_strfreev (parts);
  return ok;
}

int
main (int argc, char **argv)
{
  Options opt = { NULL, 1, 12, 8, 0, 0, 0, FALSE, FALSE, 0, 0 };
  /* freed on every return, the in-process child's included */
  g_autofree gchar *model = NULL, *objects_arg = NULL, *precision_arg = NULL;
  g_autofree gchar *frame_arg = NULL;
  gint input_size = 0, calib_size = 256;
  gboolean in_process = FALSE;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
        "SAM 2.1 model, float or quantized (default: a synthetic tiny model)",
        "PATH"},
    {"precision", 'p', 0, G_OPTION_ARG_STRING, &precision_arg,
        "f32, int8 or f32,int8 (default; int8 of a float model: quantized "
          "W8A8 first)", "LIST"},
    {"input-size", 's', 0, G_OPTION_ARG_INT, &input_size,
        "Model input size (default: 1024 and 512)", "N"},
    {"objects", 'o', 0, G_OPTION_ARG_STRING, &objects_arg,
        "Tracked objects, a comma list (default 1,3)", "N[,N]"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &opt.frames,
        "Frames processed (default 12)", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &opt.warmup,
        "Untimed frames first; 8 fills the default memory bank", "N"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &opt.n_threads,
        "Worker threads (default: all cores)", "N"},
    {"calib-size", 0, 0, G_OPTION_ARG_INT, &calib_size,
        "Input size of the int8 model's calibration (default 256)", "N"},
    {"frame-size", 'f', 0, G_OPTION_ARG_STRING, &frame_arg,
        "Frame resolution, e.g. 1920x1080 (default: input size squared)",
        "WxH"},
    {"memory-frames", 'M', 0, G_OPTION_ARG_INT, &opt.memory_frames,
        "Memories per object incl. the prompted frame (default 7; the "
          "element's memory-frames)", "N"},
    {"json", 'j', 0, G_OPTION_ARG_NONE, &opt.json,
        "Print a JSON list of rows", NULL},
    {"default-heap", 0, 0, G_OPTION_ARG_NONE, &opt.default_heap,
        "Leave glibc's malloc thresholds adaptive (default: "
          "sam_tune_process_allocator, as the element does)", NULL},
    {"in-process", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &in_process,
        "Measure in this process (used for the per-size child processes)",
        NULL},
    {NULL}
  };
  GError *err = NULL;
  GOptionContext *ctx = g_option_context_new ("- per-stage timings, work "
      "rate and peak memory of the tracker, float32 and int8");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean parsed = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  g_autofree char *cpu = sam_cpu_description ();
  opt.cpu = cpu;
  if (!parsed) {
    g_printerr ("samseg-bench: %s\n", err->message);
    g_error_free (err);
    return 2;
  }
  gint objs[8], n_objs = 0;
  if (!parse_int_list (objects_arg ? objects_arg : "1,3", objs, 8, &n_objs)) {
    g_printerr ("samseg-bench: --objects must be a comma list of 1..64\n");
    return 2;
  }
  gboolean want_f32 = TRUE, want_i8 = TRUE;
  if (precision_arg) {
    gchar **parts = g_strsplit (precision_arg, ",", -1);
    want_f32 = want_i8 = FALSE;
    gboolean bad = !parts[0];
    for (gint i = 0; parts[i]; i++) {
      if (!strcmp (parts[i], "f32"))
        want_f32 = TRUE;
      else if (!strcmp (parts[i], "int8"))
        want_i8 = TRUE;
      else
        bad = TRUE;
    }
    g_strfreev (parts);
    if (bad) {
      g_printerr ("samseg-bench: --precision takes f32, int8 or f32,int8\n");
      return 2;
    }
  }
  if (opt.frames < 1 || opt.warmup < 0 || calib_size < 64
      || calib_size > 4096) {
    g_printerr ("samseg-bench: --frames must be >= 1, --warmup >= 0, "
        "--calib-size 64..4096\n");
    return 2;
  }
  if (frame_arg) {
    gchar *end = NULL;
    gint64 fw = g_ascii_strtoll (frame_arg, &end, 10), fh = 0;
    if (end != frame_arg && *end == 'x') {
      const gchar *hs = end + 1;
      fh = g_ascii_strtoll (hs, &end, 10);
      if (end == hs || *end)
        fh = 0;
    }
    if (fw < 1 || fw > 16384 || fh < 1 || fh > 16384) {
      g_printerr ("samseg-bench: --frame-size takes WxH, 1..16384 each\n");
      return 2;
    }
    opt.frame_w = (gint) fw;
    opt.frame_h = (gint) fh;
  }
  if (opt.warmup >= opt.frames)
    opt.warmup = opt.frames - 1;

  if (in_process) {
    if (!model || !input_size || n_objs != 1) {
      g_printerr ("samseg-bench: --in-process needs --model, --input-size "
          "and one --objects\n");
      return 2;
    }
    opt.model_path = model;
    opt.objects = objs[0];
    if (!opt.default_heap)
      sam_tune_process_allocator ();
    Row row;
    run_config (&opt, input_size, &row);
    if (!row.ok) {
      g_printerr ("samseg-bench: input size %d: %s\n", input_size, row.error);
      return 1;
    }
    print_json (&opt, &row, 1);
    return 0;
  }

  /* The models: float (given or synthetic) and/or int8 (given, or made). */
  gchar *tmpdir = NULL, *fmodel = NULL, *qmodel = NULL;
  int rc = 0;
  tmpdir = g_dir_make_tmp ("samseg-bench-XXXXXX", &err);
  if (!tmpdir)
    goto fail;
  if (model) {
    SamModel *m = sam_model_load (model, NULL, &err);
    if (!m)
      goto fail;
    gboolean quantized = sam_model_n_quantized (m) > 0;
    sam_model_unref (m);
    if (quantized) {
      if (precision_arg && want_f32) {
        g_set_error (&err, SAM_ERROR, SAM_ERROR_FORMAT, "%s is a quantized "
            "model: f32 rows need a float model", model);
        goto fail;
      }
      want_f32 = FALSE;
      want_i8 = TRUE;
      qmodel = g_strdup (model);
    } else {
      fmodel = g_strdup (model);
    }
  } else {
    fmodel = g_build_filename (tmpdir, "synth-tiny.safetensors", NULL);
    /* Biased so objects are present: absent objects skip no work today,
     * but a tracker following something is the case worth timing. */
    SamSynthOverride ov = {
      (char *) "sam_mask_decoder.pred_obj_score_head.layers.2.bias", 2.0
    };
    if (!sam_synth_write_model ("tiny", 1, &ov, 1, fmodel, &err))
      goto fail;
  }
  if (want_i8 && !qmodel && !quantize_model (fmodel, tmpdir, calib_size,
          opt.n_threads, &qmodel, &err))
    goto fail;

  opt.peak_f32 = want_f32 ? sam_peak_f32_gmacs () : 0;
  opt.peak_i8 = want_i8 ? sam_peak_i8_gmacs () : 0;

  gint sizes[2] = { 1024, 512 };
  gint n_sizes = 2;
  if (input_size) {
    sizes[0] = input_size;
    n_sizes = 1;
  }
  Row rows[2 * 2 * 8];
  gint n = 0;
  for (gint pi = 0; pi < 2 && rc == 0; pi++) {
    const char *path = pi == 0 ? (want_f32 ? fmodel : NULL)
        : (want_i8 ? qmodel : NULL);
    if (!path)
      continue;
    for (gint si = 0; si < n_sizes && rc == 0; si++)
      for (gint oi = 0; oi < n_objs && rc == 0; oi++) {
        Options o = opt;
        o.model_path = path;
        o.objects = objs[oi];
        run_config_child (&o, sizes[si], &rows[n]);
        if (!rows[n].ok) {
          g_printerr ("samseg-bench: input size %d, %d object(s): %s\n",
              sizes[si], objs[oi], rows[n].error);
          rc = 1;
        }
        n++;
      }
  }
  if (rc == 0) {
    if (opt.json)
      print_json (&opt, rows, n);
    else
      print_markdown (&opt, rows, n);
  }
  goto done;

fail:
  g_printerr ("samseg-bench: %s\n", err->message);
  g_clear_error (&err);
  rc = 1;
done:
  if (tmpdir) {
    gchar *own = g_build_filename (tmpdir, "synth-tiny.safetensors", NULL);
    gchar *ownq = g_build_filename (tmpdir, "bench-w8a8.safetensors", NULL);
    g_unlink (own);
    g_unlink (ownq);
    g_free (own);
    g_free (ownq);
    g_rmdir (tmpdir);
  }
  g_free (tmpdir);
  g_free (fmodel);
  g_free (qmodel);
  return rc;
}
