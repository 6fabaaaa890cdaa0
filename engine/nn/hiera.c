/* hiera.c — the Hiera trunk (hieradet.py): patch embedding, windowed
 * position embedding, and the multi-scale blocks with windowed or global
 * attention and q-pooling at stage starts.
 *
 * Groups of windows are gathered into a contiguous [n * ws * ws, C] buffer
 * so that qkv and proj are big GEMMs; only the attention itself runs per
 * window. Padding tokens are zero after norm1, exactly as F.pad
 * leaves them, and they stay in the windows as keys (their k and v are the
 * qkv bias), which the reference does too.
 */
#include "hiera.h"
#include "kernels/cpu.h"

#include <string.h>

#define TRUNK "image_encoder.trunk"
#define LN_EPS 1e-6f

typedef struct {
  const float *hpass, *win;
  float *x;
  int bh, wh, ww, H, W, C;
} PosCtx;

/* rows [y0, y1): x += resize (bkg) + tiled win, one resized row at a time
 * (it stays in cache) */
static void
pos_rows (void *ctx, int64_t y0, int64_t y1)
{
  const PosCtx *c = ctx;
  const int W = c->W, C = c->C;
  float *up = g_new (float, (size_t) W * C);
  for (int y = (int) y0; y < (int) y1; y++) {
    sam_resize_bicubic_v (c->hpass, c->bh, W, C, c->H, false, y, up);
    /* The window embedding is tiled; for sizes that are not a multiple of
     * the window (where the reference's tile() would fail) it wraps
     * around. */
    for (int xx = 0; xx < W; xx++) {
      float *o = c->x + ((size_t) y * W + xx) * C;
      const float *u = up + (size_t) xx * C;
      const float *w = c->win + ((size_t) (y % c->wh) * c->ww + xx % c->ww)
          * C;
      for (int ch = 0; ch < C; ch++)
        o[ch] += u[ch] + w[ch];
    }
  }
  g_free (up);
}

/* ref: sam2/modeling/backbones/hieradet.py Hiera._get_pos_embed */
static void
add_pos_embed (const SamModel * m, SamPool * pool, float *x, int H, int W,
    int C)
{
  const SamW *pe = sam_model_w (m, TRUNK ".pos_embed");
  const SamW *pw = sam_model_w (m, TRUNK ".pos_embed_window");
  const int bh = (int) pe->shape[2], bw = (int) pe->shape[3];
  const int wh = (int) pw->shape[2], ww = (int) pw->shape[3];
  float *bkg = g_new (float, (size_t) bh * bw * C);
  float *win = g_new (float, (size_t) wh * ww * C);
  float *hpass = g_new (float, (size_t) bh * W * C);

  sam_transpose (pe->data, C, (int64_t) bh * bw, bkg);
  sam_transpose (pw->data, C, (int64_t) wh * ww, win);
  sam_resize_bicubic_h (bkg, bh, bw, C, W, false, hpass);
  PosCtx c = {.hpass = hpass,.win = win,.x = x,.bh = bh,.wh = wh,.ww = ww,
    .H = H,.W = W,.C = C
  };
  sam_pool_for (pool, H, 4, pos_rows, &c);
  g_free (bkg);
  g_free (win);
  g_free (hpass);
}

/* The block's window grid: window_partition pads the map up to whole
 * windows; a global block is one window over the whole map. */
typedef struct
{
  int H, W;                     /* map */
  int wh, ww;                   /* window (input resolution) */
  int nwx, nW;                  /* windows per grid row, in all */
} WinGrid;

/* The map tokens of window w are its rows [0, *vh) × columns [0, *vw). */
static void
window_valid (const WinGrid * g, int w, int *vh, int *vw)
{
  *vh = MIN (g->wh, g->H - (w / g->nwx) * g->wh);
  *vw = MIN (g->ww, g->W - (w % g->nwx) * g->ww);
}

typedef struct
{
  const SamModel *m;
  const char *att_name;
  bool via_model;               /* through sam_model_attention (it
                                 * quantizes where the file says so) */
  const float *q, *qkv;
  float *out;
  int64_t ldq, nq, nk;
  int C, heads;
} WinAttCtx;

/* One window's attention: nq queries at q against its nk keys and values
 * at kv (the window's qkv rows); through the model's attention (integer
 * where the file gives the block's quantizers, #qkv), else the float
 * kernel directly. */
static void
window_attend (const WinAttCtx * c, SamPool * pool, const float *q,
    const float *kv, float *out, int64_t nq)
{
  const int64_t ldkv = 3 * (int64_t) c->C;
  const int D = c->C / c->heads;
  if (c->via_model)
    sam_model_attention (c->m, pool, c->att_name, q, c->ldq, kv + c->C, ldkv,
        kv + 2 * c->C, ldkv, out, c->C, nq, c->nk, c->heads, D, D);
  else
    sam_attention (pool, q, c->ldq, kv + c->C, ldkv, kv + 2 * c->C, ldkv, out,
        c->C, nq, c->nk, c->heads, D, D);
}

