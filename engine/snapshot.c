/* snapshot.c — sam_session_save/_load: the whole tracking state of a
 * session in a versioned safetensors file, and the model fingerprint that
 * ties a snapshot to its weights.
 *
 * File: safetensors (engine/core/safetensors.h), __metadata__:
 *   format       "samseg-session"
 *   version      "1"
 *   model_variant, model_fingerprint (16 hex digits, sam_model_fingerprint)
 *   state        JSON: parameters, frame counter, prompt counter, frame
 *                size, tap call counters, objects in creation order (id,
 *                pending prompt count, prompt order, is_cond)
 *   checksum     FNV-1a 64 over the fields above and every tensor (name,
 *                dtype, shape, bytes) in name order
 * tensors (per object i, in creation order):
 *   obj{i}.bank            U8  sam_memory_bank_serialize() blob
 *   obj{i}.low_res         F32 [S/4, S/4]  last low-res mask logits
 *   obj{i}.obj_ptr         F32 [256]       last object pointer
 *   obj{i}.scores          F32 [2]         last object score, IoU
 *   obj{i}.pending_xy      F32 [n, 2]      prompt for the next frame (if any)
 *   obj{i}.pending_labels  I32 [n]
 *   maskmem_pos            F32 [S/16 * S/16, 64] (once a memory was encoded)
 * Floats travel as tensors, never through JSON, so a restored session
 * continues bit for bit. Frame-resolution logits of the last frame are not
 * saved: they are recomputed on the next frame and results from before a
 * load are not readable anyway.
 */
#include "session-private.h"
#include "snapshot-private.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_FORMAT "samseg-session"
#define SNAPSHOT_VERSION 1

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* (not inlined: fuzz/coverage-ignorelist.txt names it) */
static G_GNUC_NO_INLINE guint64
fnv (guint64 h, const void *data, gsize n)
{
  const guint8 *p = data;
  for (gsize i = 0; i < n; i++) {
    h ^= p[i];
    h *= FNV_PRIME;
  }
  return h;
}

static guint64
fnv_str (guint64 h, const char *s)
{
  return fnv (h, s, strlen (s) + 1);
}

/* ---- model fingerprint ------------------------------------------------ */

typedef struct {
  const SamModel *m;
  guint64 h;
} FpCtx;

#define FP_SPAN 256             /* floats hashed at the start, middle, end */

static void
fp_one (const char *name, int ndim, const int64_t * shape, void *ud)
{
  FpCtx *c = ud;
  const SamW *w = g_hash_table_lookup (c->m->tensors, name);
  c->h = fnv_str (c->h, name);
  c->h = fnv (c->h, &ndim, sizeof ndim);
  c->h = fnv (c->h, shape, sizeof (int64_t) * ndim);
  if (!w)
    return;
  if (!w->data) {
    /* an int8 weight of a quantized model: its bytes and its scales */
    const SamStTensor *t = sam_safetensors_find (c->m->st, name);
    char sn[300];
    g_snprintf (sn, sizeof sn, "%s#scale", name);
    const SamStTensor *s = sam_safetensors_find (c->m->st, sn);
    gsize n = MIN (t->nbytes, (gsize) 4 * FP_SPAN);
    c->h = fnv (c->h, t->data, n);
    c->h = fnv (c->h, (const guint8 *) t->data + t->nbytes - n, n);
    if (s)
      c->h = fnv (c->h, s->data, s->nbytes);
    return;
  }
  if (w->numel <= 3 * FP_SPAN) {
    c->h = fnv (c->h, w->data, sizeof (float) * w->numel);
  } else {
    c->h = fnv (c->h, w->data, sizeof (float) * FP_SPAN);
    c->h = fnv (c->h, w->data + w->numel / 2, sizeof (float) * FP_SPAN);
    c->h = fnv (c->h, w->data + w->numel - FP_SPAN, sizeof (float) * FP_SPAN);
  }
}

/* The weights never change after load, so the hash (a few ms) is computed
 * once and kept in the model: every save and load asks for it. Threads
 * that ask at the same time may both compute it; they store the same
 * value, atomically. */
