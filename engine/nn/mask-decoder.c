/* mask-decoder.c — SAM's mask decoder: the two-way transformer between the
 * output/prompt tokens and the image embedding, the high-resolution
 * upscaling path, and the hypernetwork / IoU / object-score heads.
 */
#include "heads-private.h"

#include <string.h>

#define MD "sam_mask_decoder."
#define LN_EPS 1e-5f            /* nn.LayerNorm default */
#define LN2D_EPS 1e-6f          /* LayerNorm2d default */

/* ref: sam2/modeling/sam2_utils.py MLP.forward (activation ReLU) */
void
sam_mlp_run (const SamModel * m, SamPool * pool, const char *prefix,
    int n_layers, const float *x, int64_t M, float *y)
{
  const float *in = x;
  float *bufs[2] = { NULL, NULL };
  int in_dim = (int) sam_model_w (m, "%s.layers.0.weight", prefix)->shape[1];
  for (int l = 0; l < n_layers; l++) {
    const SamW *w = sam_model_w (m, "%s.layers.%d.weight", prefix, l);
    const int out_dim = (int) w->shape[0];
    float *out = y;
    if (l < n_layers - 1) {
      g_free (bufs[l & 1]);
      out = bufs[l & 1] = g_new (float, (size_t) M * out_dim);
    }
    sam_model_linearf (m, pool, in, M, in_dim, out, out_dim,
        "%s.layers.%d", prefix, l);
    if (l < n_layers - 1)
      sam_relu (out, M * out_dim);
    in = out;
    in_dim = out_dim;
  }
  g_free (bufs[0]);
  g_free (bufs[1]);
}

