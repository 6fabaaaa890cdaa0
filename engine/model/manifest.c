/* manifest.c — SAM 2.1 variants' hyper-parameters and the full list of
 * tensors (official state-dict names and shapes) they imply.
 *
 * ref: sam2/configs/sam2.1/sam2.1_hiera_{t,s,b+,l}.yaml,
 *      sam2/modeling/backbones/hieradet.py (Hiera.__init__)
 */
#include "model.h"

#include <stdarg.h>
#include <string.h>

/* *INDENT-OFF* */
static const struct {
  const char *variant;
  int embed_dim, num_heads, stages[4], global[3], window_spec[4], bkg;
} variants[] = {
  {"tiny",      96, 1, {1, 2, 7, 2},  {5, 7, 9},    {8, 4, 14, 7}, 7},
  {"small",     96, 1, {1, 2, 11, 2}, {7, 10, 13},  {8, 4, 14, 7}, 7},
  {"base_plus", 112, 2, {2, 3, 16, 3}, {12, 16, 20}, {8, 4, 14, 7}, 14},
  {"large",     144, 2, {2, 6, 36, 4}, {23, 33, 43}, {8, 4, 16, 8}, 7},
};
/* *INDENT-ON* */

gboolean
sam_hparams_for_variant (const char *variant, SamHParams * hp)
{
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    if (strcmp (variants[v].variant, variant) != 0)
      continue;
    memset (hp, 0, sizeof *hp);
    hp->variant = variants[v].variant;
    hp->embed_dim = variants[v].embed_dim;
    hp->num_heads = variants[v].num_heads;
    memcpy (hp->stages, variants[v].stages, sizeof hp->stages);
    memcpy (hp->window_spec, variants[v].window_spec, sizeof hp->window_spec);
    hp->n_global = 3;
    memcpy (hp->global_att_blocks, variants[v].global, 3 * sizeof (int));
    hp->bkg_size[0] = hp->bkg_size[1] = variants[v].bkg;
    hp->d_model = 256;
    hp->mem_dim = 64;
    hp->num_maskmem = 7;
    hp->image_size = 1024;
    hp->mem_attn_layers = 4;
    sam_hparams_derive (hp);
    return TRUE;
  }
  return FALSE;
}

/* Per-block dims, heads, windows and pooling, as Hiera.__init__ computes them. */
void
sam_hparams_derive (SamHParams * hp)
{
  int depth = 0;
  for (int s = 0; s < 4; s++) {
    depth += hp->stages[s];
    hp->stage_ends[s] = depth - 1;
  }
  hp->n_blocks = depth;
  int dim = hp->embed_dim, heads = hp->num_heads, cur_stage = 1;
  for (int i = 0; i < depth && i < SAM_MAX_BLOCKS; i++) {
    int dim_out = dim;
    int window = hp->window_spec[cur_stage - 1];
    for (int g = 0; g < hp->n_global; g++)
      if (hp->global_att_blocks[g] == i)
        window = 0;
    gboolean stage_start = FALSE;
    for (int s = 0; s < 3; s++)
      if (i - 1 == hp->stage_ends[s])
        stage_start = TRUE;
    if (stage_start) {
      dim_out = dim * 2;
      heads *= 2;
      cur_stage++;
    }
    hp->blk_dim[i] = dim;
    hp->blk_dim_out[i] = dim_out;
    hp->blk_heads[i] = heads;
    hp->blk_window[i] = window;
    hp->blk_q_pool[i] = stage_start;    /* q_pool = 3: every stage start */
    dim = dim_out;
  }
}

typedef struct {
  SamManifestFunc func;
  void *user_data;
} Emit;

static void
emit (Emit * e, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
    const char *fmt, ...)
{
  char name[256];
  va_list ap;
  va_start (ap, fmt);
  g_vsnprintf (name, sizeof name, fmt, ap);
  va_end (ap);
  int64_t shape[4] = { d0, d1, d2, d3 };
  e->func (name, ndim, shape, e->user_data);
}

#define E1(a, ...) emit (e, 1, a, 0, 0, 0, __VA_ARGS__)
#define E2(a, b, ...) emit (e, 2, a, b, 0, 0, __VA_ARGS__)
#define E3(a, b, c, ...) emit (e, 3, a, b, c, 0, __VA_ARGS__)
#define E4(a, b, c, d, ...) emit (e, 4, a, b, c, d, __VA_ARGS__)

static void
linear (Emit * e, int out, int in, const char *prefix)
{
  E2 (out, in, "%s.weight", prefix);
  E1 (out, "%s.bias", prefix);
}

static void
norm (Emit * e, int dim, const char *prefix)
{
  E1 (dim, "%s.weight", prefix);
  E1 (dim, "%s.bias", prefix);
}

static void
mlp (Emit * e, const char *prefix, int n, const int *dims)
{
  for (int l = 0; l < n; l++) {
    char p[200];
    g_snprintf (p, sizeof p, "%s.layers.%d", prefix, l);
    linear (e, dims[l + 1], dims[l], p);
  }
}

