/* gemm-i8.h — int8 GEMM with int32 accumulation for the quantized engine.
 *
 *   acc[m, n] = Σ_k (x[m, k] − zx) · W[n, k]  +  bias_i32[n]      (exact int32)
 *
 * x is u8 (or s8, see SAM_GEMM_I8_X_S8), W is s8 symmetric per output
 * channel (Linear layout [N, K], as ops.h). VNNI's vpdpbusd multiplies u8 by
 * s8, so the kernels run on u8 activations and fold the zero point into a
 * per-channel constant: Σ_k (x − zx)·w = Σ_k x·w − zx·rowsum(W[n]); s8
 * activations are shifted by +128 (x ^ 0x80) with zx + 128.
 *
 * Epilogues (one per call, per output channel n):
 *   F32 : y = fmaf ((float) acc, fscale[n], bias[n])        (bias may be NULL → 0)
 *   S8/U8: y = clamp (((int64) acc · mult[n] + 2^(shift[n]−1)) >> shift[n]) + zy)
 *         fixed-point requantization, round half up, saturating (requant.h
 *         sam_requant_s32_ref is the same formula, element by element)
 *   S32 : y = acc
 *
 * Variants: AVX-512 VNNI (zmm vpdpbusd, 16 accumulators), AVX-VNNI (ymm
 * vpdpbusd), AVX2 (vpmaddwd on widened s16: vpmaddubsw would saturate),
 * NEON with the dot product (aarch64 sdot: s8 × s8, so u8 codes go in as
 * x − 128 and 128 · rowsum comes back), plain C tiles, and the C
 * reference sam_k_gemm_i8_ref. All are bit-exact with the reference.
 * SAMSEG_FORCE_ISA=ref|avx2|avxvnni|avx512vnni|neon|neondot caps the
 * choice.
 */
#ifndef SAM_KERNELS_GEMM_I8_H
#define SAM_KERNELS_GEMM_I8_H

#include <stdbool.h>
#include <stdint.h>
#include "core/threadpool.h"

/* Weights packed once (offline or at load): 16 output channels × 4 k per
 * 64-byte block, [N/16][K/4][16][4], zero padded in N and K. */
typedef struct {
  int N, K;
  int N16, K4;                  /* padded block counts */
  int8_t *packed;               /* 64-byte aligned, N16·K4·64 bytes */
  int32_t *rowsum;              /* Σ_k W[n, k], N entries */
} SamGemmI8Weights;

/* Packs W[N, K] (row stride ldw). Returns NULL on allocation failure. */
SamGemmI8Weights *sam_gemm_i8_weights_pack (const int8_t * W, int N, int K,
    int64_t ldw);
void sam_gemm_i8_weights_free (SamGemmI8Weights * w);

typedef enum {
  SAM_GEMM_I8_OUT_F32,
  SAM_GEMM_I8_OUT_S8,
  SAM_GEMM_I8_OUT_U8,
  SAM_GEMM_I8_OUT_S32,
} SamGemmI8Out;

typedef enum {
  SAM_GEMM_I8_X_U8 = 0,
  SAM_GEMM_I8_X_S8 = 1,         /* x holds int8_t; zx is in the s8 domain */
} SamGemmI8XType;

typedef struct {
  SamGemmI8Out out;
  const int32_t *bias_i32;      /* [N] added to acc, may be NULL */
  /* F32 */
  const float *fscale;          /* [N] = x_scale · w_scale[n] */
  const float *bias;            /* [N] float bias, may be NULL */
  /* S8 / U8 */
  const int32_t *mult;          /* [N] > 0 */
  const int32_t *shift;         /* [N] in [1, 62] */
  int32_t zy;                   /* output zero point */
  /* F32, sam_k_linear_i8 only, may be NULL: called on each finished row
   * tile (rows × N floats at y, row stride ldy) while it is still in
   * cache, e.g. an MLP's activation; element-wise functions give the same
   * bits as a separate pass over the whole output. */
  void (*rows_done) (float *y, int64_t ldy, int64_t rows, int64_t n);
  /* F32, sam_k_linear_i8 only, may be NULL: the same, after rows_done,
   * with the tile's first row (of y) and rows_ud, for steps that depend on
   * the row's index (a rotation by the token's position). */
  void (*rows_at) (void *ud, float *y, int64_t ldy, int64_t row0,
      int64_t rows);
  void *rows_ud;
} SamGemmI8Epilogue;

