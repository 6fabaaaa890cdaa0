/* preprocess.c — a video frame (packed RGB, any size) to the model input:
 * S×S, channels-last, normalized with the ImageNet mean/std SAM 2 uses.
 *
 * Resizing is separable with a triangle (bilinear) filter whose support
 * grows with the downscale factor, like PIL's resize (antialiased), so small
 * input sizes do not alias. Equal sizes are a plain copy, which is what the
 * reference fixtures (frames already S×S) need for exact parity.
 */
#include "preprocess.h"

#include <math.h>
#include <string.h>

static const float mean[3] = { 0.485f, 0.456f, 0.406f };
static const float stdv[3] = { 0.229f, 0.224f, 0.225f };

typedef struct
{
  int first, n;                 /* taps [first, first + n) */
  int offset;                   /* into the weight table */
} Taps;

/* Builds the 1-D antialiased bilinear filter mapping in → out samples. */
static float *
build_filter (int in, int out, Taps * taps)
{
  double scale = (double) in / out;
  double support = scale > 1.0 ? scale : 1.0;   /* triangle radius */
  int max_n = (int) ceil (support) * 2 + 1;
  float *w = g_new (float, (size_t) out * max_n);
  for (int o = 0; o < out; o++) {
    double center = (o + 0.5) * scale;
    int lo = (int) floor (center - support);
    int hi = (int) ceil (center + support);
    lo = MAX (lo, 0);
    hi = MIN (hi, in);
    double sum = 0;
    int n = 0;
    for (int i = lo; i < hi && n < max_n; i++, n++) {
      double d = fabs ((i + 0.5 - center) / support);
      double k = d < 1.0 ? 1.0 - d : 0.0;
      w[(size_t) o * max_n + n] = (float) k;
      sum += k;
    }
    for (int k = 0; k < n; k++)
      w[(size_t) o * max_n + k] = sum > 0 ? (float) (w[(size_t) o * max_n + k]
          / sum) : 0.f;
    taps[o].first = lo;
    taps[o].n = n;
    taps[o].offset = o * max_n;
  }
  return w;
}

void
sam_preprocess_rgb (const guint8 * data, int width, int height, int stride,
    int S, float *out)
{
  if (width == S && height == S) {
    for (int y = 0; y < S; y++) {
      const guint8 *row = data + (size_t) y * stride;
      float *o = out + (size_t) y * S * 3;
      for (int x = 0; x < S; x++)
        for (int c = 0; c < 3; c++)
          o[3 * x + c] = ((float) row[3 * x + c] / 255.0f - mean[c]) / stdv[c];
    }
    return;
  }
  Taps *tx = g_new (Taps, S), *ty = g_new (Taps, S);
  float *wx = build_filter (width, S, tx);
  float *wy = build_filter (height, S, ty);
  /* horizontal pass into [height, S, 3] floats in 0..255 */
  float *tmp = g_new (float, (size_t) height * S * 3);
  for (int y = 0; y < height; y++) {
    const guint8 *row = data + (size_t) y * stride;
    float *t = tmp + (size_t) y * S * 3;
    for (int x = 0; x < S; x++) {
      float acc[3] = { 0, 0, 0 };
      for (int k = 0; k < tx[x].n; k++) {
        float wk = wx[tx[x].offset + k];
        const guint8 *p = row + 3 * (tx[x].first + k);
        acc[0] += wk * p[0];
        acc[1] += wk * p[1];
        acc[2] += wk * p[2];
      }
      t[3 * x] = acc[0];
      t[3 * x + 1] = acc[1];
      t[3 * x + 2] = acc[2];
    }
  }
  for (int y = 0; y < S; y++) {
    float *o = out + (size_t) y * S * 3;
    for (int x = 0; x < S * 3; x++) {
      float acc = 0;
      for (int k = 0; k < ty[y].n; k++)
        acc += wy[ty[y].offset + k] * tmp[(size_t) (ty[y].first + k) * S * 3 +
            x];
      /* round to 8 bits like an image resize would, then normalize */
      float v = floorf (acc + 0.5f);
      v = v < 0 ? 0 : (v > 255 ? 255 : v);
      o[x] = (v / 255.0f - mean[x % 3]) / stdv[x % 3];
    }
  }
  g_free (tmp);
  g_free (wx);
  g_free (wy);
  g_free (tx);
  g_free (ty);
}
