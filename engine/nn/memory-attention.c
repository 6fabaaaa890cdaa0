/* memory-attention.c — conditions the current frame's features on the
 * memory bank: 4 layers of RoPE self-attention, RoPE cross-attention to the
 * memories (spatial tokens + object-pointer tokens) and an MLP.
 */
#include "nn.h"
#include "memory-prep.h"
#include "kernels/requant.h"

#include <math.h>
#include <string.h>

#define SAM_ROPE_THETA 10000.f
#define SAM_MEMATTN_LN_EPS 1e-5f        /* nn.LayerNorm default */

/* ref: sam2/modeling/position_encoding.py compute_axial_cis
 * Channel pair i < dim/4 turns with the column x, pair dim/4 + i with the
 * row y, both at frequency theta^(-4i/dim). Computed in float32 in the
 * same order as the reference (freq, then t * freq, then cos/sin). */
void
sam_rope_axial_table (int H, int W, int dim, float theta, float *cos_t,
    float *sin_t)
{
  const int nf = dim / 4, half = dim / 2;
  float freqs[nf];

  for (int i = 0; i < nf; i++)
    freqs[i] = 1.f / powf (theta, (float) (4 * i) / (float) dim);
  /* cos/sin of x·freq per column and of y·freq per row, then the table
   * from those: the same calls on the same arguments as per entry, W + H
   * rows of them instead of W · H */
  float *cx = g_new (float, (size_t) (W + H) * nf * 2);
  float *sx = cx + (size_t) W * nf, *cy = sx + (size_t) W * nf;
  float *sy = cy + (size_t) H * nf;
  for (int x = 0; x < W; x++)
    for (int i = 0; i < nf; i++) {
      float ax = (float) x * freqs[i];
      cx[x * nf + i] = cosf (ax);
      sx[x * nf + i] = sinf (ax);
    }
  for (int y = 0; y < H; y++)
    for (int i = 0; i < nf; i++) {
      float ay = (float) y * freqs[i];
      cy[y * nf + i] = cosf (ay);
      sy[y * nf + i] = sinf (ay);
    }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      float *c = cos_t + ((size_t) y * W + x) * half;
      float *s = sin_t + ((size_t) y * W + x) * half;
      memcpy (c, cx + x * nf, sizeof (float) * nf);
      memcpy (s, sx + x * nf, sizeof (float) * nf);
      memcpy (c + nf, cy + y * nf, sizeof (float) * nf);
      memcpy (s + nf, sy + y * nf, sizeof (float) * nf);
    }
  g_free (cx);
}

/* ref: sam2/modeling/position_encoding.py apply_rotary_enc
 * Row r uses table row r % period (rope_k_repeat: the same H×W rotation for
 * each memory frame). Pairs (x[2i], x[2i+1]) are complex numbers. */
typedef struct {
  float *x;
  int64_t first, ld, period;
  int dim;
  const float *cos_t, *sin_t;
} RopeCtx;

static void
rope_rows (void *ctx, int64_t r0, int64_t r1)
{
  const RopeCtx *c = ctx;
  const int half = c->dim / 2;

  for (int64_t r = r0; r < r1; r++) {
    float *row = c->x + r * c->ld;
    const int64_t t = (c->first + r) % c->period;
    const float *co = c->cos_t + t * half;
    const float *si = c->sin_t + t * half;
    sam_rope_row (row, half, co, si);
  }
}

void
sam_rope_apply_from (SamPool * pool, float *x, int64_t first, int64_t n,
    int dim, int64_t ld, const float *cos_t, const float *sin_t,
    int64_t period)
{
  RopeCtx c = {.x = x,.first = first,.ld = ld,.period = period,.dim = dim,
    .cos_t = cos_t,.sin_t = sin_t
  };
  /* rows are independent: any split gives the same bits */
  sam_pool_for (pool, n, 64, rope_rows, &c);
}

void
sam_rope_apply (SamPool * pool, float *x, int64_t n, int dim, int64_t ld,
    const float *cos_t, const float *sin_t, int64_t period)
{
  sam_rope_apply_from (pool, x, 0, n, dim, ld, cos_t, sin_t, period);
}

typedef struct
{
  int N, C, H, W;
  const float *cos_t, *sin_t;
  float *t, *q, *a;             /* [N, C] scratch */
  float *k, *v;                 /* [max(N, n_mem), C] scratch (k: [N, C]
                                 * when every cross-attention packs its keys
                                 * in pieces into kp, see keys_packed) */
  float *kp;                    /* packed cross-attention keys, or NULL */
  float *am;                    /* [N, kv_dim] scratch (attention in the
                                 * memory space, see rope_attention) */
  float *h;                     /* [h_rows, ffn] scratch */
  int64_t h_rows;
} MemAttnScratch;

