/* test-heads.c — sam_heads_run() against the reference decoder calls on
 * frame 0 (heads0: one click, multimask; heads1: a box, single mask with
 * dynamic stability), for the present (t256) and absent (t256absent) cases,
 * 1-thread vs 2-thread bit equality, and the tracker's way (no multimask
 * buffer: only the chosen mask is made) against the full one.
 *
 * The image features come from the fixture (enc0.backbone_fpn.*, before
 * conv_s0/conv_s1), so this test does not depend on the image encoder.
 * t256absent has no intermediates; it shares t256's frames and every weight
 * but one bias of the object-score head, so t256's features serve for both.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "fixture.h"
#include "nn/heads-private.h"
#include "nn/nn.h"

#define MAX_PTS 8

typedef struct {
  int n_points;
  float coords[2 * MAX_PTS];
  int32_t labels[MAX_PTS];
  bool multimask;
} Prompt;

typedef struct {
  SamModel *model;
  SamImageFeatures f;
  float *pix_feat;
  Prompt prompts[2];
} Case;

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("SAMSEG_TEST_DATA");
  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

static SamFixture *
open_fixture (const char *name)
{
  char *path = data_path (name);
  GError *err = NULL;
  SamFixture *fx = sam_fixture_open (&path, 1, &err);
  g_assert_no_error (err);
  g_free (path);
  return fx;
}

/* The first two prompts of segment 1 (frame 0) become heads0 and heads1;
 * a box comes first as two points labelled 2 and 3, as in the predictor. */
static void
read_prompts (const SamFixture * fx, Prompt * out)
{
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, sam_fixture_meta (fx), -1,
          NULL));
  JsonObject *meta = json_node_get_object (json_parser_get_root (p));
  JsonArray *segs = json_object_get_array_member (meta, "segments");
  JsonArray *prs = json_object_get_array_member (json_array_get_object_element
      (segs, 0), "prompts");
  JsonArray *calls = json_object_get_array_member (meta, "heads_calls");
  for (int i = 0; i < 2; i++) {
    JsonObject *pr = json_array_get_object_element (prs, i);
    Prompt *o = &out[i];
    memset (o, 0, sizeof *o);
    g_assert_cmpint (json_object_get_int_member (pr, "frame"), ==, 0);
    if (json_object_has_member (pr, "box")) {
      JsonArray *b = json_object_get_array_member (pr, "box");
      for (int k = 0; k < 4; k++)
        o->coords[k] = (float) json_array_get_double_element (b, k);
      o->labels[0] = 2;
      o->labels[1] = 3;
      o->n_points = 2;
    }
    if (json_object_has_member (pr, "points")) {
      JsonArray *pts = json_object_get_array_member (pr, "points");
      JsonArray *lab = json_object_get_array_member (pr, "labels");
      for (guint k = 0; k < json_array_get_length (pts); k++) {
        JsonArray *xy = json_array_get_array_element (pts, k);
        g_assert_cmpint (o->n_points, <, MAX_PTS);
        o->coords[2 * o->n_points] =
            (float) json_array_get_double_element (xy, 0);
        o->coords[2 * o->n_points + 1] =
            (float) json_array_get_double_element (xy, 1);
        o->labels[o->n_points++] =
            (int32_t) json_array_get_int_element (lab, k);
      }
    }
    JsonObject *call = json_array_get_object_element (calls, i);
    o->multimask = json_object_get_int_member (call, "multimask") == 3;
  }
  g_object_unref (p);
}

/* NCHW [1, C, H, W] fixture tensor → channels-last [H*W, C]. */
static float *
fixture_hwc (const SamFixture * fx, const char *name, int C, int HW)
{
  int64_t n = 0;
  float *chw = sam_fixture_get_f32 (fx, name, &n);
  g_assert_nonnull (chw);
  g_assert_cmpint (n, ==, (int64_t) C * HW);
  float *hwc = g_new (float, n);
  sam_transpose (chw, C, HW, hwc);
  g_free (chw);
  return hwc;
}

