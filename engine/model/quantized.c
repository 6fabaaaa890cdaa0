/* quantized.c — the per-layer Linear / attention dispatch (float or
 * quantized), the quantized-file side tensors, observers. See quantized.h.
 */
#include "model/quantized-private.h"
#include "kernels/ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void
lin_free (gpointer p)
{
  Lin *l = p;
  if (l->packed)
    sam_gemm_i8_weights_free (l->packed);
  g_free (l->aq_inv);
  g_free (l->aq_z);
  g_free (l->fscale);
  g_free (l->bias_i32);
  g_free (l->wdeq);
  sam_packed_f32_free (l->fpacked);
  g_free (l->zero_row);
  g_free (l->name);
  g_free (l);
}

static void
att_free (gpointer p)
{
  Att *a = p;
  g_free (a->name);
  g_free (a);
}

/* ---- loading ------------------------------------------------------------ */

static const SamStTensor *
side (const SamModel * m, const char *base, const char *suffix)
{
  char name[300];
  g_snprintf (name, sizeof name, "%s%s", base, suffix);
  return sam_safetensors_find (m->st, name);
}

gboolean
sam_quant_tensor_ok (const SamModel * m, const SamStTensor * t,
    const char *name)
{
  if (t->dtype != SAM_DTYPE_I8 || !g_str_has_suffix (name, ".weight"))
    return FALSE;
  const SamStTensor *s = side (m, name, "#scale");
  return s && s->dtype == SAM_DTYPE_F32 && s->ndim == 1
      && s->shape[0] == t->shape[0];
}

static gboolean
f32_vec (const SamStTensor * t, int64_t n)
{
  return t && t->dtype == SAM_DTYPE_F32 && t->ndim == 1 && t->shape[0] == n
      && ((uintptr_t) t->data % 4) == 0;
}

/* A bit width read from a float side tensor: NaN, fractions and values out
 * of 2..8 are refused before any (int) cast or shift uses them. */
static gboolean
bits_ok (float b)
{
  return b >= 2 && b <= 8 && b == (float) (int) b;
}

/* The message may name the layer (l->name) or its sizes: set it, then free. */
#define LFAIL(...) do { g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, \
      __VA_ARGS__); lin_free (l); return FALSE; } while (0)
#define QFAIL(...) do { g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, \
      __VA_ARGS__); return FALSE; } while (0)

