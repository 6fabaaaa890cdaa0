/* preprocess.c — a video frame (packed RGB, any size) to the model input:
 * S×S, channels-last, normalized with the ImageNet mean/std SAM 2 uses.
 *
 * Resizing is separable with a triangle (bilinear) filter whose support
 * grows with the downscale factor, like PIL's resize (antialiased), so small
 * input sizes do not alias. Equal sizes are a plain copy, which is what the
 * reference fixtures (frames already S×S) need for exact parity.
 */
#include "preprocess.h"
#include "kernels/cpu.h"
#include "kernels/normalize.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#endif

static const float mean[3] = { 0.485f, 0.456f, 0.406f };
static const float stdv[3] = { 0.229f, 0.224f, 0.225f };

typedef struct
{
  int first, n;                 /* taps [first, first + n) */
  int offset;                   /* into the weight table */
} Taps;

/* Builds the 1-D antialiased bilinear filter mapping in → out samples. */
static float *
build_filter (int in, int out, Taps * taps)
{
  double scale = (double) in / out;
  double support = scale > 1.0 ? scale : 1.0;   /* triangle radius */
  int max_n = (int) ceil (support) * 2 + 1;
  float *w = g_new (float, (size_t) out * max_n);
  for (int o = 0; o < out; o++) {
    double center = (o + 0.5) * scale;
    int lo = (int) floor (center - support);
    int hi = (int) ceil (center + support);
    lo = MAX (lo, 0);
    hi = MIN (hi, in);
    double sum = 0;
    int n = 0;
    for (int i = lo; i < hi && n < max_n; i++, n++) {
      double d = fabs ((i + 0.5 - center) / support);
      double k = d < 1.0 ? 1.0 - d : 0.0;
      w[(size_t) o * max_n + n] = (float) k;
      sum += k;
    }
    for (int k = 0; k < n; k++)
      w[(size_t) o * max_n + k] = sum > 0 ? (float) (w[(size_t) o * max_n + k]
          / sum) : 0.f;
    taps[o].first = lo;
    taps[o].n = n;
    taps[o].offset = o * max_n;
  }
  return w;
}

typedef struct
{
  const guint8 *data;
  int width, height, stride, S;
  const Taps *tx, *ty;
  const float *wx, *wy;
  float *tmp;                   /* [height, S, 3], 0..255 */
  float *out;
  bool simd;                    /* h_rows' SSE form */
} PrepCtx;

/* S × S frames: the normalization alone, a row at a time, with the
 * channels' means and stds as rows of 3 · S (ORC, normalize.h) */
typedef struct
{
  const PrepCtx *c;
  const float *mean_row, *std_row;
} CopyCtx;

static void
copy_rows (void *vctx, int64_t y0, int64_t y1)
{
  const CopyCtx *cc = vctx;
  const PrepCtx *c = cc->c;
  const int S = c->S;
  for (int64_t y = y0; y < y1; y++)
    sam_normalize_u8_f32 (c->out + (size_t) y * S * 3,
        c->data + (size_t) y * c->stride, cc->mean_row, cc->std_row, 3 * S);
}

#ifdef SAM_X86
/* One output pixel's three channels in the lanes of an SSE vector, the
 * row first widened to floats (rf, one float of padding at the end for
 * lane 3, which is not kept): each lane does the C pass's steps, a
 * product then a sum per tap in tap order, so the values are the
 * same. */
static void
h_row_sse (const PrepCtx * c, const float *rf, float *t)
{
  for (int x = 0; x < c->S; x++) {
    const Taps *tx = &c->tx[x];
    const float *w = c->wx + tx->offset;
    const float *p = rf + 3 * tx->first;
    __m128 acc = _mm_setzero_ps ();
    for (int k = 0; k < tx->n; k++)
      acc = _mm_add_ps (acc, _mm_mul_ps (_mm_set1_ps (w[k]),
              _mm_loadu_ps (p + 3 * k)));
    float v[4];
    _mm_storeu_ps (v, acc);
    memcpy (t + 3 * x, v, 3 * sizeof (float));
  }
}
#endif

