/* gstsamseg.c — the samseg element (GstVideoFilter, in place).
 *
 * Threading: properties and the queue of pending prompt operations are
 * guarded by the object lock; transform_frame_ip copies what it needs under
 * the lock and runs conversion, inference, meta and overlay without it. The
 * engine session is used only from the streaming thread (start/stop run with
 * the streaming thread stopped).
 */
/**
 * SECTION:element-samseg
 * @title: samseg
 *
 * Segments and tracks prompted objects through a video with SAM 2.1.
 * Prompts come from the #GstSamSeg:prompt and #GstSamSeg:prompt-file
 * properties, from custom events (see gstsamsegevent.h), from the
 * "add-point", "add-box", "add-prompt", "remove-object" and "reset" action
 * signals, or from mouse clicks in the video sink. Each buffer gets a
 * GstSamSegMeta (per object: id, score, IoU, box, RLE mask) and one
 * GstVideoRegionOfInterestMeta per visible object.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! qtdemux ! h264parse ! avdec_h264 !
 *     samseg model=sam2.1_hiera_t.safetensors prompt="1:+310,200" !
 *     videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsamseg.h"
#include "gstsamseg-prompt.h"
#include "gstsamseg-overlay.h"
#include "gstsamsegmeta.h"
#include "gstsamsegevent.h"

#include <gst/video/gstvideometa.h>
#include <gst/video/navigation.h>
#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_samseg_debug);
#define GST_CAT_DEFAULT gst_samseg_debug

#define DEFAULT_THREADS 0
#define DEFAULT_INPUT_SIZE 0
#define DEFAULT_OVERLAY TRUE
#define DEFAULT_OVERLAY_ALPHA 0.5
#define DEFAULT_OUTLINE TRUE
#define DEFAULT_INTERVAL 1
#define DEFAULT_MAX_OBJECTS 16
#define DEFAULT_MASK_THRESHOLD 0.0
#define DEFAULT_MEMORY_FRAMES 7
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_TUNE_ALLOCATOR TRUE

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_THREADS,
  PROP_INPUT_SIZE,
  PROP_PROMPT,
  PROP_PROMPT_FILE,
  PROP_OVERLAY,
  PROP_OVERLAY_ALPHA,
  PROP_OUTLINE,
  PROP_INFERENCE_INTERVAL,
  PROP_MAX_OBJECTS,
  PROP_MASK_THRESHOLD,
  PROP_MEMORY_FRAMES,
  PROP_POST_MESSAGES,
  PROP_SELECTED_OBJECT,
  PROP_TUNE_ALLOCATOR,
};

enum
{
  SIGNAL_ADD_POINT,
  SIGNAL_ADD_BOX,
  SIGNAL_ADD_PROMPT,
  SIGNAL_REMOVE_OBJECT,
  SIGNAL_RESET,
  SIGNAL_SAVE_STATE,
  SIGNAL_LOAD_STATE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

typedef enum
{
  OP_ADD,
  OP_REMOVE,
  OP_RESET,
} OpKind;

/* A prompt operation waiting for its frame. */
typedef struct
{
  OpKind kind;
  GstClockTime running_time;    /* NONE: the next frame */
  GstSamSegObjectPrompt prompt; /* OP_ADD; prompt.obj_id for OP_REMOVE */
  gboolean new_object;          /* OP_ADD from a click: pick a fresh id */
  const gchar *origin;          /* for messages */
} PendingOp;

/* Results kept to carry masks onto frames without inference. */
typedef struct
{
  guint32 id;
  gfloat score, iou;
  guint n_runs;
  guint32 *runs;
} CarriedObject;

#define FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, I420, NV12 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (FORMATS)));

