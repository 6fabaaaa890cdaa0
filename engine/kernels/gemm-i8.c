/* gemm-i8.c — int8 GEMM variants (AVX-512 VNNI, AVX-VNNI, AVX2, C) and the
 * run-time dispatch. See gemm-i8.h for the arithmetic contract; every variant
 * is bit-exact with sam_k_gemm_i8_ref (tests/quant/test-gemm-i8.c).
 *
 * All variants share one packed weight layout: blocks of 16 output channels
 * × 4 k (64 bytes, [16][4]), i.e. the operand of one zmm vpdpbusd, or two ymm
 * ones (channels 0-7 then 8-15). A tile keeps MR rows × NR channels of int32
 * accumulators in registers; x is read as 4-byte broadcasts. The zero point
 * and the integer bias are one per-channel constant added after the K loop.
 */
#include "kernels/gemm-i8.h"
#include "kernels/hugepages.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* The SIMD variants are x86 only; elsewhere (ARM, …) the plain C tiles
 * run, the only ISA sam_gemm_i8_isa_supported then admits. */
#if defined(__x86_64__) && defined(__GNUC__)
#define SAM_X86 1
#include <cpuid.h>
#include <immintrin.h>
#include "kernels/widen-avx2.h"
#endif

/* aarch64: the dot-product kernels where the CPU has them (Armv8.2's
 * optional, Armv8.4's mandatory FEAT_DotProd: Cortex-A55/A76 and later,
 * Neoverse N1, Apple M1), probed through the kernel's HWCAP */
#if defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
#define SAM_ARM64 1
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#define T_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

void sam_gemm_i8_epilogue_row (const int32_t * acc, int n0, int n1,
    const SamGemmI8Epilogue * ep, void *yrow);

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))
#define T_AVXVNNI __attribute__((target("avx2,avxvnni,fma")))
#define T_AVX2 __attribute__((target("avx2,fma")))
/* the AVX-VNNI kernels' twin on AVX-512 VNNI CPUs (gemm-i8-vnni256.inc) */
#define T_EVEX256 \
  __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))

/* ------------------------------------------------------------------------ */
/* Packing */

SamGemmI8Weights *
sam_gemm_i8_weights_pack (const int8_t * W, int N, int K, int64_t ldw)
{
  SamGemmI8Weights *w = g_new0 (SamGemmI8Weights, 1);
  w->N = N;
  w->K = K;
  w->N16 = (N + 15) / 16;
  w->K4 = (K + 3) / 4;
  size_t bytes = (size_t) w->N16 * w->K4 * 64;
  w->packed = aligned_alloc (64, bytes > 0 ? bytes : 64);
  w->rowsum = g_new0 (int32_t, N > 0 ? N : 1);
  if (!w->packed) {
    g_free (w->rowsum);
    g_free (w);
    return NULL;
  }
  memset (w->packed, 0, bytes);
  for (int n = 0; n < N; n++) {
    int32_t s = 0;
    for (int k = 0; k < K; k++) {
      int8_t v = W[n * ldw + k];
      s += v;
      w->packed[((size_t) (n / 16) * w->K4 + k / 4) * 64 + (n % 16) * 4 +
          k % 4] = v;
    }
    w->rowsum[n] = s;
  }
  return w;
}

void
sam_gemm_i8_weights_free (SamGemmI8Weights * w)
{
  if (!w)
    return;
  free (w->packed);
  g_free (w->rowsum);
  g_free (w);
}

/* ------------------------------------------------------------------------ */
/* ISA selection */

static const char *isa_names[SAM_ISA_COUNT] = {
  [SAM_ISA_REF] = "ref",
  [SAM_ISA_AVX2] = "avx2",
  [SAM_ISA_AVXVNNI] = "avxvnni",
  [SAM_ISA_AVX512VNNI] = "avx512vnni",
  [SAM_ISA_NEON] = "neon",
  [SAM_ISA_NEONDOT] = "neondot",
};

const char *
sam_isa_name (SamIsa isa)
{
  return isa >= 0 && isa < SAM_ISA_COUNT ? isa_names[isa] : "?";
}

/* AVX-VNNI: CPUID.(EAX=7, ECX=1):EAX[4]. Read directly: clang < 16 does not
 * know "avxvnni" in __builtin_cpu_supports. */
static bool
cpu_has_avxvnni (void)
{
#ifdef SAM_X86
  unsigned a, b, c, d;
  if (!__get_cpuid_count (7, 1, &a, &b, &c, &d))
    return false;
  return (a >> 4) & 1u;
#else
  return false;
#endif
}

bool
sam_gemm_i8_vnni256_vex (void)
{
  static gsize once = 0;
  static bool vex;
  if (g_once_init_enter (&once)) {
    vex = cpu_has_avxvnni ();
    g_once_init_leave (&once, 1);
  }
  return vex;
}

