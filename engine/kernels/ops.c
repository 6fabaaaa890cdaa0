/* ops.c — float32 operations (see ops.h for layout and threading rules).
 *
 * The GEMM micro-kernel is written with GCC vector extensions and compiled
 * for several ISAs with target_clones, so the best one is picked at run time
 * by CPU features (AVX-512, AVX2+FMA, baseline SSE2) — never assumed at build
 * time. gemm-ref.c holds the scalar oracle the tests compare against.
 */
#include "ops.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(SAM_NO_CLONES)
#define SAM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SAM_CLONES
#endif

typedef float v8f __attribute__((vector_size (32)));

static inline v8f
load8 (const float *p)
{
  v8f v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline float
hsum8 (v8f v)
{
  /* fixed order: results do not depend on ISA width for the reduction tree */
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* ---- linear ---------------------------------------------------------- */

typedef struct
{
  const float *x, *W, *b;
  int64_t M, ldx, ldy;
  int K, N;
  float *y;
} LinearCtx;

/* 4 rows × 4 outputs per tile; each dot product accumulates in 8 lanes over
 * K, then reduces in a fixed order. */
SAM_CLONES static void
linear_rows (void *vctx, int64_t r0, int64_t r1)
{
  const LinearCtx *c = vctx;
  const int K = c->K, N = c->N, K8 = K & ~7;
  for (int64_t i = r0; i < r1; i += 4) {
    int mi = (int) MIN (4, r1 - i);
    const float *xr[4];
    for (int a = 0; a < 4; a++)
      xr[a] = c->x + (i + MIN (a, mi - 1)) * c->ldx;
    for (int n = 0; n < N; n += 4) {
      int nj = MIN (4, N - n);
      const float *wr[4];
      for (int bb = 0; bb < 4; bb++)
        wr[bb] = c->W + (int64_t) (n + MIN (bb, nj - 1)) * K;
      v8f acc[4][4] = { {{0}} };
      for (int k = 0; k < K8; k += 8) {
        v8f xv0 = load8 (xr[0] + k), xv1 = load8 (xr[1] + k);
        v8f xv2 = load8 (xr[2] + k), xv3 = load8 (xr[3] + k);
        for (int bb = 0; bb < 4; bb++) {
          v8f wv = load8 (wr[bb] + k);
          acc[0][bb] += xv0 * wv;
          acc[1][bb] += xv1 * wv;
          acc[2][bb] += xv2 * wv;
          acc[3][bb] += xv3 * wv;
        }
      }
      for (int a = 0; a < mi; a++)
        for (int bb = 0; bb < nj; bb++) {
          float s = hsum8 (acc[a][bb]);
          for (int k = K8; k < K; k++)
            s += xr[a][k] * wr[bb][k];
          if (c->b)
            s += c->b[n + bb];
          c->y[(i + a) * c->ldy + n + bb] = s;
        }
    }
  }
}

static void
linear_tiles (void *ctx, int64_t t0, int64_t t1)
{
  LinearCtx *c = ctx;
  linear_rows (c, t0 * 4, MIN (t1 * 4, c->M));
}

void
sam_linear (SamPool * pool, const float *x, int64_t M, int K, int64_t ldx,
    const float *W, const float *b, int N, float *y, int64_t ldy)
{
  LinearCtx c = { x, W, b, M, ldx, ldy, K, N, y };
  /* Split on whole 4-row tiles so the partition never changes a result. */
  sam_pool_for (pool, (M + 3) / 4, 8, linear_tiles, &c);
}

/* ---- matmul (A[M,K] · B[K,N]) ---------------------------------------- */

typedef struct
{
  const float *A, *B;
  float *C;
  int64_t lda, ldb, ldc, N, K;
  bool acc;
} MatmulCtx;

SAM_CLONES static void
matmul_rows (void *vctx, int64_t r0, int64_t r1)
{
  const MatmulCtx *c = vctx;
  for (int64_t i = r0; i < r1; i++) {
    float *cr = c->C + i * c->ldc;
    if (!c->acc)
      memset (cr, 0, sizeof (float) * c->N);
    const float *ar = c->A + i * c->lda;
    for (int64_t k = 0; k < c->K; k++) {
      float a = ar[k];
      const float *br = c->B + k * c->ldb;
      for (int64_t n = 0; n < c->N; n++)
        cr[n] += a * br[n];
    }
  }
}

void
sam_matmul (SamPool * pool, const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, int64_t M, int64_t N, int64_t K,
    bool accumulate)
{
  MatmulCtx c = { A, B, C, lda, ldb, ldc, N, K, accumulate };
  sam_pool_for (pool, M, 4, matmul_rows, &c);
}

/* ---- layernorm / elementwise ----------------------------------------- */

typedef struct
{
  const float *x, *g, *b;
  float *y;
  int C;
  float eps;
} LnCtx;

static void
ln_rows (void *vctx, int64_t r0, int64_t r1)
{
  const LnCtx *c = vctx;
  for (int64_t i = r0; i < r1; i++) {
    const float *xr = c->x + i * c->C;
    float *yr = c->y + i * c->C;
    double mean = 0, var = 0;
    for (int k = 0; k < c->C; k++)
      mean += xr[k];
    mean /= c->C;
    for (int k = 0; k < c->C; k++) {
      double d = xr[k] - mean;
      var += d * d;
    }
    var /= c->C;
    float inv = (float) (1.0 / sqrt (var + c->eps));
    float m = (float) mean;
    for (int k = 0; k < c->C; k++)
      yr[k] = (xr[k] - m) * inv * c->g[k] + c->b[k];
  }
}

void
sam_layernorm (SamPool * pool, const float *x, int64_t M, int C,
    const float *gamma, const float *beta, float eps, float *y)
{
  LnCtx c = { x, gamma, beta, y, C, eps };
  sam_pool_for (pool, M, 16, ln_rows, &c);
}

static void
gelu_range (void *ctx, int64_t b, int64_t e)
{
  float *x = ctx;
  for (int64_t i = b; i < e; i++)
    x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
}

void
sam_gelu (SamPool * pool, float *x, int64_t n)
{
  sam_pool_for (pool, n, 4096, gelu_range, x);
}

void
sam_relu (float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = x[i] > 0.f ? x[i] : 0.f;
}

void
sam_sigmoid (float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = 1.0f / (1.0f + expf (-x[i]));
}

void
sam_add (float *y, const float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] += x[i];
}

void
sam_scale (float *y, float s, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] *= s;
}