#define gst_samseg_parent_class parent_class
G_DEFINE_TYPE (GstSamSeg, gst_samseg, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (samseg, "samseg", GST_RANK_NONE, GST_TYPE_SAMSEG);

/* ---- pending operations (object lock held by callers of _locked) ------- */

static void
queue_op_locked (GstSamSeg * self, const PendingOp * op)
{
  GstSamSeg *s = self;
  if (g_queue_get_length (&s->pending) >= 4096) {
    GST_WARNING_OBJECT (self, "too many pending prompts; dropping one");
    g_free (g_queue_pop_head (&s->pending));
  }
  g_queue_push_tail (&s->pending, g_memdup2 (op, sizeof *op));
}

static void
queue_op (GstSamSeg * self, const PendingOp * op)
{
  GST_OBJECT_LOCK (self);
  queue_op_locked (self, op);
  GST_OBJECT_UNLOCK (self);
}

static void
queue_prompts (GstSamSeg * self, GArray * prompts, GstClockTime rt,
    const gchar * origin)
{
  GST_OBJECT_LOCK (self);
  for (guint i = 0; i < prompts->len; i++) {
    PendingOp op = { OP_ADD, rt };
    op.prompt = g_array_index (prompts, GstSamSegObjectPrompt, i);
    op.origin = origin;
    queue_op_locked (self, &op);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
clear_last (GstSamSeg * self)
{
  if (self->last) {
    for (guint i = 0; i < self->last->len; i++)
      g_free (g_array_index (self->last, CarriedObject, i).runs);
    g_array_set_size (self->last, 0);
  }
  self->have_last = FALSE;
}

static gboolean
tracked (GstSamSeg * self, guint32 id)
{
  for (guint i = 0; i < self->objects->len; i++)
    if (g_array_index (self->objects, guint32, i) == id)
      return TRUE;
  return FALSE;
}

static void
untrack (GstSamSeg * self, guint32 id)
{
  for (guint i = 0; i < self->objects->len; i++)
    if (g_array_index (self->objects, guint32, i) == id) {
      g_array_remove_index (self->objects, i);
      return;
    }
}

/* ---- action signals ---------------------------------------------------- */

static gboolean
gst_samseg_add_point (GstSamSeg * self, guint id, gdouble x, gdouble y,
    gboolean positive)
{
  PendingOp op = { OP_ADD, GST_CLOCK_TIME_NONE };

  if (id == 0 || id > GST_SAMSEG_MAX_OBJECT_ID || !isfinite (x) ||
      !isfinite (y)) {
    GST_WARNING_OBJECT (self, "add-point: invalid id %u or point", id);
    return FALSE;
  }
  op.prompt.obj_id = id;
  op.prompt.n_points = 1;
  op.prompt.points[0] = (gfloat) x;
  op.prompt.points[1] = (gfloat) y;
  op.prompt.labels[0] = positive ? 1 : 0;
  op.origin = "add-point signal";
  queue_op (self, &op);
  return TRUE;
}

static gboolean
gst_samseg_add_box (GstSamSeg * self, guint id, gdouble x0, gdouble y0,
    gdouble x1, gdouble y1)
{
  PendingOp op = { OP_ADD, GST_CLOCK_TIME_NONE };

  if (id == 0 || id > GST_SAMSEG_MAX_OBJECT_ID || !isfinite (x0) ||
      !isfinite (y0) || !isfinite (x1) || !isfinite (y1) || x1 < x0
      || y1 < y0) {
    GST_WARNING_OBJECT (self, "add-box: invalid id %u or box", id);
    return FALSE;
  }
  op.prompt.obj_id = id;
  op.prompt.has_box = TRUE;
  op.prompt.box[0] = (gfloat) x0;
  op.prompt.box[1] = (gfloat) y0;
  op.prompt.box[2] = (gfloat) x1;
  op.prompt.box[3] = (gfloat) y1;
  op.origin = "add-box signal";
  queue_op (self, &op);
  return TRUE;
}

static gboolean
gst_samseg_add_prompt (GstSamSeg * self, const gchar * text)
{
  GArray *arr = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
  GError *err = NULL;
  gboolean ok = gst_samseg_prompt_parse (text, arr, &err);

  if (ok)
    queue_prompts (self, arr, GST_CLOCK_TIME_NONE, "add-prompt signal");
  else {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("Invalid prompt ignored"), ("add-prompt: %s", err->message));
    g_clear_error (&err);
  }
  g_array_unref (arr);
  return ok;
}

static void
gst_samseg_remove_object (GstSamSeg * self, guint id)
{
  PendingOp op = { OP_REMOVE, GST_CLOCK_TIME_NONE };
  op.prompt.obj_id = id;
  op.origin = "remove-object signal";
  queue_op (self, &op);
}

static void
gst_samseg_reset (GstSamSeg * self)
{
  PendingOp op = { OP_RESET, GST_CLOCK_TIME_NONE };
  op.origin = "reset signal";
  queue_op (self, &op);
}

/* Snapshots: the whole tracking state (objects, memories, pointers, frame
 * counter, model identity) to a file and back, so an application restarts
 * without losing its tracks. Synchronous: waits for the frame in progress. */
static gboolean
gst_samseg_save_state (GstSamSeg * self, const gchar * path)
{
  GError *err = NULL;
  gboolean ok = FALSE;

  g_mutex_lock (&self->session_lock);
  if (!self->session)
    g_set_error (&err, SAM_ERROR, SAM_ERROR_BAD_STATE,
        "the element is not started (no session to save)");
  else if (!path || !*path)
    g_set_error (&err, SAM_ERROR, SAM_ERROR_IO, "no path given");
  else
    ok = sam_session_save (self->session, path, &err);
  g_mutex_unlock (&self->session_lock);
  if (!ok) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not save the tracking state"), ("%s: %s", path ? path : "",
            err->message));
    g_clear_error (&err);
  }
  return ok;
}

static gboolean
gst_samseg_load_state (GstSamSeg * self, const gchar * path)
{
  GError *err = NULL;
  SamSession *loaded = NULL;
  gint threads, max_objects;

  GST_OBJECT_LOCK (self);
  threads = self->threads;
  max_objects = self->max_objects;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->session_lock);
  if (!self->session || !self->model)
    g_set_error (&err, SAM_ERROR, SAM_ERROR_BAD_STATE,
        "the element is not started (load the state once it is PAUSED or "
        "PLAYING)");
  else if (!path || !*path)
    g_set_error (&err, SAM_ERROR, SAM_ERROR_IO, "no path given");
  else {
    SamSessionParams sp;
    sam_session_params_init (&sp);
    sp.n_threads = threads;
    sp.max_objects = max_objects;
    sp.frame_logits = FALSE;    /* masks come from the low-res logits */
    loaded = sam_session_load (self->model, path, &sp, &err);
    if (loaded && sam_session_input_size (loaded) != self->model_input) {
      g_set_error (&err, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
          "the snapshot was taken at input size %d, the element runs at %d",
          sam_session_input_size (loaded), self->model_input);
      sam_session_free (loaded);
      loaded = NULL;
    }
  }
  if (loaded) {
    sam_session_free (self->session);
    self->session = loaded;
    g_array_set_size (self->objects, 0);
    clear_last (self);
    for (gint i = 0; i < sam_session_n_objects (loaded); i++) {
      guint32 id = sam_session_object_id (loaded, i);
      g_array_append_val (self->objects, id);
      GST_OBJECT_LOCK (self);
      self->max_id_seen = MAX (self->max_id_seen, id);
      GST_OBJECT_UNLOCK (self);
    }
  }
  g_mutex_unlock (&self->session_lock);
  if (!loaded) {
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("Could not load the tracking state"), ("%s: %s", path ? path : "",
            err->message));
    g_clear_error (&err);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "tracking state loaded from %s (%d objects)", path,
      sam_session_n_objects (loaded));
  return TRUE;
}

/* ---- properties -------------------------------------------------------- */

static void
gst_samseg_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstSamSeg *self = GST_SAMSEG (object);
  gboolean queue_prompt = FALSE;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_INPUT_SIZE:
      self->input_size = g_value_get_int (value);
      break;
    case PROP_PROMPT:
      g_free (self->prompt);
      self->prompt = g_value_dup_string (value);
      queue_prompt = self->session != NULL;
      break;
    case PROP_PROMPT_FILE:
      g_free (self->prompt_file);
      self->prompt_file = g_value_dup_string (value);
      break;
    case PROP_OVERLAY:
      self->overlay = g_value_get_boolean (value);
      break;
    case PROP_OVERLAY_ALPHA:
      self->overlay_alpha = g_value_get_double (value);
      break;
    case PROP_OUTLINE:
      self->outline = g_value_get_boolean (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint (value);
      break;
    case PROP_MAX_OBJECTS:
      self->max_objects = g_value_get_int (value);
      break;
    case PROP_MASK_THRESHOLD:
      self->mask_threshold = g_value_get_double (value);
      break;
    case PROP_MEMORY_FRAMES:
      self->memory_frames = g_value_get_int (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_SELECTED_OBJECT:
      self->selected_object = g_value_get_uint (value);
      break;
    case PROP_TUNE_ALLOCATOR:
      self->tune_allocator = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);

  /* while running, a new prompt string applies to the next frame */
  if (queue_prompt) {
    gchar *text = NULL;
    g_object_get (object, "prompt", &text, NULL);
    if (text && *text)
      gst_samseg_add_prompt (self, text);
    g_free (text);
  }
}

