/* prompt-encoder.c — SAM's prompt encoder: points (and box corners given as
 * points with labels 2/3) become sparse tokens, an optional mask prompt a
 * dense map; plus the dense positional encoding of the image grid.
 */
#include "heads-private.h"

#include <math.h>
#include <string.h>

#define PE "sam_prompt_encoder."
#define PE_GAUSS PE "pe_layer.positional_encoding_gaussian_matrix"

/* ref: sam2/modeling/position_encoding.py
 * PositionEmbeddingRandom._pe_encoding: (x, y) normalized to [0, 1]
 * → [sin(2π·(2c-1)·G), cos(2π·(2c-1)·G)]. */
static void
pe_encode (const float *G, int npf, float x, float y, float *out)
{
  const float cx = 2.f * x - 1.f, cy = 2.f * y - 1.f;
  /* The reference multiplies by 2π as a float32 scalar. */
  const float two_pi = (float) (2.0 * M_PI);
  for (int j = 0; j < npf; j++) {
    float v = cx * G[j] + cy * G[npf + j];
    v = two_pi * v;
    out[j] = (float) sin ((double) v);
    out[npf + j] = (float) cos ((double) v);
  }
}

typedef struct {
  const float *G;
  int npf, H;
  float *out;
} DensePeCtx;

static void
dense_pe_rows (void *ctx, int64_t y0, int64_t y1)
{
  const DensePeCtx *c = ctx;
  const int H = c->H;
  for (int y = (int) y0; y < (int) y1; y++)
    for (int x = 0; x < H; x++)
      pe_encode (c->G, c->npf, ((float) x + 0.5f) / (float) H,
          ((float) y + 0.5f) / (float) H,
          c->out + ((size_t) y * H + x) * 2 * c->npf);
}

/* ref: sam2/modeling/sam/prompt_encoder.py PromptEncoder.get_dense_pe
 * (H·H·npf sines and cosines per object and frame: over the pool, rows are
 * independent) */
void
sam_prompt_encoder_dense_pe (const SamModel * m, SamPool * pool, int H,
    float *out)
{
  const SamW *g = sam_model_w (m, PE_GAUSS);
  DensePeCtx c = { g->data, (int) g->shape[1], H, out };
  sam_pool_for (pool, H, 4, dense_pe_rows, &c);
}

int
sam_prompt_encoder_n_tokens (const SamHeadsInput * in)
{
  /* No points: _forward_sam_heads feeds one (0, 0, -1) point; the encoder
   * then appends its own padding point. */
  return MAX (in->n_points, 1) + 1;
}

/* ref: sam2/modeling/sam/prompt_encoder.py PromptEncoder._embed_points
 * (pad=True: _forward_sam_heads never passes boxes; box corners arrive as
 * points labelled 2 and 3). */
static void
embed_points (const SamModel * m, int S, const SamHeadsInput * in,
    float *sparse)
{
  const SamW *g = sam_model_w (m, PE_GAUSS);
  const int npf = (int) g->shape[1], C = 2 * npf;
  const int n_tok = sam_prompt_encoder_n_tokens (in);
  const float *not_a_point = sam_model_wd (m, PE "not_a_point_embed.weight");
  const float *pt_embed[4];
  for (int k = 0; k < 4; k++)
    pt_embed[k] = sam_model_wd (m, PE "point_embeddings.%d.weight", k);

  for (int i = 0; i < n_tok; i++) {
    float *t = sparse + (size_t) i * C;
    int label = -1;
    float px = 0.f, py = 0.f;   /* the padding point sits at (0, 0) */
    if (i < in->n_points) {
      label = in->labels[i];
      /* + 0.5: shift to the pixel centre */
      px = in->coords[2 * i] + 0.5f;
      py = in->coords[2 * i + 1] + 0.5f;
    }
    if (label == -1) {
      memcpy (t, not_a_point, sizeof (float) * C);
      continue;
    }
    pe_encode (g->data, npf, px / (float) S, py / (float) S, t);
    if (label >= 0 && label <= 3)
      sam_add (t, pt_embed[label], C);
  }
}

/* ref: sam2/modeling/sam/prompt_encoder.py PromptEncoder._embed_masks
 * (mask_downscaling: conv 2×2/2, LayerNorm2d, GELU, conv 2×2/2, LayerNorm2d,
 * GELU, conv 1×1). mask: [4H, 4H] logits → dense [H*H, 256]. */
static void
embed_mask (const SamModel * m, SamPool * pool, int H, const float *mask,
    float *dense)
{
  const SamW *w0 = sam_model_w (m, PE "mask_downscaling.0.weight");
  const SamW *w3 = sam_model_w (m, PE "mask_downscaling.3.weight");
  const SamW *w6 = sam_model_w (m, PE "mask_downscaling.6.weight");
  const int c0 = (int) w0->shape[0], c1 = (int) w3->shape[0];
  const int cout = (int) w6->shape[0];
  float *a = g_new (float, (size_t) 4 * H * H * c0);
  float *b = g_new (float, (size_t) H * H * c1);

  sam_conv2d (pool, mask, 4 * H, 4 * H, 1, w0->data,
      sam_model_wd (m, PE "mask_downscaling.0.bias"), c0, 2, 2, 2, 0, 1, a);
  sam_layernorm (pool, a, (int64_t) 4 * H * H, c0,
      sam_model_wd (m, PE "mask_downscaling.1.weight"),
      sam_model_wd (m, PE "mask_downscaling.1.bias"), 1e-6f, a);
  sam_gelu (pool, a, (int64_t) 4 * H * H * c0);
  sam_conv2d (pool, a, 2 * H, 2 * H, c0, w3->data,
      sam_model_wd (m, PE "mask_downscaling.3.bias"), c1, 2, 2, 2, 0, 1, b);
  sam_layernorm (pool, b, (int64_t) H * H, c1,
      sam_model_wd (m, PE "mask_downscaling.4.weight"),
      sam_model_wd (m, PE "mask_downscaling.4.bias"), 1e-6f, b);
  sam_gelu (pool, b, (int64_t) H * H * c1);
  sam_conv2d (pool, b, H, H, c1, w6->data,
      sam_model_wd (m, PE "mask_downscaling.6.bias"), cout, 1, 1, 1, 0, 1,
      dense);
  g_free (a);
  g_free (b);
}

/* ref: sam2/modeling/sam/prompt_encoder.py PromptEncoder.forward */
void
sam_prompt_encoder_run (const SamModel * m, SamPool * pool, int S,
    const SamHeadsInput * in, float *sparse, float *dense)
{
  const int H = S / 16, C = m->hp.d_model;
  embed_points (m, S, in, sparse);
  if (in->mask_input) {
    embed_mask (m, pool, H, in->mask_input, dense);
  } else {
    const float *nm = sam_model_wd (m, PE "no_mask_embed.weight");
    for (int i = 0; i < H * H; i++)
      memcpy (dense + (size_t) i * C, nm, sizeof (float) * C);
  }
}