/* y[n, C] = a[n, C] + b[n, C] */
static void
add_to (float *y, const float *a, const float *b, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

static void
layer_norm (const SamModel * m, SamPool * pool, const char *name, float *x,
    int64_t M)
{
  sam_layernorm (pool, x, M, m->hp.d_model,
      sam_model_wd (m, "%s.weight", name), sam_model_wd (m, "%s.bias", name),
      LN_EPS, x);
}

/* Scratch shared by the transformer's blocks. */
typedef struct {
  int64_t Nt, Nk;
  float *qp, *kp;               /* queries + query_pe, keys + key_pe */
  float *tq, *tk;               /* attention / MLP outputs */
  float *hid;                   /* MLP hidden [Nt, mlp_dim] */
} TwoWayScratch;

/* ref: sam2/modeling/sam/transformer.py TwoWayAttentionBlock.forward */
static void
two_way_block (const SamModel * m, SamPool * pool, int l, float *queries,
    float *keys, const float *query_pe, const float *key_pe,
    TwoWayScratch * s)
{
  const int C = m->hp.d_model;
  const int64_t nq = s->Nt * C, nk = s->Nk * C;
  char p[96], name[128];
  g_snprintf (p, sizeof p, MD "transformer.layers.%d", l);

  /* Self attention; the first layer sees no PE and has no residual. */
  g_snprintf (name, sizeof name, "%s.self_attn", p);
  if (l == 0) {
    sam_decoder_attention (m, pool, name, queries, s->Nt, queries, queries,
        s->Nt, s->tq);
    memcpy (queries, s->tq, sizeof (float) * nq);
  } else {
    add_to (s->qp, queries, query_pe, nq);
    sam_decoder_attention (m, pool, name, s->qp, s->Nt, s->qp, queries,
        s->Nt, s->tq);
    sam_add (queries, s->tq, nq);
  }
  g_snprintf (name, sizeof name, "%s.norm1", p);
  layer_norm (m, pool, name, queries, s->Nt);

  /* Tokens attend to the image. */
  add_to (s->qp, queries, query_pe, nq);
  sam_sum_pool (pool, s->kp, keys, key_pe, nk);
  g_snprintf (name, sizeof name, "%s.cross_attn_token_to_image", p);
  sam_decoder_attention (m, pool, name, s->qp, s->Nt, s->kp, keys, s->Nk,
      s->tq);
  sam_add (queries, s->tq, nq);
  g_snprintf (name, sizeof name, "%s.norm2", p);
  layer_norm (m, pool, name, queries, s->Nt);

  /* MLP (ReLU). */
  g_snprintf (name, sizeof name, "%s.mlp", p);
  sam_mlp_run (m, pool, name, 2, queries, s->Nt, s->tq);
  sam_add (queries, s->tq, nq);
  g_snprintf (name, sizeof name, "%s.norm3", p);
  layer_norm (m, pool, name, queries, s->Nt);

  /* The image attends to the tokens (keys are unchanged so far: kp holds). */
  add_to (s->qp, queries, query_pe, nq);
  g_snprintf (name, sizeof name, "%s.cross_attn_image_to_token", p);
  sam_decoder_attention (m, pool, name, s->kp, s->Nk, s->qp, queries, s->Nt,
      s->tk);
  sam_add_pool (pool, keys, s->tk, nk);
  g_snprintf (name, sizeof name, "%s.norm4", p);
  layer_norm (m, pool, name, keys, s->Nk);
}

/* ref: sam2/modeling/sam/transformer.py TwoWayTransformer.forward
 * queries [Nt, C] (in: the tokens, which are also query_pe), keys [Nk, C]
 * (in: image embedding) are updated in place. */
static void
two_way_transformer (const SamModel * m, SamPool * pool, float *queries,
    int64_t Nt, float *keys, const float *key_pe, int64_t Nk)
{
  const int C = m->hp.d_model;
  const int64_t nq = Nt * C, nk = Nk * C;
  TwoWayScratch s = { Nt, Nk };
  float *query_pe = g_memdup2 (queries, sizeof (float) * nq);
  s.qp = g_new (float, nq);
  s.tq = g_new (float, nq);
  s.kp = g_new (float, nk);
  s.tk = g_new (float, nk);

  for (int l = 0; l < 2; l++)
    two_way_block (m, pool, l, queries, keys, query_pe, key_pe, &s);

  add_to (s.qp, queries, query_pe, nq);
  sam_sum_pool (pool, s.kp, keys, key_pe, nk);
  sam_decoder_attention (m, pool, MD "transformer.final_attn_token_to_image",
      s.qp, Nt, s.kp, keys, Nk, s.tq);
  sam_add (queries, s.tq, nq);
  layer_norm (m, pool, MD "transformer.norm_final_attn", queries, Nt);

  g_free (query_pe);
  g_free (s.qp);
  g_free (s.tq);
  g_free (s.kp);
  g_free (s.tk);
}

/* ref: sam2/modeling/sam/mask_decoder.py MaskDecoder.predict_masks
 * (use_high_res_features: act1(ln1(dc1(src) + feat_s1)), then
 * act2(dc2(·) + feat_s0)). src [H2*H2, C] → up [H0*H0, C/8]. */
static void
upscale (const SamModel * m, SamPool * pool, const SamImageFeatures * f,
    const float *src, float *up)
{
  const int C = m->hp.d_model, c1 = C / 4, c0 = C / 8;
  const int64_t n1 = (int64_t) f->H1 * f->H1;
  float *a = g_new (float, n1 * c1);

  sam_conv_transpose2x2 (pool, src, f->H2, f->H2, C,
      sam_model_wd (m, MD "output_upscaling.0.weight"),
      sam_model_wd (m, MD "output_upscaling.0.bias"), c1, a);
  sam_add_pool (pool, a, f->feat_s1, n1 * c1);
  sam_layernorm (pool, a, n1, c1,
      sam_model_wd (m, MD "output_upscaling.1.weight"),
      sam_model_wd (m, MD "output_upscaling.1.bias"), LN2D_EPS, a);
  sam_gelu (pool, a, n1 * c1);
  sam_conv_transpose2x2 (pool, a, f->H1, f->H1, c1,
      sam_model_wd (m, MD "output_upscaling.3.weight"),
      sam_model_wd (m, MD "output_upscaling.3.bias"), c0, up);
  sam_add_pool (pool, up, f->feat_s0, (int64_t) f->H0 * f->H0 * c0);
  sam_gelu (pool, up, (int64_t) f->H0 * f->H0 * c0);
  g_free (a);
}

/* ref: sam2/modeling/sam/mask_decoder.py MaskDecoder.predict_masks
 * (pred_obj_scores: output tokens [obj_score, iou, mask×4]). */
void
sam_mask_decoder_predict (const SamModel * m, SamPool * pool,
    const SamImageFeatures * f, const float *pix_feat, const float *pe,
    const float *sparse, int n_sparse, const float *dense,
    SamDecoderOut * out)
{
  const int C = m->hp.d_model, c0 = C / 8;
  const int64_t Nk = (int64_t) f->H2 * f->H2, n0 = (int64_t) f->H0 * f->H0;
  const int64_t Nt = SAM_DEC_N_OUT_TOKENS + n_sparse;
  float *tokens = g_new (float, Nt * C);
  float *keys = g_new (float, Nk * C);

  memcpy (tokens, sam_model_wd (m, MD "obj_score_token.weight"),
      sizeof (float) * C);
  memcpy (tokens + C, sam_model_wd (m, MD "iou_token.weight"),
      sizeof (float) * C);
  memcpy (tokens + 2 * C, sam_model_wd (m, MD "mask_tokens.weight"),
      sizeof (float) * SAM_DEC_N_MASKS * C);
  memcpy (tokens + SAM_DEC_N_OUT_TOKENS * C, sparse,
      sizeof (float) * n_sparse * C);
  sam_sum_pool (pool, keys, pix_feat, dense, Nk * C);

  two_way_transformer (m, pool, tokens, Nt, keys, pe, Nk);

  g_assert (c0 == 32);
  out->n0 = n0;
  out->up = g_new (float, n0 * c0);
  upscale (m, pool, f, keys, out->up);

  /* iou_prediction_use_sigmoid; pred_obj_scores_mlp (3 layers). */
  sam_mlp_run (m, NULL, MD "iou_prediction_head", 3, tokens + C, 1, out->iou);
  sam_sigmoid (out->iou, SAM_DEC_N_MASKS);
  sam_mlp_run (m, NULL, MD "pred_obj_score_head", 3, tokens, 1,
      &out->object_score);
  memcpy (out->mask_tokens, tokens + 2 * C,
      sizeof (float) * SAM_DEC_N_MASKS * C);

  g_free (tokens);
  g_free (keys);
}

/* ref: MaskDecoder.predict_masks: hypernetwork weights per mask token ·
 * upscaled embedding, for the masks asked for only */
void
sam_mask_decoder_masks (const SamModel * m, SamPool * pool,
    const SamDecoderOut * d, unsigned want, float *masks)
{
  const int C = m->hp.d_model, c0 = C / 8;
  float hyper[SAM_DEC_N_MASKS * 32];
  int idx[SAM_DEC_N_MASKS], n = 0;

  g_assert (c0 == 32);
  for (int i = 0; i < SAM_DEC_N_MASKS; i++) {
    if (!(want & (1u << i)))
      continue;
    char name[96];
    g_snprintf (name, sizeof name, MD "output_hypernetworks_mlps.%d", i);
    sam_mlp_run (m, NULL, name, 3, d->mask_tokens + (size_t) i * C, 1,
        hyper + n * c0);
    idx[n++] = i;
  }
  if (!n)
    return;
  /* one output column per mask: every column is its own dot products, so
   * a mask's values do not depend on the others asked for */
  float *masks_hw = g_new (float, d->n0 * n);
  sam_linear (pool, d->up, d->n0, c0, c0, hyper, NULL, n, masks_hw, n);
  if (n == 1)
    memcpy (masks + idx[0] * d->n0, masks_hw, sizeof (float) * d->n0);
  else {
    float *t = g_new (float, d->n0 * n);
    sam_transpose (masks_hw, d->n0, n, t);
    for (int j = 0; j < n; j++)
      memcpy (masks + idx[j] * d->n0, t + j * d->n0, sizeof (float) * d->n0);
    g_free (t);
  }
  g_free (masks_hw);
}

void
sam_decoder_out_clear (SamDecoderOut * d)
{
  g_clear_pointer (&d->up, g_free);
}
