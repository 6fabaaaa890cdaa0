/* samseg-soak — memory stays flat over endless streams.
 *
 *   samseg-soak [--frames N] [--every K] [--input-size S] [--objects N]
 *               [--memory-precision bf16|f32|int8] [--threads N]
 *               [--model PATH] [--bank-only]
 *
 * Runs a session on synthetic frames (discs drifting over a textured
 * background) for N frames (default 100000) with objects coming and going:
 * up to --objects tracked at once; object 1 stays and gets a correction
 * click every 37 frames (so its conditioning frames pass max_cond_frames
 * after 592 frames and the bank demotes), the others are replaced in turn
 * by a new id every 61 frames, and every 53 frames one object is clicked. Every K frames it prints the frame,
 * VmRSS, the memory banks' bytes, the number of objects and the mean time
 * per frame since the last line.
 *
 * --bank-only soaks what keeps state across frames without the networks:
 * per object and frame, the memory bank's add and select and memory-prep's
 * token assembly (sam_memory_build_tokens), with the same object schedule.
 * It covers 100,000 frames in seconds; the full engine at input 256 needs
 * about 0.3-1 s per frame per core.
 *
 * Without --model the synthetic tiny model is written to a temporary file.
 */
#include "model/synth.h"
#include "nn/memory-prep.h"
#include "sam/sam.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_PERIOD 61           /* remove the oldest, add a new id */
#define CLICK_PERIOD 37         /* correction click on object slot 0 */
#define OTHER_CLICK_PERIOD 53   /* correction click on each slot in turn */
#define MAX_SOAK_OBJECTS 16

static gint64
rss_kb (void)
{
  gchar *status = NULL;
  gint64 kb = -1;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const gchar *p = strstr (status, "VmRSS:");
  if (p)
    kb = g_ascii_strtoll (p + 6, NULL, 10);
  g_free (status);
  return kb;
}

/* Where object slot @k's disc is on frame @f. */
static void
disc_center (gint k, gint n, gint f, gint S, float *x, float *y)
{
  gint span = S / 2;
  gint phase = (f * 2 + k * 37) % (2 * span);
  gint off = phase < span ? phase : 2 * span - phase;   /* back and forth */
  *x = (float) (S / 4 + off);
  *y = (float) ((k + 1) * S / (n + 1));
}

static void
make_frame (guint8 * rgb, gint S, gint f, gint n)
{
  for (gint y = 0; y < S; y++)
    for (gint x = 0; x < S; x++) {
      guint8 *p = rgb + 3 * ((gsize) y * S + x);
      guint32 h = (guint32) (x * 73856093u ^ y * 19349663u) >> 27;
      p[0] = (guint8) (40 + (x * 60) / S + h);
      p[1] = (guint8) (60 + (y * 60) / S + h);
      p[2] = (guint8) (80 + h);
    }
  gint r = MAX (4, S / (4 * (n + 1)));
  for (gint k = 0; k < n; k++) {
    float cx, cy;
    disc_center (k, n, f, S, &cx, &cy);
    for (gint y = MAX (0, (gint) cy - r); y < MIN (S, (gint) cy + r); y++)
      for (gint x = MAX (0, (gint) cx - r); x < MIN (S, (gint) cx + r); x++)
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) {
          guint8 *p = rgb + 3 * ((gsize) y * S + x);
          p[0] = 230;
          p[1] = (guint8) (50 * k);
          p[2] = 40;
        }
  }
}

/* The object schedule shared by both modes: slot k holds id ids[k]. */
typedef struct {
  gint n;                       /* slots (objects tracked at once) */
  guint32 ids[MAX_SOAK_OBJECTS];
  guint32 next_id;
  gint oldest;                  /* next of slots 1..n-1 to replace, minus 1 */
  guint32 old_id;               /* the id the last replacement removed */
} Schedule;

/* What happens before frame @f: returns the slot whose object is replaced
 * (-1: none) and the slot clicked again (-1: none). Slot 0 is never
 * replaced and gets a correction click every CLICK_PERIOD frames, so its
 * conditioning store fills (after 16 × 37 frames) and then demotes; the
 * other slots are replaced in turn every OBJ_PERIOD frames; every
 * OTHER_CLICK_PERIOD frames one slot (in turn) is clicked. */
static void
schedule_step (Schedule * sc, gint64 f, gint * replaced, gint * clicked)
{
  *replaced = *clicked = -1;
  if (f == 0)
    return;
  if (f % OBJ_PERIOD == 0 && sc->n > 1) {
    gint k = 1 + sc->oldest;
    *replaced = k;
    sc->old_id = sc->ids[k];
    sc->ids[k] = sc->next_id++;
    sc->oldest = (sc->oldest + 1) % (sc->n - 1);
  } else if (f % CLICK_PERIOD == 0) {
    *clicked = 0;
  } else if (f % OTHER_CLICK_PERIOD == 0) {
    *clicked = (gint) ((f / OTHER_CLICK_PERIOD) % sc->n);
  }
}

