/* test-qmodel.c — quantized model round trip and the int8 Linear against
 * its fake-quant reference.
 *
 *   test-qmodel MKMODEL QUANTIZE CHECK FIXTURE_T256 CALIB_VIDEO
 *
 * 1. samseg-mkmodel writes the t256 fixture's synthetic float model (seed
 *    and override of its metadata), samseg-quantize calibrates it at input
 *    256 on CALIB_VIDEO (a clip other than the fixture's frames) with the
 *    W8A8 best set, and samseg-check --compare runs the fixture's frames and
 *    prompts through float and quantized models: >= 30 dB mask-logit SQNR
 *    and >= 99% sign agreement on |logit| > 0.02.
 * 2. The quantized file loads, reports its layers (sam_model_quant_summary),
 *    and refuses a corrupted side tensor.
 * 2b. The default keeps the mask decoder's transformer float;
 *    --quantize-decoder quantizes it, and --float / --float-attention keep
 *    the named layers float: the engine reports them as float (no
 *    quantizer) and the metadata names them. --p8 marks the named parts'
 *    attentions (#p8), and a malformed #p8 is refused.
 * 3. Every quantized Linear on random inputs: the int8 GEMM path equals
 *    the fake-quant float path (same codes, float accumulation) to 1e-4
 *    relative L2, and W4A4 codes (a 4-bit file) run on the same GEMM; a
 *    memory and a decoder attention: integer kernel vs simulation to 2e-4.
 * 4. The int8 image encoder gives the same bits with 2 threads, with 1, and
 *    on the whole-pool path that calibration observers force (hiera.c
 *    runs integer blocks in cache-sized groups, one core each); so does
 *    the int8 memory attention (memory-attention.c: keys in pieces, the
 *    cross-attention's tail and MLP in row groups).
 */
#include "model/quantized.h"
#include "nn/nn.h"
#include "sam/sam.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

static char **args;
static char *tmpdir, *fmodel, *qmodel, *dmodel;

static void
run (const char *const *argv, gchar ** out)
{
  GError *err = NULL;
  gint status = 0;
  gchar *serr = NULL;
  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
      &serr, &status, &err);
  g_assert_no_error (err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_printerr ("%s failed:\n%s\n", argv[0], serr);
  g_free (serr);
}

static void
test_roundtrip (void)
{
  const char *mk[] = { args[1], "--seed", "1", "--override",
    "sam_mask_decoder.pred_obj_score_head.layers.2.bias=add:2.0", "-o",
    fmodel, NULL
  };
  run (mk, NULL);
  const char *q[] = { args[2], fmodel, "--calib", args[5], "--input-size",
    "256", "--frames", "4", "--bits", "W8A8", "-o", qmodel, NULL
  };
  run (q, NULL);
  g_assert_true (g_file_test (qmodel, G_FILE_TEST_EXISTS));
  gchar *out = NULL;
  const char *c[] = { args[3], "--json", "--compare", qmodel, args[4], NULL };
  run (c, &out);
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, out, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  double db = json_object_get_double_member (o, "mask_logit_sqnr_db");
  double sign = json_object_get_double_member (o, "sign_agree");
  g_test_message ("W8A8 t256: mask logits %.2f dB, sign %.5f", db, sign);
  g_assert_cmpfloat (db, >=, 30.0);
  g_assert_cmpfloat (sign, >=, 0.99);
  g_assert_true (json_object_has_member (o, "tensors"));
  g_assert_cmpint (json_object_get_int_member (o, "n_quantized"), >, 100);
  g_object_unref (p);
  g_free (out);
}

/* Two calibration frames (the memory attention runs from frame 1) are
 * enough here: the test is of which layers get quantizers, not of their
 * quality. */