static gboolean
build_lin (SamModel * m, const char *wname, GError ** error)
{
  const char *path = sam_safetensors_path (m->st);
  const SamStTensor *t = sam_safetensors_find (m->st, wname);
  const SamStTensor *ws = side (m, wname, "#scale");
  char *L = g_strndup (wname, strlen (wname) - strlen (".weight"));
  Lin *l = g_new0 (Lin, 1);
  l->name = L;
  l->N = (int) t->shape[0];
  l->K = (int) (t->numel / t->shape[0]);
  l->quant = TRUE;
  l->wq = t->data;
  if (!f32_vec (ws, l->N)) {
    LFAIL ("%s: '%s#scale' must be F32 [%d] (4-byte aligned)", path, wname,
        l->N);
  }
  l->wscale = ws->data;
  char bname[300];
  g_snprintf (bname, sizeof bname, "%s.bias", L);
  const SamW *bw = g_hash_table_lookup (m->tensors, bname);
  l->b = bw ? bw->data : NULL;
  int wmax = 0;
  for (int64_t i = 0; i < t->numel; i++)
    wmax = MAX (wmax, abs ((int) l->wq[i]));
  l->wbits = 2;
  while (l->wbits < 8 && wmax > (1 << (l->wbits - 1)) - 1)
    l->wbits++;
  if (wmax > 127) {
    LFAIL ("%s: '%s' has -128 (weights are symmetric)", path, wname);
  }
  const SamStTensor *qp = side (m, L, ".input#qparams");
  const SamStTensor *cs = side (m, L, ".input#scale");
  const SamStTensor *cz = side (m, L, ".input#zero");
  const SamStTensor *hl = side (m, L, ".input#hluq");
  int n_kinds = !!qp + !!(cs || cz) + !!hl;
  if (n_kinds != 1) {
    LFAIL ("%s: quantized '%s' needs exactly one activation quantizer "
        "(input#qparams, input#scale + input#zero or input#hluq)", path, L);
  }
  if (qp) {
    const float *p;
    if (!f32_vec (qp, 3) || !((p = qp->data)[0] > 0.f) || !bits_ok (p[2])
        || !(p[1] >= 0 && p[1] <= (1 << (int) p[2]) - 1)) {
      LFAIL ("%s: '%s.input#qparams' must be F32 [3] (scale > 0, zero, "
          "bits 2..8)", path, L);
    }
    l->akind = ACT_UNIFORM;
    l->as = p[0];
    l->az = (int32_t) p[1];
    l->abits = (int) p[2];
  } else if (cs || cz) {
    const SamStTensor *bits = side (m, L, ".input#bits");
    if (!f32_vec (cs, l->K) || !f32_vec (cz, l->K) || !f32_vec (bits, 1)) {
      LFAIL ("%s: '%s.input#scale/#zero/#bits' must be F32 [%d], [%d], [1]",
          path, L, l->K, l->K);
    }
    l->akind = ACT_CHANNEL;
    l->cs = cs->data;
    l->czf = cz->data;
    if (!bits_ok (((const float *) bits->data)[0])) {
      LFAIL ("%s: '%s.input#bits' must be 2..8", path, L);
    }
    l->abits = (int) ((const float *) bits->data)[0];
    for (int c = 0; c < l->K; c++)
      if (!(l->cs[c] > 0.f) || !(l->czf[c] >= 0
              && l->czf[c] <= (1 << l->abits) - 1)) {
        LFAIL ("%s: '%s.input#scale/#zero' out of range", path, L);
      }
  } else {
    const float *p;
    if (!f32_vec (hl, 5) || !((p = hl->data)[1] > 0.f) || !bits_ok (p[4])) {
      LFAIL ("%s: '%s.input#hluq' must be F32 [5] (m, R, r, g, bits)", path,
          L);
    }
    l->akind = ACT_HLUQ;
    l->hluq = (SamHluqParams) {
    p[0], p[1], p[2], p[3], (int) p[4]};
    l->abits = (int) p[4];
  }
  if (l->abits < 2 || l->abits > 8) {
    LFAIL ("%s: '%s' activation bits %d (2..8)", path, L, l->abits);
  }
  /* int8 GEMM operands (uniform and per-channel codes are linear). */
  if (l->akind == ACT_UNIFORM || l->akind == ACT_CHANNEL) {
    l->packed = sam_gemm_i8_weights_pack (l->wq, l->N, l->K, l->K);
    if (!l->packed) {
      LFAIL ("%s: '%s': out of memory packing the weights", path, wname);
    }
    /* the codes of act_code (): x · (1 / s) + z, clamped, rounded half up */
    int na = l->akind == ACT_UNIFORM ? 1 : l->K;
    l->aq_inv = g_new (float, na);
    l->aq_z = g_new (float, na);
    for (int c = 0; c < na; c++) {
      l->aq_inv[c] = 1.f / (l->akind == ACT_UNIFORM ? l->as : l->cs[c]);
      l->aq_z[c] = l->akind == ACT_UNIFORM ? (float) l->az : l->czf[c];
    }
    l->aq = (SamGemmI8ActQuant) {
    l->akind == ACT_CHANNEL, l->aq_inv, l->aq_z,
          (float) ((1 << l->abits) - 1)};
    l->fscale = g_new (float, l->N);
    for (int n = 0; n < l->N; n++)
      l->fscale[n] = l->akind == ACT_UNIFORM ? l->as * l->wscale[n]
          : l->wscale[n];
    if (l->akind == ACT_CHANNEL) {
      l->bias_i32 = g_new (int32_t, l->N);
      for (int n = 0; n < l->N; n++) {
        int64_t s = 0;
        for (int c = 0; c < l->K; c++)
          s += (int64_t) l->wq[(int64_t) n * l->K + c] * (int32_t) l->czf[c];
        l->bias_i32[n] = (int32_t) - s;
      }
    }
  }
  g_hash_table_insert (m->q->lin, l->name, l);
  m->q->n_quant_lin++;
  return TRUE;
}

