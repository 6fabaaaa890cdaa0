/* requant.c — C references for sam-orc.orc (bit-exact, ORC 0.4.33
 * semantics) and the ORC-backed wrappers. Each *_ref follows its ORC function
 * instruction by instruction: the float ops flush denormal operands and
 * results (ORC_DENORMAL), convfl truncates, constants are the bit patterns
 * orcc 0.4.33 emits for the decimal literals of the .orc file. */
#include "kernels/requant.h"
#include "kernels/gemm-i8.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "kernels/orc-call.h"
#if defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>
#endif
#include "sam-orc.h"

/* ---- ORC primitive semantics ------------------------------------------ */

static inline uint32_t
fbits (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  return u;
}

static inline float
bitsf (uint32_t u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* ORC_DENORMAL: a zero exponent keeps only the sign (±0). */
static inline float
ftz (float x)
{
  uint32_t u = fbits (x);
  return (u & 0x7f800000u) == 0 ? bitsf (u & 0xff800000u) : x;
}

static inline float
o_addf (float a, float b)
{
  return ftz (ftz (a) + ftz (b));
}

static inline float
o_subf (float a, float b)
{
  return ftz (ftz (a) - ftz (b));
}

static inline float
o_mulf (float a, float b)
{
  return ftz (ftz (a) * ftz (b));
}

static inline float
o_maxf (float a, float b)
{
  a = ftz (a);
  b = ftz (b);
  if (isnan (a))
    return a;
  if (isnan (b))
    return b;
  return a > b ? a : b;
}

static inline float
o_minf (float a, float b)
{
  a = ftz (a);
  b = ftz (b);
  if (isnan (a))
    return a;
  if (isnan (b))
    return b;
  return a < b ? a : b;
}

/* convfl: truncation; out of range gives INT32_MIN, except positive values
 * (sign bit clear) which saturate to INT32_MAX. */
static inline int32_t
o_convfl (float f)
{
  if (f > -2147483904.0f && f < 2147483648.0f)
    return (int32_t) f;
  return (fbits (f) & 0x80000000u) ? INT32_MIN : INT32_MAX;
}

static inline int64_t
clamp64 (int64_t v, int64_t lo, int64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* ---- requantization ----------------------------------------------------- */

int
sam_requant_params (double real, int32_t * mult, int32_t * shift)
{
  if (!(real > 0.0) || real >= 1073741824.0)
    return -1;
  int e;
  double m = frexp (real, &e);  /* real = m · 2^e, m in [0.5, 1) */
  int64_t q = llround (m * 2147483648.0);       /* [2^30, 2^31] */
  if (q == ((int64_t) 1 << 31)) {
    q /= 2;
    e++;
  }
  int s = 31 - e;
  while (s > 62) {              /* too small: lose precision, keep range */
    q >>= 1;
    s--;
  }
  if (s < 1 || q == 0)
    return -1;
  *mult = (int32_t) q;
  *shift = s;
  return 0;
}

static inline int32_t
requant_one (int32_t s, int32_t mult, int32_t shift, int32_t zp)
{
  int64_t round = (int64_t) 1 << (shift - 1);
  /* mulslq, addq (wrapping), shrsq */
  int64_t t = (int64_t) ((uint64_t) ((int64_t) s * mult) + (uint64_t) round);
  t >>= shift;
  t = clamp64 (t, INT32_MIN, INT32_MAX);        /* convsssql */
  t = clamp64 (t + zp, INT32_MIN, INT32_MAX);   /* addssl */
  return (int32_t) clamp64 (t, INT16_MIN, INT16_MAX);   /* convssslw */
}

void
sam_requant_s32_s8_ref (int8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n)
{
  for (int i = 0; i < n; i++)
    d[i] = (int8_t) clamp64 (requant_one (s[i], mult, shift, zp), -128, 127);
}

void
sam_requant_s32_u8_ref (uint8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n)
{
  for (int i = 0; i < n; i++)
    d[i] = (uint8_t) clamp64 (requant_one (s[i], mult, shift, zp), 0, 255);
}

void
sam_requant_s32_s8 (int8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n)
{
  if (!SAM_ORC_JIT) {
    sam_requant_s32_s8_ref (d, s, mult, shift, zp, n);
    return;
  }
  ORC_CALL (sam_orc_requant_s32_s8 (d, s, (int64_t) 1 << (shift - 1), mult,
          shift, zp, n));
}

void
sam_requant_s32_u8 (uint8_t * d, const int32_t * s, int32_t mult,
    int32_t shift, int32_t zp, int n)
{
  if (!SAM_ORC_JIT) {
    sam_requant_s32_u8_ref (d, s, mult, shift, zp, n);
    return;
  }
  ORC_CALL (sam_orc_requant_s32_u8 (d, s, (int64_t) 1 << (shift - 1), mult,
          shift, zp, n));
}

/* ---- dequantization / quantization ------------------------------------ */

void
sam_dequant_s8_f32_ref (float *d, const int8_t * s, int32_t zp, float scale,
    int n)
{
  for (int i = 0; i < n; i++) {
    int32_t l = (int32_t) ((uint32_t) s[i] - (uint32_t) zp);    /* subl */
    d[i] = o_mulf ((float) l, scale);
  }
}

void
sam_dequant_s8_f32 (float *d, const int8_t * s, int32_t zp, float scale, int n)
{
  if (!SAM_ORC_JIT) {
    sam_dequant_s8_f32_ref (d, s, zp, scale, n);
    return;
  }
  ORC_CALL (sam_orc_dequant_s8_f32 (d, s, zp, scale, n));
}

void
sam_dequant_u8_f32_ref (float *d, const uint8_t * s, int32_t zp, float scale,
    int n)
{
  for (int i = 0; i < n; i++) {
    int32_t l = (int32_t) ((uint32_t) s[i] - (uint32_t) zp);
    d[i] = o_mulf ((float) l, scale);
  }
}

void
sam_dequant_u8_f32 (float *d, const uint8_t * s, int32_t zp, float scale,
    int n)
{
  if (!SAM_ORC_JIT) {
    sam_dequant_u8_f32_ref (d, s, zp, scale, n);
    return;
  }
  ORC_CALL (sam_orc_dequant_u8_f32 (d, s, zp, scale, n));
}

void
sam_quant_f32_u8_ref (uint8_t * d, const float *s, float inv_scale,
    int32_t zp, int n)
{
  float zh = (float) zp + 0.5f;
  for (int i = 0; i < n; i++) {
    float t = o_addf (o_mulf (s[i], inv_scale), zh);
    t = o_minf (o_maxf (t, 0.0f), 255.0f);
    int32_t l = o_convfl (t);
    d[i] = (uint8_t) clamp64 ((int16_t) l, 0, 255);     /* convlw, convsuswb */
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same operations as sam_quant_f32_u8_ref, 16 lanes at a time: ORC
 * 0.4.33 runs this kernel 4 wide on SSE, and the q/k/v codes of every
 * integer attention (28,736 memory keys per layer) go through it. ORC's
 * flush of denormal operands and products is a denormal-class mask;
 * max (t, 0) comes first so that NaN gives 0 (VMAXPS returns its second
 * operand on NaN), as the reference's convfl and clamp do. t = p + zh is
 * never denormal (|zh| ≥ 0.5, p zero or normal). */
#define T_QAVX512 __attribute__((target("avx512f,avx512dq,avx512bw")))

T_QAVX512 static inline void
quant16_u8 (uint8_t * d, const float *s, __mmask16 k, __m512 inv, __m512 zh)
{
  __m512 x = _mm512_maskz_loadu_ps (k, s);
  x = _mm512_maskz_mov_ps (~_mm512_fpclass_ps_mask (x, 0x20), x);
  __m512 t = _mm512_mul_ps (x, inv);
  t = _mm512_maskz_mov_ps (~_mm512_fpclass_ps_mask (t, 0x20), t);
  t = _mm512_add_ps (t, zh);
  t = _mm512_min_ps (_mm512_max_ps (t, _mm512_setzero_ps ()),
      _mm512_set1_ps (255.0f));
  _mm512_mask_cvtepi32_storeu_epi8 (d, k, _mm512_cvttps_epi32 (t));
}

/* quant16_u8 without the two denormal flushes, as int32 codes: where
 * |inv| < 2^100 they change nothing. A denormal x (|x| < 2^-126) makes
 * |x · inv| < 2^-26, and a denormal product is below 2^-126: either way
 * t = p + zh rounds to zh exactly as with p = 0, because |zh| ≥ 0.5 and
 * half an ulp of 0.5 is 2^-25. */
T_QAVX512 static inline __m512i
quant16_i32 (const float *s, __m512 inv, __m512 zh)
{
  __m512 p = _mm512_mul_ps (_mm512_loadu_ps (s), inv);
  /* the product rounded on its own, as ORC's mulf: never contracted into
   * an FMA with the add, whatever -ffp-contract says */
  __asm__ ("" : "+v" (p));
  __m512 t = _mm512_add_ps (p, zh);
  t = _mm512_min_ps (_mm512_max_ps (t, _mm512_setzero_ps ()),
      _mm512_set1_ps (255.0f));
  return _mm512_cvttps_epi32 (t);
}

T_QAVX512 static void
quant_f32_u8_avx512 (uint8_t * d, const float *s, float inv_scale,
    int32_t zp, int n)
{
  const float fi = ftz (inv_scale);
  const __m512 inv = _mm512_set1_ps (fi);
  const __m512 zh = _mm512_set1_ps ((float) zp + 0.5f);
  int i = 0;
  if (fabsf (fi) < 0x1p100f) {
    /* 64 codes per store: the two saturating packs interleave the four
     * vectors per 128-bit lane (dword L·4 + v holds vector v's codes
     * 4L..4L+3), the permute puts them back in order; the codes are
     * 0..255 already, so the saturation never acts. One 64-byte store
     * instead of four narrowing ones (VPMOVDB to memory). */
    const __m512i order = _mm512_setr_epi32 (0, 4, 8, 12, 1, 5, 9, 13, 2, 6,
        10, 14, 3, 7, 11, 15);
    for (; i + 64 <= n; i += 64) {
      const __m512i a = quant16_i32 (s + i, inv, zh);
      const __m512i b = quant16_i32 (s + i + 16, inv, zh);
      const __m512i c = quant16_i32 (s + i + 32, inv, zh);
      const __m512i e = quant16_i32 (s + i + 48, inv, zh);
      const __m512i v = _mm512_packus_epi16 (_mm512_packus_epi32 (a, b),
          _mm512_packus_epi32 (c, e));
      _mm512_storeu_si512 (d + i, _mm512_permutexvar_epi32 (order, v));
    }
    for (; i + 16 <= n; i += 16)
      _mm_storeu_si128 ((__m128i *) (d + i),
          _mm512_cvtepi32_epi8 (quant16_i32 (s + i, inv, zh)));
  }
  for (; i + 16 <= n; i += 16)
    quant16_u8 (d + i, s + i, 0xffff, inv, zh);
  if (i < n)
    quant16_u8 (d + i, s + i, (__mmask16) ((1u << (n - i)) - 1), inv, zh);
}

/* quant16_i32 on 8 lanes (AVX2): the same operations */
#define T_QAVX2 __attribute__((target("avx2")))

T_QAVX2 static inline __m256i
quant8_i32 (const float *s, __m256 inv, __m256 zh)
{
  __m256 p = _mm256_mul_ps (_mm256_loadu_ps (s), inv);
  __asm__ ("" : "+x" (p));
  __m256 t = _mm256_add_ps (p, zh);
  t = _mm256_min_ps (_mm256_max_ps (t, _mm256_setzero_ps ()),
      _mm256_set1_ps (255.0f));
  return _mm256_cvttps_epi32 (t);
}

/* quant_f32_u8_avx512's fast path on AVX2 machines (AVX2 and AVX-VNNI
 * int8 ISAs), where these codes came from ORC's 4-wide SSE code: the q,
 * k, v codes of every integer attention, about a tenth of the frame's
 * CPU time at input 1024. Returns FALSE for |inv| ≥ 2^100, where the
 * denormal flushes matter and ORC makes the codes. */
T_QAVX2 static bool
quant_f32_u8_avx2 (uint8_t * d, const float *s, float inv_scale, int32_t zp,
    int n)
{
  const float fi = ftz (inv_scale);
  if (!(fabsf (fi) < 0x1p100f))
    return false;
  const __m256 inv = _mm256_set1_ps (fi);
  const __m256 zh = _mm256_set1_ps ((float) zp + 0.5f);
  /* 32 codes per store: two saturating packs (the codes are 0..255
   * already) put each 128-bit lane's four codes of every vector side by
   * side, one dword permute restores their order */
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = quant8_i32 (s + i, inv, zh);
    const __m256i b = quant8_i32 (s + i + 8, inv, zh);
    const __m256i c = quant8_i32 (s + i + 16, inv, zh);
    const __m256i e = quant8_i32 (s + i + 24, inv, zh);
    _mm256_storeu_si256 ((__m256i *) (d + i), _mm256_permutevar8x32_epi32
        (_mm256_packus_epi16 (_mm256_packus_epi32 (a, b),
                _mm256_packus_epi32 (c, e)), order));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256i c = quant8_i32 (s + i, inv, zh);
    const __m128i w = _mm_packus_epi32 (_mm256_castsi256_si128 (c),
        _mm256_extracti128_si256 (c, 1));
    _mm_storel_epi64 ((__m128i *) (d + i), _mm_packus_epi16 (w, w));
  }
  if (i < n)
    sam_quant_f32_u8_ref (d + i, s + i, inv_scale, zp, n - i);
  return true;
}
#endif

void
sam_quant_f32_u8 (uint8_t * d, const float *s, float inv_scale, int32_t zp,
    int n)
{
#if defined(__x86_64__) && defined(__GNUC__)
  const SamIsa isa = sam_gemm_i8_isa ();
  if (isa == SAM_ISA_AVX512VNNI) {
    quant_f32_u8_avx512 (d, s, inv_scale, zp, n);
    return;
  }
  if ((isa == SAM_ISA_AVX2 || isa == SAM_ISA_AVXVNNI)
      && quant_f32_u8_avx2 (d, s, inv_scale, zp, n))
    return;
#endif
#if defined(__aarch64__) && defined(__GNUC__)
  /* quant16_i32's operations on 4 lanes where |inv| < 2^100 (the
   * denormal flushes change nothing there, see quant16_i32); vmaxnmq
   * returns 0 for a NaN t, as max (t, 0) must */
  if (fabsf (ftz (inv_scale)) < 0x1p100f) {
    const float32x4_t inv = vdupq_n_f32 (ftz (inv_scale));
    const float32x4_t zh = vdupq_n_f32 ((float) zp + 0.5f);
    const float32x4_t zero = vdupq_n_f32 (0.f), top = vdupq_n_f32 (255.f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      uint16x4_t h[2];
      for (int u = 0; u < 2; u++) {
        float32x4_t t = vaddq_f32 (vmulq_f32 (vld1q_f32 (s + i + 4 * u), inv),
            zh);
        t = vminq_f32 (vmaxnmq_f32 (t, zero), top);
        h[u] = vmovn_u32 (vcvtq_u32_f32 (t));
      }
      vst1_u8 (d + i, vmovn_u16 (vcombine_u16 (h[0], h[1])));
    }
    sam_quant_f32_u8_ref (d + i, s + i, inv_scale, zp, n - i);
    return;
  }
#endif
  if (!SAM_ORC_JIT) {
    sam_quant_f32_u8_ref (d, s, inv_scale, zp, n);
    return;
  }
  ORC_CALL (sam_orc_quant_f32_u8 (d, s, inv_scale, (float) zp + 0.5f, n));
}

void
sam_quant_f32_s8_ref (int8_t * d, const float *s, float inv_scale,
    int32_t zp, int n)
{
  float zh = (float) zp + 128.5f;
  for (int i = 0; i < n; i++) {
    float t = o_addf (o_mulf (s[i], inv_scale), zh);
    t = o_minf (o_maxf (t, 0.0f), 255.0f);
    int32_t l = o_convfl (t) - 128;
    d[i] = (int8_t) clamp64 ((int16_t) l, -128, 127);
  }
}

void
sam_quant_f32_s8 (int8_t * d, const float *s, float inv_scale, int32_t zp,
    int n)
{
  if (!SAM_ORC_JIT) {
    sam_quant_f32_s8_ref (d, s, inv_scale, zp, n);
    return;
  }
  ORC_CALL (sam_orc_quant_f32_s8 (d, s, inv_scale, (float) zp + 128.5f, n));
}

/* ---- softmax middle ------------------------------------------------------ */

/* orcc 0.4.33's bit patterns for the literals in sam_orc_exp2_sub_f32 */
#define C_M125 0xc2fa0000u
#define C_P5 0x3a75ec0au
#define C_P4 0x3c168490u
#define C_P3 0x3d626b54u
#define C_P2 0x3e75ef8bu
#define C_P1 0x3f3171c4u
#define C_P0 0x3f800000u

static inline float
exp2_sub_one (float s, float max, float scale)
{
  float t = o_mulf (o_subf (s, max), scale);
  t = o_maxf (t, bitsf (C_M125));
  int32_t n = o_convfl (t);
  float f = o_subf (t, (float) n);
  float p = o_mulf (f, bitsf (C_P5));
  p = o_addf (p, bitsf (C_P4));
  p = o_addf (o_mulf (p, f), bitsf (C_P3));
  p = o_addf (o_mulf (p, f), bitsf (C_P2));
  p = o_addf (o_mulf (p, f), bitsf (C_P1));
  p = o_addf (o_mulf (p, f), bitsf (C_P0));
  return bitsf (fbits (p) + ((uint32_t) n << 23));
}

#if defined(__aarch64__) && defined(__GNUC__)
/* aarch64 (where ORC's code is not used, orc-call.h): exp2_sub_one on 4
 * lanes. The same operations (products and sums rounded on their own: no
 * fused multiply-add), run with FPCR.FZ set so that every denormal
 * operand and result is flushed to a zero of its sign, as ftz does. One
 * difference needs a fix-up: vcvtq_s32_f32 gives 0 for NaN, o_convfl
 * INT32_MIN or INT32_MAX by the sign bit. */
static inline unsigned long
fz_enter (void)
{
  unsigned long fpcr;
  __asm__ volatile ("mrs %0, fpcr" : "=r" (fpcr));
  __asm__ volatile ("msr fpcr, %0" : : "r" (fpcr | (1ul << 24)));
  return fpcr;
}

static inline void
fz_leave (unsigned long fpcr)
{
  __asm__ volatile ("msr fpcr, %0" : : "r" (fpcr));
}

static inline int32x4_t
convfl4 (float32x4_t t)
{
  const int32x4_t n = vcvtq_s32_f32 (t);
  const uint32x4_t nan = vmvnq_u32 (vceqq_f32 (t, t));
  const int32x4_t sat = vbslq_s32 (vtstq_u32 (vreinterpretq_u32_f32 (t),
          vdupq_n_u32 (0x80000000u)), vdupq_n_s32 (INT32_MIN),
      vdupq_n_s32 (INT32_MAX));
  return vbslq_s32 (nan, sat, n);
}

static inline float32x4_t
exp2_sub4 (float32x4_t s, float32x4_t vmax, float32x4_t vsc)
{
  float32x4_t t = vmulq_f32 (vsubq_f32 (s, vmax), vsc);
  /* o_maxf: a NaN t stays NaN, as vmaxq_f32 keeps it */
  t = vmaxq_f32 (t, vreinterpretq_f32_u32 (vdupq_n_u32 (C_M125)));
  const int32x4_t n = convfl4 (t);
  const float32x4_t f = vsubq_f32 (t, vcvtq_f32_s32 (n));
#define K4(b) vreinterpretq_f32_u32 (vdupq_n_u32 (b))
  float32x4_t p = vaddq_f32 (vmulq_f32 (f, K4 (C_P5)), K4 (C_P4));
  p = vaddq_f32 (vmulq_f32 (p, f), K4 (C_P3));
  p = vaddq_f32 (vmulq_f32 (p, f), K4 (C_P2));
  p = vaddq_f32 (vmulq_f32 (p, f), K4 (C_P1));
  p = vaddq_f32 (vmulq_f32 (p, f), K4 (C_P0));
#undef K4
  return vreinterpretq_f32_s32 (vaddq_s32 (vreinterpretq_s32_f32 (p),
          vshlq_n_s32 (n, 23)));
}
#endif

void
sam_exp2_sub_f32_ref (float *d, const float *s, float max, float scale, int n)
{
  for (int i = 0; i < n; i++)
    d[i] = exp2_sub_one (s[i], max, scale);
}

void
sam_exp2_sub_f32 (float *d, const float *s, float max, float scale, int n)
{
#if defined(__aarch64__) && defined(__GNUC__)
  {
    const unsigned long fpcr = fz_enter ();
    const float32x4_t vmax = vdupq_n_f32 (max), vsc = vdupq_n_f32 (scale);
    int i = 0;
    for (; i + 4 <= n; i += 4)
      vst1q_f32 (d + i, exp2_sub4 (vld1q_f32 (s + i), vmax, vsc));
    fz_leave (fpcr);
    sam_exp2_sub_f32_ref (d + i, s + i, max, scale, n - i);
    return;
  }
#endif
  if (!SAM_ORC_JIT) {
    sam_exp2_sub_f32_ref (d, s, max, scale, n);
    return;
  }
  ORC_CALL (sam_orc_exp2_sub_f32 (d, s, max, scale, n));
}

int32_t
sam_exp2_p15_f32_s16_ref (int16_t * d, const float *s, float max,
    float scale, int n)
{
  int32_t acc = 0;
  for (int i = 0; i < n; i++) {
    float p = o_mulf (exp2_sub_one (s[i], max, scale), 32767.0f);
    int32_t l = o_convfl (o_addf (p, 0.5f));
    d[i] = (int16_t) l;
    acc += l;
  }
  return acc;
}

int32_t
sam_exp2_p15_f32_s16 (int16_t * d, const float *s, float max, float scale,
    int n)
{
#if defined(__aarch64__) && defined(__GNUC__)
  {
    const unsigned long fpcr = fz_enter ();
    const float32x4_t vmax = vdupq_n_f32 (max), vsc = vdupq_n_f32 (scale);
    const float32x4_t k15 = vdupq_n_f32 (32767.0f), half = vdupq_n_f32 (0.5f);
    int32x4_t acc = vdupq_n_s32 (0);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      const float32x4_t e = exp2_sub4 (vld1q_f32 (s + i), vmax, vsc);
      const int32x4_t l = convfl4 (vaddq_f32 (vmulq_f32 (e, k15), half));
      /* (int16_t) l: the low 16 bits, as vmovn takes them */
      vst1_s16 (d + i, vmovn_s32 (l));
      acc = vaddq_s32 (acc, l);
    }
    fz_leave (fpcr);
    /* int32 sums wrap as the reference's */
    int32_t sum = (int32_t) ((uint32_t) vgetq_lane_s32 (acc, 0)
        + (uint32_t) vgetq_lane_s32 (acc, 1) + (uint32_t) vgetq_lane_s32 (acc,
            2) + (uint32_t) vgetq_lane_s32 (acc, 3));
    return (int32_t) ((uint32_t) sum + (uint32_t)
        sam_exp2_p15_f32_s16_ref (d + i, s + i, max, scale, n - i));
  }
#endif
  if (!SAM_ORC_JIT)
    return sam_exp2_p15_f32_s16_ref (d, s, max, scale, n);
  ORC_CALL (sam_orc_exp2_p15_f32_s16 (d, s, max, scale, 32767.0f, 0.5f, n));
  int32_t acc = 0;
  for (int i = 0; i < n; i++)
    acc += d[i];
  return acc;
}

void
sam_scale_f32_ref (float *d, const float *s, float scale, int n)
{
  for (int i = 0; i < n; i++)
    d[i] = o_mulf (s[i], scale);
}

void
sam_scale_f32 (float *d, const float *s, float scale, int n)
{
  if (!SAM_ORC_JIT) {
    sam_scale_f32_ref (d, s, scale, n);
    return;
  }
  ORC_CALL (sam_orc_scale_f32 (d, s, scale, n));
}

void
sam_log2q_f32_u8_ref (uint8_t * d, const float *s, float max, float scale,
    float c, float tau, float qmax, int n)
{
  for (int i = 0; i < n; i++) {
    float t = o_mulf (o_subf (s[i], max), scale);
    t = o_mulf (o_subf (c, t), tau);
    t = o_addf (t, 0.5f);
    t = o_minf (o_maxf (t, 0.0f), qmax);
    int32_t l = o_convfl (t);
    d[i] = (uint8_t) clamp64 ((int16_t) l, 0, 255);
  }
}

void
sam_log2q_f32_u8 (uint8_t * d, const float *s, float max, float scale,
    float c, float tau, float qmax, int n)
{
  if (!SAM_ORC_JIT) {
    sam_log2q_f32_u8_ref (d, s, max, scale, c, tau, qmax, n);
    return;
  }
  ORC_CALL (sam_orc_log2q_f32_u8 (d, s, max, scale, c, tau, qmax, n));
}

/* ---- rows ------------------------------------------------------------------ */

static float
row_max (const float *s, int n)
{
  float m = -INFINITY;
  for (int i = 0; i < n; i++)
    m = s[i] > m ? s[i] : m;
  return m;
}

static float
row_sum (const float *s, int n)
{
  float acc = 0.0f;
  for (int i = 0; i < n; i++)
    acc += s[i];
  return acc;
}

#define LOG2E 1.4426950408889634f

static float
softmax_row (float *d, const float *s, float attn_scale, int n, int ref)
{
  if (n <= 0)
    return 0.0f;
  ref = ref || !SAM_ORC_JIT;
  float m = row_max (s, n);
  float sc = attn_scale * LOG2E;
  if (ref)
    sam_exp2_sub_f32_ref (d, s, m, sc, n);
  else if (d == s)
    ORC_CALL (sam_orc_exp2_sub_f32_ip (d, m, sc, n));
  else
    sam_exp2_sub_f32 (d, s, m, sc, n);
  float sum = row_sum (d, n);
  if (ref)
    sam_scale_f32_ref (d, d, 1.0f / sum, n);
  else
    ORC_CALL (sam_orc_scale_f32_ip (d, 1.0f / sum, n));
  return sum;
}

float
sam_softmax_row_f32 (float *d, const float *s, float attn_scale, int n)
{
  return softmax_row (d, s, attn_scale, n, 0);
}

float
sam_softmax_row_f32_ref (float *d, const float *s, float attn_scale, int n)
{
  return softmax_row (d, s, attn_scale, n, 1);
}

/* PTQ4SAM AGQ (arXiv 2405.03144), integer form: q = round (τ · (log2 Σ +
 * log2 s_a − y)) where y = log2 (Σ · p) is the exponent the softmax used. */
static void
agq_row (uint8_t * d, const float *s, float attn_scale, float s_a, int tau,
    int bits, int n, int ref)
{
  if (n <= 0)
    return;
  float m = row_max (s, n);
  float sc = attn_scale * LOG2E;
  /* Σ of the same 2^y values the softmax kernel produces, in chunks. */
  float buf[256], sum = 0.0f;
  for (int i = 0; i < n; i += 256) {
    int k = n - i < 256 ? n - i : 256;
    if (ref)
      sam_exp2_sub_f32_ref (buf, s + i, m, sc, k);
    else
      sam_exp2_sub_f32 (buf, s + i, m, sc, k);
    for (int j = 0; j < k; j++)
      sum += buf[j];
  }
  float c = log2f (sum) + log2f (s_a);
  float qmax = (float) ((1 << bits) - 1);
  if (ref)
    sam_log2q_f32_u8_ref (d, s, m, sc, c, (float) tau, qmax, n);
  else
    sam_log2q_f32_u8 (d, s, m, sc, c, (float) tau, qmax, n);
}

void
sam_agq_encode_row (uint8_t * d, const float *s, float attn_scale, float s_a,
    int tau, int bits, int n)
{
  agq_row (d, s, attn_scale, s_a, tau, bits, n, 0);
}

void
sam_agq_encode_row_ref (uint8_t * d, const float *s, float attn_scale,
    float s_a, int tau, int bits, int n)
{
  agq_row (d, s, attn_scale, s_a, tau, bits, n, 1);
}