static void
gst_samseg_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstSamSeg *self = GST_SAMSEG (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_INPUT_SIZE:
      g_value_set_int (value, self->input_size);
      break;
    case PROP_PROMPT:
      g_value_set_string (value, self->prompt);
      break;
    case PROP_PROMPT_FILE:
      g_value_set_string (value, self->prompt_file);
      break;
    case PROP_OVERLAY:
      g_value_set_boolean (value, self->overlay);
      break;
    case PROP_OVERLAY_ALPHA:
      g_value_set_double (value, self->overlay_alpha);
      break;
    case PROP_OUTLINE:
      g_value_set_boolean (value, self->outline);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->inference_interval);
      break;
    case PROP_MAX_OBJECTS:
      g_value_set_int (value, self->max_objects);
      break;
    case PROP_MASK_THRESHOLD:
      g_value_set_double (value, self->mask_threshold);
      break;
    case PROP_MEMORY_FRAMES:
      g_value_set_int (value, self->memory_frames);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_SELECTED_OBJECT:
      g_value_set_uint (value, self->selected_object);
      break;
    case PROP_TUNE_ALLOCATOR:
      g_value_set_boolean (value, self->tune_allocator);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- start / stop ------------------------------------------------------ */

static gboolean
gst_samseg_start (GstBaseTransform * trans)
{
  GstSamSeg *self = GST_SAMSEG (trans);
  gchar *path, *prompt, *pfile;
  gint threads, input_size, max_objects, memory_frames;
  gboolean tune_allocator;
  SamModelParams mp;
  SamSessionParams sp;
  GError *err = NULL;
  GArray *arr;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  prompt = g_strdup (self->prompt);
  pfile = g_strdup (self->prompt_file);
  threads = self->threads;
  input_size = self->input_size;
  max_objects = self->max_objects;
  memory_frames = self->memory_frames;
  tune_allocator = self->tune_allocator;
  GST_OBJECT_UNLOCK (self);

  /* validate prompts first: cheap, and a typo should not cost a model load */
  arr = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
  if (prompt && !gst_samseg_prompt_parse (prompt, arr, &err)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Invalid 'prompt' property: %s", err->message),
        ("prompt=\"%s\"", prompt));
    goto fail;
  }
  if (pfile && *pfile) {
    self->file_lines = gst_samseg_prompt_file_load (pfile, &err);
    if (!self->file_lines) {
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("Invalid 'prompt-file': %s", err->message), (NULL));
      goto fail;
    }
  }
  if (!path || !*path) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No SAM model given"),
        ("set the 'model' property to a SAM 2.1 .safetensors file"));
    goto fail;
  }
  if (tune_allocator && !sam_tune_process_allocator ())
    GST_INFO_OBJECT (self, "tune-allocator: not supported by this C library");
  sam_model_params_init (&mp);
  self->model = sam_model_load (path, &mp, &err);
  if (!self->model) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load SAM model '%s'", path), ("%s", err->message));
    goto fail;
  }
  sam_session_params_init (&sp);
  sp.input_size = input_size;
  sp.n_threads = threads;
  sp.max_objects = max_objects;
  sp.num_maskmem = memory_frames;
  /* the element scales each object's low-res logits to the frame itself
   * (gst_samseg_logits_to_mask): no frame-size logits from the session */
  sp.frame_logits = FALSE;
  self->session = sam_session_new (self->model, &sp, &err);
  if (!self->session) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not create a SAM session: %s", err->message),
        ("model '%s' (%s), input-size %d", path,
            sam_model_variant (self->model), input_size));
    goto fail;
  }
  self->model_input = input_size > 0 ? input_size :
      sam_model_default_input_size (self->model);
  self->rgb = g_malloc ((gsize) self->model_input * self->model_input * 3);
  self->objects = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->last = g_array_new (FALSE, TRUE, sizeof (CarriedObject));
  self->frame_count = self->frame_index = 0;
  self->last_fn = G_MAXUINT64;
  self->last_st = GST_CLOCK_TIME_NONE;
  self->prompt_armed = TRUE;
  GST_OBJECT_LOCK (self);
  self->need_reset = FALSE;
  self->qos_earliest = GST_CLOCK_TIME_NONE;
  self->cost_ns = 0;
  self->reported_latency = 0;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "loaded %s model '%s', input size %d",
      sam_model_variant (self->model), path, self->model_input);
  g_array_unref (arr);
  g_free (path);
  g_free (prompt);
  g_free (pfile);
  return TRUE;

fail:
  g_clear_error (&err);
  g_array_unref (arr);
  g_free (path);
  g_free (prompt);
  g_free (pfile);
  if (self->file_lines) {
    g_ptr_array_unref (self->file_lines);
    self->file_lines = NULL;
  }
  if (self->model) {
    sam_model_unref (self->model);
    self->model = NULL;
  }
  return FALSE;
}

static gboolean
gst_samseg_stop (GstBaseTransform * trans)
{
  GstSamSeg *self = GST_SAMSEG (trans);
  SamSession *session;

  /* session_lock: a save-state/load-state call may be running */
  g_mutex_lock (&self->session_lock);
  GST_OBJECT_LOCK (self);
  session = self->session;
  self->session = NULL;
  g_queue_clear_full (&self->pending, g_free);
  GST_OBJECT_UNLOCK (self);
  if (session)
    sam_session_free (session);
  if (self->model) {
    sam_model_unref (self->model);
    self->model = NULL;
  }
  g_mutex_unlock (&self->session_lock);
  gst_samseg_converter_free (self->conv);
  self->conv = NULL;
  g_clear_pointer (&self->rgb, g_free);
  g_clear_pointer (&self->mask, g_free);
  if (self->last) {
    clear_last (self);
    g_array_unref (self->last);
    self->last = NULL;
  }
  g_clear_pointer (&self->objects, g_array_unref);
  g_clear_pointer (&self->file_lines, g_ptr_array_unref);
  return TRUE;
}

