/* attention-i8.h — integer attention for quantized models: u8 codes of q, k,
 * v (per-tensor scale / zero point), S = Q·Kᵀ with int32 accumulation, the
 * softmax in float per row, the post-softmax quantizer's P as 15-bit fixed
 * point, P·V in integers, one dequantization at the end.
 *
 * Arithmetic contract, per head h and query row i (all variants and the
 * reference sam_k_attention_i8_ref compute exactly this, bit for bit):
 *
 *   S[j]  = Σ_d (q[i,d] − zq)(k[j,d] − zk)               exact int32
 *   y[j]  = (float) S[j],  m = max_j y[j]
 *   e[j]  = sam_exp2_sub_f32 (y, m, c),  c = sq·sk·log2(e)/√D   (ORC, e ≤ 1)
 *   P[j] ∈ [0, 32767] and a row scale ρ, by the post-softmax quantizer:
 *     NONE: P = sam_exp2_p15_f32_s16 (y, m, c) = trunc (32767 e + 0.5),
 *           ρ = 1 / Σ_j P[j]                              (P ∝ softmax)
 *     AGQ : Σ = Σ_j e[j] (16 interleaved float partial sums, then in
 *           order); codes a[j] =
 *           sam_log2q_f32_u8 (y, m, c, log2 Σ + log2 s, τ, 2^b − 1) (the
 *           softmax-consistent code of sam_agq_encode_row), a0 = min_j a[j];
 *           P = 0 for the zero code 2^b − 1, else round (32767 ·
 *           2^(−(a − a0)/τ)); ρ = s · 2^(−a0/τ) / 32767
 *     LNQ, DRQ: Σ = Σ_j e[j] (16 interleaved float partial sums, then in
 *           order); p̂[j] = sam_lnq_fake / sam_drq_softmax_fake (e[j] ·
 *           (1/Σ)), p̂max = max_j p̂[j]; P = trunc (p̂ · (32767 / p̂max) + 0.5),
 *           ρ = p̂max / 32767
 *     p8 (a file's <A>#p8), NONE: P[j] = min (trunc (fma (e8, 255, 0.5)),
 *           255) with e8 = 2^t, t = max ((y − m) · c, −10), by a degree-3
 *           fit of 2^f on f ∈ (−1, 0] with FMA (relative error < 9e-5);
 *           ρ = 1 / Σ_j P[j] (the softmax renormalized over the 8-bit
 *           values). AGQ, LNQ, DRQ: P ← (255 · P + 16384) >> 15,
 *           ρ ← ρ · 32767 / 255 (a quantizer's scale kept)
 *   out[i, h·Dv + d] = (float) ((double) Σ_j P[j] (v[j,d] − zv) · ρ · sv)
 *                                                          exact int64 sum
 *
 * So the quantized P is the layer's quantizer applied to the softmax (AGQ:
 * the same codes; LNQ/DRQ: the same values) and is then carried relative to
 * the row's largest value with 15 fractional bits (|error| ≤ 2^−16 of the
 * row maximum); layers without a post-softmax quantizer carry exp(s − max)
 * the same way. Codes must be < 2^bits of their quantizer (u8 at most).
 * With p8, P keeps 8 bits relative to the row maximum (|error| ≤ 2^−9 of
 * it; values under 1/510 of it become 0), and P·V needs one byte plane
 * instead of two (see the execution below).
 *
 * Execution: per head, K is packed once as s8 (k − 128) in the GEMM's
 * [Nk/16][D/4][16][4] layout and V as s16 (v − zv) pairs [Nk/2][Dv][2];
 * then blocks of query rows run in parallel: the block's S rows (float,
 * never the whole score matrix), the per-row float softmax + quantizer, and
 * P·V by key tiles of 256 (int32 partial sums cannot overflow: 256 · 32767 ·
 * 255 < 2^31) flushed into int64. Inner products: vpdpbusd (u8·s8) and
 * vpdpwssd (s16·s16) on AVX-512 VNNI (zmm) and AVX-VNNI (ymm); AVX2 emulates
 * both exactly with vpmaddwd; the C variant runs the same loops in scalar.
 */
#ifndef SAM_KERNELS_ATTENTION_I8_H
#define SAM_KERNELS_ATTENTION_I8_H

#include <stdbool.h>
#include <stdint.h>
#include "core/threadpool.h"
#include "quant/quant.h"

typedef enum {
  SAM_ATT_P_NONE,
  SAM_ATT_P_AGQ,
  SAM_ATT_P_LNQ,
  SAM_ATT_P_DRQ,
} SamAttPKind;

typedef struct {
  float sq, sk, sv;             /* per-tensor steps */
  int32_t zq, zk, zv;           /* zero points (codes) */
  SamAttPKind pkind;
  SamAgqParams agq;
  SamLnqParams lnq;
  SamDrqSoftmaxParams drq;
  bool p8;                      /* P·V with 8-bit P (the contract's p8) */
} SamAttI8Params;

/* out (float, row stride ldo) from codes q [Nq, ldq], k [Nk, ldk],
 * v [Nk, ldv] (strides in bytes; head h at columns h·D of q/k and h·Dv of
 * v/out). Dispatches to sam_gemm_i8_isa(); pool may be NULL; results do not
 * depend on the thread count or the variant. Nq, Nk ≥ 0, D ≥ 1, Dv ≥ 1. */
void sam_k_attention_i8 (SamPool * pool, const uint8_t * q, int64_t ldq,
    const uint8_t * k, int64_t ldk, const uint8_t * v, int64_t ldv,
    float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv,
    const SamAttI8Params * p);

/* Same on an explicit variant: isa is a gemm-i8.h SamIsa (an int here so
 * that this header can sit next to cpu.h, whose f32 SamIsa differs); it
 * must be supported. */
void sam_k_attention_i8_isa (int isa, SamPool * pool, const uint8_t * q,
    int64_t ldq, const uint8_t * k, int64_t ldk, const uint8_t * v,
    int64_t ldv, float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H,
    int D, int Dv, const SamAttI8Params * p);

/* Name of the variant sam_k_attention_i8 runs ("avx512vnni", ...). */
const char *sam_k_attention_i8_isa_name (void);

/* The oracle: the contract above as plain loops, one row at a time. */
void sam_k_attention_i8_ref (const uint8_t * q, int64_t ldq,
    const uint8_t * k, int64_t ldk, const uint8_t * v, int64_t ldv,
    float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv,
    const SamAttI8Params * p);

/* A per-thread buffer for the caller's q (which = 0), k (1) or v (2) codes,
 * reused across calls (a fresh one per call page-faults megabytes every
 * frame); valid until the next request for the same @which on this thread;
 * freed at thread exit. */
uint8_t *sam_att_i8_codes_buffer (int which, size_t bytes);

/* The float-domain part of one row (shared by every variant and the
 * oracle): from y[0..n) (float scores, m = their maximum) to P[0..n),
 * returns ρ. tmp needs n floats. */
double sam_att_i8_row_probs (const float *y, int64_t n, float m, float c,
    const SamAttI8Params * p, int16_t * P, void *tmp);
/* The same with the row functions of variant @isa (a SamIsa it supports;
 * tests): the same P and ρ, bit for bit. */
double sam_att_i8_row_probs_isa (int isa, const float *y, int64_t n,
    float m, float c, const SamAttI8Params * p, int16_t * P, void *tmp);

#endif