bool
sam_gemm_i8_isa_supported (SamIsa isa)
{
#ifdef SAM_ARM64
  if (isa == SAM_ISA_NEONDOT)
    return (getauxval (AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  if (isa == SAM_ISA_NEON)
    return true;                /* Advanced SIMD: every AArch64 core */
#endif
#ifndef SAM_X86
  return isa == SAM_ISA_REF;
#else
  __builtin_cpu_init ();
  switch (isa) {
    case SAM_ISA_REF:
      return true;
    case SAM_ISA_AVX2:
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
    case SAM_ISA_AVXVNNI:
      /* the VEX kernels, or their EVEX twins (gemm-i8-vnni256.inc) */
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")
          && (cpu_has_avxvnni () || sam_gemm_i8_isa_supported
          (SAM_ISA_AVX512VNNI));
    case SAM_ISA_AVX512VNNI:
      return __builtin_cpu_supports ("avx512f")
          && __builtin_cpu_supports ("avx512bw")
          && __builtin_cpu_supports ("avx512dq")
          && __builtin_cpu_supports ("avx512vl")
          && __builtin_cpu_supports ("avx512vnni")
          && __builtin_cpu_supports ("fma");
    default:
      return false;
  }
#endif
}

SamIsa
sam_gemm_i8_isa (void)
{
  static gsize once = 0;
  static SamIsa chosen;
  if (g_once_init_enter (&once)) {
    SamIsa cap = SAM_ISA_COUNT - 1;
    const char *env = g_getenv ("SAMSEG_FORCE_ISA");
    if (env && *env) {
      for (int i = 0; i < SAM_ISA_COUNT; i++)
        if (g_ascii_strcasecmp (env, isa_names[i]) == 0)
          cap = i;
    }
    SamIsa best = SAM_ISA_REF;
    for (int i = cap; i > SAM_ISA_REF; i--)
      if (sam_gemm_i8_isa_supported (i)) {
        best = i;
        break;
      }
    chosen = best;
    g_once_init_leave (&once, 1);
  }
  return chosen;
}

/* ------------------------------------------------------------------------ */
/* Shared driver state */

typedef struct {
  const uint8_t *x;
  int64_t M, ldx;
  uint32_t xor4;                /* 0x80808080 for s8 activations */
  const SamGemmI8Weights *w;
  const int32_t *colterm;       /* bias_i32[n] − zx_u8 · rowsum[n] */
  const SamGemmI8Epilogue *ep;
  char *y;
  int64_t ldy_bytes;
  int osize;
  int mr, nr;                   /* tile of this variant */
  int64_t n_mtiles, n_ntiles;
  /* sam_k_linear_i8: float rows quantized per row tile (x is NULL) */
  const float *xf;
  int64_t ldxf;
  const SamGemmI8ActQuant *aq;
  SamIsa isa;
} GemmCtx;

/* Loads 4 activation bytes starting at k (fewer at the K tail, zero-filled:
 * the padded weights are zero there). */
ALWAYS_INLINE uint32_t
load_x4 (const uint8_t * xr, int k, int K, uint32_t xor4)
{
  uint32_t v = 0;
  if (k + 4 <= K)
    memcpy (&v, xr + k, 4);
  else
    memcpy (&v, xr + k, K - k);
  return v ^ xor4;
}

/* Scalar epilogue of an accumulator tile [mr][16·nb] at (m0, n0). */
static void
tile_epilogue_scalar (const GemmCtx * c, int32_t * acc, int ld, int mr,
    int64_t m0, int n0, int n1)
{
  for (int i = 0; i < mr; i++) {
    int32_t *a = acc + i * ld;
    for (int n = n0; n < n1; n++)
      a[n - n0] += c->colterm[n];
    sam_gemm_i8_epilogue_row (a, n0, n1, c->ep,
        c->y + (m0 + i) * c->ldy_bytes);
  }
}

#ifdef SAM_X86
/* ------------------------------------------------------------------------ */
/* AVX-512 VNNI: MR = 8 rows × NR = 32 channels → 16 zmm accumulators. */

#define MR512 8

ALWAYS_INLINE T_AVX512 void
store_row_512 (const GemmCtx * c, __m512i a, int64_t m, int n0, int nvalid)
{
  const SamGemmI8Epilogue *ep = c->ep;
  __mmask16 k = nvalid >= 16 ? 0xffff : (__mmask16) ((1u << nvalid) - 1);
  a = _mm512_add_epi32 (a, _mm512_maskz_loadu_epi32 (k, c->colterm + n0));
  char *yr = c->y + m * c->ldy_bytes;
  switch (ep->out) {
    case SAM_GEMM_I8_OUT_S32:
      _mm512_mask_storeu_epi32 ((int32_t *) yr + n0, k, a);
      break;
    case SAM_GEMM_I8_OUT_F32:{
      __m512 s = _mm512_maskz_loadu_ps (k, ep->fscale + n0);
      __m512 b = ep->bias ? _mm512_maskz_loadu_ps (k, ep->bias + n0)
          : _mm512_setzero_ps ();
      __m512 r = _mm512_fmadd_ps (_mm512_cvtepi32_ps (a), s, b);
      _mm512_mask_storeu_ps ((float *) yr + n0, k, r);
      break;
    }
    case SAM_GEMM_I8_OUT_S8:
    case SAM_GEMM_I8_OUT_U8:{
      __m512i mu = _mm512_maskz_loadu_epi32 (k, ep->mult + n0);
      __m512i sh = _mm512_mask_loadu_epi32 (_mm512_set1_epi32 (1), k,
          ep->shift + n0);
      __m512i lo = _mm512_set1_epi64 (ep->out == SAM_GEMM_I8_OUT_S8 ? -128 : 0);
      __m512i hi = _mm512_set1_epi64 (ep->out == SAM_GEMM_I8_OUT_S8 ? 127 : 255);
      __m512i zy = _mm512_set1_epi64 (ep->zy);
      __m512i one = _mm512_set1_epi64 (1);
      for (int h = 0; h < 2; h++) {
        int nv = nvalid - 8 * h;
        if (nv <= 0)
          break;
        __m256i a8 = h ? _mm512_extracti64x4_epi64 (a, 1)
            : _mm512_castsi512_si256 (a);
        __m256i m8 = h ? _mm512_extracti64x4_epi64 (mu, 1)
            : _mm512_castsi512_si256 (mu);
        __m256i s8 = h ? _mm512_extracti64x4_epi64 (sh, 1)
            : _mm512_castsi512_si256 (sh);
        __m512i s64 = _mm512_cvtepi32_epi64 (s8);
        __m512i t = _mm512_mullo_epi64 (_mm512_cvtepi32_epi64 (a8),
            _mm512_cvtepi32_epi64 (m8));
        t = _mm512_add_epi64 (t, _mm512_sllv_epi64 (one,
                _mm512_sub_epi64 (s64, one)));
        t = _mm512_srav_epi64 (t, s64);
        t = _mm512_add_epi64 (t, zy);
        t = _mm512_min_epi64 (_mm512_max_epi64 (t, lo), hi);
        __mmask8 k8 = nv >= 8 ? 0xff : (__mmask8) ((1u << nv) - 1);
        _mm512_mask_cvtepi64_storeu_epi8 (yr + n0 + 8 * h, k8, t);
      }
      break;
    }
  }
}

ALWAYS_INLINE T_AVX512 void
tile_512 (const GemmCtx * c, const int MR, const int NB, const uint8_t * xt,
    int64_t ldx, int64_t m0, int nt)
{
  const SamGemmI8Weights *w = c->w;
  const int K = w->K, K4 = w->K4;
  const int8_t *wp0 = w->packed + (size_t) (2 * nt) * K4 * 64;
  const int8_t *wp1 = wp0 + (size_t) K4 *64;
  const uint8_t *xr[MR512];
  __m512i c0[MR512], c1[MR512];
  for (int i = 0; i < MR; i++) {
    xr[i] = xt + i * ldx;
    c0[i] = _mm512_setzero_si512 ();
    c1[i] = _mm512_setzero_si512 ();
  }
  const int K4f = K / 4;
  const uint32_t xor4 = c->xor4;
#define STEP512(LOADX) do { \
    __m512i w0 = _mm512_load_si512 ((const void *) (wp0 + (size_t) k4 * 64)); \
    __m512i w1 = NB == 2 ? _mm512_load_si512 ((const void *) (wp1 + \
            (size_t) k4 * 64)) : w0; \
    for (int i = 0; i < MR; i++) { \
      uint32_t xv; \
      LOADX; \
      __m512i xb = _mm512_set1_epi32 ((int32_t) xv); \
      c0[i] = _mm512_dpbusd_epi32 (c0[i], xb, w0); \
      if (NB == 2) \
        c1[i] = _mm512_dpbusd_epi32 (c1[i], xb, w1); \
    } \
  } while (0)
  int k4 = 0;
  for (; k4 < K4f; k4++)
    STEP512 ((memcpy (&xv, xr[i] + 4 * k4, 4), xv ^= xor4));
  if (k4 < K4)
    STEP512 (xv = load_x4 (xr[i], 4 * k4, K, xor4));
#undef STEP512
  int n0 = 32 * nt;
  int nvalid = w->N - n0;
  for (int i = 0; i < MR; i++) {
    store_row_512 (c, c0[i], m0 + i, n0, nvalid < 16 ? nvalid : 16);
    if (NB == 2)
      store_row_512 (c, c1[i], m0 + i, n0 + 16, nvalid - 16);
  }
}

#define TILE512_CASE(mr) \
  case mr: \
    if (nb == 2) { tile_512 (c, mr, 2, xt, ldx, m0, nt); } \
    else { tile_512 (c, mr, 1, xt, ldx, m0, nt); } \
    break;

/* The full tile (8 rows × 32 channels) written out with named accumulators:
 * GCC keeps tile_512's arrays of vectors in registers only with a vmovdqa
 * per accumulator and step (and spills some), which halves the throughput.
 * Activations are broadcast straight from memory (vpbroadcastd m32, a load)
 * when XOR is the constant 0 (u8 input): no scalar load, xor and GPR
 * broadcast per row and step. */
#define F512_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* acc += dot (u8 x, s8 w) by 4-byte groups. GCC (12) turns every
 * _mm512_dpbusd_epi32 of a loop-carried accumulator into a vmovdqa copy plus
 * the instruction (about 30 extra moves per 16 vpdpbusd here); the tied
 * "+v" operand of the asm keeps each accumulator in place. */
#define DPBUSD512(acc, x, w) \
  __asm__ ("vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (x), "v" (w))

ALWAYS_INLINE T_AVX512 void
tile_512_full (const GemmCtx * c, const uint8_t * xt, int64_t ldx,
    int64_t m0, int nt, const uint32_t XOR)
{
  const SamGemmI8Weights *w = c->w;
  const int K = w->K, K4 = w->K4, K4f = K / 4;
  const int8_t *wp0 = w->packed + (size_t) (2 * nt) * K4 * 64;
  const int8_t *wp1 = wp0 + (size_t) K4 *64;
#define DECL(i) const uint8_t *x##i = xt + i * ldx; \
  __m512i a##i##0 = _mm512_setzero_si512 (), a##i##1 = a##i##0;
  F512_ROWS (DECL)
#undef DECL

#define ROW(i) { \
    uint32_t v; \
    memcpy (&v, x##i + 4 * k4, 4); \
    __m512i xb = _mm512_set1_epi32 ((int32_t) (v ^ XOR)); \
    DPBUSD512 (a##i##0, xb, w0); \
    DPBUSD512 (a##i##1, xb, w1); }
  int k4 = 0;
  for (; k4 < K4f; k4++) {
    __m512i w0 = _mm512_load_si512 ((const void *) (wp0 + (size_t) k4 * 64));
    __m512i w1 = _mm512_load_si512 ((const void *) (wp1 + (size_t) k4 * 64));
    F512_ROWS (ROW)
  }
#undef ROW
  if (k4 < K4) {
    __m512i w0 = _mm512_load_si512 ((const void *) (wp0 + (size_t) k4 * 64));
    __m512i w1 = _mm512_load_si512 ((const void *) (wp1 + (size_t) k4 * 64));
#define ROW(i) { \
    __m512i xb = _mm512_set1_epi32 ((int32_t) load_x4 (x##i, 4 * k4, K, XOR)); \
    DPBUSD512 (a##i##0, xb, w0); \
    DPBUSD512 (a##i##1, xb, w1); }
    F512_ROWS (ROW)
#undef ROW
  }
  int n0 = 32 * nt;
  const SamGemmI8Epilogue *ep = c->ep;
  if (ep->out == SAM_GEMM_I8_OUT_F32) {
    /* the per-channel vectors once per tile, not once per row */
    const __m512i t0 = _mm512_loadu_si512 ((const void *) (c->colterm + n0));
    const __m512i t1 = _mm512_loadu_si512 ((const void *) (c->colterm + n0 +
            16));
    const __m512 s0 = _mm512_loadu_ps (ep->fscale + n0);
    const __m512 s1 = _mm512_loadu_ps (ep->fscale + n0 + 16);
    const __m512 b0 = ep->bias ? _mm512_loadu_ps (ep->bias + n0)
        : _mm512_setzero_ps ();
    const __m512 b1 = ep->bias ? _mm512_loadu_ps (ep->bias + n0 + 16)
        : _mm512_setzero_ps ();
#define STORE(i) { \
    float *yr = (float *) (c->y + (m0 + i) * c->ldy_bytes) + n0; \
    _mm512_storeu_ps (yr, _mm512_fmadd_ps (_mm512_cvtepi32_ps ( \
                _mm512_add_epi32 (a##i##0, t0)), s0, b0)); \
    _mm512_storeu_ps (yr + 16, _mm512_fmadd_ps (_mm512_cvtepi32_ps ( \
                _mm512_add_epi32 (a##i##1, t1)), s1, b1)); }
    F512_ROWS (STORE)
#undef STORE
    return;
  }
#define STORE(i) \
  store_row_512 (c, a##i##0, m0 + i, n0, 16); \
  store_row_512 (c, a##i##1, m0 + i, n0 + 16, 16);
  F512_ROWS (STORE)
#undef STORE
}

/* One row tile (mr rows at m0, x rows at xt) against channel tile nt. */
static T_AVX512 void
tile_512_any (const GemmCtx * c, int mr, const uint8_t * xt, int64_t ldx,
    int64_t m0, int nt)
{
  int nb = c->w->N16 - 2 * nt >= 2 ? 2 : 1;
  /* full tiles: 16 real channels in each half (store_row_512 would mask) */
  if (mr == MR512 && c->w->N - 32 * nt >= 32) {
    if (c->xor4)
      tile_512_full (c, xt, ldx, m0, nt, 0x80808080u);
    else
      tile_512_full (c, xt, ldx, m0, nt, 0);
    return;
  }
  switch (mr) {
    /* *INDENT-OFF* */
    TILE512_CASE (8) TILE512_CASE (7) TILE512_CASE (6) TILE512_CASE (5)
    TILE512_CASE (4) TILE512_CASE (3) TILE512_CASE (2) TILE512_CASE (1)
    /* *INDENT-ON* */
  }
}

static T_AVX512 void
task_512 (void *ctx, int64_t begin, int64_t end)
{
  const GemmCtx *c = ctx;
  for (int64_t t = begin; t < end; t++) {
    int64_t mt = t / c->n_ntiles;
    int nt = (int) (t % c->n_ntiles);
    int64_t m0 = mt * MR512;
    int mr = (int) (c->M - m0 < MR512 ? c->M - m0 : MR512);
    tile_512_any (c, mr, c->x + m0 * c->ldx, c->ldx, m0, nt);
  }
}

/* ------------------------------------------------------------------------ */
/* AVX-VNNI (ymm vpdpbusd): row blocks as AVX2's below, micro-tiles of
 * 6 rows × 16 channels → 12 accumulators (gemm-i8-vnni256.inc). */

#define MRVNNI 6

/* The ymm float epilogue of the AVX-VNNI and AVX2 tiles (AVX2 + FMA only, so
 * it inlines into both targets). */
ALWAYS_INLINE T_AVX2 void
epilogue_tile_ymm (const GemmCtx * c, int32_t * acc, int mr, int64_t m0,
    int n0, int n1)
{
  const SamGemmI8Epilogue *ep = c->ep;
  if (ep->out == SAM_GEMM_I8_OUT_F32 && n1 - n0 == 16) {
    for (int i = 0; i < mr; i++) {
      float *yr = (float *) (c->y + (m0 + i) * c->ldy_bytes);
      for (int h = 0; h < 16; h += 8) {
        __m256i a = _mm256_add_epi32 (_mm256_loadu_si256 ((const void *)
                (acc + 16 * i + h)), _mm256_loadu_si256 ((const void *)
                (c->colterm + n0 + h)));
        __m256 b = ep->bias ? _mm256_loadu_ps (ep->bias + n0 + h)
            : _mm256_setzero_ps ();
        _mm256_storeu_ps (yr + n0 + h,
            _mm256_fmadd_ps (_mm256_cvtepi32_ps (a),
                _mm256_loadu_ps (ep->fscale + n0 + h), b));
      }
    }
  } else {
    tile_epilogue_scalar (c, acc, 16, mr, m0, n0, n1);
  }
}

/* epilogue_tile_ymm's F32 case straight from the accumulator registers:
 * the same operations, without the round trip of the tile through a
 * stack buffer (at K = 96, a fifth of the micro-tile's instructions).
 * The channel constants are loaded once per micro-tile (y's stores may
 * alias the epilogue, so the compiler would reload them per row). */
typedef struct {
  __m256i t0, t1;               /* colterm */
  __m256 s0, s1, b0, b1;        /* fscale, bias */
} F32Ymm;

ALWAYS_INLINE T_AVX2 F32Ymm
f32_consts_ymm (const GemmCtx * c, int n0)
{
  const SamGemmI8Epilogue *ep = c->ep;
  F32Ymm k;
  k.t0 = _mm256_loadu_si256 ((const void *) (c->colterm + n0));
  k.t1 = _mm256_loadu_si256 ((const void *) (c->colterm + n0 + 8));
  k.s0 = _mm256_loadu_ps (ep->fscale + n0);
  k.s1 = _mm256_loadu_ps (ep->fscale + n0 + 8);
  k.b0 = ep->bias ? _mm256_loadu_ps (ep->bias + n0) : _mm256_setzero_ps ();
  k.b1 = ep->bias ? _mm256_loadu_ps (ep->bias + n0 + 8) :
      _mm256_setzero_ps ();
  return k;
}

ALWAYS_INLINE T_AVX2 void
f32_row_ymm (const F32Ymm * k, __m256i a0, __m256i a1, float *yr)
{
  _mm256_storeu_ps (yr, _mm256_fmadd_ps (_mm256_cvtepi32_ps
          (_mm256_add_epi32 (a0, k->t0)), k->s0, k->b0));
  _mm256_storeu_ps (yr + 8, _mm256_fmadd_ps (_mm256_cvtepi32_ps
          (_mm256_add_epi32 (a1, k->t1)), k->s1, k->b1));
}

#define VNNI_SFX vex
#define VNNI_TGT T_AVXVNNI
#define VNNI_DP(a, b, c) _mm256_dpbusd_avx_epi32 (a, b, c)
#include "kernels/gemm-i8-vnni256.inc"
#undef VNNI_SFX
#undef VNNI_TGT
#undef VNNI_DP
#define VNNI_SFX evex
#define VNNI_TGT T_EVEX256
#define VNNI_DP(a, b, c) _mm256_dpbusd_epi32 (a, b, c)
#include "kernels/gemm-i8-vnni256.inc"
#undef VNNI_SFX
#undef VNNI_TGT
#undef VNNI_DP

/* ------------------------------------------------------------------------ */
/* AVX2: u8 and s8 widened to s16, vpmaddwd on k-pairs (exact; vpmaddubsw
 * would saturate at 2·255·127). A row block of up to MRAVX2 rows goes
 * through every channel tile of the call: its rows are widened to u16 once
 * (x16), each channel tile's weights once per block into k-pair order
 * (w16, widen-avx2.h; 128 bytes per 4 k, in L1 or L2), and micro-tiles of
 * 4 rows × 16 channels then run on plain loads and vpmaddwd + vpaddd
 * alone. Before, a 2 × 16 tile widened its weights and rows inside the k
 * loop (a third of its µops) and read the whole weight matrix per 2 rows:
 * 53-58 % of the vpmaddwd peak on the model's shapes. */

/* rows of a block: more rows share each widened weight tile (48: 3 % of
 * the µops widen weights, against 10 % at 16), fewer leave tasks for
 * both threads on short matrices; see ctx_setup */
#define MRAVX2 48
/* rows of a micro-tile: 8 accumulators, 2 weight vectors, the broadcast
 * and the product (12 of the 16 ymm registers; 6 rows spill, and ran
 * slower); rows_avx2's remainder cases assume 4 */
#define MICRO_AVX2 4

/* MR rows of x16 (row stride ldx16 u16) against one w16 tile */
ALWAYS_INLINE T_AVX2 void
micro_avx2 (const GemmCtx * c, const int MR, const uint16_t * x16,
    int64_t ldx16, const int16_t * w16, int64_t m0, int n0, int n1)
{
  const int K4 = c->w->K4;
  /* named accumulators a<row><half> (MR is a constant at every call: the
   * unused rows fold away), each added to in place by the asm's tied
   * operand: with plain adds, GCC 12 moved every accumulator between
   * registers after each one (arrays and named vectors alike) */
#define ADD_ACC(acc, v) __asm__ ("vpaddd %1, %0, %0" : "+x" (acc) : "x" (v))
#define ROWS_AVX2(X) X(0) X(1) X(2) X(3)
#define DECL(i) __m256i a##i##0 = _mm256_setzero_si256 (), a##i##1 = a##i##0;
  ROWS_AVX2 (DECL)
#undef DECL
  /* k-pair p of k4: its 8 + 8 channels at w16 + 64 k4 + 32 p, each row's
   * two codes at x16 + 4 k4 + 2 p (pointer steps: the address arithmetic
   * of an index loop cost as many µops as the products) */
#define ROW(i) if (i < MR) { \
      int32_t xp; \
      memcpy (&xp, xk + i * ldx16, 4); \
      const __m256i xb = _mm256_set1_epi32 (xp); \
      ADD_ACC (a##i##0, _mm256_madd_epi16 (xb, w0)); \
      ADD_ACC (a##i##1, _mm256_madd_epi16 (xb, w1)); }
  /* one pair per iteration: with two, GCC summed both pairs' products
   * before the accumulators and spilled 4 of them to the stack */
  const int16_t *wk = w16;
  const uint16_t *xk = x16;
  for (int kp = 0; kp < 2 * K4; kp++, wk += 32, xk += 2) {
    const __m256i w0 = _mm256_load_si256 ((const void *) wk);
    const __m256i w1 = _mm256_load_si256 ((const void *) (wk + 16));
    ROWS_AVX2 (ROW)
  }
#undef ROW
  if (c->ep->out == SAM_GEMM_I8_OUT_F32 && n1 - n0 == 16) {
    const F32Ymm k = f32_consts_ymm (c, n0);
    float *y = (float *) (c->y + m0 * c->ldy_bytes) + n0;
    const int64_t ldy = c->ldy_bytes / (int64_t) sizeof (float);
#define ROW(i) if (i < MR) f32_row_ymm (&k, a##i##0, a##i##1, y + i * ldy);
    ROWS_AVX2 (ROW)
#undef ROW
    return;
  }
  int32_t acc[MICRO_AVX2 * 16] __attribute__((aligned (32)));
#define ROW(i) if (i < MR) { \
    _mm256_store_si256 ((void *) (acc + 16 * i), a##i##0); \
    _mm256_store_si256 ((void *) (acc + 16 * i + 8), a##i##1); }
  ROWS_AVX2 (ROW)
#undef ROW
#undef ROWS_AVX2
#undef ADD_ACC
  epilogue_tile_ymm (c, acc, MR, m0, n0, n1);
}

/* mr ≤ MRAVX2 rows at m0 (x rows at xt, stride ldx, as bytes ^ xor4)
 * against channel tiles [nt0, nt1) */
static T_AVX2 void
rows_avx2 (const GemmCtx * c, int mr, const uint8_t * xt, int64_t ldx,
    int64_t m0, int nt0, int nt1)
{
  const SamGemmI8Weights *w = c->w;
  const int K = w->K, K4 = w->K4;
  const int64_t ldx16 = (int64_t) K4 * 4;
  /* sizes multiples of the alignment, as C11 asks of aligned_alloc */
  uint16_t *x16 = aligned_alloc (32, ((size_t) mr * ldx16 * 2 + 63) & ~(size_t) 31);
  int16_t *w16 = aligned_alloc (32, (size_t) K4 * 128 + 32);
  if (!x16 || !w16)
    g_error ("gemm-i8: out of memory");
  const __m128i x8 = _mm_set1_epi8 ((char) (c->xor4 & 0xff));
  for (int i = 0; i < mr; i++) {
    const uint8_t *s = xt + i * ldx;
    uint16_t *d = x16 + i * ldx16;
    int k = 0;
    for (; k + 16 <= K; k += 16)
      _mm256_storeu_si256 ((void *) (d + k), _mm256_cvtepu8_epi16
          (_mm_xor_si128 (_mm_loadu_si128 ((const void *) (s + k)), x8)));
    for (; k < K; k++)
      d[k] = (uint8_t) (s[k] ^ (c->xor4 & 0xff));
    /* the K padding: zero, as the packed weights are there */
    for (; k < ldx16; k++)
      d[k] = 0;
  }
  for (int nt = nt0; nt < nt1; nt++) {
    sam_widen_k4_pairs_avx2 (w->packed + (size_t) nt * K4 * 64, K4, w16);
    const int n0 = 16 * nt, n1 = n0 + 16 < w->N ? n0 + 16 : w->N;
    int i = 0;
    for (; i + MICRO_AVX2 <= mr; i += MICRO_AVX2)
      micro_avx2 (c, MICRO_AVX2, x16 + i * ldx16, ldx16, w16, m0 + i, n0,
          n1);
    switch (mr - i) {
      /* *INDENT-OFF* */
#define MICRO_CASE(r) case r: micro_avx2 (c, r, x16 + i * ldx16, ldx16, w16, \
          m0 + i, n0, n1); break;
      MICRO_CASE (3) MICRO_CASE (2) MICRO_CASE (1)
#undef MICRO_CASE
      /* *INDENT-ON* */
    }
  }
  free (x16);
  free (w16);
}

/* one task = one row block against every channel tile (x read once) */
static T_AVX2 void
task_avx2 (void *ctx, int64_t begin, int64_t end)
{
  const GemmCtx *c = ctx;
  for (int64_t mt = begin; mt < end; mt++) {
    int64_t m0 = mt * c->mr;
    int mr = (int) (c->M - m0 < c->mr ? c->M - m0 : c->mr);
    rows_avx2 (c, mr, c->x + m0 * c->ldx, c->ldx, m0, 0, (int) c->n_ntiles);
  }
}

#endif /* SAM_X86 */

#ifdef SAM_ARM64
/* ------------------------------------------------------------------------ */
/* NEON dot product: 4 rows × 16 channels → 16 int32x4 accumulators.
 *
 * sdot multiplies s8 by s8, so the codes go in as x − 128 (x ^ 0x80; s8
 * activations, already x ^ 0x80 in xor4, come back to their own bytes)
 * and each channel's constant (make_colterm) carries 128 · rowsum[n]:
 * Σ x · w = Σ (x − 128) · w + 128 · Σ w, all mod 2^32 as the other
 * variants' sums. The weight block of one k4 is four 16-byte vectors of 4 channels
 * × 4 k; the 4 rows' 4 bytes of k4 are one 16-byte vector (packed once
 * per row block, [K4][4 rows][4]), and vdotq_laneq_s32 takes row r from
 * its lane r. The K tail's zero padding meets zero weights. */

#define MRDOT 16                /* rows per block: 4 groups of 4 */

/* rows [r0, r0 + 4) of the block (fewer at the end: zero rows) into xp */
static void
pack_x_dot (const uint8_t * xt, int64_t ldx, int rows, int K, int K4,
    uint32_t flip, uint8_t * xp)
{
  for (int k4 = 0; k4 < K4; k4++)
    for (int r = 0; r < 4; r++) {
      uint32_t v = r < rows ? load_x4 (xt + r * ldx, 4 * k4, K, 0) : 0;
      v ^= flip;
      memcpy (xp + (size_t) k4 * 16 + 4 * r, &v, 4);
    }
}

T_DOT void
sam_k_dot4x16_neondot (const int8_t * wp, const int8_t * xp, int K4,
    int32_t * acc)
{
  int32x4_t a00 = vdupq_n_s32 (0), a01 = a00, a02 = a00, a03 = a00;
  int32x4_t a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  int32x4_t a20 = a00, a21 = a00, a22 = a00, a23 = a00;
  int32x4_t a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  for (int k4 = 0; k4 < K4; k4++) {
    const int8_t *wk = wp + (size_t) k4 * 64;
    const int8x16_t w0 = vld1q_s8 (wk), w1 = vld1q_s8 (wk + 16);
    const int8x16_t w2 = vld1q_s8 (wk + 32), w3 = vld1q_s8 (wk + 48);
    const int8x16_t x = vld1q_s8 (xp + (size_t) k4 * 16);
#define ROWDOT(r) \
    a##r##0 = vdotq_laneq_s32 (a##r##0, w0, x, r); \
    a##r##1 = vdotq_laneq_s32 (a##r##1, w1, x, r); \
    a##r##2 = vdotq_laneq_s32 (a##r##2, w2, x, r); \
    a##r##3 = vdotq_laneq_s32 (a##r##3, w3, x, r);
    ROWDOT (0) ROWDOT (1) ROWDOT (2) ROWDOT (3)
#undef ROWDOT
  }
#define ROWST(r) \
  vst1q_s32 (acc + 16 * r, a##r##0); \
  vst1q_s32 (acc + 16 * r + 4, a##r##1); \
  vst1q_s32 (acc + 16 * r + 8, a##r##2); \
  vst1q_s32 (acc + 16 * r + 12, a##r##3);
  ROWST (0) ROWST (1) ROWST (2) ROWST (3)
#undef ROWST
}

/* sam_k_dot4x16_neondot without the dot product: for row r and a weight
 * vector of channels c0..c3 (4 bytes each), vmull_s8 of its low half by
 * the row's 4 bytes twice gives c0's and c1's 8 products (exact in s16:
 * |(x − 128) w| ≤ 2^14), vpadalq_s16 adds neighbours into 4 int32 lanes
 * (c0: 2, c1: 2), and one vpaddq_s32 at the end makes the channels' sums:
 * sdot's sums, mod 2^32. Half the 16 channels per pass keeps the 16
 * accumulators, 2 weight vectors and the row bytes in registers. */
static inline void
dot4x8_neon (const int8_t * wp, const int8_t * xp, int K4, int32_t * acc)
{
  int32x4_t l[4][2], h[4][2];
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 2; j++)
      l[r][j] = h[r][j] = vdupq_n_s32 (0);
  for (int k4 = 0; k4 < K4; k4++) {
    const int8_t *wk = wp + (size_t) k4 * 64;
    const int8x16_t w0 = vld1q_s8 (wk), w1 = vld1q_s8 (wk + 16);
    const int32x4_t x = vreinterpretq_s32_s8 (vld1q_s8 (xp + (size_t) k4 *
            16));
#define ROWMUL(r) { \
      const int8x8_t xr = vreinterpret_s8_s32 (vdup_laneq_s32 (x, r)); \
      l[r][0] = vpadalq_s16 (l[r][0], vmull_s8 (vget_low_s8 (w0), xr)); \
      h[r][0] = vpadalq_s16 (h[r][0], vmull_s8 (vget_high_s8 (w0), xr)); \
      l[r][1] = vpadalq_s16 (l[r][1], vmull_s8 (vget_low_s8 (w1), xr)); \
      h[r][1] = vpadalq_s16 (h[r][1], vmull_s8 (vget_high_s8 (w1), xr)); }
    ROWMUL (0) ROWMUL (1) ROWMUL (2) ROWMUL (3)
#undef ROWMUL
  }
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 2; j++)
      vst1q_s32 (acc + 16 * r + 4 * j, vpaddq_s32 (l[r][j], h[r][j]));
}

void
sam_k_dot4x16_neon (const int8_t * wp, const int8_t * xp, int K4,
    int32_t * acc)
{
  /* the weights' k4 blocks are 64 bytes: channels 0–7, then 8–15 */
  dot4x8_neon (wp, xp, K4, acc);
  dot4x8_neon (wp + 32, xp, K4, acc + 8);
}

/* tile_epilogue_scalar on a whole 16-channel tile with float output, in
 * NEON: the column terms added (wrapping, as the scalar int32 adds), the
 * conversion (round to nearest) and one fused multiply-add from the bias,
 * fmaf's bits. At Hiera's first stage (K = 96) the scalar form cost about
 * as many instructions per output as the dot products. */
static void
tile_epilogue_neon (const GemmCtx * c, int32_t * acc, int mr, int64_t m0,
    int n0, int n1)
{
  const SamGemmI8Epilogue *ep = c->ep;
  if (ep->out != SAM_GEMM_I8_OUT_F32 || n1 - n0 != 16) {
    tile_epilogue_scalar (c, acc, 16, mr, m0, n0, n1);
    return;
  }
  int32x4_t ct[4];
  float32x4_t sc[4], bi[4];
  for (int v = 0; v < 4; v++) {
    ct[v] = vld1q_s32 (c->colterm + n0 + 4 * v);
    sc[v] = vld1q_f32 (ep->fscale + n0 + 4 * v);
    bi[v] = ep->bias ? vld1q_f32 (ep->bias + n0 + 4 * v) : vdupq_n_f32 (0.f);
  }
  for (int i = 0; i < mr; i++) {
    float *yr = (float *) (c->y + (m0 + i) * c->ldy_bytes) + n0;
    for (int v = 0; v < 4; v++) {
      const int32x4_t a = vaddq_s32 (vld1q_s32 (acc + i * 16 + 4 * v),
          ct[v]);
      vst1q_f32 (yr + 4 * v, vfmaq_f32 (bi[v], vcvtq_f32_s32 (a), sc[v]));
    }
  }
}

/* mr rows of codes at xt (row stride ldx; c->xor4 applies) against every
 * channel tile, output rows from m0 */
static void
rows_neondot (const GemmCtx * c, int mr, const uint8_t * xt, int64_t ldx,
    int64_t m0)
{
  const SamGemmI8Weights *w = c->w;
  const int K4 = w->K4;
  /* (at least 16 bytes: aligned_alloc may return NULL for 0 at K = 0) */
  uint8_t *xp = aligned_alloc (16, (size_t) MAX (K4, 1) * 16 *
      ((mr + 3) / 4));
  if (!xp)
    g_error ("gemm-i8: out of memory");
  for (int r0 = 0; r0 < mr; r0 += 4)
    pack_x_dot (xt + r0 * ldx, ldx, MIN (4, mr - r0), w->K, K4,
        c->xor4 ^ 0x80808080u, xp + (size_t) (r0 / 4) * K4 * 16);
  int32_t acc[64];
  const SamDot4x16Fn dot = c->isa == SAM_ISA_NEONDOT ?
      sam_k_dot4x16_neondot : sam_k_dot4x16_neon;
  for (int nt = 0; nt < c->n_ntiles; nt++) {
    const int n0 = 16 * nt, n1 = MIN (n0 + 16, w->N);
    for (int r0 = 0; r0 < mr; r0 += 4) {
      const int rows = MIN (4, mr - r0);
      dot (w->packed + (size_t) nt * K4 * 64,
          (const int8_t *) xp + (size_t) (r0 / 4) * K4 * 16, K4, acc);
      tile_epilogue_neon (c, acc, rows, m0 + r0, n0, n1);
    }
  }
  free (xp);
}

/* one task = one row block against every channel tile */
static void
task_neondot (void *ctx, int64_t begin, int64_t end)
{
  const GemmCtx *c = ctx;
  for (int64_t mt = begin; mt < end; mt++) {
    int64_t m0 = mt * c->mr;
    int mr = (int) (c->M - m0 < c->mr ? c->M - m0 : c->mr);
    rows_neondot (c, mr, c->x + m0 * c->ldx, c->ldx, m0);
  }
}
#endif /* SAM_ARM64 */

/* ------------------------------------------------------------------------ */
/* Plain C on the packed layout (the "ref" ISA of the dispatcher; the oracle
 * sam_k_gemm_i8_ref works on unpacked weights). */

static void
tile_c (const GemmCtx * c, const uint8_t * xr, int64_t m, int nt)
{
  const SamGemmI8Weights *w = c->w;
  int32_t acc[16];
  const int8_t *wp = w->packed + (size_t) nt * w->K4 * 64;
  memset (acc, 0, sizeof acc);
  for (int k4 = 0; k4 < w->K4; k4++) {
    uint32_t xv = load_x4 (xr, 4 * k4, w->K, c->xor4);
    const int8_t *wk = wp + (size_t) k4 * 64;
    for (int j = 0; j < 16; j++)
      for (int b = 0; b < 4; b++)
        acc[j] = (int32_t) ((uint32_t) acc[j] + (uint32_t) ((int32_t)
                ((xv >> (8 * b)) & 0xff) * wk[4 * j + b]));
  }
  int n0 = 16 * nt, n1 = n0 + 16 < w->N ? n0 + 16 : w->N;
  tile_epilogue_scalar (c, acc, 16, 1, m, n0, n1);
}

static void
task_c (void *ctx, int64_t begin, int64_t end)
{
  const GemmCtx *c = ctx;
  for (int64_t t = begin; t < end; t++) {
    int64_t m = t / c->n_ntiles;
    tile_c (c, c->x + m * c->ldx, m, (int) (t % c->n_ntiles));
  }
}

/* ------------------------------------------------------------------------ */

/* Activation codes (gemm-i8.h): the reference first, then the SIMD rows. */

void
sam_k_quant_act_u8_ref (const SamGemmI8ActQuant * q, const float *x,
    uint8_t * d, int K)
{
  for (int k = 0; k < K; k++) {
    int j = q->per_channel ? k : 0;
    float v = x[k] * q->inv[j] + q->z[j];
    v = v > 0.f ? v : 0.f;      /* NaN → 0 */
    v = v < q->qmax ? v : q->qmax;
    d[k] = (uint8_t) (int) (v + 0.5f);
  }
}

/* the SIMD rows' tail: codes k..K−1 by the reference */
static inline void
quant_act_tail (const SamGemmI8ActQuant * q, const float *x, uint8_t * d,
    int k, int K)
{
  if (k >= K)
    return;
  SamGemmI8ActQuant t = *q;
  if (t.per_channel) {
    t.inv += k;
    t.z += k;
  }
  sam_k_quant_act_u8_ref (&t, x + k, d + k, K - k);
}

#ifdef SAM_X86
/* vmaxps returns its second operand when either is NaN: max (v, 0) maps
 * NaN to 0 like the reference's v > 0 ? v : 0. Separate multiply and add
 * (no FMA), as the reference. */
static T_AVX512 void
quant_act_512 (const SamGemmI8ActQuant * q, const float *x, uint8_t * d,
    int K)
{
  const __m512 zero = _mm512_setzero_ps (), half = _mm512_set1_ps (0.5f);
  const __m512 qmax = _mm512_set1_ps (q->qmax);
  const bool pc = q->per_channel;
  const __m512 inv1 = _mm512_set1_ps (q->inv[0]), z1 = _mm512_set1_ps (q->z[0]);
  for (int k = 0; k < K; k += 16) {
    __mmask16 m = K - k >= 16 ? 0xffff : (__mmask16) ((1u << (K - k)) - 1);
    __m512 v = _mm512_maskz_loadu_ps (m, x + k);
    __m512 inv = pc ? _mm512_maskz_loadu_ps (m, q->inv + k) : inv1;
    __m512 z = pc ? _mm512_maskz_loadu_ps (m, q->z + k) : z1;
    v = _mm512_add_ps (_mm512_mul_ps (v, inv), z);
    v = _mm512_min_ps (_mm512_max_ps (v, zero), qmax);
    __m512i c = _mm512_cvttps_epi32 (_mm512_add_ps (v, half));
    /* vpmovdb to a register then a plain store: the masked memory form is
     * much slower on Zen (only the tail needs the mask) */
    if (m == 0xffff)
      _mm_storeu_si128 ((__m128i *) (d + k), _mm512_cvtepi32_epi8 (c));
    else
      _mm512_mask_cvtepi32_storeu_epi8 (d + k, m, c);
  }
}

static T_AVX2 void
quant_act_avx2 (const SamGemmI8ActQuant * q, const float *x, uint8_t * d,
    int K)
{
  const __m256 zero = _mm256_setzero_ps (), half = _mm256_set1_ps (0.5f);
  const __m256 qmax = _mm256_set1_ps (q->qmax);
  const bool pc = q->per_channel;
  const __m256 inv1 = _mm256_set1_ps (q->inv[0]), z1 = _mm256_set1_ps (q->z[0]);
  /* vmaxps ymm: NaN in the first operand gives the second (0) */
#define CODES8(k) _mm256_cvttps_epi32 (_mm256_add_ps (_mm256_min_ps ( \
            _mm256_max_ps (_mm256_add_ps (_mm256_mul_ps (_mm256_loadu_ps ( \
                        x + (k)), pc ? _mm256_loadu_ps (q->inv + (k)) : \
                    inv1), pc ? _mm256_loadu_ps (q->z + (k)) : z1), zero), \
            qmax), half))
  int k = 0;
  /* 32 codes per store: two saturating packs (exact on codes in
   * [0, 255]) put each 128-bit lane's four codes of every vector side by
   * side, one dword permute restores their order */
  const __m256i ord = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  for (; k + 32 <= K; k += 32)
    _mm256_storeu_si256 ((__m256i *) (d + k), _mm256_permutevar8x32_epi32
        (_mm256_packus_epi16 (_mm256_packus_epi32 (CODES8 (k), CODES8 (k +
                        8)), _mm256_packus_epi32 (CODES8 (k + 16),
                    CODES8 (k + 24))), ord));
  for (; k + 8 <= K; k += 8) {
    __m256i c = CODES8 (k);
    __m128i w16 = _mm_packus_epi32 (_mm256_castsi256_si128 (c),
        _mm256_extracti128_si256 (c, 1));
    _mm_storel_epi64 ((__m128i *) (d + k), _mm_packus_epi16 (w16, w16));
  }
#undef CODES8
  quant_act_tail (q, x, d, k, K);
}

#endif

#ifdef SAM_ARM64
/* The same on NEON (any aarch64; used with the NEONDOT kernels): a
 * product then a sum, no fused multiply-add, as the reference. vmaxnm
 * returns the number when the other operand is NaN, so NaN gives 0 as
 * the reference's v > 0 ? v : 0; vcvtq truncates like (int). */
static void
quant_act_neon (const SamGemmI8ActQuant * q, const float *x, uint8_t * d,
    int K)
{
  const float32x4_t zero = vdupq_n_f32 (0.f), half = vdupq_n_f32 (0.5f);
  const float32x4_t qmax = vdupq_n_f32 (q->qmax);
  const bool pc = q->per_channel;
  const float32x4_t inv1 = vdupq_n_f32 (q->inv[0]), z1 = vdupq_n_f32 (q->z[0]);
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    uint16x4_t h[2];
    for (int u = 0; u < 2; u++) {
      const int kk = k + 4 * u;
      float32x4_t v = vld1q_f32 (x + kk);
      const float32x4_t inv = pc ? vld1q_f32 (q->inv + kk) : inv1;
      const float32x4_t z = pc ? vld1q_f32 (q->z + kk) : z1;
      v = vaddq_f32 (vmulq_f32 (v, inv), z);
      v = vminq_f32 (vmaxnmq_f32 (v, zero), qmax);
      h[u] = vmovn_u32 (vcvtq_u32_f32 (vaddq_f32 (v, half)));
    }
    vst1_u8 (d + k, vmovn_u16 (vcombine_u16 (h[0], h[1])));
  }
  quant_act_tail (q, x, d, k, K);
}
#endif

void
sam_k_quant_act_u8_isa (SamIsa isa, const SamGemmI8ActQuant * q,
    const float *x, uint8_t * d, int K)
{
#ifdef SAM_ARM64
  if (sam_isa_is_neon (isa)) {
    quant_act_neon (q, x, d, K);
    return;
  }
#endif
#ifdef SAM_X86
  if (isa == SAM_ISA_AVX512VNNI) {
    quant_act_512 (q, x, d, K);
    return;
  }
  if (isa == SAM_ISA_AVX2 || isa == SAM_ISA_AVXVNNI) {
    quant_act_avx2 (q, x, d, K);
    return;
  }
#endif
  (void) isa;
  sam_k_quant_act_u8_ref (q, x, d, K);
}

/* ------------------------------------------------------------------------ */
/* Drivers */

/* The per-channel constant: bias_i32[n] − zx_u8 · rowsum[n] (wrapping).
 * NEONDOT's sdot sees x − 128, so its constant also carries the
 * 128 · rowsum[n] that gives Σ x · w back: bias − (zx − 128) · rowsum. */
static int32_t *
make_colterm (SamIsa isa, const SamGemmI8Weights * w,
    const SamGemmI8Epilogue * ep, int32_t zx_u)
{
  if (sam_isa_is_neon (isa))
    zx_u -= 128;
  int32_t *colterm = g_new (int32_t, w->N);
  for (int n = 0; n < w->N; n++)
    colterm[n] = (int32_t) ((uint32_t) (ep->bias_i32 ? ep->bias_i32[n] : 0)
        - (uint32_t) zx_u * (uint32_t) w->rowsum[n]);
  return colterm;
}

/* Tile sizes of the variant; returns the task of the plain GEMM. */
static SamPoolFunc
ctx_setup (GemmCtx * c, SamIsa isa)
{
  c->isa = isa;
  c->osize = c->ep->out == SAM_GEMM_I8_OUT_F32
      || c->ep->out == SAM_GEMM_I8_OUT_S32 ? 4 : 1;
  SamPoolFunc fn;
  switch (isa) {
#ifdef SAM_X86
    case SAM_ISA_AVX512VNNI:
      c->mr = MR512;
      c->nr = 32;
      fn = task_512;
      break;
    case SAM_ISA_AVXVNNI:
      /* row blocks as AVX2's (multiples of the 6-row micro-tile) */
      c->mr = c->M >= 8 * MRAVX2 ? MRAVX2 : c->M >= 4 * MRAVX2 ?
          MRAVX2 / 2 : MRAVX2 / 4;
      c->nr = 16;
      fn = sam_gemm_i8_vnni256_vex ()? task_vnni256_vex : task_vnni256_evex;
      break;
    case SAM_ISA_AVX2:
      /* at least about 8 row blocks per call */
      c->mr = c->M >= 8 * MRAVX2 ? MRAVX2 : c->M >= 4 * MRAVX2 ?
          MRAVX2 / 2 : MRAVX2 / 4;
      c->nr = 16;
      fn = task_avx2;
      break;
#endif
#ifdef SAM_ARM64
    case SAM_ISA_NEON:
    case SAM_ISA_NEONDOT:
      c->mr = c->M >= 8 * MRDOT ? MRDOT : c->M >= 4 * MRDOT ? MRDOT / 2 :
          MRDOT / 4;
      c->nr = 16;
      fn = task_neondot;
      break;
#endif
    default:
      c->mr = 1;
      c->nr = 16;
      fn = task_c;
      break;
  }
  c->n_mtiles = (c->M + c->mr - 1) / c->mr;
  c->n_ntiles = (c->w->N + c->nr - 1) / c->nr;
  return fn;
}

void
sam_k_gemm_i8_isa (SamIsa isa, SamPool * pool, const uint8_t * x, int64_t M,
    int64_t ldx, SamGemmI8XType xtype, int32_t zx, const SamGemmI8Weights * w,
    const SamGemmI8Epilogue * ep, void *y, int64_t ldy)
{
  if (M <= 0 || w->N <= 0)
    return;
  int32_t *colterm = make_colterm (isa, w, ep,
      xtype == SAM_GEMM_I8_X_S8 ? zx + 128 : zx);
  GemmCtx c = {
    .x = x,.M = M,.ldx = ldx,
    .xor4 = xtype == SAM_GEMM_I8_X_S8 ? 0x80808080u : 0,
    .w = w,.colterm = colterm,.ep = ep,.y = y,
  };
  SamPoolFunc fn = ctx_setup (&c, isa);
  c.ldy_bytes = ldy * c.osize;
  /* AVX2, AVX-VNNI: a task is a row block against every channel tile */
  const int64_t tiles_per_task = isa == SAM_ISA_AVX2
      || isa == SAM_ISA_AVXVNNI || sam_isa_is_neon (isa) ? c.n_ntiles : 1;
  int64_t n_tasks = c.n_mtiles * c.n_ntiles / tiles_per_task;
  /* about 64k MACs per chunk at least */
  int64_t per = (int64_t) c.mr * c.nr * tiles_per_task * (w->K + 1);
  int64_t grain = per >= 65536 ? 1 : 65536 / per;
  sam_pool_for (pool, n_tasks, grain, fn, &c);
  g_free (colterm);
}

/* sam_k_linear_i8: one task = one row tile against every channel tile. Its
 * rows are quantized into a small buffer first (row stride K4·4, the padding
 * zero: the packed weights are zero there too), which then stays in L1
 * while the weights stream through. */
/* mr rows of codes (row stride ldq) against every channel tile, output
 * rows from m0 */
static void
row_tile (const GemmCtx * c, int mr, const uint8_t * buf, int64_t ldq,
    int64_t m0)
{
#ifdef SAM_X86
  if (c->isa == SAM_ISA_AVX2) {
    rows_avx2 (c, mr, buf, ldq, m0, 0, (int) c->n_ntiles);
    return;
  }
  if (c->isa == SAM_ISA_AVXVNNI) {
    if (sam_gemm_i8_vnni256_vex ())
      rows_vnni256_vex (c, mr, buf, ldq, m0);
    else
      rows_vnni256_evex (c, mr, buf, ldq, m0);
    return;
  }
  if (c->isa == SAM_ISA_AVX512VNNI) {
    for (int nt = 0; nt < c->n_ntiles; nt++)
      tile_512_any (c, mr, buf, ldq, m0, nt);
    return;
  }
#endif
#ifdef SAM_ARM64
  if (sam_isa_is_neon (c->isa)) {
    rows_neondot (c, mr, buf, ldq, m0);
    return;
  }
#endif
  /* plain C: one row at a time, from the buffer's first row */
  for (int nt = 0; nt < c->n_ntiles; nt++)
    for (int i = 0; i < mr; i++)
      tile_c (c, buf + i * ldq, m0 + i, nt);
}

static void
task_linear (void *ctx, int64_t begin, int64_t end)
{
  const GemmCtx *c = ctx;
  const int64_t ldq = (int64_t) c->w->K4 * 4;
  uint8_t *buf = g_malloc0 ((size_t) c->mr * ldq);
  for (int64_t mt = begin; mt < end; mt++) {
    int64_t m0 = mt * c->mr;
    int mr = (int) (c->M - m0 < c->mr ? c->M - m0 : c->mr);
    for (int i = 0; i < mr; i++)
      sam_k_quant_act_u8_isa (c->isa, c->aq, c->xf + (m0 + i) * c->ldxf,
          buf + i * ldq, c->w->K);
    row_tile (c, mr, buf, ldq, m0);
    if (c->ep->rows_done)
      c->ep->rows_done ((float *) (c->y + m0 * c->ldy_bytes),
          c->ldy_bytes / c->osize, mr, c->w->N);
    if (c->ep->rows_at)
      c->ep->rows_at (c->ep->rows_ud, (float *) (c->y + m0 * c->ldy_bytes),
          c->ldy_bytes / c->osize, m0, mr);
  }
  g_free (buf);
}

void
sam_k_linear_i8_isa (SamIsa isa, SamPool * pool, const float *x, int64_t M,
    int64_t ldx, const SamGemmI8ActQuant * q, int32_t zx,
    const SamGemmI8Weights * w, const SamGemmI8Epilogue * ep, void *y,
    int64_t ldy)
{
  if (M <= 0 || w->N <= 0)
    return;
  int32_t *colterm = make_colterm (isa, w, ep, zx);
  GemmCtx c = {
    .M = M,.w = w,.colterm = colterm,.ep = ep,.y = y,
    .xf = x,.ldxf = ldx,.aq = q,
  };
  ctx_setup (&c, isa);
  c.ldy_bytes = ldy * c.osize;
  sam_k_hint_hugepages (y, ((M - 1) * ldy + w->N) * c.osize);
  /* about 1M MACs per chunk at least (one buffer per chunk) */
  int64_t per = (int64_t) c.mr * w->N * (w->K + 1);
  int64_t grain = per >= (1 << 20) ? 1 : (1 << 20) / per;
  sam_pool_for (pool, c.n_mtiles, grain, task_linear, &c);
  g_free (colterm);
}

void
sam_k_linear_i8 (SamPool * pool, const float *x, int64_t M, int64_t ldx,
    const SamGemmI8ActQuant * q, int32_t zx, const SamGemmI8Weights * w,
    const SamGemmI8Epilogue * ep, void *y, int64_t ldy)
{
  sam_k_linear_i8_isa (sam_gemm_i8_isa (), pool, x, M, ldx, q, zx, w, ep, y,
      ldy);
}

/* sam_k_mlp_i8: one task = one row tile through both layers. */
typedef struct {
  GemmCtx c1, c2;
} MlpCtx;

static void
task_mlp (void *ctx, int64_t begin, int64_t end)
{
  const MlpCtx *mc = ctx;
  const GemmCtx *c2 = &mc->c2;
  GemmCtx c1 = mc->c1;          /* its output: this task's hidden tile */
  const int N1 = c1.w->N, mr1 = c1.mr;
  const int64_t ldq1 = (int64_t) c1.w->K4 * 4, ldq2 = (int64_t) c2->w->K4 * 4;
  uint8_t *buf1 = g_malloc0 ((size_t) mr1 * ldq1);
  uint8_t *buf2 = g_malloc0 ((size_t) mr1 * ldq2);
  float *hid = g_new (float, (size_t) mr1 * N1);
  c1.y = (char *) hid;
  c1.ldy_bytes = (int64_t) N1 * sizeof (float);
  for (int64_t mt = begin; mt < end; mt++) {
    int64_t m0 = mt * mr1;
    int mr = (int) (c1.M - m0 < mr1 ? c1.M - m0 : mr1);
    for (int i = 0; i < mr; i++)
      sam_k_quant_act_u8_isa (c1.isa, c1.aq, c1.xf + (m0 + i) * c1.ldxf,
          buf1 + i * ldq1, c1.w->K);
    row_tile (&c1, mr, buf1, ldq1, 0);
    if (c1.ep->rows_done)
      c1.ep->rows_done (hid, N1, mr, N1);
    for (int i = 0; i < mr; i++)
      sam_k_quant_act_u8_isa (c2->isa, c2->aq, hid + (int64_t) i * N1,
          buf2 + i * ldq2, N1);
    row_tile (c2, mr, buf2, ldq2, m0);
  }
  g_free (buf1);
  g_free (buf2);
  g_free (hid);
}

void
sam_k_mlp_i8_isa (SamIsa isa, SamPool * pool, const float *x, int64_t M,
    int64_t ldx, const SamGemmI8Layer * l1, const SamGemmI8Layer * l2,
    float *y, int64_t ldy)
{
  if (M <= 0 || l2->w->N <= 0)
    return;
  g_return_if_fail (l1->w->N == l2->w->K);
  g_return_if_fail (l1->ep->out == SAM_GEMM_I8_OUT_F32
      && l2->ep->out == SAM_GEMM_I8_OUT_F32);
  int32_t *colterm1 = make_colterm (isa, l1->w, l1->ep, l1->zx);
  int32_t *colterm2 = make_colterm (isa, l2->w, l2->ep, l2->zx);
  MlpCtx mc = {
    .c1 = {.M = M,.w = l1->w,.colterm = colterm1,.ep = l1->ep,.xf = x,
        .ldxf = ldx,.aq = l1->q},
    .c2 = {.M = M,.w = l2->w,.colterm = colterm2,.ep = l2->ep,.y = (char *) y,
        .aq = l2->q},
  };
  ctx_setup (&mc.c1, isa);
  ctx_setup (&mc.c2, isa);
  mc.c2.ldy_bytes = ldy * (int64_t) sizeof (float);
  sam_k_hint_hugepages (y, ((M - 1) * ldy + l2->w->N) * sizeof (float));
  int64_t per = (int64_t) mc.c1.mr * (l1->w->N * (l1->w->K + 1) +
      l2->w->N * (l2->w->K + 1));
  int64_t grain = per >= (1 << 20) ? 1 : (1 << 20) / per;
  sam_pool_for (pool, mc.c1.n_mtiles, grain, task_mlp, &mc);
  g_free (colterm1);
  g_free (colterm2);
}

void
sam_k_mlp_i8 (SamPool * pool, const float *x, int64_t M, int64_t ldx,
    const SamGemmI8Layer * l1, const SamGemmI8Layer * l2, float *y,
    int64_t ldy)
{
  sam_k_mlp_i8_isa (sam_gemm_i8_isa (), pool, x, M, ldx, l1, l2, y, ldy);
}

void
sam_k_gemm_i8 (SamPool * pool, const uint8_t * x, int64_t M, int64_t ldx,
    SamGemmI8XType xtype, int32_t zx, const SamGemmI8Weights * w,
    const SamGemmI8Epilogue * ep, void *y, int64_t ldy)
{
  sam_k_gemm_i8_isa (sam_gemm_i8_isa (), pool, x, M, ldx, xtype, zx, w, ep,
      y, ldy);
}