static gboolean
gst_samseg_set_info (GstVideoFilter * filter, GstCaps * incaps,
    GstVideoInfo * in_info, GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstSamSeg *self = GST_SAMSEG (filter);
  gint w = GST_VIDEO_INFO_WIDTH (in_info), h = GST_VIDEO_INFO_HEIGHT (in_info);

  if (!gst_samseg_convert_format_supported (GST_VIDEO_INFO_FORMAT (in_info))) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("unsupported format %s",
            gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info))));
    return FALSE;
  }
  gst_samseg_converter_free (self->conv);
  self->conv = NULL;
  /* antialiased bilinear when shrinking, bicubic (PIL's default) when
   * enlarging */
  if (self->model_input > 0)
    self->conv = gst_samseg_converter_new (in_info, self->model_input,
        self->model_input, (w > self->model_input || h > self->model_input) ?
        GST_SAMSEG_RESAMPLE_BILINEAR : GST_SAMSEG_RESAMPLE_BICUBIC,
        self->threads);
  g_free (self->mask);
  self->mask = g_malloc ((gsize) w * h);
  GST_INFO_OBJECT (self, "configured for %s %dx%d",
      gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info)), w, h);
  return TRUE;
}

/* ---- events ------------------------------------------------------------ */

/* Turns a samseg custom event into a pending operation. */
static gboolean
handle_custom_event (GstSamSeg * self, GstEvent * event)
{
  GstSamSegEventType t = gst_samseg_event_get_type_of (event);
  PendingOp op = { 0 };
  GError *err = NULL;
  gboolean ok = FALSE;

  if (t == GST_SAMSEG_EVENT_NONE)
    return FALSE;
  switch (t) {
    case GST_SAMSEG_EVENT_ADD_POINTS:{
      guint n;
      gfloat *xy;
      gint32 *labels;
      op.kind = OP_ADD;
      ok = gst_samseg_event_parse_add_points (event, &op.running_time,
          &op.prompt.obj_id, &n, &xy, &labels, &err);
      if (ok) {
        op.prompt.n_points = (gint) n;
        memcpy (op.prompt.points, xy, sizeof (gfloat) * 2 * n);
        memcpy (op.prompt.labels, labels, sizeof (gint32) * n);
        g_free (xy);
        g_free (labels);
      }
      break;
    }
    case GST_SAMSEG_EVENT_ADD_BOX:
      op.kind = OP_ADD;
      op.prompt.has_box = TRUE;
      ok = gst_samseg_event_parse_add_box (event, &op.running_time,
          &op.prompt.obj_id, op.prompt.box, &err);
      break;
    case GST_SAMSEG_EVENT_REMOVE_OBJECT:
      op.kind = OP_REMOVE;
      ok = gst_samseg_event_parse_remove_object (event, &op.running_time,
          &op.prompt.obj_id, &err);
      break;
    case GST_SAMSEG_EVENT_RESET:
      op.kind = OP_RESET;
      ok = gst_samseg_event_parse_reset (event, &op.running_time, &err);
      break;
    default:
      break;
  }
  if (!ok) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Malformed samseg event ignored"), ("%s",
            err ? err->message : "unknown"));
    g_clear_error (&err);
    return TRUE;
  }
  op.origin = "event";
  queue_op (self, &op);
  return TRUE;
}

