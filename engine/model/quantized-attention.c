/* quantized-attention.c — attention dispatch of a quantized model: the
 * per-tensor q/k/v quantizers and the post-softmax quantizer (AGQ, LNQ,
 * DRQ) feeding P·V. Float models go straight to sam_attention.
 *
 * Integer path (the default): q, k, v → u8 codes (ORC quantizer, rows in
 * parallel), then sam_k_attention_i8 (integer QKᵀ and P·V, the layer's
 * post-softmax quantizer on P; attention-i8.h). Simulation
 * (SAMSEG_QUANT_SIM / sam_model_set_quant_sim, and layers with a softmax
 * quantizer but float q/k/v): the same codes dequantized to float, the
 * scores by the float GEMM, and the same per-row function
 * (sam_att_i8_row_probs) turning them into the quantized P, used as
 * p̂ = P · ρ in a float P·V. So sim and int differ only by the float
 * rounding of the scores (and float vs exact sums in P·V). Layers without a
 * softmax quantizer simulate with float flash attention on q̂, k̂, v̂.
 */
#include "model/quantized-private.h"
#include "kernels/attention-i8.h"
#include "kernels/ops.h"
#include "kernels/requant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- q, k, v codes ------------------------------------------------------ */

typedef struct {
  const float *x;
  int64_t ldx;
  int cols, bits;
  float s, z;
  uint8_t *codes;               /* [rows, cols] */
  float *deq;                   /* optional [rows, cols]: (code − z) · s */
} QuantCtx;

static void
quant_rows (void *vc, int64_t r0, int64_t r1)
{
  const QuantCtx *c = vc;
  const float inv = 1.f / c->s, qmax = (float) ((1 << c->bits) - 1);
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * c->ldx;
    uint8_t *q = c->codes + r * c->cols;
    if (c->bits == 8)
      sam_quant_f32_u8 (q, x, inv, (int32_t) c->z, c->cols);
    else
      for (int j = 0; j < c->cols; j++)
        q[j] = (uint8_t) act_code (x[j], inv, c->z, qmax);
    if (c->deq)
      sam_dequant_u8_f32 (c->deq + r * c->cols, q, (int32_t) c->z, c->s,
          c->cols);
  }
}

/* x's rows into @codes with q/k/v quantizer t (and dequantized into deq
 * when it is not NULL) */
static void
quantize_into (SamPool * pool, const Att * a, int t, const float *x,
    int64_t ldx, int64_t rows, int cols, uint8_t * codes, float *deq)
{
  QuantCtx c = { x, ldx, cols, a->qkv_bits, a->qkv_s[t], a->qkv_z[t],
    codes, deq
  };
  sam_pool_for (pool, rows, MAX (1, 16384 / MAX (cols, 1)), quant_rows, &c);
}

/* the same into quantizer t's codes buffer (and a new *deq when deq is
 * given) */
static uint8_t *
quantize (SamPool * pool, const Att * a, int t, const float *x, int64_t ldx,
    int64_t rows, int cols, float **deq)
{
  uint8_t *codes = sam_att_i8_codes_buffer (t, (size_t) rows * cols + 1);
  float *d = deq ? (*deq = g_new (float, (size_t) rows * cols + 1)) : NULL;
  quantize_into (pool, a, t, x, ldx, rows, cols, codes, d);
  return codes;
}

static SamAttI8Params
att_params (const Att * a)
{
  SamAttI8Params p = {.pkind = SAM_ATT_P_NONE,.p8 = a->p8 };
  if (a->qkv) {
    p.sq = a->qkv_s[0];
    p.sk = a->qkv_s[1];
    p.sv = a->qkv_s[2];
    p.zq = (int32_t) a->qkv_z[0];
    p.zk = (int32_t) a->qkv_z[1];
    p.zv = (int32_t) a->qkv_z[2];
  }
  if (a->prob)
    switch (a->kind) {
      case ATT_AGQ:
        p.pkind = SAM_ATT_P_AGQ;
        p.agq = a->agq;
        break;
      case ATT_LNQ:
        p.pkind = SAM_ATT_P_LNQ;
        p.lnq = a->lnq;
        break;
      case ATT_DRQ:
        p.pkind = SAM_ATT_P_DRQ;
        p.drq = a->drq;
        break;
    }
  return p;
}