typedef enum {
  SAM_ISA_REF = 0,
  SAM_ISA_AVX2,
  SAM_ISA_AVXVNNI,
  SAM_ISA_AVX512VNNI,
  SAM_ISA_NEON,                 /* aarch64 without it: sdot's sums from
                                 * widening multiplies (Cortex-A53/A72) */
  SAM_ISA_NEONDOT,              /* aarch64 with the dot product (sdot) */
  SAM_ISA_COUNT
} SamIsa;

/* The best ISA this CPU supports, capped by SAMSEG_FORCE_ISA (read once). */
SamIsa sam_gemm_i8_isa (void);
bool sam_gemm_i8_isa_supported (SamIsa isa);
const char *sam_isa_name (SamIsa isa);
/* SAM_ISA_AVXVNNI runs its VEX kernels (the CPU has AVX-VNNI) rather than
 * their EVEX twins (an AVX-512 VNNI CPU without it; see
 * gemm-i8-vnni256.inc). */
bool sam_gemm_i8_vnni256_vex (void);

/* y[M, N] (row stride ldy in elements of the output type) from x[M, K]
 * (row stride ldx bytes). Dispatches to sam_gemm_i8_isa(). pool may be NULL;
 * results do not depend on the thread count. */
void sam_k_gemm_i8 (SamPool * pool, const uint8_t * x, int64_t M, int64_t ldx,
    SamGemmI8XType xtype, int32_t zx, const SamGemmI8Weights * w,
    const SamGemmI8Epilogue * ep, void *y, int64_t ldy);

/* Same, on an explicit variant (tests, benches). isa must be supported. */
void sam_k_gemm_i8_isa (SamIsa isa, SamPool * pool, const uint8_t * x,
    int64_t M, int64_t ldx, SamGemmI8XType xtype, int32_t zx,
    const SamGemmI8Weights * w, const SamGemmI8Epilogue * ep, void *y,
    int64_t ldy);

/* The two aarch64 variants share everything but their tile. */
static inline bool
sam_isa_is_neon (SamIsa isa)
{
  return isa == SAM_ISA_NEON || isa == SAM_ISA_NEONDOT;
}

#if defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
/* The NEONDOT tile (only where sam_gemm_i8_isa_supported (NEONDOT)):
 * acc[4][16] = Σ_k4 sdot (w + 64 k4: 16 s8 columns × 4, x + 16 k4: 4 s8
 * rows × 4), wrapping int32. The integer attention's QKᵀ uses it too. */
void sam_k_dot4x16_neondot (const int8_t * w, const int8_t * x, int K4,
    int32_t * acc);
/* The same sums on any aarch64 (the NEON variant's tile): each sdot lane
 * as two widening multiplies (s8 × s8 → s16, exact) and pairwise
 * accumulates into int32. */
void sam_k_dot4x16_neon (const int8_t * w, const int8_t * x, int K4,
    int32_t * acc);
typedef void (*SamDot4x16Fn) (const int8_t * w, const int8_t * x, int K4,
    int32_t * acc);
#endif

/* The oracle: plain loops over the unpacked W[N, K] (stride ldw). */
void sam_k_gemm_i8_ref (const uint8_t * x, int64_t M, int64_t ldx,
    SamGemmI8XType xtype, int32_t zx, const int8_t * W, int N, int K,
    int64_t ldw, const SamGemmI8Epilogue * ep, void *y, int64_t ldy);

