/* big.c — PTQ4SAM (arXiv 2405.03144) Bimodal Integration: detect a bimodal
 * post-key-linear distribution (chengtao-lv/PTQ4SAM fake_quant.py:213
 * LSQSignFakeQuantize.judge_bimodal: scipy gaussian_kde + find_peaks) and fold
 * the per-channel sign γ into the q and k projections
 * (quant_model.py:286 bimodal_adjust). QUANTIZATION.md §2.1: run it on the
 * pre-head-split k_proj output (C = 128 in the SAM 2 decoder cross-attention);
 * sign (0) maps to +1 so no channel is zeroed. */
#include "quant/quant.h"

#include <glib.h>
#include <math.h>

#define GRID 128
#define PEAK_HEIGHT 0.01
#define PEAK_DISTANCE 32

/* scipy.signal._peak_finding_utils._local_maxima_1d: strict rise, plateau,
 * strict fall; the peak is the plateau's middle (rounded down). */
static int
local_maxima (const double *y, int n, int *peaks)
{
  int np = 0, i = 1;
  while (i < n - 1) {
    if (y[i - 1] < y[i]) {
      int ahead = i + 1;
      while (ahead < n - 1 && y[ahead] == y[i])
        ahead++;
      if (y[ahead] < y[i]) {
        peaks[np++] = (i + ahead - 1) / 2;
        i = ahead;
      }
    }
    i++;
  }
  return np;
}

/* scipy.signal.find_peaks (x, height, distance) */
static int
find_peaks (const double *y, int n, double height, int distance, int *out)
{
  int peaks[GRID], np = local_maxima (y, n, peaks), k = 0;
  for (int i = 0; i < np; i++)
    if (y[peaks[i]] >= height)
      peaks[k++] = peaks[i];
  np = k;
  /* _select_by_peak_distance: higher peaks first remove closer neighbours */
  int order[GRID];
  bool keep[GRID];
  for (int i = 0; i < np; i++) {
    order[i] = i;
    keep[i] = true;
  }
  double h[GRID];
  for (int i = 0; i < np; i++)
    h[i] = y[peaks[i]];
  /* stable order by decreasing height (scipy: argsort of priority, last
   * first, so equal heights favour the right-most peak) */
  for (int i = 0; i < np; i++)
    for (int j = i + 1; j < np; j++)
      if (h[order[j]] > h[order[i]] || (h[order[j]] == h[order[i]]
              && order[j] > order[i])) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  for (int ii = 0; ii < np; ii++) {
    int j = order[ii];
    if (!keep[j])
      continue;
    for (int kk = j - 1; kk >= 0 && peaks[j] - peaks[kk] < distance; kk--)
      keep[kk] = false;
    for (int kk = j + 1; kk < np && peaks[kk] - peaks[j] < distance; kk++)
      keep[kk] = false;
  }
  k = 0;
  for (int i = 0; i < np; i++)
    if (keep[i])
      out[k++] = peaks[i];
  return k;
}

bool
sam_big_detect (const float *x, int64_t n)
{
  if (n < 2)
    return false;
  double mn = INFINITY, mx = -INFINITY, s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) {
    mn = fmin (mn, x[i]);
    mx = fmax (mx, x[i]);
    s += x[i];
  }
  double mean = s / n;
  for (int64_t i = 0; i < n; i++)
    s2 += (x[i] - mean) * (x[i] - mean);
  double var = s2 / (n - 1);    /* np.cov, ddof = 1 */
  double bw = pow ((double) n, -0.2) * sqrt (var);      /* Scott */
  if (!(bw > 0))
    return false;
  double y[GRID], tot = 0;
  double norm = 1.0 / (n * bw * sqrt (2 * G_PI));
  for (int g = 0; g < GRID; g++) {
    double p = mn + (mx - mn) * g / (GRID - 1), acc = 0;
    for (int64_t i = 0; i < n; i++) {
      double z = (p - x[i]) / bw;
      if (z * z < 80)
        acc += exp (-0.5 * z * z);
    }
    y[g] = acc * norm;
    tot += y[g];
  }
  int peaks[GRID];
  int np = find_peaks (y, GRID, PEAK_HEIGHT * tot, PEAK_DISTANCE, peaks);
  return np == 2;
}

void
sam_big_signs (const float *K, int64_t tokens, int C, float *gamma)
{
  for (int c = 0; c < C; c++) {
    double s = 0;
    for (int64_t t = 0; t < tokens; t++)
      s += K[t * C + c];
    gamma[c] = s < 0 ? -1.0f : 1.0f;
  }
}

void
sam_big_fold (const float *gamma, int C, int in, float *Wq, float *bq,
    float *Wk, float *bk)
{
  for (int c = 0; c < C; c++) {
    if (gamma[c] > 0)
      continue;
    for (int i = 0; i < in; i++) {
      Wq[(int64_t) c * in + i] = -Wq[(int64_t) c * in + i];
      Wk[(int64_t) c * in + i] = -Wk[(int64_t) c * in + i];
    }
    if (bq)
      bq[c] = -bq[c];
    if (bk)
      bk[c] = -bk[c];
  }
}