static gboolean
is_attention (const SamModel * m, const char *A)
{
  char n[300];
  g_snprintf (n, sizeof n, "%s.q_proj.weight", A);
  if (g_hash_table_contains (m->tensors, n))
    return TRUE;
  g_snprintf (n, sizeof n, "%s.qkv.weight", A);
  return g_hash_table_contains (m->tensors, n);
}

static gboolean
build_att (SamModel * m, const SamStTensor * t, GError ** error)
{
  const char *path = sam_safetensors_path (m->st);
  const char *hash = strrchr (t->name, '#');
  char *A = g_strndup (t->name, hash - t->name);
  if (!is_attention (m, A)) {
    g_free (A);
    QFAIL ("%s: '%s' does not name an attention module", path, t->name);
  }
  Att *a = g_hash_table_lookup (m->q->att, A);
  gboolean is_qkv = strcmp (hash, "#qkv") == 0;
  gboolean is_vlate = strcmp (hash, "#vlate") == 0;
  gboolean is_p8 = strcmp (hash, "#p8") == 0;
  if (a && (is_vlate ? a->v_late : is_p8 ? a->p8 : is_qkv ? a->qkv
          : a->prob)) {
    g_free (A);
    QFAIL ("%s: two quantizers for attention '%s'", path, a->name);
  }
  if (a)
    g_free (A);
  else {
    a = g_new0 (Att, 1);
    a->name = A;
    g_hash_table_insert (m->q->att, a->name, a);
    m->q->n_quant_att++;
  }
  if (is_vlate || is_p8) {
    if (!f32_vec (t, 1) || ((const float *) t->data)[0] != 1.f)
      QFAIL ("%s: '%s' must be F32 [1] = 1", path, t->name);
    if (is_vlate)
      a->v_late = TRUE;
    else
      a->p8 = TRUE;
    return TRUE;
  }
  if (is_qkv) {
    const float *p = t->data;
    if (!f32_vec (t, 7) || !(p[0] > 0.f && p[2] > 0.f && p[4] > 0.f)
        || !bits_ok (p[6]))
      QFAIL ("%s: '%s' must be F32 [7] (s, z of q, k, v; bits 2..8)", path,
          t->name);
    a->qkv = TRUE;
    for (int i = 0; i < 3; i++) {
      a->qkv_s[i] = p[2 * i];
      a->qkv_z[i] = p[2 * i + 1];
    }
    a->qkv_bits = (int) p[6];
    return TRUE;
  }
  a->prob = TRUE;
  int n = strcmp (hash, "#drq") == 0 ? 2 : 3;
  const float *p = t->data;
  if (!f32_vec (t, n) || !(p[0] > 0.f) || !bits_ok (p[n - 1])) {
    QFAIL ("%s: '%s' must be F32 [%d] with bits 2..8", path, t->name, n);
  }
  if (strcmp (hash, "#agq") == 0) {
    a->kind = ATT_AGQ;
    if (p[1] != 1 && p[1] != 2 && p[1] != 4) {
      QFAIL ("%s: '%s': tau must be 1, 2 or 4", path, t->name);
    }
    a->agq = (SamAgqParams) {
    p[0], (int) p[1], (int) p[2]};
    sam_agq_decode_lut (&a->agq, a->lut);
  } else if (strcmp (hash, "#lnq") == 0) {
    a->kind = ATT_LNQ;
    a->lnq = (SamLnqParams) {
    p[0], p[1], (int) p[2]};
    if (!(p[1] > 0.f)) {
      QFAIL ("%s: '%s': alpha must be > 0", path, t->name);
    }
  } else {
    a->kind = ATT_DRQ;
    a->drq = (SamDrqSoftmaxParams) {
    p[0], (int) p[1], false};
  }
  return TRUE;
}

