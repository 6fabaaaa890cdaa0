/* samseg-quantize — post-training quantization of a SAM 2.1 model.
 *
 *   samseg-quantize IN.safetensors --calib VIDEO [--calib VIDEO]...
 *       [--prompts FILE | --grid N] [--method LIST] [--bits W8A8|W6A6|W4A8|W4A4]
 *       [--input-size N] [--frames N] [--threads N] [--float PREFIX]...
 *       [--float-attention PREFIX]... [--quantize-decoder] [--p8 LIST]
 *       -o OUT.safetensors
 *
 * Runs the float engine over the calibration videos (first --frames frames
 * of each; on the first frame, per cell of an N×N grid (default 2), one
 * object prompted by a click at the cell centre and one by a box on the
 * cell (both prompt kinds reach the calibration), or
 * the clicks of --prompts FILE: one "x y" per line in pixels of frame 0)
 * with observers on every Linear input and attention (q, k, v; Hiera's
 * windowed blocks window by window, so their attention runs in integers
 * too unless --float-attention names it), then writes
 * a quantized model (see engine/model/quantized.h for the format):
 * symmetric per-channel integer weights, activation quantizers, attention
 * quantizers, and __metadata__ "samseg.quant" recording per layer the
 * quantizer, bits, granularity and method.
 *
 * Methods (comma list; docs/quantization.md):
 *   minmax|mse|percentile|omse   baseline observer of activations (weights:
 *                                 per-channel MSE p=2.4, minmax for minmax)
 *   big    PTQ4SAM bimodal fold on decoder token->image q/k projections
 *   agq    PTQ4SAM post-softmax log quantizer (memory attention, decoder,
 *          Hiera global attention unless lnq)
 *   lnq    AHCQ-SAM log-transform quantizer on Hiera global attention
 *   drq    PTQ4RIS dual-region post-softmax quantizer (instead of agq)
 *   hluq   AHCPTQ hybrid log-uniform on post-GELU/ReLU fc2 inputs (simulated)
 *   cag    AHCPTQ channel-aware grouping (4 groups) on decoder q/k/v and
 *          MLP lin1 inputs (folded into the weights: runs int8)
 *   acnr   AHCQ-SAM condition-number reduction of 2-D Linear weights
 *   rorq   PTQ4RIS outlier banding: refused (a text-encoder method, no
 *          SAM 2.1 layer takes it in this engine)
 *   wminmax|wmse  weight observer (per output channel, symmetric): minmax,
 *          or MSE p=2 over 40 clipping fractions; by default minmax for the
 *          minmax baseline and MSE for the others
 * Default: percentile (1e-4 tails per calibration stratum, union of the
 * strata; on the ~2k-value stratum samples, which carry the stratum's true
 * extremes, those tails are the min and max, so the activation ranges are
 * min/max ones) with MSE weights: the best set measured (docs/quantization.md:
 * t256 W6A6 21.2 dB where minmax reaches 19.1, proxy W8A8 mean J 0.194 vs
 * minmax 0.186). Output is deterministic (fixed seeds, ordered iteration,
 * thread-count independent engine).
 *
 * --p8 LIST (comma list of trunk, memory, decoder; all; none): the
 * integer attentions of those parts carry the softmax into P·V with 8 bits
 * instead of 15 (the file's <A>#p8; kernels/attention-i8.h), which halves
 * P·V where rows are flat. Default: trunk, Hiera's global attentions,
 * where it costs nothing measured; the memory attention's peaked long rows
 * lose 1.5 dB with it (docs/quantization.md, "8-bit P").
 *
 * The mask decoder's two-way transformer stays float unless
 * --quantize-decoder is given or a decoder method (big, cag) asks for it:
 * its quantizers reorder the predicted IoUs of near-equal masks (t1024
 * W6A6 picked another mask: 3.9 dB end to end, 24.2 dB with it float) and
 * cost 3-4 dB of mask logits on every fixture at every bit width, for 2
 * GMAC of an object-frame's ~360 (docs/quantization.md).
 */
#include "io/video-decode.h"
#include "model/quantized.h"
#include "quant/quant.h"
#include "sam/sam.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DECODER_TRANSFORMER "sam_mask_decoder.transformer"
#define MAX_ROWS 256            /* row reservoir per Linear */
#define VAL_SAMPLE 2048         /* values for the MSE / percentile / OMSE search */
#define ATT_SAMPLES 4           /* softmax samples per attention (2 per stratum) */
#define ATT_ROWS 8

/* Calibration strata: calls made while the prompted (conditioning) frame is
 * processed, and calls on tracked frames. Most calls are tracked-frame
 * calls, yet the prompted frame's decoder inputs (prompt tokens, the
 * memory-free image embedding) have larger ranges: statistics that average
 * or sample over all calls clip them. Every observer keeps both strata
 * apart; ranges are searched per stratum and their union is used. */
#define N_STRATA 2

typedef struct {
  char *name;
  int K, N;
  int64_t calls, seen_rows[N_STRATA];
  double sum_min, sum_max;
  float gmin, gmax;             /* over all calls */
  float smin[N_STRATA], smax[N_STRATA];
  gboolean has[N_STRATA];
  float *cmin, *cmax;           /* [K] per input channel, over all calls */
  float *rows[N_STRATA];        /* [n_rows, K] reservoir per stratum */
  int n_rows[N_STRATA];
  float *yrows[N_STRATA];       /* [n_rows, N] outputs (BIG candidates) */
} LinObs;

typedef struct {
  float *A, *V;                 /* [ATT_ROWS, Nk], [Nk, Dv] */
  int64_t Nk;
  int Dv;
} AttSample;

typedef struct {
  char *name;
  int64_t calls[N_STRATA];
  AttSample s[ATT_SAMPLES];
  int n;
  int D, Dv;                    /* head dims seen (Dv < D: v in memory space) */
  double sum_min[3], sum_max[3];
  float gmin[3], gmax[3];
  float *vals[N_STRATA][3];     /* value reservoirs of q, k, v per stratum */
  int n_vals[N_STRATA][3];
  int64_t seen_vals[N_STRATA][3];
  float smin[N_STRATA][3], smax[N_STRATA][3];
} AttObs;

typedef struct {
  GHashTable *lin, *att;
  GRand *rng;
  gboolean want_y;
  int stratum;                  /* 0 prompted frame, 1 tracked frames */
} Calib;

static void
lin_obs_free (gpointer data)
{
  LinObs *o = data;
  g_free (o->cmin);
  g_free (o->cmax);
  for (int s = 0; s < N_STRATA; s++) {
    g_free (o->rows[s]);
    g_free (o->yrows[s]);
  }
  g_free (o->name);
  g_free (o);
}

static void
att_obs_free (gpointer data)
{
  AttObs *o = data;
  for (int i = 0; i < ATT_SAMPLES; i++) {
    g_free (o->s[i].A);
    g_free (o->s[i].V);
  }
  for (int s = 0; s < N_STRATA; s++)
    for (int t = 0; t < 3; t++)
      g_free (o->vals[s][t]);
  g_free (o->name);
  g_free (o);
}

static gboolean
is_big_k (const char *name)
{
  return g_str_has_prefix (name, "sam_mask_decoder.transformer.")
      && g_str_has_suffix (name, "token_to_image.k_proj")
      && !strstr (name, "image_to_token");
}