guint64
sam_model_fingerprint (const SamModel * m)
{
  g_return_val_if_fail (m != NULL, 0);
  guint64 h = __atomic_load_n (&m->fingerprint, __ATOMIC_RELAXED);
  if (h)
    return h;
  FpCtx c = { m, FNV_OFFSET };
  c.h = fnv_str (c.h, m->hp.variant);
  sam_manifest_foreach (&m->hp, fp_one, &c);
  __atomic_store_n (&((SamModel *) m)->fingerprint, c.h, __ATOMIC_RELAXED);
  return c.h;
}

/* ---- checksum --------------------------------------------------------- */

typedef struct {
  const char *name;
  SamDtype dtype;
  int ndim;
  const int64_t *shape;
  const void *data;
  gsize nbytes;
} TensorRef;

static int
cmp_ref (gconstpointer a, gconstpointer b)
{
  return strcmp (((const TensorRef *) a)->name, ((const TensorRef *) b)->name);
}

static guint64
checksum (const char *variant, const char *fingerprint, const char *state,
    GArray * refs)
{
  guint64 h = FNV_OFFSET;
  h = fnv_str (h, SNAPSHOT_FORMAT);
  h = fnv_str (h, variant);
  h = fnv_str (h, fingerprint);
  h = fnv_str (h, state);
  g_array_sort (refs, cmp_ref);
  for (guint i = 0; i < refs->len; i++) {
    const TensorRef *r = &g_array_index (refs, TensorRef, i);
    gint32 dt = r->dtype, nd = r->ndim;
    h = fnv_str (h, r->name);
    h = fnv (h, &dt, sizeof dt);
    h = fnv (h, &nd, sizeof nd);
    h = fnv (h, r->shape, sizeof (int64_t) * r->ndim);
    h = fnv (h, r->data, r->nbytes);
  }
  return h;
}

guint64
sam_snapshot_checksum (const SamSafetensors * st, const char *variant,
    const char *fingerprint, const char *state)
{
  GArray *refs = g_array_new (FALSE, FALSE, sizeof (TensorRef));
  for (int i = 0; i < sam_safetensors_n_tensors (st); i++) {
    const SamStTensor *t = sam_safetensors_tensor (st, i);
    TensorRef r = { t->name, t->dtype, t->ndim, t->shape, t->data, t->nbytes };
    g_array_append_val (refs, r);
  }
  guint64 h = checksum (variant, fingerprint, state, refs);
  g_array_unref (refs);
  return h;
}

/* ---- save ------------------------------------------------------------- */

typedef struct {
  SamStWriter *w;
  GArray *refs;                 /* TensorRef; data owned by @keep */
  GPtrArray *keep;
} Out;

static void
out_add (Out * o, const char *name, SamDtype dtype, int ndim,
    const int64_t * shape, const void *data)
{
  gsize n = sam_dtype_size (dtype);
  int64_t *shape_copy = g_memdup2 (shape, sizeof (int64_t) * ndim);
  for (int i = 0; i < ndim; i++)
    n *= (gsize) shape[i];
  char *name_copy = g_strdup (name);
  g_ptr_array_add (o->keep, name_copy);
  g_ptr_array_add (o->keep, shape_copy);
  TensorRef r = { name_copy, dtype, ndim, shape_copy, data, n };
  g_array_append_val (o->refs, r);
  sam_st_writer_add (o->w, name, dtype, ndim, shape, data);
}

static char *
state_json (const SamSession * s)
{
  const SamSessionParams *p = &s->params;
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
#define INT(key, v) (json_builder_set_member_name (b, key), \
    json_builder_add_int_value (b, (gint64) (v)))
  INT ("input_size", s->S);
  INT ("num_maskmem", p->num_maskmem);
  INT ("max_cond_frames", p->max_cond_frames);
  INT ("max_obj_ptrs", p->max_obj_ptrs);
  INT ("num_frames", p->num_frames);
  INT ("memory_precision", p->memory_precision);
  INT ("frame_index", s->frame_index);
  INT ("prompt_counter", s->prompt_counter);
  INT ("frame_width", s->frame_w);
  INT ("frame_height", s->frame_h);
  INT ("have_maskmem_pos", s->have_maskmem_pos);
  INT ("heads_calls", s->n_heads_calls);
  INT ("memattn_calls", s->n_memattn_calls);
  INT ("memenc_calls", s->n_memenc_calls);
  json_builder_set_member_name (b, "objects");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->objects->len; i++) {
    const SamObject *o = s->objects->pdata[i];
    json_builder_begin_object (b);
    INT ("id", o->id);
    INT ("n_pending", o->n_pending);
    INT ("prompt_order", o->prompt_order);
    INT ("is_cond", o->is_cond);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
#undef INT
  json_builder_end_object (b);
  JsonGenerator *g = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (g, root);
  char *txt = json_generator_to_data (g, NULL);
  json_node_unref (root);
  g_object_unref (g);
  g_object_unref (b);
  return txt;
}