static gboolean
gst_samseg_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstSamSeg *self = GST_SAMSEG (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (handle_custom_event (self, event)) {
        gst_event_unref (event);
        return TRUE;
      }
      break;
    case GST_EVENT_FLUSH_STOP:{
      GList *l, *next;
      GST_OBJECT_LOCK (self);
      self->need_reset = TRUE;
      self->qos_earliest = GST_CLOCK_TIME_NONE;
      /* ops bound to a running time refer to flushed data */
      for (l = self->pending.head; l; l = next) {
        PendingOp *op = l->data;
        next = l->next;
        if (GST_CLOCK_TIME_IS_VALID (op->running_time)) {
          g_free (op);
          g_queue_delete_link (&self->pending, l);
        }
      }
      GST_OBJECT_UNLOCK (self);
      break;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static void
handle_navigation (GstSamSeg * self, GstEvent * event)
{
  GstNavigationEventType t = gst_navigation_event_get_type (event);

  if (t == GST_NAVIGATION_EVENT_MOUSE_BUTTON_PRESS) {
    gint button;
    gdouble x, y;
    GstNavigationModifierType mods = 0;
    PendingOp op = { OP_ADD, GST_CLOCK_TIME_NONE };

    if (!gst_navigation_event_parse_mouse_button_event (event, &button, &x,
            &y) || (button != 1 && button != 3) || !isfinite (x)
        || !isfinite (y))
      return;
    gst_navigation_event_parse_modifier_state (event, &mods);
    op.prompt.n_points = 1;
    op.prompt.points[0] = (gfloat) x;
    op.prompt.points[1] = (gfloat) y;
    op.prompt.labels[0] = button == 1 ? 1 : 0;
    op.origin = "mouse click";
    GST_OBJECT_LOCK (self);
    if (button == 1 && (self->selected_object == 0 || self->nav_new_object ||
            (mods & GST_NAVIGATION_MODIFIER_SHIFT_MASK))) {
      op.new_object = TRUE;
      self->nav_new_object = FALSE;
    } else if (self->selected_object == 0) {
      GST_OBJECT_UNLOCK (self);
      GST_INFO_OBJECT (self, "right click with no selected object ignored");
      return;
    }
    op.prompt.obj_id = self->selected_object;
    queue_op_locked (self, &op);
    GST_OBJECT_UNLOCK (self);
    GST_DEBUG_OBJECT (self, "click %d at %.1f,%.1f", button, x, y);
  } else if (t == GST_NAVIGATION_EVENT_KEY_PRESS) {
    const gchar *key = NULL;
    if (!gst_navigation_event_parse_key_event (event, &key) || !key)
      return;
    if (!g_ascii_strcasecmp (key, "n")) {
      GST_OBJECT_LOCK (self);
      self->nav_new_object = TRUE;
      GST_OBJECT_UNLOCK (self);
    } else if (!g_ascii_strcasecmp (key, "r")) {
      gst_samseg_reset (self);
    } else if (!g_ascii_strcasecmp (key, "Delete") ||
        !g_ascii_strcasecmp (key, "d")) {
      guint id;
      GST_OBJECT_LOCK (self);
      id = self->selected_object;
      GST_OBJECT_UNLOCK (self);
      if (id)
        gst_samseg_remove_object (self, id);
    }
  }
}

static gboolean
gst_samseg_src_event (GstBaseTransform * trans, GstEvent * event)
{
  GstSamSeg *self = GST_SAMSEG (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CUSTOM_UPSTREAM:
      if (handle_custom_event (self, event)) {
        gst_event_unref (event);
        return TRUE;
      }
      break;
    case GST_EVENT_NAVIGATION:
      handle_navigation (self, event);
      break;
    case GST_EVENT_QOS:{
      GstQOSType type;
      gdouble proportion;
      GstClockTimeDiff diff;
      GstClockTime ts;
      gst_event_parse_qos (event, &type, &proportion, &diff, &ts);
      GST_OBJECT_LOCK (self);
      if (GST_CLOCK_TIME_IS_VALID (ts)) {
        if (diff > 0)
          self->qos_earliest = ts + 2 * diff;
        else
          self->qos_earliest = ts + diff;
      }
      GST_OBJECT_UNLOCK (self);
      break;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

static gboolean
gst_samseg_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstSamSeg *self = GST_SAMSEG (trans);
  gboolean ret =
      GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query);

  if (ret && direction == GST_PAD_SRC &&
      GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max, cost;
    gst_query_parse_latency (query, &live, &min, &max);
    GST_OBJECT_LOCK (self);
    cost = self->cost_ns;
    self->reported_latency = cost;
    GST_OBJECT_UNLOCK (self);
    min += cost;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += cost;
    GST_DEBUG_OBJECT (self, "latency: adding measured cost %" GST_TIME_FORMAT,
        GST_TIME_ARGS (cost));
    gst_query_set_latency (query, live, min, max);
  }
  return ret;
}

/* ---- per frame --------------------------------------------------------- */

static GstClockTime
frame_duration (GstVideoFilter * filter, GstBuffer * buf)
{
  if (GST_BUFFER_DURATION_IS_VALID (buf))
    return GST_BUFFER_DURATION (buf);
  if (filter->in_info.fps_n > 0)
    return gst_util_uint64_scale_int (GST_SECOND, filter->in_info.fps_d,
        filter->in_info.fps_n);
  return 40 * GST_MSECOND;
}

/* Queues prompt-file lines that fall on this frame. */
static void
collect_file_prompts (GstSamSeg * self, GstVideoFilter * filter,
    GstBuffer * buf, GArray * ops)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime st = GST_CLOCK_TIME_NONE, dur = frame_duration (filter, buf);
  guint64 fn = self->frame_count;

  if (GST_BUFFER_PTS_IS_VALID (buf) && seg->format == GST_FORMAT_TIME)
    st = gst_segment_to_stream_time (seg, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf));
  if (GST_CLOCK_TIME_IS_VALID (st) && filter->in_info.fps_n > 0)
    fn = gst_util_uint64_scale_round (st, filter->in_info.fps_n,
        (guint64) filter->in_info.fps_d * GST_SECOND);
  if (self->file_lines) {
    for (guint i = 0; i < self->file_lines->len; i++) {
      GstSamSegPromptLine *l = g_ptr_array_index (self->file_lines, i);
      gboolean fire;
      if (l->is_time) {
        if (!GST_CLOCK_TIME_IS_VALID (st))
          continue;
        fire = l->time_ns <= st && (GST_CLOCK_TIME_IS_VALID (self->last_st) ?
            l->time_ns > self->last_st : l->time_ns + dur > st);
      } else {
        fire = l->frame <= fn && (self->last_fn != G_MAXUINT64 ?
            l->frame > self->last_fn : l->frame == fn);
      }
      if (!fire)
        continue;
      for (guint k = 0; k < l->objects->len; k++) {
        PendingOp op = { OP_ADD, GST_CLOCK_TIME_NONE };
        op.prompt = g_array_index (l->objects, GstSamSegObjectPrompt, k);
        op.origin = "prompt-file";
        g_array_append_val (ops, op);
      }
    }
  }
  self->last_st = st;
  self->last_fn = fn;
}

static void
reset_tracking (GstSamSeg * self)
{
  sam_session_reset (self->session);
  g_array_set_size (self->objects, 0);
  clear_last (self);
}

/* Applies one operation to the session. Returns TRUE if a prompt was added. */
static gboolean
apply_op (GstSamSeg * self, PendingOp * op, gint w, gint h, gint max_objects)
{
  GError *err = NULL;

  switch (op->kind) {
    case OP_RESET:
      GST_DEBUG_OBJECT (self, "reset (%s)", op->origin);
      reset_tracking (self);
      return FALSE;
    case OP_REMOVE:
      if (tracked (self, op->prompt.obj_id)) {
        sam_session_remove_object (self->session, op->prompt.obj_id);
        untrack (self, op->prompt.obj_id);
        for (guint i = 0; i < self->last->len; i++) {
          CarriedObject *c = &g_array_index (self->last, CarriedObject, i);
          if (c->id == op->prompt.obj_id) {
            g_free (c->runs);
            g_array_remove_index (self->last, i);
            break;
          }
        }
      }
      return FALSE;
    case OP_ADD:{
      GstSamSegObjectPrompt *p = &op->prompt;
      SamPrompt sp = { 0 };
      gfloat pts[2 * GST_SAMSEG_MAX_POINTS];
      gfloat sx = (gfloat) self->model_input / w;
      gfloat sy = (gfloat) self->model_input / h;

      if (!gst_samseg_object_prompt_in_frame (p, w, h)) {
        gchar *s = gst_samseg_object_prompt_to_string (p);
        GST_ELEMENT_WARNING (self, STREAM, FAILED,
            ("Prompt outside the %dx%d frame ignored", w, h),
            ("%s from %s", s, op->origin));
        g_free (s);
        return FALSE;
      }
      if (op->new_object) {
        guint32 id = 1;
        for (guint i = 0; i < self->objects->len; i++)
          id = MAX (id, g_array_index (self->objects, guint32, i) + 1);
        GST_OBJECT_LOCK (self);
        id = MAX (id, self->max_id_seen + 1);
        self->selected_object = id;
        GST_OBJECT_UNLOCK (self);
        p->obj_id = id;
        g_object_notify (G_OBJECT (self), "selected-object");
      }
      if (!tracked (self, p->obj_id) &&
          (gint) self->objects->len >= max_objects) {
        GST_ELEMENT_WARNING (self, STREAM, FAILED,
            ("Too many objects: prompt for object %u ignored", p->obj_id),
            ("max-objects is %d", max_objects));
        return FALSE;
      }
      for (gint i = 0; i < p->n_points; i++) {
        pts[2 * i] = p->points[2 * i] * sx;
        pts[2 * i + 1] = p->points[2 * i + 1] * sy;
      }
      sp.n_points = p->n_points;
      sp.points = pts;
      sp.labels = p->labels;
      sp.has_box = p->has_box;
      sp.box[0] = p->box[0] * sx;
      sp.box[1] = p->box[1] * sy;
      sp.box[2] = p->box[2] * sx;
      sp.box[3] = p->box[3] * sy;
      sp.clear_old = FALSE;
      if (!sam_session_add_prompt (self->session, p->obj_id, &sp, &err)) {
        GST_ELEMENT_WARNING (self, STREAM, FAILED,
            ("Prompt for object %u rejected", p->obj_id), ("%s (from %s)",
                err->message, op->origin));
        g_clear_error (&err);
        return FALSE;
      }
      if (!tracked (self, p->obj_id))
        g_array_append_val (self->objects, p->obj_id);
      GST_OBJECT_LOCK (self);
      self->max_id_seen = MAX (self->max_id_seen, p->obj_id);
      GST_OBJECT_UNLOCK (self);
      GST_DEBUG_OBJECT (self, "prompt for object %u from %s", p->obj_id,
          op->origin);
      return TRUE;
    }
  }
  return FALSE;
}

static void
store_carried (GstSamSeg * self, GstSamSegMeta * meta)
{
  clear_last (self);
  for (guint i = 0; i < meta->n_objects; i++) {
    GstSamSegObject *o = &meta->objects[i];
    CarriedObject c = { o->id, o->object_score, o->iou, o->n_runs,
      g_memdup2 (o->runs, sizeof (guint32) * o->n_runs)
    };
    g_array_append_val (self->last, c);
  }
  self->last_w = (gint) meta->width;
  self->last_h = (gint) meta->height;
  self->have_last = TRUE;
}

static void
post_stats (GstSamSeg * self, GstBuffer * buf, GstSamSegMeta * meta,
    gdouble ms)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime ts = GST_BUFFER_PTS (buf), rt = GST_CLOCK_TIME_NONE,
      st = GST_CLOCK_TIME_NONE;
  GValue list = G_VALUE_INIT;
  GstStructure *s;

  if (GST_CLOCK_TIME_IS_VALID (ts) && seg->format == GST_FORMAT_TIME) {
    rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, ts);
    st = gst_segment_to_stream_time (seg, GST_FORMAT_TIME, ts);
  }
  g_value_init (&list, GST_TYPE_LIST);
  for (guint i = 0; i < meta->n_objects; i++) {
    GstSamSegObject *o = &meta->objects[i];
    GValue v = G_VALUE_INIT;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    GstStructure *os = gst_structure_new ("object",
        "id", G_TYPE_UINT, o->id,
        "score", G_TYPE_DOUBLE, (gdouble) o->object_score,
        "iou", G_TYPE_DOUBLE, (gdouble) o->iou,
        "present", G_TYPE_BOOLEAN, o->area > 0,
        "area", G_TYPE_UINT64, o->area,
        "x", G_TYPE_INT, o->x, "y", G_TYPE_INT, o->y,
        "width", G_TYPE_INT, o->width, "height", G_TYPE_INT, o->height, NULL);
    gst_value_set_structure (&v, os);
    gst_structure_free (os);
    gst_value_list_append_and_take_value (&list, &v);
  }
  s = gst_structure_new ("samseg",
      "timestamp", G_TYPE_UINT64, ts,
      "stream-time", G_TYPE_UINT64, st,
      "running-time", G_TYPE_UINT64, rt,
      "duration", G_TYPE_UINT64, GST_BUFFER_DURATION (buf),
      "frame-index", G_TYPE_UINT64, meta->frame_index,
      "inferred", G_TYPE_BOOLEAN, meta->inferred,
      "inference-ms", G_TYPE_DOUBLE, ms,
      "n-objects", G_TYPE_UINT, meta->n_objects, NULL);
  gst_structure_take_value (s, "objects", &list);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static GstFlowReturn
