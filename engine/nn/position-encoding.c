/* position-encoding.c — the fixed sine position encodings of SAM 2.
 *
 * Arithmetic is float32 step by step, in the order PyTorch evaluates the
 * reference expressions, so the tables match it to the last few ulps.
 */
#include "nn.h"

#include <math.h>

/* temperature ** (2 * (k // 2) / n), as the reference's dim_t */
static float
dim_t (float temperature, int k, int n)
{
  float e = 2.0f * (float) (k / 2) / (float) n;
  return powf (temperature, e);
}

/* ref: sam2/modeling/position_encoding.py PositionEmbeddingSine._pe */
void
sam_pos_enc_sine_2d (int H, int W, int num_pos_feats, float *out)
{
  const int half = num_pos_feats / 2;
  const float scale = (float) (2.0 * G_PI);
  const float eps = 1e-6f;
  float *dt = g_new (float, half);
  float *ty = g_new (float, (size_t) H * half);
  float *tx = g_new (float, (size_t) W * half);

  for (int k = 0; k < half; k++)
    dt[k] = dim_t (10000.0f, k, half);

  /* Channels [0, half) encode y, [half, 2 half) encode x; within each, even
   * channels are sin and odd ones cos of the same frequency (stack+flatten). */
  for (int y = 0; y < H; y++) {
    float e = (float) (y + 1) / ((float) H + eps) * scale;
    for (int k = 0; k < half; k++) {
      float v = e / dt[k];
      ty[(size_t) y * half + k] = (k & 1) ? cosf (v) : sinf (v);
    }
  }
  for (int x = 0; x < W; x++) {
    float e = (float) (x + 1) / ((float) W + eps) * scale;
    for (int k = 0; k < half; k++) {
      float v = e / dt[k];
      tx[(size_t) x * half + k] = (k & 1) ? cosf (v) : sinf (v);
    }
  }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      float *o = out + ((size_t) y * W + x) * num_pos_feats;
      for (int k = 0; k < half; k++) {
        o[k] = ty[(size_t) y * half + k];
        o[half + k] = tx[(size_t) x * half + k];
      }
    }
  g_free (dt);
  g_free (ty);
  g_free (tx);
}

/* ref: sam2/modeling/sam2_utils.py get_1d_sine_pe */
void
sam_pos_enc_sine_1d (const float *pos, int n, int dim, float temperature,
    float *out)
{
  const int pe_dim = dim / 2;
  float *dt = g_new (float, pe_dim);
  for (int k = 0; k < pe_dim; k++)
    dt[k] = dim_t (temperature, k, pe_dim);
  /* cat([sin, cos]): not interleaved, unlike the 2-D encoding */
  for (int i = 0; i < n; i++) {
    float *o = out + (size_t) i * dim;
    for (int k = 0; k < pe_dim; k++) {
      float v = pos[i] / dt[k];
      o[k] = sinf (v);
      o[pe_dim + k] = cosf (v);
    }
  }
  g_free (dt);
}
