/* quant.h — post-training quantizers for SAM 2.1 (offline, plain C, float
 * math; no engine state). Formulas follow the design notes summarized in docs/quantization.md,
 * which transcribes the papers' released code; each function names its paper.
 *
 *   uniform affine   PTQ4SAM util_quant / observer.py (MinMax, percentile,
 *                    MSE 2-D search with p = 2.4, OMSE), per tensor / row /
 *                    column / group
 *   AGQ              PTQ4SAM  (arXiv 2405.03144) post-softmax log2, base 2^(1/τ)
 *   LNQ              AHCQ-SAM (arXiv 2503.03088) log-transform, attention probs
 *   HLUQ             AHCPTQ / AHCQ-SAM hybrid log-uniform, post-GELU / ReLU
 *   DRQ              PTQ4RIS  (arXiv 2409.17020) dual-region, softmax / GELU
 *   CAG              AHCPTQ channel-aware grouping (k-means on (s_c, z_c))
 *   RORQ             PTQ4RIS  outlier-retained magnitude banding
 *   BIG              PTQ4SAM  bimodal integration (KDE peaks, sign fold)
 *   ACNR             AHCQ-SAM condition-number reduction of Linear weights
 *
 * Conventions: matrices are row-major; a Linear weight is [out, in]; an
 * activation is [tokens, channels]. Functions returning int give 0 on
 * success and −1 on bad arguments. Rounding is round-half-even (torch.round).
 */
#ifndef SAM_QUANT_QUANT_H
#define SAM_QUANT_QUANT_H

#include <stdbool.h>
#include <stdint.h>

/* ---- uniform affine ----------------------------------------------------- */

/* q = clamp (round (x / scale) + zero, qmin, qmax); x̂ = scale · (q − zero) */
typedef struct {
  float scale;
  int32_t zero;
  int32_t qmin, qmax;
} SamQParams;

/* PTQ4SAM ObserverBase.calculate_qparams: asymmetric s = (max (mx, 0) −
 * min (mn, 0)) / (2^b − 1), z = clamp (−round (min (mn, 0) / s), 0, 2^b − 1),
 * codes [0, 2^b − 1]. Symmetric: s = max |·| / (2^(b−1) − 1), z = 0, codes
 * [−(2^(b−1) − 1), 2^(b−1) − 1] (what the VNNI weights use). */
SamQParams sam_qparams_from_range (float mn, float mx, int bits,
    bool symmetric);
int32_t sam_quantize (float x, const SamQParams * p);
float sam_dequantize (int32_t q, const SamQParams * p);
static inline float
sam_fake_quant (float x, const SamQParams * p)
{
  return sam_dequantize (sam_quantize (x, p), p);
}

typedef enum {
  SAM_OBSERVER_MINMAX,
  SAM_OBSERVER_PERCENTILE,      /* [pct, 1 − pct] quantiles */
  SAM_OBSERVER_MSE,             /* PTQ4SAM MSEObserver: 2-D range × zero grid */
  SAM_OBSERVER_OMSE,            /* symmetric clipping search, p = 2 */
} SamObserverKind;

typedef struct {
  SamObserverKind kind;
  int bits;
  bool symmetric;
  float percentile;             /* PERCENTILE: e.g. 1e-4 (each tail) */
  float p_norm;                 /* MSE: loss mean |x̂ − x|^p, PTQ4SAM p = 2.4 */
  int n_grid;                   /* MSE / OMSE: clipping candidates, 100 */
} SamObserverParams;

void sam_observer_params_init (SamObserverParams * op, SamObserverKind kind,
    int bits, bool symmetric);

/* Params of one set of values (n values with a stride). */
SamQParams sam_observe (const float *x, int64_t n, int64_t stride,
    const SamObserverParams * op);

typedef enum {
  SAM_GRAN_TENSOR,              /* 1 param set */
  SAM_GRAN_ROW,                 /* per row: weight output channels */
  SAM_GRAN_COL,                 /* per column: activation channels */
  SAM_GRAN_GROUP,               /* per group of @group columns within a row */
} SamGranularity;

int64_t sam_quant_n_params (int64_t rows, int64_t cols, SamGranularity g,
    int group);
/* x [rows, cols] → params[sam_quant_n_params ()] */
int sam_quant_calibrate (const float *x, int64_t rows, int64_t cols,
    SamGranularity g, int group, const SamObserverParams * op,
    SamQParams * params);
/* y = fake-quantized x (y may equal x) */
void sam_quant_fake (const float *x, float *y, int64_t rows, int64_t cols,
    SamGranularity g, int group, const SamQParams * params);
/* Integer weights for the int8 GEMM: symmetric per row, s8, scales[rows]. */
void sam_quant_weights_s8 (const float *W, int64_t rows, int64_t cols,
    const SamObserverParams * op, int8_t * q, float *scales);