gst_samseg_transform_frame_ip (GstVideoFilter * filter, GstVideoFrame * frame)
{
  GstSamSeg *self = GST_SAMSEG (filter);
  GstBuffer *buf = frame->buffer;
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  gint w = GST_VIDEO_FRAME_WIDTH (frame), h = GST_VIDEO_FRAME_HEIGHT (frame);
  GstClockTime rt = GST_CLOCK_TIME_NONE, earliest;
  gboolean overlay, outline, post, need_reset, late = FALSE, run = FALSE;
  gboolean prompted = FALSE;
  gdouble alpha, thr, ms = 0.0;
  guint interval;
  gint max_objects;
  GArray *ops = g_array_new (FALSE, TRUE, sizeof (PendingOp));
  GstSamSegMeta *meta;
  GList *l, *next;

  if (GST_BUFFER_PTS_IS_VALID (buf) && seg->format == GST_FORMAT_TIME)
    rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf));

  /* copy settings and take due operations under the lock; no work here */
  GST_OBJECT_LOCK (self);
  overlay = self->overlay;
  outline = self->outline;
  alpha = self->overlay_alpha;
  post = self->post_messages;
  thr = self->mask_threshold;
  interval = MAX (self->inference_interval, 1);
  max_objects = self->max_objects;
  need_reset = self->need_reset;
  self->need_reset = FALSE;
  earliest = self->qos_earliest;
  for (l = self->pending.head; l; l = next) {
    PendingOp *op = l->data;
    next = l->next;
    if (!GST_CLOCK_TIME_IS_VALID (op->running_time) ||
        !GST_CLOCK_TIME_IS_VALID (rt) || op->running_time <= rt) {
      g_array_append_val (ops, *op);
      g_free (op);
      g_queue_delete_link (&self->pending, l);
    }
  }
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->session_lock);
  if (need_reset) {
    GST_DEBUG_OBJECT (self, "flushed: resetting tracking state");
    reset_tracking (self);
    self->frame_index = 0;
    self->last_fn = G_MAXUINT64;
    self->last_st = GST_CLOCK_TIME_NONE;
    /* a seek back to the start gets the first-frame prompt again */
    if (GST_BUFFER_PTS_IS_VALID (buf) && gst_segment_to_stream_time (seg,
            GST_FORMAT_TIME, GST_BUFFER_PTS (buf)) == 0)
      self->prompt_armed = TRUE;
  }

  /* first-frame prompt property, then the prompt file, then queued ops */
  if (self->prompt_armed) {
    gchar *text;
    GArray *arr = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
    self->prompt_armed = FALSE;
    GST_OBJECT_LOCK (self);
    text = g_strdup (self->prompt);
    GST_OBJECT_UNLOCK (self);
    if (text && gst_samseg_prompt_parse (text, arr, NULL)) {
      for (guint i = 0; i < arr->len; i++) {
        PendingOp op = { OP_ADD, GST_CLOCK_TIME_NONE };
        op.prompt = g_array_index (arr, GstSamSegObjectPrompt, i);
        op.origin = "prompt property";
        g_array_insert_val (ops, i, op);
      }
    }
    g_free (text);
    g_array_unref (arr);
  }
  collect_file_prompts (self, filter, buf, ops);
  for (guint i = 0; i < ops->len; i++)
    prompted |= apply_op (self, &g_array_index (ops, PendingOp, i), w, h,
        max_objects);
  g_array_unref (ops);

  if (self->objects->len > 0) {
    gboolean carried_ok = self->have_last && self->last_w == w &&
        self->last_h == h;
    run = prompted || !carried_ok || self->frame_index % interval == 0;
    /* QoS: a late frame keeps the last masks instead of being dropped */
    if (run && !prompted && carried_ok && GST_CLOCK_TIME_IS_VALID (rt) &&
        GST_CLOCK_TIME_IS_VALID (earliest) && rt < earliest) {
      late = TRUE;
      run = FALSE;
      GST_DEBUG_OBJECT (self, "late by %" GST_STIME_FORMAT
          ": carrying masks", GST_STIME_ARGS ((gint64) (earliest - rt)));
    }
  }

  meta = gst_buffer_add_samseg_meta (buf, (guint) w, (guint) h);
  meta->frame_index = self->frame_index;
  if (run) {
    SamImage img;
    SamFrameResult res;
    GError *err = NULL;
    gint64 t0 = g_get_monotonic_time ();

    gst_samseg_converter_run (self->conv, frame, self->rgb,
        self->model_input * 3);
    img.format = SAM_PIXEL_RGB;
    img.width = img.height = self->model_input;
    img.stride = self->model_input * 3;
    img.data = self->rgb;
    if (!sam_session_process_frame (self->session, &img, &res, &err)) {
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("Inference failed; tracking state reset"), ("frame %"
              G_GUINT64_FORMAT ": %s", self->frame_count, err->message));
      g_clear_error (&err);
      reset_tracking (self);
    } else {
      for (gint i = 0; i < res.n_objects; i++) {
        const SamObjectResult *o = &res.objects[i];
        gst_samseg_logits_to_mask (o->low_res_logits, o->low_res_size,
            o->low_res_size, self->mask, w, h, w, (gfloat) thr);
        gst_samseg_meta_add_object (meta, o->obj_id, o->object_score, o->iou,
            self->mask, w);
      }
      meta->inferred = TRUE;
      store_carried (self, meta);
    }
    ms = (g_get_monotonic_time () - t0) / 1000.0;
    {
      GstClockTime cost = (GstClockTime) (ms * GST_MSECOND), reported;
      gboolean post_latency;
      GST_OBJECT_LOCK (self);
      /* decaying maximum: follows rises at once, falls slowly */
      self->cost_ns = MAX (cost, self->cost_ns - self->cost_ns / 16);
      reported = self->reported_latency;
      post_latency = self->cost_ns > reported + reported / 4 + GST_MSECOND;
      if (post_latency)
        self->reported_latency = self->cost_ns;
      GST_OBJECT_UNLOCK (self);
      if (post_latency)
        gst_element_post_message (GST_ELEMENT (self),
            gst_message_new_latency (GST_OBJECT (self)));
    }
  } else if (self->objects->len > 0 && self->have_last && self->last_w == w
      && self->last_h == h) {
    for (guint i = 0; i < self->last->len; i++) {
      CarriedObject *c = &g_array_index (self->last, CarriedObject, i);
      gst_samseg_meta_add_object_rle (meta, c->id, c->score, c->iou, c->runs,
          c->n_runs);
    }
  }

  for (guint i = 0; i < meta->n_objects; i++) {
    GstSamSegObject *o = &meta->objects[i];
    if (o->area == 0)
      continue;
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_add_video_region_of_interest_meta (buf, "samseg-object",
        (guint) o->x, (guint) o->y, (guint) o->width, (guint) o->height);
    roi->id = (gint) o->id;
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("samseg", "id", G_TYPE_UINT, o->id,
            "score", G_TYPE_DOUBLE, (gdouble) o->object_score,
            "iou", G_TYPE_DOUBLE, (gdouble) o->iou, NULL));
    if (overlay) {
      gst_samseg_meta_rasterize (meta, o, self->mask, w, 1);
      gst_samseg_overlay_draw (frame, self->mask, w, o->id, (gfloat) alpha,
          outline);
    }
  }

  if (post && (meta->n_objects > 0 || run))
    post_stats (self, buf, meta, ms);
  if (late)
    GST_LOG_OBJECT (self, "inference skipped (QoS)");
  self->frame_index++;
  self->frame_count++;
  g_mutex_unlock (&self->session_lock);
  return GST_FLOW_OK;
}