static void
attention (Emit * e, const char *prefix, int dim, int inner, int kv_in)
{
  char p[200];
  g_snprintf (p, sizeof p, "%s.q_proj", prefix);
  linear (e, inner, dim, p);
  g_snprintf (p, sizeof p, "%s.k_proj", prefix);
  linear (e, inner, kv_in, p);
  g_snprintf (p, sizeof p, "%s.v_proj", prefix);
  linear (e, inner, kv_in, p);
  g_snprintf (p, sizeof p, "%s.out_proj", prefix);
  linear (e, dim, inner, p);
}

void
sam_manifest_foreach (const SamHParams * hp, SamManifestFunc func,
    void *user_data)
{
  Emit ee = { func, user_data }, *e = &ee;
  char p[200];
  const int C = hp->d_model, M = hp->mem_dim;

  /* image encoder: trunk */
  E4 (hp->embed_dim, 3, 7, 7, "image_encoder.trunk.patch_embed.proj.weight");
  E1 (hp->embed_dim, "image_encoder.trunk.patch_embed.proj.bias");
  E4 (1, hp->embed_dim, hp->bkg_size[0], hp->bkg_size[1],
      "image_encoder.trunk.pos_embed");
  E4 (1, hp->embed_dim, hp->window_spec[0], hp->window_spec[0],
      "image_encoder.trunk.pos_embed_window");
  for (int i = 0; i < hp->n_blocks; i++) {
    int d = hp->blk_dim[i], dout = hp->blk_dim_out[i];
    g_snprintf (p, sizeof p, "image_encoder.trunk.blocks.%d.norm1", i);
    norm (e, d, p);
    g_snprintf (p, sizeof p, "image_encoder.trunk.blocks.%d.attn.qkv", i);
    linear (e, 3 * dout, d, p);
    g_snprintf (p, sizeof p, "image_encoder.trunk.blocks.%d.attn.proj", i);
    linear (e, dout, dout, p);
    g_snprintf (p, sizeof p, "image_encoder.trunk.blocks.%d.norm2", i);
    norm (e, dout, p);
    int md[3] = { dout, 4 * dout, dout };
    g_snprintf (p, sizeof p, "image_encoder.trunk.blocks.%d.mlp", i);
    mlp (e, p, 2, md);
    if (d != dout) {
      g_snprintf (p, sizeof p, "image_encoder.trunk.blocks.%d.proj", i);
      linear (e, dout, d, p);
    }
  }
  /* image encoder: FPN neck; convs[0] takes the last (deepest) stage */
  for (int k = 0; k < 4; k++) {
    int cin = hp->blk_dim_out[hp->stage_ends[3 - k]];
    E4 (C, cin, 1, 1, "image_encoder.neck.convs.%d.conv.weight", k);
    E1 (C, "image_encoder.neck.convs.%d.conv.bias", k);
  }

  /* memory attention */
  for (int l = 0; l < hp->mem_attn_layers; l++) {
    g_snprintf (p, sizeof p, "memory_attention.layers.%d.self_attn", l);
    attention (e, p, C, C, C);
    g_snprintf (p, sizeof p, "memory_attention.layers.%d.cross_attn_image", l);
    attention (e, p, C, C, M);
    g_snprintf (p, sizeof p, "memory_attention.layers.%d.linear1", l);
    linear (e, 2048, C, p);
    g_snprintf (p, sizeof p, "memory_attention.layers.%d.linear2", l);
    linear (e, C, 2048, p);
    for (int n = 1; n <= 3; n++) {
      g_snprintf (p, sizeof p, "memory_attention.layers.%d.norm%d", l, n);
      norm (e, C, p);
    }
  }
  norm (e, C, "memory_attention.norm");

  /* memory encoder */
  {
    static const int ch[5] = { 1, 4, 16, 64, 256 };
    for (int s = 0; s < 4; s++) {
      E4 (ch[s + 1], ch[s], 3, 3,
          "memory_encoder.mask_downsampler.encoder.%d.weight", 3 * s);
      E1 (ch[s + 1], "memory_encoder.mask_downsampler.encoder.%d.bias", 3 * s);
      g_snprintf (p, sizeof p, "memory_encoder.mask_downsampler.encoder.%d",
          3 * s + 1);
      norm (e, ch[s + 1], p);
    }
    E4 (C, C, 1, 1, "memory_encoder.mask_downsampler.encoder.12.weight");
    E1 (C, "memory_encoder.mask_downsampler.encoder.12.bias");
  }
  E4 (C, C, 1, 1, "memory_encoder.pix_feat_proj.weight");
  E1 (C, "memory_encoder.pix_feat_proj.bias");
  for (int l = 0; l < 2; l++) {
    E4 (C, 1, 7, 7, "memory_encoder.fuser.layers.%d.dwconv.weight", l);
    E1 (C, "memory_encoder.fuser.layers.%d.dwconv.bias", l);
    g_snprintf (p, sizeof p, "memory_encoder.fuser.layers.%d.norm", l);
    norm (e, C, p);
    g_snprintf (p, sizeof p, "memory_encoder.fuser.layers.%d.pwconv1", l);
    linear (e, 4 * C, C, p);
    g_snprintf (p, sizeof p, "memory_encoder.fuser.layers.%d.pwconv2", l);
    linear (e, C, 4 * C, p);
    E1 (C, "memory_encoder.fuser.layers.%d.gamma", l);
  }
  E4 (M, C, 1, 1, "memory_encoder.out_proj.weight");
  E1 (M, "memory_encoder.out_proj.bias");

  /* SAM2Base parameters */
  E4 (hp->num_maskmem, 1, 1, M, "maskmem_tpos_enc");
  E3 (1, 1, C, "no_mem_embed");
  E3 (1, 1, C, "no_mem_pos_enc");
  E2 (1, M, "no_obj_embed_spatial");
  E2 (1, C, "no_obj_ptr");
  {
    int d[4] = { C, C, C, C };
    mlp (e, "obj_ptr_proj", 3, d);
  }
  linear (e, M, C, "obj_ptr_tpos_proj");
  E4 (1, 1, 4, 4, "mask_downsample.weight");
  E1 (1, "mask_downsample.bias");

  /* prompt encoder */
  E2 (2, C / 2, "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix");
  for (int k = 0; k < 4; k++)
    E2 (1, C, "sam_prompt_encoder.point_embeddings.%d.weight", k);
  E2 (1, C, "sam_prompt_encoder.not_a_point_embed.weight");
  E2 (1, C, "sam_prompt_encoder.no_mask_embed.weight");
  E4 (4, 1, 2, 2, "sam_prompt_encoder.mask_downscaling.0.weight");
  E1 (4, "sam_prompt_encoder.mask_downscaling.0.bias");
  norm (e, 4, "sam_prompt_encoder.mask_downscaling.1");
  E4 (16, 4, 2, 2, "sam_prompt_encoder.mask_downscaling.3.weight");
  E1 (16, "sam_prompt_encoder.mask_downscaling.3.bias");
  norm (e, 16, "sam_prompt_encoder.mask_downscaling.4");
  E4 (C, 16, 1, 1, "sam_prompt_encoder.mask_downscaling.6.weight");
  E1 (C, "sam_prompt_encoder.mask_downscaling.6.bias");

  /* mask decoder */
  for (int l = 0; l < 2; l++) {
    g_snprintf (p, sizeof p, "sam_mask_decoder.transformer.layers.%d.self_attn",
        l);
    attention (e, p, C, C, C);
    g_snprintf (p, sizeof p,
        "sam_mask_decoder.transformer.layers.%d.cross_attn_token_to_image", l);
    attention (e, p, C, C / 2, C);
    g_snprintf (p, sizeof p,
        "sam_mask_decoder.transformer.layers.%d.cross_attn_image_to_token", l);
    attention (e, p, C, C / 2, C);
    int md[3] = { C, 2048, C };
    g_snprintf (p, sizeof p, "sam_mask_decoder.transformer.layers.%d.mlp", l);
    mlp (e, p, 2, md);
    for (int n = 1; n <= 4; n++) {
      g_snprintf (p, sizeof p, "sam_mask_decoder.transformer.layers.%d.norm%d",
          l, n);
      norm (e, C, p);
    }
  }
  attention (e, "sam_mask_decoder.transformer.final_attn_token_to_image", C,
      C / 2, C);
  norm (e, C, "sam_mask_decoder.transformer.norm_final_attn");
  E2 (1, C, "sam_mask_decoder.iou_token.weight");
  E2 (4, C, "sam_mask_decoder.mask_tokens.weight");
  E2 (1, C, "sam_mask_decoder.obj_score_token.weight");
  E4 (C, C / 4, 2, 2, "sam_mask_decoder.output_upscaling.0.weight");
  E1 (C / 4, "sam_mask_decoder.output_upscaling.0.bias");
  norm (e, C / 4, "sam_mask_decoder.output_upscaling.1");
  E4 (C / 4, C / 8, 2, 2, "sam_mask_decoder.output_upscaling.3.weight");
  E1 (C / 8, "sam_mask_decoder.output_upscaling.3.bias");
  E4 (C / 8, C, 1, 1, "sam_mask_decoder.conv_s0.weight");
  E1 (C / 8, "sam_mask_decoder.conv_s0.bias");
  E4 (C / 4, C, 1, 1, "sam_mask_decoder.conv_s1.weight");
  E1 (C / 4, "sam_mask_decoder.conv_s1.bias");
  for (int k = 0; k < 4; k++) {
    int d[4] = { C, C, C, C / 8 };
    g_snprintf (p, sizeof p, "sam_mask_decoder.output_hypernetworks_mlps.%d",
        k);
    mlp (e, p, 3, d);
  }
  {
    int d[4] = { C, C, C, 4 };
    mlp (e, "sam_mask_decoder.iou_prediction_head", 3, d);
  }
  {
    int d[4] = { C, C, C, 1 };
    mlp (e, "sam_mask_decoder.pred_obj_score_head", 3, d);
  }
}
