/* safetensors.c — strict mmap reader and a simple writer. See safetensors.h. */
#include "safetensors.h"
#include "sam/sam.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

struct _SamSafetensors
{
  char *path;
  GMappedFile *mapped;          /* NULL for open_memory */
  const guint8 *bytes;
  size_t len;
  SamStTensor *tensors;
  int n_tensors;
  GHashTable *by_name;          /* name -> SamStTensor* */
  GHashTable *metadata;         /* key -> value (owned strings) */
};

/* *INDENT-OFF* */
static const struct { const char *name; size_t size; } dtype_traits[SAM_DTYPE_COUNT] = {
  [SAM_DTYPE_F32] = {"F32", 4}, [SAM_DTYPE_F16] = {"F16", 2},
  [SAM_DTYPE_BF16] = {"BF16", 2}, [SAM_DTYPE_F64] = {"F64", 8},
  [SAM_DTYPE_I8] = {"I8", 1}, [SAM_DTYPE_U8] = {"U8", 1},
  [SAM_DTYPE_I16] = {"I16", 2}, [SAM_DTYPE_I32] = {"I32", 4},
  [SAM_DTYPE_I64] = {"I64", 8}, [SAM_DTYPE_BOOL] = {"BOOL", 1},
};
/* *INDENT-ON* */

const char *
sam_dtype_name (SamDtype t)
{
  return t < SAM_DTYPE_COUNT ? dtype_traits[t].name : "?";
}

size_t
sam_dtype_size (SamDtype t)
{
  return t < SAM_DTYPE_COUNT ? dtype_traits[t].size : 0;
}

static gboolean
dtype_from_name (const char *s, SamDtype * out)
{
  for (int i = 0; i < SAM_DTYPE_COUNT; i++)
    if (strcmp (s, dtype_traits[i].name) == 0) {
      *out = (SamDtype) i;
      return TRUE;
    }
  return FALSE;
}

static int
cmp_offsets (const void *a, const void *b)
{
  const SamStTensor *x = *(const SamStTensor * const *) a;
  const SamStTensor *y = *(const SamStTensor * const *) b;
  if (x->data != y->data)
    return (const guint8 *) x->data < (const guint8 *) y->data ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : (x->nbytes > y->nbytes);
}

/* Parses one tensor entry. All numbers are checked before any arithmetic. */
static gboolean
parse_entry (SamSafetensors * st, SamStTensor * t, const char *name,
    JsonNode * node, const guint8 * blob, guint64 blob_len, GError ** error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  JsonObject *o = json_node_get_object (node);
  JsonNode *dn = json_object_get_member (o, "dtype");
  JsonNode *sn = json_object_get_member (o, "shape");
  JsonNode *on = json_object_get_member (o, "data_offsets");
  if (!dn || !sn || !on || json_node_get_value_type (dn) != G_TYPE_STRING
      || !JSON_NODE_HOLDS_ARRAY (sn) || !JSON_NODE_HOLDS_ARRAY (on))
    goto bad;
  if (!dtype_from_name (json_node_get_string (dn), &t->dtype)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: tensor '%s' has unsupported dtype '%s'", st->path, name,
        json_node_get_string (dn));
    return FALSE;
  }
  JsonArray *sa = json_node_get_array (sn);
  guint nd = json_array_get_length (sa);
  if (nd > SAM_ST_MAX_DIMS) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: tensor '%s' has %u dimensions (at most %d supported)",
        st->path, name, nd, SAM_ST_MAX_DIMS);
    return FALSE;
  }
  t->ndim = (int) nd;
  guint64 numel = 1;
  for (guint i = 0; i < nd; i++) {
    JsonNode *e = json_array_get_element (sa, i);
    if (json_node_get_value_type (e) != G_TYPE_INT64)
      goto bad;
    gint64 d = json_node_get_int (e);
    if (d < 0 || d > ((gint64) 1 << 40))
      goto bad;
    t->shape[i] = d;
    if (d != 0 && numel > G_MAXUINT64 / (guint64) d / 8)
      goto bad;
    numel *= (guint64) d;
  }
  t->numel = (int64_t) numel;
  JsonArray *oa = json_node_get_array (on);
  if (json_array_get_length (oa) != 2)
    goto bad;
  JsonNode *b0 = json_array_get_element (oa, 0), *b1 =
      json_array_get_element (oa, 1);
  if (json_node_get_value_type (b0) != G_TYPE_INT64
      || json_node_get_value_type (b1) != G_TYPE_INT64)
    goto bad;
  gint64 begin = json_node_get_int (b0), end = json_node_get_int (b1);
  if (begin < 0 || end < begin || (guint64) end > blob_len) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: tensor '%s' data_offsets [%" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "] fall outside the %" G_GUINT64_FORMAT
        "-byte data section (truncated file?)", st->path, name, begin, end,
        blob_len);
    return FALSE;
  }
  guint64 want = numel * sam_dtype_size (t->dtype);
  if ((guint64) (end - begin) != want) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: tensor '%s' holds %" G_GINT64_FORMAT " bytes but its shape and "
        "dtype need %" G_GUINT64_FORMAT, st->path, name, end - begin, want);
    return FALSE;
  }
  t->data = blob + begin;
  t->nbytes = (size_t) want;
  return TRUE;
