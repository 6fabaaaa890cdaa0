/* ops.h — the float32 operations the SAM 2.1 modules are built from.
 *
 * Layout convention (written once, used everywhere): feature maps are
 * channels-last, row-major: element (y, x, c) of an H×W×C map is at
 * [(y * W + x) * C + c]; a token sequence is an [N, C] matrix. This is the
 * transpose of PyTorch's NCHW, and what makes 1×1 convs and linears GEMMs.
 * Weights keep PyTorch's layout: Linear [out, in], Conv2d [Cout, Cin/g, KH, KW],
 * ConvTranspose2d [Cin, Cout, KH, KW].
 *
 * Every op takes an optional pool (NULL: run inline) and partitions work over
 * independent outputs, so results do not depend on the thread count.
 * In-place use is allowed where noted.
 */
#ifndef SAM_KERNELS_OPS_H
#define SAM_KERNELS_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include "core/threadpool.h"

/* y[M, N] = x[M, K] · W[N, K]ᵀ + b[N] (b may be NULL). Row strides ldx, ldy
 * in elements (ldx >= K, ldy >= N). y must not alias x. */
void sam_linear (SamPool * pool, const float *x, int64_t M, int K, int64_t ldx,
    const float *W, const float *b, int N, float *y, int64_t ldy);

/* W[N, K] packed once for sam_linear_packed, for a layer called again and
 * again with few rows (the mask decoder's tokens), where packing it on
 * every call (sam_linear) costs more than the product itself. The packing
 * is that of the kernel table current at creation; W is not copied and
 * must outlive the handle. */
typedef struct _SamPackedF32 SamPackedF32;
SamPackedF32 *sam_packed_f32_new (const float *W, int K, int N);
void sam_packed_f32_free (SamPackedF32 * p);
/* sam_linear with W packed by sam_packed_f32_new: the same bits (a table
 * changed since falls back to sam_linear on W). */
void sam_linear_packed (SamPool * pool, const float *x, int64_t M, int K,
    int64_t ldx, const SamPackedF32 * W, const float *b, int N, float *y,
    int64_t ldy);

/* C[M, N] = A[M, K] · B[K, N] (+ C if accumulate). Row-major, strides given. */
void sam_matmul (SamPool * pool, const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, int64_t M, int64_t N, int64_t K,
    bool accumulate);

/* LayerNorm over the last dim C of M rows; in-place allowed (y == x). */
void sam_layernorm (SamPool * pool, const float *x, int64_t M, int C,
    const float *gamma, const float *beta, float eps, float *y);
/* The same on the calling thread only (the same bits: rows are
 * independent), for callers that already split their work. */
void sam_layernorm_serial (const float *x, int64_t M, int C,
    const float *gamma, const float *beta, float eps, float *y);
/* sam_layernorm with the ISA capped at @isa (a SamIsa), for the tests:
 * AVX2 gives AVX-512's bits (its summation order, in 4-lane vectors);
 * the plain C loop sums in channel order (the same bits as both for
 * C < 16, differences at double rounding otherwise). */
void sam_layernorm_isa (int isa, SamPool * pool, const float *x, int64_t M,
    int C, const float *gamma, const float *beta, float eps, float *y);

void sam_gelu (SamPool * pool, float *x, int64_t n);    /* exact, erf-based */
/* sam_gelu with the ISA capped at @isa (a SamIsa), for the tests: the SIMD
 * forms (AVX2, AVX-512, NEON) give the same bits; the plain C one calls
 * erff. */
void sam_gelu_isa (int isa, SamPool * pool, float *x, int64_t n);
/* GELU for an integer layer's output, which an 8-bit quantizer takes next:
 * a branch-free polynomial within 2e-6 + 4e-7 |x| of the exact form (see
 * ops.c), the same bits in every ISA and however x is cut. The rows form
 * (rows × n floats, row stride ldy, no pool) is for a GEMM epilogue; _isa
 * picks the ISA, a SamIsa of kernels/cpu.h (capped at the detected one),
 * for the tests. */
void sam_gelu_q (SamPool * pool, float *x, int64_t n);
void sam_gelu_q_rows (float *y, int64_t ldy, int64_t rows, int64_t n);
void sam_gelu_q_rows_isa (int isa, float *y, int64_t ldy, int64_t rows,
    int64_t n);
void sam_relu_rows (float *y, int64_t ldy, int64_t rows, int64_t n);
void sam_relu (float *x, int64_t n);
void sam_relu_isa (int isa, float *x, int64_t n);
/* RoPE of one row (apply_rotary_enc): the pairs (x[2i], x[2i + 1]) turned
 * by (co[i], si[i]), i < half; _isa as for sam_gelu_q_rows_isa, the same
 * bits in every ISA */
void sam_rope_row (float *x, int half, const float *co, const float *si);
void sam_rope_row_isa (int isa, float *x, int half, const float *co,
    const float *si);
