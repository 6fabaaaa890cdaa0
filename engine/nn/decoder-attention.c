/* decoder-attention.c — the mask decoder's Attention (TwoWayTransformer's
 * self- and cross-attentions), with two exact folds for its cross-
 * attentions between a handful of tokens and the whole image embedding.
 *
 * ref: sam2/modeling/sam/transformer.py Attention.forward:
 *   out = out_proj (softmax ((q_proj q)(k_proj k)ᵀ / √D) (v_proj v)),
 * per head h on columns [hD, (h+1)D) of the internal dim I = C / 2.
 *
 * The literal order projects every image token: k_proj and v_proj of the
 * image for tokens → image, q_proj and out_proj for image → tokens, i.e.
 * 2 · Ni · C · I multiply-adds each way (Ni = 1024 image tokens at input
 * 512, 4096 at 1024; C = 256, I = 128). With Nt tokens and H heads, every
 * projection on the image side folds into the Nt tokens' side instead:
 *
 *   tokens → image: (W_k,h y_j + b_k,h) · q_t,h = y_j · (W_k,hᵀ q_t,h)
 *     + b_k,h · q_t,h. The last term is the same for every key j of the
 *     row (t, h), and a softmax row does not change when a constant is
 *     added to it, so it is dropped. Values: Σ_j p_j (W_v,h x_j + b_v,h)
 *     = W_v,h (Σ_j p_j x_j) + b_v,h, because the row's p_j sum to 1.
 *   image → tokens: (W_q,h y_i + b_q,h) · k_t,h = y_i · (W_q,hᵀ k_t,h)
 *     + b_q,h · k_t,h (here the constant differs per key t and is kept),
 *     and out_proj of the heads' P·V is Σ_h Σ_t p_i,ht (W_o,h v_t,h) + b_o,
 *     with W_o,h the columns [hD, (h+1)D) of W_o.
 *
 * Either way the image side costs 2 · Ni · C · (H · Nt) instead of
 * 2 · Ni · C · I: H · Nt = 56 (64 with the padding below) against
 * I = 128 for a tracking frame's 7 tokens (6 output tokens and the padding
 * point), 2x fewer. The folds run where that is smaller (padded H · Nt
 * < I: up to 12 tokens) and only on plain float layers
 * (no quantizer, no calibration observer: sam_model_layer_plain), since
 * they skip the projections a quantizer or an observer would see. The
 * rounding differs from the literal order (float sums in another order);
 * the results agree within float32 noise (the nn-heads fixtures;
 * /nn-heads/attention-folds compares the two orders).
 */
#include "heads-private.h"
#include "kernels/requant.h"

#include <math.h>
#include <string.h>

#define N_HEADS 8               /* TwoWayTransformer(num_heads=8) */

/* The folds' float weights of @name's projection @proj (NULL bias: 0) */
static const float *
proj_w (const SamModel * m, const char *name, const char *proj,
    const float **bias)
{
  *bias = sam_model_wd (m, "%s.%s.bias", name, proj);
  return sam_model_wd (m, "%s.%s.weight", name, proj);
}

/* H · Nt rounded up to the GEMM kernels' panel width (32 for AVX-512,
 * a multiple of the others'): whole tiles where it is the N of a product */
static int64_t
padded_ht (int64_t Nt)
{
  return (N_HEADS * Nt + 31) / 32 * 32;
}

/* Whether @name folds for @n_tokens tokens: cheaper, and every layer it
 * skips plain float. */
static bool
fold_applies (const SamModel * m, const char *name, int64_t n_tokens, int I)
{
  static const char *const projs[] = { "q_proj", "k_proj", "v_proj",
    "out_proj"
  };
  if (padded_ht (n_tokens) >= I || !sam_model_layer_plain (m, name))
    return false;
  for (guint i = 0; i < G_N_ELEMENTS (projs); i++) {
    char pname[160];
    const float *b;
    g_snprintf (pname, sizeof pname, "%s.%s", name, projs[i]);
    if (!sam_model_layer_plain (m, pname) || !proj_w (m, name, projs[i], &b))
      return false;
  }
  return true;
}

/* Rows of a [Nt, I] spread per head: blk [(h, t), j] = a[t, j] for j in
 * head h's columns [hD, (h+1)D), 0 elsewhere, HTp rows (the rows past
 * H · Nt zero). One GEMM against blk then gives every (head, token) row
 * its own head's product; its zeros cost 8x the MACs of a per-head loop,
 * which are few (HTp · I · C ≈ 2 M) and run in the GEMM kernel. */