bad:
  g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
      "%s: malformed header entry for tensor '%s'", st->path, name);
  return FALSE;
}

/* The deepest bracket nesting of a JSON text (outside strings), stopping
 * early past @max. json-glib's parser recurses per level, so a header of a
 * few MiB of '[' would overflow the stack: check before handing it over. */
int
sam_json_depth (const void *text, size_t n, int max)
{
  const guint8 *p = text;
  int depth = 0, deepest = 0;
  gboolean in_str = FALSE;
  for (size_t i = 0; i < n && deepest <= max; i++) {
    guint8 c = p[i];
    if (in_str) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_str = FALSE;
    } else if (c == '"')
      in_str = TRUE;
    else if (c == '[' || c == '{') {
      depth++;
      deepest = MAX (deepest, depth);
    }
    else if (c == ']' || c == '}')
      depth--;
  }
  return deepest;
}

static gboolean
parse (SamSafetensors * st, GError ** error)
{
  if (st->len < 8) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: file too short for a safetensors header (%zu bytes)", st->path,
        st->len);
    return FALSE;
  }
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | st->bytes[i];
  if (hlen > SAM_ST_MAX_HEADER || hlen > st->len - 8) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: header length %" G_GUINT64_FORMAT " is larger than the file "
        "(%zu bytes) or the %u-byte limit", st->path, hlen, st->len,
        SAM_ST_MAX_HEADER);
    return FALSE;
  }
  const guint8 *blob = st->bytes + 8 + hlen;
  guint64 blob_len = st->len - 8 - hlen;

  /* a safetensors header nests 3 deep ({name: {shape: [...]}}) */
  if (sam_json_depth (st->bytes + 8, hlen, SAM_ST_MAX_JSON_DEPTH) >
      SAM_ST_MAX_JSON_DEPTH) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: header nests JSON deeper than %d levels", st->path,
        SAM_ST_MAX_JSON_DEPTH);
    return FALSE;
  }
  JsonParser *parser = json_parser_new ();
  GError *jerr = NULL;
  gboolean ok = FALSE;
  if (memchr (st->bytes + 8, 0, hlen) != NULL
      || !json_parser_load_from_data (parser, (const char *) st->bytes + 8,
          (gssize) hlen, &jerr)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: header is not valid JSON%s%s", st->path, jerr ? ": " : "",
        jerr ? jerr->message : "");
    g_clear_error (&jerr);
    goto out;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "%s: header is not a JSON object", st->path);
    goto out;
  }
  JsonObject *ro = json_node_get_object (root);
  GList *members = json_object_get_members (ro);
  int n = 0;
  for (GList * l = members; l; l = l->next)
    if (strcmp (l->data, "__metadata__") != 0)
      n++;
  st->tensors = g_new0 (SamStTensor, n > 0 ? n : 1);
  int k = 0;
  for (GList * l = members; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (ro, name);
    if (strcmp (name, "__metadata__") == 0) {
      if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
            "%s: __metadata__ is not an object", st->path);
        g_list_free (members);
        goto out;
      }
      JsonObject *mo = json_node_get_object (node);
      GList *mk = json_object_get_members (mo);
      for (GList * m = mk; m; m = m->next) {
        JsonNode *v = json_object_get_member (mo, m->data);
        if (json_node_get_value_type (v) == G_TYPE_STRING)
          g_hash_table_replace (st->metadata, g_strdup (m->data),
              g_strdup (json_node_get_string (v)));
      }
      g_list_free (mk);
      continue;
    }
    SamStTensor *t = &st->tensors[k];
    t->name = g_strdup (name);
    st->n_tensors = ++k;
    if (!parse_entry (st, t, name, node, blob, blob_len, error)) {
      g_list_free (members);
      goto out;
    }
    g_hash_table_insert (st->by_name, (gpointer) t->name, t);
  }
  g_list_free (members);

  /* Overlapping tensors mean a forged file: refuse it. */
  SamStTensor **sorted = g_new (SamStTensor *, st->n_tensors + 1);
  for (int i = 0; i < st->n_tensors; i++)
    sorted[i] = &st->tensors[i];
  qsort (sorted, st->n_tensors, sizeof *sorted, cmp_offsets);
  /* Compare with the furthest end so far, not just the previous tensor: an
   * empty tensor in between must not hide an overlap. */
  const SamStTensor *last = NULL;
  for (int i = 0; i < st->n_tensors; i++) {
    if (sorted[i]->nbytes == 0)
      continue;
    if (last && (const guint8 *) sorted[i]->data <
        (const guint8 *) last->data + last->nbytes) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
          "%s: tensors '%s' and '%s' overlap in the data section", st->path,
          last->name, sorted[i]->name);
      g_free (sorted);
      goto out;
    }
    last = sorted[i];
  }
  g_free (sorted);
  ok = TRUE;