void sam_sigmoid (float *x, int64_t n);
void sam_add (float *y, const float *x, int64_t n);     /* y += x */
/* The same two over the pool, for the large maps (same bits) */
void sam_add_pool (SamPool * pool, float *y, const float *x, int64_t n);
/* y = a + b over the pool (y must not alias a or b) */
void sam_sum_pool (SamPool * pool, float *y, const float *a, const float *b,
    int64_t n);
/* y = a + s · b over the pool (y must not alias a or b) */
void sam_sum_scaled_pool (SamPool * pool, float *y, const float *a, float s,
    const float *b, int64_t n);
void sam_relu_pool (SamPool * pool, float *x, int64_t n);
void sam_scale (float *y, float s, int64_t n);          /* y *= s */

/* Multi-head scaled-dot-product attention, softmax(q kᵀ / sqrt(D)) v.
 * q: [Nq, H*D] (row stride ldq), k: [Nk, H*D] (ldk), v: [Nk, H*Dv] (ldv),
 * out: [Nq, H*Dv] (ldo). Head h uses columns [h*D, (h+1)*D). Never forms
 * the full score matrix: keys are processed in tiles (online softmax). */
void sam_attention (SamPool * pool, const float *q, int64_t ldq,
    const float *k, int64_t ldk, const float *v, int64_t ldv, float *out,
    int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv);

/* Single-head attention with keys packed by the caller, for a caller that
 * makes its keys in pieces and need not hold them twice (memory
 * attention's 28,736 cross-attention keys). Kp holds
 * sam_attention_packed_k_floats (Nk, D) floats; keys [j, j + n) of k
 * (row stride ldk), j a multiple of sam_attention_packed_k_align (), go
 * to Kp + j * D via sam_attention_pack_k. Same bits as sam_attention. */
int64_t sam_attention_packed_k_floats (int64_t Nk, int D);
int sam_attention_packed_k_align (void);
void sam_attention_pack_k (SamPool * pool, const float *k, int64_t ldk, int D,
    int64_t n, float *Kp_at);
void sam_attention_packed_k (SamPool * pool, const float *q, int64_t ldq,
    const float *Kp, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int D, int Dv);

/* 2-D convolution, channels-last in and out; weight [Cout, Cin/groups, KH, KW].
 * Output size Ho = (H + 2 pad - KH) / stride + 1 (same for W). */
void sam_conv2d (SamPool * pool, const float *x, int H, int W, int Cin,
    const float *w, const float *b, int Cout, int KH, int KW, int stride,
    int pad, int groups, float *y);

/* ConvTranspose2d with kernel 2, stride 2; weight [Cin, Cout, 2, 2];
 * y is [2H, 2W, Cout]. */
void sam_conv_transpose2x2 (SamPool * pool, const float *x, int H, int W,
    int Cin, const float *w, const float *b, int Cout, float *y);

/* MaxPool2d(kernel 2, stride 2, floor): y is [H/2, W/2, C]. */
void sam_maxpool2x2 (SamPool * pool, const float *x, int H, int W, int C,
    float *y);
/* The same, serial, on a map whose pixels are ldp floats apart (C of them
 * pooled; y dense) */
void sam_maxpool2x2_px (const float *x, int64_t ldp, int H, int W, int C,
    float *y);

/* F.interpolate semantics (antialias=False), channels-last. */
void sam_resize_bilinear (SamPool * pool, const float *x, int H, int W, int C,
    float *y, int Ho, int Wo, bool align_corners);
/* Bicubic (A = -0.75, clamped borders) in two passes, exactly as PyTorch
 * orders it: the x pass of every source row, t [H, Wo, C], then any output
 * row oy from t, y [Wo, C] (rows can go to the pool). */
void sam_resize_bicubic_h (const float *x, int H, int W, int C, int Wo,
    bool align_corners, float *t);
void sam_resize_bicubic_v (const float *t, int H, int Wo, int C, int Ho,
    bool align_corners, int oy, float *y);
void sam_upsample_nearest (const float *x, int H, int W, int C, float *y,
    int Ho, int Wo);

/* One row of linear interpolation: out[x] = w0[x] · a[i0[x]] + w1[x] ·
 * a[i1[x]] (a product each, then the sum), x < n; the horizontal pass of
 * a separable upsampling. _isa as for sam_gelu_q_rows_isa; every ISA
 * gives the same values. */
void sam_lerp_row_isa (int isa, const float *a, const int *i0, const int *i1,
    const float *w0, const float *w1, int n, float *out);

/* The bounding box of the pixels > 0 of a W × H map (a mask's logits):
 * box = {x0, y0, x1, y1}, inclusive, or all -1 when there are none (NaN
 * counts as not > 0). _isa as for sam_gelu_q_rows_isa; every ISA gives
 * the same box. */
void sam_positive_box (const float *x, int W, int H, int box[4]);
void sam_positive_box_isa (int isa, const float *x, int W, int H,
    int box[4]);

/* out[N, C] = in[C, N] (NCHW plane → channels-last), and back. */
void sam_transpose (const float *in, int64_t rows, int64_t cols, float *out);

#endif