static float *
head_blocks (const float *a, int64_t Nt, int I, int64_t HTp)
{
  const int D = I / N_HEADS;
  float *blk = g_new0 (float, HTp * I);
  for (int h = 0; h < N_HEADS; h++)
    for (int64_t t = 0; t < Nt; t++)
      memcpy (blk + (h * Nt + t) * I + h * D, a + t * I + h * D,
          sizeof (float) * D);
  return blk;
}

typedef struct {
  float *s;
  int64_t ld, n;
  float scale;
} SoftmaxCtx;

/* softmax of rows [r0, r1) of n logits each, in place */
static void
softmax_rows (void *vc, int64_t r0, int64_t r1)
{
  const SoftmaxCtx *c = vc;
  for (int64_t r = r0; r < r1; r++)
    sam_softmax_row_f32 (c->s + r * c->ld, c->s + r * c->ld, c->scale,
        (int) c->n);
}

/* the same for image → tokens: each image row holds N_HEADS groups of n
 * logits (one per head), too short for the vector row kernel */
static void
softmax_groups (void *vc, int64_t r0, int64_t r1)
{
  const SoftmaxCtx *c = vc;
  for (int64_t r = r0; r < r1; r++)
    for (int h = 0; h < N_HEADS; h++) {
      float *s = c->s + r * c->ld + h * c->n, mx = s[0], sum = 0.f;
      for (int64_t k = 1; k < c->n; k++)
        mx = MAX (mx, s[k]);
      for (int64_t k = 0; k < c->n; k++)
        sum += s[k] = expf ((s[k] - mx) * c->scale);
      const float inv = 1.f / sum;
      for (int64_t k = 0; k < c->n; k++)
        s[k] *= inv;
    }
}

/* Tokens q_in [Nt, C] attend to the image: keys k_in, values v_in
 * [Ni, C]; out [Nt, C]. */
static void
tokens_to_image (const SamModel * m, SamPool * pool, const char *name,
    const float *q_in, int64_t Nt, const float *k_in, const float *v_in,
    int64_t Ni, int I, float *out)
{
  const int C = m->hp.d_model, D = I / N_HEADS;
  const int64_t HT = N_HEADS * Nt, HTp = padded_ht (Nt);
  const float *bk, *bv;
  const float *Wk = proj_w (m, name, "k_proj", &bk);
  const float *Wv = proj_w (m, name, "v_proj", &bv);
  float *q = g_new (float, Nt * I);
  float *g = g_new (float, HTp * C);
  float *p = g_new (float, HT * Ni);
  float *z = g_new (float, HT * C);
  float *zo = g_new (float, HT * I);
  float *o = g_new (float, Nt * I);

  sam_model_linearf (m, pool, q_in, Nt, C, q, I, "%s.q_proj", name);
  /* g[(h, t)] = W_k,hᵀ q_t,h; b_k dropped (above) */
  float *qb = head_blocks (q, Nt, I, HTp);
  sam_matmul (pool, qb, I, Wk, C, g, C, HTp, C, I, false);
  /* the logits of every (head, token) row against the image tokens, a
   * row per (head, token): the image tokens are the GEMM's columns */
  sam_linear (pool, g, HT, C, C, k_in, NULL, (int) Ni, p, Ni);
  SoftmaxCtx sc = { p, Ni, Ni, 1.f / sqrtf ((float) D) };
  sam_pool_for (pool, HT, 1, softmax_rows, &sc);
  /* Σ_j p_j x_j over the image tokens, then W_v,h and b_v,h */
  sam_matmul (pool, p, Ni, v_in, C, z, C, HT, C, Ni, false);
  sam_linear (pool, z, HT, C, C, Wv, NULL, I, zo, I);
  for (int h = 0; h < N_HEADS; h++)
    for (int64_t t = 0; t < Nt; t++)
      for (int d = 0; d < D; d++)
        o[t * I + h * D + d] = zo[(h * Nt + t) * I + h * D + d]
            + (bv ? bv[h * D + d] : 0.f);
  sam_model_linearf (m, pool, o, Nt, I, out, C, "%s.out_proj", name);
  g_free (q);
  g_free (qb);
  g_free (g);
  g_free (p);
  g_free (z);
  g_free (zo);
  g_free (o);
}

/* The image q_in [Ni, C] attends to the tokens: keys k_in, values v_in
 * [Nt, C]; out [Ni, C]. */