static void
on_linear (const char *name, const float *x, int64_t M, int K, int64_t ldx,
    const float *y, int N, int64_t ldy, void *ud)
{
  Calib *c = ud;
  LinObs *o = g_hash_table_lookup (c->lin, name);
  if (!o) {
    o = g_new0 (LinObs, 1);
    o->name = g_strdup (name);
    o->K = K;
    o->N = N;
    o->cmin = g_new (float, K);
    o->cmax = g_new (float, K);
    for (int k = 0; k < K; k++) {
      o->cmin[k] = INFINITY;
      o->cmax[k] = -INFINITY;
    }
    for (int s = 0; s < N_STRATA; s++) {
      o->rows[s] = g_new (float, (size_t) MAX_ROWS * K);
      if (is_big_k (name))
        o->yrows[s] = g_new (float, (size_t) MAX_ROWS * N);
    }
    g_hash_table_insert (c->lin, o->name, o);
  }
  const int st = c->stratum;
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t r = 0; r < M; r++)
    for (int k = 0; k < K; k++) {
      float v = x[r * ldx + k];
      mn = MIN (mn, v);
      mx = MAX (mx, v);
      o->cmin[k] = MIN (o->cmin[k], v);
      o->cmax[k] = MAX (o->cmax[k], v);
    }
  o->sum_min += mn;
  o->sum_max += mx;
  o->gmin = o->calls ? MIN (o->gmin, mn) : mn;
  o->gmax = o->calls ? MAX (o->gmax, mx) : mx;
  o->smin[st] = o->has[st] ? MIN (o->smin[st], mn) : mn;
  o->smax[st] = o->has[st] ? MAX (o->smax[st], mx) : mx;
  o->has[st] = TRUE;
  o->calls++;
  for (int64_t r = 0; r < M; r++) {
    int64_t slot = o->seen_rows[st] < MAX_ROWS ? o->seen_rows[st] :
        g_rand_int_range (c->rng, 0, (gint32) MIN (o->seen_rows[st] + 1,
            G_MAXINT32));
    o->seen_rows[st]++;
    if (slot >= MAX_ROWS)
      continue;
    memcpy (o->rows[st] + slot * K, x + r * ldx, sizeof (float) * K);
    if (o->yrows[st])
      memcpy (o->yrows[st] + slot * N, y + r * ldy, sizeof (float) * N);
    o->n_rows[st] = MAX (o->n_rows[st], (int) slot + 1);
  }
}

/* Both strata's row samples, stacked: [*n, K] (or the outputs, [*n, N]). */
static float *
stacked_rows (const LinObs * o, gboolean outputs, int max_per, int *n)
{
  int w = outputs ? o->N : o->K, tot = 0;
  for (int s = 0; s < N_STRATA; s++)
    tot += MIN (o->n_rows[s], max_per);
  float *r = g_new (float, (size_t) MAX (tot, 1) * w);
  int at = 0;
  for (int s = 0; s < N_STRATA; s++) {
    int k = MIN (o->n_rows[s], max_per);
    memcpy (r + (size_t) at * w, outputs ? o->yrows[s] : o->rows[s],
        sizeof (float) * k * w);
    at += k;
  }
  *n = tot;
  return r;
}

/* A stride for picking about @target of @n row-major values with @cols
 * columns that visits every column: a stride sharing a factor with @cols
 * would sample a few channels only (and miss the outlier channels of
 * trained models). */
static int64_t
sample_step (int64_t n, int64_t target, int64_t cols)
{
  int64_t step = MAX (1, n / target);
  while (step > 1 && cols > 1) {
    int64_t a = step, b = cols;
    while (b) {
      int64_t t = a % b;
      a = b;
      b = t;
    }
    if (a == 1)
      break;
    step++;
  }
  return step;
}

static void
reservoir_vals (Calib * c, AttObs * o, int t, const float *x, int64_t rows,
    int cols, int64_t ld)
{
  const int st = c->stratum;
  float mn = INFINITY, mx = -INFINITY;
  if (!o->vals[st][t])
    o->vals[st][t] = g_new (float, VAL_SAMPLE);
  for (int64_t r = 0; r < rows; r++)
    for (int k = 0; k < cols; k++) {
      float v = x[r * ld + k];
      mn = MIN (mn, v);
      mx = MAX (mx, v);
    }
  o->gmin[t] = o->sum_min[t] != 0 || o->sum_max[t] != 0 ? MIN (o->gmin[t],
      mn) : mn;
  o->gmax[t] = o->sum_min[t] != 0 || o->sum_max[t] != 0 ? MAX (o->gmax[t],
      mx) : mx;
  o->sum_min[t] += mn;
  o->sum_max[t] += mx;
  o->smin[st][t] = o->calls[st] ? MIN (o->smin[st][t], mn) : mn;
  o->smax[st][t] = o->calls[st] ? MAX (o->smax[st][t], mx) : mx;
  /* a strided pick of 512 values per call into the reservoir */
  int64_t n = rows * cols, step = sample_step (n, 512, cols);
  for (int64_t i = 0; i < n; i += step) {
    int64_t slot = o->seen_vals[st][t] < VAL_SAMPLE ? o->seen_vals[st][t] :
        g_rand_int_range (c->rng, 0, (gint32) MIN (o->seen_vals[st][t] + 1,
            G_MAXINT32));
    o->seen_vals[st][t]++;
    if (slot < VAL_SAMPLE) {
      o->vals[st][t][slot] = x[(i / cols) * ld + i % cols];
      o->n_vals[st][t] = MAX (o->n_vals[st][t], (int) slot + 1);
    }
  }
}

