/* session.c — one video stream: prompts, objects, memory, and the per-frame
 * track step of SAM2VideoPredictor in streaming order.
 *
 * ref: sam2/sam2_video_predictor.py (add_new_points_or_box,
 *      propagate_in_video_preflight, propagate_in_video) and
 *      sam2/modeling/sam2_base.py (track_step).
 *
 * Streaming order: prompts for frame t arrive before frame t is processed,
 * and nothing from the future is used. Processing frame t:
 *   1. encode the image once;
 *   2. objects prompted on t (in prompt order): SAM heads without memory
 *      (initial conditioning frame: no_mem_embed added), then the memory
 *      encoder on the binarized mask — as add_new_points_or_box followed by
 *      propagate_in_video_preflight do;
 *   3. every other object (in creation order): memory attention over its
 *      memory bank, SAM heads with multimask tracking, memory encoder on the
 *      sigmoid of the mask — as propagate_in_video does.
 */
#include "session-private.h"

#include <math.h>
#include <string.h>

#include "core/preprocess.h"

void
sam_session_params_init (SamSessionParams * p)
{
  memset (p, 0, sizeof *p);
  p->size = sizeof *p;
  p->input_size = 0;
  p->n_threads = 0;
  p->max_objects = 16;
  p->num_maskmem = 7;
  p->max_cond_frames = 16;
  p->max_obj_ptrs = 16;
  p->num_frames = 0;
  p->memory_precision = SAM_MEMORY_PRECISION_BF16;
  p->frame_logits = TRUE;
}

static gboolean
check_params (const SamModel * m, SamSessionParams * p, GError ** error)
{
  if (p->input_size == 0)
    p->input_size = m->hp.image_size;
  if (p->input_size < 256 || p->input_size > 1024 || p->input_size % 16) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "input size %d is not a multiple of 16 in [256, 1024]", p->input_size);
    return FALSE;
  }
  if (p->max_objects < 1 || p->max_objects > SAM_SESSION_MAX_OBJECTS) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "max-objects %d outside [1, %d]", p->max_objects,
        SAM_SESSION_MAX_OBJECTS);
    return FALSE;
  }
  if (p->num_maskmem < 1 || p->num_maskmem > m->hp.num_maskmem) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "num_maskmem %d outside [1, %d] (the model has %d temporal "
        "encodings)", p->num_maskmem, m->hp.num_maskmem, m->hp.num_maskmem);
    return FALSE;
  }
  /* The official selection keeps the closest frame before and after the
   * current one, so it needs room for two. */
  if (p->max_cond_frames < 2 || p->max_cond_frames > 64) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "max_cond_frames %d outside [2, 64]", p->max_cond_frames);
    return FALSE;
  }
  if (p->max_obj_ptrs < 1 || p->max_obj_ptrs > 16) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "max_obj_ptrs %d outside [1, 16]", p->max_obj_ptrs);
    return FALSE;
  }
  if (p->num_frames < 0) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT, "num_frames < 0");
    return FALSE;
  }
  if (p->memory_precision < SAM_MEMORY_PRECISION_BF16
      || p->memory_precision > SAM_MEMORY_PRECISION_INT8) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "memory_precision %d is not a SamMemoryPrecision (0 bf16, 1 f32, "
        "2 int8)", p->memory_precision);
    return FALSE;
  }
  return TRUE;
}

SamSession *
sam_session_new (SamModel * m, const SamSessionParams * p, GError ** error)
{
  g_return_val_if_fail (m != NULL, NULL);
  SamSessionParams params;
  if (p) {
    sam_session_params_init (&params);
    memcpy (&params, p, MIN (p->size ? p->size : sizeof params,
            sizeof params));
    params.size = sizeof params;
  } else
    sam_session_params_init (&params);
  if (!check_params (m, &params, error))
    return NULL;
  SamSession *s = g_new0 (SamSession, 1);
  s->model = sam_model_ref (m);
  s->params = params;
  s->S = params.input_size;
  s->pool = sam_pool_new (params.n_threads);
  s->objects = g_ptr_array_new_with_free_func ((GDestroyNotify)
      sam_object_free);
  sam_image_features_alloc (&s->feats, s->S);
  int H2 = s->S / 16;
  s->maskmem_pos = g_new0 (float, (size_t) H2 * H2 * SAM_MEM_DIM);
  s->dense_pe = g_new (float, (size_t) H2 * H2 * SAM_HIDDEN);
  sam_prompt_encoder_dense_pe (m, s->pool, H2, s->dense_pe);
  s->results = g_array_new (FALSE, TRUE, sizeof (SamObjectResult));
  return s;
}

void
sam_session_free (SamSession * s)
{
  if (!s)
    return;
  g_ptr_array_unref (s->objects);
  sam_image_features_clear (&s->feats);
  g_free (s->maskmem_pos);
  g_free (s->dense_pe);
  g_free (s->memattn_x1);
  g_free (s->memattn_q0);
  g_array_unref (s->results);
  sam_pool_free (s->pool);
  sam_model_unref (s->model);
  g_free (s);
  sam_release_process_heap ();
}

void
sam_session_set_tap (SamSession * s, SamTapFunc func, gpointer user_data)
{
  s->tap.func = func;
  s->tap.user_data = user_data;
}