#define SAM_CROSS_FMT "memory_attention.layers.%d.cross_attn_image"

/* Layer @l's cross-attention runs P·V in the memory space (see
 * rope_attention): plain float, calibrating, or quantized in that order
 * (sam_model_attention_v_late). */
static gboolean
cross_v_late (const SamModel * m, int l)
{
  char name[96];
  g_snprintf (name, sizeof name, SAM_CROSS_FMT, l);
  return m->hp.mem_dim < m->hp.d_model && sam_model_attention_v_late (m,
      name);
}

/* Attention @prefix can take its keys packed in pieces: the attention and
 * its k_proj run as plain float (no quantizer, no calibration observer,
 * which must see whole tensors) and P·V runs in the memory space. */
static gboolean
keys_packed (const SamModel * m, const char *prefix)
{
  char kname[96];
  g_snprintf (kname, sizeof kname, "%s.k_proj", prefix);
  return m->hp.mem_dim < m->hp.d_model && sam_model_attention_v_late (m,
      prefix) && sam_model_layer_plain (m, prefix)
      && sam_model_layer_plain (m, kname);
}

/* Attention @prefix takes its keys as integer codes made a piece at a
 * time (sam_model_attention_int_k): a quantized attention whose P·V runs
 * in the memory space. */
static gboolean
keys_in_pieces (const SamModel * m, const char *prefix)
{
  return m->hp.mem_dim < m->hp.d_model && sam_model_attention_v_late (m,
      prefix) && sam_model_attention_int_k (m, prefix);
}

/* ref: sam2/modeling/sam/transformer.py RoPEAttention.forward
 * q_in [Nq, C]; k_in, v_in [Nk, kv_dim]; the first n_rope keys are rotated
 * (table repeated every Nq keys), the rest are not. out [Nq, C].
 * q_ready: the projected, rotated queries when the caller has them (then
 * q_in is unused). out NULL (keys made in pieces, v_late): the attention
 * output is left in s->am for the caller's v_proj and out_proj. */
/* The keys' rotation and 8-bit codes on rows of a piece of k_proj output
 * (sam_model_linear_rows): the piece's row r is key first + r; keys from
 * n_rope on (the object pointers) are not rotated. Row by row what
 * sam_rope_apply_from and sam_model_attention_quantize_k do. */
typedef struct {
  const MemAttnScratch *s;
  int C;
  int64_t n_rope, first;
  float step;
  int32_t zero;
  uint8_t *codes;               /* the piece's first key's codes */
} KeyRows;

static void
key_rows (void *ud, float *y, int64_t ldy, int64_t row0, int64_t rows)
{
  const KeyRows *c = ud;
  const int half = c->C / 2;
  const float inv = 1.f / c->step;
  for (int64_t r = 0; r < rows; r++) {
    float *row = y + r * ldy;
    const int64_t j = c->first + row0 + r;
    if (j < c->n_rope) {
      const int64_t t = j % c->s->N;
      sam_rope_row (row, half, c->s->cos_t + t * half,
          c->s->sin_t + t * half);
    }
    sam_quant_f32_u8 (c->codes + (row0 + r) * c->C, row, inv, c->zero,
        c->C);
  }
}