/* ---- attention ------------------------------------------------------- */

#define ATT_QB 4                /* queries per block: keys are reused 4x */
#define ATT_KT 256              /* keys per tile (online softmax) */

typedef struct
{
  const float *q, *k, *v;
  float *out;
  int64_t ldq, ldk, ldv, ldo, Nq, Nk;
  int H, D, Dv;
  int64_t qblocks;
} AttCtx;

SAM_CLONES static void
att_blocks (void *vctx, int64_t b0, int64_t b1)
{
  const AttCtx *c = vctx;
  const int D = c->D, Dv = c->Dv;
  const float scale = 1.0f / sqrtf ((float) D);
  float s[ATT_QB][ATT_KT];
  float *acc = g_new (float, ATT_QB * Dv);
  for (int64_t blk = b0; blk < b1; blk++) {
    int h = (int) (blk / c->qblocks);
    int64_t q0 = (blk % c->qblocks) * ATT_QB;
    int nq = (int) MIN (ATT_QB, c->Nq - q0);
    float m[ATT_QB], l[ATT_QB];
    for (int a = 0; a < ATT_QB; a++) {
      m[a] = -INFINITY;
      l[a] = 0.f;
    }
    memset (acc, 0, sizeof (float) * ATT_QB * Dv);
    const float *qr[ATT_QB];
    for (int a = 0; a < ATT_QB; a++)
      qr[a] = c->q + (q0 + MIN (a, nq - 1)) * c->ldq + (int64_t) h * D;
    for (int64_t k0 = 0; k0 < c->Nk; k0 += ATT_KT) {
      int nk = (int) MIN (ATT_KT, c->Nk - k0);
      for (int j = 0; j < nk; j++) {
        const float *kr = c->k + (k0 + j) * c->ldk + (int64_t) h * D;
        v8f a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
        int d = 0;
        for (; d + 8 <= D; d += 8) {
          v8f kv = load8 (kr + d);
          a0 += load8 (qr[0] + d) * kv;
          a1 += load8 (qr[1] + d) * kv;
          a2 += load8 (qr[2] + d) * kv;
          a3 += load8 (qr[3] + d) * kv;
        }
        float t0 = hsum8 (a0), t1 = hsum8 (a1), t2 = hsum8 (a2), t3 =
            hsum8 (a3);
        for (; d < D; d++) {
          t0 += qr[0][d] * kr[d];
          t1 += qr[1][d] * kr[d];
          t2 += qr[2][d] * kr[d];
          t3 += qr[3][d] * kr[d];
        }
        s[0][j] = t0 * scale;
        s[1][j] = t1 * scale;
        s[2][j] = t2 * scale;
        s[3][j] = t3 * scale;
      }
      for (int a = 0; a < nq; a++) {
        float mt = m[a];
        for (int j = 0; j < nk; j++)
          mt = s[a][j] > mt ? s[a][j] : mt;
        float corr = expf (m[a] - mt);
        m[a] = mt;
        float sum = 0.f;
        for (int j = 0; j < nk; j++) {
          s[a][j] = expf (s[a][j] - mt);
          sum += s[a][j];
        }
        l[a] = l[a] * corr + sum;
        float *ar = acc + a * Dv;
        for (int d = 0; d < Dv; d++)
          ar[d] *= corr;
        for (int j = 0; j < nk; j++) {
          const float *vr = c->v + (k0 + j) * c->ldv + (int64_t) h * Dv;
          float p = s[a][j];
          for (int d = 0; d < Dv; d++)
            ar[d] += p * vr[d];
        }
      }
    }
    for (int a = 0; a < nq; a++) {
      float *o = c->out + (q0 + a) * c->ldo + (int64_t) h * Dv;
      float inv = 1.0f / l[a];
      for (int d = 0; d < Dv; d++)
        o[d] = acc[a * Dv + d] * inv;
    }
  }
  g_free (acc);
}

