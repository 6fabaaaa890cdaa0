/* conv.c — 2-D convolution, channels-last (see ops.h).
 *
 * groups == 1: im2col per group of output rows into a patch matrix whose
 * columns follow PyTorch's weight order (ci, ky, kx), and one GEMM against
 * the weight packed once per call. (A (ky, kx, ci) order would copy
 * contiguous channel runs, but changes the summation order, and the memory
 * encoder's bf16-rounded outputs moved further from the fixtures with it.)
 * Depthwise (groups == Cin == Cout): vectorized over channels, the weight
 * transposed to [KH][KW][C] once per call, one FMA chain per output over
 * (ky, kx) starting from the bias.
 * Both partition over output rows, so results do not depend on the thread
 * count.
 */
#include "ops.h"
#include "cpu.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#if defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>
#define SAM_ARM64 1
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif

/* ---- scalar oracle ------------------------------------------------------ */

void
sam_k_conv2d_f32_ref (const float *x, int H, int W, int Cin, const float *w,
    const float *b, int Cout, int KH, int KW, int stride, int pad, int groups,
    float *y)
{
  const int Ho = (H + 2 * pad - KH) / stride + 1;
  const int Wo = (W + 2 * pad - KW) / stride + 1;
  const int cpg = Cin / groups, opg = Cout / groups;
  for (int oy = 0; oy < Ho; oy++)
    for (int ox = 0; ox < Wo; ox++)
      for (int co = 0; co < Cout; co++) {
        const int g = co / opg;
        float s = 0.f;
        for (int ci = 0; ci < cpg; ci++)
          for (int ky = 0; ky < KH; ky++) {
            int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= H)
              continue;
            for (int kx = 0; kx < KW; kx++) {
              int ix = ox * stride - pad + kx;
              if (ix < 0 || ix >= W)
                continue;
              s = fmaf (x[((size_t) iy * W + ix) * Cin + g * cpg + ci],
                  w[(((size_t) co * cpg + ci) * KH + ky) * KW + kx], s);
            }
          }
        y[((size_t) oy * Wo + ox) * Cout + co] = b ? s + b[co] : s;
      }
}

/* ---- im2col + GEMM --------------------------------------------------------- */

typedef struct
{
  const SamKernelsF32 *kt;
  const float *x, *Bp, *b;
  float *y;
  int H, W, Cin, Cout, KH, KW, stride, pad, Ho, Wo;
  int rows;                     /* output rows per task */
} ConvCtx;

#ifdef SAM_X86
/* The patch row of one output pixel whose taps are all inside the input
 * along x, for KW · Cin ≤ 32: per kernel row, the KW · Cin contiguous
 * inputs are loaded once and each channel's KW taps picked out with a
 * permute, instead of KW · Cin scalar copies (the patch embedding's
 * 147-tap rows cost as much as its GEMM). The same values in the same
 * places: (ci, ky, kx) order, rows outside the input zero. */
TGT_AVX512 static void
patch_row_avx512 (const ConvCtx * c, int oy, int ix0, float *p)
{
  const int Cin = c->Cin, KW = c->KW, KH = c->KH, run = KW * Cin;
  const __mmask16 m0 = (__mmask16) (run >= 16 ? 0xffff : (1u << run) - 1);
  const __mmask16 m1 = (__mmask16) (run <= 16 ? 0 : (1u << (run - 16)) - 1);
  const __mmask16 mkw = (__mmask16) ((1u << KW) - 1);
  for (int ky = 0; ky < KH; ky++) {
    const int iy = oy * c->stride - c->pad + ky;
    if (iy < 0 || iy >= c->H) {
      for (int ci = 0; ci < Cin; ci++)
        _mm512_mask_storeu_ps (p + ((int64_t) ci * KH + ky) * KW, mkw,
            _mm512_setzero_ps ());
      continue;
    }
    const float *src = c->x + ((size_t) iy * c->W + ix0) * Cin;
    const __m512 lo = _mm512_maskz_loadu_ps (m0, src);
    const __m512 hi = _mm512_maskz_loadu_ps (m1, src + 16);
    for (int ci = 0; ci < Cin; ci++) {
      /* lane kx takes input ci + Cin · kx of the run */
      const __m512i idx = _mm512_add_epi32 (_mm512_set1_epi32 (ci),
          _mm512_mullo_epi32 (_mm512_set1_epi32 (Cin),
              _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                  13, 14, 15)));
      _mm512_mask_storeu_ps (p + ((int64_t) ci * KH + ky) * KW, mkw,
          _mm512_permutex2var_ps (lo, idx, hi));
    }
  }
}

/* The same patch row on AVX2, for KW ≤ 8 and KW · Cin ≤ 24: the run in
 * three vectors, each channel's taps picked from them by three permutes
 * and two blends (lane kx takes input ci + Cin · kx, in vector
 * (ci + Cin · kx) / 8). The rows go out in address order as whole
 * vectors, each one's lanes past KW overwritten by the next; the stores
 * that would reach past the pixel's K floats (the last, or the last
 * few when KW < 4) are masked to what is left of it (masked stores are
 * slow on AMD, so only those). */
