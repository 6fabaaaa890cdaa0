/* acnr.c — AHCQ-SAM (arXiv 2503.03088) Activation-aware Condition Number
 * Reduction, as coded in Wenlun-Zhang/AHCQ-SAM
 * sam2/ahcqsam/solver/recon.py: condiBasedAct_reconstruction
 * (QUANTIZATION.md §3.1), plus the dense SVD it needs.
 *
 * Each of the code's K = 200 iterations takes svd (Wᵀ), moves the tail
 * singular values and rebuilds W = (U diag σ Vh)ᵀ. Rebuilding from the same
 * U and Vh means the next SVD returns those vectors again with the new σ, so
 * one SVD and K updates of σ (re-sorted each time, as the SVD would) give the
 * same result without K decompositions. The activation-error energies
 * C_i = mean_t (dX_t · U_i)² depend on U only and are computed once. */
#include "quant/quant.h"

#include <glib.h>
#include <math.h>
#include <string.h>

void
sam_acnr_params_init (SamAcnrParams * p)
{
  p->iters = 200;
  p->lambda = 0.003;
  p->beta = 0.001;
  p->energy = 0.8;
  p->kappa_min = 100;
  p->double_count = false;
}

/* One-sided Jacobi (Hestenes) on B [m, n], m >= n, row-major, in place:
 * on return the columns of B are U_j σ_j and V [n, n] holds the rotations. */
static void
jacobi_svd (double *B, int m, int n, double *V)
{
  memset (V, 0, sizeof (double) * n * n);
  for (int i = 0; i < n; i++)
    V[i * n + i] = 1;
  for (int sweep = 0; sweep < 60; sweep++) {
    double off = 0;
    for (int p = 0; p < n - 1; p++)
      for (int q = p + 1; q < n; q++) {
        double a = 0, b = 0, g = 0;
        for (int i = 0; i < m; i++) {
          double x = B[i * n + p], y = B[i * n + q];
          a += x * x;
          b += y * y;
          g += x * y;
        }
        if (g == 0 || fabs (g) <= 1e-15 * sqrt (a * b))
          continue;
        off = fmax (off, fabs (g) / sqrt (a * b));
        double zeta = (b - a) / (2 * g);
        double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs (zeta) + sqrt (1 + zeta *
                zeta));
        double c = 1 / sqrt (1 + t * t), s = c * t;
        for (int i = 0; i < m; i++) {
          double x = B[i * n + p], y = B[i * n + q];
          B[i * n + p] = c * x - s * y;
          B[i * n + q] = s * x + c * y;
        }
        for (int i = 0; i < n; i++) {
          double x = V[i * n + p], y = V[i * n + q];
          V[i * n + p] = c * x - s * y;
          V[i * n + q] = s * x + c * y;
        }
      }
    if (off < 1e-15)
      break;
  }
}

int
sam_quant_svd (const double *A, int m, int n, double *U, double *S,
    double *Vt)
{
  if (m <= 0 || n <= 0)
    return -1;
  bool tr = m < n;
  int M = tr ? n : m, N = tr ? m : n;   /* work on B [M, N], M >= N */
  double *B = g_new (double, (size_t) M * N), *V = g_new (double, N * N);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      if (tr)
        B[(size_t) j * N + i] = A[(size_t) i * n + j];
      else
        B[(size_t) i * N + j] = A[(size_t) i * n + j];
    }
  jacobi_svd (B, M, N, V);
  double *sv = g_new (double, N);
  int *ord = g_new (int, N);
  for (int j = 0; j < N; j++) {
    double s = 0;
    for (int i = 0; i < M; i++)
      s += B[(size_t) i * N + j] * B[(size_t) i * N + j];
    sv[j] = sqrt (s);
    ord[j] = j;
  }
  for (int i = 0; i < N; i++)   /* descending */
    for (int j = i + 1; j < N; j++)
      if (sv[ord[j]] > sv[ord[i]]) {
        int t = ord[i];
        ord[i] = ord[j];
        ord[j] = t;
      }
  /* B = Ub S Vᵀ with Ub [M, N]. Not transposed: U = Ub, Vt = Vᵀ.
   * Transposed (B = Aᵀ): A = V S Ubᵀ, so U = V [m, m], Vt = Ubᵀ [m, n]. */
  int k = N;
  for (int kk = 0; kk < k; kk++) {
    int j = ord[kk];
    double s = sv[j];
    S[kk] = s;
    for (int i = 0; i < M; i++) {
      double u = s > 0 ? B[(size_t) i * N + j] / s : 0;
      if (tr)
        Vt[(size_t) kk * n + i] = u;
      else
        U[(size_t) i * k + kk] = u;
    }
    for (int i = 0; i < N; i++) {
      if (tr)
        U[(size_t) i * k + kk] = V[i * N + j];
      else
        Vt[(size_t) kk * n + i] = V[i * N + j];
    }
  }
  g_free (B);
  g_free (V);
  g_free (sv);
  g_free (ord);
  return 0;
}

