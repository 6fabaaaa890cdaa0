/* test-video-decode — the decoder yields every frame of an H.264 clip with
 * exactly the pixels GStreamer's avdec_h264 ! videoconvert gives (the
 * references were computed on those), and fails cleanly on bad input. */
#include "io/video-decode.h"
#include "io/yuv-rgb.h"
#include "kernels/cpu.h"

#include <string.h>

/* From tests/data/eval-mini/README.md (GStreamer 1.22.0). */
static const char *gst_sha256[4] = {
  "67e852669e3ee87b455a153df2f164c19a58e47264d19f86229fc0f9876f487f",
  "4751243767be1b079d7aa6a341e7daf36eabed0fe84cdd4d867526d83c39237e",
  "39fc1519e745b4462b5c77d7c49c58694989ba7ae15df0f1c3f463f645e10d33",
  "f475354ee6dcef6f6eeb620f485680263783f1c510462e402d48048803983b08",
};

static gchar *
data_path (const gchar * name)
{
  const gchar *dir = g_getenv ("SAMSEG_TEST_DATA");
  g_assert_nonnull (dir);
  return g_build_filename (dir, "eval-mini", name, NULL);
}

static void
test_matches_gstreamer (void)
{
  gchar *path = data_path ("clip00.mp4");
  GError *err = NULL;
  SamVideoDecoder *d = sam_video_decoder_open (path, &err);
  g_assert_no_error (err);
  g_assert_cmpint (sam_video_decoder_width (d), ==, 512);
  g_assert_cmpint (sam_video_decoder_height (d), ==, 512);

  SamVideoFrame f;
  gint n = 0;
  while (sam_video_decoder_next (d, &f, &err)) {
    g_assert_cmpint (n, <, 4);
    g_assert_cmpint (f.index, ==, n);
    g_assert_cmpint (f.width, ==, 512);
    g_assert_cmpint (f.height, ==, 512);
    g_assert_cmpint (f.stride, ==, 3 * 512);
    gchar *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, f.data,
        (gsize) 3 * 512 * 512);
    g_assert_cmpstr (sum, ==, gst_sha256[n]);
    g_free (sum);
    n++;
  }
  g_assert_no_error (err);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpstr (sam_video_decoder_conversion (d), ==,
      "videoconvert-bt601-limited");
  /* End of stream stays the end. */
  g_assert_false (sam_video_decoder_next (d, &f, &err));
  g_assert_no_error (err);
  sam_video_decoder_free (d);
  g_free (path);
}

static void
test_errors (void)
{
  GError *err = NULL;
  g_assert_null (sam_video_decoder_open ("/nonexistent/clip.mp4", &err));
  g_assert_error (err, SAM_VIDEO_ERROR, SAM_VIDEO_ERROR_OPEN);
  g_clear_error (&err);

  /* A file FFmpeg cannot read as video. */
  gchar *path = data_path ("README.md");
  SamVideoDecoder *d = sam_video_decoder_open (path, &err);
  g_assert_null (d);
  g_assert_nonnull (err);
  g_assert_true (err->domain == SAM_VIDEO_ERROR);
  g_clear_error (&err);
  g_free (path);
}

static void
test_coefficients (void)
{
  /* videoconvert's rounded BT.601 limited-range coefficients (× 256). */
  SamYuvCoeffs c;
  sam_yuv_coeffs_init (&c, SAM_YUV_MATRIX_BT601, FALSE);
  g_assert_cmpint (c.y, ==, 298);
  g_assert_cmpint (c.rv, ==, 409);
  g_assert_cmpint (c.bu, ==, 516);
  g_assert_cmpint (c.gu, ==, -100);
  g_assert_cmpint (c.gv, ==, -208);

  /* Mid grey stays grey; chroma shifts go the right way. */
  guint8 y[4] = { 128, 128, 128, 128 }, u = 128, v = 200, rgb[12];
  sam_yuv420_to_rgb (&c, 2, 2, y, 2, &u, 1, &v, 1, rgb, 6);
  g_assert_cmpint (rgb[0], >, rgb[1]);  /* more red than green */
  g_assert_cmpint (rgb[0], ==, rgb[9]); /* 2×2 block shares its chroma */
  v = 128;
  sam_yuv420_to_rgb (&c, 2, 2, y, 2, &u, 1, &v, 1, rgb, 6);
  g_assert_cmpint (rgb[0], ==, rgb[1]);
  g_assert_cmpint (rgb[1], ==, rgb[2]);
}