/* Bounded scalar minimisation (scipy fminbound / PTQ4SAM "bounded Brent"). */
typedef double (*SamQuantLossFunc) (double x, void *ctx);
double sam_quant_fminbound (SamQuantLossFunc f, void *ctx, double a, double b,
    double xatol, int maxiter, double *fmin);

/* mean |(Â − A) · V|^p over rows: the error AGQ and LNQ minimise.
 * A, Ahat [rows, n], V [n, dv]. */
double sam_quant_av_loss (const float *A, const float *Ahat, int64_t rows,
    int n, const float *V, int dv, double p);

/* ---- AGQ: PTQ4SAM adaptive granularity post-softmax quantizer ------------ */

typedef struct {
  float s;                      /* scale: values ≥ s decode to s */
  int tau;                      /* base 2^(1/τ), τ ∈ {1, 2, 4} */
  int bits;
} SamAgqParams;

/* Paper / code form: q = round (−τ log2 (max (a, 1e-20) / s));
 * â = 0 if q ≥ 2^b, else s · 2^(−clamp (q, 0, 2^b − 1) / τ) (2^b + 1 values). */
float sam_agq_fake (float a, const SamAgqParams * p);
/* Integer-code form of the ORC kernel (sam_orc_log2q_f32_u8): b-bit codes,
 * code 2^b − 1 decodes to 0, so every q ≥ 2^b − 1 underflows. */
uint8_t sam_agq_encode (float a, const SamAgqParams * p);
void sam_agq_decode_lut (const SamAgqParams * p, float *lut /* [2^b] */ );

/* LogAvgMSEFastObserver: for each τ ∈ {1, 2, 4}, bounded Brent over s ∈
 * [min (0.1, 0.01 m), m] (m = max A) of mean |(Â − A) V|^2.4; τ* = argmin.
 * A [rows, n] (softmax rows), V [n, dv]. err[3] (optional) gets each τ's loss. */
int sam_agq_search (const float *A, int64_t rows, int n, const float *V,
    int dv, int bits, SamAgqParams * out, double *err);

/* ---- LNQ: AHCQ-SAM log-transform quantizer ------------------------------ */

typedef struct {
  float s, alpha;
  int bits;                     /* L = 2^b − 1 levels above 0 (the note's pick) */
} SamLnqParams;

/* x ← clamp (x, 1e-20, s); q = round (L ln (1 + αx) / ln (1 + αs));
 * x̂ = 0 if q == 0 else (exp (q D / L) − 1) / α */
int32_t sam_lnq_quantize (float x, const SamLnqParams * p);
float sam_lnq_dequantize (int32_t q, const SamLnqParams * p);
float sam_lnq_fake (float x, const SamLnqParams * p);
/* LogTransformObserver: α grid {0.001, 0.1, 1, 5, 10, 20, 50, 100, 200},
 * bounded Brent over s ∈ [max (1e-4, 0.1 max), max]; loss as AGQ. */
int sam_lnq_search (const float *A, int64_t rows, int n, const float *V,
    int dv, int bits, SamLnqParams * out);

/* ---- HLUQ: AHCPTQ hybrid log-uniform (post-GELU / post-ReLU) -------------- */

typedef struct {
  float m, R;                   /* calibrated min, max − min */
  float r, g;                   /* log share of the range, log share of codes */
  int bits;
} SamHluqParams;

/* Log region d = x − m ≤ s_L = r R: q = round (−log2 (d / s_L)), x̂ = m if
 * q ≥ N_L = 2^b g else m + s_L 2^−clamp (q, 0, N_L − 1); uniform region:
 * x̂ = m + s_L + clamp (round ((d − s_L) / s_U), 0, N_U − 1) s_U,
 * s_U = R (1 − r) / ((2^b − 1)(1 − g)). The code's whole-tensor overflow
 * mask (which zeroes uniform-region values) is fixed: overflow is tested in
 * the log region only. */
float sam_hluq_fake (float x, const SamHluqParams * p);
/* HybridParamObserver: r ∈ {0.1, 0.3, 0.5} × g ∈ {1/8, 1/4, 1/2}, loss
 * mean (x̂ Wᵀ − x Wᵀ)² with FP weights W [out, in]; x [tokens, in]. */
int sam_hluq_search (const float *x, int64_t tokens, int in, const float *W,
    int out, int bits, SamHluqParams * best);

/* ---- DRQ: PTQ4RIS dual-region (PTQ4ViT twin uniform) -------------------- */

typedef struct {
  float split;                  /* 2^−i: region 1 [0, split), region 2 [split, 1] */
  int bits;
  bool released;                /* reproduce the released code's summed regions */
} SamDrqSoftmaxParams;

float sam_drq_softmax_fake (float x, const SamDrqSoftmaxParams * p);
/* split ∈ {2^−i, i = 0..19} minimising mean ((Â − A) V)² (the Hessian-guided
 * metric of PTQ4ViT needs task gradients; the output error stands in). */