TGT_AVX2 static void
patch_row_avx2 (const ConvCtx * c, int oy, int ix0, float *p,
    const float *pend)
{
  const int Cin = c->Cin, KW = c->KW, KH = c->KH, run = KW * Cin;
  const __m256i lane = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  const int K = Cin * KH * KW;
  const float *xend = c->x + (size_t) c->H * c->W * Cin;
  __m256i mrun[3];
  for (int b = 0; b < 3; b++)
    mrun[b] = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (run - 8 * b), lane);
  for (int ci = 0; ci < Cin; ci++) {
    const __m256i idx = _mm256_add_epi32 (_mm256_set1_epi32 (ci),
        _mm256_mullo_epi32 (_mm256_set1_epi32 (Cin), lane));
    const __m256 in1 = _mm256_castsi256_ps (_mm256_cmpgt_epi32 (idx,
            _mm256_set1_epi32 (7)));
    const __m256 in2 = _mm256_castsi256_ps (_mm256_cmpgt_epi32 (idx,
            _mm256_set1_epi32 (15)));
    for (int ky = 0; ky < KH; ky++) {
      const int iy = oy * c->stride - c->pad + ky;
      __m256 t = _mm256_setzero_ps ();
      if (iy >= 0 && iy < c->H) {
        const float *src = c->x + ((size_t) iy * c->W + ix0) * Cin;
        /* plain loads where the 24 floats lie inside the image (the lanes
         * past the run only reach patch floats that a later store of this
         * pixel, or the next pixel's first, overwrites); vmaskmovps cost
         * more on Zen than the rest of the row */
        if (src + 24 <= xend) {
          t = _mm256_permutevar8x32_ps (_mm256_loadu_ps (src), idx);
          if (run > 8)
            t = _mm256_blendv_ps (t, _mm256_permutevar8x32_ps
                (_mm256_loadu_ps (src + 8), idx), in1);
          if (run > 16)
            t = _mm256_blendv_ps (t, _mm256_permutevar8x32_ps
                (_mm256_loadu_ps (src + 16), idx), in2);
        } else {
          t = _mm256_permutevar8x32_ps (_mm256_maskload_ps (src, mrun[0]),
              idx);
          if (run > 8)
            t = _mm256_blendv_ps (t, _mm256_permutevar8x32_ps
                (_mm256_maskload_ps (src + 8, mrun[1]), idx), in1);
          if (run > 16)
            t = _mm256_blendv_ps (t, _mm256_permutevar8x32_ps
                (_mm256_maskload_ps (src + 16, mrun[2]), idx), in2);
        }
      }
      const int at = (ci * KH + ky) * KW;
      /* the patch's last store spills into the next pixel's patch, which
       * is written after this one; only at the buffer's end masked */
      if (K - at >= 8 || p + at + 8 <= pend)
        _mm256_storeu_ps (p + at, t);
      else
        _mm256_maskstore_ps (p + at, _mm256_cmpgt_epi32 (_mm256_set1_epi32
                (K - at), lane), t);
    }
  }
}
#endif

static void
conv_tasks (void *vctx, int64_t t0, int64_t t1)
{
  const ConvCtx *c = vctx;
  const int K = c->Cin * c->KH * c->KW, Cin = c->Cin;
  float *patch = sam_k_scratch_get (SAM_SCRATCH_TASK_1,
      (int64_t) c->rows * c->Wo * K);
  const float *pend = patch + (int64_t) c->rows * c->Wo * K;
  (void) pend;                  /* x86 only */
  for (int64_t t = t0; t < t1; t++) {
    const int oy0 = (int) t * c->rows, oy1 = MIN (c->Ho, oy0 + c->rows);
    float *p = patch;
    for (int oy = oy0; oy < oy1; oy++)
      for (int ox = 0; ox < c->Wo; ox++) {
        const int ix0 = ox * c->stride - c->pad;
        const bool inside = ix0 >= 0 && ix0 + c->KW <= c->W;
#ifdef SAM_X86
        if (inside && c->kt->isa == SAM_ISA_AVX512 && c->KW <= 16
            && c->KW * Cin <= 32) {
          patch_row_avx512 (c, oy, ix0, p);
          p += K;
          continue;
        }
        if (inside && c->kt->isa == SAM_ISA_AVX2 && c->KW <= 8
            && c->KW * Cin <= 24) {
          patch_row_avx2 (c, oy, ix0, p, pend);
          p += K;
          continue;
        }
#endif
        for (int ci = 0; ci < Cin; ci++)
          for (int ky = 0; ky < c->KH; ky++) {
            const int iy = oy * c->stride - c->pad + ky;
            if (iy < 0 || iy >= c->H) {
              memset (p, 0, sizeof (float) * c->KW);
              p += c->KW;
            } else if (inside) {
              const float *src = c->x + ((size_t) iy * c->W + ix0) * Cin + ci;
              for (int kx = 0; kx < c->KW; kx++)
                *p++ = src[(size_t) kx * Cin];
            } else
              for (int kx = 0; kx < c->KW; kx++) {
                int ix = ix0 + kx;
                *p++ = (ix >= 0 && ix < c->W)
                    ? c->x[((size_t) iy * c->W + ix) * Cin + ci] : 0.f;
              }
          }
      }
    sam_k_gemm_f32 (c->kt, NULL, patch, K, c->Bp,
        c->y + (size_t) oy0 * c->Wo * c->Cout, c->Cout,
        (int64_t) (oy1 - oy0) * c->Wo, c->Cout, K, false, c->b);
  }
  sam_k_scratch_put (SAM_SCRATCH_TASK_1, patch);
}

static void
conv_im2col (const SamKernelsF32 * kt, SamPool * pool, ConvCtx * c,
    const float *w)
{
  const int K = c->Cin * c->KH * c->KW;
  float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
      sam_k_pack_b_size (kt, K, c->Cout));
  sam_k_pack_b_nk (kt, pool, w, K, K, c->Cout, Bp);
  c->kt = kt;
  c->Bp = Bp;
  c->rows = MAX (1, 256 / MAX (1, c->Wo));
  int64_t ntask = (c->Ho + c->rows - 1) / c->rows;
  int nth = sam_pool_n_threads (pool);
  while (c->rows > 1 && ntask < 4 * nth) {
    c->rows = (c->rows + 1) / 2;
    ntask = (c->Ho + c->rows - 1) / c->rows;
  }
  sam_pool_for (pool, ntask, 1, conv_tasks, c);
  sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
}