static void
win_attention (void *vctx, int64_t w0, int64_t w1)
{
  const WinAttCtx *c = vctx;
  const int64_t ldkv = 3 * (int64_t) c->C;
  for (int64_t w = w0; w < w1; w++)
    window_attend (c, NULL, c->q + w * c->nq * c->ldq,
        c->qkv + w * c->nk * ldkv, c->out + w * c->nq * c->C, c->nq);
}

/* Big intermediates are made in pieces of about this many floats (8 MiB):
 * GEMM and LayerNorm rows are independent (cpu.h: results do not depend on
 * the tiling), so this changes no bit, and it keeps the peak memory of the
 * 256×256 stages small (a [65536, 576] qkv would be 151 MB; a whole-map
 * norm1 copy, window copy and attention output were 25 MB each at stage 1)
 * and every buffer under glibc's mmap threshold, where freed memory is
 * reused without fresh page faults on the next frame. */
#define PIECE_FLOATS ((int64_t) 2 << 20)
/* ... but at least this many rows per GEMM where the map has them: on the
 * small late-stage maps a split would only repack the (larger) weights. */
#define PIECE_MIN_ROWS 1024

typedef struct {
  const float *x, *g, *b;
  const WinGrid *grid;
  const int64_t *start;         /* first row of each window in xw */
  float *xw;
  int C, w0;
  bool compact;
} PartCtx;

/* (window, window row) pairs [b, e), window w0 + t / wh: norm1 of the
 * map row, read in place and written to its window position (no copy
 * first: LayerNorm rows are independent) */
static void
partition_rows (void *vc, int64_t b, int64_t e)
{
  const PartCtx *c = vc;
  const WinGrid *g = c->grid;
  const int C = c->C;
  for (int64_t t = b; t < e; t++) {
    const int64_t k = t / g->wh;
    const int r = (int) (t % g->wh), w = c->w0 + (int) k;
    const int y0 = (w / g->nwx) * g->wh, x0 = (w % g->nwx) * g->ww;
    int vh, vw;
    window_valid (g, w, &vh, &vw);
    const float *src = c->x + ((int64_t) (y0 + r) * g->W + x0) * C;
    if (c->compact) {
      if (r < vh)
        sam_layernorm_serial (src, vw, C, c->g, c->b, LN_EPS,
            c->xw + (c->start[k] + (int64_t) r * vw) * C);
      continue;
    }
    /* F.pad runs after norm1: padded tokens are zeros, not norm1 (0) */
    float *row = c->xw + (c->start[k] + (int64_t) r * g->ww) * C;
    const int v = r < vh ? vw : 0;
    if (v)
      sam_layernorm_serial (src, v, C, c->g, c->b, LN_EPS, row);
    memset (row + (int64_t) v * C, 0, sizeof (float) * (g->ww - v) * C);
  }
}

/* window_partition of norm1(x) for windows [w0, w0 + n), in parallel over
 * window rows. compact: only the map tokens, window after window, each
 * window's valid rows × columns; else the full windows, padding zeroed.
 * Returns the rows written. */
static int64_t
partition_norm (const SamModel * m, SamPool * pool, int i, const float *x,
    int C, const WinGrid * g, int w0, int n, bool compact, float *xw)
{
  const int64_t nk = (int64_t) g->wh * g->ww;
  int64_t *start = g_new (int64_t, n);
  int64_t t = 0;

  for (int k = 0; k < n; k++) {
    int vh, vw;
    window_valid (g, w0 + k, &vh, &vw);
    start[k] = t;
    t += compact ? (int64_t) vh * vw : nk;
  }
  PartCtx c = {.x = x,.g = sam_model_wd (m, TRUNK ".blocks.%d.norm1.weight",
        i),.b = sam_model_wd (m, TRUNK ".blocks.%d.norm1.bias", i),.grid = g,
    .start = start,.xw = xw,.C = C,.w0 = w0,.compact = compact
  };
  sam_pool_for (pool, (int64_t) n * g->wh, 1, partition_rows, &c);
  g_free (start);
  return t;
}

/* qkv holds the rows of the map tokens of windows [w0, w0 + n) from its
 * start (partition_norm compact); spreads them to their window positions
 * and fills each padded position with pad[ld], what the layer gives for a
 * zero row. Backwards and in place: no row moves to a lower index. */
static void
expand_padded (const WinGrid * g, int w0, int n, int64_t nvalid, float *qkv,
    int64_t ld, const float *pad)
{
  const int64_t nk = (int64_t) g->wh * g->ww;
  int64_t j = nvalid;

  for (int w = w0 + n - 1; w >= w0; w--) {
    int vh, vw;
    window_valid (g, w, &vh, &vw);
    for (int r = g->wh - 1; r >= 0; r--)
      for (int s = g->ww - 1; s >= 0; s--) {
        float *dst = qkv + ((w - w0) * nk + (int64_t) r * g->ww + s) * ld;
        if (r < vh && s < vw) {
          const float *src = qkv + --j * ld;
          if (src != dst)
            memcpy (dst, src, sizeof (float) * ld);
        } else
          memcpy (dst, pad, sizeof (float) * ld);
      }
  }
  g_assert (j == 0);
}