static void
test_keep_float (void)
{
  const char *fq = dmodel;
  const char *q[] = { args[2], fmodel, "--calib", args[5], "--input-size",
    "256", "--frames", "2", "--bits", "W8A8", "--quantize-decoder", "--float",
    "sam_mask_decoder.transformer.layers.0.", "--float-attention",
    "memory_attention.layers.0.cross_attn_image", "--p8", "memory,decoder",
    "-o", fq, NULL
  };
  run (q, NULL);
  GError *err = NULL;
  SamModel *m = sam_model_load (fq, NULL, &err);
  g_assert_no_error (err);
  gchar *s = sam_model_quant_summary (m);
  /* kept float: the layer-0 decoder Linears and attentions, the memory
   * cross-attention's q, k, v (its projections stay int8) */
  g_assert_null (strstr (s,
          "linear sam_mask_decoder.transformer.layers.0.self_attn.q_proj"));
  g_assert_null (strstr (s,
          "sam_mask_decoder.transformer.layers.0.cross_attn_token_to_image "));
  g_assert_null (strstr (s, "memory_attention.layers.0.cross_attn_image "));
  g_assert_nonnull (strstr (s,
          "linear memory_attention.layers.0.cross_attn_image.q_proj"));
  /* the rest as without the options */
  g_assert_nonnull (strstr (s,
          "linear sam_mask_decoder.transformer.layers.1.self_attn.q_proj"));
  g_assert_nonnull (strstr (s, "memory_attention.layers.1.cross_attn_image "));
  g_assert_nonnull (strstr (s, "sam_mask_decoder.transformer.layers.0.* "
          "(--float)"));
  g_assert_null (strstr (s, "(default; --quantize-decoder"));
  /* --p8 memory,decoder: 8-bit P there, not in the trunk */
  g_assert_nonnull (strstr (s,
          "P·V     memory_attention.layers.1.cross_attn_image "));
  g_assert_nonnull (strstr (s, "P·V     sam_mask_decoder.transformer.layers.1."
          "cross_attn_token_to_image "));
  g_assert_null (strstr (s, "P·V     image_encoder."));
  g_free (s);
  sam_model_unref (m);

  /* #p8 must be F32 [1] = 1: a 2 there is refused */
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (fq, &data, &len, NULL));
  guint64 hlen;
  memcpy (&hlen, data, 8);
  JsonParser *jp = json_parser_new ();
  g_assert_true (json_parser_load_from_data (jp, data + 8, (gssize) hlen,
          NULL));
  JsonObject *h = json_node_get_object (json_parser_get_root (jp));
  JsonArray *off = json_object_get_array_member (json_object_get_object_member
      (h, "memory_attention.layers.1.cross_attn_image#p8"), "data_offsets");
  const float two = 2.f;
  memcpy (data + 8 + hlen + json_array_get_int_element (off, 0), &two, 4);
  g_object_unref (jp);
  gchar *bad = g_build_filename (tmpdir, "bad-p8.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, data, len, NULL));
  g_assert_null (sam_model_load (bad, NULL, &err));
  g_assert_nonnull (err);
  g_assert_nonnull (strstr (err->message, "#p8' must be F32 [1] = 1"));
  g_test_message ("refused: %s", err->message);
  g_clear_error (&err);
  g_unlink (bad);
  g_free (bad);
  g_free (data);
}

/* samseg-check --compare --video: float vs quantized on a clip (here the
 * calibration clip, 2 frames: a test of the mode, not of the quantizer),
 * and the usage error without --model. */
static void
test_video_compare (void)
{
  gchar *out = NULL;
  const char *c[] = { args[3], "--json", "--compare", qmodel, "--video",
    args[5], "--model", fmodel, "--input-size", "256", "--frames", "2",
    NULL
  };
  run (c, &out);
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, out, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  double db = json_object_get_double_member (o, "mask_logit_sqnr_db");
  double sign = json_object_get_double_member (o, "sign_agree");
  g_test_message ("W8A8 t256 on 2 frames of the clip: %.2f dB, sign %.5f",
      db, sign);
  g_assert_cmpfloat (db, >=, 25.0);
  g_assert_cmpfloat (sign, >=, 0.99);
  /* frame 0's 4 grid objects and frame 1's tracked ones */
  JsonObject *t = json_object_get_object_member (o, "tensors");
  g_assert_true (json_object_has_member (t, "f0.obj4.pred_masks"));
  g_assert_true (json_object_has_member (t, "f1.obj1.pred_masks"));
  g_object_unref (p);
  g_free (out);

  const char *bad[] = { args[3], "--compare", qmodel, "--video", args[5],
    NULL
  };
  gint status = 0;
  GError *err = NULL;
  g_spawn_sync (NULL, (gchar **) bad, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
      NULL, NULL, NULL, &status, &err);
  g_assert_no_error (err);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
}