out:
  g_object_unref (parser);
  return ok;
}

static SamSafetensors *
st_new (const char *path)
{
  SamSafetensors *st = g_new0 (SamSafetensors, 1);
  st->path = g_strdup (path);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  return st;
}

SamSafetensors *
sam_safetensors_open (const char *path, GError ** error)
{
  GError *err = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &err);
  if (!mf) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_IO, "cannot open '%s': %s", path,
        err->message);
    g_error_free (err);
    return NULL;
  }
  SamSafetensors *st = st_new (path);
  st->mapped = mf;
  st->bytes = (const guint8 *) g_mapped_file_get_contents (mf);
  st->len = g_mapped_file_get_length (mf);
  if (!parse (st, error)) {
    sam_safetensors_close (st);
    return NULL;
  }
  return st;
}

SamSafetensors *
sam_safetensors_open_memory (const void *data, size_t len, GError ** error)
{
  SamSafetensors *st = st_new ("<memory>");
  st->bytes = data;
  st->len = len;
  if (!parse (st, error)) {
    sam_safetensors_close (st);
    return NULL;
  }
  return st;
}

void
sam_safetensors_close (SamSafetensors * st)
{
  if (!st)
    return;
  for (int i = 0; i < st->n_tensors; i++)
    g_free ((char *) st->tensors[i].name);
  g_free (st->tensors);
  g_hash_table_destroy (st->by_name);
  g_hash_table_destroy (st->metadata);
  if (st->mapped)
    g_mapped_file_unref (st->mapped);
  g_free (st->path);
  g_free (st);
}

int
sam_safetensors_n_tensors (const SamSafetensors * st)
{
  return st->n_tensors;
}

const SamStTensor *
sam_safetensors_tensor (const SamSafetensors * st, int i)
{
  return (i >= 0 && i < st->n_tensors) ? &st->tensors[i] : NULL;
}

const SamStTensor *
sam_safetensors_find (const SamSafetensors * st, const char *name)
{
  return g_hash_table_lookup (st->by_name, name);
}

const char *
sam_safetensors_metadata (const SamSafetensors * st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

const char *
sam_safetensors_path (const SamSafetensors * st)
{
  return st->path;
}

float
sam_bf16_to_f32 (uint16_t h)
{
  uint32_t u = (uint32_t) h << 16;
  float f;
  memcpy (&f, &u, 4);
  return f;
}

uint16_t
sam_f32_to_bf16 (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((u >> 16) | 0x40);       /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t) (u >> 16);
}

