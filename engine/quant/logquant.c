/* logquant.c — logarithmic quantizers for attention probabilities and
 * post-activation values:
 *   AGQ  PTQ4SAM (arXiv 2405.03144), chengtao-lv/PTQ4SAM fake_quant.py:583
 *        AdaptiveGranularityQuantize, observer.py:443 LogAvgMSEFastObserver
 *   LNQ  AHCQ-SAM (arXiv 2503.03088), Wenlun-Zhang/AHCQ-SAM
 *        fake_quant.py LogTransformQuantize, observer.py LogTransformObserver
 *   HLUQ AHCPTQ / AHCQ-SAM, Keio-CSG/AHCPTQ util_quant.py:80,
 *        observer.py:654 HybridParamObserver
 * See QUANTIZATION.md §2.2, §3.2, §3.4 for the formulas and the code bugs
 * handled here. */
#include "quant/quant.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define LOSS_P 2.4              /* PTQ4SAM / AHCQ-SAM observers: mean |·|^2.4 */

/* ---- AGQ ------------------------------------------------------------------- */

float
sam_agq_fake (float a, const SamAgqParams * p)
{
  double q = nearbyint (-p->tau * log2 (fmax (a, 1e-20) / p->s));
  double n = (double) (1 << p->bits);
  if (q >= n)                   /* softmax_mask */
    return 0.0f;
  q = q < 0 ? 0 : q > n - 1 ? n - 1 : q;
  return (float) (p->s * exp2 (-q / p->tau));
}

uint8_t
sam_agq_encode (float a, const SamAgqParams * p)
{
  /* round half up, as the ORC kernel does (trunc (v + 0.5) on v ≥ 0) */
  double v = -p->tau * log2 (fmax (a, 1e-30) / p->s);
  int qmax = (1 << p->bits) - 1;
  double q = floor (fmin (fmax (v + 0.5, 0.0), (double) qmax));
  return (uint8_t) q;
}

void
sam_agq_decode_lut (const SamAgqParams * p, float *lut)
{
  int qmax = (1 << p->bits) - 1;
  for (int q = 0; q < qmax; q++)
    lut[q] = (float) (p->s * exp2 (-(double) q / p->tau));
  lut[qmax] = 0.0f;
}

typedef struct {
  const float *A, *V;
  int64_t rows;
  int n, dv, bits, tau;
  float *Ahat;
  float alpha;                  /* LNQ */
} SoftmaxLossCtx;

static double
agq_loss (double s, void *ctx)
{
  SoftmaxLossCtx *c = ctx;
  SamAgqParams p = {.s = (float) s,.tau = c->tau,.bits = c->bits };
  int64_t N = c->rows * c->n;
  for (int64_t i = 0; i < N; i++)
    c->Ahat[i] = sam_agq_fake (c->A[i], &p);
  return sam_quant_av_loss (c->A, c->Ahat, c->rows, c->n, c->V, c->dv,
      LOSS_P);
}

static float
array_max (const float *x, int64_t n)
{
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    m = fmaxf (m, x[i]);
  return m;
}

int
sam_agq_search (const float *A, int64_t rows, int n, const float *V, int dv,
    int bits, SamAgqParams * out, double *err)
{
  if (rows <= 0 || n <= 0 || bits < 1 || bits > 8)
    return -1;
  SoftmaxLossCtx c = {.A = A,.V = V,.rows = rows,.n = n,.dv = dv,
    .bits = bits
  };
  c.Ahat = g_new (float, rows * n);
  double m = array_max (A, rows * n);
  double lo = fmin (0.1, 0.01 * m);     /* observer.py:505 */
  double best = INFINITY;
  for (int i = 0; i < 3; i++) {
    c.tau = 1 << i;
    double f;
    double s = sam_quant_fminbound (agq_loss, &c, lo, m, 1e-5, 500, &f);
    if (err)
      err[i] = f;
    if (f < best) {
      best = f;
      out->s = (float) s;
      out->tau = c.tau;
      out->bits = bits;
    }
  }
  g_free (c.Ahat);
  return 0;
}

/* ---- LNQ ------------------------------------------------------------------- */

int32_t
sam_lnq_quantize (float x, const SamLnqParams * p)
{
  double L = (double) ((1 << p->bits) - 1);
  double xc = fmin (fmax ((double) x, 1e-20), (double) p->s);
  double D = log1p ((double) p->alpha * p->s);
  double q = nearbyint (L * log1p ((double) p->alpha * xc) / D);
  return (int32_t) (q < 0 ? 0 : q > L ? L : q);
}

float
sam_lnq_dequantize (int32_t q, const SamLnqParams * p)
{
  if (q == 0)
    return 0.0f;
  double L = (double) ((1 << p->bits) - 1);
  double D = log1p ((double) p->alpha * p->s);
  return (float) (expm1 (q * D / L) / p->alpha);
}