int sam_drq_softmax_search (const float *A, int64_t rows, int n,
    const float *V, int dv, int bits, SamDrqSoftmaxParams * out);

typedef struct {
  float dpos;                   /* Δ+, codes [0, 2^(b−1) − 1] */
  float dneg;                   /* Δ− = 0.16997 / 2^(b−1), codes [−2^(b−1), 0] */
  int bits;
} SamDrqGeluParams;

float sam_drq_gelu_fake (float x, const SamDrqGeluParams * p);
/* Δ+ over 100 candidates in [0.01, 1.2] × max / (2^(b−1) − 1), 3 rounds of
 * refinement, loss mean (x̂ Wᵀ − x Wᵀ)² (W may be NULL: mean (x̂ − x)²). */
int sam_drq_gelu_search (const float *x, int64_t tokens, int in,
    const float *W, int out, int bits, SamDrqGeluParams * p);

/* ---- CAG: AHCPTQ channel-aware grouping ----------------------------------- */

typedef struct {
  int n_groups;
  int channels;
  int *label;                   /* [channels] group of each channel */
  SamQParams *group;            /* [n_groups] (s_g, round (z_g)) */
} SamCag;

/* Per-channel asymmetric min/max (s_c, z_c) over x [tokens, channels], then
 * k-means (k-means++ seeding from @seed, unnormalised features, as sklearn in
 * the code) on the points (s_c, z_c) into n_groups. */
SamCag *sam_cag_fit (const float *x, int64_t tokens, int channels, int bits,
    int n_groups, uint32_t seed);
void sam_cag_free (SamCag * c);
void sam_cag_fake (const SamCag * c, const float *x, float *y, int64_t tokens);
/* Channel order making groups contiguous (for the exact 4-partial-GEMM form). */
void sam_cag_permutation (const SamCag * c, int *perm);

/* ---- RORQ: PTQ4RIS outlier-retained magnitude banding --------------------- */

#define SAM_RORQ_MAX_BANDS 10

typedef struct {
  int n_bands;
  float thresh[SAM_RORQ_MAX_BANDS];     /* |x| ≤ thresh[i] → band i (last: ∞) */
  SamQParams band[SAM_RORQ_MAX_BANDS];
} SamRorq;

/* repeat ≤ 10: μ, σ of |x| over the remaining nonzeros, t = μ + 3σ, band =
 * remaining with |x| ≤ t, asymmetric min/max params of the band. */
int sam_rorq_fit (const float *x, int64_t n, int bits, SamRorq * out);
float sam_rorq_fake (float x, const SamRorq * r);

/* ---- BIG: PTQ4SAM bimodal integration ------------------------------------- */

/* judge_bimodal: Gaussian KDE (Scott bandwidth) of the values on 128 points
 * over [min, max], scipy find_peaks with height 0.01 Σy and distance 32;
 * bimodal iff exactly two peaks. */
bool sam_big_detect (const float *x, int64_t n);
/* γ[c] = sign (mean over tokens of K[:, c]), sign (0) → +1. K [tokens, C]. */
void sam_big_signs (const float *K, int64_t tokens, int C, float *gamma);
/* Offline fold: W_q, W_k [C, in] rows and b_q, b_k [C] multiplied by γ
 * (biases may be NULL). q·k is unchanged since γ_c² = 1. */
void sam_big_fold (const float *gamma, int C, int in, float *Wq, float *bq,
    float *Wk, float *bk);

/* ---- ACNR: AHCQ-SAM activation-aware condition number reduction ----------- */

typedef struct {
  int iters;                    /* K = 200 */
  double lambda, beta;          /* 0.003, 0.001 */
  double energy;                /* 0.8: the top-energy directions kept */
  double kappa_min;             /* 100: skip better-conditioned weights */
  bool double_count;            /* reproduce the code's C = 2× mean */
} SamAcnrParams;

void sam_acnr_params_init (SamAcnrParams * p);
/* W [out, in] updated in place from the activation error dX = X_fp − Q(X_q)
 * [tokens, in]. kappa_before / kappa_after (optional) report σmax / σmin.
 * Returns 1 if modified, 0 if skipped (κ < kappa_min), −1 on failure. */
int sam_acnr_apply (float *W, int out, int in, const float *dX,
    int64_t tokens, const SamAcnrParams * p, double *kappa_before,
    double *kappa_after);
/* σmax / σmin of W [rows, cols] (double-precision one-sided Jacobi SVD). */
double sam_quant_condition_number (const float *W, int rows, int cols);
/* Thin SVD of A [m, n] (double, row-major): A = U diag (S) Vt with
 * k = min (m, n); U [m, k], S [k] descending, Vt [k, n]. */
int sam_quant_svd (const double *A, int m, int n, double *U, double *S,
    double *Vt);

#endif
