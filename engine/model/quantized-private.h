/* quantized-private.h — the per-layer state shared by quantized.c (Linear
 * dispatch, file side tensors) and quantized-attention.c (attention
 * dispatch). Internal to the engine.
 */
#ifndef SAM_MODEL_QUANTIZED_PRIVATE_H
#define SAM_MODEL_QUANTIZED_PRIVATE_H

#include "model/quantized.h"
#include "kernels/gemm-i8.h"
#include "kernels/ops.h"
#include "quant/quant.h"

typedef enum {
  ACT_NONE,
  ACT_UNIFORM,                  /* per tensor */
  ACT_CHANNEL,                  /* per input channel (CAG), folded weights */
  ACT_HLUQ,                     /* simulated only */
} ActKind;

typedef struct {
  char *name;
  int N, K;
  const float *w, *b;           /* float weights (NULL if quantized), bias */
  gboolean quant;
  int wbits, abits;
  const int8_t *wq;             /* [N, K] in the mapping */
  const float *wscale;          /* [N] */
  ActKind akind;
  float as;
  int32_t az;
  const float *cs, *czf;        /* [K] channel scale / zero */
  SamHluqParams hluq;
  SamGemmI8Weights *packed;
  SamGemmI8ActQuant aq;         /* activation codes (points into aq_inv/z) */
  float *aq_inv, *aq_z;         /* [1] or [K] */
  float *fscale;
  int32_t *bias_i32;
  float *wdeq;                  /* dequantized weights, built on demand */
  SamPackedF32 *fpacked;        /* float w packed, built on the first call
                                 * with few rows (lin_packed_f32) */
  float *zero_row;              /* [N]: the output for an all-zero input
                                 * row, made once (sam_model_linear_zero_row) */
} Lin;

typedef enum { ATT_AGQ, ATT_LNQ, ATT_DRQ } AttKind;

typedef struct {
  char *name;
  gboolean prob;                /* a post-softmax quantizer */
  AttKind kind;
  SamAgqParams agq;
  float lut[256];
  SamLnqParams lnq;
  SamDrqSoftmaxParams drq;
  gboolean qkv;                 /* per-tensor quantizers on q, k, v */
  float qkv_s[3], qkv_z[3];
  int qkv_bits;
  gboolean v_late;              /* #vlate: v is the memory (P·V before v_proj) */
  gboolean p8;                  /* #p8: P·V with 8-bit P (attention-i8.h) */
} Att;

struct _SamQState {
  GMutex lock;
  GHashTable *lin;              /* name -> Lin* */
  GHashTable *att;              /* name -> Att* */
  SamLinearObserver obs_lin;
  SamAttentionObserver obs_att;
  void *obs_ud;
  gboolean sim;
  int n_quant_lin, n_quant_att;
  const char *meta;             /* __metadata__ samseg.quant */
};

/* code = clamp (floor (x · inv + z + 0.5), 0, qmax): the round half up of
 * sam_quant_f32_u8, with a qmax below 255 for A < 8. */
static inline int
act_code (float x, float inv, float z, float qmax)
{
  float v = x * inv + z;
  v = v < 0.f ? 0.f : v > qmax ? qmax : v;
  return (int) (v + 0.5f);
}

#endif