/* ---- direct, for the mask downsampler's first three stages ---------------
 * Conv 3×3 stride 2, 1 → 4, 4 → 16 and 16 → 64 channels: K = 9, 36 or 144
 * taps and 4, 16 or 64 outputs per pixel, shapes the im2col GEMM serves
 * badly (a 32-wide panel for 4 outputs; a patch row per pixel, built by
 * scalar copies past 32 inputs per kernel row). Each output is the GEMM's
 * value exactly: one FMA chain from 0 over the taps in (ci, ky, kx)
 * order, the taps outside the input included as zeros, then + bias
 * (/kernels/conv-isa-exact holds them to the AVX2 im2col path bit for
 * bit). */

#ifdef SAM_X86
typedef struct
{
  const float *x, *b;
  float *wt;                    /* [K][Cout]: tap k's weights of the outputs */
  float *y;
  int H, W, Cin, Cout, KH, KW, stride, pad, Ho, Wo;
} DirectCtx;

/* Cin = 1, Cout = 4: 4 pixels × 4 outputs per vector; a tap's 4 inputs
 * (stride s apart) come from one masked load, spread by a permute. */
TGT_AVX512 static void
direct_c1o4_rows (void *vctx, int64_t r0, int64_t r1)
{
  const DirectCtx *c = vctx;
  const int s = c->stride, KH = c->KH, KW = c->KW;
  const __m512i spread = _mm512_setr_epi32 (0, 0, 0, 0, s, s, s, s, 2 * s,
      2 * s, 2 * s, 2 * s, 3 * s, 3 * s, 3 * s, 3 * s);
  __m512 wv[64], bias;
  for (int k = 0; k < KH * KW; k++)
    wv[k] = _mm512_broadcast_f32x4 (_mm_loadu_ps (c->wt + k * 4));
  bias = _mm512_broadcast_f32x4 (_mm_loadu_ps (c->b));
  for (int64_t oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < c->Wo; ox += 4) {
      __m512 acc = _mm512_setzero_ps ();
      for (int ky = 0; ky < KH; ky++) {
        const int iy = (int) oy * s - c->pad + ky;
        const bool row_in = iy >= 0 && iy < c->H;
        for (int kx = 0; kx < KW; kx++) {
          /* inputs base + j, j = 0, s, 2s, 3s; those left of the row (j <
           * lo) or right of it (j ≥ hi) are zeros, and no address outside
           * the row is formed: the load starts at base + lo */
          const int base = ox * s - c->pad + kx;
          const int lo = MAX (0, -base), hi = MIN (16, c->W - base);
          __m512 v = _mm512_setzero_ps ();
          if (row_in && hi > lo) {
            const __m512 in = _mm512_maskz_loadu_ps ((__mmask16) ((1u <<
                        (hi - lo)) - 1), c->x + (int64_t) iy * c->W + base +
                lo);
            __mmask16 keep = 0;
            for (int p = 0; p < 4; p++)
              if (p * s >= lo)
                keep |= (__mmask16) (0xfu << (4 * p));
            v = _mm512_maskz_permutexvar_ps (keep, _mm512_sub_epi32 (spread,
                    _mm512_set1_epi32 (lo)), in);
          }
          acc = _mm512_fmadd_ps (v, wv[ky * KW + kx], acc);
        }
      }
      const int np = MIN (4, c->Wo - ox);
      _mm512_mask_storeu_ps (c->y + ((int64_t) oy * c->Wo + ox) * 4,
          (__mmask16) ((1u << (4 * np)) - 1), _mm512_add_ps (acc, bias));
    }
}

/* Cin = 1, Cout = 4, 3 × 3, stride 2, pad 1 (the downsampler's first
 * stage): 16 pixels per step, one vector per output channel. A tap's 16
 * inputs x[2 ox − 1 + kx] are the even or odd lanes of two loads, so
 * nothing is computed per tap and pixel; each output's chain is the one
 * above (from 0 over (ky, kx), a zero for a tap outside the input, then
 * + bias), and the four channel vectors are interleaved into the
 * channels-last rows at the store. */