gboolean
sam_quant_state_init (SamModel * m, GError ** error)
{
  const char *path = sam_safetensors_path (m->st);
  SamQState *q = m->q = g_new0 (SamQState, 1);
  g_mutex_init (&q->lock);
  q->lin = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, lin_free);
  q->att = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, att_free);
  q->meta = sam_safetensors_metadata (m->st, "samseg.quant");
  const char *env = g_getenv ("SAMSEG_QUANT_SIM");
  q->sim = env && *env && strcmp (env, "0") != 0;

  for (int i = 0; i < sam_safetensors_n_tensors (m->st); i++) {
    const SamStTensor *t = sam_safetensors_tensor (m->st, i);
    const char *hash = strchr (t->name, '#');
    if (!hash) {
      if (t->dtype == SAM_DTYPE_I8 && !build_lin (m, t->name, error))
        return FALSE;
      continue;
    }
    if (strcmp (hash, "#agq") == 0 || strcmp (hash, "#lnq") == 0
        || strcmp (hash, "#drq") == 0 || strcmp (hash, "#qkv") == 0
        || strcmp (hash, "#vlate") == 0 || strcmp (hash, "#p8") == 0) {
      if (!build_att (m, t, error))
        return FALSE;
      continue;
    }
    /* the others belong to an I8 weight */
    char *base = NULL;
    if (strcmp (hash, "#scale") == 0 && g_str_has_suffix (t->name,
            ".weight#scale"))
      base = g_strndup (t->name, hash - t->name);
    else {
      static const char *sfx[] = { ".input#qparams", ".input#scale",
        ".input#zero", ".input#bits", ".input#hluq"
      };
      for (guint k = 0; k < G_N_ELEMENTS (sfx) && !base; k++)
        if (g_str_has_suffix (t->name, sfx[k])) {
          char *L = g_strndup (t->name, strlen (t->name) - strlen (sfx[k]));
          base = g_strconcat (L, ".weight", NULL);
          g_free (L);
        }
    }
    const SamStTensor *w = base ? sam_safetensors_find (m->st, base) : NULL;
    gboolean ok = w && w->dtype == SAM_DTYPE_I8
        && g_hash_table_contains (m->tensors, base);
    g_free (base);
    if (!ok) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_SHAPE,
          "%s: unknown tensor '%s' (no quantized SAM 2.1 %s weight it "
          "belongs to)", path, t->name, m->hp.variant);
      return FALSE;
    }
  }
  return TRUE;
}

void
sam_quant_state_free (SamModel * m)
{
  SamQState *q = m->q;
  if (!q)
    return;
  g_hash_table_destroy (q->lin);
  g_hash_table_destroy (q->att);
  g_mutex_clear (&q->lock);
  g_free (q);
  m->q = NULL;
}

void
sam_model_set_observers (SamModel * m, SamLinearObserver lin,
    SamAttentionObserver att, void *user_data)
{
  m->q->obs_lin = lin;
  m->q->obs_att = att;
  m->q->obs_ud = user_data;
}

void
sam_model_set_quant_sim (SamModel * m, gboolean sim)
{
  m->q->sim = sim;
}

/* ---- Linear ------------------------------------------------------------- */

