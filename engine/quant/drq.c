/* drq.c — PTQ4RIS (arXiv 2409.17020) Dual-Region Quantization, as released
 * in gugu511yy/PTQ4RIS (PTQ4ViT twin-uniform quantizers):
 *   post-softmax quant_layers/matmul.py:585, post-GELU quant_layers/linear.py:578
 * (QUANTIZATION.md §4.1). The released code sums the two softmax regions;
 * released = false gives the intended disjoint regions. The search metric is
 * the output error instead of PTQ4ViT's Hessian-guided one (that needs task
 * gradients the offline converter does not have). */
#include "quant/quant.h"

#include <glib.h>
#include <math.h>

float
sam_drq_softmax_fake (float x, const SamDrqSoftmaxParams * p)
{
  double M = (double) ((1 << (p->bits - 1)) - 1);
  double split = p->split, d1 = split / M;
  double xv = x;
  double hi = nearbyint (fmin (fmax (xv, split), 1.0) * M) / M;
  double lo = nearbyint (fmin (fmax (xv, 0.0), split) / d1) * d1;
  if (p->released)
    return (float) (hi + lo);
  return (float) (xv >= split ? hi : lo);
}

int
sam_drq_softmax_search (const float *A, int64_t rows, int n, const float *V,
    int dv, int bits, SamDrqSoftmaxParams * out)
{
  if (rows <= 0 || n <= 0 || bits < 2)
    return -1;
  int64_t N = rows * n;
  float *Ah = g_new (float, N);
  double best = INFINITY;
  for (int i = 0; i < 20; i++) {
    SamDrqSoftmaxParams p = {.split = ldexpf (1.0f, -i),.bits = bits,
      .released = out->released
    };
    for (int64_t j = 0; j < N; j++)
      Ah[j] = sam_drq_softmax_fake (A[j], &p);
    double f = sam_quant_av_loss (A, Ah, rows, n, V, dv, 2.0);
    if (f < best) {
      best = f;
      *out = p;
    }
  }
  g_free (Ah);
  return 0;
}

float
sam_drq_gelu_fake (float x, const SamDrqGeluParams * p)
{
  double h = (double) (1 << (p->bits - 1));
  if (x >= 0) {
    double q = fmin (fmax (nearbyint (x / p->dpos), 0.0), h - 1);
    return (float) (q * p->dpos);
  }
  double q = fmin (fmax (nearbyint (x / p->dneg), -h), 0.0);
  return (float) (q * p->dneg);
}

static double
gelu_err (const float *x, int64_t tokens, int in, const float *W, int out,
    const SamDrqGeluParams * p, float *xh)
{
  int64_t N = tokens * in;
  for (int64_t i = 0; i < N; i++)
    xh[i] = sam_drq_gelu_fake (x[i], p);
  double total = 0;
  for (int64_t t = 0; t < tokens; t++) {
    if (!W) {
      for (int i = 0; i < in; i++) {
        double d = (double) xh[t * in + i] - x[t * in + i];
        total += d * d;
      }
      continue;
    }
    for (int o = 0; o < out; o++) {
      double acc = 0;
      for (int i = 0; i < in; i++)
        acc += ((double) xh[t * in + i] - x[t * in + i]) * W[(int64_t) o * in +
            i];
      total += acc * acc;
    }
  }
  return total / (double) (tokens * (W ? out : in));
}

int
sam_drq_gelu_search (const float *x, int64_t tokens, int in, const float *W,
    int out, int bits, SamDrqGeluParams * p)
{
  if (tokens <= 0 || in <= 0 || bits < 2)
    return -1;
  int64_t N = tokens * in;
  float mx = 0;
  for (int64_t i = 0; i < N; i++)
    mx = fmaxf (mx, x[i]);
  double h = (double) (1 << (bits - 1));
  double init = fmax (mx, 1e-8) / (h - 1);
  float *xh = g_new (float, N);
  p->bits = bits;
  p->dneg = (float) (0.16997 / h);
  /* eq_n = 100 candidates in [0.01, 1.2] × init, then 2 more rounds on a
   * window of ± one step around the best (search_round = 3) */
  double lo = 0.01 * init, hi = 1.2 * init, best = INFINITY, bestd = init;
  for (int round = 0; round < 3; round++) {
    double step = (hi - lo) / 99;
    for (int i = 0; i < 100; i++) {
      SamDrqGeluParams c = *p;
      c.dpos = (float) (lo + step * i);
      double f = gelu_err (x, tokens, in, W, out, &c, xh);
      if (f < best) {
        best = f;
        bestd = c.dpos;
      }
    }
    lo = fmax (bestd - step, 1e-12);
    hi = bestd + step;
  }
  p->dpos = (float) bestd;
  g_free (xh);
  return 0;
}