/* One group of windows (w0 + [0, n)) of attention_residual, for the pool:
 * each window writes its own rows, so any split gives the same bits. */
typedef struct {
  const WinGrid *g;
  int w0, qh, qw, Ho, Wo, Co;
  int64_t nq, nk, ld;
  const float *qkv, *y;
  float *qpooled, *out;
} UnpartCtx;

static void
qpool_windows (void *ctx, int64_t b, int64_t e)
{
  const UnpartCtx *c = ctx;
  for (int64_t w = b; w < e; w++)
    sam_maxpool2x2_px (c->qkv + w * c->nk * c->ld, c->ld, c->g->wh,
        c->g->ww, c->Co, c->qpooled + w * c->nq * c->Co);
}

/* window_unpartition (dropping the padding) + residual: out += y, over
 * (window, row of the window) pairs t = wl · qh + r (a global block is one
 * window) */
static void
unpartition_add (void *ctx, int64_t b, int64_t e)
{
  const UnpartCtx *c = ctx;
  const int nwx = c->g->nwx;
  for (int64_t t = b; t < e; t++) {
    const int64_t wl = t / c->qh;
    const int w = c->w0 + (int) wl, r = (int) (t % c->qh);
    const int yy = (w / nwx) * c->qh + r;
    if (yy >= c->Ho)
      continue;
    /* the window row's map pixels are contiguous in out and in y: one
     * element-wise add over them */
    const int x0 = (w % nwx) * c->qw, nx = MIN (c->qw, c->Wo - x0);
    if (nx > 0)
      sam_add (c->out + ((int64_t) yy * c->Wo + x0) * c->Co,
          c->y + (wl * c->nq + (int64_t) r * c->qw) * c->Co,
          (int64_t) nx * c->Co);
  }
}

/* One block's windowed attention, what every group of windows shares. */
typedef struct {
  const SamModel *m;
  int i;
  const float *x;
  const WinGrid *g;
  bool q_pool, skip_q, skip;     /* skip_q: map queries only, gathered */
  bool att_int;                 /* windowed, quantized attention */
  float *out;
  const float *pad;             /* skip: the qkv row of a zero row */
  char qkv_name[96], proj_name[96], att_name[96];
  int C, Co, heads, qh, qw, Ho, Wo;
  int64_t nk, nq, ld;
  int gw;                       /* windows per group */
} WinBlock;

/* The buffers of one group of b->gw windows. */
typedef struct {
  float *xw, *qkv, *qpooled, *att, *y;
  float *qc;                    /* the map queries (skip_q), gathered */
} WinBufs;

static void
win_bufs_init (const WinBlock * b, WinBufs * wb)
{
  wb->xw = g_new (float, b->gw * b->nk * b->C);
  wb->qkv = g_new (float, b->gw * b->nk * b->ld);
  wb->qpooled = b->q_pool ? g_new (float, b->gw * b->nq * b->Co) : NULL;
  wb->att = g_new (float, b->gw * b->nq * b->Co);
  wb->y = g_new (float, b->gw * b->nq * b->Co);
  wb->qc = b->skip_q ? g_new (float, b->gw * b->nq * b->Co) : NULL;
}

static void
win_bufs_clear (WinBufs * wb)
{
  g_free (wb->xw);
  g_free (wb->qkv);
  g_free (wb->qpooled);
  g_free (wb->att);
  g_free (wb->y);
  g_free (wb->qc);
}

/* The queries of window w on the (pooled) map: its query rows [0, *qvh)
 * × columns [0, *qvw) (window_valid at the query resolution) */
static void
query_valid (const WinBlock * b, int w, int *qvh, int *qvw)
{
  *qvh = MIN (b->qh, b->Ho - (w / b->g->nwx) * b->qh);
  *qvw = MIN (b->qw, b->Wo - (w % b->g->nwx) * b->qw);
}

/* The compact-query steps of windows [w0, w0 + n): start[k] is window
 * w0 + k's first row among the group's map queries, which go window after
 * window, each window's query rows × columns on the map. q: the windows'
 * queries [n, nq] with row stride ldq (the qkv, or the pooled q). */
typedef struct {
  const WinBlock *b;
  const float *qkv, *q;
  int64_t ldq;
  float *qc, *att;
  const float *y;
  const int64_t *start;
  int w0;
} CompactCtx;

/* q rows of the map's queries out of the full query windows */
static void
gather_q (void *vc, int64_t k0, int64_t k1)
{
  const CompactCtx *c = vc;
  const WinBlock *b = c->b;
  for (int64_t k = k0; k < k1; k++) {
    int qvh, qvw;
    query_valid (b, c->w0 + (int) k, &qvh, &qvw);
    for (int r = 0; r < qvh; r++)
      for (int s2 = 0; s2 < qvw; s2++)
        memcpy (c->qc + (c->start[k] + (int64_t) r * qvw + s2) * b->Co,
            c->q + (k * b->nq + (int64_t) r * b->qw + s2) * c->ldq,
            sizeof (float) * b->Co);
  }
}