static Lin *
get_lin (const SamModel * m, const char *name)
{
  SamQState *q = m->q;
  g_mutex_lock (&q->lock);
  Lin *l = g_hash_table_lookup (q->lin, name);
  if (!l) {
    char wn[300], bn[300];
    g_snprintf (wn, sizeof wn, "%s.weight", name);
    g_snprintf (bn, sizeof bn, "%s.bias", name);
    const SamW *w = g_hash_table_lookup (m->tensors, wn);
    const SamW *b = g_hash_table_lookup (m->tensors, bn);
    if (!w || !w->data) {
      g_mutex_unlock (&q->lock);
      g_critical ("samseg: internal error: no linear '%s'", name);
      return NULL;
    }
    l = g_new0 (Lin, 1);
    l->name = g_strdup (name);
    l->N = (int) w->shape[0];
    l->K = (int) (w->numel / w->shape[0]);
    l->w = w->data;
    l->b = b ? b->data : NULL;
    g_hash_table_insert (q->lin, l->name, l);
  }
  if (l->quant && !l->wdeq && (q->sim || l->akind == ACT_HLUQ)) {
    float *d = g_new (float, (size_t) l->N * l->K);
    for (int n = 0; n < l->N; n++)
      for (int c = 0; c < l->K; c++) {
        float v = (float) l->wq[(int64_t) n * l->K + c] * l->wscale[n];
        d[(int64_t) n * l->K + c] = l->akind == ACT_CHANNEL ? v / l->cs[c] : v;
      }
    l->wdeq = d;
  }
  g_mutex_unlock (&q->lock);
  return l;
}


/* Fake quantization in float (SAMSEG_QUANT_SIM, and HLUQ, whose log-uniform
 * codes are not linear: no integer GEMM can take them). */
typedef struct {
  const Lin *l;
  const float *x;
  int64_t ldx;
  float *xh;                    /* [M, K] */
} SimCtx;

static void
sim_rows (void *vc, int64_t r0, int64_t r1)
{
  const SimCtx *c = vc;
  const Lin *l = c->l;
  const int K = l->K;
  const float qmax = (float) ((1 << l->abits) - 1);
  for (int64_t r = r0; r < r1; r++) {
    const float *x = c->x + r * c->ldx;
    float *xh = c->xh + r * K;
    if (l->akind == ACT_HLUQ) {
      for (int k = 0; k < K; k++)
        xh[k] = sam_hluq_fake (x[k], &l->hluq);
    } else if (l->akind == ACT_UNIFORM) {
      const float inv = 1.f / l->as, z = (float) l->az;
      for (int k = 0; k < K; k++)
        xh[k] = ((float) act_code (x[k], inv, z, qmax) - z) * l->as;
    } else {
      for (int k = 0; k < K; k++)
        xh[k] = ((float) act_code (x[k], 1.f / l->cs[k], l->czf[k], qmax)
            - l->czf[k]) * l->cs[k];
    }
  }
}

/* An int8 layer that sam_k_linear_i8 runs (not simulated, not HLUQ) */
static bool
lin_int8 (const SamModel * m, const Lin * l)
{
  return l && l->quant && !m->q->sim && l->akind != ACT_HLUQ;
}

static SamGemmI8Epilogue
lin_epilogue (const Lin * l)
{
  SamGemmI8Epilogue ep = { 0 };
  ep.out = SAM_GEMM_I8_OUT_F32;
  ep.bias_i32 = l->bias_i32;
  ep.fscale = l->fscale;
  ep.bias = l->b;
  return ep;
}

/* A float Linear of a quantized model uses weights packed once and kept:
 * at few rows (the mask decoder's ~8 tokens, the heads' single rows)
 * packing costs about N·K, the product M·N·K MACs, so the packing was
 * most of the call (37 % of the decoder at input 512); at many rows (the
 * FPN neck, the decoder's image-side projections) it was still a serial
 * pass per call, 0.4 ms of the 512 / 1 decoder. The copies are the float
 * layers' weights once more: 2.7 MiB for the default placement (neck and
 * decoder transformer float). A float model keeps none: there the copies
 * (≈ 22 MB, the decoder's and heads' layers) weigh against the
 * peak-memory target, and the time they save is lost in a frame of
 * seconds. */

static const SamPackedF32 *
lin_packed_f32 (const SamModel * m, Lin * l)
{
  SamQState *q = m->q;
  g_mutex_lock (&q->lock);
  if (!l->fpacked)
    l->fpacked = sam_packed_f32_new (l->w, l->K, l->N);
  const SamPackedF32 *p = l->fpacked;
  g_mutex_unlock (&q->lock);
  return p;
}