static void
on_attention (const char *name, const float *q, int64_t ldq, const float *k,
    int64_t ldk, const float *v, int64_t ldv, int64_t Nq, int64_t Nk, int H,
    int D, int Dv, void *ud)
{
  Calib *c = ud;
  AttObs *o = g_hash_table_lookup (c->att, name);
  if (!o) {
    o = g_new0 (AttObs, 1);
    o->name = g_strdup (name);
    g_hash_table_insert (c->att, o->name, o);
  }
  o->D = D;
  o->Dv = Dv;
  reservoir_vals (c, o, 0, q, Nq, H * D, ldq);
  reservoir_vals (c, o, 1, k, Nk, H * D, ldk);
  reservoir_vals (c, o, 2, v, Nk, H * Dv, ldv);
  /* softmax samples: ATT_SAMPLES / 2 slots per stratum (a reservoir in each) */
  const int per = ATT_SAMPLES / N_STRATA, st = c->stratum;
  int64_t call = o->calls[st]++;
  int slot = call < per ? (int) call :
      g_rand_int_range (c->rng, 0, (gint32) MIN (call + 1, G_MAXINT32));
  if (slot >= per)
    return;
  slot += st * per;
  AttSample *s = &o->s[slot];
  if (!s->A)
    o->n++;                     /* filled slots */
  g_free (s->A);
  g_free (s->V);
  const int h = (int) (call % H);
  s->Nk = Nk;
  s->Dv = Dv;
  s->A = g_new (float, (size_t) ATT_ROWS * Nk);
  s->V = g_new (float, (size_t) Nk * Dv);
  const float scale = 1.f / sqrtf ((float) D);
  for (int r = 0; r < ATT_ROWS; r++) {
    int64_t qi = (int64_t) r * Nq / ATT_ROWS;
    float *a = s->A + (int64_t) r * Nk, mx = -INFINITY;
    for (int64_t j = 0; j < Nk; j++) {
      float d = 0;
      for (int e = 0; e < D; e++)
        d += q[qi * ldq + h * D + e] * k[j * ldk + h * D + e];
      a[j] = d * scale;
      mx = MAX (mx, a[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < Nk; j++)
      sum += (a[j] = expf (a[j] - mx));
    for (int64_t j = 0; j < Nk; j++)
      a[j] = (float) (a[j] / sum);
  }
  for (int64_t j = 0; j < Nk; j++)
    memcpy (s->V + j * Dv, v + j * ldv + h * Dv, sizeof (float) * Dv);
}

/* ---- options ------------------------------------------------------------ */

/* --p8 parts, by attention name prefix */
static const struct {
  const char *part, *prefix;
} p8_parts[] = {
  {"trunk", "image_encoder."},
  {"memory", "memory_attention."},
  {"decoder", "sam_mask_decoder."},
};

/* see the header: measured, not guessed */
#define P8_DEFAULT "trunk"

/* the mask of p8_parts named by @list */
static gboolean
parse_p8 (const char *list, guint * mask, GError ** error)
{
  *mask = 0;
  gchar **v = g_strsplit (list, ",", -1);
  gboolean ok = TRUE;
  for (int i = 0; v[i] && ok; i++) {
    const char *s = g_strstrip (v[i]);
    gboolean known = FALSE;
    if (!strcmp (s, "all"))
      *mask = (1u << G_N_ELEMENTS (p8_parts)) - 1, known = TRUE;
    else if (!strcmp (s, "none"))
      known = TRUE;
    for (guint k = 0; k < G_N_ELEMENTS (p8_parts) && !known; k++)
      if (!strcmp (s, p8_parts[k].part)) {
        *mask |= 1u << k;
        known = TRUE;
      }
    if (!known) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "--p8: unknown part '%s' (trunk, memory, decoder, all, none)", s);
      ok = FALSE;
    }
  }
  g_strfreev (v);
  return ok;
}

/* A windowed (not global) Hiera block's attention: its q, k, v get
 * quantizers like every attention's, but the post-softmax methods (agq,
 * lnq, drq) stay on the attentions the papers place them on. */
static gboolean
windowed_attention (const SamModel * m, const char *name)
{
  int i;
  if (sscanf (name, "image_encoder.trunk.blocks.%d.", &i) != 1)
    return FALSE;
  for (int k = 0; k < m->hp.n_global; k++)
    if (m->hp.global_att_blocks[k] == i)
      return FALSE;
  return TRUE;
}

static gboolean
p8_for (guint mask, const char *attention)
{
  for (guint k = 0; k < G_N_ELEMENTS (p8_parts); k++)
    if ((mask & (1u << k)) && g_str_has_prefix (attention, p8_parts[k].prefix))
      return TRUE;
  return FALSE;
}

typedef struct {
  SamObserverKind base;
  int wobs;                     /* weight observer: 0 by base, 1 minmax, 2 mse */
  gboolean big, agq, lnq, drq, hluq, cag, acnr;
  int wbits, abits;
} Methods;

static gboolean
parse_methods (const char *list, Methods * mt, GError ** error)
{
  mt->base = SAM_OBSERVER_MSE;
  gchar **v = g_strsplit (list, ",", -1);
  gboolean ok = TRUE;
  for (int i = 0; v[i] && ok; i++) {
    const char *s = g_strstrip (v[i]);
    if (!strcmp (s, "minmax"))
      mt->base = SAM_OBSERVER_MINMAX;
    else if (!strcmp (s, "mse"))
      mt->base = SAM_OBSERVER_MSE;
    else if (!strcmp (s, "percentile"))
      mt->base = SAM_OBSERVER_PERCENTILE;
    else if (!strcmp (s, "omse"))
      mt->base = SAM_OBSERVER_OMSE;
    else if (!strcmp (s, "wminmax"))
      mt->wobs = 1;
    else if (!strcmp (s, "wmse"))
      mt->wobs = 2;
    else if (!strcmp (s, "big"))
      mt->big = TRUE;
    else if (!strcmp (s, "agq"))
      mt->agq = TRUE;
    else if (!strcmp (s, "lnq"))
      mt->lnq = TRUE;
    else if (!strcmp (s, "drq"))
      mt->drq = TRUE;
    else if (!strcmp (s, "hluq"))
      mt->hluq = TRUE;
    else if (!strcmp (s, "cag"))
      mt->cag = TRUE;
    else if (!strcmp (s, "acnr"))
      mt->acnr = TRUE;
    else if (!strcmp (s, "baseline") || !*s);
    else if (!strcmp (s, "rorq")) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "rorq: PTQ4RIS's text-encoder outlier banding has no layer to "
          "apply to in SAM 2.1 (not wired)");
      ok = FALSE;
    } else {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "unknown method '%s'", s);
      ok = FALSE;
    }
  }
  g_strfreev (v);
  if (ok && mt->agq && mt->drq) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "agq and drq are alternatives for the same softmax outputs");
    ok = FALSE;
  }
  return ok;
}

static const char *
base_name (SamObserverKind k)
{
  return k == SAM_OBSERVER_MINMAX ? "minmax" : k == SAM_OBSERVER_MSE ? "mse"
      : k == SAM_OBSERVER_PERCENTILE ? "percentile" : "omse";
}

/* Layers named by --float / --float-attention (name prefixes) stay float:
 * no quantizer is written for them, so the engine runs them as the float
 * checkpoint's layers and the metadata's "float" list names them. A
 * per-layer choice for the experiments of docs/quantization.md (which
 * layers' quantizers cost most end to end); the decoder's transformer is
 * kept this way by default (see the top of this file). */
static gboolean
kept_float (const char *name, const GPtrArray * keep_float)
{
  for (guint i = 0; i < keep_float->len; i++)
    if (g_str_has_prefix (name, keep_float->pdata[i]))
      return TRUE;
  return FALSE;
}

/* Which Linears are quantized (AHCQ-SAM's SAM 2 placement); the rest stay
 * float: patch embed, prompt encoder, upscaling, hypernetwork MLPs, IoU and
 * object-score heads, object-pointer projections, mask downsampler,
 * conv_s0/s1, and the FPN neck's four 1x1 convs: their inputs are the
 * trunk's stage outputs (the residual stream, whose wide range a per-tensor
 * activation grid resolves worst), and every mask reads the neck's output;
 * quantized, they cost 1.9 dB of t1024 mask logits for 0.4 M weights
 * (docs/quantization.md, "t1024: where the missing dB is"). */
static gboolean
quantizable (const char *name, const GPtrArray * keep_float)
{
  if (kept_float (name, keep_float))
    return FALSE;
  static const char *pfx[] = {
    "image_encoder.trunk.blocks.",
    "memory_attention.layers.", "memory_encoder.fuser.",
    "memory_encoder.pix_feat_proj", "memory_encoder.out_proj",
    "sam_mask_decoder.transformer.",
  };
  for (guint i = 0; i < G_N_ELEMENTS (pfx); i++)
    if (g_str_has_prefix (name, pfx[i]))
      return TRUE;
  return FALSE;
}

