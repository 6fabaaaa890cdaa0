/* quantized-attention.c — attention dispatch of a quantized model: the
 * per-tensor q/k/v quantizers and the post-softmax quantizer (AGQ, LNQ,
 * DRQ) feeding P·V. Float models go straight to sam_attention.
 */
#include "model/quantized-private.h"
#include "kernels/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- attention ---------------------------------------------------------- */

#define ATT_ROWS 32

typedef struct {
  const Att *a;
  const float *q, *kt, *v;
  int64_t ldq, ldv, ldo, Nq, Nk;
  int D, Dv, h;
  float *out;
} QAttCtx;

static void
qatt_rows (void *vc, int64_t b0, int64_t b1)
{
  const QAttCtx *c = vc;
  const int64_t Nk = c->Nk;
  float *S = g_new (float, (size_t) ATT_ROWS * Nk);
  const float scale = 1.f / sqrtf ((float) c->D);
  for (int64_t b = b0; b < b1; b++) {
    int64_t r0 = b * ATT_ROWS, nr = MIN (ATT_ROWS, c->Nq - r0);
    sam_matmul (NULL, c->q + r0 * c->ldq + (int64_t) c->h * c->D, c->ldq,
        c->kt, Nk, S, Nk, nr, Nk, c->D, false);
    for (int64_t r = 0; r < nr; r++) {
      float *s = S + r * Nk, mx = -INFINITY;
      for (int64_t j = 0; j < Nk; j++)
        mx = MAX (mx, s[j]);
      double sum = 0;
      for (int64_t j = 0; j < Nk; j++) {
        s[j] = expf ((s[j] - mx) * scale);
        sum += s[j];
      }
      const float inv = (float) (1.0 / sum);
      for (int64_t j = 0; j < Nk; j++) {
        float p = s[j] * inv;
        if (c->a->prob)
          switch (c->a->kind) {
          case ATT_AGQ:
            p = c->a->lut[sam_agq_encode (p, &c->a->agq)];
            break;
          case ATT_LNQ:
            p = sam_lnq_fake (p, &c->a->lnq);
            break;
          case ATT_DRQ:
            p = sam_drq_softmax_fake (p, &c->a->drq);
            break;
        }
        s[j] = p;
      }
    }
    sam_matmul (NULL, S, Nk, c->v + (int64_t) c->h * c->Dv, c->ldv,
        c->out + r0 * c->ldo + (int64_t) c->h * c->Dv, c->ldo, nr, c->Dv, Nk,
        false);
  }
  g_free (S);
}

void
sam_model_attention (const SamModel * m, SamPool * pool, const char *name,
    const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v,
    int64_t ldv, float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H,
    int D, int Dv)
{
  SamQState *qs = m->q;
  if (qs->obs_att)
    qs->obs_att (name, q, ldq, k, ldk, v, ldv, Nq, Nk, H, D, Dv, qs->obs_ud);
  const Att *a = qs->n_quant_att ? g_hash_table_lookup (qs->att, name) : NULL;
  if (!a) {
    sam_attention (pool, q, ldq, k, ldk, v, ldv, out, ldo, Nq, Nk, H, D, Dv);
    return;
  }
  float *fq = NULL, *fk = NULL, *fv = NULL;
  if (a->qkv) {
    /* fake-quantized copies (per-tensor u8 codes) */
    const float *src[3] = { q, k, v };
    const int64_t ld[3] = { ldq, ldk, ldv }, rows[3] = { Nq, Nk, Nk };
    const int cols[3] = { H * D, H * D, H * Dv };
    float *dst[3];
    const float qmax = (float) ((1 << a->qkv_bits) - 1);
    for (int t = 0; t < 3; t++) {
      dst[t] = g_new (float, (size_t) rows[t] * cols[t]);
      const float s = a->qkv_s[t], z = a->qkv_z[t], inv = 1.f / s;
      for (int64_t r = 0; r < rows[t]; r++)
        for (int c2 = 0; c2 < cols[t]; c2++)
          dst[t][r * cols[t] + c2] = ((float) act_code (src[t][r * ld[t] +
                      c2], inv, z, qmax) - z) * s;
    }
    fq = dst[0];
    fk = dst[1];
    fv = dst[2];
    q = fq;
    k = fk;
    v = fv;
    ldq = ldk = H * D;
    ldv = H * Dv;
    if (!a->prob) {
      sam_attention (pool, q, ldq, k, ldk, v, ldv, out, ldo, Nq, Nk, H, D,
          Dv);
      g_free (fq);
      g_free (fk);
      g_free (fv);
      return;
    }
  }
  float *kt = g_new (float, (size_t) D * Nk);
  for (int h = 0; h < H; h++) {
    for (int64_t j = 0; j < Nk; j++)
      for (int d = 0; d < D; d++)
        kt[(int64_t) d * Nk + j] = k[j * ldk + (int64_t) h * D + d];
    QAttCtx c = { a, q, kt, v, ldq, ldv, ldo, Nq, Nk, D, Dv, h, out };
    sam_pool_for (pool, (Nq + ATT_ROWS - 1) / ATT_ROWS, 1, qatt_rows, &c);
  }
  g_free (kt);
  g_free (fq);
  g_free (fk);
  g_free (fv);
}