static void
linear_act (const SamModel * m, SamPool * pool, const char *name,
    const float *x, int64_t M, int64_t ldx, float *y, int64_t ldy,
    SamModelAct act)
{
  const Lin *l = get_lin (m, name);
  SamQState *q = m->q;
  bool fused = false;
  if (!l)
    return;
  if (!l->quant && q->n_quant_lin > 0) {
    sam_linear_packed (pool, x, M, l->K, ldx, lin_packed_f32 (m, (Lin *) l),
        l->b, l->N, y, ldy);
  } else if (!l->quant) {
    sam_linear (pool, x, M, l->K, ldx, l->w, l->b, l->N, y, ldy);
  } else if (q->sim || l->akind == ACT_HLUQ) {
    SimCtx c = { l, x, ldx, g_new (float, (size_t) M * l->K) };
    sam_pool_for (pool, M, 16, sim_rows, &c);
    sam_linear (pool, c.xh, M, l->K, l->K, l->wdeq, l->b, l->N, y, ldy);
    g_free (c.xh);
  } else {
    /* codes made per row tile inside the GEMM (no M × K buffer); an
     * observer must see the output before the activation */
    SamGemmI8Epilogue ep = lin_epilogue (l);
    fused = act != SAM_MODEL_ACT_NONE && !q->obs_lin;
    if (fused)
      ep.rows_done = act == SAM_MODEL_ACT_GELU ? sam_gelu_q_rows
          : sam_relu_rows;
    sam_k_linear_i8 (pool, x, M, ldx, &l->aq,
        l->akind == ACT_UNIFORM ? l->az : 0, l->packed, &ep, y, ldy);
  }
  if (q->obs_lin)
    q->obs_lin (name, x, M, l->K, ldx, y, l->N, ldy, q->obs_ud);
  if (fused || act == SAM_MODEL_ACT_NONE)
    return;
  /* the activation as a pass of its own: y is dense (sam_model_mlp's h);
   * an integer layer's GELU is the epilogue's (an observer sees what the
   * next layer's quantizer gets without one) */
  g_return_if_fail (ldy == l->N);
  if (act == SAM_MODEL_ACT_GELU && lin_int8 (m, l))
    sam_gelu_q (pool, y, M * l->N);
  else if (act == SAM_MODEL_ACT_GELU)
    sam_gelu (pool, y, M * l->N);
  else
    sam_relu_pool (pool, y, M * l->N);
}

typedef struct {
  SamModelRowsFunc fn;
  void *ud;
  float *y;
  int64_t ldy;
} RowsPass;

static void
rows_pass (void *vc, int64_t r0, int64_t r1)
{
  const RowsPass *c = vc;
  c->fn (c->ud, c->y + r0 * c->ldy, c->ldy, r0, r1 - r0);
}

void
sam_model_linear_rows (const SamModel * m, SamPool * pool, const char *name,
    const float *x, int64_t M, int64_t ldx, float *y, int64_t ldy,
    SamModelRowsFunc fn, void *user_data)
{
  const Lin *l = get_lin (m, name);
  if (!l)
    return;
  if (lin_int8 (m, l) && !m->q->obs_lin) {
    SamGemmI8Epilogue ep = lin_epilogue (l);
    ep.rows_at = fn;
    ep.rows_ud = user_data;
    sam_k_linear_i8 (pool, x, M, ldx, &l->aq,
        l->akind == ACT_UNIFORM ? l->az : 0, l->packed, &ep, y, ldy);
    return;
  }
  linear_act (m, pool, name, x, M, ldx, y, ldy, SAM_MODEL_ACT_NONE);
  RowsPass c = { fn, user_data, y, ldy };
  sam_pool_for (pool, M, 16, rows_pass, &c);
}