static const char *float_modules[] = {
  "image_encoder.trunk.patch_embed", "image_encoder.trunk.pos_embed*",
  "image_encoder.trunk.blocks.*.norm*", "image_encoder.neck",
  "sam_prompt_encoder",
  "sam_mask_decoder.output_upscaling", "sam_mask_decoder.output_hypernetworks_mlps",
  "sam_mask_decoder.iou_prediction_head", "sam_mask_decoder.pred_obj_score_head",
  "sam_mask_decoder.conv_s0", "sam_mask_decoder.conv_s1",
  "obj_ptr_proj", "obj_ptr_tpos_proj", "memory_encoder.mask_downsampler",
  "memory_encoder.fuser.layers.*.dwconv", "all LayerNorms, softmax inputs, "
      "residual adds, RoPE, GELU/ReLU",
};

static gboolean
is_cag_layer (const char *name)
{
  if (!g_str_has_prefix (name, "sam_mask_decoder.transformer."))
    return FALSE;
  return g_str_has_suffix (name, ".q_proj") || g_str_has_suffix (name,
      ".k_proj") || g_str_has_suffix (name, ".v_proj")
      || g_str_has_suffix (name, ".mlp.layers.0");
}

static gboolean
is_hluq_layer (const char *name)
{
  return (g_str_has_prefix (name, "image_encoder.trunk.blocks.")
      && g_str_has_suffix (name, ".mlp.layers.1"))
      || (g_str_has_prefix (name, "sam_mask_decoder.transformer.layers.")
      && g_str_has_suffix (name, ".mlp.layers.1"));
}

/* ---- calibration run ---------------------------------------------------- */

static void
progress (int done, int total, const char *what)
{
  if (!isatty (2))
    return;
  int w = 30, f = total ? done * w / total : w;
  fprintf (stderr, "\r[");
  for (int i = 0; i < w; i++)
    fputc (i < f ? '#' : ' ', stderr);
  fprintf (stderr, "] %d/%d %s   ", done, total, what);
  if (done == total)
    fputc ('\n', stderr);
  fflush (stderr);
}

static gboolean
calibrate_video (SamModel * m, Calib * c, const char *path, int input_size,
    int frames, int grid, GArray * clicks, int threads, int *done, int total,
    GError ** error)
{
  SamVideoDecoder *d = sam_video_decoder_open (path, error);
  if (!d)
    return FALSE;
  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = input_size;
  sp.n_threads = threads;
  sp.num_frames = frames;
  SamSession *s = sam_session_new (m, &sp, error);
  gboolean ok = s != NULL;
  for (int f = 0; ok && f < frames; f++) {
    SamVideoFrame vf;
    if (!sam_video_decoder_next (d, &vf, error)) {
      if (error && *error)
        ok = FALSE;
      break;
    }
    c->stratum = f == 0 ? 0 : 1;
    if (f == 0) {
      guint32 id = 1;
      if (clicks && clicks->len) {
        for (guint i = 0; ok && i < clicks->len / 2; i++) {
          float pt[2] = { g_array_index (clicks, float, 2 * i),
            g_array_index (clicks, float, 2 * i + 1)
          };
          gint32 lab = 1;
          SamPrompt p = { 1, pt, &lab, FALSE, {0}, FALSE };
          ok = sam_session_add_prompt (s, id++, &p, error);
        }
      } else {
        for (int gy = 0; ok && gy < grid; gy++)
          for (int gx = 0; ok && gx < grid; gx++) {
            float pt[2] = { (gx + 0.5f) * vf.width / grid,
              (gy + 0.5f) * vf.height / grid
            };
            gint32 lab = 1;
            SamPrompt p = { 1, pt, &lab, FALSE, {0}, FALSE };
            ok = sam_session_add_prompt (s, id++, &p, error);
            /* and a box object on the same cell: box-corner tokens have
             * their own statistics in the decoder */
            SamPrompt bp = { 0, NULL, NULL, TRUE, {
                (gx + 0.15f) * vf.width / grid, (gy + 0.15f) * vf.height / grid,
                (gx + 0.85f) * vf.width / grid, (gy + 0.85f) * vf.height / grid},
              FALSE
            };
            if (ok)
              ok = sam_session_add_prompt (s, id++, &bp, error);
          }
      }
    }
    SamImage img = { SAM_PIXEL_RGB, vf.width, vf.height, vf.stride, vf.data };
    SamFrameResult fr;
    if (ok)
      ok = sam_session_process_frame (s, &img, &fr, error);
    (*done)++;
    char *what = g_strdup_printf ("%s frame %d", path, f);
    progress (*done, total, what);
    g_free (what);
  }
  sam_session_free (s);
  sam_video_decoder_free (d);
  return ok;
}

/* ---- quantization ------------------------------------------------------- */

static double
loss_p (const float *x, int64_t n, const SamQParams * p, double pn)
{
  double acc = 0;
  for (int64_t i = 0; i < n; i++) {
    float d = fabsf (sam_fake_quant (x[i], p) - x[i]);
    acc += pn == 2.0 ? (double) d * d : (double) powf (d, (float) pn);
  }
  return acc;
}

/* PTQ4SAM MSEObserver on a budget: the 2-D search (range fraction × zero
 * point) over 40 × 32 candidates instead of 100 × 2^b (the full grid costs
 * minutes per model on 2 cores); 1-D (symmetric or one-sided) over 40 range
 * fractions in [0.3, 1]. Loss mean |x̂ − x|^p. */
static SamQParams
fast_mse (const float *x, int64_t n, int bits, gboolean symmetric, double pn)
{
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    mn = MIN (mn, x[i]);
    mx = MAX (mx, x[i]);
  }
  SamQParams best = sam_qparams_from_range (mn, mx, bits, symmetric);
  double bs = loss_p (x, n, &best, pn);
  const int NR = 40;
  if (symmetric || mn >= 0 || mx <= 0) {
    for (int i = 0; i < NR; i++) {
      float f = 0.3f + 0.7f * i / (NR - 1);
      float lo = symmetric || mn < 0 ? mn * f : 0, hi = symmetric || mx > 0 ?
          mx * f : 0;
      if (symmetric) {
        float a = MAX (fabsf (mn), fabsf (mx)) * f;
        lo = -a;
        hi = a;
      }
      SamQParams p = sam_qparams_from_range (lo, hi, bits, symmetric);
      double l = loss_p (x, n, &p, pn);
      if (l < bs) {
        bs = l;
        best = p;
      }
    }
    return best;
  }
  const int qmax = (1 << bits) - 1, NZ = MIN (32, qmax + 1);
  for (int i = 0; i < NR; i++) {
    float tmax = (mx - mn) * (0.3f + 0.7f * i / (NR - 1));
    float delta = tmax / qmax;
    for (int zi = 0; zi < NZ; zi++) {
      int zp = (int) lround ((double) zi * qmax / (NZ - 1));
      SamQParams p = sam_qparams_from_range (-zp * delta, tmax - zp * delta,
          bits, false);
      double l = loss_p (x, n, &p, pn);
      if (l < bs) {
        bs = l;
        best = p;
      }
    }
  }
  return best;
}

static float
range_lo (const SamQParams * p)
{
  return (float) (p->qmin - p->zero) * p->scale;
}

static float
range_hi (const SamQParams * p)
{
  return (float) (p->qmax - p->zero) * p->scale;
}

