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

#include <math.h>

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

void
sam_yuv420_to_rgb (const SamYuvCoeffs * c, gint width, gint height,
    const guint8 * y, gint y_stride, const guint8 * u, gint u_stride,
    const guint8 * v, gint v_stride, guint8 * dst, gint dst_stride)
{
  for (gint row = 0; row < height; row++) {
    const guint8 *py = y + (gsize) row * y_stride;
    const guint8 *pu = u + (gsize) (row >> 1) * u_stride;
    const guint8 *pv = v + (gsize) (row >> 1) * v_stride;
    guint8 *d = dst + (gsize) row * dst_stride;
    for (gint x = 0; x < width; x++) {
      gint ly = c->ty[py[x]];
      guint8 cu = pu[x >> 1], cv = pv[x >> 1];
      d[3 * x + 0] = to_u8 (ly + c->trv[cv]);
      d[3 * x + 1] = to_u8 (ly + c->tgu[cu] + c->tgv[cv]);
      d[3 * x + 2] = to_u8 (ly + c->tbu[cu]);
    }
  }
}
