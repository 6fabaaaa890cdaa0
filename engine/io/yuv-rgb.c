/* yuv-rgb.c — 4:2:0 YUV to RGB24 matching GStreamer videoconvert's fast path.
 *
 * videoconvert builds a double matrix (offsets, range scale, Kr/Kb), scales
 * it by 256 and rounds it to integers; the I420 -> RGB fast path then works
 * in 16-bit lanes: each sample is recentred to a signed byte s = v - 128,
 * widened by byte splatting ((s << 8) | (s & 0xff), i.e. about s × 256.5),
 * multiplied keeping the high 16 bits, summed, saturated to a signed byte
 * and recentred by +128. It ignores the matrix's offset column, so luma is
 * centred on 128 rather than on black: limited-range output comes out about
 * two levels darker than the textbook formula. We keep that on purpose, as
 * the reference predictions were computed on exactly these pixels.
 */
#include "io/yuv-rgb.h"
#include "kernels/cpu.h"
#include "kernels/orc-call.h"
#include "sam-orc.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#define TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif

/* High half of a 16×16-bit signed product; arithmetic shift as in the
 * original lanes (gcc and clang shift signed ints arithmetically). */
static inline gint
mulhs (gint a, gint b)
{
  return (a * b) >> 16;
}

/* The widened value of sample @b after recentring on 128. */
static inline gint
splat (guint8 b)
{
  guint8 t = (guint8) (b - 128);
  return (gint16) ((t << 8) | t);
}

static void
kr_kb (SamYuvMatrix m, double *kr, double *kb)
{
  switch (m) {
    case SAM_YUV_MATRIX_BT709:
      *kr = 0.2126;
      *kb = 0.0722;
      break;
    case SAM_YUV_MATRIX_BT2020:
      *kr = 0.2627;
      *kb = 0.0593;
      break;
    case SAM_YUV_MATRIX_BT601:
    default:
      *kr = 0.2990;
      *kb = 0.1140;
      break;
  }
}

void
sam_yuv_coeffs_init (SamYuvCoeffs * c, SamYuvMatrix matrix,
    gboolean full_range)
{
  double kr, kb;
  kr_kb (matrix, &kr, &kb);
  double kg = 1.0 - kr - kb;
  /* videoconvert divides by the range in single precision (1 / (float)
   * scale); keep that so the rounded coefficients agree. */
  double sy = (double) (1.0f / (full_range ? 255.0f : 219.0f));
  double sc = (double) (1.0f / (full_range ? 255.0f : 224.0f));
  double k = 255.0 * 256.0;

  c->y = (gint16) rint (k * sy);
  c->rv = (gint16) rint (k * sc * 2.0 * (1.0 - kr));
  c->bu = (gint16) rint (k * sc * 2.0 * (1.0 - kb));
  c->gu = (gint16) rint (k * sc * -2.0 * kb * (1.0 - kb) / kg);
  c->gv = (gint16) rint (k * sc * -2.0 * kr * (1.0 - kr) / kg);

  for (gint i = 0; i < 256; i++) {
    gint s = splat ((guint8) i);
    c->ty[i] = (gint16) mulhs (s, c->y);
    c->trv[i] = (gint16) mulhs (s, c->rv);
    c->tbu[i] = (gint16) mulhs (s, c->bu);
    c->tgu[i] = (gint16) mulhs (s, c->gu);
    c->tgv[i] = (gint16) mulhs (s, c->gv);
  }
}

static inline guint8
to_u8 (gint x)
{
  return (guint8) (CLAMP (x, -128, 127) + 128);
}

/* pixels [x0, width) of one row, the plain C form */
static void
row_c (const SamYuvCoeffs * c, gint x0, gint width, const guint8 * py,
    const guint8 * pu, const guint8 * pv, gint cst, guint8 * d)
{
  for (gint x = x0; x < width; x++) {
    gint ly = c->ty[py[x]];
    guint8 cu = pu[cst * (x >> 1)], cv = pv[cst * (x >> 1)];
    d[3 * x + 0] = to_u8 (ly + c->trv[cv]);
    d[3 * x + 1] = to_u8 (ly + c->tgu[cu] + c->tgv[cv]);
    d[3 * x + 2] = to_u8 (ly + c->tbu[cu]);
  }
}