/* The snapshot of @s in a writer, ready to write (NULL if poisoned). */
static SamStWriter *
snapshot_writer (SamSession * s, GError ** error)
{
  if (s->poisoned) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_BAD_STATE,
        "cannot save a session that failed; call sam_session_reset()");
    return NULL;
  }
  Out o = { sam_st_writer_new (), g_array_new (FALSE, FALSE,
          sizeof (TensorRef)), g_ptr_array_new_with_free_func (g_free)
  };
  const int L = s->S / 4, H2 = s->S / 16;
  char name[64];
  for (guint i = 0; i < s->objects->len; i++) {
    const SamObject *ob = s->objects->pdata[i];
    gsize len = sam_memory_bank_serialize (ob->bank, NULL, 0);
    guint8 *blob = g_malloc (len);
    sam_memory_bank_serialize (ob->bank, blob, len);
    g_ptr_array_add (o.keep, blob);
    int64_t sh[2] = { (int64_t) len, 0 };
    g_snprintf (name, sizeof name, "obj%u.bank", i);
    out_add (&o, name, SAM_DTYPE_U8, 1, sh, blob);
    sh[0] = sh[1] = L;
    g_snprintf (name, sizeof name, "obj%u.low_res", i);
    out_add (&o, name, SAM_DTYPE_F32, 2, sh, ob->low_res);
    sh[0] = SAM_HIDDEN;
    g_snprintf (name, sizeof name, "obj%u.obj_ptr", i);
    out_add (&o, name, SAM_DTYPE_F32, 1, sh, ob->obj_ptr);
    float *scores = g_new (float, 2);
    scores[0] = ob->object_score;
    scores[1] = ob->iou;
    g_ptr_array_add (o.keep, scores);
    sh[0] = 2;
    g_snprintf (name, sizeof name, "obj%u.scores", i);
    out_add (&o, name, SAM_DTYPE_F32, 1, sh, scores);
    if (ob->n_pending > 0) {
      sh[0] = ob->n_pending;
      sh[1] = 2;
      g_snprintf (name, sizeof name, "obj%u.pending_xy", i);
      out_add (&o, name, SAM_DTYPE_F32, 2, sh, ob->pending_xy);
      g_snprintf (name, sizeof name, "obj%u.pending_labels", i);
      out_add (&o, name, SAM_DTYPE_I32, 1, sh, ob->pending_labels);
    }
  }
  if (s->have_maskmem_pos) {
    int64_t sh[2] = { (int64_t) H2 * H2, SAM_MEM_DIM };
    out_add (&o, "maskmem_pos", SAM_DTYPE_F32, 2, sh, s->maskmem_pos);
  }
  char *state = state_json (s);
  char *fp = g_strdup_printf ("%016" G_GINT64_MODIFIER "x",
      sam_model_fingerprint (s->model));
  char *version = g_strdup_printf ("%d", SNAPSHOT_VERSION);
  char *sum = g_strdup_printf ("%016" G_GINT64_MODIFIER "x",
      checksum (s->model->hp.variant, fp, state, o.refs));
  sam_st_writer_add_metadata (o.w, "format", SNAPSHOT_FORMAT);
  sam_st_writer_add_metadata (o.w, "version", version);
  sam_st_writer_add_metadata (o.w, "model_variant", s->model->hp.variant);
  sam_st_writer_add_metadata (o.w, "model_fingerprint", fp);
  sam_st_writer_add_metadata (o.w, "state", state);
  sam_st_writer_add_metadata (o.w, "checksum", sum);
  g_free (sum);
  g_free (version);
  g_free (fp);
  g_free (state);
  g_array_unref (o.refs);
  g_ptr_array_unref (o.keep);   /* the writer copied the tensors */
  return o.w;
}