double
sam_quant_condition_number (const float *W, int rows, int cols)
{
  int k = rows < cols ? rows : cols;
  double *A = g_new (double, (size_t) rows * cols);
  for (int64_t i = 0; i < (int64_t) rows * cols; i++)
    A[i] = W[i];
  double *U = g_new (double, (size_t) rows * k), *S = g_new (double, k),
      *Vt = g_new (double, (size_t) k * cols);
  sam_quant_svd (A, rows, cols, U, S, Vt);
  double kappa = S[k - 1] > 0 ? S[0] / S[k - 1] : INFINITY;
  g_free (A);
  g_free (U);
  g_free (S);
  g_free (Vt);
  return kappa;
}

int
sam_acnr_apply (float *W, int out, int in, const float *dX, int64_t tokens,
    const SamAcnrParams * p, double *kappa_before, double *kappa_after)
{
  if (out <= 0 || in <= 0 || tokens <= 0)
    return -1;
  /* A = Wᵀ [in, out]: U spans the input space */
  int k = in < out ? in : out;
  double *A = g_new (double, (size_t) in * out);
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++)
      A[(size_t) i * out + o] = W[(size_t) o * in + i];
  double *U = g_new (double, (size_t) in * k), *S = g_new (double, k),
      *Vt = g_new (double, (size_t) k * out);
  sam_quant_svd (A, in, out, U, S, Vt);
  double kb = S[k - 1] > 0 ? S[0] / S[k - 1] : INFINITY;
  if (kappa_before)
    *kappa_before = kb;
  if (kb < p->kappa_min) {
    if (kappa_after)
      *kappa_after = kb;
    g_free (A);
    g_free (U);
    g_free (S);
    g_free (Vt);
    return 0;
  }
  /* C_i = mean_t ((dX · U)_i)²; the code adds each batch sum twice */
  double *C = g_new0 (double, k);
  for (int64_t t = 0; t < tokens; t++)
    for (int j = 0; j < k; j++) {
      double acc = 0;
      for (int i = 0; i < in; i++)
        acc += (double) dX[t * in + i] * U[(size_t) i * k + j];
      C[j] += acc * acc;
    }
  for (int j = 0; j < k; j++)
    C[j] = C[j] / tokens * (p->double_count ? 2 : 1);
  int *ord = g_new (int, k);
  for (int it = 0; it < p->iters; it++) {
    for (int j = 0; j < k; j++)
      ord[j] = j;
    for (int i = 0; i < k; i++) /* the SVD's descending order */
      for (int j = i + 1; j < k; j++)
        if (S[ord[j]] > S[ord[i]]) {
          int t = ord[i];
          ord[i] = ord[j];
          ord[j] = t;
        }
    double mean = 0, tot = 0;
    for (int j = 0; j < k; j++) {
      mean += S[j];
      tot += S[j] * S[j];
    }
    mean /= k;
    int cutoff = k - 1;
    double cum = 0;
    for (int kk = 0; kk < k; kk++) {
      cum += S[ord[kk]] * S[ord[kk]];
      if (cum > p->energy * tot) {
        cutoff = kk;
        break;
      }
    }
    for (int kk = cutoff + 1; kk < k; kk++) {
      int j = ord[kk];
      double sn = (S[j] + 2 * p->lambda * mean) / (1 + 2 * p->lambda +
          2 * p->beta * C[j]);
      S[j] = fmax (S[j], sn);
    }
  }
  /* W = (U diag σ Vt)ᵀ */
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++) {
      double acc = 0;
      for (int j = 0; j < k; j++)
        acc += U[(size_t) i * k + j] * S[j] * Vt[(size_t) j * out + o];
      W[(size_t) o * in + i] = (float) acc;
    }
  if (kappa_after) {
    double smax = 0, smin = INFINITY;
    for (int j = 0; j < k; j++) {
      smax = fmax (smax, S[j]);
      smin = fmin (smin, S[j]);
    }
    *kappa_after = smin > 0 ? smax / smin : INFINITY;
  }
  g_free (A);
  g_free (U);
  g_free (S);
  g_free (Vt);
  g_free (C);
  g_free (ord);
  return 1;
}