#ifdef SAM_X86
/* splat () of 32 bytes, in 16-bit lanes */
TGT_AVX512 static inline __m512i
splat32 (__m256i b)
{
  const __m512i t = _mm512_cvtepu8_epi16 (_mm256_xor_si256 (b,
          _mm256_set1_epi8 ((char) 0x80)));
  return _mm512_or_si512 (t, _mm512_slli_epi16 (t, 8));
}

/* 16 pixels' R, G, B bytes → 48 bytes of RGB24 */
TGT_AVX512 static inline void
store_rgb16 (__m128i r, __m128i g, __m128i b, guint8 * d)
{
#define M(a, b_, c_, d_, e, f, g_, h, i, j, k, l, m, n, o, p) \
  _mm_setr_epi8 (a, b_, c_, d_, e, f, g_, h, i, j, k, l, m, n, o, p)
  const char Z = (char) 0x80;
  const __m128i r0 = M (0, Z, Z, 1, Z, Z, 2, Z, Z, 3, Z, Z, 4, Z, Z, 5);
  const __m128i g0 = M (Z, 0, Z, Z, 1, Z, Z, 2, Z, Z, 3, Z, Z, 4, Z, Z);
  const __m128i b0 = M (Z, Z, 0, Z, Z, 1, Z, Z, 2, Z, Z, 3, Z, Z, 4, Z);
  const __m128i r1 = M (Z, Z, 6, Z, Z, 7, Z, Z, 8, Z, Z, 9, Z, Z, 10, Z);
  const __m128i g1 = M (5, Z, Z, 6, Z, Z, 7, Z, Z, 8, Z, Z, 9, Z, Z, 10);
  const __m128i b1 = M (Z, 5, Z, Z, 6, Z, Z, 7, Z, Z, 8, Z, Z, 9, Z, Z);
  const __m128i r2 = M (Z, 11, Z, Z, 12, Z, Z, 13, Z, Z, 14, Z, Z, 15, Z, Z);
  const __m128i g2 = M (Z, Z, 11, Z, Z, 12, Z, Z, 13, Z, Z, 14, Z, Z, 15, Z);
  const __m128i b2 = M (10, Z, Z, 11, Z, Z, 12, Z, Z, 13, Z, Z, 14, Z, Z, 15);
#undef M
  _mm_storeu_si128 ((__m128i *) d, _mm_or_si128 (_mm_or_si128
          (_mm_shuffle_epi8 (r, r0), _mm_shuffle_epi8 (g, g0)),
          _mm_shuffle_epi8 (b, b0)));
  _mm_storeu_si128 ((__m128i *) (d + 16), _mm_or_si128 (_mm_or_si128
          (_mm_shuffle_epi8 (r, r1), _mm_shuffle_epi8 (g, g1)),
          _mm_shuffle_epi8 (b, b1)));
  _mm_storeu_si128 ((__m128i *) (d + 32), _mm_or_si128 (_mm_or_si128
          (_mm_shuffle_epi8 (r, r2), _mm_shuffle_epi8 (g, g2)),
          _mm_shuffle_epi8 (b, b2)));
}

/* 32 pixels per step with the tables' arithmetic in 16-bit lanes: each
 * table entry is mulhs (splat (v), coefficient), which vpmulhw computes
 * for 32 samples at once; sums stay far inside 16 bits (|·| < 700), and
 * vpmovswb saturates to [-128, 127] like to_u8's clamp. Same bytes. */