typedef struct {
  gint64 frames, every;
  gint S, objects, threads, precision;
  gboolean bank_only;
  const gchar *model_path;
} Options;

static void
print_header (void)
{
  printf ("%10s %10s %12s %8s %10s\n", "frame", "rss_kb", "bank_bytes",
      "objects", "ms/frame");
}

static void
print_line (gint64 f, gsize bank, gint n, double ms)
{
  printf ("%10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT " %12zu %8d %10.3f\n",
      f, rss_kb (), bank, n, ms);
  fflush (stdout);
}

static gboolean
soak_engine (const Options * o, SamModel * m, GError ** error)
{
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = o->S;
  sp.n_threads = o->threads;
  sp.memory_precision = o->precision;
  sp.max_objects = MAX (sp.max_objects, o->objects);
  SamSession *s = sam_session_new (m, &sp, error);
  if (!s)
    return FALSE;
  Schedule sc = { o->objects };
  for (gint k = 0; k < o->objects; k++)
    sc.ids[k] = (guint32) k + 1;
  sc.next_id = (guint32) o->objects + 1;
  guint8 *rgb = g_malloc ((gsize) 3 * o->S * o->S);
  gint64 t0 = g_get_monotonic_time ();
  gboolean ok = TRUE;
  print_header ();
  for (gint64 f = 0; f < o->frames && ok; f++) {
    gint replaced, clicked;
    schedule_step (&sc, f, &replaced, &clicked);
    for (gint k = 0; k < o->objects; k++) {
      if (f != 0 && k != replaced && k != clicked)
        continue;
      if (k == replaced)
        sam_session_remove_object (s, sc.old_id);
      float pt[2];
      gint32 label = 1;
      disc_center (k, o->objects, (gint) (f % 100000), o->S, &pt[0], &pt[1]);
      SamPrompt p = { 1, pt, &label, FALSE, {0}, TRUE };
      if (!sam_session_add_prompt (s, sc.ids[k], &p, error)) {
        ok = FALSE;
        break;
      }
    }
    make_frame (rgb, o->S, (gint) (f % 100000), o->objects);
    SamImage img = { SAM_PIXEL_RGB, o->S, o->S, 3 * o->S, rgb };
    SamFrameResult r;
    if (ok && !sam_session_process_frame (s, &img, &r, error))
      ok = FALSE;
    if (ok && ((f + 1) % o->every == 0 || f + 1 == o->frames)) {
      gint64 t1 = g_get_monotonic_time ();
      gint64 n = (f + 1) % o->every ? (f + 1) % o->every : o->every;
      print_line (f + 1, sam_session_memory_bytes (s),
          sam_session_n_objects (s), (t1 - t0) / 1e3 / n);
      t0 = t1;
    }
  }
  g_free (rgb);
  sam_session_free (s);
  return ok;
}

/* The memory bank and memory-prep of each object, with stand-in features
 * and pointers (values vary with the frame so storage really happens). */
static gboolean
soak_bank (const Options * o, SamModel * m, GError ** error)
{
  const gint H2 = o->S / 16, T = H2 * H2;
  SamMemoryBankConfig c;
  sam_memory_bank_config_init (&c);
  c.n_tokens = T;
  c.precision = (SamMemoryBankPrecision) o->precision;
  SamMemoryBankSet *set = sam_memory_bank_set_new (&c, o->objects);
  if (!set) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT, "bad bank config");
    return FALSE;
  }
  Schedule sc = { o->objects };
  for (gint k = 0; k < o->objects; k++)
    sc.ids[k] = (guint32) k + 1;
  sc.next_id = (guint32) o->objects + 1;
  float *feat = g_new (float, (gsize) T * c.mem_dim);
  float *pos = g_new0 (float, (gsize) T * c.mem_dim);
  float ptr[256];
  gint64 t0 = g_get_monotonic_time ();
  print_header ();
  for (gint64 f = 0; f < o->frames; f++) {
    gint replaced, clicked;
    schedule_step (&sc, f, &replaced, &clicked);
    if (replaced >= 0)
      sam_memory_bank_set_remove (set, sc.old_id);
    for (gsize i = 0; i < (gsize) T * c.mem_dim; i++)
      feat[i] = (float) ((f + (gint64) i) % 97) / 97.f - 0.5f;
    for (gint i = 0; i < 256; i++)
      ptr[i] = (float) ((f + i) % 31) / 31.f;
    for (gint k = 0; k < o->objects; k++) {
      SamMemoryBank *b = sam_memory_bank_set_add (set, sc.ids[k]);
      gboolean cond = f == 0 || k == replaced || k == clicked;
      if (!cond) {
        float *mem = NULL, *mem_pos = NULL;
        gint n_mem, n_ptr;
        if (!sam_memory_build_tokens (m, NULL, b, f, 0, pos, &mem, &mem_pos,
                &n_mem, &n_ptr)) {
          g_set_error (error, SAM_ERROR, SAM_ERROR_BAD_STATE,
              "object %u has no conditioning frame", sc.ids[k]);
          return FALSE;
        }
        g_free (mem);
        g_free (mem_pos);
      }
      sam_memory_bank_add (b, f, cond, feat, ptr, 1.f);
    }
    if ((f + 1) % o->every == 0 || f + 1 == o->frames) {
      gint64 t1 = g_get_monotonic_time ();
      gint64 n = (f + 1) % o->every ? (f + 1) % o->every : o->every;
      gsize bytes = 0;
      for (gint k = 0; k < sam_memory_bank_set_n_objects (set); k++)
        bytes += sam_memory_bank_bytes (sam_memory_bank_set_nth (set, k));
      print_line (f + 1, bytes, sam_memory_bank_set_n_objects (set),
          (t1 - t0) / 1e3 / n);
      t0 = t1;
    }
  }
  g_free (feat);
  g_free (pos);
  sam_memory_bank_set_free (set);
  return TRUE;
}