/* attention of each window's map queries against all its keys (padding
 * included, as window_partition makes them); rows of a softmax are
 * independent, so the map queries' rows are those of the full window */
static void
compact_attention (void *vc, int64_t k0, int64_t k1)
{
  const CompactCtx *c = vc;
  const WinBlock *b = c->b;
  const WinAttCtx ac = {.m = b->m,.att_name = b->att_name,
    .via_model = b->att_int,.ldq = b->Co,.nk = b->nk,.C = b->Co,
    .heads = b->heads
  };
  for (int64_t k = k0; k < k1; k++)
    window_attend (&ac, NULL, c->qc + c->start[k] * b->Co,
        c->qkv + k * b->nk * b->ld, c->att + c->start[k] * b->Co,
        c->start[k + 1] - c->start[k]);
}

/* window_unpartition + residual from the compact rows: out += y */
static void
compact_unpartition_add (void *vc, int64_t k0, int64_t k1)
{
  const CompactCtx *c = vc;
  const WinBlock *b = c->b;
  const WinGrid *g = b->g;
  for (int64_t k = k0; k < k1; k++) {
    const int w = c->w0 + (int) k;
    int qvh, qvw;
    query_valid (b, w, &qvh, &qvw);
    const int y0 = (w / g->nwx) * b->qh, x0 = (w % g->nwx) * b->qw;
    for (int r = 0; r < qvh; r++)
      sam_add (b->out + ((int64_t) (y0 + r) * b->Wo + x0) * b->Co,
          c->y + (c->start[k] + (int64_t) r * qvw) * b->Co,
          (int64_t) qvw * b->Co);
  }
}

/* Windows [w0, w0 + n) of the block: norm1 + partition, qkv, q-pooling,
 * attention, proj, then window_unpartition (dropping the padding) + the
 * residual into b->out. Every step runs on pool (NULL: this thread). */
static void
window_group (const WinBlock * b, SamPool * pool, int w0, int n,
    const WinBufs * wb)
{
  const SamModel *m = b->m;
  const WinGrid *g = b->g;
  const int64_t rows = partition_norm (m, pool, b->i, b->x, b->C, g, w0, n,
      b->skip, wb->xw);
  sam_model_linear (m, pool, b->qkv_name, wb->xw, rows, b->C, wb->qkv,
      b->ld);
  if (rows < n * b->nk)
    expand_padded (g, w0, n, rows, wb->qkv, b->ld, b->pad);

  /* q is pooled per window, over all heads at once (reshape B,H,W,-1). */
  const float *q = wb->qkv;
  int64_t ldq = b->ld;
  UnpartCtx uc = {.g = g,.w0 = w0,.qh = b->qh,.qw = b->qw,.Ho = b->Ho,
    .Wo = b->Wo,.Co = b->Co,.nq = b->nq,.nk = b->nk,.ld = b->ld,
    .qkv = wb->qkv,.qpooled = wb->qpooled,.y = wb->y,.out = b->out
  };
  if (b->q_pool) {
    sam_pool_for (pool, n, 1, qpool_windows, &uc);
    q = wb->qpooled;
    ldq = b->Co;
  }

  if (b->skip_q) {
    /* Padded queries need no attention and no proj (window_unpartition
     * drops their rows): only the map tokens' queries go on, gathered,
     * for the right-edge windows' padded columns as for the bottom
     * windows' padded rows (after q-pooling: its pooled windows). */
    int64_t *start = g_new (int64_t, n + 1);
    start[0] = 0;
    for (int k = 0; k < n; k++) {
      int qvh, qvw;
      query_valid (b, w0 + k, &qvh, &qvw);
      start[k + 1] = start[k] + (int64_t) qvh * qvw;
    }
    CompactCtx cc = {.b = b,.qkv = wb->qkv,.q = q,.ldq = ldq,.qc = wb->qc,
      .att = wb->att,.y = wb->y,.start = start,.w0 = w0
    };
    sam_pool_for (pool, n, 1, gather_q, &cc);
    sam_pool_for (pool, n, 1, compact_attention, &cc);
    sam_model_linear (m, pool, b->proj_name, wb->att, start[n], b->Co,
        wb->y, b->Co);
    sam_pool_for (pool, n, 1, compact_unpartition_add, &cc);
    g_free (start);
    return;
  }

  /* A global block always goes through the model's attention (post-
   * softmax quantizers too); while calibration observers are set, every
   * window does, in order on this thread, so that they see each one. */
  const bool serial = g->nW == 1 || sam_model_observed (m);
  WinAttCtx ctx = {.m = m,.att_name = b->att_name,
    .via_model = serial || b->att_int,.q = q,.qkv = wb->qkv,.out = wb->att,
    .ldq = ldq,.nq = b->nq,.nk = b->nk,.C = b->Co,.heads = b->heads
  };
  if (serial) {
    for (int w = 0; w < n; w++)
      window_attend (&ctx, pool, q + w * b->nq * ldq,
          wb->qkv + w * b->nk * b->ld, wb->att + w * b->nq * b->Co, b->nq);
  } else {
    sam_pool_for (pool, n, 1, win_attention, &ctx);
  }

  sam_model_linear (m, pool, b->proj_name, wb->att, n * b->nq, b->Co, wb->y,
      b->Co);
  sam_pool_for (pool, (int64_t) n * b->qh, 1, unpartition_add, &uc);
}