/* One stratum's search on a value sample. */
static SamQParams
search_params (const float *v, int64_t n, const Methods * mt)
{
  if (mt->base == SAM_OBSERVER_MSE)
    return fast_mse (v, n, mt->abits, FALSE, 2.4);
  SamObserverParams op;
  sam_observer_params_init (&op, mt->base, mt->abits, false);
  if (mt->base == SAM_OBSERVER_PERCENTILE)
    op.percentile = 1e-4f;
  return sam_observe (v, n, 1, &op);
}

static SamQParams
act_params (const LinObs * o, const Methods * mt)
{
  if (mt->base == SAM_OBSERVER_MINMAX)
    /* MinMax over every call. PTQ4SAM's AvgMinMaxObserver (the mean of
     * per-batch min and max) clips the prompted frames: on video most calls
     * are tracked frames, whose decoder / memory inputs have a smaller
     * range than the conditioning frames' (measured: -3 dB mask logits on
     * prompted frames with the average, see docs/quantization.md). */
    return sam_qparams_from_range (o->gmin, o->gmax, mt->abits, false);
  /* the search runs per stratum on a strided sample of its rows; the
   * union of the strata's ranges is used */
  float lo = 0, hi = 0;
  for (int st = 0; st < N_STRATA; st++) {
    int64_t n = (int64_t) o->n_rows[st] * o->K;
    if (!n)
      continue;
    int64_t step = sample_step (n, VAL_SAMPLE, o->K);
    int64_t ns = (n + step - 1) / step;
    float *v = g_new (float, ns + 2);
    for (int64_t i = 0; i < ns; i++)
      v[i] = o->rows[st][i * step];
    /* the stratum's extremes over every call: the search's candidates
     * are fractions of the sample's range, which may miss them */
    v[ns] = o->smin[st];
    v[ns + 1] = o->smax[st];
    SamQParams p = search_params (v, ns + 2, mt);
    g_free (v);
    lo = MIN (lo, range_lo (&p));
    hi = MAX (hi, range_hi (&p));
  }
  return sam_qparams_from_range (lo, hi, mt->abits, false);
}

static SamQParams
vals_params (const AttObs * o, int t, const Methods * mt)
{
  if (mt->base == SAM_OBSERVER_MINMAX)
    return sam_qparams_from_range (o->gmin[t], o->gmax[t], mt->abits, false);
  float lo = 0, hi = 0;
  for (int st = 0; st < N_STRATA; st++) {
    int nv = o->n_vals[st][t];
    if (!nv)
      continue;
    float *v = g_new (float, nv + 2);
    memcpy (v, o->vals[st][t], sizeof (float) * nv);
    v[nv] = o->smin[st][t];
    v[nv + 1] = o->smax[st][t];
    SamQParams p = search_params (v, nv + 2, mt);
    g_free (v);
    lo = MIN (lo, range_lo (&p));
    hi = MAX (hi, range_hi (&p));
  }
  return sam_qparams_from_range (lo, hi, mt->abits, false);
}

/* Weight observer: minmax for the minmax baseline, MSE otherwise, unless
 * wminmax / wmse name one. */
static gboolean
wminmax (const Methods * mt)
{
  return mt->wobs ? mt->wobs == 1 : mt->base == SAM_OBSERVER_MINMAX;
}

/* symmetric per-row integer weights of W [N, K] */
static void
quant_weights (const float *W, int N, int K, const Methods * mt, int8_t * q,
    float *scales)
{
  SamObserverParams op;
  sam_observer_params_init (&op, SAM_OBSERVER_MINMAX, mt->wbits, true);
  for (int n = 0; n < N; n++) {
    /* weights: MSE with p = 2 (the p = 2.4 powf over 27 M weights × 40
     * candidates is too slow here); minmax for the minmax baseline */
    SamQParams p = wminmax (mt) ?
        sam_observe (W + (int64_t) n * K, K, 1, &op) :
        fast_mse (W + (int64_t) n * K, K, mt->wbits, TRUE, 2.0);
    scales[n] = p.scale;
    for (int k = 0; k < K; k++)
      q[(int64_t) n * K + k] = (int8_t) sam_quantize (W[(int64_t) n * K + k],
          &p);
  }
}

/* Block-diagonal stacking of the softmax samples: one joint search whose
 * loss is the sum of the per-sample losses (the zeros decode to 0). */
static void
stack_samples (const AttObs * o, float **pA, float **pV, int64_t * rows,
    int *n, int *dv)
{
  int64_t Ntot = 0;
  *dv = 0;
  for (int i = 0; i < ATT_SAMPLES; i++)
    if (o->s[i].A) {
      Ntot += o->s[i].Nk;
      if (!*dv)
        *dv = o->s[i].Dv;
    }
  *rows = (int64_t) o->n * ATT_ROWS;
  *n = (int) Ntot;
  float *A = g_new0 (float, (size_t) * rows * Ntot);
  float *V = g_new0 (float, (size_t) Ntot * *dv);
  int64_t off = 0;
  for (int i = 0, j = 0; i < ATT_SAMPLES; i++) {
    const AttSample *s = &o->s[i];
    if (!s->A)
      continue;
    for (int r = 0; r < ATT_ROWS; r++)
      memcpy (A + ((int64_t) j * ATT_ROWS + r) * Ntot + off,
          s->A + (int64_t) r * s->Nk, sizeof (float) * s->Nk);
    memcpy (V + off * *dv, s->V, sizeof (float) * s->Nk * MIN (s->Dv, *dv));
    off += s->Nk;
    j++;
  }
  *pA = A;
  *pV = V;
}

typedef struct {
  SamStWriter *w;
  JsonBuilder *jb;
} Out;

static void
add_f32 (SamStWriter * w, const char *name, int64_t n, const float *d)
{
  int64_t shape[1] = { n };
  sam_st_writer_add (w, name, SAM_DTYPE_F32, 1, shape, d);
}