float
sam_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0) {
    if (man == 0)
      u = sign;
    else {                      /* subnormal: renormalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      u = sign | ((uint32_t) (127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31)
    u = sign | 0x7f800000u | (man << 13);
  else
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  float f;
  memcpy (&f, &u, 4);
  return f;
}

uint16_t
sam_f32_to_f16 (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  int32_t exp = (int32_t) ((u >> 23) & 0xff) - 127 + 15;
  uint32_t man = u & 0x7fffff;
  if (((u >> 23) & 0xff) == 0xff)
    return (uint16_t) (sign | 0x7c00 | (man ? 0x200 : 0));
  if (exp >= 31)
    return (uint16_t) (sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10)
      return (uint16_t) sign;
    man |= 0x800000;
    int shift = 14 - exp;
    uint32_t half = 1u << (shift - 1);
    uint32_t r = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    if (rem > half || (rem == half && (r & 1)))
      r++;
    return (uint16_t) (sign | r);
  }
  uint32_t r = (uint32_t) (exp << 10) | (man >> 13);
  uint32_t rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1)))
    r++;
  return (uint16_t) (sign | r);
}

void
sam_st_tensor_to_f32 (const SamStTensor * t, int64_t first, int64_t n,
    float *out)
{
  const guint8 *p = (const guint8 *) t->data + first * sam_dtype_size (t->dtype);
  for (int64_t i = 0; i < n; i++) {
    switch (t->dtype) {
      case SAM_DTYPE_F32:{
        float f;
        memcpy (&f, p + 4 * i, 4);
        out[i] = f;
        break;
      }
      case SAM_DTYPE_F64:{
        double d;
        memcpy (&d, p + 8 * i, 8);
        out[i] = (float) d;
        break;
      }
      case SAM_DTYPE_F16:{
        uint16_t h;
        memcpy (&h, p + 2 * i, 2);
        out[i] = sam_f16_to_f32 (h);
        break;
      }
      case SAM_DTYPE_BF16:{
        uint16_t h;
        memcpy (&h, p + 2 * i, 2);
        out[i] = sam_bf16_to_f32 (h);
        break;
      }
      case SAM_DTYPE_I8:
        out[i] = (float) ((const int8_t *) p)[i];
        break;
      case SAM_DTYPE_U8:
      case SAM_DTYPE_BOOL:
        out[i] = (float) p[i];
        break;
      case SAM_DTYPE_I16:{
        int16_t v;
        memcpy (&v, p + 2 * i, 2);
        out[i] = (float) v;
        break;
      }
      case SAM_DTYPE_I32:{
        int32_t v;
        memcpy (&v, p + 4 * i, 4);
        out[i] = (float) v;
        break;
      }
      case SAM_DTYPE_I64:{
        int64_t v;
        memcpy (&v, p + 8 * i, 8);
        out[i] = (float) v;
        break;
      }
      default:
        out[i] = NAN;
    }
  }
}

/* ---- writer ---------------------------------------------------------- */

typedef struct
{
  char *name;
  SamDtype dtype;
  int ndim;
  int64_t shape[SAM_ST_MAX_DIMS];
  GBytes *data;
  guint64 off;                  /* data offset */
} WEntry;

struct _SamStWriter
{
  GPtrArray *entries;
  GHashTable *metadata;
};

static void
wentry_free (gpointer p)
{
  WEntry *e = p;
  g_free (e->name);
  g_bytes_unref (e->data);
  g_free (e);
}

SamStWriter *
sam_st_writer_new (void)
{
  SamStWriter *w = g_new0 (SamStWriter, 1);
  w->entries = g_ptr_array_new_with_free_func (wentry_free);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  return w;
}

void
sam_st_writer_add (SamStWriter * w, const char *name, SamDtype dtype,
    int ndim, const int64_t * shape, const void *data)
{
  g_return_if_fail (ndim >= 0 && ndim <= SAM_ST_MAX_DIMS);
  WEntry *e = g_new0 (WEntry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->ndim = ndim;
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    e->shape[i] = shape[i];
    numel *= shape[i];
  }
  e->data = g_bytes_new (data, (gsize) numel * sam_dtype_size (dtype));
  g_ptr_array_add (w->entries, e);
}

void
sam_st_writer_add_metadata (SamStWriter * w, const char *key,
    const char *value)
{
  g_hash_table_replace (w->metadata, g_strdup (key), g_strdup (value));
}

static int
cmp_entry_name (gconstpointer a, gconstpointer b)
{
  const WEntry *x = *(WEntry * const *) a, *y = *(WEntry * const *) b;
  return strcmp (x->name, y->name);
}

/* Data order: wider elements first (8, 4, 2, then 1-byte types), by name
 * within a width. Every tensor's size is a multiple of its element size,
 * so after the 8-byte aligned header each tensor starts aligned to its
 * element (F32 data mixed with odd-sized BF16 or I8 tensors in name order
 * would be misaligned for readers that map it as float). The header keys
 * stay sorted by name; offsets stay contiguous, as safetensors requires. */
static int
cmp_entry_layout (gconstpointer a, gconstpointer b)
{
  const WEntry *x = *(WEntry * const *) a, *y = *(WEntry * const *) b;
  size_t sx = sam_dtype_size (x->dtype), sy = sam_dtype_size (y->dtype);
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp (x->name, y->name);
}

/* Lays the data out (sets every entry's offset) and returns the JSON
 * header, unpadded. */
static gchar *
writer_header (SamStWriter * w, gsize * hlen)
{
  /* Sorted by name, as the Python writer does, so output is deterministic. */
  g_ptr_array_sort (w->entries, cmp_entry_layout);
  guint64 off = 0;
  for (guint i = 0; i < w->entries->len; i++) {
    WEntry *e = w->entries->pdata[i];
    e->off = off;
    off += g_bytes_get_size (e->data);
  }
  /* (no g_ptr_array_copy: the copy would inherit the entries' free func) */
  GPtrArray *by_name = g_ptr_array_sized_new (w->entries->len);
  for (guint i = 0; i < w->entries->len; i++)
    g_ptr_array_add (by_name, w->entries->pdata[i]);
  g_ptr_array_sort (by_name, cmp_entry_name);
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  if (g_hash_table_size (w->metadata) > 0) {
    json_builder_set_member_name (b, "__metadata__");
    json_builder_begin_object (b);
    GList *keys = g_list_sort (g_hash_table_get_keys (w->metadata),
        (GCompareFunc) strcmp);
    for (GList * l = keys; l; l = l->next) {
      json_builder_set_member_name (b, l->data);
      json_builder_add_string_value (b, g_hash_table_lookup (w->metadata,
              l->data));
    }
    g_list_free (keys);
    json_builder_end_object (b);
  }
  for (guint i = 0; i < by_name->len; i++) {
    WEntry *e = by_name->pdata[i];
    json_builder_set_member_name (b, e->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, sam_dtype_name (e->dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < e->ndim; d++)
      json_builder_add_int_value (b, e->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) e->off);
    json_builder_add_int_value (b, (gint64) (e->off + g_bytes_get_size (e->data)));
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  g_ptr_array_unref (by_name);
  JsonGenerator *g = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (g, root);
  gchar *header = json_generator_to_data (g, hlen);
  json_node_unref (root);
  g_object_unref (g);
  g_object_unref (b);
  return header;
}

gboolean
sam_st_writer_write (SamStWriter * w, const char *path, GError ** error)
{
  gsize hlen = 0;
  gchar *header = writer_header (w, &hlen);
  /* Pad the header with spaces so the data section starts 8-byte aligned. */
  gsize padded = (hlen + 7) & ~(gsize) 7;

  gboolean ok = FALSE;
  gchar *tmp = g_strdup_printf ("%s.tmp", path);
  FILE *f = fopen (tmp, "wb");
  if (!f) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_IO, "cannot write '%s'", tmp);
    goto out;
  }
  guint8 lenbuf[8];
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (guint8) ((guint64) padded >> (8 * i));
  gboolean wok = fwrite (lenbuf, 1, 8, f) == 8
      && fwrite (header, 1, hlen, f) == hlen;
  for (gsize i = hlen; wok && i < padded; i++)
    wok = fputc (' ', f) != EOF;
  for (guint i = 0; wok && i < w->entries->len; i++) {
    WEntry *e = w->entries->pdata[i];
    gsize sz;
    const void *d = g_bytes_get_data (e->data, &sz);
    wok = sz == 0 || fwrite (d, 1, sz, f) == sz;
  }
  if (fclose (f) != 0 || !wok) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_IO, "error writing '%s'", tmp);
    g_unlink (tmp);
    goto out;
  }
  if (g_rename (tmp, path) != 0) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_IO, "cannot rename to '%s'",
        path);
    goto out;
  }
  ok = TRUE;
out:
  g_free (header);
  g_free (tmp);
  return ok;
}

guint8 *
sam_st_writer_to_data (SamStWriter * w, gsize * len)
{
  gsize hlen = 0;
  gchar *header = writer_header (w, &hlen);
  gsize padded = (hlen + 7) & ~(gsize) 7, total = 8 + padded;
  for (guint i = 0; i < w->entries->len; i++)
    total += g_bytes_get_size (((WEntry *) w->entries->pdata[i])->data);
  guint8 *out = g_malloc (total), *p = out;
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) ((guint64) padded >> (8 * i));
  memcpy (p + 8, header, hlen);
  memset (p + 8 + hlen, ' ', padded - hlen);
  p += 8 + padded;
  for (guint i = 0; i < w->entries->len; i++) {
    gsize sz;
    const void *d = g_bytes_get_data (((WEntry *) w->entries->pdata[i])->data,
        &sz);
    if (sz)
      memcpy (p, d, sz);
    p += sz;
  }
  g_free (header);
  *len = total;
  return out;
}

void
sam_st_writer_free (SamStWriter * w)
{
  if (!w)
    return;
  g_ptr_array_unref (w->entries);
  g_hash_table_destroy (w->metadata);
  g_free (w);
}