int
main (int argc, char **argv)
{
  Options o = { 100000, 0, 256, 3, 0, 0, FALSE, NULL };
  gchar *model = NULL, *precision = NULL;
  gint64 every = 0;
  GOptionEntry entries[] = {
    {"frames", 'n', 0, G_OPTION_ARG_INT64, &o.frames,
        "Frames (default 100000)", "N"},
    {"every", 'k', 0, G_OPTION_ARG_INT64, &every,
        "Print every K frames (default: 100, bank-only 10000)", "K"},
    {"input-size", 's', 0, G_OPTION_ARG_INT, &o.S,
        "Model input size (default 256)", "S"},
    {"objects", 'o', 0, G_OPTION_ARG_INT, &o.objects,
        "Objects tracked at once (default 3)", "N"},
    {"memory-precision", 'p', 0, G_OPTION_ARG_STRING, &precision,
        "Memory storage: bf16 (default), f32, int8", "P"},
    {"threads", 't', 0, G_OPTION_ARG_INT, &o.threads,
        "Worker threads (default: all cores)", "N"},
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
        "SAM 2.1 model (default: a synthetic tiny model)", "PATH"},
    {"bank-only", 'b', 0, G_OPTION_ARG_NONE, &o.bank_only,
        "Memory bank + memory-prep only (no networks)", NULL},
    {NULL}
  };
  GError *err = NULL;
  GOptionContext *ctx = g_option_context_new ("- memory over long streams");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean parsed = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  if (!parsed) {
    g_printerr ("samseg-soak: %s\n", err->message);
    return 2;
  }
  if (!precision || strcmp (precision, "bf16") == 0)
    o.precision = SAM_MEMORY_PRECISION_BF16;
  else if (strcmp (precision, "f32") == 0)
    o.precision = SAM_MEMORY_PRECISION_F32;
  else if (strcmp (precision, "int8") == 0)
    o.precision = SAM_MEMORY_PRECISION_INT8;
  else {
    g_printerr ("samseg-soak: --memory-precision is bf16, f32 or int8\n");
    return 2;
  }
  if (o.frames < 1 || o.objects < 1 || o.objects > MAX_SOAK_OBJECTS) {
    g_printerr ("samseg-soak: --frames >= 1, --objects in [1, %d]\n",
        MAX_SOAK_OBJECTS);
    return 2;
  }
  o.every = every > 0 ? every : o.bank_only ? 10000 : 100;

  gchar *tmp = NULL;
  if (!model) {
    int fd = g_file_open_tmp ("samseg-soak-XXXXXX.safetensors", &tmp, &err);
    if (fd < 0)
      goto fail;
    close (fd);
    if (!sam_synth_write_model ("tiny", 1, NULL, 0, tmp, &err))
      goto fail;
  }
  SamModel *m = sam_model_load (model ? model : tmp, NULL, &err);
  if (tmp)
    g_unlink (tmp);             /* the mapping outlives the name */
  if (!m)
    goto fail;
  printf ("samseg-soak: %s, input %d, %d objects, memory %s, %" G_GINT64_FORMAT
      " frames\n", o.bank_only ? "memory bank + memory-prep" : "engine",
      o.S, o.objects, precision ? precision : "bf16", o.frames);
  gboolean ok = o.bank_only ? soak_bank (&o, m, &err) : soak_engine (&o, m,
      &err);
  sam_model_unref (m);
  if (!ok)
    goto fail;
  g_free (tmp);
  return 0;
fail:
  g_printerr ("samseg-soak: %s\n", err ? err->message : "failed");
  g_clear_error (&err);
  g_free (tmp);
  return 1;
}