void
sam_attention (SamPool * pool, const float *q, int64_t ldq, const float *k,
    int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv)
{
  AttCtx c = { q, k, v, out, ldq, ldk, ldv, ldo, Nq, Nk, H, D, Dv,
    (Nq + ATT_QB - 1) / ATT_QB
  };
  sam_pool_for (pool, c.qblocks * H, 1, att_blocks, &c);
}

/* ---- convolutions ---------------------------------------------------- */

typedef struct
{
  const float *x, *w, *b;
  float *y;
  int H, W, Cin, Cout, KH, KW, stride, pad, Ho, Wo;
} ConvCtx;

/* groups == 1: im2col one output row at a time, then a GEMM with the
 * PyTorch weight [Cout, Cin*KH*KW], whose column order (cin, kh, kw) the
 * patch follows. */
static void
conv_rows (void *vctx, int64_t r0, int64_t r1)
{
  const ConvCtx *c = vctx;
  const int K = c->Cin * c->KH * c->KW;
  float *patch = g_new (float, (size_t) c->Wo * K);
  for (int64_t oy = r0; oy < r1; oy++) {
    for (int ox = 0; ox < c->Wo; ox++) {
      float *p = patch + (size_t) ox * K;
      for (int ci = 0; ci < c->Cin; ci++)
        for (int ky = 0; ky < c->KH; ky++) {
          int iy = (int) oy * c->stride - c->pad + ky;
          for (int kx = 0; kx < c->KW; kx++) {
            int ix = ox * c->stride - c->pad + kx;
            *p++ = (iy >= 0 && iy < c->H && ix >= 0 && ix < c->W)
                ? c->x[((size_t) iy * c->W + ix) * c->Cin + ci] : 0.f;
          }
        }
    }
    sam_linear (NULL, patch, c->Wo, K, K, c->w, c->b, c->Cout,
        c->y + (size_t) oy * c->Wo * c->Cout, c->Cout);
  }
  g_free (patch);
}


/* depthwise (groups == Cin == Cout) */
static void
dwconv_rows (void *vctx, int64_t r0, int64_t r1)
{
  const ConvCtx *c = vctx;
  const int C = c->Cout;
  for (int64_t oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < c->Wo; ox++) {
      float *yr = c->y + ((size_t) oy * c->Wo + ox) * C;
      for (int ch = 0; ch < C; ch++) {
        float s = c->b ? c->b[ch] : 0.f;
        const float *wk = c->w + (size_t) ch * c->KH * c->KW;
        for (int ky = 0; ky < c->KH; ky++) {
          int iy = (int) oy * c->stride - c->pad + ky;
          if (iy < 0 || iy >= c->H)
            continue;
          for (int kx = 0; kx < c->KW; kx++) {
            int ix = ox * c->stride - c->pad + kx;
            if (ix < 0 || ix >= c->W)
              continue;
            s += c->x[((size_t) iy * c->W + ix) * C + ch] * wk[ky * c->KW + kx];
          }
        }
        yr[ch] = s;
      }
    }
}