gboolean
sam_session_save (SamSession * s, const gchar * path, GError ** error)
{
  g_return_val_if_fail (s != NULL && path != NULL, FALSE);
  SamStWriter *w = snapshot_writer (s, error);
  if (!w)
    return FALSE;
  gboolean ok = sam_st_writer_write (w, path, error);
  sam_st_writer_free (w);
  return ok;
}

guint8 *
sam_session_save_to_data (SamSession * s, gsize * len, GError ** error)
{
  g_return_val_if_fail (s != NULL && len != NULL, NULL);
  SamStWriter *w = snapshot_writer (s, error);
  if (!w)
    return NULL;
  guint8 *data = sam_st_writer_to_data (w, len);
  sam_st_writer_free (w);
  return data;
}

/* ---- load ------------------------------------------------------------- */

static gboolean
bad (GError ** error, const char *path, const char *what)
{
  g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
      "%s: corrupt session snapshot (%s)", path, what);
  return FALSE;
}

static gboolean
get_int (JsonObject * o, const char *key, gint64 lo, gint64 hi, gint64 * v)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *v = json_node_get_int (n);
  return *v >= lo && *v <= hi;
}

/* The tensor @name with @dtype and exactly @numel elements, or NULL. */
static const SamStTensor *
need (const SamSafetensors * st, const char *name, SamDtype dtype,
    int64_t numel)
{
  const SamStTensor *t = sam_safetensors_find (st, name);
  if (!t || t->dtype != dtype || (numel >= 0 && t->numel != numel))
    return NULL;
  return t;
}

static gboolean
check_header (const SamSafetensors * st, const SamModel * m,
    const char *path, GError ** error)
{
  const char *format = sam_safetensors_metadata (st, "format");
  const char *version = sam_safetensors_metadata (st, "version");
  const char *variant = sam_safetensors_metadata (st, "model_variant");
  const char *fp = sam_safetensors_metadata (st, "model_fingerprint");
  const char *state = sam_safetensors_metadata (st, "state");
  const char *sum = sam_safetensors_metadata (st, "checksum");
  if (!format || strcmp (format, SNAPSHOT_FORMAT) != 0) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: not a samseg session snapshot (no format \"%s\" in its "
        "metadata)", path, SNAPSHOT_FORMAT);
    return FALSE;
  }
  gchar *end = NULL;
  gint64 v = version ? g_ascii_strtoll (version, &end, 10) : -1;
  if (!version || *end || v != SNAPSHOT_VERSION) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: session snapshot format version %s; this build reads version "
        "%d", path, version ? version : "(none)", SNAPSHOT_VERSION);
    return FALSE;
  }
  if (!variant || !fp || !state || !sum)
    return bad (error, path, "metadata incomplete");
  char *want = g_strdup_printf ("%016" G_GINT64_MODIFIER "x",
      sam_snapshot_checksum (st, variant, fp, state));
  gboolean same = strcmp (want, sum) == 0;
  g_free (want);
  if (!same)
    return bad (error, path, "checksum mismatch");
  if (strcmp (variant, m->hp.variant) != 0) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
        "%s: snapshot of a SAM 2.1 %s session; this model is %s", path,
        variant, m->hp.variant);
    return FALSE;
  }
  char *ours = g_strdup_printf ("%016" G_GINT64_MODIFIER "x",
      sam_model_fingerprint (m));
  same = strcmp (ours, fp) == 0;
  if (!same)
    g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
        "%s: snapshot taken with other weights (model fingerprint %s; this "
        "model's is %s)", path, fp, ours);
  g_free (ours);
  return same;
}