/* horizontal pass of source rows [y0, y1) into tmp */
static void
h_rows (void *vctx, int64_t y0, int64_t y1)
{
  const PrepCtx *c = vctx;
  const int S = c->S;
#ifdef SAM_X86
  if (c->simd) {
    float *rf = g_new (float, (size_t) c->width * 3 + 1);
    rf[(size_t) c->width * 3] = 0.f;
    for (int64_t y = y0; y < y1; y++) {
      const guint8 *row = c->data + (size_t) y * c->stride;
      for (int i = 0; i < c->width * 3; i++)    /* vectorizes */
        rf[i] = (float) row[i];
      h_row_sse (c, rf, c->tmp + (size_t) y * S * 3);
    }
    g_free (rf);
    return;
  }
#endif
  for (int64_t y = y0; y < y1; y++) {
    const guint8 *row = c->data + (size_t) y * c->stride;
    float *t = c->tmp + (size_t) y * S * 3;
    for (int x = 0; x < S; x++) {
      float acc[3] = { 0, 0, 0 };
      for (int k = 0; k < c->tx[x].n; k++) {
        float wk = c->wx[c->tx[x].offset + k];
        const guint8 *p = row + 3 * (c->tx[x].first + k);
        acc[0] += wk * p[0];
        acc[1] += wk * p[1];
        acc[2] += wk * p[2];
      }
      t[3 * x] = acc[0];
      t[3 * x + 1] = acc[1];
      t[3 * x + 2] = acc[2];
    }
  }
}

/* vertical pass of output rows [y0, y1). Each output keeps its sum from 0
 * over the taps in order; the loops run tap by tap over the whole row
 * (acc) so that the compiler vectorizes them. */
static void
v_rows (void *vctx, int64_t y0, int64_t y1)
{
  const PrepCtx *c = vctx;
  const int S = c->S, n = S * 3;
  float *restrict acc = g_new (float, n);
  for (int64_t y = y0; y < y1; y++) {
    float *restrict o = c->out + (size_t) y * n;
    const Taps *ty = &c->ty[y];
    for (int x = 0; x < n; x++)
      acc[x] = 0.f;
    for (int k = 0; k < ty->n; k++) {
      const float w = c->wy[ty->offset + k];
      const float *restrict t = c->tmp + (size_t) (ty->first + k) * n;
      for (int x = 0; x < n; x++)
        acc[x] += w * t[x];
    }
    for (int x = 0; x < n; x++) {
      /* round to 8 bits like an image resize would, then normalize */
      float v = floorf (acc[x] + 0.5f);
      v = v < 0 ? 0 : (v > 255 ? 255 : v);
      o[x] = (v / 255.0f - mean[x % 3]) / stdv[x % 3];
    }
  }
  g_free (acc);
}

void
sam_preprocess_rgb (SamPool * pool, const guint8 * data, int width,
    int height, int stride, int S, float *out)
{
  sam_preprocess_rgb_isa (sam_cpu_isa (), pool, data, width, height, stride,
      S, out);
}

void
sam_preprocess_rgb_isa (int isa, SamPool * pool, const guint8 * data,
    int width, int height, int stride, int S, float *out)
{
  PrepCtx c = { data, width, height, stride, S, NULL, NULL, NULL, NULL,
    NULL, out, sam_isa_x86_at_least (isa, SAM_ISA_AVX2)
  };
  if (width == S && height == S) {
    float *mean_row = g_new (float, 3 * (size_t) S);
    float *std_row = g_new (float, 3 * (size_t) S);
    for (int i = 0; i < 3 * S; i++) {
      mean_row[i] = mean[i % 3];
      std_row[i] = stdv[i % 3];
    }
    CopyCtx cc = { &c, mean_row, std_row };
    sam_pool_for (pool, S, 16, copy_rows, &cc);
    g_free (mean_row);
    g_free (std_row);
    return;
  }
  Taps *tx = g_new (Taps, S), *ty = g_new (Taps, S);
  float *wx = build_filter (width, S, tx);
  float *wy = build_filter (height, S, ty);
  c.tx = tx;
  c.ty = ty;
  c.wx = wx;
  c.wy = wy;
  c.tmp = g_new (float, (size_t) height * S * 3);
  sam_pool_for (pool, height, 8, h_rows, &c);
  sam_pool_for (pool, S, 8, v_rows, &c);
  g_free (c.tmp);
  g_free (wx);
  g_free (wy);
  g_free (tx);
  g_free (ty);
}