TGT_AVX512 static void
direct_c1o4_s2_rows (void *vctx, int64_t r0, int64_t r1)
{
  const DirectCtx *c = vctx;
  const int W = c->W, Wo = c->Wo;
  const __m512i even = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
      20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32 (even, _mm512_set1_epi32 (1));
  const __m512 zero = _mm512_setzero_ps ();
  float edge[34];
  for (int64_t oy = r0; oy < r1; oy++)
    for (int ox0 = 0; ox0 < Wo; ox0 += 16) {
      /* inputs x[2 ox0 − 1 + j], j = 0 .. 33 */
      const int base = 2 * ox0 - 1;
      const bool inner = base >= 0 && base + 34 <= W;
      __m512 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      for (int ky = 0; ky < 3; ky++) {
        const int iy = (int) oy * 2 - 1 + ky;
        __m512 v0 = zero, v1 = zero, v2 = zero;
        if (iy >= 0 && iy < c->H) {
          const float *xr = c->x + (int64_t) iy * W;
          const float *in = xr + base;
          if (!inner) {
            for (int j = 0; j < 34; j++)
              edge[j] = base + j >= 0 && base + j < W ? xr[base + j] : 0.f;
            in = edge;
          }
          const __m512 l0 = _mm512_loadu_ps (in), l1 =
              _mm512_loadu_ps (in + 16);
          const __m512 m0 = _mm512_loadu_ps (in + 2), m1 =
              _mm512_loadu_ps (in + 18);
          v0 = _mm512_permutex2var_ps (l0, even, l1);
          v1 = _mm512_permutex2var_ps (l0, odd, l1);
          v2 = _mm512_permutex2var_ps (m0, even, m1);
        }
        const float *wk = c->wt + ky * 3 * 4;
#define C1O4_TAP(v, kx) \
        a0 = _mm512_fmadd_ps (v, _mm512_set1_ps (wk[(kx) * 4 + 0]), a0); \
        a1 = _mm512_fmadd_ps (v, _mm512_set1_ps (wk[(kx) * 4 + 1]), a1); \
        a2 = _mm512_fmadd_ps (v, _mm512_set1_ps (wk[(kx) * 4 + 2]), a2); \
        a3 = _mm512_fmadd_ps (v, _mm512_set1_ps (wk[(kx) * 4 + 3]), a3);
        C1O4_TAP (v0, 0)
        C1O4_TAP (v1, 1)
        C1O4_TAP (v2, 2)
#undef C1O4_TAP
      }
      a0 = _mm512_add_ps (a0, _mm512_set1_ps (c->b[0]));
      a1 = _mm512_add_ps (a1, _mm512_set1_ps (c->b[1]));
      a2 = _mm512_add_ps (a2, _mm512_set1_ps (c->b[2]));
      a3 = _mm512_add_ps (a3, _mm512_set1_ps (c->b[3]));
      /* 4 × 16 → 16 × 4: per 128-bit lane L, p_i holds pixel 4L + i */
      const __m512 lo01 = _mm512_unpacklo_ps (a0, a1), hi01 =
          _mm512_unpackhi_ps (a0, a1);
      const __m512 lo23 = _mm512_unpacklo_ps (a2, a3), hi23 =
          _mm512_unpackhi_ps (a2, a3);
      const __m512 p0 = _mm512_shuffle_ps (lo01, lo23, 0x44);
      const __m512 p1 = _mm512_shuffle_ps (lo01, lo23, 0xee);
      const __m512 p2 = _mm512_shuffle_ps (hi01, hi23, 0x44);
      const __m512 p3 = _mm512_shuffle_ps (hi01, hi23, 0xee);
      const __m512 t0 = _mm512_shuffle_f32x4 (p0, p1, 0x44);
      const __m512 t1 = _mm512_shuffle_f32x4 (p2, p3, 0x44);
      const __m512 t2 = _mm512_shuffle_f32x4 (p0, p1, 0xee);
      const __m512 t3 = _mm512_shuffle_f32x4 (p2, p3, 0xee);
      const __m512 q[4] = { _mm512_shuffle_f32x4 (t0, t1, 0x88),
        _mm512_shuffle_f32x4 (t0, t1, 0xdd),
        _mm512_shuffle_f32x4 (t2, t3, 0x88),
        _mm512_shuffle_f32x4 (t2, t3, 0xdd)
      };
      float *yo = c->y + ((int64_t) oy * Wo + ox0) * 4;
      const int np = MIN (16, Wo - ox0);
      for (int g = 0; g < 4 && 4 * g < np; g++) {
        const int n = MIN (4, np - 4 * g);
        _mm512_mask_storeu_ps (yo + 16 * g, (__mmask16) ((1u << (4 * n)) - 1),
            q[g]);
      }
    }
}

/* NV vectors (16 · NV outputs) of output channel group cg for P pixels at
 * a time, each tap's input broadcast; weights wt [K][Cout]. */
static inline __attribute__((always_inline)) TGT_AVX512 void
direct_bcast (const DirectCtx * c, int64_t oy, int cg, const int NV,
    const int P)
{
  const int s = c->stride, KH = c->KH, KW = c->KW, Cin = c->Cin;
  const int Cout = c->Cout, c0 = cg * 16 * NV;
  for (int ox = 0; ox < c->Wo; ox += P) {
    const int np = MIN (P, c->Wo - ox);
    __m512 acc[16];
    for (int a = 0; a < NV * P; a++)
      acc[a] = _mm512_setzero_ps ();
    /* every tap of the P pixels inside the row: inputs broadcast from
     * memory, nothing tested per tap (a row outside the input still
     * gives its zero taps, as below). A loop of its own: one loop with
     * the test folded in ran as slowly as before (GCC -O2 does not
     * unswitch it). */
    const int ix0 = ox * s - c->pad;
    const bool inner = np == P && ix0 >= 0
        && ix0 + (P - 1) * s + KW <= c->W;
    for (int ci = 0; ci < Cin; ci++)
      for (int ky = 0; ky < KH; ky++) {
        const int iy = (int) oy * s - c->pad + ky;
        const bool row_in = iy >= 0 && iy < c->H;
        const float *xr = row_in ? c->x + (int64_t) iy * c->W * Cin + ci
            : c->x;
        if (inner) {
          const float *xi = xr + (int64_t) ix0 * Cin;
          for (int kx = 0; kx < KW; kx++) {
            const float *wk = c->wt + (int64_t) ((ci * KH + ky) * KW + kx) *
                Cout + c0;
            __m512 w[4];
            for (int v = 0; v < NV; v++)
              w[v] = _mm512_loadu_ps (wk + 16 * v);
            for (int p = 0; p < P; p++) {
              const __m512 in = row_in ? _mm512_set1_ps (xi[(int64_t) (p * s +
                          kx) * Cin]) : _mm512_setzero_ps ();
              for (int v = 0; v < NV; v++)
                acc[p * NV + v] = _mm512_fmadd_ps (in, w[v], acc[p * NV + v]);
            }
          }
          continue;
        }
        for (int kx = 0; kx < KW; kx++) {
          const float *wk = c->wt + (int64_t) ((ci * KH + ky) * KW + kx) *
              Cout + c0;
          __m512 w[4];
          for (int v = 0; v < NV; v++)
            w[v] = _mm512_loadu_ps (wk + 16 * v);
          for (int p = 0; p < P; p++) {
            const int ix = (ox + p) * s - c->pad + kx;
            const __m512 in = _mm512_set1_ps (row_in && ix >= 0
                && ix < c->W ? xr[(int64_t) ix * Cin] : 0.f);
            for (int v = 0; v < NV; v++)
              acc[p * NV + v] = _mm512_fmadd_ps (in, w[v], acc[p * NV + v]);
          }
        }
      }
    for (int p = 0; p < np; p++)
      for (int v = 0; v < NV; v++)
        _mm512_storeu_ps (c->y + ((int64_t) oy * c->Wo + ox + p) * Cout + c0 +
            16 * v, _mm512_add_ps (acc[p * NV + v],
                _mm512_loadu_ps (c->b + c0 + 16 * v)));
  }
}

