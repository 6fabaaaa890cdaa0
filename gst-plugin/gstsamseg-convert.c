/* gstsamseg-convert.c — raw video → model-input RGB, logits → frame masks. */
#include "gstsamseg-convert.h"
#include "io/yuv-rgb.h"
#include "kernels/cpu.h"
#include "kernels/ops.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#define TGT_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif

#define PRECISION_BITS (32 - 8 - 2)

gboolean
gst_samseg_convert_format_supported (GstVideoFormat f)
{
  switch (f) {
    case GST_VIDEO_FORMAT_RGB:
    case GST_VIDEO_FORMAT_BGR:
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_BGRA:
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_NV12:
      return TRUE;
    default:
      return FALSE;
  }
}

/* ---- colour conversion ------------------------------------------------- */

/* YUV → RGB uses the engine's copy of videoconvert's I420 → RGB fast-path
 * arithmetic (engine/io/yuv-rgb.c): the evaluation references were computed
 * on `avdec_h264 ! videoconvert` frames, so matching it bit for bit keeps
 * tracking parity. */
static void
yuv_coeffs_for (SamYuvCoeffs * c, const GstVideoInfo * info)
{
  SamYuvMatrix m;
  switch (info->colorimetry.matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT709:
      m = SAM_YUV_MATRIX_BT709;
      break;
    case GST_VIDEO_COLOR_MATRIX_BT2020:
      m = SAM_YUV_MATRIX_BT2020;
      break;
    default:
      m = SAM_YUV_MATRIX_BT601;
      break;
  }
  sam_yuv_coeffs_init (c, m,
      info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255);
}

void
gst_samseg_frame_to_rgb (const GstVideoFrame * frame, guint8 * rgb,
    gint stride)
{
  const GstVideoInfo *info = &frame->info;
  gint w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  GstVideoFormat fmt = GST_VIDEO_INFO_FORMAT (info);

  if (fmt == GST_VIDEO_FORMAT_I420) {
    SamYuvCoeffs c;
    yuv_coeffs_for (&c, info);
    sam_yuv420_to_rgb (&c, w, h, GST_VIDEO_FRAME_PLANE_DATA (frame, 0),
        GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0),
        GST_VIDEO_FRAME_PLANE_DATA (frame, 1),
        GST_VIDEO_FRAME_PLANE_STRIDE (frame, 1),
        GST_VIDEO_FRAME_PLANE_DATA (frame, 2),
        GST_VIDEO_FRAME_PLANE_STRIDE (frame, 2), rgb, stride);
    return;
  }
  if (fmt == GST_VIDEO_FORMAT_NV12) {
    SamYuvCoeffs c;
    yuv_coeffs_for (&c, info);
    sam_nv12_to_rgb (&c, w, h, GST_VIDEO_FRAME_PLANE_DATA (frame, 0),
        GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0),
        GST_VIDEO_FRAME_PLANE_DATA (frame, 1),
        GST_VIDEO_FRAME_PLANE_STRIDE (frame, 1), rgb, stride);
    return;
  }

  /* packed RGB variants */
  const guint8 *src = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint ss = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  gint ro = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_R);
  gint go = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_G);
  gint bo = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_B);
  for (gint r = 0; r < h; r++) {
    const guint8 *s = src + (gsize) r * ss;
    guint8 *d = rgb + (gsize) r * stride;
    if (ps == 3 && ro == 0 && go == 1 && bo == 2) {
      memcpy (d, s, (gsize) w * 3);
    } else if (ps == 4) {
      for (gint x = 0; x < w; x++) {
        d[3 * x + 0] = s[4 * x + ro];
        d[3 * x + 1] = s[4 * x + go];
        d[3 * x + 2] = s[4 * x + bo];
      }
    } else {
      for (gint x = 0; x < w; x++) {
        d[3 * x + 0] = s[ps * x + ro];
        d[3 * x + 1] = s[ps * x + go];
        d[3 * x + 2] = s[ps * x + bo];
      }
    }
  }
}

/* ---- resampling (PIL Resample.c semantics) ----------------------------- */