/* Pool task over groups of windows: each runs window_group alone, on its
 * own buffers, so that a group's rows stay in this core's cache from
 * norm1 to the residual. */
static void
window_group_tasks (void *vb, int64_t t0, int64_t t1)
{
  const WinBlock *b = vb;
  WinBufs wb;
  win_bufs_init (b, &wb);
  for (int64_t t = t0; t < t1; t++) {
    const int w0 = (int) t * b->gw;
    window_group (b, NULL, w0, MIN (b->gw, b->g->nW - w0), &wb);
  }
  win_bufs_clear (&wb);
}

/* A global block's rows [t · rows, ...) per task, for the steps around
 * its attention: norm1 + qkv into the whole qkv, then proj + residual. */
typedef struct {
  const WinBlock *b;
  const float *n1w, *n1b, *att;
  float *qkv;                   /* the whole qkv, or NULL: codes instead */
  uint8_t *codes[3];            /* q, k, v codes [N, Co] (integer attention) */
  char att_name[96];
  int64_t rows, N;
} GlobalRows;

static void
global_qkv_rows (void *vc, int64_t t0, int64_t t1)
{
  const GlobalRows *c = vc;
  const WinBlock *b = c->b;
  float *xn = g_new (float, c->rows * b->C);
  /* with codes, the group's float qkv rows stay here, in cache */
  float *local = c->qkv ? NULL : g_new (float, c->rows * b->ld);
  for (int64_t t = t0; t < t1; t++) {
    const int64_t r0 = t * c->rows, n = MIN (c->rows, c->N - r0);
    float *qkv = local ? local : c->qkv + r0 * b->ld;
    sam_layernorm_serial (b->x + r0 * b->C, n, b->C, c->n1w, c->n1b, LN_EPS,
        xn);
    sam_model_linear (b->m, NULL, b->qkv_name, xn, n, b->C, qkv, b->ld);
    for (int which = 0; local && which < 3; which++)
      sam_model_attention_quantize (b->m, NULL, c->att_name, which,
          qkv + which * b->Co, b->ld, n, b->Co, c->codes[which] + r0 * b->Co);
  }
  g_free (local);
  g_free (xn);
}

static void
global_proj_rows (void *vc, int64_t t0, int64_t t1)
{
  const GlobalRows *c = vc;
  const WinBlock *b = c->b;
  float *y = g_new (float, c->rows * b->Co);
  for (int64_t t = t0; t < t1; t++) {
    const int64_t r0 = t * c->rows, n = MIN (c->rows, c->N - r0);
    sam_model_linear (b->m, NULL, b->proj_name, c->att + r0 * b->Co, n,
        b->Co, y, b->Co);
    sam_add (b->out + r0 * b->Co, y, n * b->Co);
  }
  g_free (y);
}

/* A global block without q-pooling (one window, the map itself) with
 * integer qkv and proj: the attention on the whole pool, the steps around
 * it in row groups that stay in a core's cache (rows are independent: no
 * bit changes). */
static void
global_attention_grouped (const WinBlock * b, SamPool * pool)
{
  const int64_t N = b->nk;
  GlobalRows c = {.b = b,.N = N };
  c.n1w = sam_model_wd (b->m, TRUNK ".blocks.%d.norm1.weight", b->i);
  c.n1b = sam_model_wd (b->m, TRUNK ".blocks.%d.norm1.bias", b->i);
  c.rows = CLAMP (SAM_POOL_GROUP_BYTES / (4 * (b->C + b->ld)), 8, N);
  const int64_t n_groups = (N + c.rows - 1) / c.rows;
  g_snprintf (c.att_name, sizeof c.att_name, TRUNK ".blocks.%d.attn", b->i);
  /* An integer attention takes codes made per row group (a third of the
   * float qkv's bytes, and no pass of its own to make them); else the
   * whole float qkv. */
  const bool codes = sam_model_attention_int_k (b->m, c.att_name);
  float *qkv = codes ? NULL : g_new (float, N * b->ld);
  float *att = g_new (float, N * b->Co);
  uint8_t *code_buf = codes ? g_malloc ((size_t) 3 * N * b->Co + 64) : NULL;
  for (int which = 0; codes && which < 3; which++)
    c.codes[which] = code_buf + (size_t) which * N * b->Co;
  c.qkv = qkv;
  c.att = att;
  sam_pool_for_each (pool, n_groups, global_qkv_rows, &c);
  const int D = b->Co / b->heads;
  if (codes)
    sam_model_attention_codes (b->m, pool, c.att_name, c.codes[0],
        c.codes[1], c.codes[2], att, b->Co, N, N, b->heads, D, D);
  else
    sam_model_attention (b->m, pool, c.att_name, qkv, b->ld, qkv + b->Co,
        b->ld, qkv + 2 * b->Co, b->ld, att, b->Co, N, N, b->heads, D, D);
  sam_pool_for_each (pool, n_groups, global_proj_rows, &c);
  g_free (code_buf);
  g_free (qkv);
  g_free (att);
}