static void
rope_attention (const SamModel * m, SamPool * pool, const char *prefix,
    MemAttnScratch * s, const float *q_in, const float *q_ready,
    const float *k_in, const float *v_in, int64_t Nk, int kv_dim,
    int64_t n_rope, gboolean v_late, float *out)
{
  const int C = s->C;
  char vname[96];

  g_snprintf (vname, sizeof vname, "%s.v_proj", prefix);
  /* v_late: softmax rows sum to 1 and V is not rotated, so
   *   Σ_j p_ij (W_v m_j + b_v) = W_v (Σ_j p_ij m_j) + b_v:
   * the weighted sum runs in the narrow memory space (kv_dim = 64 instead
   * of C = 256: 4x fewer P·V multiply-adds) and v_proj on the N query rows
   * instead of the Nk memory rows. Exact algebra (rounding differs). A
   * quantized model calibrated in this order (cross_v_late) quantizes v =
   * memory for the integer P·V and v_proj's input = the attention output,
   * which is what the observers saw. */
  if (!q_ready) {
    sam_model_linearf (m, pool, q_in, s->N, C, s->q, C, "%s.q_proj", prefix);
    /* num_heads is 1: the rotation covers the whole 256-wide head. */
    sam_rope_apply (pool, s->q, s->N, C, C, s->cos_t, s->sin_t, s->N);
    q_ready = s->q;
  }
  if (v_late && s->kp && keys_packed (m, prefix)) {
    /* k_proj and RoPE a piece of keys at a time, packed straight into the
     * kernel's layout: the [Nk, C] keys are never held whole (29 MB at
     * input 1024 with a full bank); same bits as the path below */
    const int64_t piece = MAX (s->N / sam_attention_packed_k_align (), 1) *
        sam_attention_packed_k_align ();
    for (int64_t j = 0; j < Nk; j += piece) {
      const int64_t n = MIN (piece, Nk - j);
      sam_model_linearf (m, pool, k_in + j * kv_dim, n, kv_dim, s->k, C,
          "%s.k_proj", prefix);
      if (j < n_rope)
        sam_rope_apply_from (pool, s->k, j, MIN (n, n_rope - j), C, C, s->cos_t,
            s->sin_t, s->N);
      sam_attention_pack_k (pool, s->k, C, C, n, s->kp + j * C);
    }
    sam_attention_packed_k (pool, q_ready, C, s->kp, v_in, kv_dim, s->am,
        kv_dim, s->N, Nk, C, kv_dim);
    sam_model_linear (m, pool, vname, s->am, s->N, kv_dim, s->a, C);
    sam_model_linearf (m, pool, s->a, s->N, C, out, C, "%s.out_proj", prefix);
    return;
  }
  if (v_late && keys_in_pieces (m, prefix)) {
    /* k_proj, RoPE and the key quantizer a piece of keys at a time, into
     * the integer keys: the [Nk, C] float keys (29 MB at input 1024 with a
     * full bank) are never written whole; where the quantizer is 8-bit the
     * rotation and the codes run on each row tile of k_proj as the GEMM
     * finishes it (KeyRows), else as passes over each piece. The same
     * codes as the path below. */
    const int64_t piece = MIN (2048, s->N);
    uint8_t *k8 = sam_model_attention_k_codes (Nk, C);
    char kname[96];
    g_snprintf (kname, sizeof kname, "%s.k_proj", prefix);
    KeyRows kr = {.s = s,.C = C,.n_rope = n_rope };
    const gboolean fused = sam_model_attention_k_quantizer (m, prefix,
        &kr.step, &kr.zero);
    for (int64_t j = 0; j < Nk; j += piece) {
      const int64_t n = MIN (piece, Nk - j);
      if (fused) {
        kr.first = j;
        kr.codes = k8 + j * C;
        sam_model_linear_rows (m, pool, kname, k_in + j * kv_dim, n, kv_dim,
            s->k, C, key_rows, &kr);
        continue;
      }
      sam_model_linear (m, pool, kname, k_in + j * kv_dim, n, kv_dim, s->k,
          C);
      if (j < n_rope)
        sam_rope_apply_from (pool, s->k, j, MIN (n, n_rope - j), C, C,
            s->cos_t, s->sin_t, s->N);
      sam_model_attention_quantize_k (m, pool, prefix, s->k, C, n, C,
          k8 + j * C);
    }
    sam_model_attention_k8 (m, pool, prefix, q_ready, C, k8, v_in, kv_dim,
        s->am, kv_dim, s->N, Nk, 1, C, kv_dim);
    if (!out)
      return;
    sam_model_linear (m, pool, vname, s->am, s->N, kv_dim, s->a, C);
    sam_model_linearf (m, pool, s->a, s->N, C, out, C, "%s.out_proj", prefix);
    return;
  }
  sam_model_linearf (m, pool, k_in, Nk, kv_dim, s->k, C, "%s.k_proj", prefix);
  if (!v_late)
    sam_model_linear (m, pool, vname, v_in, Nk, kv_dim, s->v, C);
  sam_rope_apply (pool, s->k, n_rope, C, C, s->cos_t, s->sin_t, s->N);
  if (v_late) {
    sam_model_attention (m, pool, prefix, q_ready, C, s->k, C, v_in, kv_dim,
        s->am, kv_dim, s->N, Nk, 1, C, kv_dim);
    sam_model_linear (m, pool, vname, s->am, s->N, kv_dim, s->a, C);
  } else
    sam_model_attention (m, pool, prefix, q_ready, C, s->k, C, s->v, C, s->a,
        C, s->N, Nk, 1, C, C);
  sam_model_linearf (m, pool, s->a, s->N, C, out, C, "%s.out_proj", prefix);
}