static gboolean
load_object (SamSession * s, const SamSafetensors * st, guint i,
    JsonObject * jo, const char *path, GError ** error)
{
  gint64 id, n_pending, order, is_cond;
  if (!get_int (jo, "id", 0, G_MAXUINT32, &id)
      || !get_int (jo, "n_pending", 0, SAM_MAX_POINTS_PER_PROMPT + 2,
          &n_pending)
      || !get_int (jo, "prompt_order", 0, G_MAXINT64, &order)
      || !get_int (jo, "is_cond", 0, 1, &is_cond))
    return bad (error, path, "object record");
  if (sam_session_find_object (s, (guint32) id))
    return bad (error, path, "an object id twice");
  const int L = s->S / 4;
  char name[64];
#define NEED(var, fmt, dtype, numel) \
  (g_snprintf (name, sizeof name, fmt, i), \
   (var = need (st, name, dtype, numel)) != NULL)
  const SamStTensor *tb, *tl, *tp, *ts, *txy = NULL, *tlab = NULL;
  if (!NEED (tb, "obj%u.bank", SAM_DTYPE_U8, -1)
      || !NEED (tl, "obj%u.low_res", SAM_DTYPE_F32, (int64_t) L * L)
      || !NEED (tp, "obj%u.obj_ptr", SAM_DTYPE_F32, SAM_HIDDEN)
      || !NEED (ts, "obj%u.scores", SAM_DTYPE_F32, 2)
      || (n_pending > 0
          && (!NEED (txy, "obj%u.pending_xy", SAM_DTYPE_F32, 2 * n_pending)
              || !NEED (tlab, "obj%u.pending_labels", SAM_DTYPE_I32,
                  n_pending))))
    return bad (error, path, "object tensors missing or misshapen");
#undef NEED
  SamObject *o = sam_object_new (s, (guint32) id);
  g_ptr_array_add (s->objects, o);
  if (!sam_memory_bank_deserialize (o->bank, tb->data, tb->nbytes)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: the memory bank of object %u does not match the saved "
        "parameters or is malformed", path, (guint32) id);
    return FALSE;
  }
  /* The mapping need not be aligned: copy bytes. */
  memcpy (o->low_res, tl->data, tl->nbytes);
  memcpy (o->obj_ptr, tp->data, tp->nbytes);
  float sc[2];
  memcpy (sc, ts->data, sizeof sc);
  o->object_score = sc[0];
  o->iou = sc[1];
  o->is_cond = (gboolean) is_cond;
  o->n_pending = (int) n_pending;
  o->prompt_order = (guint64) order;
  if (n_pending > 0) {
    memcpy (o->pending_xy, txy->data, txy->nbytes);
    memcpy (o->pending_labels, tlab->data, tlab->nbytes);
  }
  return TRUE;
}

/* The session in the opened snapshot @st (closed here); @path names it in
 * messages. */
