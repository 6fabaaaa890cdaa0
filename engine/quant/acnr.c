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

/* Σ x², Σ y², Σ x·y over n doubles, in four independent lanes each: the
 * columns are contiguous, so this runs at the FPU's throughput instead of
 * one add latency per element (the fixed lane order keeps it
 * deterministic). */
static void
col_dots (const double *x, const double *y, int64_t n, double *xx,
    double *yy, double *xy)
{
  double a[4] = { 0 }, b[4] = { 0 }, g[4] = { 0 };
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int l = 0; l < 4; l++) {
      a[l] += x[i + l] * x[i + l];
      b[l] += y[i + l] * y[i + l];
      g[l] += x[i + l] * y[i + l];
    }
  for (; i < n; i++) {
    a[0] += x[i] * x[i];
    b[0] += y[i] * y[i];
    g[0] += x[i] * y[i];
  }
  *xx = (a[0] + a[1]) + (a[2] + a[3]);
  *yy = (b[0] + b[1]) + (b[2] + b[3]);
  *xy = (g[0] + g[1]) + (g[2] + g[3]);
}

static void
col_rotate (double *x, double *y, int64_t n, double c, double s)
{
  for (int64_t i = 0; i < n; i++) {
    double u = x[i], v = y[i];
    x[i] = c * u - s * v;
    y[i] = s * u + c * v;
  }
}

/* One-sided Jacobi (Hestenes) on B, column-major [n columns of m], m >= n,
 * in place: on return column j of B is U_j σ_j and column j of V
 * (column-major [n, n]) the matching right singular vector. Columns are
 * contiguous so each rotation streams two arrays (the row-major version
 * strided through B and took 2.5 min for a 768 x 3072 weight). */
static void
jacobi_svd (double *B, int m, int n, double *V)
{
  memset (V, 0, sizeof (double) * n * n);
  for (int i = 0; i < n; i++)
    V[(size_t) i * n + i] = 1;
  for (int sweep = 0; sweep < 60; sweep++) {
    double off = 0;
    for (int p = 0; p < n - 1; p++)
      for (int q = p + 1; q < n; q++) {
        double *bp = B + (size_t) p * m, *bq = B + (size_t) q * m;
        double a, b, g;
        col_dots (bp, bq, m, &a, &b, &g);
        if (g == 0 || fabs (g) <= 1e-15 * sqrt (a * b))
          continue;
        off = fmax (off, fabs (g) / sqrt (a * b));
        double zeta = (b - a) / (2 * g);
        double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs (zeta) + sqrt (1 + zeta *
                zeta));
        double c = 1 / sqrt (1 + t * t), s = c * t;
        col_rotate (bp, bq, m, c, s);
        col_rotate (V + (size_t) p * n, V + (size_t) q * n, n, c, s);
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
  /* B column-major: Bc[j * M + i] = B[i, j] */
  double *B = g_new (double, (size_t) M * N), *V = g_new (double, N * N);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      if (tr)                   /* B = Aᵀ: B[j, i] = A[i, j] */
        B[(size_t) i * M + j] = A[(size_t) i * n + j];
      else
        B[(size_t) j * M + i] = A[(size_t) i * n + j];
    }
  jacobi_svd (B, M, N, V);
  double *sv = g_new (double, N);
  int *ord = g_new (int, N);
  for (int j = 0; j < N; j++) {
    double s = 0;
    for (int i = 0; i < M; i++)
      s += B[(size_t) j * M + i] * B[(size_t) j * M + i];
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
      double u = s > 0 ? B[(size_t) j * M + i] / s : 0;
      if (tr)
        Vt[(size_t) kk * n + i] = u;
      else
        U[(size_t) i * k + kk] = u;
    }
    for (int i = 0; i < N; i++) {
      if (tr)
        U[(size_t) i * k + kk] = V[(size_t) j * N + i];
      else
        Vt[(size_t) kk * n + i] = V[(size_t) j * N + i];
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
