/* uniform.c — uniform affine quantization and its observers, as PTQ4SAM's
 * code does them (chengtao-lv/PTQ4SAM ptq4sam/quantization/observer.py,
 * util_quant.py; see QUANTIZATION.md §1.1), plus the shared helpers: bounded
 * Brent (scipy fminbound) and the (Â − A)·V loss of the softmax quantizers. */
#include "quant/quant.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS_F32 1.1920928955078125e-07f /* torch.finfo(float32).eps */

SamQParams
sam_qparams_from_range (float mn, float mx, int bits, bool symmetric)
{
  SamQParams p;
  float mn0 = fminf (mn, 0.0f), mx0 = fmaxf (mx, 0.0f);
  if (symmetric) {
    p.qmax = (1 << (bits - 1)) - 1;
    p.qmin = -p.qmax;
    p.scale = fmaxf (fmaxf (-mn0, mx0) / (float) p.qmax, EPS_F32);
    p.zero = 0;
  } else {
    p.qmin = 0;
    p.qmax = (1 << bits) - 1;
    p.scale = fmaxf ((mx0 - mn0) / (float) (p.qmax - p.qmin), EPS_F32);
    int32_t z = p.qmin - (int32_t) nearbyintf (mn0 / p.scale);
    p.zero = z < p.qmin ? p.qmin : z > p.qmax ? p.qmax : z;
  }
  return p;
}

int32_t
sam_quantize (float x, const SamQParams * p)
{
  float q = nearbyintf (x / p->scale) + (float) p->zero;
  return (int32_t) fminf (fmaxf (q, (float) p->qmin), (float) p->qmax);
}

float
sam_dequantize (int32_t q, const SamQParams * p)
{
  return p->scale * (float) (q - p->zero);
}

void
sam_observer_params_init (SamObserverParams * op, SamObserverKind kind,
    int bits, bool symmetric)
{
  memset (op, 0, sizeof *op);
  op->kind = kind;
  op->bits = bits;
  op->symmetric = symmetric;
  op->percentile = 1e-4f;
  op->p_norm = kind == SAM_OBSERVER_OMSE ? 2.0f : 2.4f;
  op->n_grid = 100;
}

static double
lp_loss (const float *x, int64_t n, int64_t stride, const SamQParams * p,
    double pn)
{
  double acc = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = x[i * stride];
    double d = fabs ((double) sam_fake_quant (v, p) - v);
    acc += pn == 2.0 ? d * d : pow (d, pn);
  }
  return n ? acc / n : 0;
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* MSEObserver.perform_1D_search / perform_2D_search (observer.py:171):
 * range candidates xrange·i/100; with both signs present every zero point
 * of the grid is tried too. */
static SamQParams
observe_mse (const float *x, int64_t n, int64_t stride, float mn, float mx,
    const SamObserverParams * op)
{
  int num = op->n_grid > 0 ? op->n_grid : 100;
  double pn = op->p_norm > 0 ? op->p_norm : 2.4;
  SamQParams best = sam_qparams_from_range (mn, mx, op->bits, op->symmetric);
  double best_score = 1e10;
  bool one_side = mn >= 0 || mx <= 0;
  if (op->kind == SAM_OBSERVER_OMSE) {
    /* OMSE (Choukroun et al. 2019): shrink the observed range, L2 loss */
    for (int i = 1; i <= num; i++) {
      SamQParams p = sam_qparams_from_range (mn / num * i, mx / num * i,
          op->bits, op->symmetric);
      double s = lp_loss (x, n, stride, &p, pn);
      if (s < best_score) {
        best_score = s;
        best = p;
      }
    }
    return best;
  }
  if (op->symmetric || one_side) {
    float xr = fmaxf (fabsf (mn), mx);
    for (int i = 1; i <= num; i++) {
      float th = xr / num * i;
      float nmn = mn >= 0 && !op->symmetric ? 0.0f : -th;
      float nmx = mx <= 0 && !op->symmetric ? 0.0f : th;
      SamQParams p = sam_qparams_from_range (nmn, nmx, op->bits,
          op->symmetric);
      double s = lp_loss (x, n, stride, &p, pn);
      if (s < best_score) {
        best_score = s;
        best = p;
      }
    }
    return best;
  }
  float xr = mx - mn;
  int qmax = (1 << op->bits) - 1;
  for (int i = 1; i <= num; i++) {
    float tmax = xr / num * i;
    float delta = tmax / (float) qmax;
    for (int zp = 0; zp <= qmax; zp++) {
      SamQParams p = sam_qparams_from_range (-zp * delta, tmax - zp * delta,
          op->bits, false);
      double s = lp_loss (x, n, stride, &p, pn);
      if (s < best_score) {
        best_score = s;
        best = p;
      }
    }
  }
  return best;
}