/* Cout = 16: one vector per pixel, 4 pixels at a time */
TGT_AVX512 static void
direct_o16_rows (void *vctx, int64_t r0, int64_t r1)
{
  for (int64_t oy = r0; oy < r1; oy++)
    direct_bcast (vctx, oy, 0, 1, 4);
}

/* Cout a multiple of 64: groups of 4 vectors, 4 pixels at a time (16
 * accumulators; 2 pixels took 1.5x as long on 16 → 64) */
TGT_AVX512 static void
direct_o64_rows (void *vctx, int64_t r0, int64_t r1)
{
  const DirectCtx *c = vctx;
  for (int64_t oy = r0; oy < r1; oy++)
    for (int cg = 0; cg < c->Cout / 64; cg++)
      direct_bcast (c, oy, cg, 4, 4);
}

/* The direct path for this convolution, or FALSE (then im2col) */
static bool
conv_direct (const SamKernelsF32 * kt, SamPool * pool, const float *x,
    int H, int W, int Cin, const float *w, const float *b, int Cout, int KH,
    int KW, int stride, int pad, int Ho, int Wo, float *y)
{
  const int K = Cin * KH * KW;
  const bool c1o4 = Cin == 1 && Cout == 4 && K <= 64 && stride <= 5;
  const bool o16 = Cout == 16 && K <= 64;
  /* (64 → 256 at K = 576 was 2x slower than im2col: the GEMM's blocking
   * wins once the taps outgrow a few cache lines per pixel) */
  const bool o64 = Cout % 64 == 0 && K <= 144;
  if (kt->isa != SAM_ISA_AVX512 || !b || !(c1o4 || o16 || o64))
    return FALSE;
  DirectCtx c = { x, b, g_new (float, (size_t) K * Cout), y, H, W, Cin,
    Cout, KH, KW, stride, pad, Ho, Wo
  };
  for (int k = 0; k < K; k++)
    for (int co = 0; co < Cout; co++)
      c.wt[(size_t) k * Cout + co] = w[(size_t) co * K + k];
  const bool c1o4_s2 = c1o4 && KH == 3 && KW == 3 && stride == 2 && pad == 1;
  sam_pool_for (pool, Ho, 1, c1o4_s2 ? direct_c1o4_s2_rows : c1o4 ?
      direct_c1o4_rows : o16 ? direct_o16_rows : direct_o64_rows, &c);
  g_free (c.wt);
  return TRUE;
}
#endif

/* ---- depthwise ----------------------------------------------------------- */

typedef struct
{
  const float *x, *wt, *b;      /* wt: [KH][KW][C] */
  float *y;
  int H, W, C, KH, KW, stride, pad, Ho, Wo;
} DwCtx;

/* Valid tap range of one output coordinate. */
static inline void
taps (int o, int stride, int pad, int K, int n, int *k0, int *k1)
{
  int i0 = o * stride - pad;
  *k0 = MAX (0, -i0);
  *k1 = MIN (K, n - i0);
}

static void
dw_rows_c (void *vctx, int64_t r0, int64_t r1)
{
  const DwCtx *c = vctx;
  const int C = c->C;
  float *acc = g_new (float, C);
  for (int64_t oy = r0; oy < r1; oy++) {
    int ky0, ky1;
    taps ((int) oy, c->stride, c->pad, c->KH, c->H, &ky0, &ky1);
    for (int ox = 0; ox < c->Wo; ox++) {
      int kx0, kx1;
      taps (ox, c->stride, c->pad, c->KW, c->W, &kx0, &kx1);
      for (int ch = 0; ch < C; ch++)
        acc[ch] = c->b ? c->b[ch] : 0.f;
      for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++) {
          int iy = (int) oy * c->stride - c->pad + ky;
          int ix = ox * c->stride - c->pad + kx;
          const float *xp = c->x + ((size_t) iy * c->W + ix) * C;
          const float *wp = c->wt + ((size_t) ky * c->KW + kx) * C;
          for (int ch = 0; ch < C; ch++)
            acc[ch] += xp[ch] * wp[ch];
        }
      float *yr = c->y + ((size_t) oy * c->Wo + ox) * C;
      memcpy (yr, acc, sizeof (float) * C);
    }
  }
  g_free (acc);
}