/* ---- simulation: float scores, quantized P, float P·V ------------------- */

#define ATT_ROWS 32

typedef struct {
  const SamAttI8Params *p;
  const float *q, *kt, *v;
  int64_t ldq, ldv, ldo, Nq, Nk;
  int D, Dv, h;
  float *out;
} SimCtx;

static void
sim_rows (void *vc, int64_t b0, int64_t b1)
{
  const SimCtx *c = vc;
  const int64_t Nk = c->Nk;
  float *S = g_new (float, (size_t) ATT_ROWS * Nk);
  int16_t *P = g_new (int16_t, Nk);
  void *tmp = g_malloc ((size_t) Nk * sizeof (float));
  const float lg = (float) (1.4426950408889634 / sqrt ((double) c->D));
  for (int64_t b = b0; b < b1; b++) {
    int64_t r0 = b * ATT_ROWS, nr = MIN (ATT_ROWS, c->Nq - r0);
    sam_matmul (NULL, c->q + r0 * c->ldq + (int64_t) c->h * c->D, c->ldq,
        c->kt, Nk, S, Nk, nr, Nk, c->D, false);
    for (int64_t r = 0; r < nr; r++) {
      float *s = S + r * Nk, mx = -INFINITY;
      for (int64_t j = 0; j < Nk; j++)
        mx = MAX (mx, s[j]);
      double rho = sam_att_i8_row_probs (s, Nk, mx, lg, c->p, P, tmp);
      for (int64_t j = 0; j < Nk; j++)
        s[j] = (float) (P[j] * rho);
    }
    sam_matmul (NULL, S, Nk, c->v + (int64_t) c->h * c->Dv, c->ldv,
        c->out + r0 * c->ldo + (int64_t) c->h * c->Dv, c->ldo, nr, c->Dv, Nk,
        false);
  }
  g_free (S);
  g_free (P);
  g_free (tmp);
}

static void
sim_attention (SamPool * pool, const SamAttI8Params * p, const float *q,
    int64_t ldq, const float *k, int64_t ldk, const float *v, int64_t ldv,
    float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv)
{
  float *kt = g_new (float, (size_t) D * Nk + 1);
  for (int h = 0; h < H; h++) {
    for (int64_t j = 0; j < Nk; j++)
      for (int d = 0; d < D; d++)
        kt[(int64_t) d * Nk + j] = k[j * ldk + (int64_t) h * D + d];
    SimCtx c = { p, q, kt, v, ldq, ldv, ldo, Nq, Nk, D, Dv, h, out };
    sam_pool_for (pool, (Nq + ATT_ROWS - 1) / ATT_ROWS, 1, sim_rows, &c);
  }
  g_free (kt);
}

/* ---- dispatch ------------------------------------------------------------ */

/* The integer attention on the key codes k8: q and v quantized here. */
static void
attention_int (SamPool * pool, const Att * a, const float *q, int64_t ldq,
    const uint8_t * k8, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv)
{
  const SamAttI8Params p = att_params (a);
  const int cq = H * D, cv = H * Dv;
  uint8_t *q8 = quantize (pool, a, 0, q, ldq, Nq, cq, NULL);
  uint8_t *v8 = quantize (pool, a, 2, v, ldv, Nk, cv, NULL);
  sam_k_attention_i8 (pool, q8, cq, k8, cq, v8, cv, out, ldo, Nq, Nk, H, D,
      Dv, &p);
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
  const SamAttI8Params p = att_params (a);
  const int cq = H * D, cv = H * Dv;
  if (a->qkv && !qs->sim) {
    attention_int (pool, a, q, ldq, quantize (pool, a, 1, k, ldk, Nk, cq,
            NULL), v, ldv, out, ldo, Nq, Nk, H, D, Dv);
    return;
  }
  float *fq = NULL, *fk = NULL, *fv = NULL;
  if (a->qkv) {
    quantize (pool, a, 0, q, ldq, Nq, cq, &fq);
    quantize (pool, a, 1, k, ldk, Nk, cq, &fk);
    quantize (pool, a, 2, v, ldv, Nk, cv, &fv);
    q = fq;
    k = fk;
    v = fv;
    ldq = ldk = cq;
    ldv = cv;
  }
  /* the integer path's P (post-softmax quantizer, 8-bit P) on float
   * scores; a plain float softmax where it only carries exp in 15 bits */
  if (a->prob || a->p8)
    sim_attention (pool, &p, q, ldq, k, ldk, v, ldv, out, ldo, Nq, Nk, H, D,
        Dv);
  else
    sam_attention (pool, q, ldq, k, ldk, v, ldv, out, ldo, Nq, Nk, H, D, Dv);
  g_free (fq);
  g_free (fk);
  g_free (fv);
}

