/* memory-encoder.c — turns a frame's prediction into a memory: the mask is
 * downsampled to the feature grid, fused with the frame's features by two
 * ConvNeXt blocks and projected to mem_dim channels.
 */
#include "nn.h"

#include <math.h>
#include <string.h>

#define SAM_MEMENC_LN_EPS 1e-6f

/* ref: sam2/modeling/memory_encoder.py MaskDownSampler.forward
 * Four conv3x3 stride-2 pad-1 stages (1→4→16→64→256 channels), each
 * followed by LayerNorm2d and GELU, then a 1×1 conv. @mask is S×S×1 and is
 * consumed; out is [S/16 * S/16, 256]. */
static void
mask_downsample (const SamModel * m, SamPool * pool, float *mask, int S,
    float *out)
{
  static const int chans[5] = { 1, 4, 16, 64, 256 };
  float *x = mask;
  int H = S;

  for (int i = 0; i < 4; i++) {
    int Ho = (H + 2 - 3) / 2 + 1;
    int Cin = chans[i], Cout = chans[i + 1];
    float *y = g_new (float, (size_t) Ho * Ho * Cout);
    int conv = 3 * i, ln = 3 * i + 1;

    sam_conv2d (pool, x, H, H, Cin,
        sam_model_wd (m, "memory_encoder.mask_downsampler.encoder.%d.weight",
            conv),
        sam_model_wd (m, "memory_encoder.mask_downsampler.encoder.%d.bias",
            conv), Cout, 3, 3, 2, 1, 1, y);
    /* LayerNorm2d normalizes over channels per pixel: in channels-last
     * that is an ordinary LayerNorm over the last dimension. */
    sam_layernorm (pool, y, (int64_t) Ho * Ho, Cout,
        sam_model_wd (m, "memory_encoder.mask_downsampler.encoder.%d.weight",
            ln),
        sam_model_wd (m, "memory_encoder.mask_downsampler.encoder.%d.bias",
            ln), SAM_MEMENC_LN_EPS, y);
    sam_gelu (pool, y, (int64_t) Ho * Ho * Cout);
    if (x != mask)
      g_free (x);
    x = y;
    H = Ho;
  }
  sam_model_linear (m, pool, "memory_encoder.mask_downsampler.encoder.12",
      x, (int64_t) H * H, 256, out, 256);
  g_free (x);
}

/* Element-wise steps of the memory encoder over the pool: each element
 * keeps the serial code's arithmetic (and libm calls), so any split gives
 * the same bits. */
typedef struct {
  float *x;
  const float *t, *gamma;
  int C;
} ScaleAddCtx;

/* rows of x += gamma · t (CXBlock's layer scale) */
static void
scale_add_rows (void *ctx, int64_t r0, int64_t r1)
{
  const ScaleAddCtx *c = ctx;
  const int C = c->C;
  /* restrict locals: otherwise every store may alias the context, and the
   * loop reloads its pointers per element and stays scalar (3.3 ms per
   * frame at 1024 for two blocks). The same mul then add per element. */
  float *restrict x = c->x + r0 * C;
  const float *restrict t = c->t + r0 * C;
  const float *restrict gamma = c->gamma;
  for (int64_t i = 0; i < r1 - r0; i++)
    for (int ch = 0; ch < C; ch++)
      x[i * C + ch] += gamma[ch] * t[i * C + ch];
}

typedef struct {
  float *mask;
  bool hard;
} MaskInCtx;

/* Prompted frames feed a hard mask (binarize_mask_from_pts_for_mem_enc);
 * tracked frames a soft one. Then sigmoid_scale 20, sigmoid_bias -10. */
static void
mask_in_range (void *ctx, int64_t i0, int64_t i1)
{
  const MaskInCtx *c = ctx;
  float *mask = c->mask;
  if (c->hard) {
    for (int64_t i = i0; i < i1; i++)
      mask[i] = mask[i] > 0.f ? 10.f : -10.f;
  } else {
    sam_sigmoid (mask + i0, i1 - i0);
    for (int64_t i = i0; i < i1; i++)
      mask[i] = mask[i] * 20.f - 10.f;
  }
}

static void
bf16_round_range (void *ctx, int64_t i0, int64_t i1)
{
  float *v = ctx;
  for (int64_t i = i0; i < i1; i++)
    v[i] = sam_bf16_to_f32 (sam_f32_to_bf16 (v[i]));
}