/* ref: sam2/modeling/memory_attention.py MemoryAttentionLayer.forward,
 * self-attention part: x [N, C] is updated in place. */
static void
self_attention_whole (const SamModel * m, SamPool * pool, int l,
    MemAttnScratch * s, float *x)
{
  const int64_t N = s->N;
  const int C = s->C;
  char prefix[64];

  /* q = k = v = norm1(x), no positional term added (pos_enc_at_attn
   * false): position enters through RoPE only. */
  sam_layernorm (pool, x, N, C,
      sam_model_wd (m, "memory_attention.layers.%d.norm1.weight", l),
      sam_model_wd (m, "memory_attention.layers.%d.norm1.bias", l),
      SAM_MEMATTN_LN_EPS, s->t);
  g_snprintf (prefix, sizeof prefix, "memory_attention.layers.%d.self_attn",
      l);
  rope_attention (m, pool, prefix, s, s->t, NULL, s->t, s->t, N, C, N, FALSE,
      s->t);
  sam_add_pool (pool, x, s->t, N * C);
}

/* The cross-attention's queries: RoPE (q_proj (norm2 (x))) into q. */
static void
cross_queries_whole (const SamModel * m, SamPool * pool, int l, MemAttnScratch * s,
    const float *x, float *q)
{
  const int64_t N = s->N;
  const int C = s->C;

  sam_layernorm (pool, x, N, C,
      sam_model_wd (m, "memory_attention.layers.%d.norm2.weight", l),
      sam_model_wd (m, "memory_attention.layers.%d.norm2.bias", l),
      SAM_MEMATTN_LN_EPS, s->t);
  sam_model_linearf (m, pool, s->t, N, C, q, C, SAM_CROSS_FMT ".q_proj", l);
  sam_rope_apply (pool, q, N, C, C, s->cos_t, s->sin_t, N);
}

/* Rows per group for N rows on pool: L2-sized, in the GEMM's 8-row tiles */
static int64_t
group_rows (SamPool * pool, int64_t N, int C)
{
  return sam_pool_group_rows (pool, N,
      SAM_POOL_GROUP_BYTES / (8 * (int64_t) C), 8);
}

/* Every named Linear of layer @l is integer (sam_model_layer_int8). */
static gboolean
layer_int8 (const SamModel * m, int l, const char *const *names, int n)
{
  for (int i = 0; i < n; i++) {
    char name[96];
    g_snprintf (name, sizeof name, "memory_attention.layers.%d.%s", l,
        names[i]);
    if (!sam_model_layer_int8 (m, name))
      return FALSE;
  }
  return TRUE;
}

/* The self-attention of layer @l and the next cross-attention's q_proj
 * are integer: the row-wise steps around the attention run in row groups
 * (self_head_rows, self_tail_rows). */
static gboolean
self_grouped (const SamModel * m, int l)
{
  static const char *const names[] = { "self_attn.q_proj", "self_attn.k_proj",
    "self_attn.v_proj", "self_attn.out_proj", "cross_attn_image.q_proj"
  };
  return layer_int8 (m, l, names, G_N_ELEMENTS (names));
}

typedef struct {
  const SamModel *m;
  const MemAttnScratch *s;
  float *x, *q;                 /* q: the cross-attention's queries (tail) */
  int l;
  int64_t rows;
} SelfRows;

/* Row groups of norm1, the q, k, v projections and RoPE of q and k, into
 * s->q, s->k, s->v (rows are independent: the same bits as the whole
 * steps; a row's rotation is its table row, r mod N, in both) */
static void
self_head_rows (void *vc, int64_t t0, int64_t t1)
{
  const SelfRows *c = vc;
  const SamModel *m = c->m;
  const MemAttnScratch *s = c->s;
  const int C = s->C, l = c->l;
  char qn[96], kn[96], vn[96];
  g_snprintf (qn, sizeof qn, "memory_attention.layers.%d.self_attn.q_proj", l);
  g_snprintf (kn, sizeof kn, "memory_attention.layers.%d.self_attn.k_proj", l);
  g_snprintf (vn, sizeof vn, "memory_attention.layers.%d.self_attn.v_proj", l);
  const float *w = sam_model_wd (m, "memory_attention.layers.%d.norm1.weight",
      l);
  const float *b = sam_model_wd (m, "memory_attention.layers.%d.norm1.bias",
      l);
  float *t = g_new (float, c->rows * C);
  for (int64_t g = t0; g < t1; g++) {
    const int64_t r0 = g * c->rows, n = MIN (c->rows, s->N - r0);
    sam_layernorm_serial (c->x + r0 * C, n, C, w, b, SAM_MEMATTN_LN_EPS, t);
    sam_model_linear (m, NULL, qn, t, n, C, s->q + r0 * C, C);
    sam_model_linear (m, NULL, kn, t, n, C, s->k + r0 * C, C);
    sam_model_linear (m, NULL, vn, t, n, C, s->v + r0 * C, C);
    sam_rope_apply_from (NULL, s->q + r0 * C, r0, n, C, C, s->cos_t,
        s->sin_t, s->N);
    sam_rope_apply_from (NULL, s->k + r0 * C, r0, n, C, C, s->cos_t,
        s->sin_t, s->N);
  }
  g_free (t);
}

