/* track.c — sam_session_process_frame: the per-frame track step.
 * See session.c for the streaming order this implements.
 */
#include "session-private.h"

#include <math.h>
#include <string.h>

#include "core/preprocess.h"
#include "kernels/cpu.h"
#include "nn/memory-prep.h"

G_STATIC_ASSERT ((int) SAM_MEMORY_PRECISION_BF16
    == (int) SAM_MEMORY_BANK_PRECISION_BF16);
G_STATIC_ASSERT ((int) SAM_MEMORY_PRECISION_F32
    == (int) SAM_MEMORY_BANK_PRECISION_F32);
G_STATIC_ASSERT ((int) SAM_MEMORY_PRECISION_INT8
    == (int) SAM_MEMORY_BANK_PRECISION_INT8);

SamObject *
sam_object_new (SamSession * s, guint32 id)
{
  SamObject *o = g_new0 (SamObject, 1);
  o->id = id;
  SamMemoryBankConfig c;
  sam_memory_bank_config_init (&c);
  int H2 = s->S / 16;
  c.n_tokens = H2 * H2;
  c.mem_dim = SAM_MEM_DIM;
  c.ptr_dim = SAM_HIDDEN;
  c.num_maskmem = s->params.num_maskmem;
  c.max_cond_frames = s->params.max_cond_frames;
  c.max_obj_ptrs = s->params.max_obj_ptrs;
  /* SamMemoryPrecision and SamMemoryBankPrecision share their values. */
  c.precision = (SamMemoryBankPrecision) s->params.memory_precision;
  o->bank = sam_memory_bank_new (&c);
  /* The session validated the parameters the bank checks. */
  g_assert (o->bank != NULL);
  int L = s->S / 4;
  o->low_res = g_new0 (float, (size_t) L * L);
  return o;
}