static void
usage (void)
{
  fprintf (stderr, "usage: samseg-quantize IN.safetensors --calib VIDEO "
      "[--calib VIDEO]... [--prompts FILE | --grid N] [--method LIST] "
      "[--bits W8A8|W6A6|W4A8|W4A4] [--input-size N] [--frames N] "
      "[--threads N] [--float PREFIX]... [--float-attention PREFIX]... "
      "[--quantize-decoder] [--p8 LIST] -o OUT.safetensors\n");
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  const char *in = NULL, *out = NULL, *prompts = NULL;
  const char *methods = "percentile", *bits = "W8A8", *p8_list = P8_DEFAULT;
  int grid = 2, input_size = 0, frames = 8, threads = 0;
  GPtrArray *calib = g_ptr_array_new ();
  g_autoptr (GPtrArray) keep_float = g_ptr_array_new ();
  g_autoptr (GPtrArray) keep_float_att = g_ptr_array_new ();
  gboolean quantize_decoder = FALSE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp (a, "--calib") && v)
      g_ptr_array_add (calib, (gpointer) argv[++i]);
    else if (!strcmp (a, "--float-attention") && v)
      g_ptr_array_add (keep_float_att, (gpointer) argv[++i]);
    else if (!strcmp (a, "--float") && v)
      g_ptr_array_add (keep_float, (gpointer) argv[++i]);
    else if (!strcmp (a, "--quantize-decoder"))
      quantize_decoder = TRUE;
    else if (!strcmp (a, "--prompts") && v)
      prompts = argv[++i];
    else if (!strcmp (a, "--grid") && v)
      grid = atoi (argv[++i]);
    else if (!strcmp (a, "--method") && v)
      methods = argv[++i];
    else if (!strcmp (a, "--p8") && v)
      p8_list = argv[++i];
    else if (!strcmp (a, "--bits") && v)
      bits = argv[++i];
    else if (!strcmp (a, "--input-size") && v)
      input_size = atoi (argv[++i]);
    else if (!strcmp (a, "--frames") && v)
      frames = atoi (argv[++i]);
    else if (!strcmp (a, "--threads") && v)
      threads = atoi (argv[++i]);
    else if (!strcmp (a, "-o") && v)
      out = argv[++i];
    else if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
      usage ();
      return 0;
    } else if (a[0] == '-' || in) {
      usage ();
      return 2;
    } else
      in = a;
  }
  Methods mt = { 0 };
  GError *err = NULL;
  if (!in || !out || calib->len == 0 || grid < 1 || frames < 1) {
    usage ();
    return 2;
  }
  if (sscanf (bits, "W%dA%d", &mt.wbits, &mt.abits) != 2 || mt.wbits < 2
      || mt.wbits > 8 || mt.abits < 2 || mt.abits > 8) {
    fprintf (stderr, "samseg-quantize: bad --bits '%s'\n", bits);
    return 2;
  }
  if (!parse_methods (methods, &mt, &err)) {
    fprintf (stderr, "samseg-quantize: %s\n", err->message);
    return 2;
  }
  guint p8_mask;
  if (!parse_p8 (p8_list, &p8_mask, &err)) {
    fprintf (stderr, "samseg-quantize: %s\n", err->message);
    return 2;
  }
  /* BIG and CAG act on the decoder's attention inputs only */
  const gboolean decoder_float = !quantize_decoder && !mt.big && !mt.cag;
  if (decoder_float)
    g_ptr_array_insert (keep_float, 0, (gpointer) DECODER_TRANSFORMER);
  GArray *clicks = g_array_new (FALSE, FALSE, sizeof (float));
  if (prompts) {
    gchar *txt;
    if (!g_file_get_contents (prompts, &txt, NULL, &err)) {
      fprintf (stderr, "samseg-quantize: %s\n", err->message);
      return 1;
    }
    gchar **lines = g_strsplit (txt, "\n", -1);
    for (int i = 0; lines[i]; i++) {
      float x, y;
      if (lines[i][0] == '#' || !*g_strstrip (lines[i]))
        continue;
      if (sscanf (lines[i], "%f %f", &x, &y) != 2) {
        fprintf (stderr, "samseg-quantize: %s:%d: expected 'x y'\n", prompts,
            i + 1);
        return 2;
      }
      g_array_append_val (clicks, x);
      g_array_append_val (clicks, y);
    }
    g_strfreev (lines);
    g_free (txt);
  }

  SamModel *m = sam_model_load (in, NULL, &err);
  if (!m) {
    fprintf (stderr, "samseg-quantize: %s\n", err->message);
    return 1;
  }
  if (sam_model_n_quantized (m)) {
    fprintf (stderr, "samseg-quantize: %s is already quantized\n", in);
    return 1;
  }
  if (!input_size)
    input_size = sam_model_default_input_size (m);
  /* (the observers own their names, the tables' keys) */
  Calib c = { g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        lin_obs_free), g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        att_obs_free), g_rand_new_with_seed (1234), FALSE
  };
  sam_model_set_observers (m, on_linear, on_attention, &c);
  int done = 0, total = frames * (int) calib->len;
  for (guint v = 0; v < calib->len; v++)
    if (!calibrate_video (m, &c, calib->pdata[v], input_size, frames, grid,
            clicks, threads, &done, total, &err)) {
      fprintf (stderr, "\nsamseg-quantize: %s: %s\n",
          (char *) calib->pdata[v], err->message);
      return 1;
    }
  sam_model_set_observers (m, NULL, NULL, NULL);

  /* ---- BIG: detect on token->image k_proj outputs, fold γ into q/k ---- */
  GHashTable *folded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);                  /* weight/bias name -> float copy */
  JsonBuilder *jb = json_builder_new ();
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "format");
  json_builder_add_string_value (jb, "samseg-quant/1");
  json_builder_set_member_name (jb, "bits");
  json_builder_add_string_value (jb, bits);
  json_builder_set_member_name (jb, "methods");
  json_builder_add_string_value (jb, methods);
  json_builder_set_member_name (jb, "calibration");
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "videos");
  json_builder_begin_array (jb);
  for (guint v = 0; v < calib->len; v++) {
    char *b = g_path_get_basename (calib->pdata[v]);
    json_builder_add_string_value (jb, b);
    g_free (b);
  }
  json_builder_end_array (jb);
  json_builder_set_member_name (jb, "frames");
  json_builder_add_int_value (jb, frames);
  json_builder_set_member_name (jb, "input_size");
  json_builder_add_int_value (jb, input_size);
  json_builder_set_member_name (jb, "prompts");
  if (clicks->len)
    json_builder_add_string_value (jb, prompts);
  else {
    char *g = g_strdup_printf ("grid %dx%d: click + box objects per cell on "
        "frame 0", grid, grid);
    json_builder_add_string_value (jb, g);
    g_free (g);
  }
  json_builder_end_object (jb);
  json_builder_set_member_name (jb, "float");
  json_builder_begin_array (jb);
  for (guint i = 0; i < G_N_ELEMENTS (float_modules); i++)
    json_builder_add_string_value (jb, float_modules[i]);
  for (guint i = 0; i < keep_float->len; i++) {
    char *f = decoder_float && i == 0 ?
        g_strdup (DECODER_TRANSFORMER "* (default; --quantize-decoder "
        "quantizes it)") :
        g_strdup_printf ("%s* (--float)", (char *) keep_float->pdata[i]);
    json_builder_add_string_value (jb, f);
    g_free (f);
  }
  for (guint i = 0; i < keep_float_att->len; i++) {
    char *f = g_strdup_printf ("%s* attention q, k, v and softmax "
        "(--float-attention)", (char *) keep_float_att->pdata[i]);
    json_builder_add_string_value (jb, f);
    g_free (f);
  }
  json_builder_end_array (jb);

  GPtrArray *lnames = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k, val;
  g_hash_table_iter_init (&it, c.lin);
  while (g_hash_table_iter_next (&it, &k, &val))
    g_ptr_array_add (lnames, k);
  g_ptr_array_sort (lnames, cmp_str);

  json_builder_set_member_name (jb, "big");
  json_builder_begin_array (jb);
  if (mt.big)
    for (guint i = 0; i < lnames->len; i++) {
      LinObs *o = g_hash_table_lookup (c.lin, lnames->pdata[i]);
      if (!o->yrows[0])
        continue;
      int ny;
      float *yr = stacked_rows (o, TRUE, MAX_ROWS, &ny);
      gboolean bimodal = sam_big_detect (yr, (int64_t) ny * o->N);
      float *gamma = g_new (float, o->N);
      sam_big_signs (yr, ny, o->N, gamma);
      int flips = 0;
      for (int ch = 0; ch < o->N; ch++)
        flips += gamma[ch] < 0;
      g_free (yr);
      fprintf (stderr, "big: %s: %s (%d of %d channels negative)\n", o->name,
          bimodal ? "bimodal, folded" : "not bimodal", flips, o->N);
      if (!bimodal) {
        g_free (gamma);
        continue;
      }
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "layer");
      json_builder_add_string_value (jb, o->name);
      json_builder_set_member_name (jb, "flipped");
      json_builder_add_int_value (jb, flips);
      json_builder_end_object (jb);
      char *A = g_strndup (o->name, strlen (o->name) - strlen (".k_proj"));
      const char *parts[2] = { "q_proj", "k_proj" };
      float *wb[4];
      for (int p = 0; p < 2; p++) {
        char *wn = g_strdup_printf ("%s.%s.weight", A, parts[p]);
        char *bn = g_strdup_printf ("%s.%s.bias", A, parts[p]);
        const SamW *w = sam_model_w (m, "%s", wn), *b = sam_model_w (m, "%s",
            bn);
        wb[2 * p] = g_memdup2 (w->data, sizeof (float) * w->numel);
        wb[2 * p + 1] = g_memdup2 (b->data, sizeof (float) * b->numel);
        g_hash_table_insert (folded, wn, wb[2 * p]);
        g_hash_table_insert (folded, bn, wb[2 * p + 1]);
      }
      sam_big_fold (gamma, o->N, o->K, wb[0], wb[1], wb[2], wb[3]);
      g_free (A);
      g_free (gamma);
    }
  json_builder_end_array (jb);

  SamStWriter *w = sam_st_writer_new ();
  json_builder_set_member_name (jb, "layers");
  json_builder_begin_object (jb);
  GHashTable *quantized = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, NULL);
  int n_q = 0;
  for (guint i = 0; i < lnames->len; i++) {
    LinObs *o = g_hash_table_lookup (c.lin, lnames->pdata[i]);
    if (!quantizable (o->name, keep_float))
      continue;
    char *wn = g_strdup_printf ("%s.weight", o->name);
    const SamW *sw = sam_model_w (m, "%s", wn);
    float *W = g_hash_table_lookup (folded, wn);
    W = g_memdup2 (W ? W : sw->data, sizeof (float) * o->N * o->K);
    const char *akind = "uniform per-tensor";
    float *cs = NULL, *cz = NULL;
    SamQParams ap = { 0 };
    SamHluqParams hp;
    gboolean use_hluq = mt.hluq && is_hluq_layer (o->name);
    gboolean use_cag = mt.cag && is_cag_layer (o->name) && !use_hluq;
    int nrows;
    float *rows = stacked_rows (o, FALSE, MAX_ROWS, &nrows);
    if (use_hluq) {
      /* the search on 32 rows of each stratum; the range (m, R) then
       * widened to every call's min / max (the sample misses the prompted
       * frame's extremes) */
      int nh;
      float *hr = stacked_rows (o, FALSE, 32, &nh);
      sam_hluq_search (hr, nh, o->K, W, o->N, mt.abits, &hp);
      g_free (hr);
      float top = hp.m + hp.R;
      hp.m = MIN (hp.m, o->gmin);
      hp.R = MAX (top, o->gmax) - hp.m;
      akind = "HLUQ (hybrid log-uniform, simulated)";
    } else if (use_cag) {
      /* k-means on the per-channel (s, z) of every call's per-channel
       * extremes (a two-row "sample": the min row and the max row); each
       * group's range is the union of its channels' ranges (the code's
       * centroid would clip half the channels without the LSQ training of
       * block reconstruction, which samseg does not run) */
      float *ext = g_new (float, 2 * (size_t) o->K);
      memcpy (ext, o->cmin, sizeof (float) * o->K);
      memcpy (ext + o->K, o->cmax, sizeof (float) * o->K);
      SamCag *cg = sam_cag_fit (ext, 2, o->K, mt.abits, 4, 7);
      g_free (ext);
      float glo[4] = { 0, 0, 0, 0 }, ghi[4] = { 0, 0, 0, 0 };
      for (int ch = 0; ch < o->K; ch++) {
        int g = cg->label[ch];
        glo[g] = MIN (glo[g], o->cmin[ch]);
        ghi[g] = MAX (ghi[g], o->cmax[ch]);
      }
      cs = g_new (float, o->K);
      cz = g_new (float, o->K);
      for (int ch = 0; ch < o->K; ch++) {
        int g = cg->label[ch];
        SamQParams gp = sam_qparams_from_range (glo[g], ghi[g], mt.abits,
            false);
        cs[ch] = gp.scale;
        cz[ch] = (float) gp.zero;
      }
      sam_cag_free (cg);
      akind = "CAG 4 groups (per-channel codes, scales folded in weights)";
    } else
      ap = act_params (o, &mt);
    gboolean acnr_done = FALSE;
    if (mt.acnr && sw->ndim == 2 && !use_hluq) {
      /* dX = X - Q(X) on the row sample (the code's X_fp - Q(X_q) with the
       * float model's inputs: one pass) */
      float *dX = g_new (float, (size_t) nrows * o->K);
      for (int64_t r = 0; r < nrows; r++)
        for (int ch = 0; ch < o->K; ch++) {
          float x = rows[r * o->K + ch];
          SamQParams pp = ap;
          if (cs) {
            pp = (SamQParams) {
            cs[ch], (int32_t) cz[ch], 0, (1 << mt.abits) - 1};
          }
          dX[r * o->K + ch] = x - sam_fake_quant (x, &pp);
        }
      SamAcnrParams acp;
      sam_acnr_params_init (&acp);
      double kb = 0, ka = 0;
      acnr_done = sam_acnr_apply (W, o->N, o->K, dX, nrows, &acp, &kb,
          &ka) == 1;
      if (acnr_done)
        fprintf (stderr, "acnr: %s kappa %.1f -> %.1f\n", o->name, kb, ka);
      g_free (dX);
    }
    if (cs)
      for (int n = 0; n < o->N; n++)
        for (int ch = 0; ch < o->K; ch++)
          W[(int64_t) n * o->K + ch] *= cs[ch];
    int8_t *wq = g_new (int8_t, (size_t) o->N * o->K);
    float *ws = g_new (float, o->N);
    quant_weights (W, o->N, o->K, &mt, wq, ws);
    sam_st_writer_add (w, wn, SAM_DTYPE_I8, sw->ndim, sw->shape, wq);
    char nm[300];
    g_snprintf (nm, sizeof nm, "%s#scale", wn);
    add_f32 (w, nm, o->N, ws);
    if (use_hluq) {
      float p[5] = { hp.m, hp.R, hp.r, hp.g, (float) hp.bits };
      g_snprintf (nm, sizeof nm, "%s.input#hluq", o->name);
      add_f32 (w, nm, 5, p);
    } else if (cs) {
      float b = (float) mt.abits;
      g_snprintf (nm, sizeof nm, "%s.input#scale", o->name);
      add_f32 (w, nm, o->K, cs);
      g_snprintf (nm, sizeof nm, "%s.input#zero", o->name);
      add_f32 (w, nm, o->K, cz);
      g_snprintf (nm, sizeof nm, "%s.input#bits", o->name);
      add_f32 (w, nm, 1, &b);
    } else {
      float p[3] = { ap.scale, (float) ap.zero, (float) mt.abits };
      g_snprintf (nm, sizeof nm, "%s.input#qparams", o->name);
      add_f32 (w, nm, 3, p);
    }
    json_builder_set_member_name (jb, o->name);
    json_builder_begin_object (jb);
    json_builder_set_member_name (jb, "weight");
    char *wd = g_strdup_printf ("s%d symmetric per-output-channel, %s%s",
        mt.wbits, wminmax (&mt) ? "minmax" : "mse p=2",
        acnr_done ? ", acnr" : "");
    json_builder_add_string_value (jb, wd);
    g_free (wd);
    json_builder_set_member_name (jb, "input");
    char *ad = g_strdup_printf ("u%d asymmetric %s%s%s", mt.abits, akind,
        use_hluq || use_cag ? "" : ", ", use_hluq || use_cag ? "" :
        base_name (mt.base));
    json_builder_add_string_value (jb, ad);
    g_free (ad);
    json_builder_set_member_name (jb, "wbits");
    json_builder_add_int_value (jb, mt.wbits);
    json_builder_set_member_name (jb, "abits");
    json_builder_add_int_value (jb, mt.abits);
    json_builder_end_object (jb);
    g_hash_table_add (quantized, wn);
    g_free (wq);
    g_free (ws);
    g_free (cs);
    g_free (cz);
    g_free (W);
    g_free (rows);
    n_q++;
  }
  json_builder_end_object (jb);

  /* ---- attention quantizers ---- */
  json_builder_set_member_name (jb, "attention");
  json_builder_begin_object (jb);
  GPtrArray *anames = g_ptr_array_new ();
  guint n_att = 0;
  g_hash_table_iter_init (&it, c.att);
  while (g_hash_table_iter_next (&it, &k, &val))
    g_ptr_array_add (anames, k);
  g_ptr_array_sort (anames, cmp_str);
  for (guint i = 0; i < anames->len; i++) {
    AttObs *o = g_hash_table_lookup (c.att, anames->pdata[i]);
    if (kept_float (o->name, keep_float)
        || kept_float (o->name, keep_float_att))
      continue;
    n_att++;
    gboolean hiera = g_str_has_prefix (o->name, "image_encoder.");
    char nm[300];
    json_builder_set_member_name (jb, o->name);
    json_builder_begin_object (jb);
    /* q, k, v after projection: per tensor (AHCQ-SAM places quantizers
     * there; BIG acts on k) */
    float qkv[7];
    for (int t = 0; t < 3; t++) {
      SamQParams p = vals_params (o, t, &mt);
      qkv[2 * t] = p.scale;
      qkv[2 * t + 1] = (float) p.zero;
    }
    qkv[6] = (float) mt.abits;
    g_snprintf (nm, sizeof nm, "%s#qkv", o->name);
    add_f32 (w, nm, 7, qkv);
    /* the memory cross-attention ran with P·V in the memory space (the
     * engine's v_late order: v = memory, v_proj after): its v quantizer
     * and v_proj's input were calibrated there, so the file says so */
    if (o->Dv < o->D) {
      const float one = 1.f;
      g_snprintf (nm, sizeof nm, "%s#vlate", o->name);
      add_f32 (w, nm, 1, &one);
    }
    /* P·V with 8-bit P (--p8) */
    const gboolean p8 = p8_for (p8_mask, o->name);
    if (p8) {
      const float one = 1.f;
      g_snprintf (nm, sizeof nm, "%s#p8", o->name);
      add_f32 (w, nm, 1, &one);
    }
    json_builder_set_member_name (jb, "p");
    json_builder_add_string_value (jb, p8 ? "8-bit" : "15-bit");
    json_builder_set_member_name (jb, "qkv");
    char *d = g_strdup_printf ("u%d per-tensor %s", mt.abits,
        base_name (mt.base));
    json_builder_add_string_value (jb, d);
    g_free (d);
    float *A, *V;
    int64_t rows;
    int n, dv;
    json_builder_set_member_name (jb, "softmax");
    if (o->n && (mt.agq || mt.lnq || mt.drq)
        && !windowed_attention (m, o->name)) {
      stack_samples (o, &A, &V, &rows, &n, &dv);
      if (hiera && mt.lnq) {
        SamLnqParams lp;
        sam_lnq_search (A, rows, n, V, dv, mt.abits, &lp);
        float p[3] = { lp.s, lp.alpha, (float) mt.abits };
        g_snprintf (nm, sizeof nm, "%s#lnq", o->name);
        add_f32 (w, nm, 3, p);
        d = g_strdup_printf ("LNQ %d-bit alpha %g s %g", mt.abits, lp.alpha,
            lp.s);
      } else if (mt.drq) {
        SamDrqSoftmaxParams dp;
        sam_drq_softmax_search (A, rows, n, V, dv, mt.abits, &dp);
        float p[2] = { dp.split, (float) mt.abits };
        g_snprintf (nm, sizeof nm, "%s#drq", o->name);
        add_f32 (w, nm, 2, p);
        d = g_strdup_printf ("DRQ %d-bit split %g", mt.abits, dp.split);
      } else if (mt.agq) {
        SamAgqParams gp;
        sam_agq_search (A, rows, n, V, dv, mt.abits, &gp, NULL);
        float p[3] = { gp.s, (float) gp.tau, (float) mt.abits };
        g_snprintf (nm, sizeof nm, "%s#agq", o->name);
        add_f32 (w, nm, 3, p);
        d = g_strdup_printf ("AGQ %d-bit tau %d s %g", mt.abits, gp.tau, gp.s);
      } else
        d = g_strdup ("float");
      json_builder_add_string_value (jb, d);
      g_free (d);
      g_free (A);
      g_free (V);
    } else
      json_builder_add_string_value (jb, "float");
    json_builder_end_object (jb);
  }
  json_builder_end_object (jb);
  json_builder_end_object (jb);

  /* float tensors (folded where BIG changed them), in file order */
  SamSafetensors *st = m->st;
  for (int i = 0; i < sam_safetensors_n_tensors (st); i++) {
    const SamStTensor *t = sam_safetensors_tensor (st, i);
    if (g_hash_table_contains (quantized, t->name))
      continue;
    const SamW *sw = sam_model_w (m, "%s", t->name);
    const float *f = g_hash_table_lookup (folded, t->name);
    if (f || t->dtype == SAM_DTYPE_F32)
      sam_st_writer_add (w, t->name, SAM_DTYPE_F32, t->ndim, t->shape,
          f ? f : sw->data);
    else
      sam_st_writer_add (w, t->name, t->dtype, t->ndim, t->shape, t->data);
  }
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (jb);
  json_generator_set_root (gen, root);
  gchar *meta = json_generator_to_data (gen, NULL);
  sam_st_writer_add_metadata (w, "samseg.quant", meta);
  if (!sam_st_writer_write (w, out, &err)) {
    fprintf (stderr, "samseg-quantize: %s\n", err->message);
    return 1;
  }
  fprintf (stderr, "samseg-quantize: %s: %d linears and %u attentions "
      "quantized (%s, %s)\n", out, n_q, n_att, bits, methods);
  g_free (meta);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (jb);
  sam_st_writer_free (w);
  g_ptr_array_free (anames, TRUE);
  g_ptr_array_free (lnames, TRUE);
  g_hash_table_unref (quantized);
  g_hash_table_unref (folded);
  g_hash_table_unref (c.lin);
  g_hash_table_unref (c.att);
  g_rand_free (c.rng);
  g_array_free (clicks, TRUE);
  g_ptr_array_free (calib, TRUE);
  sam_model_unref (m);
  return 0;
}