static void
case_init (Case * c, const char *model_env, const SamFixture * feat_fx,
    const SamFixture * prompt_fx)
{
  GError *err = NULL;
  const char *path = g_getenv (model_env);
  g_assert_nonnull (path);
  c->model = sam_model_load (path, NULL, &err);
  g_assert_no_error (err);
  const SamModel *m = c->model;

  const int S = 256, H0 = S / 4, H1 = S / 8, H2 = S / 16;
  SamImageFeatures *f = &c->f;
  memset (f, 0, sizeof *f);
  f->S = S;
  f->H0 = H0;
  f->H1 = H1;
  f->H2 = H2;
  float *fpn0 = fixture_hwc (feat_fx, "enc0.backbone_fpn.0", 256, H0 * H0);
  float *fpn1 = fixture_hwc (feat_fx, "enc0.backbone_fpn.1", 256, H1 * H1);
  f->feat = fixture_hwc (feat_fx, "enc0.backbone_fpn.2", 256, H2 * H2);
  f->feat_s0 = g_new (float, (size_t) H0 * H0 * 32);
  f->feat_s1 = g_new (float, (size_t) H1 * H1 * 64);
  sam_conv2d (NULL, fpn0, H0, H0, 256,
      sam_model_wd (m, "sam_mask_decoder.conv_s0.weight"),
      sam_model_wd (m, "sam_mask_decoder.conv_s0.bias"), 32, 1, 1, 1, 0, 1,
      f->feat_s0);
  sam_conv2d (NULL, fpn1, H1, H1, 256,
      sam_model_wd (m, "sam_mask_decoder.conv_s1.weight"),
      sam_model_wd (m, "sam_mask_decoder.conv_s1.bias"), 64, 1, 1, 1, 0, 1,
      f->feat_s1);
  g_free (fpn0);
  g_free (fpn1);

  /* Initial conditioning frame: directly_add_no_mem_embed. */
  const float *nme = sam_model_wd (m, "no_mem_embed");
  c->pix_feat = g_memdup2 (f->feat, sizeof (float) * H2 * H2 * 256);
  for (int i = 0; i < H2 * H2; i++)
    sam_add (c->pix_feat + (size_t) i * 256, nme, 256);

  read_prompts (prompt_fx, c->prompts);
}

static void
case_clear (Case * c)
{
  g_free (c->f.feat);
  g_free (c->f.feat_s0);
  g_free (c->f.feat_s1);
  g_free (c->pix_feat);
  sam_model_unref (c->model);
}

/* Taps collected by name. */
static void
collect (const gchar * name, const float *data, const gint64 * shape,
    gint ndim, gpointer user_data)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (float), (guint) n);
  g_array_append_vals (a, data, (guint) n);
  g_hash_table_replace (user_data, g_strdup (name), a);
}

typedef struct {
  SamHeadsOutput out;
  float multi[3 * 64 * 64];
  float mask[64 * 64];
} Result;

static void
run_heads (const Case * c, SamPool * pool, int call, GHashTable * taps,
    Result * r)
{
  const Prompt *p = &c->prompts[call];
  SamHeadsInput in = { p->n_points, p->coords, p->labels, NULL, p->multimask };
  SamTap tap = { taps ? collect : NULL, taps };
  char prefix[16];
  g_snprintf (prefix, sizeof prefix, "heads%d", call);
  memset (r, 0, sizeof *r);
  r->out.low_res_multimasks = r->multi;
  r->out.low_res_masks = r->mask;
  const int H2 = c->f.H2;
  float *pe = g_new (float, (size_t) H2 * H2 * 256);
  sam_prompt_encoder_dense_pe (c->model, pool, H2, pe);
  sam_heads_run (c->model, pool, &c->f, c->pix_feat, pe, &in, &r->out, &tap,
      prefix);
  g_free (pe);
}