void
sam_object_free (SamObject * o)
{
  if (!o)
    return;
  sam_memory_bank_free (o->bank);
  g_free (o->low_res);
  g_free (o->logits);
  g_free (o);
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static int
cmp_prompt_order (gconstpointer a, gconstpointer b)
{
  const SamObject *x = *(SamObject * const *) a, *y = *(SamObject * const *) b;
  return x->prompt_order < y->prompt_order ? -1 : (x->prompt_order >
      y->prompt_order);
}

/* SAM heads + bookkeeping shared by both paths. */
static void
run_heads (SamSession * s, SamObject * o, const float *pix_feat,
    const SamHeadsInput * in)
{
  int L = s->S / 4;
  /* the multimask outputs are tapped, never kept: without taps only the
   * chosen mask is computed */
  float *multi = sam_tap_on (&s->tap) ? g_new (float, (size_t) 3 * L * L)
      : NULL;
  SamHeadsOutput out = { 0 };
  out.low_res_multimasks = multi;
  out.low_res_masks = o->low_res;
  char prefix[32];
  g_snprintf (prefix, sizeof prefix, "heads%d", s->n_heads_calls++);
  double t0 = now_ms ();
  sam_heads_run (s->model, s->pool, &s->feats, pix_feat, s->dense_pe, in,
      &out, &s->tap, prefix);
  s->timings.decoder_ms += now_ms () - t0;
  memcpy (o->obj_ptr, out.obj_ptr, sizeof o->obj_ptr);
  o->object_score = out.object_score;
  o->iou = out.iou;
  g_free (multi);
}

static void
run_memory_encoder (SamSession * s, SamObject * o, gboolean from_pts)
{
  int H2 = s->S / 16;
  float *feat = g_new (float, (size_t) H2 * H2 * SAM_MEM_DIM);
  float *pos = g_new (float, (size_t) H2 * H2 * SAM_MEM_DIM);
  char prefix[32];
  g_snprintf (prefix, sizeof prefix, "memenc%d", s->n_memenc_calls++);
  double t0 = now_ms ();
  sam_memory_encoder_run (s->model, s->pool, &s->feats, o->low_res,
      o->object_score, from_pts, feat, pos, &s->tap, prefix);
  s->timings.memory_encoder_ms += now_ms () - t0;
  if (!s->have_maskmem_pos) {
    memcpy (s->maskmem_pos, pos, sizeof (float) * H2 * H2 * SAM_MEM_DIM);
    s->have_maskmem_pos = TRUE;
  }
  sam_memory_bank_add (o->bank, (int64_t) s->frame_index, o->is_cond, feat,
      o->obj_ptr, o->object_score);
  g_free (feat);
  g_free (pos);
}

/* Initial conditioning frame: SAM on this frame alone (directly_add_no_mem_embed). */
static void
track_prompted (SamSession * s, SamObject * o)
{
  int H2 = s->S / 16, n = H2 * H2;
  float *pix = g_new (float, (size_t) n * SAM_HIDDEN);
  const float *no_mem = sam_model_wd (s->model, "no_mem_embed");
  for (int i = 0; i < n; i++)
    for (int c = 0; c < SAM_HIDDEN; c++)
      pix[(size_t) i * SAM_HIDDEN + c] = s->feats.feat[(size_t) i * SAM_HIDDEN
          + c] + no_mem[c];
  /* The prompt is in frame pixels; the model sees S×S. */
  float coords[2 * (SAM_MAX_POINTS_PER_PROMPT + 2)];
  float sx = (float) s->S / s->frame_w, sy = (float) s->S / s->frame_h;
  for (int i = 0; i < o->n_pending; i++) {
    coords[2 * i] = o->pending_xy[2 * i] * sx;
    coords[2 * i + 1] = o->pending_xy[2 * i + 1] * sy;
  }
  SamHeadsInput in = {
    .n_points = o->n_pending,
    .coords = coords,
    .labels = o->pending_labels,
    .mask_input = NULL,
    /* _use_multimask: multimask_min_pt_num 0 <= n <= multimask_max_pt_num 1 */
    .multimask = o->n_pending <= 1,
  };
  o->is_cond = TRUE;
  run_heads (s, o, pix, &in);
  g_free (pix);
  o->n_pending = 0;
  o->prompt_order = 0;
}

/* Non-conditioning frame: memory attention, then SAM without prompts. */
static gboolean
track_with_memory (SamSession * s, SamObject * o, GError ** error)
{
  int H2 = s->S / 16, n = H2 * H2;
  float *memory = NULL, *memory_pos = NULL;
  int n_mem = 0, n_ptr = 0;
  double t0 = now_ms ();
  if (!sam_memory_build_tokens (s->model, s->pool, o->bank, (int64_t) s->frame_index,
          s->params.num_frames, s->maskmem_pos, &memory, &memory_pos, &n_mem,
          &n_ptr)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_BAD_STATE,
        "object %u has no memory to track from", o->id);
    return FALSE;
  }
  float *pix = g_new (float, (size_t) n * SAM_HIDDEN);
  char prefix[32];
  g_snprintf (prefix, sizeof prefix, "memattn%d", s->n_memattn_calls++);
  if (sam_tap_on (&s->tap)) {
    char name[48];
    float len = (float) n_mem;
    int64_t shape[1] = { 1 };
    g_snprintf (name, sizeof name, "%s.memory_len", prefix);
    sam_tap_raw (&s->tap, name, &len, 1, shape);
  }
  if (!s->have_memattn_shared) {
    if (!s->memattn_x1) {
      s->memattn_x1 = g_new (float, (size_t) n * SAM_HIDDEN);
      s->memattn_q0 = g_new (float, (size_t) n * SAM_HIDDEN);
    }
    sam_memory_attention_shared (s->model, s->pool, s->feats.feat,
        s->feats.pos, H2, H2, s->memattn_x1, s->memattn_q0);
    s->have_memattn_shared = TRUE;
  }
  sam_memory_attention_run_shared (s->model, s->pool, H2, H2, s->memattn_x1,
      s->memattn_q0, memory, memory_pos, n_mem, n_ptr, pix, &s->tap, prefix);
  s->timings.memory_attention_ms += now_ms () - t0;
  g_free (memory);
  g_free (memory_pos);

  /* no points: one padding point with label -1 (_forward_sam_heads) */
  static const float pad_xy[2] = { 0.f, 0.f };
  static const gint32 pad_label[1] = { -1 };
  SamHeadsInput in = {
    .n_points = 1,.coords = pad_xy,.labels = pad_label,.mask_input = NULL,
    .multimask = TRUE,          /* multimask_output_for_tracking */
  };
  o->is_cond = FALSE;
  run_heads (s, o, pix, &in);
  g_free (pix);
  return TRUE;
}

/* Frame-resolution logits, box and the public result record. */
static void
finish_object (SamSession * s, SamObject * o, SamObjectResult * r)
{
  int L = s->S / 4, W = s->frame_w, H = s->frame_h;
  int box[4] = { -1, -1, -1, -1 };
  if (s->params.frame_logits) {
    gsize need = (gsize) W * H;
    if (o->logits_len != need) {
      g_free (o->logits);
      o->logits = g_new (float, need);
      o->logits_len = need;
    }
    sam_resize_bilinear (s->pool, o->low_res, L, L, 1, o->logits, H, W,
        false);
    sam_positive_box (o->logits, W, H, box);
  }
  memset (r, 0, sizeof *r);
  r->obj_id = o->id;
  r->object_score = o->object_score;
  r->iou = o->iou;
  r->is_cond_frame = o->is_cond;
  r->low_res_size = L;
  r->low_res_logits = o->low_res;
  r->width = W;
  r->height = H;
  r->logits = s->params.frame_logits ? o->logits : NULL;
  memcpy (r->box, box, sizeof box);
  r->obj_ptr = o->obj_ptr;
}

