/* requant.h — element-wise int8 kernels: the bit-exact C specification
 * (sam_*_ref) of every function in sam-orc.orc, and row helpers built on the
 * ORC versions (softmax, AGQ log2 codes).
 *
 * ORC numerics mirrored by the references: convfl truncates toward zero
 * (saturating positive overflow), float operands and results of float ops are
 * flushed to zero when denormal, no fused multiply-add. Requantization is
 * fixed point: y = sat (((int64) acc · mult + 2^(shift−1)) >> shift + zp).
 */
#ifndef SAM_KERNELS_REQUANT_H
#define SAM_KERNELS_REQUANT_H

#include <stdint.h>

/* real ≈ mult · 2^−shift with mult in [2^30, 2^31) and shift in [1, 62];
 * real must be > 0 and < 2^30. Returns 0, or −1 if out of range. */
int sam_requant_params (double real, int32_t * mult, int32_t * shift);

/* Each pair: the C reference, and the ORC-backed kernel (same results). */
void sam_requant_s32_s8_ref (int8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n);
void sam_requant_s32_s8 (int8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n);
void sam_requant_s32_u8_ref (uint8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n);
void sam_requant_s32_u8 (uint8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n);

/* d = (float) (s − zp) · scale */
void sam_dequant_s8_f32_ref (float *d, const int8_t * s, int32_t zp,
    float scale, int n);
void sam_dequant_s8_f32 (float *d, const int8_t * s, int32_t zp, float scale,
    int n);
void sam_dequant_u8_f32_ref (float *d, const uint8_t * s, int32_t zp,
    float scale, int n);
void sam_dequant_u8_f32 (float *d, const uint8_t * s, int32_t zp, float scale,
    int n);

/* d = clamp (floor (s · inv_scale + zp + 0.5)): round half up, saturating.
 * sam_quant_f32_u8 runs AVX-512 where the int8 ISA (sam_gemm_i8_isa) is
 * AVX-512 VNNI, ORC otherwise; both bit-exact with the _ref. */
void sam_quant_f32_u8_ref (uint8_t * d, const float *s, float inv_scale,
    int32_t zp, int n);
void sam_quant_f32_u8 (uint8_t * d, const float *s, float inv_scale,
    int32_t zp, int n);
void sam_quant_f32_s8_ref (int8_t * d, const float *s, float inv_scale,
    int32_t zp, int n);
void sam_quant_f32_s8 (int8_t * d, const float *s, float inv_scale,
    int32_t zp, int n);

/* d = 2^max ((s − max) · scale, −125) by the polynomial of sam-orc.orc. */
void sam_exp2_sub_f32_ref (float *d, const float *s, float max, float scale,
    int n);
void sam_exp2_sub_f32 (float *d, const float *s, float max, float scale,
    int n);
/* d = trunc (32767 · 2^max ((s − max) · scale, −125) + 0.5) (the same
 * polynomial; 15-bit fixed-point softmax numerators for the integer P·V of
 * attention-i8.c); returns Σ d. n ≤ 65536 (the sum is int32). */
int32_t sam_exp2_p15_f32_s16_ref (int16_t * d, const float *s, float max,
    float scale, int n);
int32_t sam_exp2_p15_f32_s16 (int16_t * d, const float *s, float max,
    float scale, int n);
void sam_scale_f32_ref (float *d, const float *s, float scale, int n);
void sam_scale_f32 (float *d, const float *s, float scale, int n);

/* AGQ codes from logits (see sam-orc.orc sam_orc_log2q_f32_u8). */
void sam_log2q_f32_u8_ref (uint8_t * d, const float *s, float max,
    float scale, float c, float tau, float qmax, int n);
void sam_log2q_f32_u8 (uint8_t * d, const float *s, float max, float scale,
    float c, float tau, float qmax, int n);

/* Row softmax of logits·attn_scale: max and sum in C (sequential float sum),
 * 2^y and the 1/Σ scaling in ORC. in-place allowed. The _ref variant runs the
 * reference of each step, so both agree bit for bit. Returns Σ. */
float sam_softmax_row_f32 (float *d, const float *s, float attn_scale, int n);
float sam_softmax_row_f32_ref (float *d, const float *s, float attn_scale,
    int n);

/* AGQ (PTQ4SAM) codes of the softmax of one logits row, with base 2^(1/τ),
 * scale s_a and b bits (code 2^b − 1 = zero). Uses the same max / Σ as the
 * softmax (the Σ of the polynomial 2^y values). */
void sam_agq_encode_row (uint8_t * d, const float *s, float attn_scale,
    float s_a, int tau, int bits, int n);
void sam_agq_encode_row_ref (uint8_t * d, const float *s, float attn_scale,
    float s_a, int tau, int bits, int n);

#endif
