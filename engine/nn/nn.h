/* nn.h — the SAM 2.1 modules as plain functions over channels-last float32
 * buffers (layout rules: kernels/ops.h). Each function mirrors one PyTorch
 * forward in facebookresearch/sam2 (file named at each declaration).
 *
 * Modules never allocate results for the caller: outputs go to caller
 * buffers of the documented sizes. Scratch memory is the module's business.
 */
#ifndef SAM_NN_NN_H
#define SAM_NN_NN_H

#include <stdbool.h>
#include "model/model.h"
#include "model/quantized.h"
#include "kernels/ops.h"

/* ---- debugging taps ------------------------------------------------------ */

typedef struct {
  SamTapFunc func;              /* NULL: taps disabled */
  gpointer user_data;
} SamTap;

/* Emits a channels-last H×W×C map as PyTorch's [1, C, H, W]. */
void sam_tap_hwc (const SamTap * tap, const char *name, const float *hwc,
    int H, int W, int C);
/* Emits a buffer with the given PyTorch shape as is. */
void sam_tap_raw (const SamTap * tap, const char *name, const float *data,
    int ndim, const int64_t * shape);
static inline bool
sam_tap_on (const SamTap * tap)
{
  return tap && tap->func;
}

/* ---- position encodings (position_encoding.py) --------------------------- */

/* PositionEmbeddingSine(num_pos_feats, temperature 10000, normalize, scale 2π)
 * for an H×W map: out is [H*W, num_pos_feats] channels-last. */
void sam_pos_enc_sine_2d (int H, int W, int num_pos_feats, float *out);
/* get_1d_sine_pe (sam2_utils.py): pos[n] → out [n, dim]. */
void sam_pos_enc_sine_1d (const float *pos, int n, int dim, float temperature,
    float *out);

/* ---- image encoder (backbones/hieradet.py, backbones/image_encoder.py) --- */

/* What one frame's image encoding leaves for the rest of the model. */
typedef struct {
  int S;                        /* input size (multiple of 16) */
  int H0, H1, H2;               /* S/4, S/8, S/16 */
  float *feat_s0;               /* [H0*H0, 32]  conv_s0(backbone_fpn[0]) */
  float *feat_s1;               /* [H1*H1, 64]  conv_s1(backbone_fpn[1]) */
  float *feat;                  /* [H2*H2, 256] backbone_fpn[2] = vision_feats[-1] */
  float *pos;                   /* [H2*H2, 256] vision_pos_enc[2] */
} SamImageFeatures;

void sam_image_features_alloc (SamImageFeatures * f, int S);
void sam_image_features_clear (SamImageFeatures * f);

/* img: [S, S, 3] channels-last, already normalized ((rgb/255 - mean)/std).
 * Taps: "enc0.trunk.{0..3}", "enc0.backbone_fpn.{0,1,2}" (before conv_s0/s1),
 * "enc0.vision_pos_enc.2" — with the prefix given (e.g. "enc0"). */
void sam_image_encoder_run (const SamModel * m, SamPool * pool,
    const float *img, int S, SamImageFeatures * out, const SamTap * tap,
    const char *tap_prefix);

/* ---- prompt encoder + mask decoder: SAM2Base._forward_sam_heads ---------- */

typedef struct {
  int n_points;
  const float *coords;          /* [n_points, 2] x, y in model-input pixels (0..S) */
  const int32_t *labels;        /* 1 pos, 0 neg, 2/3 box corners, -1 padding */
  const float *mask_input;      /* NULL, or [S/4 * S/4] mask logits (dense prompt) */
  bool multimask;               /* multimask_output */
} SamHeadsInput;

typedef struct {
  int n_masks;                  /* 3 if multimask else 1 */
  float ious[3];                /* predicted IoU per output mask */
  float *low_res_multimasks;    /* caller buffer [3, S/4, S/4]; first n_masks
                                 * used. NULL: only the chosen mask is made */
  float *low_res_masks;         /* caller buffer [S/4, S/4]: the chosen mask */
  int best;                     /* index of the chosen mask */
  float iou;                    /* IoU of the chosen mask */
  float obj_ptr[256];           /* after the no-object blend */
  float object_score;           /* object_score_logits */
} SamHeadsOutput;