/* ref: sam2/modeling/memory_encoder.py CXBlock.forward
 * x: [H*W, C], updated in place (x = x + gamma * mlp(norm(dwconv(x)))). */
static void
cx_block (const SamModel * m, SamPool * pool, int l, float *x, int H, int W,
    int C)
{
  const int64_t N = (int64_t) H * W;
  float *t = g_new (float, (size_t) N * C);
  float *h = g_new (float, (size_t) N * 4 * C);
  const float *gamma;

  sam_conv2d (pool, x, H, W, C,
      sam_model_wd (m, "memory_encoder.fuser.layers.%d.dwconv.weight", l),
      sam_model_wd (m, "memory_encoder.fuser.layers.%d.dwconv.bias", l),
      C, 7, 7, 1, 3, C, t);
  sam_layernorm (pool, t, N, C,
      sam_model_wd (m, "memory_encoder.fuser.layers.%d.norm.weight", l),
      sam_model_wd (m, "memory_encoder.fuser.layers.%d.norm.bias", l),
      SAM_MEMENC_LN_EPS, t);
  char fc1[64], fc2[64];
  g_snprintf (fc1, sizeof fc1, "memory_encoder.fuser.layers.%d.pwconv1", l);
  g_snprintf (fc2, sizeof fc2, "memory_encoder.fuser.layers.%d.pwconv2", l);
  /* in place: each row tile is read whole before its output rows */
  sam_model_mlp (m, pool, fc1, fc2, SAM_MODEL_ACT_GELU, t, N, C, h, t, C);
  gamma = sam_model_wd (m, "memory_encoder.fuser.layers.%d.gamma", l);
  ScaleAddCtx sc = { x, t, gamma, C };
  sam_pool_for (pool, N, 256, scale_add_rows, &sc);
  g_free (h);
  g_free (t);
}

/* ref: sam2/modeling/sam2_base.py SAM2Base._encode_new_memory
 * ref: sam2/modeling/memory_encoder.py MemoryEncoder.forward */
void
sam_memory_encoder_run (const SamModel * m, SamPool * pool,
    const SamImageFeatures * f, const float *low_res_mask,
    float object_score, bool is_mask_from_pts, float *out_feat,
    float *out_pos, const SamTap * tap, const char *tap_prefix)
{
  const int S = f->S, L = S / 4, H = f->H2, C = m->hp.d_model;
  const int D = m->hp.mem_dim;
  const int64_t N = (int64_t) H * H, SS = (int64_t) S * S;
  float *mask = g_new (float, (size_t) SS);
  float *x = g_new (float, (size_t) N * C);
  float *md = g_new (float, (size_t) N * C);

  /* The reference upsamples the decoder's low-res logits to the input size
   * before the memory encoder (pred_masks_high_res). */
  sam_resize_bilinear (pool, low_res_mask, L, L, 1, mask, S, S, false);
  MaskInCtx mc = { mask, is_mask_from_pts };
  sam_pool_for (pool, SS, 16384, mask_in_range, &mc);
  mask_downsample (m, pool, mask, S, md);
  g_free (mask);

  sam_model_linear (m, pool, "memory_encoder.pix_feat_proj", f->feat, N, C,
      x, C);
  sam_add_pool (pool, x, md, N * C);
  for (int l = 0; l < 2; l++)
    cx_block (m, pool, l, x, H, H, C);
  sam_model_linear (m, pool, "memory_encoder.out_proj", x, N, C, out_feat,
      D);
  g_free (md);
  g_free (x);

  /* An occluded object still leaves a memory, marked as "no object". */
  if (!(object_score > 0.f)) {
    const float *no_obj = sam_model_wd (m, "no_obj_embed_spatial");
    for (int64_t i = 0; i < N; i++)
      sam_add (out_feat + i * D, no_obj, D);
  }
  /* The reference stores maskmem_features as bfloat16; round here so that
   * whoever keeps them (the memory bank) sees the reference's values. */
  sam_pool_for (pool, N * D, 16384, bf16_round_range, out_feat);

  sam_pos_enc_sine_2d (H, H, D, out_pos);

  if (sam_tap_on (tap)) {
    char *name = g_strdup_printf ("%s.vision_features",
        tap_prefix ? tap_prefix : "memenc");
    sam_tap_hwc (tap, name, out_feat, H, H, D);
    g_free (name);
  }
}