static const Att *
int_k_att (const SamModel * m, const char *name)
{
  const SamQState *qs = m->q;
  if (qs->obs_att || qs->obs_lin || qs->sim || !qs->n_quant_att)
    return NULL;
  const Att *a = g_hash_table_lookup (qs->att, name);
  return a && a->qkv ? a : NULL;
}

gboolean
sam_model_attention_int_k (const SamModel * m, const char *name)
{
  return int_k_att (m, name) != NULL;
}

uint8_t *
sam_model_attention_k_codes (int64_t Nk, int cq)
{
  /* the buffer sam_model_attention () quantizes k into */
  return sam_att_i8_codes_buffer (1, (size_t) Nk * cq + 1);
}

void
sam_model_attention_quantize_k (const SamModel * m, SamPool * pool,
    const char *name, const float *k, int64_t ldk, int64_t rows, int cq,
    uint8_t * codes)
{
  const Att *a = int_k_att (m, name);
  g_return_if_fail (a != NULL);
  quantize_into (pool, a, 1, k, ldk, rows, cq, codes, NULL);
}

gboolean
sam_model_attention_k_quantizer (const SamModel * m, const char *name,
    float *step, int32_t * zero)
{
  const Att *a = int_k_att (m, name);
  if (!a || a->qkv_bits != 8)
    return FALSE;
  /* quant_rows' 8-bit branch */
  *step = a->qkv_s[1];
  *zero = (int32_t) a->qkv_z[1];
  return TRUE;
}

void
sam_model_attention_k8 (const SamModel * m, SamPool * pool, const char *name,
    const float *q, int64_t ldq, const uint8_t * k8, const float *v,
    int64_t ldv, float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H,
    int D, int Dv)
{
  const Att *a = int_k_att (m, name);
  g_return_if_fail (a != NULL);
  attention_int (pool, a, q, ldq, k8, v, ldv, out, ldo, Nq, Nk, H, D, Dv);
}

void
sam_model_attention_quantize (const SamModel * m, SamPool * pool,
    const char *name, int which, const float *x, int64_t ldx, int64_t rows,
    int cols, uint8_t * codes)
{
  const Att *a = int_k_att (m, name);
  g_return_if_fail (a != NULL && which >= 0 && which < 3);
  quantize_into (pool, a, which, x, ldx, rows, cols, codes, NULL);
}

void
sam_model_attention_codes (const SamModel * m, SamPool * pool,
    const char *name, const uint8_t * q8, const uint8_t * k8,
    const uint8_t * v8, float *out, int64_t ldo, int64_t Nq, int64_t Nk,
    int H, int D, int Dv)
{
  const Att *a = int_k_att (m, name);
  g_return_if_fail (a != NULL);
  const SamAttI8Params p = att_params (a);
  sam_k_attention_i8 (pool, q8, H * D, k8, H * D, v8, H * Dv, out, ldo, Nq,
      Nk, H, D, Dv, &p);
}

gboolean
sam_model_attention_v_late (const SamModel * m, const char *name)
{
  const SamQState *qs = m->q;
  const Att *a = qs->n_quant_att ? g_hash_table_lookup (qs->att, name) : NULL;
  if (a)
    return a->v_late;
  if (qs->obs_lin || qs->obs_att)
    return TRUE;
  char vname[300];
  g_snprintf (vname, sizeof vname, "%s.v_proj", name);
  return sam_model_layer_plain (m, name) && sam_model_layer_plain (m, vname);
}