/* Every ISA gives the plain C bytes, I420 and NV12: all matrices and ranges, widths
 * around the 32-pixel blocks, odd sizes, every luma value against many
 * chroma pairs, and padded strides. A wrong lane in the 48-byte RGB
 * interleave or in the chroma duplication fails it. */
static void
test_isa_exact (void)
{
  static const gint widths[] = { 1, 2, 31, 32, 33, 63, 64, 65, 256, 301 };
  GRand *r = g_rand_new_with_seed (7);
  for (gint m = SAM_YUV_MATRIX_BT601; m <= SAM_YUV_MATRIX_BT2020; m++)
    for (gint full = 0; full < 2; full++) {
      SamYuvCoeffs c;
      sam_yuv_coeffs_init (&c, (SamYuvMatrix) m, full);
      for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++) {
        const gint w = widths[wi], h = 37, ys = w + 5, cs = (w + 1) / 2 + 3;
        const gint ds = 3 * w + 7, ch = (h + 1) / 2;
        guint8 *y = g_new (guint8, (gsize) ys * h);
        guint8 *u = g_new (guint8, (gsize) cs * ch);
        guint8 *v = g_new (guint8, (gsize) cs * ch);
        guint8 *ref = g_new0 (guint8, (gsize) ds * h);
        guint8 *out = g_new0 (guint8, (gsize) ds * h);
        for (gint i = 0; i < ys * h; i++)
          y[i] = w == 256 ? (guint8) (i % ys) : (guint8) g_rand_int (r);
        for (gint i = 0; i < cs * ch; i++) {
          u[i] = w == 256 ? (guint8) (i * 7 + i / cs) : (guint8) g_rand_int (r);
          v[i] = w == 256 ? (guint8) (i * 13 + 3 * (i / cs))
              : (guint8) g_rand_int (r);
        }
        sam_yuv420_to_rgb_isa (SAM_ISA_REF, &c, w, h, y, ys, u, cs, v, cs,
            ref, ds);
        for (gint isa = SAM_ISA_AVX2; isa <= (gint) SAM_ISA_NEON; isa++) {
          if (!sam_cpu_isa_supported (isa))
            continue;
          memset (out, 0, (gsize) ds * h);
          sam_yuv420_to_rgb_isa (isa, &c, w, h, y, ys, u, cs, v, cs, out, ds);
          for (gint row = 0; row < h; row++)
            g_assert_cmpmem (out + (gsize) row * ds, 3 * w,
                ref + (gsize) row * ds, 3 * w);
        }
        /* NV12 with the same chroma gives the same bytes, in every ISA */
        const gint uvs = 2 * cs + 1;
        guint8 *uv = g_new (guint8, (gsize) uvs * ch);
        for (gint row = 0; row < ch; row++)
          for (gint i = 0; i < cs; i++) {
            uv[(gsize) row * uvs + 2 * i] = u[(gsize) row * cs + i];
            uv[(gsize) row * uvs + 2 * i + 1] = v[(gsize) row * cs + i];
          }
        for (gint isa = SAM_ISA_REF; isa <= (gint) SAM_ISA_NEON; isa++) {
          if (!sam_cpu_isa_supported (isa))
            continue;
          memset (out, 0, (gsize) ds * h);
          sam_nv12_to_rgb_isa (isa, &c, w, h, y, ys, uv, uvs, out, ds);
          for (gint row = 0; row < h; row++)
            g_assert_cmpmem (out + (gsize) row * ds, 3 * w,
                ref + (gsize) row * ds, 3 * w);
        }
        g_free (uv);
        g_free (y);
        g_free (u);
        g_free (v);
        g_free (ref);
        g_free (out);
      }
    }
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/video-decode/matches-gstreamer", test_matches_gstreamer);
  g_test_add_func ("/video-decode/errors", test_errors);
  g_test_add_func ("/video-decode/coefficients", test_coefficients);
  g_test_add_func ("/video-decode/isa-exact", test_isa_exact);
  return g_test_run ();
}
