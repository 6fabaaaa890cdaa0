/* group.c — grouping quantizers for linear-layer inputs:
 *   CAG  AHCPTQ (ICCV 2025) / AHCQ-SAM channel-aware grouping,
 *        Keio-CSG/AHCPTQ fake_quant.py:598 GroupLSQFakeQuantize, recon.py:336
 *   RORQ PTQ4RIS (arXiv 2409.17020) reorder-based outlier-retained
 *        quantization as released: ptq4vit_utils/quant_bert.py:264
 *        BERTVARActQuantizer (magnitude banding; no reorder step in the code)
 * QUANTIZATION.md §3.3, §4.2. */
#include "quant/quant.h"

#include <glib.h>
#include <math.h>
#include <string.h>

/* ---- CAG ------------------------------------------------------------------- */

/* Lloyd's k-means with k-means++ seeding on 2-D points (sklearn KMeans in the
 * code, random_state = 0; features unnormalised, so z dominates). */
static void
kmeans2 (const double *pt, int n, int k, uint32_t seed, int *label,
    double *cent)
{
  GRand *r = g_rand_new_with_seed (seed);
  double *d2 = g_new (double, n);
  int first = g_rand_int_range (r, 0, n);
  cent[0] = pt[2 * first];
  cent[1] = pt[2 * first + 1];
  for (int c = 1; c < k; c++) {
    double tot = 0;
    for (int i = 0; i < n; i++) {
      double best = INFINITY;
      for (int j = 0; j < c; j++) {
        double dx = pt[2 * i] - cent[2 * j], dy = pt[2 * i + 1] - cent[2 * j +
            1];
        best = fmin (best, dx * dx + dy * dy);
      }
      d2[i] = best;
      tot += best;
    }
    int pick = n - 1;
    if (tot > 0) {
      double u = g_rand_double (r) * tot, acc = 0;
      for (int i = 0; i < n; i++) {
        acc += d2[i];
        if (acc >= u) {
          pick = i;
          break;
        }
      }
    } else {
      pick = g_rand_int_range (r, 0, n);
    }
    cent[2 * c] = pt[2 * pick];
    cent[2 * c + 1] = pt[2 * pick + 1];
  }
  for (int i = 0; i < n; i++)
    label[i] = -1;
  for (int it = 0; it < 300; it++) {
    bool changed = false;
    for (int i = 0; i < n; i++) {
      int bj = 0;
      double best = INFINITY;
      for (int j = 0; j < k; j++) {
        double dx = pt[2 * i] - cent[2 * j], dy = pt[2 * i + 1] - cent[2 * j +
            1];
        double d = dx * dx + dy * dy;
        if (d < best) {
          best = d;
          bj = j;
        }
      }
      if (label[i] != bj) {
        label[i] = bj;
        changed = true;
      }
    }
    if (!changed)
      break;
    for (int j = 0; j < k; j++) {
      double sx = 0, sy = 0;
      int cnt = 0;
      for (int i = 0; i < n; i++)
        if (label[i] == j) {
          sx += pt[2 * i];
          sy += pt[2 * i + 1];
          cnt++;
        }
      if (cnt) {
        cent[2 * j] = sx / cnt;
        cent[2 * j + 1] = sy / cnt;
      }
    }
  }
  g_free (d2);
  g_rand_free (r);
}

SamCag *
sam_cag_fit (const float *x, int64_t tokens, int channels, int bits,
    int n_groups, uint32_t seed)
{
  if (tokens <= 0 || channels <= 0 || n_groups <= 0)
    return NULL;
  if (n_groups > channels)
    n_groups = channels;
  double *pt = g_new (double, 2 * channels);
  for (int c = 0; c < channels; c++) {
    float mn = INFINITY, mx = -INFINITY;
    for (int64_t t = 0; t < tokens; t++) {
      mn = fminf (mn, x[t * channels + c]);
      mx = fmaxf (mx, x[t * channels + c]);
    }
    SamQParams p = sam_qparams_from_range (mn, mx, bits, false);
    pt[2 * c] = p.scale;
    pt[2 * c + 1] = p.zero;
  }
  SamCag *cag = g_new0 (SamCag, 1);
  cag->n_groups = n_groups;
  cag->channels = channels;
  cag->label = g_new (int, channels);
  cag->group = g_new (SamQParams, n_groups);
  double *cent = g_new (double, 2 * n_groups);
  kmeans2 (pt, channels, n_groups, seed, cag->label, cent);
  int qmax = (1 << bits) - 1;
  for (int g = 0; g < n_groups; g++) {
    SamQParams *p = &cag->group[g];
    p->scale = (float) cent[2 * g];
    long z = lround (cent[2 * g + 1]);
    p->zero = (int32_t) (z < 0 ? 0 : z > qmax ? qmax : z);
    p->qmin = 0;
    p->qmax = qmax;
  }
  g_free (cent);
  g_free (pt);
  return cag;
}

void
sam_cag_free (SamCag * c)
{
  if (!c)
    return;
  g_free (c->label);
  g_free (c->group);
  g_free (c);
}

void
sam_cag_fake (const SamCag * c, const float *x, float *y, int64_t tokens)
{
  for (int64_t t = 0; t < tokens; t++)
    for (int ch = 0; ch < c->channels; ch++) {
      int64_t i = t * c->channels + ch;
      y[i] = sam_fake_quant (x[i], &c->group[c->label[ch]]);
    }
}

void
sam_cag_permutation (const SamCag * c, int *perm)
{
  int k = 0;
  for (int g = 0; g < c->n_groups; g++)
    for (int ch = 0; ch < c->channels; ch++)
      if (c->label[ch] == g)
        perm[k++] = ch;
}

/* ---- RORQ ------------------------------------------------------------------ */

int
sam_rorq_fit (const float *x, int64_t n, int bits, SamRorq * out)
{
  if (n <= 0)
    return -1;
  memset (out, 0, sizeof *out);
  bool *done = g_new0 (bool, n);
  int64_t left = n;
  for (int b = 0; b < SAM_RORQ_MAX_BANDS && left > 0; b++) {
    double s = 0, s2 = 0;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++)
      if (!done[i] && x[i] != 0) {
        double a = fabs (x[i]);
        s += a;
        s2 += a * a;
        cnt++;
      }
    double t = INFINITY;
    if (cnt > 0 && b < SAM_RORQ_MAX_BANDS - 1) {
      double mu = s / cnt, var = fmax (s2 / cnt - mu * mu, 0);
      t = mu + 3 * sqrt (var);
    }
    float mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++)
      if (!done[i] && fabs (x[i]) <= t) {
        mn = fminf (mn, x[i]);
        mx = fmaxf (mx, x[i]);
        done[i] = true;
        left--;
      }
    out->thresh[b] = (float) t;
    out->band[b] = sam_qparams_from_range (mn, mx, bits, false);
    out->n_bands = b + 1;
  }
  out->thresh[out->n_bands - 1] = INFINITY;
  g_free (done);
  return 0;
}

float
sam_rorq_fake (float x, const SamRorq * r)
{
  int b = 0;
  while (b < r->n_bands - 1 && fabsf (x) > r->thresh[b])
    b++;
  return sam_fake_quant (x, &r->band[b]);
}