/* get_dense_pe(): the random-Fourier encoding of the H×H grid →
 * [H*H, 256]. It depends only on the model and H, so a session makes it
 * once for sam_heads_run. */
void sam_prompt_encoder_dense_pe (const SamModel * m, SamPool * pool, int H,
    float *out);

/* pix_feat: [H2*H2, 256], the memory-conditioned (or no_mem_embed-added)
 * features; dense_pe: sam_prompt_encoder_dense_pe (m, ·, H2, ·). Applies dynamic multimask via stability (delta 0.05, thresh 0.98)
 * when !multimask, NO_OBJ_SCORE (-1024) masking when the object score <= 0,
 * obj_ptr_proj and the no_obj_ptr blend. Taps "heads{n}.*" as in the fixtures
 * when tap_prefix = "heads{n}". */
void sam_heads_run (const SamModel * m, SamPool * pool,
    const SamImageFeatures * f, const float *pix_feat, const float *dense_pe,
    const SamHeadsInput * in, SamHeadsOutput * out, const SamTap * tap,
    const char *tap_prefix);

/* ---- memory encoder: SAM2Base._encode_new_memory + memory_encoder.py ----- */

/* low_res_mask: [S/4 * S/4] logits, upsampled to S×S internally; binarized
 * (> 0) when is_mask_from_pts else sigmoid; then ×20 − 10. out_feat and
 * out_pos: [H2*H2, 64]. out_feat gets no_obj_embed_spatial added when
 * object_score <= 0 and is rounded to bfloat16 precision (as the reference
 * stores it). Tap "memenc{n}.vision_features". */
void sam_memory_encoder_run (const SamModel * m, SamPool * pool,
    const SamImageFeatures * f, const float *low_res_mask,
    float object_score, bool is_mask_from_pts, float *out_feat,
    float *out_pos, const SamTap * tap, const char *tap_prefix);

/* ---- memory attention (memory_attention.py, sam/transformer.py RoPE) ----- */

/* curr, curr_pos: [H*W, 256]; memory, memory_pos: [n_mem, 64], of which the
 * last num_obj_ptr_tokens are object-pointer tokens (no RoPE); the spatial
 * tokens are whole H×W frames (RoPE repeated per frame). out: [H*W, 256].
 * Tap "memattn{n}.out" ([HW, 1, 256]). */
void sam_memory_attention_run (const SamModel * m, SamPool * pool,
    const float *curr, const float *curr_pos, int H, int W,
    const float *memory, const float *memory_pos, int n_mem,
    int num_obj_ptr_tokens, float *out, const SamTap * tap,
    const char *tap_prefix);

/* The same in two parts. Memory attention's input and layer 0's
 * self-attention block depend on the frame only, so for several objects
 * on one frame sam_memory_attention_shared () computes them once: x1, q0
 * [H*W, 256] (x after layer 0's self-attention, and layer 0's rotated
 * cross-attention queries); sam_memory_attention_run_shared () then does
 * the rest for one object. Bit-identical to sam_memory_attention_run (). */
void sam_memory_attention_shared (const SamModel * m, SamPool * pool,
    const float *curr, const float *curr_pos, int H, int W, float *x1,
    float *q0);
void sam_memory_attention_run_shared (const SamModel * m, SamPool * pool,
    int H, int W, const float *x1, const float *q0, const float *memory,
    const float *memory_pos, int n_mem, int num_obj_ptr_tokens, float *out,
    const SamTap * tap, const char *tap_prefix);

/* Temporal encoding of object pointers: obj_ptr_tpos_proj(get_1d_sine_pe(
 * t_diff / t_diff_max, 256)) → out [n, 64]. */
void sam_obj_ptr_tpos (const SamModel * m, const float *t_rel, int n,
    float *out);

#endif