static void
check_call (const Case * c, const SamFixture * ref, int call, bool absent)
{
  static const char *keys[] = { "ious", "low_res_multimasks", "low_res_masks",
    "obj_ptr", "object_score_logits"
  };
  GHashTable *taps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) g_array_unref);
  SamPool *pool = sam_pool_new (2);
  Result r;
  run_heads (c, pool, call, taps, &r);
  sam_pool_free (pool);

  for (guint k = 0; k < G_N_ELEMENTS (keys); k++) {
    char name[64];
    int64_t n = 0;
    g_snprintf (name, sizeof name, "heads%d.%s", call, keys[k]);
    GArray *got = g_hash_table_lookup (taps, name);
    g_assert_nonnull (got);
    float *want = sam_fixture_get_f32 (ref, name, &n);
    g_assert_nonnull (want);
    g_assert_cmpint (got->len, ==, n);
    const float *a = (const float *) got->data;
    double rel = sam_rel_l2 (a, want, n);
    g_print ("%s%s: rel_l2 %.3g", absent ? "absent " : "", name, rel);
    g_assert_cmpfloat (rel, <=, 1e-3);
    if (strstr (keys[k], "mask")) {
      double agree = sam_sign_agree (a, want, n, 0.02f);
      g_print (", sign agreement %.5f", agree);
      if (agree >= 0)
        g_assert_cmpfloat (agree, >=, 0.995);
    }
    g_print ("\n");
    g_free (want);
  }
  g_print ("heads%d: object_score %.6g, iou %.6g (mask %d of %d)\n", call,
      r.out.object_score, r.out.iou, r.out.best, r.out.n_masks);
  g_assert_cmpint (r.out.object_score > 0.f, ==, !absent);
  g_hash_table_unref (taps);
}

static void
test_present (void)
{
  SamFixture *fx = open_fixture ("t256.safetensors");
  Case c;
  case_init (&c, "SAMSEG_TEST_MODEL", fx, fx);
  g_assert_true (c.prompts[0].multimask);
  g_assert_false (c.prompts[1].multimask);
  check_call (&c, fx, 0, false);
  check_call (&c, fx, 1, false);
  case_clear (&c);
  sam_fixture_free (fx);
}

static void
test_absent (void)
{
  SamFixture *feat = open_fixture ("t256.safetensors");
  SamFixture *fx = open_fixture ("t256absent.safetensors");
  Case c;
  case_init (&c, "SAMSEG_TEST_MODEL_ABSENT", feat, fx);
  check_call (&c, fx, 0, true);
  check_call (&c, fx, 1, true);
  case_clear (&c);
  sam_fixture_free (fx);
  sam_fixture_free (feat);
}

static void
test_threads (void)
{
  SamFixture *fx = open_fixture ("t256.safetensors");
  Case c;
  case_init (&c, "SAMSEG_TEST_MODEL", fx, fx);
  SamPool *p1 = sam_pool_new (1), *p2 = sam_pool_new (2);
  for (int call = 0; call < 2; call++) {
    Result *a = g_new (Result, 1), *b = g_new (Result, 1);
    run_heads (&c, p1, call, NULL, a);
    run_heads (&c, p2, call, NULL, b);
    /* Pointers differ between the two; everything they point to must not. */
    b->out.low_res_multimasks = a->out.low_res_multimasks;
    b->out.low_res_masks = a->out.low_res_masks;
    g_assert_cmpmem (&a->out, sizeof a->out, &b->out, sizeof b->out);
    g_assert_cmpmem (a->multi, sizeof a->multi, b->multi, sizeof b->multi);
    g_assert_cmpmem (a->mask, sizeof a->mask, b->mask, sizeof b->mask);
    g_free (a);
    g_free (b);
  }
  sam_pool_free (p1);
  sam_pool_free (p2);
  case_clear (&c);
  sam_fixture_free (fx);
}

/* Without the multimask buffer sam_heads_run makes only the masks its
 * choice reads: the chosen mask, IoUs, pointer and score must be the same
 * bits as with all four made. */