void
sam_session_get_timings (const SamSession * s, SamTimings * t)
{
  *t = s->timings;
}

SamObject *
sam_session_find_object (SamSession * s, guint32 obj_id)
{
  for (guint i = 0; i < s->objects->len; i++) {
    SamObject *o = s->objects->pdata[i];
    if (o->id == obj_id)
      return o;
  }
  return NULL;
}

static gboolean
valid_coord (float v)
{
  return isfinite (v) && v > -1e6f && v < 1e6f;
}

gboolean
sam_session_add_prompt (SamSession * s, guint32 obj_id,
    const SamPrompt * pr, GError ** error)
{
  g_return_val_if_fail (s != NULL && pr != NULL, FALSE);
  if (pr->n_points < 0 || pr->n_points > SAM_MAX_POINTS_PER_PROMPT
      || (pr->n_points > 0 && (!pr->points || !pr->labels))) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
        "a prompt has 0..%d points with labels (got %d)",
        SAM_MAX_POINTS_PER_PROMPT, pr->n_points);
    return FALSE;
  }
  if (pr->n_points == 0 && !pr->has_box) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
        "a prompt needs at least one point or a box");
    return FALSE;
  }
  for (int i = 0; i < pr->n_points; i++) {
    if (!valid_coord (pr->points[2 * i]) || !valid_coord (pr->points[2 * i + 1])) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
          "point %d of object %u has a non-finite or absurd coordinate", i,
          obj_id);
      return FALSE;
    }
    if (pr->labels[i] != 0 && pr->labels[i] != 1) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
          "point %d of object %u has label %d (0 negative, 1 positive)", i,
          obj_id, pr->labels[i]);
      return FALSE;
    }
  }
  if (pr->has_box) {
    for (int k = 0; k < 4; k++)
      if (!valid_coord (pr->box[k])) {
        g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
            "box of object %u has a non-finite coordinate", obj_id);
        return FALSE;
      }
    if (!(pr->box[2] > pr->box[0] && pr->box[3] > pr->box[1])) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
          "box of object %u is empty (x1 <= x0 or y1 <= y0)", obj_id);
      return FALSE;
    }
  }
  SamObject *o = sam_session_find_object (s, obj_id);
  if (!o) {
    if ((int) s->objects->len >= s->params.max_objects) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
          "cannot add object %u: already tracking max_objects = %d objects",
          obj_id, s->params.max_objects);
      return FALSE;
    }
    o = sam_object_new (s, obj_id);
    g_ptr_array_add (s->objects, o);
  }
  /* A box must come before any click (as SAM 2 was trained), so a box
   * replaces the pending prompt; clicks are appended unless clear_old. */
  if (pr->has_box || pr->clear_old)
    o->n_pending = 0;
  int need = o->n_pending + pr->n_points + (pr->has_box ? 2 : 0);
  if (need > SAM_MAX_POINTS_PER_PROMPT + 2) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "object %u would have %d prompt points on this frame (max %d)",
        obj_id, need, SAM_MAX_POINTS_PER_PROMPT + 2);
    return FALSE;
  }
  if (pr->has_box) {
    o->pending_xy[0] = pr->box[0];
    o->pending_xy[1] = pr->box[1];
    o->pending_xy[2] = pr->box[2];
    o->pending_xy[3] = pr->box[3];
    o->pending_labels[0] = 2;
    o->pending_labels[1] = 3;
    o->n_pending = 2;
  }
  for (int i = 0; i < pr->n_points; i++) {
    o->pending_xy[2 * o->n_pending] = pr->points[2 * i];
    o->pending_xy[2 * o->n_pending + 1] = pr->points[2 * i + 1];
    o->pending_labels[o->n_pending] = pr->labels[i];
    o->n_pending++;
  }
  if (o->prompt_order == 0)
    o->prompt_order = ++s->prompt_counter;
  return TRUE;
}

void
sam_session_remove_object (SamSession * s, guint32 obj_id)
{
  for (guint i = 0; i < s->objects->len; i++)
    if (((SamObject *) s->objects->pdata[i])->id == obj_id) {
      g_ptr_array_remove_index (s->objects, i);
      return;
    }
}

void
sam_session_reset (SamSession * s)
{
  g_ptr_array_set_size (s->objects, 0);
  s->frame_index = 0;
  s->poisoned = FALSE;
  s->n_heads_calls = s->n_memattn_calls = s->n_memenc_calls = 0;
  s->prompt_counter = 0;
  s->frame_w = s->frame_h = 0;
}

gint
sam_session_input_size (const SamSession * s)
{
  return s->S;
}

guint64
sam_session_frame_index (const SamSession * s)
{
  return s->frame_index;
}

gint
sam_session_n_objects (const SamSession * s)
{
  return (gint) s->objects->len;
}

guint32
sam_session_object_id (const SamSession * s, gint i)
{
  g_return_val_if_fail (i >= 0 && i < (gint) s->objects->len, 0);
  return ((SamObject *) s->objects->pdata[i])->id;
}

gsize
sam_session_memory_bytes (const SamSession * s)
{
  gsize bytes = 0;
  for (guint i = 0; i < s->objects->len; i++)
    bytes += sam_memory_bank_bytes (((SamObject *) s->objects->pdata[i])->bank);
  return bytes;
}