SamQParams
sam_observe (const float *x, int64_t n, int64_t stride,
    const SamObserverParams * op)
{
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    mn = fminf (mn, x[i * stride]);
    mx = fmaxf (mx, x[i * stride]);
  }
  if (n == 0)
    mn = mx = 0;
  switch (op->kind) {
    case SAM_OBSERVER_PERCENTILE:{
      float *s = g_new (float, n > 0 ? n : 1);
      for (int64_t i = 0; i < n; i++)
        s[i] = x[i * stride];
      qsort (s, n, sizeof (float), cmp_float);
      if (n > 0) {
        int64_t lo = (int64_t) floor ((double) op->percentile * (n - 1));
        int64_t hi = (int64_t) ceil ((1.0 - op->percentile) * (n - 1));
        mn = s[lo];
        mx = s[hi];
      }
      g_free (s);
      return sam_qparams_from_range (mn, mx, op->bits, op->symmetric);
    }
    case SAM_OBSERVER_MSE:
    case SAM_OBSERVER_OMSE:
      return observe_mse (x, n, stride, mn, mx, op);
    default:
      return sam_qparams_from_range (mn, mx, op->bits, op->symmetric);
  }
}

int64_t
sam_quant_n_params (int64_t rows, int64_t cols, SamGranularity g, int group)
{
  switch (g) {
    case SAM_GRAN_TENSOR:
      return 1;
    case SAM_GRAN_ROW:
      return rows;
    case SAM_GRAN_COL:
      return cols;
    case SAM_GRAN_GROUP:
      return group > 0 ? rows * ((cols + group - 1) / group) : -1;
  }
  return -1;
}

int
sam_quant_calibrate (const float *x, int64_t rows, int64_t cols,
    SamGranularity g, int group, const SamObserverParams * op,
    SamQParams * params)
{
  if (sam_quant_n_params (rows, cols, g, group) < 0)
    return -1;
  switch (g) {
    case SAM_GRAN_TENSOR:
      params[0] = sam_observe (x, rows * cols, 1, op);
      break;
    case SAM_GRAN_ROW:
      for (int64_t r = 0; r < rows; r++)
        params[r] = sam_observe (x + r * cols, cols, 1, op);
      break;
    case SAM_GRAN_COL:
      for (int64_t c = 0; c < cols; c++)
        params[c] = sam_observe (x + c, rows, cols, op);
      break;
    case SAM_GRAN_GROUP:{
      int64_t ng = (cols + group - 1) / group;
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < ng; j++) {
          int64_t c0 = j * group, len = MIN (group, cols - c0);
          params[r * ng + j] = sam_observe (x + r * cols + c0, len, 1, op);
        }
      break;
    }
  }
  return 0;
}

void
sam_quant_fake (const float *x, float *y, int64_t rows, int64_t cols,
    SamGranularity g, int group, const SamQParams * params)
{
  int64_t ng = g == SAM_GRAN_GROUP ? (cols + group - 1) / group : 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      const SamQParams *p = g == SAM_GRAN_TENSOR ? params
          : g == SAM_GRAN_ROW ? params + r
          : g == SAM_GRAN_COL ? params + c : params + r * ng + c / group;
      y[r * cols + c] = sam_fake_quant (x[r * cols + c], p);
    }
}