/* Row groups of x += out_proj (attention output s->a), then the next
 * cross-attention's queries RoPE (q_proj (norm2 (x))) into c->q */
static void
self_tail_rows (void *vc, int64_t t0, int64_t t1)
{
  const SelfRows *c = vc;
  const SamModel *m = c->m;
  const MemAttnScratch *s = c->s;
  const int C = s->C, l = c->l;
  char on[96], qn[96];
  g_snprintf (on, sizeof on, "memory_attention.layers.%d.self_attn.out_proj",
      l);
  g_snprintf (qn, sizeof qn, SAM_CROSS_FMT ".q_proj", l);
  const float *w = sam_model_wd (m, "memory_attention.layers.%d.norm2.weight",
      l);
  const float *b = sam_model_wd (m, "memory_attention.layers.%d.norm2.bias",
      l);
  float *t = g_new (float, c->rows * C);
  for (int64_t g = t0; g < t1; g++) {
    const int64_t r0 = g * c->rows, n = MIN (c->rows, s->N - r0);
    float *xr = c->x + r0 * C;
    sam_model_linear (m, NULL, on, s->a + r0 * C, n, C, t, C);
    sam_add (xr, t, n * C);
    sam_layernorm_serial (xr, n, C, w, b, SAM_MEMATTN_LN_EPS, t);
    sam_model_linear (m, NULL, qn, t, n, C, c->q + r0 * C, C);
    sam_rope_apply_from (NULL, c->q + r0 * C, r0, n, C, C, s->cos_t,
        s->sin_t, s->N);
  }
  g_free (t);
}

/* Layer @l's self-attention block on x (in place), then its
 * cross-attention's queries into q: with integer layers, the row-wise
 * steps in row groups around the whole-pool attention; else step by step
 * on the whole pool. */
static void
self_attention_block (const SamModel * m, SamPool * pool, int l,
    MemAttnScratch * s, float *x, float *q)
{
  if (!self_grouped (m, l)) {
    self_attention_whole (m, pool, l, s, x);
    cross_queries_whole (m, pool, l, s, x, q);
    return;
  }
  SelfRows c = {.m = m,.s = s,.x = x,.q = q,.l = l };
  c.rows = group_rows (pool, s->N, s->C);
  const int64_t n_groups = (s->N + c.rows - 1) / c.rows;
  char prefix[64];
  g_snprintf (prefix, sizeof prefix, "memory_attention.layers.%d.self_attn",
      l);
  sam_pool_for_each (pool, n_groups, self_head_rows, &c);
  sam_model_attention (m, pool, prefix, s->q, s->C, s->k, s->C, s->v, s->C,
      s->a, s->C, s->N, s->N, 1, s->C, s->C);
  sam_pool_for_each (pool, n_groups, self_tail_rows, &c);
}

/* The cross-attention of layer @l leaves its result in the memory space
 * and every layer after it is integer: the tail of the layer can run in
 * row groups (cross_tail_rows). */
static gboolean
cross_tail_grouped (const SamModel * m, int l, const char *prefix)
{
  static const char *const tail[] = { "cross_attn_image.v_proj",
    "cross_attn_image.out_proj", "linear1", "linear2"
  };
  return cross_v_late (m, l) && keys_in_pieces (m, prefix)
      && layer_int8 (m, l, tail, G_N_ELEMENTS (tail));
}

typedef struct {
  const SamModel *m;
  const MemAttnScratch *s;
  float *x;
  int l;
  int64_t rows, N;
} TailRows;

/* Row groups [t · rows, ...) of the layer's tail, each on one core (rows
 * are independent in every step: the same bits as the steps over all
 * rows): x += out_proj (v_proj (attention output in the memory space)),
 * then x += mlp (norm3 (x)). */