static SamSession *
load_snapshot (SamModel * m, SamSafetensors * st, const gchar * path,
    const SamSessionParams * p, GError ** error)
{
  GError *err = NULL;
  SamSession *s = NULL;
  JsonParser *parser = json_parser_new ();
  if (!check_header (st, m, path, error))
    goto fail;
  const char *state = sam_safetensors_metadata (st, "state");
  if (sam_json_depth (state, strlen (state), SAM_ST_MAX_JSON_DEPTH) >
      SAM_ST_MAX_JSON_DEPTH) {
    bad (error, path, "state nests too deep");
    goto fail;
  }
  if (!json_parser_load_from_data (parser, state, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    bad (error, path, "state is not JSON");
    goto fail;
  }
  JsonObject *js = json_node_get_object (json_parser_get_root (parser));
  SamSessionParams sp;
  sam_session_params_init (&sp);
  if (p) {
    SamSessionParams given;
    sam_session_params_init (&given);
    memcpy (&given, p, MIN (p->size ? p->size : sizeof given, sizeof given));
    sp.n_threads = given.n_threads;
    sp.max_objects = given.max_objects;
    sp.frame_logits = given.frame_logits;
  }
  /* *INDENT-OFF* */
  static const struct { const char *key; gint64 lo, hi; } fields[] = {
    { "input_size", 1, G_MAXINT32 }, { "num_maskmem", 1, G_MAXINT32 },
    { "max_cond_frames", 1, G_MAXINT32 }, { "max_obj_ptrs", 1, G_MAXINT32 },
    { "num_frames", 0, G_MAXINT64 }, { "memory_precision", 0, G_MAXINT32 },
    { "frame_index", 0, G_MAXINT64 }, { "prompt_counter", 0, G_MAXINT64 },
    { "frame_width", 0, 16384 }, { "frame_height", 0, 16384 },
    { "have_maskmem_pos", 0, 1 }, { "heads_calls", 0, G_MAXINT32 },
    { "memattn_calls", 0, G_MAXINT32 }, { "memenc_calls", 0, G_MAXINT32 },
  };
  /* *INDENT-ON* */
  gint64 v[G_N_ELEMENTS (fields)];
  for (guint k = 0; k < G_N_ELEMENTS (fields); k++)
    if (!get_int (js, fields[k].key, fields[k].lo, fields[k].hi, &v[k])) {
      bad (error, path, fields[k].key);
      goto fail;
    }
  sp.input_size = (gint) v[0];
  sp.num_maskmem = (gint) v[1];
  sp.max_cond_frames = (gint) v[2];
  sp.max_obj_ptrs = (gint) v[3];
  sp.num_frames = v[4];
  sp.memory_precision = (gint) v[5];
  JsonNode *objs = json_object_get_member (js, "objects");
  if (!objs || !JSON_NODE_HOLDS_ARRAY (objs)) {
    bad (error, path, "no object list");
    goto fail;
  }
  JsonArray *ja = json_node_get_array (objs);
  /* Validates the saved parameters against this model. */
  if (!(s = sam_session_new (m, &sp, &err))) {
    g_propagate_prefixed_error (error, err, "%s: ", path);
    goto fail;
  }
  if ((gint) json_array_get_length (ja) > s->params.max_objects) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_LIMIT,
        "%s: the snapshot tracks %u objects, more than max_objects = %d",
        path, json_array_get_length (ja), s->params.max_objects);
    goto fail;
  }
  for (guint i = 0; i < json_array_get_length (ja); i++) {
    JsonNode *n = json_array_get_element (ja, i);
    if (!JSON_NODE_HOLDS_OBJECT (n)) {
      bad (error, path, "object record");
      goto fail;
    }
    if (!load_object (s, st, i, json_node_get_object (n), path, error))
      goto fail;
  }
  s->frame_index = (guint64) v[6];
  s->prompt_counter = (guint64) v[7];
  s->frame_w = (int) v[8];
  s->frame_h = (int) v[9];
  s->n_heads_calls = (int) v[11];
  s->n_memattn_calls = (int) v[12];
  s->n_memenc_calls = (int) v[13];
  if (v[10]) {
    const int H2 = s->S / 16;
    const SamStTensor *t = need (st, "maskmem_pos", SAM_DTYPE_F32,
        (int64_t) H2 * H2 * SAM_MEM_DIM);
    if (!t) {
      bad (error, path, "maskmem_pos missing or misshapen");
      goto fail;
    }
    memcpy (s->maskmem_pos, t->data, t->nbytes);
    s->have_maskmem_pos = TRUE;
  }
  g_object_unref (parser);
  sam_safetensors_close (st);
  return s;

fail:
  sam_session_free (s);
  g_object_unref (parser);
  sam_safetensors_close (st);
  return NULL;
}

SamSession *
sam_session_load (SamModel * m, const gchar * path,
    const SamSessionParams * p, GError ** error)
{
  g_return_val_if_fail (m != NULL && path != NULL, NULL);
  GError *err = NULL;
  SamSafetensors *st = sam_safetensors_open (path, &err);
  if (!st) {
    g_propagate_prefixed_error (error, err,
        "cannot read session snapshot: ");
    return NULL;
  }
  return load_snapshot (m, st, path, p, error);
}

SamSession *
sam_session_load_from_data (SamModel * m, const void *data, gsize len,
    const SamSessionParams * p, GError ** error)
{
  g_return_val_if_fail (m != NULL && (data != NULL || len == 0), NULL);
  GError *err = NULL;
  SamSafetensors *st = sam_safetensors_open_memory (data, len, &err);
  if (!st) {
    g_propagate_prefixed_error (error, err,
        "cannot read session snapshot: ");
    return NULL;
  }
  return load_snapshot (m, st, "snapshot in memory", p, error);
}
