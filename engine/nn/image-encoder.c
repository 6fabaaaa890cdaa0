/* image-encoder.c — ImageEncoder = Hiera trunk + FPN neck (scalp 1), then
 * the mask decoder's conv_s0/conv_s1 projections of the two high-resolution
 * levels, precomputed once per frame as SAM2Base.forward_image does.
 */
#include "nn.h"
#include "hiera.h"

#include <string.h>

#define NECK "image_encoder.neck"

void
sam_image_features_alloc (SamImageFeatures * f, int S)
{
  memset (f, 0, sizeof *f);
  f->S = S;
  f->H0 = S / 4;
  f->H1 = S / 8;
  f->H2 = S / 16;
  f->feat_s0 = g_new (float, (size_t) f->H0 * f->H0 * 32);
  f->feat_s1 = g_new (float, (size_t) f->H1 * f->H1 * 64);
  f->feat = g_new (float, (size_t) f->H2 * f->H2 * 256);
  f->pos = g_new (float, (size_t) f->H2 * f->H2 * 256);
}

void
sam_image_features_clear (SamImageFeatures * f)
{
  g_clear_pointer (&f->feat_s0, g_free);
  g_clear_pointer (&f->feat_s1, g_free);
  g_clear_pointer (&f->feat, g_free);
  g_clear_pointer (&f->pos, g_free);
}

static void
tap_level (const SamTap * tap, const char *prefix, const char *what, int l,
    const float *hwc, int H, int W, int C)
{
  if (!sam_tap_on (tap))
    return;
  char name[128];
  g_snprintf (name, sizeof name, "%s.%s.%d", prefix, what, l);
  sam_tap_hwc (tap, name, hwc, H, W, C);
}

/* A 1×1 conv on a channels-last map is a linear over its pixels. */
static void
conv1x1 (const SamModel * m, SamPool * pool, const char *name,
    const float *x, int64_t n, int Cin, int Cout, float *y)
{
  (void) Cout;
  sam_model_linear (m, pool, name, x, n, Cin, y, Cout);
}

/* ref: sam2/modeling/backbones/image_encoder.py ImageEncoder.forward,
 *      FpnNeck.forward; sam2/modeling/sam2_base.py SAM2Base.forward_image */
void
sam_image_encoder_run (const SamModel * m, SamPool * pool, const float *img,
    int S, SamImageFeatures * out, const SamTap * tap, const char *tap_prefix)
{
  const int D = m->hp.d_model;
  SamHieraOut t;
  char name[64];

  g_return_if_fail (out->S == S && D == 256);

  sam_hiera_run (m, pool, img, S, &t);
  for (int s = 0; s < 4; s++)
    tap_level (tap, tap_prefix, "trunk", s, t.x[s], t.H[s], t.W[s], t.C[s]);

  /* FPN top-down over levels 3 → 0. convs[3 - i] takes trunk level i.
   * Only levels 2 and 3 (fpn_top_down_levels) receive the upsampled
   * coarser level; 0 and 1 are lateral only. Level 3 is dropped by scalp
   * but still feeds level 2. */
  float *lvl[3];
  lvl[0] = g_new (float, (size_t) t.H[0] * t.W[0] * D);
  lvl[1] = g_new (float, (size_t) t.H[1] * t.W[1] * D);
  lvl[2] = out->feat;
  g_return_if_fail (t.H[2] == out->H2 && t.W[2] == out->H2);
  {
    const int64_t n3 = (int64_t) t.H[3] * t.W[3];
    float *l3 = g_new (float, n3 * D);
    float *up = g_new (float, (size_t) t.H[2] * t.W[2] * D);
    conv1x1 (m, pool, NECK ".convs.0.conv", t.x[3], n3, t.C[3], D, l3);
    /* nearest ×2 (scale_factor 2); sizes that are not exactly 2× (S not a
     * multiple of 32, which the reference rejects) map nearest by size. */
    sam_upsample_nearest (l3, t.H[3], t.W[3], D, up, t.H[2], t.W[2]);
    conv1x1 (m, pool, NECK ".convs.1.conv", t.x[2],
        (int64_t) t.H[2] * t.W[2], t.C[2], D, lvl[2]);
    sam_add (lvl[2], up, (int64_t) t.H[2] * t.W[2] * D);
    g_free (up);
    g_free (l3);
  }
  for (int l = 1; l >= 0; l--)
    conv1x1 (m, pool, l == 1 ? NECK ".convs.2.conv" : NECK ".convs.3.conv",
        t.x[l], (int64_t) t.H[l] * t.W[l], t.C[l], D, lvl[l]);

  /* Only level 2's position encoding is used downstream. */
  sam_pos_enc_sine_2d (out->H2, out->H2, D, out->pos);

  for (int l = 0; l < 3; l++)
    tap_level (tap, tap_prefix, "backbone_fpn", l, lvl[l], t.H[l], t.W[l], D);
  if (sam_tap_on (tap)) {
    g_snprintf (name, sizeof name, "%s.vision_pos_enc.2", tap_prefix);
    sam_tap_hwc (tap, name, out->pos, out->H2, out->H2, D);
  }

  conv1x1 (m, pool, "sam_mask_decoder.conv_s0", lvl[0],
      (int64_t) t.H[0] * t.W[0], D, D / 8, out->feat_s0);
  conv1x1 (m, pool, "sam_mask_decoder.conv_s1", lvl[1],
      (int64_t) t.H[1] * t.W[1], D, D / 4, out->feat_s1);

  g_free (lvl[0]);
  g_free (lvl[1]);
  sam_hiera_out_clear (&t);
}