static void
test_load (void)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (qmodel, NULL, &err);
  g_assert_no_error (err);
  g_assert_cmpint (sam_model_n_quantized (m), >, 100);
  gchar *s = sam_model_quant_summary (m);
  g_assert_nonnull (strstr (s, "image_encoder.trunk.blocks.0.attn.qkv"));
  g_assert_nonnull (strstr (s, "[int8 GEMM]"));
  /* the windowed blocks' attention is quantized too, with 8-bit P (the
   * trunk default of --p8), and without post-softmax quantizers */
  g_assert_nonnull (strstr (s, "q,k,v   image_encoder.trunk.blocks.0.attn "));
  g_assert_nonnull (strstr (s, "P·V     image_encoder.trunk.blocks.0.attn "));
  g_assert_null (strstr (s, "softmax image_encoder.trunk.blocks.0.attn "));
  g_assert_null (strstr (s, "linear sam_mask_decoder.output_hyper"));  /* float */
  g_assert_nonnull (strstr (s, "\"float\""));
  /* the decoder's two-way transformer stays float by default */
  g_assert_null (strstr (s, "sam_mask_decoder.transformer.layers.0.self_attn"));
  g_assert_null (strstr (s,
          "sam_mask_decoder.transformer.layers.1.cross_attn_token_to_image "));
  g_assert_nonnull (strstr (s, "sam_mask_decoder.transformer* (default; "
          "--quantize-decoder quantizes it)"));
  g_free (s);
  /* int8 + scales + packed copies: well under the float model */
  SamModel *f = sam_model_load (fmodel, NULL, &err);
  g_assert_no_error (err);
  g_assert_cmpint (sam_model_weight_bytes (m), <,
      sam_model_weight_bytes (f) * 6 / 10);
  s = sam_model_quant_summary (f);
  g_assert_nonnull (strstr (s, "float32 model"));
  g_free (s);
  sam_model_unref (f);
  sam_model_unref (m);

  /* a side tensor for a weight that does not exist is refused */
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (qmodel, &data, &len, NULL));
  const char *needle = "blocks.0.attn.qkv.input#qparams";
  char *hit = memmem (data + 8, MIN (len - 8, 1 << 22), needle,
      strlen (needle));
  g_assert_nonnull (hit);
  memcpy (hit, "blocks.0.attn.qkX", strlen ("blocks.0.attn.qkX"));
  gchar *bad = g_build_filename (tmpdir, "bad.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, data, len, NULL));
  SamModel *b = sam_model_load (bad, NULL, &err);
  g_assert_null (b);
  g_assert_nonnull (err);
  g_test_message ("refused: %s", err->message);
  g_clear_error (&err);
  g_unlink (bad);
  g_free (bad);
  g_free (data);
}

static double
rel_l2 (const float *a, const float *b, int64_t n)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
    den += (double) b[i] * b[i];
  }
  return sqrt (num / (den > 0 ? den : 1));
}

