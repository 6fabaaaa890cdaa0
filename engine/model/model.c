/* model.c — load a SAM 2.1 model from safetensors, detect its variant from
 * tensor shapes, validate every tensor, expose float32 views.
 *
 * F32 tensors that are 4-byte aligned in the mapping are used in place;
 * F16/BF16 (and unaligned F32) are converted once into owned buffers.
 */
#include "model.h"
#include "quantized.h"

#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK (sam - error - quark, sam_error);

void
sam_model_params_init (SamModelParams * p)
{
  memset (p, 0, sizeof *p);
  p->size = sizeof *p;
}

typedef struct {
  SamModel *m;
  GError **error;
  gboolean failed;
  GHashTable *expected;         /* names seen in manifest */
} LoadCtx;

static char *
shape_str (int ndim, const int64_t * shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
load_one (const char *name, int ndim, const int64_t * shape, void *ud)
{
  LoadCtx *c = ud;
  if (c->failed)
    return;
  g_hash_table_add (c->expected, g_strdup (name));
  const SamStTensor *t = sam_safetensors_find (c->m->st, name);
  if (!t) {
    g_set_error (c->error, SAM_ERROR, SAM_ERROR_SHAPE,
        "%s: missing tensor '%s' (a SAM 2.1 %s model needs it)",
        sam_safetensors_path (c->m->st), name, c->m->hp.variant);
    c->failed = TRUE;
    return;
  }
  gboolean same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = t->shape[i] == shape[i];
  if (!same) {
    char *got = shape_str (t->ndim, t->shape), *want = shape_str (ndim, shape);
    g_set_error (c->error, SAM_ERROR, SAM_ERROR_SHAPE,
        "%s: tensor '%s' has shape %s, expected %s for SAM 2.1 %s",
        sam_safetensors_path (c->m->st), name, got, want, c->m->hp.variant);
    g_free (got);
    g_free (want);
    c->failed = TRUE;
    return;
  }
  const gboolean quantized = sam_quant_tensor_ok (c->m, t, name);
  if (t->dtype != SAM_DTYPE_F32 && t->dtype != SAM_DTYPE_F16
      && t->dtype != SAM_DTYPE_BF16 && !quantized) {
    g_set_error (c->error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: tensor '%s' has dtype %s; F32, F16 or BF16 expected",
        sam_safetensors_path (c->m->st), name, sam_dtype_name (t->dtype));
    c->failed = TRUE;
    return;
  }
  SamW *w = g_new0 (SamW, 1);
  w->name = t->name;
  w->ndim = ndim;
  memcpy (w->shape, shape, sizeof (int64_t) * ndim);
  w->numel = t->numel;
  if (quantized)
    w->data = NULL;             /* quantized.c runs it from the I8 tensor */
  else if (t->dtype == SAM_DTYPE_F32 && ((uintptr_t) t->data % 4) == 0)
    w->data = t->data;
  else {
    float *buf = g_try_new (float, t->numel > 0 ? t->numel : 1);
    if (!buf) {
      g_set_error (c->error, SAM_ERROR, SAM_ERROR_NO_MEMORY,
          "out of memory converting '%s'", name);
      g_free (w);
      c->failed = TRUE;
      return;
    }
    sam_st_tensor_to_f32 (t, 0, t->numel, buf);
    g_ptr_array_add (c->m->owned, buf);
    w->data = buf;
  }
  g_hash_table_insert (c->m->tensors, (gpointer) w->name, w);
}

static gboolean
detect_variant (SamModel * m, GError ** error)
{
  const char *path = sam_safetensors_path (m->st);
  const SamStTensor *pe =
      sam_safetensors_find (m->st, "image_encoder.trunk.patch_embed.proj.weight");
  if (!pe || pe->ndim != 4) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: not a SAM 2 model (no 'image_encoder.trunk.patch_embed.proj.weight'"
        " 4-D tensor); convert official checkpoints with "
        "tools/samseg-convert.py", path);
    return FALSE;
  }
  int n_blocks = 0;
  for (;; n_blocks++) {
    char name[128];
    g_snprintf (name, sizeof name,
        "image_encoder.trunk.blocks.%d.norm1.weight", n_blocks);
    if (!sam_safetensors_find (m->st, name))
      break;
  }
  static const char *names[] = { "tiny", "small", "base_plus", "large" };
  for (guint v = 0; v < G_N_ELEMENTS (names); v++) {
    SamHParams hp;
    sam_hparams_for_variant (names[v], &hp);
    if (hp.embed_dim == pe->shape[0] && hp.n_blocks == n_blocks) {
      m->hp = hp;
      return TRUE;
    }
  }
  g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
      "%s: unknown SAM 2 variant (embed dim %" G_GINT64_FORMAT ", %d trunk "
      "blocks); known: tiny 96/12, small 96/16, base+ 112/24, large 144/48",
      path, pe->shape[0], n_blocks);
  return FALSE;
}

