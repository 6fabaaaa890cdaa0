/* heads-private.h — the pieces sam_heads_run() is assembled from: the
 * prompt encoder (prompt-encoder.c) and the mask decoder (mask-decoder.c,
 * its transformer's attentions in decoder-attention.c).
 * Internal to engine/nn; the public entry point is sam_heads_run() in nn.h.
 */
#ifndef SAM_NN_HEADS_PRIVATE_H
#define SAM_NN_HEADS_PRIVATE_H

#include "nn.h"

/* Output tokens of the decoder: obj_score, iou, 4 mask tokens. */
#define SAM_DEC_N_OUT_TOKENS 6
#define SAM_DEC_N_MASKS 4

/* Sparse tokens the prompt encoder produces for @in (the points plus the
 * padding point, since _forward_sam_heads never passes boxes). */
int sam_prompt_encoder_n_tokens (const SamHeadsInput * in);

/* sparse: [n_tokens, 256]; dense: [(S/16)^2, 256] (no_mask_embed broadcast
 * or mask_downscaling of in->mask_input). */
void sam_prompt_encoder_run (const SamModel * m, SamPool * pool, int S,
    const SamHeadsInput * in, float *sparse, float *dense);

/* Everything MaskDecoder.predict_masks() returns, before any selection. */
typedef struct {
  float iou[SAM_DEC_N_MASKS];   /* after the sigmoid */
  float mask_tokens[SAM_DEC_N_MASKS * 256];
  float object_score;
  float *up;                    /* owned: the upscaled embedding [n0, 32] */
  int64_t n0;                   /* H0 * H0 */
} SamDecoderOut;

/* pix_feat, dense, pe: [H2*H2, 256]; sparse: [n_sparse, 256]. Fills out,
 * whose masks then come from sam_mask_decoder_masks (); free out->up with
 * sam_decoder_out_clear (). */
void sam_mask_decoder_predict (const SamModel * m, SamPool * pool,
    const SamImageFeatures * f, const float *pix_feat, const float *pe,
    const float *sparse, int n_sparse, const float *dense,
    SamDecoderOut * out);

/* The low-res masks of the outputs whose bit is set in @want (bit i: mask
 * i of SAM_DEC_N_MASKS) into masks + i · n0, the others untouched: the
 * tracker needs one, the reference computes four. Each mask's values are
 * the same whichever others are asked for. */
void sam_mask_decoder_masks (const SamModel * m, SamPool * pool,
    const SamDecoderOut * d, unsigned want, float *masks);

void sam_decoder_out_clear (SamDecoderOut * d);

/* TwoWayTransformer's Attention @name (decoder-attention.c): q_in [Nq, C]
 * against keys k_in and values v_in [Nk, C] → out [Nq, C], C = d_model.
 * Cross-attentions between a few tokens and the image run in an exactly
 * folded order where that is cheaper (decoder-attention.c); _literal is
 * the reference's order always, for the tests. */
void sam_decoder_attention (const SamModel * m, SamPool * pool,
    const char *name, const float *q_in, int64_t Nq, const float *k_in,
    const float *v_in, int64_t Nk, float *out);
void sam_decoder_attention_literal (const SamModel * m, SamPool * pool,
    const char *name, const float *q_in, int64_t Nq, const float *k_in,
    const float *v_in, int64_t Nk, float *out);

/* sam2_utils.MLP with ReLU between layers: x [M, in] → y [M, out]; the
 * sizes come from the weights "<prefix>.layers.{i}.weight". */
void sam_mlp_run (const SamModel * m, SamPool * pool, const char *prefix,
    int n_layers, const float *x, int64_t M, float *y);

#endif