void
sam_quant_weights_s8 (const float *W, int64_t rows, int64_t cols,
    const SamObserverParams * op, int8_t * q, float *scales)
{
  SamObserverParams o = *op;
  o.symmetric = true;
  o.bits = 8;
  for (int64_t r = 0; r < rows; r++) {
    SamQParams p = sam_observe (W + r * cols, cols, 1, &o);
    scales[r] = p.scale;
    for (int64_t c = 0; c < cols; c++)
      q[r * cols + c] = (int8_t) sam_quantize (W[r * cols + c], &p);
  }
}

/* scipy.optimize.fminbound (_minimize_scalar_bounded), which PTQ4SAM's
 * "bounded Brent" observers call. */
double
sam_quant_fminbound (SamQuantLossFunc f, void *ctx, double a, double b,
    double xatol, int maxiter, double *fmin)
{
  const double sqrt_eps = sqrt (2.2e-16), gm = 0.5 * (3.0 - sqrt (5.0));
  double fulc = a + gm * (b - a), nfc = fulc, xf = fulc;
  double rat = 0, e = 0, x = xf;
  double fx = f (x, ctx), ffulc = fx, fnfc = fx;
  int num = 1;
  double xm = 0.5 * (a + b);
  double tol1 = sqrt_eps * fabs (xf) + xatol / 3.0, tol2 = 2.0 * tol1;
  while (fabs (xf - xm) > (tol2 - 0.5 * (b - a))) {
    int golden = 1;
    if (fabs (e) > tol1) {
      golden = 0;
      double r = (xf - nfc) * (fx - ffulc);
      double q = (xf - fulc) * (fx - fnfc);
      double p = (xf - fulc) * q - (xf - nfc) * r;
      q = 2.0 * (q - r);
      if (q > 0.0)
        p = -p;
      q = fabs (q);
      r = e;
      e = rat;
      if (fabs (p) < fabs (0.5 * q * r) && p > q * (a - xf)
          && p < q * (b - xf)) {
        rat = p / q;
        x = xf + rat;
        if ((x - a) < tol2 || (b - x) < tol2) {
          double si = (xm - xf > 0) - (xm - xf < 0) + ((xm - xf) == 0);
          rat = tol1 * si;
        }
      } else {
        golden = 1;
      }
    }
    if (golden) {
      e = xf >= xm ? a - xf : b - xf;
      rat = gm * e;
    }
    double si = (rat > 0) - (rat < 0) + (rat == 0);
    x = xf + si * fmax (fabs (rat), tol1);
    double fu = f (x, ctx);
    num++;
    if (fu <= fx) {
      if (x >= xf)
        a = xf;
      else
        b = xf;
      fulc = nfc;
      ffulc = fnfc;
      nfc = xf;
      fnfc = fx;
      xf = x;
      fx = fu;
    } else {
      if (x < xf)
        a = x;
      else
        b = x;
      if (fu <= fnfc || nfc == xf) {
        fulc = nfc;
        ffulc = fnfc;
        nfc = x;
        fnfc = fu;
      } else if (fu <= ffulc || fulc == xf || fulc == nfc) {
        fulc = x;
        ffulc = fu;
      }
    }
    xm = 0.5 * (a + b);
    tol1 = sqrt_eps * fabs (xf) + xatol / 3.0;
    tol2 = 2.0 * tol1;
    if (num >= maxiter)
      break;
  }
  if (fmin)
    *fmin = fx;
  return xf;
}

double
sam_quant_av_loss (const float *A, const float *Ahat, int64_t rows, int n,
    const float *V, int dv, double p)
{
  double *acc = g_new (double, dv), total = 0;
  for (int64_t r = 0; r < rows; r++) {
    memset (acc, 0, sizeof (double) * dv);
    for (int j = 0; j < n; j++) {
      double d = (double) Ahat[r * n + j] - A[r * n + j];
      if (d == 0)
        continue;
      const float *v = V + (int64_t) j * dv;
      for (int c = 0; c < dv; c++)
        acc[c] += d * v[c];
    }
    for (int c = 0; c < dv; c++)
      total += p == 2.0 ? acc[c] * acc[c] : pow (fabs (acc[c]), p);
  }
  g_free (acc);
  return rows * dv != 0 ? total / (double) (rows * dv) : 0;
}