static void
test_chosen_only (void)
{
  SamFixture *fx = open_fixture ("t256.safetensors");
  Case c;
  case_init (&c, "SAMSEG_TEST_MODEL", fx, fx);
  SamPool *pool = sam_pool_new (2);
  for (int call = 0; call < 2; call++) {
    Result *a = g_new (Result, 1), *b = g_new (Result, 1);
    run_heads (&c, pool, call, NULL, a);
    run_heads (&c, pool, call, NULL, b);
    b->out.low_res_multimasks = NULL;
    memset (b->mask, 0, sizeof b->mask);
    const Prompt *p = &c.prompts[call];
    SamHeadsInput in = { p->n_points, p->coords, p->labels, NULL,
      p->multimask
    };
    float *pe = g_new (float, (size_t) c.f.H2 * c.f.H2 * 256);
    sam_prompt_encoder_dense_pe (c.model, pool, c.f.H2, pe);
    SamTap none = { NULL, NULL };
    sam_heads_run (c.model, pool, &c.f, c.pix_feat, pe, &in, &b->out, &none,
        "heads");
    g_free (pe);
    b->out.low_res_multimasks = a->out.low_res_multimasks;
    b->out.low_res_masks = a->out.low_res_masks;
    g_assert_cmpmem (&a->out, sizeof a->out, &b->out, sizeof b->out);
    g_assert_cmpmem (a->mask, sizeof a->mask, b->mask, sizeof b->mask);
    g_free (a);
    g_free (b);
  }
  sam_pool_free (pool);
  case_clear (&c);
  sam_fixture_free (fx);
}

/* sam_mask_decoder_masks: each mask's values do not depend on which others
 * are asked for (what the chosen-only path relies on, including the
 * unstable single-mask case the fixtures' prompts do not reach) */
static void
test_masks_subsets (void)
{
  SamFixture *fx = open_fixture ("t256.safetensors");
  Case c;
  case_init (&c, "SAMSEG_TEST_MODEL", fx, fx);
  SamPool *pool = sam_pool_new (2);
  const Prompt *p = &c.prompts[0];
  SamHeadsInput in = { p->n_points, p->coords, p->labels, NULL, true };
  const int H2 = c.f.H2, n_sparse = sam_prompt_encoder_n_tokens (&in);
  float *pe = g_new (float, (size_t) H2 * H2 * 256);
  float *sparse = g_new (float, (size_t) n_sparse * 256);
  float *dense = g_new (float, (size_t) H2 * H2 * 256);
  sam_prompt_encoder_dense_pe (c.model, pool, H2, pe);
  sam_prompt_encoder_run (c.model, pool, c.f.S, &in, sparse, dense);
  SamDecoderOut d;
  sam_mask_decoder_predict (c.model, pool, &c.f, c.pix_feat, pe, sparse,
      n_sparse, dense, &d);
  const int64_t n0 = d.n0;
  g_assert_cmpint (n0, ==, (int64_t) c.f.H0 * c.f.H0);
  float *all = g_new (float, SAM_DEC_N_MASKS * n0);
  float *some = g_new0 (float, SAM_DEC_N_MASKS * n0);
  sam_mask_decoder_masks (c.model, pool, &d, 0xf, all);
  for (unsigned want = 1; want < 16; want++) {
    for (int i = 0; i < SAM_DEC_N_MASKS; i++)
      memset (some + i * n0, 0x7f, sizeof (float) * n0);
    sam_mask_decoder_masks (c.model, pool, &d, want, some);
    for (int i = 0; i < SAM_DEC_N_MASKS; i++) {
      if (want & (1u << i))
        g_assert_cmpmem (some + i * n0, sizeof (float) * n0, all + i * n0,
            sizeof (float) * n0);
      else
        /* untouched */
        g_assert_cmpuint (((const uint32_t *) (some + i * n0))[n0 / 2], ==,
            0x7f7f7f7fu);
    }
  }
  g_free (all);
  g_free (some);
  sam_decoder_out_clear (&d);
  g_assert_null (d.up);
  g_free (dense);
  g_free (sparse);
  g_free (pe);
  sam_pool_free (pool);
  case_clear (&c);
  sam_fixture_free (fx);
}

