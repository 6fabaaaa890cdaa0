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

typedef struct
{
  const SamModel *m;
  SamPool *pool;
  SamImageFeatures *out;
  const SamTap *tap;
  const char *tap_prefix;
} Neck;

/* Rows of a lateral level made at a time when nothing needs it whole
 * (4 MiB at D = 256). */
#define LATERAL_PIECE_ROWS 4096

/* Levels 0 and 1 are lateral only: conv_s(convs[3 - l](x)), two 1×1
 * convs (per-pixel linears) with nothing in between, so for plain float
 * layers they fold into one (exact algebra, rounding differs):
 *   W_s (W_l x + b_l) + b_s = (W_s W_l) x + (W_s b_l + b_s).
 * At input 1024 that is 96→32 instead of 96→256→32 on 256² pixels and
 * 192→64 instead of 192→256→64 on 128²: 3.22 → 0.40 GMAC per frame. The
 * folded weight (W_s W_l, 0.8 + 3.1 M MACs) is made per frame, the bias
 * in double. A quantized or observed layer, and a tap on the level, get
 * the literal level, in pieces of rows where nothing needs it whole (the
 * [H0*W0, 256] level 0 is 67 MB at input 1024; rows are independent, so
 * pieces change no bit). */
static void
lateral_level (const Neck * n, int l, const float *x, int H, int W, int C)
{
  const SamModel *m = n->m;
  const int D = m->hp.d_model, Ds = l == 0 ? D / 8 : D / 4;
  const int64_t N = (int64_t) H * W;
  const char *lat = l == 1 ? NECK ".convs.2.conv" : NECK ".convs.3.conv";
  const char *proj = l == 0 ? "sam_mask_decoder.conv_s0" :
      "sam_mask_decoder.conv_s1";
  const bool fold = sam_model_layer_plain (m, lat)
      && sam_model_layer_plain (m, proj);
  float *dst = l == 0 ? n->out->feat_s0 : n->out->feat_s1;

  if (sam_tap_on (n->tap) || !fold) {
    const int64_t rows = sam_tap_on (n->tap) ? N :
        MIN (N, LATERAL_PIECE_ROWS);
    float *lvl = g_new (float, rows * D);
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
      const int64_t nr = MIN (rows, N - r0);
      conv1x1 (m, n->pool, lat, x + r0 * C, nr, C, D, lvl);
      if (nr == N)
        tap_level (n->tap, n->tap_prefix, "backbone_fpn", l, lvl, H, W, D);
      if (!fold)
        conv1x1 (m, n->pool, proj, lvl, nr, D, Ds, dst + r0 * Ds);
    }
    g_free (lvl);
  }
  if (fold) {
    const float *wl = sam_model_wd (m, "%s.weight", lat);
    const float *bl = sam_model_wd (m, "%s.bias", lat);
    const float *ws = sam_model_wd (m, "%s.weight", proj);
    const float *bs = sam_model_wd (m, "%s.bias", proj);
    float *wf = g_new (float, (int64_t) Ds * C + Ds), *bf = wf + Ds * C;
    sam_matmul (n->pool, ws, D, wl, C, wf, C, Ds, C, D, false);
    for (int j = 0; j < Ds; j++) {
      double acc = bs[j];
      for (int k = 0; k < D; k++)
        acc += (double) ws[(int64_t) j * D + k] * bl[k];
      bf[j] = (float) acc;
    }
    sam_linear (n->pool, x, N, C, C, wf, bf, Ds, dst, Ds);
    g_free (wf);
  }
}

/* FPN top-down over levels 3 → 2, as the trunk delivers them. convs[3 - i]
 * takes trunk level i. Only level 2 (of fpn_top_down_levels 2, 3) receives
 * the upsampled coarser level; level 3 is dropped by scalp but still feeds
 * level 2. */
static void
on_stage (int stage, const float *x, int H, int W, int C, void *user_data)
{
  const Neck *n = user_data;
  SamImageFeatures *out = n->out;
  const int D = n->m->hp.d_model;
  static const int expect_div[4] = { 4, 8, 16, 32 };

  tap_level (n->tap, n->tap_prefix, "trunk", stage, x, H, W, C);
  g_return_if_fail (stage == 3 || H == out->S / expect_div[stage]);
  if (stage < 2) {
    lateral_level (n, stage, x, H, W, C);
  } else if (stage == 2) {
    g_return_if_fail (H == out->H2 && W == out->H2);
    conv1x1 (n->m, n->pool, NECK ".convs.1.conv", x, (int64_t) H * W, C, D,
        out->feat);
  } else {
    const int64_t n3 = (int64_t) H * W;
    float *l3 = g_new (float, n3 * D);
    float *up = g_new (float, (size_t) out->H2 * out->H2 * D);
    conv1x1 (n->m, n->pool, NECK ".convs.0.conv", x, n3, C, D, l3);
    /* nearest ×2 (scale_factor 2); sizes that are not exactly 2× (S not a
     * multiple of 32, which the reference rejects) map nearest by size. */
    sam_upsample_nearest (l3, H, W, D, up, out->H2, out->H2);
    sam_add_pool (n->pool, out->feat, up, (int64_t) out->H2 * out->H2 * D);
    g_free (up);
    g_free (l3);
  }
}

/* ref: sam2/modeling/backbones/image_encoder.py ImageEncoder.forward,
 *      FpnNeck.forward; sam2/modeling/sam2_base.py SAM2Base.forward_image */
void
sam_image_encoder_run (const SamModel * m, SamPool * pool, const float *img,
    int S, SamImageFeatures * out, const SamTap * tap, const char *tap_prefix)
{
  const int D = m->hp.d_model;
  char name[64];

  g_return_if_fail (out->S == S && D == 256);

  Neck n = { m, pool, out, tap, tap_prefix };
  sam_hiera_run (m, pool, img, S, on_stage, &n);

  /* Only level 2's position encoding is used downstream. */
  sam_pos_enc_sine_2d (out->H2, out->H2, D, out->pos);
  tap_level (tap, tap_prefix, "backbone_fpn", 2, out->feat, out->H2, out->H2,
      D);
  if (sam_tap_on (tap)) {
    g_snprintf (name, sizeof name, "%s.vision_pos_enc.2", tap_prefix);
    sam_tap_hwc (tap, name, out->pos, out->H2, out->H2, D);
  }
}