float
sam_lnq_fake (float x, const SamLnqParams * p)
{
  return sam_lnq_dequantize (sam_lnq_quantize (x, p), p);
}

static double
lnq_loss (double s, void *ctx)
{
  SoftmaxLossCtx *c = ctx;
  SamLnqParams p = {.s = (float) s,.alpha = c->alpha,.bits = c->bits };
  int64_t N = c->rows * c->n;
  for (int64_t i = 0; i < N; i++)
    c->Ahat[i] = sam_lnq_fake (c->A[i], &p);
  return sam_quant_av_loss (c->A, c->Ahat, c->rows, c->n, c->V, c->dv,
      LOSS_P);
}

int
sam_lnq_search (const float *A, int64_t rows, int n, const float *V, int dv,
    int bits, SamLnqParams * out)
{
  static const float alphas[] = { 0.001f, 0.1f, 1, 5, 10, 20, 50, 100, 200 };
  if (rows <= 0 || n <= 0 || bits < 1 || bits > 16)
    return -1;
  SoftmaxLossCtx c = {.A = A,.V = V,.rows = rows,.n = n,.dv = dv,
    .bits = bits
  };
  c.Ahat = g_new (float, rows * n);
  double m = array_max (A, rows * n);
  double best = INFINITY;
  for (unsigned i = 0; i < G_N_ELEMENTS (alphas); i++) {
    c.alpha = alphas[i];
    double f;
    double s = sam_quant_fminbound (lnq_loss, &c, fmax (1e-4, 0.1 * m), m,
        1e-5, 500, &f);
    if (f < best) {
      best = f;
      out->s = (float) s;
      out->alpha = alphas[i];
      out->bits = bits;
    }
  }
  g_free (c.Ahat);
  return 0;
}

/* ---- HLUQ ------------------------------------------------------------------ */

float
sam_hluq_fake (float x, const SamHluqParams * p)
{
  double nb = (double) (1 << p->bits);
  double NL = nb * p->g, NU = nb - NL;
  double sL = p->r * p->R;
  double sU = p->R * (1.0 - p->r) / ((nb - 1.0) * (1.0 - p->g));
  double d = (double) x - p->m;
  if (d <= sL) {
    double q = nearbyint (-log2 (fmax (d, 1e-20) / sL));
    /* overflow tested in the log region only (fixes the code's
     * whole-tensor mask, QUANTIZATION.md §3.2) */
    if (q >= NL)
      return p->m;
    q = q < 0 ? 0 : q > NL - 1 ? NL - 1 : q;
    return (float) (p->m + sL * exp2 (-q));
  }
  double q = nearbyint ((d - sL) / sU);
  q = q < 0 ? 0 : q > NU - 1 ? NU - 1 : q;
  return (float) (p->m + sL + q * sU);
}

/* mean ((x̂ − x) Wᵀ)² over tokens × out */
static double
linear_err (const float *x, const float *xh, int64_t tokens, int in,
    const float *W, int out)
{
  double total = 0;
  double *d = g_new (double, in);
  for (int64_t t = 0; t < tokens; t++) {
    for (int i = 0; i < in; i++)
      d[i] = (double) xh[t * in + i] - x[t * in + i];
    if (!W) {
      for (int i = 0; i < in; i++)
        total += d[i] * d[i];
      continue;
    }
    for (int o = 0; o < out; o++) {
      double acc = 0;
      const float *w = W + (int64_t) o * in;
      for (int i = 0; i < in; i++)
        acc += d[i] * w[i];
      total += acc * acc;
    }
  }
  g_free (d);
  int64_t cnt = tokens * (W ? out : in);
  return cnt ? total / cnt : 0;
}

int
sam_hluq_search (const float *x, int64_t tokens, int in, const float *W,
    int out, int bits, SamHluqParams * best)
{
  static const float rs[] = { 0.1f, 0.3f, 0.5f };
  static const float gs[] = { 0.125f, 0.25f, 0.5f };
  if (tokens <= 0 || in <= 0 || bits < 2)
    return -1;
  int64_t N = tokens * in;
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < N; i++) {
    mn = fminf (mn, x[i]);
    mx = fmaxf (mx, x[i]);
  }
  float *xh = g_new (float, N);
  double bestf = INFINITY;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) {
      SamHluqParams p = {.m = mn,.R = mx - mn,.r = rs[a],.g = gs[b],
        .bits = bits
      };
      if ((1 << bits) * p.g < 1)
        continue;
      for (int64_t i = 0; i < N; i++)
        xh[i] = sam_hluq_fake (x[i], &p);
      double f = linear_err (x, xh, tokens, in, W, out);
      if (f < bestf) {
        bestf = f;
        *best = p;
      }
    }
  g_free (xh);
  return 0;
}