static void
cross_tail_rows (void *vc, int64_t t0, int64_t t1)
{
  const TailRows *c = vc;
  const SamModel *m = c->m;
  const int C = c->s->C, D = m->hp.mem_dim, l = c->l;
  const int ffn = (int) sam_model_w (m,
      "memory_attention.layers.0.linear1.weight")->shape[0];
  char vp[96], op[96], fc1[64], fc2[64];
  g_snprintf (vp, sizeof vp, SAM_CROSS_FMT ".v_proj", l);
  g_snprintf (op, sizeof op, SAM_CROSS_FMT ".out_proj", l);
  g_snprintf (fc1, sizeof fc1, "memory_attention.layers.%d.linear1", l);
  g_snprintf (fc2, sizeof fc2, "memory_attention.layers.%d.linear2", l);
  const float *n3w = sam_model_wd (m,
      "memory_attention.layers.%d.norm3.weight", l);
  const float *n3b = sam_model_wd (m, "memory_attention.layers.%d.norm3.bias",
      l);
  float *a = g_new (float, c->rows * C), *t = g_new (float, c->rows * C);
  /* the integer MLP keeps its hidden rows inside its row tiles; h is its
   * contract's buffer for other layers, never touched here */
  float *h = g_new (float, c->rows * ffn);
  for (int64_t g = t0; g < t1; g++) {
    const int64_t r0 = g * c->rows, n = MIN (c->rows, c->N - r0);
    float *xr = c->x + r0 * C;
    sam_model_linear (m, NULL, vp, c->s->am + r0 * D, n, D, a, C);
    sam_model_linear (m, NULL, op, a, n, C, t, C);
    sam_add (xr, t, n * C);
    sam_layernorm_serial (xr, n, C, n3w, n3b, SAM_MEMATTN_LN_EPS, t);
    sam_model_mlp (m, NULL, fc1, fc2, SAM_MODEL_ACT_RELU, t, n, C, h, t, C);
    sam_add (xr, t, n * C);
  }
  g_free (h);
  g_free (t);
  g_free (a);
}

/* The rest of the layer: cross-attention (q = norm2(x), no query pos;
 * k = memory + pos, v = memory; object-pointer tokens, the tail, are not
 * rotated) and the MLP. q_ready: cross_queries () of x, or NULL. */
static void
cross_mlp_block (const SamModel * m, SamPool * pool, int l,
    MemAttnScratch * s, float *x, const float *q_ready, const float *mem_k,
    const float *memory, int n_mem, int num_obj_ptr_tokens)
{
  const int64_t N = s->N;
  const int C = s->C, D = m->hp.mem_dim;
  char prefix[64];

  if (!q_ready) {
    cross_queries_whole (m, pool, l, s, x, s->q);
    q_ready = s->q;
  }
  g_snprintf (prefix, sizeof prefix, SAM_CROSS_FMT, l);
  const gboolean grouped = cross_tail_grouped (m, l, prefix);
  rope_attention (m, pool, prefix, s, NULL, q_ready, mem_k, memory, n_mem, D,
      n_mem - num_obj_ptr_tokens, cross_v_late (m, l), grouped ? NULL : s->t);
  if (grouped) {
    TailRows c = {.m = m,.s = s,.x = x,.l = l,.N = N };
    c.rows = group_rows (pool, N, C);
    sam_pool_for_each (pool, (N + c.rows - 1) / c.rows, cross_tail_rows, &c);
    return;
  }
  sam_add_pool (pool, x, s->t, N * C);

  /* MLP, in pieces of rows (same bits: rows are independent) so that the
   * hidden buffer stays small */
  sam_layernorm (pool, x, N, C,
      sam_model_wd (m, "memory_attention.layers.%d.norm3.weight", l),
      sam_model_wd (m, "memory_attention.layers.%d.norm3.bias", l),
      SAM_MEMATTN_LN_EPS, s->t);
  char fc1[64], fc2[64];
  g_snprintf (fc1, sizeof fc1, "memory_attention.layers.%d.linear1", l);
  g_snprintf (fc2, sizeof fc2, "memory_attention.layers.%d.linear2", l);
  for (int64_t r0 = 0; r0 < N; r0 += s->h_rows) {
    const int64_t n = MIN (s->h_rows, N - r0);
    /* in place: each row tile is read whole before its output rows */
    sam_model_mlp (m, pool, fc1, fc2, SAM_MODEL_ACT_RELU, s->t + r0 * C, n,
        C, s->h, s->t + r0 * C, C);
  }
  sam_add_pool (pool, x, s->t, N * C);
}