static gdouble
filter_bilinear (gdouble x)
{
  if (x < 0.0)
    x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

static gdouble
filter_bicubic (gdouble x)
{
  const gdouble a = -0.5;
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

typedef struct {
  gint ksize;
  gint *bounds;                 /* out × (xmin, xsize) */
  gint32 *kk;                   /* out × ksize */
} Taps;

static void
taps_init (Taps * t, gint in, gint out, GstSamSegResample f)
{
  gdouble (*filter) (gdouble) = f == GST_SAMSEG_RESAMPLE_BICUBIC ?
      filter_bicubic : filter_bilinear;
  gdouble fsupport = f == GST_SAMSEG_RESAMPLE_BICUBIC ? 2.0 : 1.0;
  gdouble scale = (gdouble) in / out, filterscale = MAX (scale, 1.0);
  gdouble support = fsupport * filterscale;
  gdouble *k;

  t->ksize = (gint) ceil (support) * 2 + 1;
  t->bounds = g_new (gint, 2 * out);
  t->kk = g_new0 (gint32, (gsize) out * t->ksize);
  k = g_new (gdouble, t->ksize);
  for (gint xx = 0; xx < out; xx++) {
    gdouble center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
    gint xmin = (gint) (center - support + 0.5), xmax;
    if (xmin < 0)
      xmin = 0;
    xmax = (gint) (center + support + 0.5);
    if (xmax > in)
      xmax = in;
    xmax -= xmin;
    for (gint x = 0; x < xmax; x++) {
      gdouble w = filter ((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (gint x = 0; x < xmax; x++) {
      gdouble v = ww != 0.0 ? k[x] / ww : 0.0;
      gdouble s = v * (1 << PRECISION_BITS);
      t->kk[(gsize) xx * t->ksize + x] = (gint32) (v < 0 ? trunc (-0.5 + s) :
          trunc (0.5 + s));
    }
    t->bounds[2 * xx] = xmin;
    t->bounds[2 * xx + 1] = xmax;
  }
  g_free (k);
}

static void
taps_clear (Taps * t)
{
  g_free (t->bounds);
  g_free (t->kk);
}

static inline guint8
clip8 (gint32 v)
{
  v >>= PRECISION_BITS;
  return (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The horizontal taps laid out for resample_h_row_avx512: for output
 * xx, chunk q holds taps [5q, 5q + 5) as 15 int32 lanes (tap j's weight
 * on lanes 3j .. 3j + 2, one per channel; zero past the output's taps and
 * on lane 15), with the byte mask of those taps' pixels. */
typedef struct {
  gint n_chunks;
  gint32 *k;                    /* [out][n_chunks][16] */
  guint16 *mask;                /* [out][n_chunks] */
} HChunks;

typedef struct {
  const guint8 *src;
  gint src_stride;
  guint8 *dst;
  gint dst_stride, out_w, width3;
  const Taps *t;
  const HChunks *hc;            /* AVX-512 horizontal pass; NULL: C */
} ResampleCtx;

static void
h_chunks_init (HChunks * h, const Taps * t, gint out)
{
  h->n_chunks = (t->ksize + 4) / 5;
  h->k = g_new0 (gint32, (gsize) out * h->n_chunks * 16);
  h->mask = g_new0 (guint16, (gsize) out * h->n_chunks);
  for (gint xx = 0; xx < out; xx++) {
    const gint xs = t->bounds[2 * xx + 1];
    for (gint j = 0; j < xs; j++)
      for (gint ch = 0; ch < 3; ch++)
        h->k[((gsize) xx * h->n_chunks + j / 5) * 16 + 3 * (j % 5) + ch] =
            t->kk[(gsize) xx * t->ksize + j];
    for (gint q = 0; q < h->n_chunks; q++) {
      const gint nb = CLAMP (3 * xs - 15 * q, 0, 15);
      h->mask[(gsize) xx * h->n_chunks + q] = (guint16) ((1u << nb) - 1);
    }
  }
}

static void
h_chunks_clear (HChunks * h)
{
  g_free (h->k);
  g_free (h->mask);
}

#ifdef SAM_X86
/* One source row horizontally, 5 taps × 3 channels per vector: the
 * pixels' bytes widened to int32 times the chunk's weights, the chunks
 * summed, then the lanes of each channel (c, c + 3, …, c + 12). Integer
 * sums do not depend on their order (and stay below 2^31: 255 · Σ|k| <
 * 1.4e9), so this gives the C pass's bytes. */
TGT_AVX512 static void
resample_h_row_avx512 (const ResampleCtx * c, const guint8 * s, guint8 * d)
{
  const HChunks *h = c->hc;
  const gint nq = h->n_chunks;
  const __m512i zero = _mm512_setzero_si512 ();
  const __m128i half = _mm_set1_epi32 (1 << (PRECISION_BITS - 1));
  const __m128i lo = _mm_setzero_si128 (), hi = _mm_set1_epi32 (255);
  for (gint xx = 0; xx < c->out_w; xx++) {
    const guint8 *p = s + 3 * c->t->bounds[2 * xx];
    const gint32 *k = h->k + (gsize) xx * nq * 16;
    const guint16 *m = h->mask + (gsize) xx * nq;
    __m512i acc = zero;
    for (gint q = 0; q < nq; q++) {
      /* masked: no byte past the output's taps is read (the row's end) */
      const __m128i b = _mm_maskz_loadu_epi8 (m[q], p + 15 * q);
      acc = _mm512_add_epi32 (acc, _mm512_mullo_epi32 (_mm512_cvtepu8_epi32
              (b), _mm512_loadu_si512 ((const void *) (k + 16 * q))));
    }
    __m512i t = _mm512_add_epi32 (acc, _mm512_alignr_epi32 (zero, acc, 3));
    t = _mm512_add_epi32 (t, _mm512_alignr_epi32 (zero, t, 6));
    t = _mm512_add_epi32 (t, _mm512_alignr_epi32 (zero, acc, 12));
    __m128i v = _mm_add_epi32 (_mm512_castsi512_si128 (t), half);
    v = _mm_srai_epi32 (v, PRECISION_BITS);
    v = _mm_min_epi32 (_mm_max_epi32 (v, lo), hi);
    _mm_mask_storeu_epi8 (d + 3 * xx, 0x7, _mm_cvtepi32_epi8 (v));
  }
}
#endif

/* source rows [y0, y1), horizontally */
static void
resample_h_rows (void *vc, int64_t y0, int64_t y1)
{
  const ResampleCtx *c = vc;
  const Taps *t = c->t;
  for (int64_t y = y0; y < y1; y++) {
    const guint8 *s = c->src + (gsize) y * c->src_stride;
    guint8 *d = c->dst + (gsize) y * c->dst_stride;
#ifdef SAM_X86
    if (c->hc) {
      resample_h_row_avx512 (c, s, d);
      continue;
    }
#endif
    for (gint xx = 0; xx < c->out_w; xx++) {
      gint xmin = t->bounds[2 * xx], xs = t->bounds[2 * xx + 1];
      const gint32 *k = t->kk + (gsize) xx * t->ksize;
      gint32 r = 1 << (PRECISION_BITS - 1), g = r, b = r;
      const guint8 *p = s + 3 * xmin;
      for (gint x = 0; x < xs; x++) {
        r += p[3 * x + 0] * k[x];
        g += p[3 * x + 1] * k[x];
        b += p[3 * x + 2] * k[x];
      }
      d[3 * xx + 0] = clip8 (r);
      d[3 * xx + 1] = clip8 (g);
      d[3 * xx + 2] = clip8 (b);
    }
  }
}

/* output rows [y0, y1), vertically */
static void
resample_v_rows (void *vc, int64_t y0, int64_t y1)
{
  const ResampleCtx *c = vc;
  const Taps *t = c->t;
  const gint width3 = c->width3;
  gint32 *acc = g_new (gint32, width3);
  for (int64_t yy = y0; yy < y1; yy++) {
    gint ymin = t->bounds[2 * yy], ys = t->bounds[2 * yy + 1];
    const gint32 *k = t->kk + (gsize) yy * t->ksize;
    guint8 *d = c->dst + (gsize) yy * c->dst_stride;
    for (gint i = 0; i < width3; i++)
      acc[i] = 1 << (PRECISION_BITS - 1);
    for (gint y = 0; y < ys; y++) {
      const guint8 *s = c->src + (gsize) (ymin + y) * c->src_stride;
      gint32 kv = k[y];
      for (gint i = 0; i < width3; i++)        /* vectorizes */
        acc[i] += s[i] * kv;
    }
    for (gint i = 0; i < width3; i++)
      d[i] = clip8 (acc[i]);
  }
  g_free (acc);
}

void
gst_samseg_resample_rgb (const guint8 * src, gint in_w, gint in_h,
    gint src_stride, guint8 * dst, gint out_w, gint out_h, gint dst_stride,
    GstSamSegResample filter)
{
  gst_samseg_resample_rgb_pool (NULL, src, in_w, in_h, src_stride, dst,
      out_w, out_h, dst_stride, filter);
}

void
gst_samseg_resample_rgb_pool (SamPool * pool, const guint8 * src, gint in_w,
    gint in_h, gint src_stride, guint8 * dst, gint out_w, gint out_h,
    gint dst_stride, GstSamSegResample filter)
{
  gst_samseg_resample_rgb_isa (sam_cpu_isa (), pool, src, in_w, in_h,
      src_stride, dst, out_w, out_h, dst_stride, filter);
}

void
gst_samseg_resample_rgb_isa (gint isa, SamPool * pool, const guint8 * src,
    gint in_w, gint in_h, gint src_stride, guint8 * dst, gint out_w,
    gint out_h, gint dst_stride, GstSamSegResample filter)
{
  Taps th, tv;
  guint8 *tmp = NULL;
  const guint8 *vsrc = src;
  gint vstride = src_stride;

  g_return_if_fail (in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0);
  if (in_w == out_w && in_h == out_h) {
    for (gint y = 0; y < in_h; y++)
      memcpy (dst + (gsize) y * dst_stride, src + (gsize) y * src_stride,
          (gsize) in_w * 3);
    return;
  }
  if (in_w != out_w) {
    taps_init (&th, in_w, out_w, filter);
    ResampleCtx hc = { src, src_stride, dst, dst_stride, out_w, 0, &th,
      NULL
    };
    HChunks chunks;
    const gboolean wide = sam_isa_x86_at_least (MIN (isa,
        (gint) sam_cpu_isa_detected ()), SAM_ISA_AVX512);
    if (wide) {
      h_chunks_init (&chunks, &th, out_w);
      hc.hc = &chunks;
    }
    if (in_h != out_h) {
      tmp = g_malloc ((gsize) out_w * 3 * in_h);
      hc.dst = tmp;
      hc.dst_stride = out_w * 3;
    }
    sam_pool_for (pool, in_h, 8, resample_h_rows, &hc);
    if (wide)
      h_chunks_clear (&chunks);
    taps_clear (&th);
    if (in_h == out_h)
      return;
    vsrc = tmp;
    vstride = out_w * 3;
  }
  taps_init (&tv, in_h, out_h, filter);
  ResampleCtx vc = { vsrc, vstride, dst, dst_stride, out_w, out_w * 3, &tv,
    NULL
  };
  sam_pool_for (pool, out_h, 8, resample_v_rows, &vc);
  taps_clear (&tv);
  g_free (tmp);
}

/* ---- converter --------------------------------------------------------- */

struct _GstSamSegConverter
{
  GstVideoInfo info;
  gint out_w, out_h;
  GstSamSegResample filter;
  guint8 *full;                 /* frame-size RGB scratch */
  SamPool *pool;                /* rows of the resize; NULL: one thread */
};

GstSamSegConverter *
gst_samseg_converter_new (const GstVideoInfo * in_info, gint out_w,
    gint out_h, GstSamSegResample filter, gint n_threads)
{
  GstSamSegConverter *c;

  g_return_val_if_fail (in_info != NULL && out_w > 0 && out_h > 0, NULL);
  if (!gst_samseg_convert_format_supported (GST_VIDEO_INFO_FORMAT (in_info)))
    return NULL;
  c = g_new0 (GstSamSegConverter, 1);
  c->info = *in_info;
  c->out_w = out_w;
  c->out_h = out_h;
  c->filter = filter;
  c->full = g_malloc ((gsize) GST_VIDEO_INFO_WIDTH (in_info) *
      GST_VIDEO_INFO_HEIGHT (in_info) * 3);
  /* the resize of a large frame is a few ms on one core, while the
   * engine's threads wait for its input */
  if (n_threads != 1 && (GST_VIDEO_INFO_WIDTH (in_info) != out_w
          || GST_VIDEO_INFO_HEIGHT (in_info) != out_h))
    c->pool = sam_pool_new (n_threads);
  return c;
}

void
gst_samseg_converter_free (GstSamSegConverter * c)
{
  if (!c)
    return;
  sam_pool_free (c->pool);
  g_free (c->full);
  g_free (c);
}

void
gst_samseg_converter_run (GstSamSegConverter * c, const GstVideoFrame * frame,
    guint8 * rgb, gint stride)
{
  gint w = GST_VIDEO_FRAME_WIDTH (frame), h = GST_VIDEO_FRAME_HEIGHT (frame);

  g_return_if_fail (w == GST_VIDEO_INFO_WIDTH (&c->info) &&
      h == GST_VIDEO_INFO_HEIGHT (&c->info));
  if (w == c->out_w && h == c->out_h) {
    gst_samseg_frame_to_rgb (frame, rgb, stride);
    return;
  }
  gst_samseg_frame_to_rgb (frame, c->full, w * 3);
  gst_samseg_resample_rgb_pool (c->pool, c->full, w, h, w * 3, rgb, c->out_w,
      c->out_h, stride, c->filter);
}

/* ---- logits → mask ----------------------------------------------------- */

/* Bilinear, half-pixel centres, then the threshold. Per output pixel
 *   row_j(x) = (1 − fx) · L[j][x0] + fx · L[j][x1]
 *   v = (1 − fy) · row_j(x) + fy · row_j1(x),  mask = v > thr.
 * row_j depends on the source row only, so each is made once (when an
 * output row first needs it, by sam_lerp_row_isa with w0 = 1 − fx)
 * instead of twice per output row: the same operations on the same
 * values, hence the same mask. */
static guint64
v_row_c (gint out_w, gfloat fy, const gfloat * row0, const gfloat * row1,
    gfloat thr, guint8 * d)
{
  guint64 n = 0;
  for (gint x = 0; x < out_w; x++) {
    gfloat v = (1.0f - fy) * row0[x] + fy * row1[x];
    d[x] = v > thr;
    n += d[x];
  }
  return n;
}

#ifdef SAM_X86
TGT_AVX512 static guint64
v_row_avx512 (gint out_w, gfloat fy, const gfloat * row0,
    const gfloat * row1, gfloat thr, guint8 * d)
{
  const __m512 a = _mm512_set1_ps (1.0f - fy), b = _mm512_set1_ps (fy);
  const __m512 t = _mm512_set1_ps (thr);
  const __m128i one = _mm_set1_epi8 (1);
  guint64 n = 0;
  gint x = 0;
  for (; x + 16 <= out_w; x += 16) {
    const __m512 v = _mm512_add_ps (_mm512_mul_ps (a, _mm512_loadu_ps (row0 +
                x)), _mm512_mul_ps (b, _mm512_loadu_ps (row1 + x)));
    const __mmask16 k = _mm512_cmp_ps_mask (v, t, _CMP_GT_OQ);
    _mm_storeu_si128 ((__m128i *) (d + x), _mm_maskz_mov_epi8 (k, one));
    n += (guint64) __builtin_popcount (k);
  }
  return n + v_row_c (out_w - x, fy, row0 + x, row1 + x, thr, d + x);
}
#endif

guint64
gst_samseg_logits_to_mask_isa (gint isa, const gfloat * logits, gint lw,
    gint lh, guint8 * dest, gint out_w, gint out_h, gint dest_stride,
    gfloat thr)
{
  gint *x0 = g_new (gint, out_w), *x1 = g_new (gint, out_w);
  gfloat *fx = g_new (gfloat, out_w), *w0 = g_new (gfloat, out_w);
  /* rows[r]: source row r interpolated along x, once made[r] */
  gfloat *rows = g_new (gfloat, (gsize) lh * out_w);
  gboolean *made = g_new0 (gboolean, lh);
  gdouble sx = (gdouble) lw / out_w, sy = (gdouble) lh / out_h;
  const gboolean wide = sam_isa_x86_at_least (MIN (isa,
        (gint) sam_cpu_isa_detected ()), SAM_ISA_AVX512);
  guint64 n = 0;

  for (gint x = 0; x < out_w; x++) {
    gdouble s = (x + 0.5) * sx - 0.5;
    if (s < 0)
      s = 0;
    gint i = (gint) s;
    if (i > lw - 1)
      i = lw - 1;
    x0[x] = i;
    x1[x] = i < lw - 1 ? i + 1 : i;
    fx[x] = (gfloat) (s - i);
    w0[x] = 1.0f - fx[x];
  }
  for (gint y = 0; y < out_h; y++) {
    gdouble s = (y + 0.5) * sy - 0.5;
    if (s < 0)
      s = 0;
    gint j = (gint) s;
    if (j > lh - 1)
      j = lh - 1;
    gint j1 = j < lh - 1 ? j + 1 : j;
    gfloat fy = (gfloat) (s - j);
    for (gint k = 0; k < 2; k++) {
      const gint r = k ? j1 : j;
      if (made[r])
        continue;
      sam_lerp_row_isa (isa, logits + (gsize) r * lw, x0, x1, w0, fx, out_w,
          rows + (gsize) r * out_w);
      made[r] = TRUE;
    }
    const gfloat *row0 = rows + (gsize) j * out_w;
    const gfloat *row1 = rows + (gsize) j1 * out_w;
    guint8 *d = dest + (gsize) y * dest_stride;
#ifdef SAM_X86
    if (wide)
      n += v_row_avx512 (out_w, fy, row0, row1, thr, d);
    else
#endif
      n += v_row_c (out_w, fy, row0, row1, thr, d);
  }
  (void) wide;
  g_free (x0);
  g_free (x1);
  g_free (fx);
  g_free (w0);
  g_free (rows);
  g_free (made);
  return n;
}

guint64
gst_samseg_logits_to_mask (const gfloat * logits, gint lw, gint lh,
    guint8 * dest, gint out_w, gint out_h, gint dest_stride, gfloat thr)
{
  return gst_samseg_logits_to_mask_isa (sam_cpu_isa (), logits, lw, lh, dest,
      out_w, out_h, dest_stride, thr);
}