#ifdef SAM_ARM64
/* The x86 rows' arithmetic on NEON: each output one FMA chain from the
 * bias over (ky, kx) in order, 16 channels at a time, the last < 4 with
 * fmaf: the same bits as dw_rows_avx2 / avx512 (dw_rows_c multiplies and
 * adds apart, as the portable path) */
static void
dw_rows_neon (void *vctx, int64_t r0, int64_t r1)
{
  const DwCtx *c = vctx;
  const int C = c->C;
  for (int64_t oy = r0; oy < r1; oy++) {
    int ky0, ky1;
    taps ((int) oy, c->stride, c->pad, c->KH, c->H, &ky0, &ky1);
    for (int ox = 0; ox < c->Wo; ox++) {
      int kx0, kx1;
      taps (ox, c->stride, c->pad, c->KW, c->W, &kx0, &kx1);
      float *yr = c->y + ((size_t) oy * c->Wo + ox) * C;
      int c0 = 0;
      for (; c0 < C; c0 += 16) {
        /* n4: whole 4-channel vectors of this block */
        const int n4 = MIN (16, C - c0) / 4;
        float32x4_t a[4];
        for (int v = 0; v < 4; v++)
          a[v] = c->b && v < n4 ? vld1q_f32 (c->b + c0 + 4 * v) :
              vdupq_n_f32 (0.f);
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            int iy = (int) oy * c->stride - c->pad + ky;
            int ix = ox * c->stride - c->pad + kx;
            const float *xp = c->x + ((size_t) iy * c->W + ix) * C + c0;
            const float *wp = c->wt + ((size_t) ky * c->KW + kx) * C + c0;
            for (int v = 0; v < n4; v++)
              a[v] = vfmaq_f32 (a[v], vld1q_f32 (xp + 4 * v),
                  vld1q_f32 (wp + 4 * v));
          }
        for (int v = 0; v < n4; v++)
          vst1q_f32 (yr + c0 + 4 * v, a[v]);
        /* the last 1–3 channels */
        for (int ch = c0 + 4 * n4; ch < MIN (c0 + 16, C); ch++) {
          float acc = c->b ? c->b[ch] : 0.f;
          for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++) {
              int iy = (int) oy * c->stride - c->pad + ky;
              int ix = ox * c->stride - c->pad + kx;
              acc = fmaf (c->x[((size_t) iy * c->W + ix) * C + ch],
                  c->wt[((size_t) ky * c->KW + kx) * C + ch], acc);
            }
          yr[ch] = acc;
        }
      }
    }
  }
}
#endif

#ifdef SAM_X86

/* 8 interior pixels ox0 .. ox0 + 7 of output row oy of a stride-1, 7-wide
 * kernel, 16 channels at a time: the 14 input vectors of a kernel row are
 * loaded once and shared by the 8 pixels (pixel p, tap kx reads x[p + kx])
 * instead of 7 loads per pixel, and the weight vector once per tap. Each
 * output is still one FMA chain from the bias over (ky, kx) in order: the
 * same bits as the per-pixel loop below. */
#define DW_K7 7
TGT_AVX512 static void
dw_interior8_k7_avx512 (const DwCtx * c, int oy, int ky0, int ky1, int ox0,
    float *yrow)
{
  const int C = c->C;
  for (int c0 = 0; c0 < C; c0 += 16) {
    const __mmask16 mk = C - c0 >= 16 ? 0xffff :
        (__mmask16) ((1u << (C - c0)) - 1);
    const __m512 b = c->b ? _mm512_maskz_loadu_ps (mk, c->b + c0)
        : _mm512_setzero_ps ();
    __m512 acc[8];
    for (int p = 0; p < 8; p++)
      acc[p] = b;
    for (int ky = ky0; ky < ky1; ky++) {
      const int iy = oy - c->pad + ky;
      const float *xr = c->x + ((size_t) iy * c->W + (ox0 - c->pad)) * C + c0;
      const float *wr = c->wt + (size_t) ky * DW_K7 * C + c0;
      __m512 xv[8 + DW_K7 - 1];
      for (int j = 0; j < 8 + DW_K7 - 1; j++)
        xv[j] = _mm512_maskz_loadu_ps (mk, xr + (size_t) j * C);
      for (int kx = 0; kx < DW_K7; kx++) {
        const __m512 w = _mm512_maskz_loadu_ps (mk, wr + (size_t) kx * C);
        for (int p = 0; p < 8; p++)
          acc[p] = _mm512_fmadd_ps (xv[p + kx], w, acc[p]);
      }
    }
    for (int p = 0; p < 8; p++)
      _mm512_mask_storeu_ps (yrow + (size_t) (ox0 + p) * C + c0, mk, acc[p]);
  }
}

/* 4 vectors (64 channels) per pass, masked at the channel tail; the
 * interior of a stride-1 7×7 row 8 pixels at a time (above). */