/* Activation quantization of a float row into the GEMM's u8 codes:
 *
 *   v = x · inv + z            (a product then a sum: no fused multiply-add)
 *   code = (int) (min (max (v, 0), qmax) + 0.5)     (NaN gives 0)
 *
 * i.e. round half up of x / scale + z, saturating at 0 and qmax (2^bits − 1).
 * inv and z are one value (per_channel false) or K values (per input
 * channel, the folded CAG quantizer). */
typedef struct {
  bool per_channel;
  const float *inv;             /* [1] or [K]: 1 / scale */
  const float *z;               /* [1] or [K]: zero point (integer valued) */
  float qmax;
} SamGemmI8ActQuant;

/* d[0..K) = codes of x[0..K): the reference, and the variant of an ISA. */
void sam_k_quant_act_u8_ref (const SamGemmI8ActQuant * q, const float *x,
    uint8_t * d, int K);
void sam_k_quant_act_u8_isa (SamIsa isa, const SamGemmI8ActQuant * q,
    const float *x, uint8_t * d, int K);

/* The quantized Linear: y[M, N] = epilogue (GEMM (codes (x), W) with zero
 * point zx), x float [M, K] (row stride ldx floats). The codes of each tile
 * of rows are made right before its GEMM (they stay in L1 and nothing of
 * size M·K is allocated); results are those of sam_k_quant_act_u8_ref on
 * every row followed by sam_k_gemm_i8 on the codes, bit for bit. Any
 * epilogue; ldy in output elements. */
void sam_k_linear_i8 (SamPool * pool, const float *x, int64_t M, int64_t ldx,
    const SamGemmI8ActQuant * q, int32_t zx, const SamGemmI8Weights * w,
    const SamGemmI8Epilogue * ep, void *y, int64_t ldy);
void sam_k_linear_i8_isa (SamIsa isa, SamPool * pool, const float *x,
    int64_t M, int64_t ldx, const SamGemmI8ActQuant * q, int32_t zx,
    const SamGemmI8Weights * w, const SamGemmI8Epilogue * ep, void *y,
    int64_t ldy);

/* One quantized Linear as sam_k_linear_i8 takes it. */
typedef struct {
  const SamGemmI8ActQuant *q;
  int32_t zx;
  const SamGemmI8Weights *w;
  const SamGemmI8Epilogue *ep;
} SamGemmI8Layer;

/* Two quantized Linears in a row, y[M, N2] = l2 (l1 (x)), both epilogues
 * F32 (l1's rows_done, e.g. the activation, runs between them). Each tile
 * of rows goes through l1, its rows_done, l2's codes and l2 while it is in
 * cache: the [M, N1] hidden activations (100 MB at Hiera's first stage,
 * input 1024) are never written out and read back. Bit for bit
 * sam_k_linear_i8 (l1) then sam_k_linear_i8 (l2). */
void sam_k_mlp_i8 (SamPool * pool, const float *x, int64_t M, int64_t ldx,
    const SamGemmI8Layer * l1, const SamGemmI8Layer * l2, float *y,
    int64_t ldy);
void sam_k_mlp_i8_isa (SamIsa isa, SamPool * pool, const float *x,
    int64_t M, int64_t ldx, const SamGemmI8Layer * l1,
    const SamGemmI8Layer * l2, float *y, int64_t ldy);

/* Epilogue of one output element; shared by every variant's scalar tail. */
static inline int32_t
sam_gemm_i8_requant_one (int32_t acc, int32_t mult, int32_t shift,
    int32_t zy, int32_t lo, int32_t hi)
{
  int64_t t = ((int64_t) acc * mult + ((int64_t) 1 << (shift - 1))) >> shift;
  t += zy;
  return (int32_t) (t < lo ? lo : t > hi ? hi : t);
}

#endif