/* ref: sam2/modeling/backbones/hieradet.py MultiScaleAttention.forward,
 * then window_unpartition (dropping the padding) and the residual add:
 * out [Ho*Wo, Co] already holds the shortcut. Windows are independent:
 * norm1, qkv, attention and proj run over groups of windows, each token of
 * out gets its one add as before. */
static void
attention_residual (const SamModel * m, SamPool * pool, int i,
    const float *x, const WinGrid * g, bool q_pool, float *out)
{
  const SamHParams *hp = &m->hp;
  WinBlock b = {.m = m,.i = i,.x = x,.g = g,.q_pool = q_pool,.out = out };
  b.C = hp->blk_dim[i];
  b.Co = hp->blk_dim_out[i];
  b.heads = hp->blk_heads[i];
  b.nk = (int64_t) g->wh * g->ww;
  b.ld = 3 * (int64_t) b.Co;
  b.nq = q_pool ? (int64_t) (g->wh / 2) * (g->ww / 2) : b.nk;
  /* after q-pooling the windows are ws/2 wide (window_size // q_stride),
   * on the same window grid */
  b.qh = q_pool ? g->wh / 2 : g->wh;
  b.qw = q_pool ? g->ww / 2 : g->ww;
  b.Ho = q_pool ? g->H / 2 : g->H;
  b.Wo = q_pool ? g->W / 2 : g->W;
  g_snprintf (b.qkv_name, sizeof b.qkv_name, TRUNK ".blocks.%d.attn.qkv", i);
  g_snprintf (b.proj_name, sizeof b.proj_name, TRUNK ".blocks.%d.attn.proj",
      i);
  g_snprintf (b.att_name, sizeof b.att_name, TRUNK ".blocks.%d.attn", i);
  b.att_int = g->nW > 1 && sam_model_attention_int_k (m, b.att_name);
  /* Padded tokens need no qkv row each: they are zero rows, and every zero
   * row gives the same q, k, v, for a plain float block chains of +0 then
   * + bias, i.e. bias + 0.f (see expand_padded). Padded queries need no
   * attention and no proj, as window_unpartition drops their rows
   * (window_group). While calibration observers are set the layers see
   * the literal rows. */
  const int64_t win_rows = (int64_t) g->nW * b.nk;
  const bool padded = win_rows > (int64_t) g->H * g->W;
  const bool int8 = sam_model_layer_int8 (m, b.qkv_name)
      && sam_model_layer_int8 (m, b.proj_name);
  const bool plain_qkv = sam_model_layer_plain (m, b.qkv_name);
  b.skip_q = padded && g->nW > 1 && !sam_model_observed (m);
  /* An integer qkv skips the padded rows too where they are a third or
   * more of the windows' rows (stages 3 and 4 at input 512: 72 %): the
   * groups keep the spreading in cache, and every zero row gives the
   * same codes, so the same output row, computed once. At 1024 (20 %)
   * the spreading cost about what the skipped rows save. */
  b.skip = b.skip_q && (plain_qkv || (int8 && 3 * (win_rows -
              (int64_t) g->H * g->W) >= win_rows));
  float *pad = NULL;
  if (b.skip && plain_qkv) {
    const float *bias = sam_model_wd (m, TRUNK ".blocks.%d.attn.qkv.bias", i);
    pad = g_new (float, b.ld);
    for (int64_t c = 0; c < b.ld; c++)
      pad[c] = bias ? bias[c] + 0.f : 0.f;
  }
  /* else F.pad's zero row through the integer layer, as every padded row
   * goes: made once per model (55 us a block and frame on the caller
   * alone, while the workers waited) */
  b.pad = pad ? pad : b.skip ? sam_model_linear_zero_row (m, b.qkv_name)
      : NULL;

  /* Windowed blocks with integer qkv and proj: groups of windows small
   * enough for L2, one per pool task, every step of a group on one core.
   * Made whole-block step by step instead, a stage-1 qkv output (19 MB at
   * input 512) went to memory and back. Rows are independent in every
   * step, so the grouping changes no bit. A float layer packs its weights
   * per call, which small groups would repeat: those take the pieces. */
  const int64_t win_bytes = 4 * (b.nk * (b.C + b.ld) +
      b.nq * b.Co * (q_pool ? 3 : 2));
  if (g->nW > 1 && int8) {
    b.gw = (int) CLAMP (SAM_POOL_GROUP_BYTES / win_bytes, 1, g->nW);
    sam_pool_for_each (pool, (g->nW + b.gw - 1) / b.gw, window_group_tasks,
        &b);
  } else if (int8 && !q_pool && !padded) {
    global_attention_grouped (&b, pool);
  } else {
    b.gw = (int) CLAMP (PIECE_FLOATS / (b.nk * b.ld), 1, g->nW);
    WinBufs wb;
    win_bufs_init (&b, &wb);
    for (int w0 = 0; w0 < g->nW; w0 += b.gw)
      window_group (&b, pool, w0, MIN (b.gw, g->nW - w0), &wb);
    win_bufs_clear (&wb);
  }
  g_free (pad);
}