/* Scratch for N queries and up to n_mem memory tokens (0: the shared
 * prefix only). */
typedef struct {
  int H, W, C;
} RopeTableArgs;

/* SamDerivedFunc: the cos table then the sin table, [H*W, C/2] each */
static void
rope_table (float *out, void *ud)
{
  const RopeTableArgs *a = ud;
  sam_rope_axial_table (a->H, a->W, a->C, SAM_ROPE_THETA, out,
      out + (size_t) a->H * a->W * a->C / 2);
}

static void
scratch_init (const SamModel * m, MemAttnScratch * s, int H, int W,
    int n_mem)
{
  const int N = H * W, C = m->hp.d_model, D = m->hp.mem_dim;
  const int ffn = (int) sam_model_w (m,
      "memory_attention.layers.0.linear1.weight")->shape[0];
  gboolean all_late = TRUE, all_packed = n_mem > 0, all_pieces = TRUE;
  for (int l = 0; l < m->hp.mem_attn_layers; l++) {
    char name[96];
    g_snprintf (name, sizeof name, SAM_CROSS_FMT, l);
    all_late &= cross_v_late (m, l);
    all_packed &= keys_packed (m, name);
    all_pieces &= keys_in_pieces (m, name);
  }

  memset (s, 0, sizeof *s);
  s->N = N;
  s->C = C;
  s->H = H;
  s->W = W;
  /* The reference recomputes its table for sqrt(N)×sqrt(N) when the
   * feature size differs from its 64×64 default; H×W is the same for the
   * square inputs it supports. Kept with the model: 4 MB of cos and sin
   * at 1024, made per call before (twice a frame and more per object). */
  char key[64];
  g_snprintf (key, sizeof key, "rope-axial %dx%dx%d", H, W, C);
  RopeTableArgs ra = { H, W, C };
  const float *table = sam_model_derived (m, key, (gsize) N * C, rope_table,
      &ra);
  s->cos_t = table;
  s->sin_t = table + (size_t) N * C / 2;
  s->t = g_new (float, (size_t) N * C);
  s->q = g_new (float, (size_t) N * C);
  s->a = g_new (float, (size_t) N * C);
  /* k: the self-attention keys, and the memory keys unless every layer
   * makes them a piece at a time */
  s->k = g_new (float, (size_t) (all_packed || all_pieces ? N : MAX (N,
              n_mem)) * C);
  if (all_packed)
    s->kp = g_new (float, (size_t) sam_attention_packed_k_floats (n_mem, C));
  /* v holds the self-attention values, and the memory values unless every
   * layer takes the weighted sum in the memory space */
  s->v = g_new (float, (size_t) (all_late ? N : MAX (N, n_mem)) * C);
  /* 1 Mi floats (4 MiB) of MLP hidden units at a time: 512 rows at ffn 2048
   * still fill the GEMM tiles, and this is on the peak-memory path */
  s->h_rows = CLAMP (((int64_t) 1 << 20) / ffn, 1, N);
  s->h = g_new (float, (size_t) s->h_rows * ffn);
  s->am = g_new (float, (size_t) N * D);
}

static void
scratch_clear (MemAttnScratch * s)
{
  g_free (s->kp);
  g_free (s->am);
  g_free (s->h);
  g_free (s->v);
  g_free (s->k);
  g_free (s->a);
  g_free (s->q);
  g_free (s->t);
}

/* ref: sam2/modeling/memory_attention.py MemoryAttention.forward up to
 * layer 0's cross-attention queries: pos_enc_at_input and layer 0's
 * self-attention block see only the frame, so they are the same for every
 * object tracked on it. */
static void
shared_prefix (const SamModel * m, SamPool * pool, MemAttnScratch * s,
    const float *curr, const float *curr_pos, float *x1, float *q0)
{
  const int64_t NC = (int64_t) s->N * s->C;

  /* pos_enc_at_input: the only place curr_pos enters (over the pool: 1 M
   * elements at 1024) */
  sam_sum_scaled_pool (pool, x1, curr, 0.1f, curr_pos, NC);
  self_attention_block (m, pool, 0, s, x1, q0);
}

void
sam_memory_attention_shared (const SamModel * m, SamPool * pool,
    const float *curr, const float *curr_pos, int H, int W, float *x1,
    float *q0)
{
  MemAttnScratch s;
  scratch_init (m, &s, H, W, 0);
  shared_prefix (m, pool, &s, curr, curr_pos, x1, q0);
  scratch_clear (&s);
}