static void
image_to_tokens (const SamModel * m, SamPool * pool, const char *name,
    const float *q_in, int64_t Ni, const float *k_in, const float *v_in,
    int64_t Nt, int I, float *out)
{
  const int C = m->hp.d_model, D = I / N_HEADS;
  const int64_t HTp = padded_ht (Nt);
  const float *bq, *bo;
  const float *Wq = proj_w (m, name, "q_proj", &bq);
  const float *Wo = proj_w (m, name, "out_proj", &bo);
  float *k = g_new (float, Nt * I);
  float *v = g_new (float, Nt * I);
  float *g = g_new (float, HTp * C);
  float *gb = g_new0 (float, HTp);
  float *ut = g_new (float, C * HTp);
  float *s = g_new (float, Ni * HTp);

  sam_model_linearf (m, pool, k_in, Nt, C, k, I, "%s.k_proj", name);
  sam_model_linearf (m, pool, v_in, Nt, C, v, I, "%s.v_proj", name);
  /* g[(h, t)] = W_q,hᵀ k_t,h, gb[(h, t)] = b_q,h · k_t,h (rows past H · Nt:
   * zero, and so are their logits) */
  float *kb = head_blocks (k, Nt, I, HTp);
  sam_matmul (pool, kb, I, Wq, C, g, C, HTp, C, I, false);
  for (int64_t r = 0; bq && r < HTp; r++) {
    double acc = 0;
    for (int j = 0; j < I; j++)
      acc += (double) kb[r * I + j] * bq[j];
    gb[r] = (float) acc;
  }
  /* each image token's logits, head h's Nt keys at columns [h·Nt, ...) */
  sam_linear (pool, q_in, Ni, C, C, g, gb, (int) HTp, s, HTp);
  SoftmaxCtx sc = { s, HTp, Nt, 1.f / sqrtf ((float) D) };
  sam_pool_for (pool, Ni, 64, softmax_groups, &sc);
  /* ut[c, (h, t)] = W_o,h v_t,h: out_proj of one head's one value (its
   * padding columns zero: the padding logits meet zeros) */
  float *vb = head_blocks (v, Nt, I, HTp);
  sam_linear (pool, Wo, C, I, I, vb, NULL, (int) HTp, ut, HTp);
  sam_linear (pool, s, Ni, (int) HTp, HTp, ut, bo, C, out, C);
  g_free (k);
  g_free (v);
  g_free (kb);
  g_free (vb);
  g_free (g);
  g_free (gb);
  g_free (ut);
  g_free (s);
}

void
sam_decoder_attention_literal (const SamModel * m, SamPool * pool,
    const char *name, const float *q_in, int64_t Nq, const float *k_in,
    const float *v_in, int64_t Nk, float *out)
{
  const int C = m->hp.d_model;
  const SamW *wq = sam_model_w (m, "%s.q_proj.weight", name);
  const int I = (int) wq->shape[0], D = I / N_HEADS;
  float *q = g_new (float, (size_t) Nq * I);
  float *k = g_new (float, (size_t) Nk * I);
  float *v = g_new (float, (size_t) Nk * I);
  float *o = g_new (float, (size_t) Nq * I);

  sam_model_linearf (m, pool, q_in, Nq, C, q, I, "%s.q_proj", name);
  sam_model_linearf (m, pool, k_in, Nk, C, k, I, "%s.k_proj", name);
  sam_model_linearf (m, pool, v_in, Nk, C, v, I, "%s.v_proj", name);
  sam_model_attention (m, pool, name, q, I, k, I, v, I, o, I, Nq, Nk,
      N_HEADS, D, D);
  sam_model_linearf (m, pool, o, Nq, I, out, C, "%s.out_proj", name);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (o);
}

void
sam_decoder_attention (const SamModel * m, SamPool * pool, const char *name,
    const float *q_in, int64_t Nq, const float *k_in, const float *v_in,
    int64_t Nk, float *out)
{
  const SamW *wq = sam_model_w (m, "%s.q_proj.weight", name);
  const int I = (int) wq->shape[0];
  /* the image side is the larger one; a fold needs the other side small */
  if (Nk > Nq && fold_applies (m, name, Nq, I))
    tokens_to_image (m, pool, name, q_in, Nq, k_in, v_in, Nk, I, out);
  else if (Nq > Nk && fold_applies (m, name, Nk, I))
    image_to_tokens (m, pool, name, q_in, Nq, k_in, v_in, Nk, I, out);
  else
    sam_decoder_attention_literal (m, pool, name, q_in, Nq, k_in, v_in, Nk,
        out);
}