/* x = x + mlp(norm2(x)) over rows, what every piece of rows shares */
typedef struct {
  const SamModel *m;
  SamPool *pool;                /* the pieces' steps; NULL in pool tasks */
  float *x;
  const float *n2w, *n2b;
  char fc1[96], fc2[96];
  int64_t rows;                 /* per piece */
  int64_t N;
  int C;
} MlpBlock;

/* pieces [t0, t1) of b->rows rows: norm2, the MLP (exact GELU) in place on
 * the normed rows, the residual add */
static void
mlp_pieces (void *vb, int64_t t0, int64_t t1)
{
  const MlpBlock *b = vb;
  const int C = b->C;
  float *h = g_new (float, b->rows * C);
  float *hid = g_new (float, b->rows * 4 * C);
  for (int64_t t = t0; t < t1; t++) {
    const int64_t r0 = t * b->rows, n = MIN (b->rows, b->N - r0);
    float *o = b->x + r0 * C;
    sam_layernorm (b->pool, o, n, C, b->n2w, b->n2b, LN_EPS, h);
    /* in place: each row tile is read whole before its output rows */
    sam_model_mlp (b->m, b->pool, b->fc1, b->fc2, SAM_MODEL_ACT_GELU, h, n,
        C, hid, h, C);
    sam_add_pool (b->pool, o, h, n * C);
  }
  g_free (hid);
  g_free (h);
}

/* x [N, C] += mlp(norm2(x)). With integer layers, pieces small enough for
 * L2 go one per pool task, each piece's steps on one core (rows are
 * independent: no bit changes); float layers pack their weights per call,
 * so they take big pieces, each step on the whole pool. */
static void
mlp_residual (const SamModel * m, SamPool * pool, int i, float *x,
    int64_t N, int C)
{
  MlpBlock b = {.m = m,.x = x,.N = N,.C = C };
  b.n2w = sam_model_wd (m, TRUNK ".blocks.%d.norm2.weight", i);
  b.n2b = sam_model_wd (m, TRUNK ".blocks.%d.norm2.bias", i);
  g_snprintf (b.fc1, sizeof b.fc1, TRUNK ".blocks.%d.mlp.layers.0", i);
  g_snprintf (b.fc2, sizeof b.fc2, TRUNK ".blocks.%d.mlp.layers.1", i);
  if (sam_model_layer_int8 (m, b.fc1) && sam_model_layer_int8 (m, b.fc2)) {
    /* the normed rows, read and written in place (the hidden rows stay
     * inside the integer MLP's row tiles) */
    b.rows = sam_pool_group_rows (pool, N,
        SAM_POOL_GROUP_BYTES / (8 * (int64_t) C), 8);
    sam_pool_for_each (pool, (N + b.rows - 1) / b.rows, mlp_pieces, &b);
  } else {
    b.pool = pool;
    b.rows = CLAMP (PIECE_FLOATS / (4 * (int64_t) C), MIN (PIECE_MIN_ROWS,
            N), N);
    mlp_pieces (&b, 0, (N + b.rows - 1) / b.rows);
  }
}

/* The shortcut at a q-pooled dim change, maxpool (proj (norm1 (x))), in
 * bands of an even number of map rows (the 2×2 pool stays inside) */
typedef struct {
  const SamModel *m;
  SamPool *pool;                /* the bands' steps; NULL in pool tasks */
  const float *x, *n1w, *n1b;
  float *out;
  char proj[96];
  int H, W, C, Co, band;
} ShortcutBands;

static void
shortcut_bands (void *vb, int64_t t0, int64_t t1)
{
  const ShortcutBands *b = vb;
  const int W = b->W, C = b->C, Co = b->Co;
  float *xn = g_new (float, (int64_t) MIN (b->band, b->H) * W * C);
  float *t = g_new (float, (int64_t) MIN (b->band, b->H) * W * Co);
  for (int64_t k = t0; k < t1; k++) {
    const int y0 = (int) k * b->band, nh = MIN (b->band, b->H - y0);
    sam_layernorm (b->pool, b->x + (int64_t) y0 * W * C, (int64_t) nh * W,
        C, b->n1w, b->n1b, LN_EPS, xn);
    sam_model_linear (b->m, b->pool, b->proj, xn, (int64_t) nh * W, C, t,
        Co);
    sam_maxpool2x2 (b->pool, t, nh, W, Co, b->out + (int64_t) (y0 / 2) *
        (W / 2) * Co);
  }
  g_free (t);
  g_free (xn);
}

/* An integer proj takes bands that fit L2, one per pool task (rows are
 * independent: no bit changes); a float one packs its weights per call,
 * so it takes big bands, each step on the whole pool. */