SamModel *
sam_model_load (const gchar * path, const SamModelParams * p, GError ** error)
{
  (void) p;
  g_return_val_if_fail (path != NULL, NULL);
  SamSafetensors *st = sam_safetensors_open (path, error);
  if (!st)
    return NULL;
  return sam_model_new_from_safetensors (st, error);
}

SamModel *
sam_model_new_empty (SamSafetensors * st)
{
  SamModel *m = g_new0 (SamModel, 1);
  m->refcount = 1;
  g_mutex_init (&m->derived_lock);
  m->derived = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  m->st = st;
  m->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  m->owned = g_ptr_array_new_with_free_func (g_free);
  return m;
}

SamModel *
sam_model_new_from_safetensors (SamSafetensors * st, GError ** error)
{
  const char *path = sam_safetensors_path (st);
  SamModel *m = sam_model_new_empty (st);
  if (!detect_variant (m, error))
    goto fail;

  LoadCtx c = { m, error, FALSE,
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL)
  };
  sam_manifest_foreach (&m->hp, load_one, &c);
  if (!c.failed) {
    /* Unknown float tensors mean a different architecture: refuse rather
     * than silently ignore weights. Quantization side tensors are named
     * with a '#' and handled by the quantized loader. */
    for (int i = 0; i < sam_safetensors_n_tensors (st); i++) {
      const SamStTensor *t = sam_safetensors_tensor (st, i);
      if (!g_hash_table_contains (c.expected, t->name)
          && !strchr (t->name, '#')) {
        g_set_error (error, SAM_ERROR, SAM_ERROR_SHAPE,
            "%s: unknown tensor '%s' (not part of SAM 2.1 %s)", path, t->name,
            m->hp.variant);
        c.failed = TRUE;
        break;
      }
    }
  }
  g_hash_table_destroy (c.expected);
  if (c.failed)
    goto fail;
  /* validates the '#' side tensors, builds the int8 layers */
  if (!sam_quant_state_init (m, error))
    goto fail;
  return m;
fail:
  sam_model_unref (m);
  return NULL;
}

SamModel *
sam_model_ref (SamModel * m)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_atomic_int_inc (&m->refcount);
  return m;
}

const float *
sam_model_derived (const SamModel * m, const char *key, gsize n_floats,
    SamDerivedFunc make, void *user_data)
{
  SamModel *mm = (SamModel *) m;        /* the cache only */
  g_mutex_lock (&mm->derived_lock);
  const float *have = g_hash_table_lookup (mm->derived, key);
  g_mutex_unlock (&mm->derived_lock);
  if (have)
    return have;
  float *t = g_new (float, MAX (n_floats, 1));
  make (t, user_data);
  g_mutex_lock (&mm->derived_lock);
  have = g_hash_table_lookup (mm->derived, key);
  if (have) {
    g_free (t);
  } else {
    g_hash_table_insert (mm->derived, g_strdup (key), t);
    have = t;
  }
  g_mutex_unlock (&mm->derived_lock);
  return have;
}

void
sam_model_unref (SamModel * m)
{
  if (!m || !g_atomic_int_dec_and_test (&m->refcount))
    return;
  sam_quant_state_free (m);
  g_hash_table_destroy (m->derived);
  g_mutex_clear (&m->derived_lock);
  g_hash_table_destroy (m->tensors);
  g_ptr_array_unref (m->owned);
  sam_safetensors_close (m->st);
  g_free (m);
}

const gchar *
sam_model_variant (const SamModel * m)
{
  return m->hp.variant;
}

gint
sam_model_default_input_size (const SamModel * m)
{
  return m->hp.image_size;
}

static const SamW *
lookup_v (const SamModel * m, const char *fmt, va_list ap)
{
  char name[256];
  g_vsnprintf (name, sizeof name, fmt, ap);
  const SamW *w = g_hash_table_lookup (m->tensors, name);
  if (!w)
    g_critical ("samseg: internal error: tensor '%s' not loaded", name);
  return w;
}

const SamW *
sam_model_w (const SamModel * m, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  const SamW *w = lookup_v (m, fmt, ap);
  va_end (ap);
  return w;
}

const float *
sam_model_wd (const SamModel * m, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  const SamW *w = lookup_v (m, fmt, ap);
  va_end (ap);
  return w ? w->data : NULL;
}