void
sam_model_mlp (const SamModel * m, SamPool * pool, const char *name1,
    const char *name2, SamModelAct act, const float *x, int64_t M,
    int64_t ldx, float *h, float *y, int64_t ldy)
{
  const Lin *l1 = get_lin (m, name1), *l2 = get_lin (m, name2);
  if (!l1 || !l2)
    return;
  if (!lin_int8 (m, l1) || !lin_int8 (m, l2) || m->q->obs_lin) {
    linear_act (m, pool, name1, x, M, ldx, h, l1->N, act);
    linear_act (m, pool, name2, h, M, l1->N, y, ldy, SAM_MODEL_ACT_NONE);
    return;
  }
  SamGemmI8Epilogue ep1 = lin_epilogue (l1), ep2 = lin_epilogue (l2);
  if (act != SAM_MODEL_ACT_NONE)
    ep1.rows_done = act == SAM_MODEL_ACT_GELU ? sam_gelu_q_rows
        : sam_relu_rows;
  SamGemmI8Layer g1 = { &l1->aq, l1->akind == ACT_UNIFORM ? l1->az : 0,
    l1->packed, &ep1
  };
  SamGemmI8Layer g2 = { &l2->aq, l2->akind == ACT_UNIFORM ? l2->az : 0,
    l2->packed, &ep2
  };
  sam_k_mlp_i8 (pool, x, M, ldx, &g1, &g2, y, ldy);
}

void
sam_model_linear (const SamModel * m, SamPool * pool, const char *name,
    const float *x, int64_t M, int64_t ldx, float *y, int64_t ldy)
{
  linear_act (m, pool, name, x, M, ldx, y, ldy, SAM_MODEL_ACT_NONE);
}

const float *
sam_model_linear_zero_row (const SamModel * m, const char *name)
{
  SamQState *q = m->q;
  Lin *l = (Lin *) get_lin (m, name);
  g_return_val_if_fail (l != NULL && !sam_model_observed (m) && !q->sim,
      NULL);
  g_mutex_lock (&q->lock);
  const float *have = l->zero_row;
  g_mutex_unlock (&q->lock);
  if (have)
    return have;
  /* made outside the lock (the Linear takes it itself); sessions sharing
   * the model may race here, and the first row stored is kept (they are
   * the same values) */
  float *zero = g_new0 (float, l->K), *row = g_new (float, l->N);
  linear_act (m, NULL, name, zero, 1, l->K, row, l->N, SAM_MODEL_ACT_NONE);
  g_free (zero);
  g_mutex_lock (&q->lock);
  if (!l->zero_row)
    l->zero_row = row;
  else
    g_free (row);
  have = l->zero_row;
  g_mutex_unlock (&q->lock);
  return have;
}

void
sam_model_linearf (const SamModel * m, SamPool * pool, const float *x,
    int64_t M, int64_t ldx, float *y, int64_t ldy, const char *fmt, ...)
{
  char name[256];
  va_list ap;
  va_start (ap, fmt);
  g_vsnprintf (name, sizeof name, fmt, ap);
  va_end (ap);
  linear_act (m, pool, name, x, M, ldx, y, ldy, SAM_MODEL_ACT_NONE);
}

/* ---- reporting ---------------------------------------------------------- */

gboolean
sam_model_observed (const SamModel * m)
{
  const SamQState *q = m->q;
  return q->obs_lin || q->obs_att;
}

gboolean
sam_model_layer_plain (const SamModel * m, const char *name)
{
  SamQState *q = m->q;
  if (q->obs_lin || q->obs_att)
    return FALSE;
  if (!q->n_quant_lin && !q->n_quant_att)
    return TRUE;
  g_mutex_lock (&q->lock);
  const Lin *l = g_hash_table_lookup (q->lin, name);
  const Att *a = g_hash_table_lookup (q->att, name);
  gboolean plain = !(l && l->quant) && !a;
  g_mutex_unlock (&q->lock);
  return plain;
}

gboolean
sam_model_layer_int8 (const SamModel * m, const char *name)
{
  if (sam_model_observed (m))
    return FALSE;
  return lin_int8 (m, get_lin (m, name));
}

