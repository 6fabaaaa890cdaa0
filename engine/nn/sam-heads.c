/* sam-heads.c — SAM2Base._forward_sam_heads: prompt encoder + mask decoder,
 * then the choice of the output mask, the no-object handling and the object
 * pointer.
 */
#include "heads-private.h"

#include <string.h>

#define NO_OBJ_SCORE -1024.0f
/* The video predictor's overrides (build_sam2_video_predictor). */
#define STABILITY_DELTA 0.05f
#define STABILITY_THRESH 0.98f

/* ref: sam2/modeling/sam/mask_decoder.py MaskDecoder._get_stability_scores */
static float
stability_score (const float *logits, int64_t n)
{
  int64_t area_i = 0, area_u = 0;
  for (int64_t i = 0; i < n; i++) {
    area_i += logits[i] > STABILITY_DELTA;
    area_u += logits[i] > -STABILITY_DELTA;
  }
  return area_u > 0 ? (float) area_i / (float) area_u : 1.f;
}

/* torch.argmax: the first maximum wins. */
static int
argmax (const float *v, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

static void
emit_taps (const SamTap * tap, const char *prefix, const SamHeadsOutput * out,
    int H0)
{
  if (!sam_tap_on (tap))
    return;
  char name[128];
  const int64_t M = out->n_masks;
  int64_t s_ious[2] = { 1, M }, s_multi[4] = { 1, M, H0, H0 };
  int64_t s_mask[4] = { 1, 1, H0, H0 }, s_ptr[2] = { 1, 256 };
  int64_t s_score[2] = { 1, 1 };

  g_snprintf (name, sizeof name, "%s.ious", prefix);
  sam_tap_raw (tap, name, out->ious, 2, s_ious);
  if (out->low_res_multimasks) {
    g_snprintf (name, sizeof name, "%s.low_res_multimasks", prefix);
    sam_tap_raw (tap, name, out->low_res_multimasks, 4, s_multi);
  }
  g_snprintf (name, sizeof name, "%s.low_res_masks", prefix);
  sam_tap_raw (tap, name, out->low_res_masks, 4, s_mask);
  g_snprintf (name, sizeof name, "%s.obj_ptr", prefix);
  sam_tap_raw (tap, name, out->obj_ptr, 2, s_ptr);
  g_snprintf (name, sizeof name, "%s.object_score_logits", prefix);
  sam_tap_raw (tap, name, &out->object_score, 2, s_score);
}

/* ref: sam2/modeling/sam2_base.py SAM2Base._forward_sam_heads
 * (with MaskDecoder.forward's output selection folded in). */
void
sam_heads_run (const SamModel * m, SamPool * pool,
    const SamImageFeatures * f, const float *pix_feat, const float *dense_pe,
    const SamHeadsInput * in, SamHeadsOutput * out, const SamTap * tap,
    const char *tap_prefix)
{
  const int C = m->hp.d_model, H2 = f->H2;
  const int64_t n0 = (int64_t) f->H0 * f->H0;
  const int n_sparse = sam_prompt_encoder_n_tokens (in);
  float *sparse = g_new (float, (size_t) n_sparse * C);
  float *dense = g_new (float, (size_t) H2 * H2 * C);
  SamDecoderOut d;

  g_return_if_fail (C == 256);
  sam_prompt_encoder_run (m, pool, f->S, in, sparse, dense);
  sam_mask_decoder_predict (m, pool, f, pix_feat, dense_pe, sparse, n_sparse,
      dense, &d);
  /* the reference computes all four masks; without the multimask buffer
   * only the ones the choice below reads are made (the IoUs come from the
   * IoU token, not from the masks) */
  const bool all = out->low_res_multimasks != NULL;
  float *masks = g_new (float, SAM_DEC_N_MASKS * n0);
  if (all)
    sam_mask_decoder_masks (m, pool, &d, (1u << SAM_DEC_N_MASKS) - 1, masks);

  /* MaskDecoder.forward: multimask → tokens 1..3 (and, with
   * use_multimask_token_for_obj_ptr, their tokens); otherwise token 0,
   * unless its mask is unstable, then the best of 1..3 by predicted IoU
   * (the object pointer still comes from token 0). */
  const float *token;
  int pick;
  if (in->multimask) {
    out->n_masks = 3;
    memcpy (out->ious, d.iou + 1, sizeof (float) * 3);
    out->best = argmax (out->ious, 3);
    pick = 1 + out->best;
    token = d.mask_tokens + (size_t) pick * C;
  } else {
    if (!all)
      sam_mask_decoder_masks (m, pool, &d, 1u, masks);
    pick = 0;
    if (stability_score (masks, n0) < STABILITY_THRESH)
      pick = 1 + argmax (d.iou + 1, 3);
    out->n_masks = 1;
    out->ious[0] = d.iou[pick];
    out->best = 0;
    token = d.mask_tokens;
  }
  if (!all && pick != 0)
    sam_mask_decoder_masks (m, pool, &d, 1u << pick, masks);
  out->iou = out->ious[out->best];
  out->object_score = d.object_score;

  /* Spatial memories need a hard object / no-object choice. */
  const bool appearing = d.object_score > 0.f;
  memcpy (out->low_res_masks, masks + pick * n0, sizeof (float) * n0);
  if (!appearing)
    for (int64_t i = 0; i < n0; i++)
      out->low_res_masks[i] = NO_OBJ_SCORE;
  if (all) {
    const float *first = masks + (in->multimask ? n0 : pick * n0);
    memcpy (out->low_res_multimasks, first, sizeof (float) * out->n_masks
        * n0);
    if (!appearing)
      for (int64_t i = 0; i < out->n_masks * n0; i++)
        out->low_res_multimasks[i] = NO_OBJ_SCORE;
  }

  /* obj_ptr_proj, then fixed_no_obj_ptr: λ·ptr + (1 − λ)·no_obj_ptr with a
   * hard λ (soft_no_obj_ptr is off). */
  sam_mlp_run (m, NULL, "obj_ptr_proj", 3, token, 1, out->obj_ptr);
  const float lambda = appearing ? 1.f : 0.f;
  const float *no_obj_ptr = sam_model_wd (m, "no_obj_ptr");
  for (int c = 0; c < C; c++)
    out->obj_ptr[c] =
        lambda * out->obj_ptr[c] + (1.f - lambda) * no_obj_ptr[c];

  emit_taps (tap, tap_prefix, out, f->H0);
  sam_decoder_out_clear (&d);
  g_free (masks);
  g_free (sparse);
  g_free (dense);
}