gboolean
sam_session_process_frame (SamSession * s, const SamImage * frame,
    SamFrameResult * out, GError ** error)
{
  g_return_val_if_fail (s != NULL && frame != NULL && out != NULL, FALSE);
  if (s->poisoned) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_BAD_STATE,
        "session failed earlier; call sam_session_reset()");
    return FALSE;
  }
  if (frame->format != SAM_PIXEL_RGB || !frame->data || frame->width < 1
      || frame->height < 1 || frame->width > 16384 || frame->height > 16384
      || frame->stride < frame->width * 3) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
        "bad frame: %dx%d, stride %d (packed RGB expected, 1..16384 pixels "
        "per side)", frame->width, frame->height, frame->stride);
    return FALSE;
  }
  if (s->frame_w && (s->frame_w != frame->width
          || s->frame_h != frame->height)) {
    /* Masks in memory stay valid: they live at model resolution. */
    g_debug ("samseg: frame size changed %dx%d -> %dx%d", s->frame_w,
        s->frame_h, frame->width, frame->height);
  }
  s->frame_w = frame->width;
  s->frame_h = frame->height;
  memset (&s->timings, 0, sizeof s->timings);
  double t_start = now_ms ();
  s->have_memattn_shared = FALSE;       /* new frame features */

  g_array_set_size (s->results, 0);
  if (s->objects->len > 0) {
    double t0 = now_ms ();
    /* The normalized frame feeds the patch embedding only: not kept
     * between frames, it is off the memory-attention peak (12.6 MB at
     * input 1024). */
    float *img = g_new (float, (size_t) s->S * s->S * 3);
    sam_preprocess_rgb (s->pool, frame->data, frame->width, frame->height,
        frame->stride, s->S, img);
    char prefix[32];
    g_snprintf (prefix, sizeof prefix, "enc%" G_GUINT64_FORMAT,
        s->frame_index);
    sam_image_encoder_run (s->model, s->pool, img, s->S, &s->feats,
        &s->tap, prefix);
    g_free (img);
    s->timings.image_encoder_ms = now_ms () - t0;

    /* 1. prompted objects, in prompt order; their memory is encoded before
     * any other object tracks (propagate_in_video_preflight). */
    GPtrArray *prompted = g_ptr_array_new ();
    for (guint i = 0; i < s->objects->len; i++) {
      SamObject *o = s->objects->pdata[i];
      if (o->n_pending > 0)
        g_ptr_array_add (prompted, o);
    }
    g_ptr_array_sort (prompted, cmp_prompt_order);
    for (guint i = 0; i < prompted->len; i++)
      track_prompted (s, prompted->pdata[i]);
    for (guint i = 0; i < prompted->len; i++)
      run_memory_encoder (s, prompted->pdata[i], TRUE);

    /* 2. every other object tracks from its memory. */
    for (guint i = 0; i < s->objects->len; i++) {
      SamObject *o = s->objects->pdata[i];
      gboolean was_prompted = FALSE;
      for (guint k = 0; k < prompted->len; k++)
        was_prompted |= prompted->pdata[k] == (gpointer) o;
      if (was_prompted)
        continue;
      if (!track_with_memory (s, o, error)) {
        g_ptr_array_unref (prompted);
        s->poisoned = TRUE;
        return FALSE;
      }
      run_memory_encoder (s, o, FALSE);
    }
    g_ptr_array_unref (prompted);

    g_array_set_size (s->results, s->objects->len);
    for (guint i = 0; i < s->objects->len; i++)
      finish_object (s, s->objects->pdata[i],
          &g_array_index (s->results, SamObjectResult, i));
    /* The kernels' packing buffers keep their high-water mark per thread;
     * memory attention's packed cross-attention keys and values (37 MB at
     * input 1024) would otherwise sit idle through the next image encoder,
     * on top of its own peak. Made again once per frame. */
    sam_k_scratch_trim (SAM_SCRATCH_KEEP_BYTES);
  }
  out->frame_index = s->frame_index;
  out->n_objects = (gint) s->results->len;
  out->objects = (const SamObjectResult *) s->results->data;
  s->frame_index++;
  s->timings.total_ms = now_ms () - t_start;
  /* After the frame, off its timings: a quarter of its time at most for
   * moving the heap onto huge pages (a one-time cost, sam.h). */
  sam_process_heap_huge_pages_step ((gint64) (s->timings.total_ms * 250.));
  return TRUE;
}