TGT_AVX512 static void
dw_rows_avx512 (void *vctx, int64_t r0, int64_t r1)
{
  const DwCtx *c = vctx;
  const int C = c->C;
  /* pixels whose 7 taps are all inside the row: pad <= ox <= W - 7 + pad */
  const bool k7 = c->stride == 1 && c->KW == DW_K7;
  const int in0 = c->pad, in1 = c->W - DW_K7 + c->pad + 1;
  for (int64_t oy = r0; oy < r1; oy++) {
    int ky0, ky1;
    taps ((int) oy, c->stride, c->pad, c->KH, c->H, &ky0, &ky1);
    for (int ox = 0; ox < c->Wo; ox++) {
      if (k7 && ox >= in0 && ox + 8 <= in1) {
        dw_interior8_k7_avx512 (c, (int) oy, ky0, ky1, ox,
            c->y + (size_t) oy * c->Wo * C);
        ox += 7;
        continue;
      }
      int kx0, kx1;
      taps (ox, c->stride, c->pad, c->KW, c->W, &kx0, &kx1);
      float *yr = c->y + ((size_t) oy * c->Wo + ox) * C;
      for (int c0 = 0; c0 < C; c0 += 64) {
        __mmask16 mk[4];
        __m512 acc[4];
        for (int v = 0; v < 4; v++) {
          int n = MIN (16, MAX (0, C - c0 - 16 * v));
          mk[v] = (__mmask16) ((1u << n) - 1);
          acc[v] = c->b ? _mm512_maskz_loadu_ps (mk[v], c->b + c0 + 16 * v)
              : _mm512_setzero_ps ();
        }
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            int iy = (int) oy * c->stride - c->pad + ky;
            int ix = ox * c->stride - c->pad + kx;
            const float *xp = c->x + ((size_t) iy * c->W + ix) * C + c0;
            const float *wp = c->wt + ((size_t) ky * c->KW + kx) * C + c0;
            for (int v = 0; v < 4; v++)
              acc[v] = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (mk[v],
                      xp + 16 * v), _mm512_maskz_loadu_ps (mk[v],
                      wp + 16 * v), acc[v]);
          }
        for (int v = 0; v < 4; v++)
          _mm512_mask_storeu_ps (yr + c0 + 16 * v, mk[v], acc[v]);
      }
    }
  }
}

/* dw_interior8_k7_avx512 in ymm: 4 pixels of a row (not 8: their 4
 * accumulators and 10 input vectors fit the 16 ymm registers) whose 7
 * taps all lie inside it, 8 channels at a time (C a multiple of 8), each
 * weight vector loaded once for the 4 pixels with plain loads. The same
 * fused multiply-adds in the same order (ky, then kx) as dw_rows_avx2's
 * per-pixel loop, which loaded both operands masked per tap. */
TGT_AVX2 static void
dw_interior4_k7_avx2 (const DwCtx * c, int oy, int ky0, int ky1, int ox0,
    float *yrow)
{
  const int C = c->C;
  for (int c0 = 0; c0 < C; c0 += 8) {
    const __m256 b = c->b ? _mm256_loadu_ps (c->b + c0) : _mm256_setzero_ps ();
    __m256 a0 = b, a1 = b, a2 = b, a3 = b;
    for (int ky = ky0; ky < ky1; ky++) {
      const int iy = oy - c->pad + ky;
      const float *xr = c->x + ((size_t) iy * c->W + (ox0 - c->pad)) * C + c0;
      const float *wr = c->wt + (size_t) ky * DW_K7 * C + c0;
      __m256 xv[4 + DW_K7 - 1];
      for (int j = 0; j < 4 + DW_K7 - 1; j++)
        xv[j] = _mm256_loadu_ps (xr + (size_t) j * C);
      for (int kx = 0; kx < DW_K7; kx++) {
        const __m256 w = _mm256_loadu_ps (wr + (size_t) kx * C);
        a0 = _mm256_fmadd_ps (xv[kx], w, a0);
        a1 = _mm256_fmadd_ps (xv[kx + 1], w, a1);
        a2 = _mm256_fmadd_ps (xv[kx + 2], w, a2);
        a3 = _mm256_fmadd_ps (xv[kx + 3], w, a3);
      }
    }
    _mm256_storeu_ps (yrow + (size_t) ox0 * C + c0, a0);
    _mm256_storeu_ps (yrow + (size_t) (ox0 + 1) * C + c0, a1);
    _mm256_storeu_ps (yrow + (size_t) (ox0 + 2) * C + c0, a2);
    _mm256_storeu_ps (yrow + (size_t) (ox0 + 3) * C + c0, a3);
  }
}