/* ---- class ------------------------------------------------------------- */

static void
gst_samseg_finalize (GObject * object)
{
  GstSamSeg *self = GST_SAMSEG (object);

  g_free (self->model_path);
  g_free (self->prompt);
  g_free (self->prompt_file);
  g_queue_clear_full (&self->pending, g_free);
  g_mutex_clear (&self->session_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_samseg_class_init (GstSamSegClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  GST_DEBUG_CATEGORY_INIT (gst_samseg_debug, "samseg", 0,
      "SAM 2.1 video segmentation");

  gobject_class->set_property = gst_samseg_set_property;
  gobject_class->get_property = gst_samseg_get_property;
  gobject_class->finalize = gst_samseg_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of a SAM 2 / 2.1 model (.safetensors, float32, bf16/f16 or "
          "quantized); loaded when the element starts", NULL,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Inference threads, also used to resize each frame to the model "
          "input (0 = all cores)", 0, 256, DEFAULT_THREADS,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_INPUT_SIZE,
      g_param_spec_int ("input-size", "Input size",
          "Model input size in pixels, a multiple of 16 in [256, 1024] "
          "(0 = the model's default)", 0, 1024, DEFAULT_INPUT_SIZE,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PROMPT,
      g_param_spec_string ("prompt", "Prompt",
          "Prompts for the first frame: entries separated by spaces or ';': "
          "ID:+X,Y positive click, ID:-X,Y negative click, ID:X0,Y0,X1,Y1 box, "
          "in pixels of the incoming frames, e.g. \"1:+310,200 1:-330,260 "
          "2:500,120,700,400\". Set while playing: applies to the next frame",
          NULL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PROMPT_FILE,
      g_param_spec_string ("prompt-file", "Prompt file",
          "Text file of per-frame prompts: one line per prompted frame, a "
          "frame number or a time (12.5s, 500ms) then entries in the 'prompt' "
          "syntax; '#' starts a comment", NULL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_OVERLAY,
      g_param_spec_boolean ("overlay", "Overlay",
          "Draw the masks onto the video", DEFAULT_OVERLAY,
          rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_OVERLAY_ALPHA,
      g_param_spec_double ("overlay-alpha", "Overlay alpha",
          "Opacity of the mask fill", 0.0, 1.0, DEFAULT_OVERLAY_ALPHA,
          rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_OUTLINE,
      g_param_spec_boolean ("outline", "Outline",
          "Draw an opaque outline around each mask", DEFAULT_OUTLINE,
          rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the model every Nth frame and carry the masks in between "
          "(frames with new prompts always run)", 1, 1000, DEFAULT_INTERVAL,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_OBJECTS,
      g_param_spec_int ("max-objects", "Max objects",
          "Most objects tracked at once; prompts for more are ignored with a "
          "warning", 1, 64, DEFAULT_MAX_OBJECTS,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MASK_THRESHOLD,
      g_param_spec_double ("mask-threshold", "Mask threshold",
          "Threshold on the mask logits (0 = probability 0.5, as SAM 2)",
          -32.0, 32.0, DEFAULT_MASK_THRESHOLD,
          rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_MEMORY_FRAMES,
      g_param_spec_int ("memory-frames", "Memory frames",
          "Memories per object including the prompted frame (SAM 2.1: 7)",
          1, 64, DEFAULT_MEMORY_FRAMES, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a 'samseg' element message per frame with timestamps and "
          "per-object stats", DEFAULT_POST_MESSAGES,
          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SELECTED_OBJECT,
      g_param_spec_uint ("selected-object", "Selected object",
          "Object that left clicks in the video sink refine (0: the next "
          "left click starts a new object; shift+click or key 'n' also do)",
          0, GST_SAMSEG_MAX_OBJECT_ID, 0,
          rw | GST_PARAM_MUTABLE_PLAYING | G_PARAM_EXPLICIT_NOTIFY));
  g_object_class_install_property (gobject_class, PROP_TUNE_ALLOCATOR,
      g_param_spec_boolean ("tune-allocator", "Tune allocator",
          "On start, fix glibc malloc's trim and mmap thresholds for the "
          "whole process so that each frame's tens of MB of temporaries are "
          "reused instead of returned to the kernel and faulted in again "
          "(up to 30 % of a frame), and opt malloc's heaps into transparent "
          "huge pages (Linux, unless THP is 'never'; moved over the first "
          "frames); the memory is released when the element stops. FALSE "
          "leaves the process's malloc settings alone",
          DEFAULT_TUNE_ALLOCATOR, rw | GST_PARAM_MUTABLE_READY));

  /**
   * GstSamSeg::add-point:
   * @id: object id (>= 1; a new id creates an object)
   * @x: @y: frame pixel coordinates
   * @positive: TRUE for a positive click
   *
   * Adds a click for the next frame. Returns FALSE if the arguments are bad.
   */
  signals[SIGNAL_ADD_POINT] = g_signal_new_class_handler ("add-point",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_add_point), NULL, NULL, NULL, G_TYPE_BOOLEAN, 4,
      G_TYPE_UINT, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_BOOLEAN);
  signals[SIGNAL_ADD_BOX] = g_signal_new_class_handler ("add-box",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_add_box), NULL, NULL, NULL, G_TYPE_BOOLEAN, 5,
      G_TYPE_UINT, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[SIGNAL_ADD_PROMPT] = g_signal_new_class_handler ("add-prompt",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_add_prompt), NULL, NULL, NULL, G_TYPE_BOOLEAN, 1,
      G_TYPE_STRING);
  signals[SIGNAL_REMOVE_OBJECT] = g_signal_new_class_handler ("remove-object",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_remove_object), NULL, NULL, NULL, G_TYPE_NONE, 1,
      G_TYPE_UINT);
  signals[SIGNAL_RESET] = g_signal_new_class_handler ("reset",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_reset), NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * GstSamSeg::save-state:
   * @path: file to write
   *
   * Writes the whole tracking state (objects, memories, object pointers,
   * frame counter, model identity) to @path, waiting for the frame in
   * progress. Returns FALSE (and posts a warning) on failure.
   */
  signals[SIGNAL_SAVE_STATE] = g_signal_new_class_handler ("save-state",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_save_state), NULL, NULL, NULL, G_TYPE_BOOLEAN, 1,
      G_TYPE_STRING);
  /**
   * GstSamSeg::load-state:
   * @path: a file written by save-state with the same model and input size
   *
   * Replaces the tracking state with the one in @path; tracking continues
   * from it on the next frame. A file from another model, another input
   * size, a corrupt or truncated file is refused: returns FALSE, posts a
   * warning, and the current state is kept.
   */
  signals[SIGNAL_LOAD_STATE] = g_signal_new_class_handler ("load-state",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_samseg_load_state), NULL, NULL, NULL, G_TYPE_BOOLEAN, 1,
      G_TYPE_STRING);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "SAM 2.1 video object segmentation", "Filter/Analyzer/Video",
      "Tracks prompted objects with SAM 2.1; attaches masks as GstSamSegMeta "
      "and ROI meta, optionally draws them", "samseg developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_samseg_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_samseg_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_samseg_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_samseg_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_samseg_query);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_samseg_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_samseg_transform_frame_ip);
}

static void
gst_samseg_init (GstSamSeg * self)
{
  self->threads = DEFAULT_THREADS;
  self->input_size = DEFAULT_INPUT_SIZE;
  self->overlay = DEFAULT_OVERLAY;
  self->overlay_alpha = DEFAULT_OVERLAY_ALPHA;
  self->outline = DEFAULT_OUTLINE;
  self->inference_interval = DEFAULT_INTERVAL;
  self->max_objects = DEFAULT_MAX_OBJECTS;
  self->mask_threshold = DEFAULT_MASK_THRESHOLD;
  self->memory_frames = DEFAULT_MEMORY_FRAMES;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->tune_allocator = DEFAULT_TUNE_ALLOCATOR;
  g_queue_init (&self->pending);
  g_mutex_init (&self->session_lock);
  self->qos_earliest = GST_CLOCK_TIME_NONE;
  /* never drop late frames: QoS only skips inference (see transform) */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