static float *
random_rows (GRand * r, int64_t n, double amp)
{
  float *x = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, -amp, amp);
  return x;
}

/* The folded cross-attentions (decoder-attention.c) against the
 * reference's order on the same inputs: within float rounding. The inputs
 * are wide enough that the softmax rows are far from uniform (on the
 * fixture's features a 1 % error in the logits' scale moves the masks by
 * only 5e-6), so a wrong scale, head or bias shows here. With I / H
 * tokens (16) nothing folds: the literal path's bits. */
static void
test_attention_folds (void)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (g_getenv ("SAMSEG_TEST_MODEL"), NULL, &err);
  g_assert_no_error (err);
  SamPool *pool = sam_pool_new (2);
  const int C = 256;
  const int64_t Ni = 1024;
  GRand *r = g_rand_new_with_seed (11);
  float *img_k = random_rows (r, Ni * C, 8.0);
  float *img_v = random_rows (r, Ni * C, 1.0);
  float *tok_k = random_rows (r, 32 * C, 8.0);
  float *tok_v = random_rows (r, 32 * C, 1.0);
  float *a = g_new (float, Ni * C), *b = g_new (float, Ni * C);
  static const char *const names[] = {
    "sam_mask_decoder.transformer.layers.0.cross_attn_token_to_image",
    "sam_mask_decoder.transformer.layers.1.cross_attn_image_to_token",
    "sam_mask_decoder.transformer.final_attn_token_to_image",
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    const bool to_image = strstr (names[i], "token_to_image") != NULL;
    const int I = (int) sam_model_w (m, "%s.q_proj.weight",
        names[i])->shape[0];
    const int64_t n_unfolded = I / 8;   /* 8 heads */
    const int64_t n_tok[] = { 1, 7, 9, n_unfolded };
    for (guint j = 0; j < G_N_ELEMENTS (n_tok); j++) {
      const int64_t Nt = n_tok[j], n = (to_image ? Nt : Ni) * C;
      if (to_image) {
        sam_decoder_attention (m, pool, names[i], tok_k, Nt, img_k, img_v,
            Ni, a);
        sam_decoder_attention_literal (m, pool, names[i], tok_k, Nt, img_k,
            img_v, Ni, b);
      } else {
        sam_decoder_attention (m, pool, names[i], img_k, Ni, tok_k, tok_v,
            Nt, a);
        sam_decoder_attention_literal (m, pool, names[i], img_k, Ni, tok_k,
            tok_v, Nt, b);
      }
      const double rel = sam_rel_l2 (a, b, n);
      g_print ("%s, %" G_GINT64_FORMAT " tokens: rel_l2 %.3g\n", names[i],
          Nt, rel);
      if (Nt == n_unfolded)
        g_assert_cmpmem (a, sizeof (float) * n, b, sizeof (float) * n);
      else
        g_assert_cmpfloat (rel, <=, 1e-5);
    }
  }
  g_free (a);
  g_free (b);
  g_free (img_k);
  g_free (img_v);
  g_free (tok_k);
  g_free (tok_v);
  g_rand_free (r);
  sam_pool_free (pool);
  sam_model_unref (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn-heads/t256", test_present);
  g_test_add_func ("/nn-heads/t256absent", test_absent);
  g_test_add_func ("/nn-heads/threads-1-vs-2", test_threads);
  g_test_add_func ("/nn-heads/chosen-only", test_chosen_only);
  g_test_add_func ("/nn-heads/masks-subsets", test_masks_subsets);
  g_test_add_func ("/nn-heads/attention-folds", test_attention_folds);
  return g_test_run ();
}