static void
run_from (const SamModel * m, SamPool * pool, MemAttnScratch * s,
    const float *curr, const float *curr_pos, const float *x1,
    const float *q0, const float *memory, const float *memory_pos,
    int n_mem, int num_obj_ptr_tokens, float *out, const SamTap * tap,
    const char *tap_prefix)
{
  const int64_t N = s->N;
  const int C = s->C, D = m->hp.mem_dim;
  float *mem_k = g_new (float, (size_t) n_mem * D);
  float *q0_own = NULL;

  if (x1) {
    memcpy (out, x1, sizeof (float) * N * C);
  } else {
    q0_own = g_new (float, (size_t) N * C);
    shared_prefix (m, pool, s, curr, curr_pos, out, q0_own);
    q0 = q0_own;
  }
  /* pos_enc_at_cross_attn_keys: the keys see memory + memory_pos in every
   * layer; compute it once (over the pool: 1.8 M elements at 1024). */
  sam_sum_pool (pool, mem_k, memory, memory_pos, (int64_t) n_mem * D);

  for (int l = 0; l < m->hp.mem_attn_layers; l++) {
    if (l > 0)
      self_attention_block (m, pool, l, s, out, s->q);
    cross_mlp_block (m, pool, l, s, out, l == 0 ? q0 : s->q, mem_k, memory,
        n_mem, num_obj_ptr_tokens);
  }
  sam_layernorm (pool, out, N, C,
      sam_model_wd (m, "memory_attention.norm.weight"),
      sam_model_wd (m, "memory_attention.norm.bias"), SAM_MEMATTN_LN_EPS,
      out);

  if (sam_tap_on (tap)) {
    char *name = g_strdup_printf ("%s.out",
        tap_prefix ? tap_prefix : "memattn");
    int64_t shape[3] = { N, 1, C };
    sam_tap_raw (tap, name, out, 3, shape);
    g_free (name);
  }
  g_free (q0_own);
  g_free (mem_k);
}

/* ref: sam2/modeling/memory_attention.py MemoryAttention.forward */
void
sam_memory_attention_run_shared (const SamModel * m, SamPool * pool,
    int H, int W, const float *x1, const float *q0, const float *memory,
    const float *memory_pos, int n_mem, int num_obj_ptr_tokens, float *out,
    const SamTap * tap, const char *tap_prefix)
{
  MemAttnScratch s;

  g_return_if_fail (x1 != NULL && q0 != NULL);
  g_return_if_fail (n_mem > 0 && n_mem >= num_obj_ptr_tokens);
  /* The spatial keys must be whole frames for the repeated rotation. */
  g_return_if_fail ((n_mem - num_obj_ptr_tokens) % (H * W) == 0);
  scratch_init (m, &s, H, W, n_mem);
  run_from (m, pool, &s, NULL, NULL, x1, q0, memory, memory_pos, n_mem,
      num_obj_ptr_tokens, out, tap, tap_prefix);
  scratch_clear (&s);
}

void
sam_memory_attention_run (const SamModel * m, SamPool * pool,
    const float *curr, const float *curr_pos, int H, int W,
    const float *memory, const float *memory_pos, int n_mem,
    int num_obj_ptr_tokens, float *out, const SamTap * tap,
    const char *tap_prefix)
{
  MemAttnScratch s;

  g_return_if_fail (n_mem > 0 && n_mem >= num_obj_ptr_tokens);
  g_return_if_fail ((n_mem - num_obj_ptr_tokens) % (H * W) == 0);
  scratch_init (m, &s, H, W, n_mem);
  run_from (m, pool, &s, curr, curr_pos, NULL, NULL, memory, memory_pos,
      n_mem, num_obj_ptr_tokens, out, tap, tap_prefix);
  scratch_clear (&s);
}

/* ref: sam2/modeling/sam2_base.py _prepare_memory_conditioned_features
 * (obj_pos = obj_ptr_tpos_proj (get_1d_sine_pe (t_diff / t_diff_max))) */
void
sam_obj_ptr_tpos (const SamModel * m, const float *t_rel, int n, float *out)
{
  const int C = m->hp.d_model, D = m->hp.mem_dim;
  float *pe = g_new (float, (size_t) n * C);

  sam_pos_enc_sine_1d (t_rel, n, C, 10000.f, pe);
  sam_model_linear (m, NULL, "obj_ptr_tpos_proj", pe, n, C, out, D);
  g_free (pe);
}