void
sam_conv2d (SamPool * pool, const float *x, int H, int W, int Cin,
    const float *w, const float *b, int Cout, int KH, int KW, int stride,
    int pad, int groups, float *y)
{
  ConvCtx c = { x, w, b, y, H, W, Cin, Cout, KH, KW, stride, pad,
    (H + 2 * pad - KH) / stride + 1, (W + 2 * pad - KW) / stride + 1
  };
  if (groups == 1) {
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0) {
      sam_linear (pool, x, (int64_t) H * W, Cin, Cin, w, b, Cout, y, Cout);
      return;
    }
    sam_pool_for (pool, c.Ho, 1, conv_rows, &c);
  } else {
    g_return_if_fail (groups == Cin && groups == Cout);
    sam_pool_for (pool, c.Ho, 1, dwconv_rows, &c);
  }
}

void
sam_conv_transpose2x2 (SamPool * pool, const float *x, int H, int W, int Cin,
    const float *w, const float *b, int Cout, float *y)
{
  /* Reorder the weight to [(a, bx, co), Cin] so one GEMM gives, per input
   * pixel, the 2×2×Cout outputs it scatters to. */
  const int N = 4 * Cout;
  float *wt = g_new (float, (size_t) N * Cin);
  float *bt = g_new (float, N);
  for (int a = 0; a < 2; a++)
    for (int bx = 0; bx < 2; bx++)
      for (int co = 0; co < Cout; co++) {
        int row = (a * 2 + bx) * Cout + co;
        bt[row] = b ? b[co] : 0.f;
        for (int ci = 0; ci < Cin; ci++)
          wt[(size_t) row * Cin + ci] =
              w[(((size_t) ci * Cout + co) * 2 + a) * 2 + bx];
      }
  float *tmp = g_new (float, (size_t) H * W * N);
  sam_linear (pool, x, (int64_t) H * W, Cin, Cin, wt, bt, N, tmp, N);
  for (int iy = 0; iy < H; iy++)
    for (int ix = 0; ix < W; ix++)
      for (int a = 0; a < 2; a++)
        for (int bx = 0; bx < 2; bx++)
          memcpy (y + (((size_t) (2 * iy + a) * 2 * W) + 2 * ix + bx) * Cout,
              tmp + ((size_t) iy * W + ix) * N + (a * 2 + bx) * Cout,
              sizeof (float) * Cout);
  g_free (tmp);
  g_free (wt);
  g_free (bt);
}

void
sam_maxpool2x2 (const float *x, int H, int W, int C, float *y)
{
  int Ho = H / 2, Wo = W / 2;
  for (int oy = 0; oy < Ho; oy++)
    for (int ox = 0; ox < Wo; ox++) {
      const float *p00 = x + ((size_t) (2 * oy) * W + 2 * ox) * C;
      const float *p01 = p00 + C;
      const float *p10 = p00 + (size_t) W * C;
      const float *p11 = p10 + C;
      float *o = y + ((size_t) oy * Wo + ox) * C;
      for (int c = 0; c < C; c++) {
        float m = p00[c];
        m = p01[c] > m ? p01[c] : m;
        m = p10[c] > m ? p10[c] : m;
        m = p11[c] > m ? p11[c] : m;
        o[c] = m;
      }
    }
}

/* ---- resizing (PyTorch F.interpolate semantics) ----------------------- */

static float
src_index (float scale, int dst, bool align_corners, bool cubic)
{
  if (align_corners)
    return scale * dst;
  float s = scale * (dst + 0.5f) - 0.5f;
  return (!cubic && s < 0.f) ? 0.f : s;
}

static float
area_scale (int in, int out, bool align_corners)
{
  if (align_corners)
    return out > 1 ? (float) (in - 1) / (float) (out - 1) : 0.f;
  return (float) in / (float) out;
}

typedef struct
{
  const float *x;
  float *y;
  int H, W, C, Ho, Wo;
  bool ac;
} ResizeCtx;