int
sam_model_n_quantized (const SamModel * m)
{
  return m->q->n_quant_lin + m->q->n_quant_att;
}

int64_t
sam_model_weight_bytes (const SamModel * m)
{
  int64_t bytes = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, m->tensors);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    const SamW *w = v;
    bytes += w->data ? w->numel * 4 : w->numel;
  }
  g_mutex_lock (&m->q->lock);
  g_hash_table_iter_init (&it, m->q->lin);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    const Lin *l = v;
    if (l->quant)
      bytes += 4 * (int64_t) l->N;
    if (l->packed)
      bytes += (int64_t) l->packed->N16 * l->packed->K4 * 64 + 4 * l->N;
    if (l->fscale)
      bytes += 4 * (int64_t) l->N;
    if (l->bias_i32)
      bytes += 4 * (int64_t) l->N;
    if (l->wdeq)
      bytes += 4 * (int64_t) l->N * l->K;
  }
  g_mutex_unlock (&m->q->lock);
  return bytes;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

gchar *
sam_model_quant_summary (const SamModel * m)
{
  g_return_val_if_fail (m != NULL, NULL);
  SamQState *q = m->q;
  GString *s = g_string_new (NULL);
  if (!q->n_quant_lin && !q->n_quant_att) {
    g_string_append (s, "float32 model (no quantized layers)\n");
    return g_string_free (s, FALSE);
  }
  g_string_append_printf (s, "quantized model: %d linears, %d attentions "
      "quantized%s\n", q->n_quant_lin, q->n_quant_att,
      q->sim ? " (simulated: fake quantization in float)" : "");
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k, v;
  g_mutex_lock (&q->lock);
  g_hash_table_iter_init (&it, q->lin);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (((Lin *) v)->quant)
      g_ptr_array_add (names, k);
  g_ptr_array_sort (names, cmp_str);
  for (guint i = 0; i < names->len; i++) {
    const Lin *l = g_hash_table_lookup (q->lin, names->pdata[i]);
    g_string_append_printf (s, "  linear %-58s W%d per-channel  A%d %s%s\n",
        l->name, l->wbits, l->abits,
        l->akind == ACT_UNIFORM ? "per-tensor" : l->akind == ACT_CHANNEL ?
        "per-channel-group (CAG)" : "HLUQ", (l->akind == ACT_HLUQ || q->sim)
        ? " [sim]" : " [int8 GEMM]");
  }
  g_mutex_unlock (&q->lock);
  g_ptr_array_set_size (names, 0);
  g_hash_table_iter_init (&it, q->att);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_ptr_array_add (names, k);
  g_ptr_array_sort (names, cmp_str);
  for (guint i = 0; i < names->len; i++) {
    const Att *a = g_hash_table_lookup (q->att, names->pdata[i]);
    if (a->qkv)
      g_string_append_printf (s, "  q,k,v   %-57s A%d per-tensor [sim]\n",
          a->name, a->qkv_bits);
    if (a->p8)
      g_string_append_printf (s, "  P·V     %-57s 8-bit P\n", a->name);
    if (!a->prob)
      continue;
    if (a->kind == ATT_AGQ)
      g_string_append_printf (s, "  softmax %-57s AGQ %d-bit tau %d s %.4g\n",
          a->name, a->agq.bits, a->agq.tau, a->agq.s);
    else if (a->kind == ATT_LNQ)
      g_string_append_printf (s, "  softmax %-57s LNQ %d-bit alpha %g s %.4g\n",
          a->name, a->lnq.bits, a->lnq.alpha, a->lnq.s);
    else
      g_string_append_printf (s, "  softmax %-57s DRQ %d-bit split %g\n",
          a->name, a->drq.bits, a->drq.split);
  }
  g_ptr_array_unref (names);
  if (q->meta)
    g_string_append_printf (s, "metadata samseg.quant: %s\n", q->meta);
  return g_string_free (s, FALSE);
}