static void
check_layer (SamModel * m, const char *name)
{
  const SamW *w = sam_model_w (m, "%s.weight", name);
  const int M = 37, N = (int) w->shape[0], K = (int) (w->numel / N);
  g_assert_null (w->data);      /* int8 */
  GRand *r = g_rand_new_with_seed (5);
  float *x = g_new (float, M * K), *y8 = g_new (float, M * N);
  float *ys = g_new (float, M * N);
  for (int i = 0; i < M * K; i++)
    x[i] = (float) g_rand_double_range (r, -2, 2);
  sam_model_set_quant_sim (m, FALSE);
  sam_model_linear (m, NULL, name, x, M, K, y8, N);
  sam_model_set_quant_sim (m, TRUE);
  sam_model_linear (m, NULL, name, x, M, K, ys, N);
  sam_model_set_quant_sim (m, FALSE);
  double e = rel_l2 (y8, ys, (int64_t) M * N);
  g_test_message ("%s: int8 vs fake-quant rel L2 %.2e", name, e);
  g_assert_cmpfloat (e, <, 1e-4);
  /* the kept zero-row output: a zero row's bits, made once */
  memset (x, 0, sizeof (float) * K);
  sam_model_linear (m, NULL, name, x, 1, K, y8, N);
  const float *z = sam_model_linear_zero_row (m, name);
  g_assert_cmpmem (z, sizeof (float) * N, y8, sizeof (float) * N);
  g_assert_true (sam_model_linear_zero_row (m, name) == z);
  g_free (x);
  g_free (y8);
  g_free (ys);
  g_rand_free (r);
}

/* A quantized attention on random q, k, v: the integer kernel against the
 * simulation (same codes; float scores, float P·V). */
static void
check_attention (SamModel * m, const char *name, int64_t Nq, int64_t Nk,
    int H, int D, int Dv)
{
  g_assert_false (sam_model_layer_plain (m, name));
  GRand *r = g_rand_new_with_seed (6);
  const int64_t C = (int64_t) H * D, Cv = (int64_t) H * Dv;
  float *q = g_new (float, Nq * C), *k = g_new (float, Nk * C);
  float *v = g_new (float, Nk * Cv), *o8 = g_new (float, Nq * Cv);
  float *os = g_new (float, Nq * Cv);
  for (int64_t i = 0; i < Nq * C; i++)
    q[i] = (float) g_rand_double_range (r, -1, 1);
  for (int64_t i = 0; i < Nk * C; i++)
    k[i] = (float) g_rand_double_range (r, -1, 1);
  for (int64_t i = 0; i < Nk * Cv; i++)
    v[i] = (float) g_rand_double_range (r, -1, 1);
  sam_model_set_quant_sim (m, FALSE);
  sam_model_attention (m, NULL, name, q, C, k, C, v, Cv, o8, Cv, Nq, Nk, H,
      D, Dv);
  sam_model_set_quant_sim (m, TRUE);
  sam_model_attention (m, NULL, name, q, C, k, C, v, Cv, os, Cv, Nq, Nk, H,
      D, Dv);
  g_assert_false (sam_model_attention_int_k (m, name));
  sam_model_set_quant_sim (m, FALSE);
  double e = rel_l2 (o8, os, Nq * Cv);
  g_test_message ("%s: integer vs simulated attention rel L2 %.2e", name, e);
  g_assert_cmpfloat (e, <, 2e-4);
  /* the integer keys made in uneven pieces of rows: the same bits */
  g_assert_true (sam_model_attention_int_k (m, name));
  uint8_t *k8 = sam_model_attention_k_codes (Nk, (int) C);
  const int64_t cuts[] = { 0, Nk / 7, Nk / 2 + 3, Nk };
  for (int i = 0; i < 3; i++)
    sam_model_attention_quantize_k (m, NULL, name, k + cuts[i] * C, C,
        cuts[i + 1] - cuts[i], (int) C, k8 + cuts[i] * C);
  float *op = g_new (float, Nq * Cv);
  sam_model_attention_k8 (m, NULL, name, q, C, k8, v, Cv, op, Cv, Nq, Nk, H,
      D, Dv);
  g_assert_cmpmem (op, sizeof (float) * Nq * Cv, o8, sizeof (float) * Nq * Cv);
  g_free (op);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (o8);
  g_free (os);
  g_rand_free (r);
}

