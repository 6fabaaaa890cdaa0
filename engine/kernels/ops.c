/* ops.c — float32 operations (see ops.h for layout and threading rules).
 *
 * Linear and matmul run on the packed GEMM of gemm-f32.c, whose micro-kernels
 * are compiled per ISA (AVX-512, AVX2+FMA, portable C) and picked at run
 * time by CPU features (cpu.c) — never assumed at build time. gemm-ref.c
 * holds the scalar oracle the tests compare against. Attention lives in
 * attention.c, convolution in conv.c.
 */
#include "ops.h"
#include "cpu.h"

#include <math.h>
#include <string.h>
#include <glib.h>

/* ---- linear / matmul: packed GEMM (gemm-f32.c) ------------------------ */

void
sam_linear (SamPool * pool, const float *x, int64_t M, int K, int64_t ldx,
    const float *W, const float *b, int N, float *y, int64_t ldy)
{
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  if (M <= 0 || N <= 0)
    return;
  float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
      sam_k_pack_b_size (kt, K, N));
  sam_k_pack_b_nk (kt, pool, W, K, K, N, Bp);
  sam_k_gemm_f32 (kt, pool, x, ldx, Bp, y, ldy, M, N, K, false, b);
  sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
}

void
sam_matmul (SamPool * pool, const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, int64_t M, int64_t N, int64_t K,
    bool accumulate)
{
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  if (M <= 0 || N <= 0)
    return;
  float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
      sam_k_pack_b_size (kt, K, N));
  sam_k_pack_b_kn (kt, pool, B, ldb, K, N, Bp);
  sam_k_gemm_f32 (kt, pool, A, lda, Bp, C, ldc, M, N, K, accumulate, NULL);
  sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
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

/* sam_attention: attention.c; sam_conv2d: conv.c */

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