TGT_AVX2 static void
dw_rows_avx2 (void *vctx, int64_t r0, int64_t r1)
{
  const DwCtx *c = vctx;
  const int C = c->C;
  /* pixels whose 7 taps are all inside the row: pad <= ox <= W - 7 + pad */
  const bool k7 = c->stride == 1 && c->KW == DW_K7 && C % 8 == 0;
  const int in0 = c->pad, in1 = c->W - DW_K7 + c->pad + 1;
  for (int64_t oy = r0; oy < r1; oy++) {
    int ky0, ky1;
    taps ((int) oy, c->stride, c->pad, c->KH, c->H, &ky0, &ky1);
    for (int ox = 0; ox < c->Wo; ox++) {
      if (k7 && ox >= in0 && ox + 4 <= in1) {
        dw_interior4_k7_avx2 (c, (int) oy, ky0, ky1, ox,
            c->y + (size_t) oy * c->Wo * C);
        ox += 3;
        continue;
      }
      int kx0, kx1;
      taps (ox, c->stride, c->pad, c->KW, c->W, &kx0, &kx1);
      float *yr = c->y + ((size_t) oy * c->Wo + ox) * C;
      int c0 = 0;
      /* whole 32-channel blocks with plain loads (a masked load per
       * operand and tap cost more than the products on Zen) */
      for (; c0 + 32 <= C; c0 += 32) {
        __m256 a0, a1, a2, a3;
        if (c->b) {
          a0 = _mm256_loadu_ps (c->b + c0);
          a1 = _mm256_loadu_ps (c->b + c0 + 8);
          a2 = _mm256_loadu_ps (c->b + c0 + 16);
          a3 = _mm256_loadu_ps (c->b + c0 + 24);
        } else {
          a0 = a1 = a2 = a3 = _mm256_setzero_ps ();
        }
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            int iy = (int) oy * c->stride - c->pad + ky;
            int ix = ox * c->stride - c->pad + kx;
            const float *xp = c->x + ((size_t) iy * c->W + ix) * C + c0;
            const float *wp = c->wt + ((size_t) ky * c->KW + kx) * C + c0;
            a0 = _mm256_fmadd_ps (_mm256_loadu_ps (xp), _mm256_loadu_ps (wp),
                a0);
            a1 = _mm256_fmadd_ps (_mm256_loadu_ps (xp + 8),
                _mm256_loadu_ps (wp + 8), a1);
            a2 = _mm256_fmadd_ps (_mm256_loadu_ps (xp + 16),
                _mm256_loadu_ps (wp + 16), a2);
            a3 = _mm256_fmadd_ps (_mm256_loadu_ps (xp + 24),
                _mm256_loadu_ps (wp + 24), a3);
          }
        _mm256_storeu_ps (yr + c0, a0);
        _mm256_storeu_ps (yr + c0 + 8, a1);
        _mm256_storeu_ps (yr + c0 + 16, a2);
        _mm256_storeu_ps (yr + c0 + 24, a3);
      }
      for (; c0 < C; c0 += 32) {
        __m256i mk[4];
        __m256 acc[4];
        for (int v = 0; v < 4; v++) {
          int n = MIN (8, MAX (0, C - c0 - 8 * v));
          mk[v] = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (n),
              _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
          acc[v] = c->b ? _mm256_maskload_ps (c->b + c0 + 8 * v, mk[v])
              : _mm256_setzero_ps ();
        }
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            int iy = (int) oy * c->stride - c->pad + ky;
            int ix = ox * c->stride - c->pad + kx;
            const float *xp = c->x + ((size_t) iy * c->W + ix) * C + c0;
            const float *wp = c->wt + ((size_t) ky * c->KW + kx) * C + c0;
            for (int v = 0; v < 4; v++)
              acc[v] = _mm256_fmadd_ps (_mm256_maskload_ps (xp + 8 * v,
                      mk[v]), _mm256_maskload_ps (wp + 8 * v, mk[v]), acc[v]);
          }
        for (int v = 0; v < 4; v++)
          _mm256_maskstore_ps (yr + c0 + 8 * v, mk[v], acc[v]);
      }
    }
  }
}

#endif

static void
conv_depthwise (const SamKernelsF32 * kt, SamPool * pool, DwCtx * c,
    const float *w)
{
  const int C = c->C, T = c->KH * c->KW;
  float *wt = g_new (float, (size_t) T * C);
  for (int ch = 0; ch < C; ch++)
    for (int t = 0; t < T; t++)
      wt[(size_t) t * C + ch] = w[(size_t) ch * T + t];
  c->wt = wt;
  SamPoolFunc fn = dw_rows_c;
#ifdef SAM_X86
  if (kt->isa == SAM_ISA_AVX512)
    fn = dw_rows_avx512;
  else if (kt->isa == SAM_ISA_AVX2)
    fn = dw_rows_avx2;
#endif
#ifdef SAM_ARM64
  if (kt->isa == SAM_ISA_NEON)
    fn = dw_rows_neon;
#endif
  sam_pool_for (pool, c->Ho, 1, fn, c);
  g_free (wt);
}

void
sam_k_conv2d_f32 (const SamKernelsF32 * kt, SamPool * pool, const float *x,
    int H, int W, int Cin, const float *w, const float *b, int Cout, int KH,
    int KW, int stride, int pad, int groups, float *y)
{
  const int Ho = (H + 2 * pad - KH) / stride + 1;
  const int Wo = (W + 2 * pad - KW) / stride + 1;
  if (Ho <= 0 || Wo <= 0)
    return;
  /* the im2col path fills y in row chunks, each too small for the GEMM's
   * own hint to cover a whole 2 MiB page */
  sam_k_hint_hugepages (y, (int64_t) sizeof (float) * Ho * Wo * Cout);
  if (groups == 1) {
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0) {
      float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
          sam_k_pack_b_size (kt, Cin, Cout));
      sam_k_pack_b_nk (kt, pool, w, Cin, Cin, Cout, Bp);
      sam_k_gemm_f32 (kt, pool, x, Cin, Bp, y, Cout, (int64_t) H * W, Cout,
          Cin, false, b);
      sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
      return;
    }
#ifdef SAM_X86
    if (conv_direct (kt, pool, x, H, W, Cin, w, b, Cout, KH, KW, stride, pad,
            Ho, Wo, y))
      return;
#endif
    ConvCtx c = { kt, x, NULL, b, y, H, W, Cin, Cout, KH, KW, stride, pad,
      Ho, Wo, 1
    };
    conv_im2col (kt, pool, &c, w);
  } else {
    g_return_if_fail (groups == Cin && groups == Cout);
    DwCtx c = { x, NULL, b, y, H, W, Cin, KH, KW, stride, pad, Ho, Wo };
    conv_depthwise (kt, pool, &c, w);
  }
}

void
sam_conv2d (SamPool * pool, const float *x, int H, int W, int Cin,
    const float *w, const float *b, int Cout, int KH, int KW, int stride,
    int pad, int groups, float *y)
{
  sam_k_conv2d_f32 (sam_kernels_f32 (), pool, x, H, W, Cin, w, b, Cout, KH,
      KW, stride, pad, groups, y);
}