static void
test_int8_vs_sim (void)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (qmodel, NULL, &err);
  g_assert_no_error (err);
  check_layer (m, "image_encoder.trunk.blocks.0.attn.qkv");
  check_layer (m, "image_encoder.trunk.blocks.3.mlp.layers.1");
  check_layer (m, "memory_attention.layers.0.cross_attn_image.k_proj");
  /* a windowed Hiera block's attention (one 8 × 8 window at stage 1), in
   * integers with 8-bit P (the default --p8 trunk) */
  check_attention (m, "image_encoder.trunk.blocks.0.attn", 64, 64, 1, 96,
      96);
  /* calibrated with P·V on the 64-dim memory values (#vlate) */
  g_assert_true (sam_model_attention_v_late (m,
          "memory_attention.layers.0.cross_attn_image"));
  check_attention (m, "memory_attention.layers.0.cross_attn_image", 100, 700,
      1, 256, 64);
  sam_model_unref (m);
  /* the decoder, quantized by keep-float's --quantize-decoder model: a
   * projection (per-channel CAG codes when quantized with cag) and an
   * attention (with 8-bit P: --p8 memory,decoder) */
  m = sam_model_load (dmodel, NULL, &err);
  g_assert_no_error (err);
  check_layer (m, "sam_mask_decoder.transformer.layers.1.self_attn.q_proj");
  check_attention (m,
      "sam_mask_decoder.transformer.layers.1.cross_attn_token_to_image", 7,
      300, 8, 16, 16);
  sam_model_unref (m);
}

static void
noop_linear (const char *name, const float *x, int64_t M, int K,
    int64_t ldx, const float *y, int N, int64_t ldy, void *user_data)
{
}

/* the trunk's stage outputs ("enc.trunk.{0..3}"), concatenated */
static void
collect_trunk (const gchar * name, const float *data, const gint64 * shape,
    gint ndim, gpointer user_data)
{
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  if (strstr (name, ".trunk."))
    g_byte_array_append (user_data, (const guint8 *) data, n * 4);
}

static void
assert_same_features (const SamImageFeatures * a, const SamImageFeatures * b)
{
  g_assert_cmpint (memcmp (a->feat_s0, b->feat_s0,
          sizeof (float) * a->H0 * a->H0 * 32), ==, 0);
  g_assert_cmpint (memcmp (a->feat_s1, b->feat_s1,
          sizeof (float) * a->H1 * a->H1 * 64), ==, 0);
  g_assert_cmpint (memcmp (a->feat, b->feat,
          sizeof (float) * a->H2 * a->H2 * 256), ==, 0);
}

static void
test_encoder_groups (void)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (qmodel, NULL, &err);
  g_assert_no_error (err);
  const char *qkv = "image_encoder.trunk.blocks.0.attn.qkv";
  g_assert_true (sam_model_layer_int8 (m, qkv));
  /* 256: stage 3 (16×16, windows of 14) and 4 (8×8, of 7) are padded */
  const int S = 256;
  float *img = g_new (float, S * S * 3);
  GRand *r = g_rand_new_with_seed (5);
  for (int i = 0; i < S * S * 3; i++)
    img[i] = (float) g_rand_double_range (r, -2, 2);
  g_rand_free (r);
  SamImageFeatures f[3];
  GByteArray *trunk[3];
  for (int run = 0; run < 3; run++) {
    SamPool *pool = sam_pool_new (run == 1 ? 1 : 2);
    if (run == 2) {
      sam_model_set_observers (m, noop_linear, NULL, NULL);
      g_assert_false (sam_model_layer_int8 (m, qkv));
    }
    trunk[run] = g_byte_array_new ();
    SamTap tap = { collect_trunk, trunk[run] };
    sam_image_features_alloc (&f[run], S);
    sam_image_encoder_run (m, pool, img, S, &f[run], &tap, "enc");
    sam_model_set_observers (m, NULL, NULL, NULL);
    sam_pool_free (pool);
  }
  g_assert_cmpuint (trunk[0]->len, ==, 4 * (64 * 64 * 96 + 32 * 32 * 192 +
          16 * 16 * 384 + 8 * 8 * 768));
  /* 2 threads vs 1: the same groups (their sizes depend on the thread
   * count only where rows are independent) */
  assert_same_features (&f[0], &f[1]);
  /* grouped vs whole-pool: the trunk (the neck folds its convolutions
   * differently while observed) */
  for (int run = 1; run < 3; run++) {
    g_assert_cmpuint (trunk[run]->len, ==, trunk[0]->len);
    g_assert_cmpint (memcmp (trunk[0]->data, trunk[run]->data,
            trunk[0]->len), ==, 0);
  }
  for (int run = 0; run < 3; run++) {
    sam_image_features_clear (&f[run]);
    g_byte_array_unref (trunk[run]);
  }
  g_free (img);
  sam_model_unref (m);
}