static void
pooled_shortcut (const SamModel * m, SamPool * pool, int i, const float *x,
    int H, int W, int C, int Co, float *out)
{
  ShortcutBands b = {.m = m,.x = x,.out = out,.H = H,.W = W,.C = C,.Co = Co };
  b.n1w = sam_model_wd (m, TRUNK ".blocks.%d.norm1.weight", i);
  b.n1b = sam_model_wd (m, TRUNK ".blocks.%d.norm1.bias", i);
  g_snprintf (b.proj, sizeof b.proj, TRUNK ".blocks.%d.proj", i);
  const int64_t row_bytes = 4 * (int64_t) W * (C + Co);
  if (sam_model_layer_int8 (m, b.proj)) {
    b.band = (int) CLAMP (SAM_POOL_GROUP_BYTES / (2 * row_bytes), 1,
        (H + 1) / 2) * 2;
    sam_pool_for_each (pool, (H + b.band - 1) / b.band, shortcut_bands, &b);
  } else {
    b.pool = pool;
    b.band = (int) CLAMP (PIECE_FLOATS / ((int64_t) 2 * W * Co), 1,
        (H + 1) / 2) * 2;
    shortcut_bands (&b, 0, (H + b.band - 1) / b.band);
  }
}

/* ref: sam2/modeling/backbones/hieradet.py MultiScaleBlock.forward
 * x: [H*W, dim] → returns the [Ho*Wo, dim_out] map (Ho = H/2 with
 * q-pooling): x itself, updated in place, when dim_out == dim, else a new
 * buffer. In place is exact: each group of windows copies its tokens
 * (partition_norm) before its residual lands on them, and windows are
 * disjoint. norm1(x) is never held whole: the shortcut and the windows
 * normalize the rows they take. */
static float *
multiscale_block (const SamModel * m, SamPool * pool, int i, float *x,
    int *pH, int *pW)
{
  const SamHParams *hp = &m->hp;
  const int H = *pH, W = *pW, C = hp->blk_dim[i], Co = hp->blk_dim_out[i];
  const int ws = hp->blk_window[i];
  const bool q_pool = hp->blk_q_pool[i];
  const int64_t N = (int64_t) H * W;
  const int Ho = q_pool ? H / 2 : H, Wo = q_pool ? W / 2 : W;
  const int64_t No = (int64_t) Ho * Wo;
  const float *n1w = sam_model_wd (m, TRUNK ".blocks.%d.norm1.weight", i);
  const float *n1b = sam_model_wd (m, TRUNK ".blocks.%d.norm1.bias", i);

  g_return_val_if_fail (!q_pool || C != Co, NULL);

  /* out starts as the shortcut: pooled proj(norm1(x)) at a dim change */
  float *out = C != Co ? g_new (float, No * Co) : x;
  if (C != Co && q_pool) {
    pooled_shortcut (m, pool, i, x, H, W, C, Co, out);
  } else if (C != Co) {
    float *xn = g_new (float, N * C);
    sam_layernorm (pool, x, N, C, n1w, n1b, LN_EPS, xn);
    sam_model_linearf (m, pool, xn, N, C, out, Co, TRUNK ".blocks.%d.proj",
        i);
    g_free (xn);
  }

  /* The window size is in input resolution here. */
  WinGrid g = { H, W, ws > 0 ? ws : H, ws > 0 ? ws : W, 0, 0 };
  g.nwx = (W + g.ww - 1) / g.ww;
  g.nW = ((H + g.wh - 1) / g.wh) * g.nwx;
  attention_residual (m, pool, i, x, &g, q_pool, out);

  mlp_residual (m, pool, i, out, No, Co);
  *pH = Ho;
  *pW = Wo;
  return out;
}

/* ref: sam2/modeling/backbones/hieradet.py Hiera.forward */
void
sam_hiera_run (const SamModel * m, SamPool * pool, const float *img, int S,
    SamHieraStageFunc on_stage, void *user_data)
{
  const SamHParams *hp = &m->hp;
  const int E = hp->embed_dim;
  /* PatchEmbed: conv 7×7, stride 4, padding 3 */
  int H = (S + 2 * 3 - 7) / 4 + 1, W = H;
  float *x = g_new (float, (int64_t) H * W * E);

  sam_conv2d (pool, img, S, S, 3,
      sam_model_wd (m, TRUNK ".patch_embed.proj.weight"),
      sam_model_wd (m, TRUNK ".patch_embed.proj.bias"), E, 7, 7, 4, 3, 1, x);
  add_pos_embed (m, pool, x, H, W, E);

  int stage = 0;
  for (int i = 0; i < hp->n_blocks; i++) {
    float *nx = multiscale_block (m, pool, i, x, &H, &W);
    if (nx != x)
      g_free (x);
    x = nx;
    if (stage < 4 && i == hp->stage_ends[stage])
      on_stage (stage++, x, H, W, hp->blk_dim_out[i], user_data);
  }
  g_free (x);
}