TGT_AVX512 static gint
row_avx512 (const SamYuvCoeffs * c, gint width, const guint8 * py,
    const guint8 * pu, const guint8 * pv, gint cst, guint8 * d)
{
  const __m512i cy = _mm512_set1_epi16 (c->y), crv = _mm512_set1_epi16 (c->rv);
  const __m512i cbu = _mm512_set1_epi16 (c->bu), cgu =
      _mm512_set1_epi16 (c->gu);
  const __m512i cgv = _mm512_set1_epi16 (c->gv);
  /* chroma sample x >> 1 for each of the 32 pixels */
  const __m512i dup = _mm512_set_epi16 (15, 15, 14, 14, 13, 13, 12, 12, 11,
      11, 10, 10, 9, 9, 8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  /* NV12: U and V alternate; the 16 of each for 32 pixels are the even
   * and odd bytes of 32 (the 16-bit lanes then take the low 16) */
  const __m256i uv_even = _mm256_setr_epi8 (0, 2, 4, 6, 8, 10, 12, 14, 1, 3,
      5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13,
      15);
  const __m256i bias = _mm256_set1_epi8 ((char) 0x80);
  gint x = 0;
  for (; x + 32 <= width; x += 32) {
    const __m512i ly = _mm512_mulhi_epi16 (splat32 (_mm256_loadu_si256
            ((const __m256i *) (py + x))), cy);
    __m256i u16, v16;
    if (cst == 2) {
      /* per 128-bit lane: 8 U then 8 V; gather the U halves, the V halves */
      const __m256i t = _mm256_permute4x64_epi64 (_mm256_shuffle_epi8
          (_mm256_loadu_si256 ((const __m256i *) (pu + x)), uv_even),
          _MM_SHUFFLE (3, 1, 2, 0));
      u16 = _mm256_castsi128_si256 (_mm256_castsi256_si128 (t));
      v16 = _mm256_castsi128_si256 (_mm256_extracti128_si256 (t, 1));
    } else {
      u16 = _mm256_castsi128_si256 (_mm_loadu_si128 ((const __m128i *)
              (pu + x / 2)));
      v16 = _mm256_castsi128_si256 (_mm_loadu_si128 ((const __m128i *)
              (pv + x / 2)));
    }
    const __m512i su = _mm512_permutexvar_epi16 (dup, splat32 (u16));
    const __m512i sv = _mm512_permutexvar_epi16 (dup, splat32 (v16));
    const __m512i r16 = _mm512_add_epi16 (ly, _mm512_mulhi_epi16 (sv, crv));
    const __m512i g16 = _mm512_add_epi16 (_mm512_add_epi16 (ly,
            _mm512_mulhi_epi16 (su, cgu)), _mm512_mulhi_epi16 (sv, cgv));
    const __m512i b16 = _mm512_add_epi16 (ly, _mm512_mulhi_epi16 (su, cbu));
    const __m256i r = _mm256_xor_si256 (_mm512_cvtsepi16_epi8 (r16), bias);
    const __m256i g = _mm256_xor_si256 (_mm512_cvtsepi16_epi8 (g16), bias);
    const __m256i b = _mm256_xor_si256 (_mm512_cvtsepi16_epi8 (b16), bias);
    store_rgb16 (_mm256_castsi256_si128 (r), _mm256_castsi256_si128 (g),
        _mm256_castsi256_si128 (b), d + 3 * x);
    store_rgb16 (_mm256_extracti128_si256 (r, 1), _mm256_extracti128_si256 (g,
            1), _mm256_extracti128_si256 (b, 1), d + 3 * x + 48);
  }
  return x;
}
#endif

/* Pixels per ORC call: the three planes and the split chroma stay in L1
 * (4 KiB of stack), and ORC's per-call set-up is paid 1,024 pixels at a
 * time. Even, so each chunk starts on a chroma sample. */
#define ORC_CHUNK 1024

/* pixels [0, width) of one row with sam-orc.orc's kernels: the portable
 * vector path (SSE on x86 without AVX-512, NEON on ARM), for machines the
 * intrinsics above do not cover */
static void
row_orc (const SamYuvCoeffs * c, gint width, const guint8 * py,
    const guint8 * pu, const guint8 * pv, gint cst, guint8 * d)
{
  guint8 r[ORC_CHUNK], g[ORC_CHUNK], b[ORC_CHUNK];
  guint8 su[ORC_CHUNK / 2], sv[ORC_CHUNK / 2];
  for (gint x0 = 0; x0 < width; x0 += ORC_CHUNK) {
    const gint n = MIN (ORC_CHUNK, width - x0), nc = (n + 1) / 2;
    const guint8 *cu = pu + cst * (x0 / 2), *cv = pv + cst * (x0 / 2);
    if (cst == 2) {
      /* pu points at the U of each pair, pv = pu + 1 at its V. In C: ORC's
       * 16-bit loads fault on the odd addresses that a stride may give. */
      for (gint i = 0; i < nc; i++) {
        su[i] = cu[2 * i];
        sv[i] = cv[2 * i];
      }
      cu = su;
      cv = sv;
    }
    ORC_CALL (sam_orc_yuv_to_rgb_planes (r, g, b, py + x0, cu, cv, c->y,
            c->rv, c->bu, c->gu, c->gv, n));
    guint8 *o = d + 3 * x0;
    for (gint i = 0; i < n; i++) {
      o[3 * i + 0] = r[i];
      o[3 * i + 1] = g[i];
      o[3 * i + 2] = b[i];
    }
  }
}

/* cst: chroma samples cst bytes apart (1 planar, 2 NV12) */
static void
convert (int isa, const SamYuvCoeffs * c, gint width, gint height,
    const guint8 * y, gint y_stride, const guint8 * u, gint u_stride,
    const guint8 * v, gint v_stride, gint cst, guint8 * dst, gint dst_stride)
{
  /* AVX-512 intrinsics where the CPU has them; else ORC, unless the caller
   * asks for the plain C reference (SAM_ISA_REF) */
  const int use = MIN (isa, (int) sam_cpu_isa_detected ());
  for (gint row = 0; row < height; row++) {
    const guint8 *py = y + (gsize) row * y_stride;
    const guint8 *pu = u + (gsize) (row >> 1) * u_stride;
    const guint8 *pv = v + (gsize) (row >> 1) * v_stride;
    guint8 *d = dst + (gsize) row * dst_stride;
    gint x = 0;
#ifdef SAM_X86
    if (sam_isa_x86_at_least (use, SAM_ISA_AVX512))
      x = row_avx512 (c, width, py, pu, pv, cst, d);
#endif
    if (use == SAM_ISA_REF || !SAM_ORC_JIT)
      row_c (c, x, width, py, pu, pv, cst, d);
    else if (x == 0)
      row_orc (c, width, py, pu, pv, cst, d);
    else
      row_c (c, x, width, py, pu, pv, cst, d);
  }
}

void
sam_yuv420_to_rgb_isa (int isa, const SamYuvCoeffs * c, gint width,
    gint height, const guint8 * y, gint y_stride, const guint8 * u,
    gint u_stride, const guint8 * v, gint v_stride, guint8 * dst,
    gint dst_stride)
{
  convert (isa, c, width, height, y, y_stride, u, u_stride, v, v_stride, 1,
      dst, dst_stride);
}

void
sam_nv12_to_rgb_isa (int isa, const SamYuvCoeffs * c, gint width,
    gint height, const guint8 * y, gint y_stride, const guint8 * uv,
    gint uv_stride, guint8 * dst, gint dst_stride)
{
  convert (isa, c, width, height, y, y_stride, uv, uv_stride, uv + 1,
      uv_stride, 2, dst, dst_stride);
}

void
sam_nv12_to_rgb (const SamYuvCoeffs * c, gint width, gint height,
    const guint8 * y, gint y_stride, const guint8 * uv, gint uv_stride,
    guint8 * dst, gint dst_stride)
{
  sam_nv12_to_rgb_isa (sam_cpu_isa (), c, width, height, y, y_stride, uv,
      uv_stride, dst, dst_stride);
}

void
sam_yuv420_to_rgb (const SamYuvCoeffs * c, gint width, gint height,
    const guint8 * y, gint y_stride, const guint8 * u, gint u_stride,
    const guint8 * v, gint v_stride, guint8 * dst, gint dst_stride)
{
  sam_yuv420_to_rgb_isa (sam_cpu_isa (), c, width, height, y, y_stride, u,
      u_stride, v, v_stride, dst, dst_stride);
}