static float *
random_floats (GRand * r, int64_t n, double amp)
{
  float *x = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, -amp, amp);
  return x;
}

static void
test_memattn_groups (void)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (qmodel, NULL, &err);
  g_assert_no_error (err);
  g_assert_true (sam_model_attention_int_k (m,
          "memory_attention.layers.0.cross_attn_image"));
  /* t256's 16×16 map, two memory frames and two object pointers (4
   * tokens of 64 each) */
  const int H = 16, N = H * H, C = 256, n_ptr = 8, n_mem = 2 * N + n_ptr;
  GRand *r = g_rand_new_with_seed (9);
  float *curr = random_floats (r, (int64_t) N * C, 1);
  float *curr_pos = random_floats (r, (int64_t) N * C, 1);
  float *mem = random_floats (r, (int64_t) n_mem * 64, 1);
  float *mem_pos = random_floats (r, (int64_t) n_mem * 64, 1);
  g_rand_free (r);
  float *out[3];
  for (int run = 0; run < 3; run++) {
    SamPool *pool = sam_pool_new (run == 1 ? 1 : 2);
    if (run == 2)
      sam_model_set_observers (m, noop_linear, NULL, NULL);
    out[run] = g_new (float, (int64_t) N * C);
    sam_memory_attention_run (m, pool, curr, curr_pos, H, H, mem, mem_pos,
        n_mem, n_ptr, out[run], NULL, NULL);
    sam_model_set_observers (m, NULL, NULL, NULL);
    sam_pool_free (pool);
  }
  for (int run = 1; run < 3; run++)
    g_assert_cmpint (memcmp (out[0], out[run], sizeof (float) * N * C), ==,
        0);
  for (int run = 0; run < 3; run++)
    g_free (out[run]);
  g_free (curr);
  g_free (curr_pos);
  g_free (mem);
  g_free (mem_pos);
  sam_model_unref (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 6) {
    g_printerr ("usage: test-qmodel MKMODEL QUANTIZE CHECK T256 VIDEO\n");
    return 2;
  }
  args = argv;
  tmpdir = g_dir_make_tmp ("samseg-qmodel-XXXXXX", NULL);
  fmodel = g_build_filename (tmpdir, "t256.safetensors", NULL);
  qmodel = g_build_filename (tmpdir, "t256-w8a8.safetensors", NULL);
  dmodel = g_build_filename (tmpdir, "t256-decoder-w8a8.safetensors", NULL);
  g_test_add_func ("/quant/model/roundtrip-t256-w8a8", test_roundtrip);
  g_test_add_func ("/quant/model/video-compare", test_video_compare);
  g_test_add_func ("/quant/model/load", test_load);
  g_test_add_func ("/quant/model/keep-float", test_keep_float);
  g_test_add_func ("/quant/model/int8-vs-fake-quant", test_int8_vs_sim);
  g_test_add_func ("/quant/model/encoder-groups", test_encoder_groups);
  g_test_add_func ("/quant/model/memattn-groups", test_memattn_groups);
  int rc = g_test_run ();
  g_unlink (fmodel);
  g_unlink (qmodel);
  g_unlink (dmodel);
  g_rmdir (tmpdir);
  return rc;
}