static void
bilinear_rows (void *vctx, int64_t r0, int64_t r1)
{
  const ResizeCtx *c = vctx;
  float sh = area_scale (c->H, c->Ho, c->ac), sw = area_scale (c->W, c->Wo,
      c->ac);
  for (int64_t oy = r0; oy < r1; oy++) {
    float fy = src_index (sh, (int) oy, c->ac, false);
    int y0 = (int) fy;
    int y1 = y0 + (y0 < c->H - 1);
    float ly1 = fy - y0, ly0 = 1.f - ly1;
    for (int ox = 0; ox < c->Wo; ox++) {
      float fx = src_index (sw, ox, c->ac, false);
      int x0 = (int) fx;
      int x1 = x0 + (x0 < c->W - 1);
      float lx1 = fx - x0, lx0 = 1.f - lx1;
      const float *p00 = c->x + ((size_t) y0 * c->W + x0) * c->C;
      const float *p01 = c->x + ((size_t) y0 * c->W + x1) * c->C;
      const float *p10 = c->x + ((size_t) y1 * c->W + x0) * c->C;
      const float *p11 = c->x + ((size_t) y1 * c->W + x1) * c->C;
      float *o = c->y + ((size_t) oy * c->Wo + ox) * c->C;
      for (int ch = 0; ch < c->C; ch++)
        o[ch] = ly0 * (lx0 * p00[ch] + lx1 * p01[ch]) +
            ly1 * (lx0 * p10[ch] + lx1 * p11[ch]);
    }
  }
}

void
sam_resize_bilinear (SamPool * pool, const float *x, int H, int W, int C,
    float *y, int Ho, int Wo, bool align_corners)
{
  ResizeCtx c = { x, y, H, W, C, Ho, Wo, align_corners };
  sam_pool_for (pool, Ho, 8, bilinear_rows, &c);
}

static void
cubic_coeffs (float t, float w[4])
{
  const float A = -0.75f;
  float x1 = t + 1.f, x2 = t, x3 = 1.f - t, x4 = 2.f - t;
  w[0] = ((A * x1 - 5 * A) * x1 + 8 * A) * x1 - 4 * A;
  w[1] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
  w[2] = ((A + 2) * x3 - (A + 3)) * x3 * x3 + 1;
  w[3] = ((A * x4 - 5 * A) * x4 + 8 * A) * x4 - 4 * A;
}

void
sam_resize_bicubic (const float *x, int H, int W, int C, float *y, int Ho,
    int Wo, bool align_corners)
{
  float sh = area_scale (H, Ho, align_corners), sw = area_scale (W, Wo,
      align_corners);
  for (int oy = 0; oy < Ho; oy++) {
    float fy = src_index (sh, oy, align_corners, true);
    int iy = (int) floorf (fy);
    float wy[4];
    cubic_coeffs (fy - iy, wy);
    for (int ox = 0; ox < Wo; ox++) {
      float fx = src_index (sw, ox, align_corners, true);
      int ix = (int) floorf (fx);
      float wx[4];
      cubic_coeffs (fx - ix, wx);
      float *o = y + ((size_t) oy * Wo + ox) * C;
      for (int ch = 0; ch < C; ch++) {
        float rows[4];
        for (int a = 0; a < 4; a++) {
          int yy = CLAMP (iy - 1 + a, 0, H - 1);
          float r = 0.f;
          for (int bb = 0; bb < 4; bb++) {
            int xx = CLAMP (ix - 1 + bb, 0, W - 1);
            r += x[((size_t) yy * W + xx) * C + ch] * wx[bb];
          }
          rows[a] = r;
        }
        o[ch] = rows[0] * wy[0] + rows[1] * wy[1] + rows[2] * wy[2] +
            rows[3] * wy[3];
      }
    }
  }
}

void
sam_upsample_nearest (const float *x, int H, int W, int C, float *y, int Ho,
    int Wo)
{
  float sh = (float) H / Ho, sw = (float) W / Wo;
  for (int oy = 0; oy < Ho; oy++) {
    int iy = MIN ((int) floorf (oy * sh), H - 1);
    for (int ox = 0; ox < Wo; ox++) {
      int ix = MIN ((int) floorf (ox * sw), W - 1);
      memcpy (y + ((size_t) oy * Wo + ox) * C, x + ((size_t) iy * W + ix) * C,
          sizeof (float) * C);
    }
  }
}

void
sam_transpose (const float *in, int64_t rows, int64_t cols, float *out)
{
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      out[c * rows + r] = in[r * cols + c];
}
