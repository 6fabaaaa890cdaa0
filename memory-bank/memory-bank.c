/* memory-bank.c — storage of one object's memories, and sets of objects.
 *
 * Three bounded stores, each an array of entries whose buffers are
 * allocated on first use and then recycled, so a bank stops allocating once
 * it is full (constant memory over any stream length):
 *   cond    conditioning frames in insertion order (the reference's dict
 *           order), at most max_cond_frames;
 *   recent  features of the last num_maskmem - 1 other frames;
 *   ptrs    pointers of the last max_obj_ptrs - 1 other frames.
 * recent and ptrs are sorted by frame index and drop the oldest frame: for
 * a query after every stored frame, the frames a query can reach
 * (query-1 .. query-(capacity)) are always the newest ones.
 */
#include "memory-bank-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
sam_memory_bank_config_init (SamMemoryBankConfig * c)
{
  memset (c, 0, sizeof *c);
  c->n_tokens = 64 * 64;
  c->mem_dim = 64;
  c->ptr_dim = 256;
  c->num_maskmem = 7;
  c->max_cond_frames = 16;
  c->max_obj_ptrs = 16;
  c->precision = SAM_MEMORY_BANK_PRECISION_BF16;
}

static bool
config_valid (const SamMemoryBankConfig * c)
{
  return c && c->n_tokens > 0 && c->mem_dim > 0 && c->ptr_dim > 0
      && c->num_maskmem >= 1 && c->num_maskmem <= SAM_MEMORY_BANK_MAX_MASKMEM
      && c->max_cond_frames >= 2
      && c->max_cond_frames <= SAM_MEMORY_BANK_MAX_COND
      && c->max_obj_ptrs >= 1 && c->max_obj_ptrs <= SAM_MEMORY_BANK_MAX_PTRS
      && (c->precision == SAM_MEMORY_BANK_PRECISION_BF16
      || c->precision == SAM_MEMORY_BANK_PRECISION_F32
      || c->precision == SAM_MEMORY_BANK_PRECISION_INT8);
}

size_t
sam_memory_bank_feature_bytes (const SamMemoryBankConfig * c)
{
  const size_t n = (size_t) c->n_tokens * c->mem_dim;

  switch (c->precision) {
    case SAM_MEMORY_BANK_PRECISION_F32:
      return n * sizeof (float);
    case SAM_MEMORY_BANK_PRECISION_INT8:
      return sizeof (float) * (size_t) c->mem_dim + n;
    case SAM_MEMORY_BANK_PRECISION_BF16:
    default:
      return n * sizeof (uint16_t);
  }
}

size_t
sam_mem_feat_bytes (const SamMemoryBank * b)
{
  return sam_memory_bank_feature_bytes (&b->c);
}

/* Makes sure @e owns the buffers its store needs; false if out of memory. */
bool
sam_mem_entry_alloc (SamMemoryBank * b, SamMemEntry * e, bool feat, bool ptr)
{
  if (feat && !e->feat) {
    if (!(e->feat = malloc (sam_mem_feat_bytes (b))))
      return false;
    b->bytes += sam_mem_feat_bytes (b);
  }
  if (ptr && !e->ptr) {
    if (!(e->ptr = malloc (sizeof (float) * b->c.ptr_dim)))
      return false;
    b->bytes += sizeof (float) * b->c.ptr_dim;
  }
  return true;
}

static void
store_init (SamMemStore * s, int cap)
{
  s->cap = cap;
  s->n = 0;
  s->e = cap > 0 ? calloc ((size_t) cap, sizeof (SamMemEntry)) : NULL;
}

static void
store_free (SamMemStore * s)
{
  for (int i = 0; i < s->cap; i++) {
    free (s->e[i].feat);
    free (s->e[i].ptr);
  }
  free (s->e);
}

SamMemoryBank *
sam_memory_bank_new (const SamMemoryBankConfig * c)
{
  SamMemoryBank *b;

  if (!config_valid (c))
    return NULL;
  if (!(b = calloc (1, sizeof *b)))
    return NULL;
  b->c = *c;
  store_init (&b->cond, c->max_cond_frames);
  store_init (&b->recent, c->num_maskmem - 1);
  store_init (&b->ptrs, c->max_obj_ptrs - 1);
  if (!b->cond.e || (b->recent.cap && !b->recent.e)
      || (b->ptrs.cap && !b->ptrs.e)) {
    sam_memory_bank_free (b);
    return NULL;
  }
  b->bytes = sizeof *b + sizeof (SamMemEntry) * (size_t) (b->cond.cap
      + b->recent.cap + b->ptrs.cap);
  return b;
}

void
sam_memory_bank_free (SamMemoryBank * b)
{
  if (!b)
    return;
  store_free (&b->cond);
  store_free (&b->recent);
  store_free (&b->ptrs);
  free (b);
}

void
sam_memory_bank_clear (SamMemoryBank * b)
{
  b->cond.n = b->recent.n = b->ptrs.n = 0;
  b->cond_overflowed = false;
}

const SamMemoryBankConfig *
sam_memory_bank_config (const SamMemoryBank * b)
{
  return &b->c;
}

int
sam_memory_bank_n_cond (const SamMemoryBank * b)
{
  return b->cond.n;
}

int
sam_memory_bank_n_recent (const SamMemoryBank * b)
{
  return b->recent.n;
}

int
sam_memory_bank_n_ptrs (const SamMemoryBank * b)
{
  return b->ptrs.n;
}

bool
sam_memory_bank_is_empty (const SamMemoryBank * b)
{
  return b->cond.n == 0 && b->recent.n == 0 && b->ptrs.n == 0;
}

size_t
sam_memory_bank_bytes (const SamMemoryBank * b)
{
  return b->bytes;
}

int
sam_mem_store_find (const SamMemStore * s, int64_t frame_idx)
{
  for (int i = 0; i < s->n; i++)
    if (s->e[i].frame_idx == frame_idx)
      return i;
  return -1;
}

/* Takes entry @i out of the live part; its buffers become spare. */
static void
store_remove (SamMemStore * s, int i)
{
  SamMemEntry spare = s->e[i];

  memmove (&s->e[i], &s->e[i + 1], sizeof (SamMemEntry) * (s->n - i - 1));
  s->n--;
  s->e[s->n] = spare;
}

/* The entry to fill for @frame_idx in a store sorted by frame index:
 * the existing one, a new one (evicting the oldest frame when full), or
 * NULL when the frame is older than everything a full store keeps. */
static SamMemEntry *
sorted_slot (SamMemStore * s, int64_t frame_idx)
{
  int i = sam_mem_store_find (s, frame_idx), p;
  SamMemEntry spare;

  if (i >= 0)
    return &s->e[i];
  if (s->cap == 0)
    return NULL;
  if (s->n == s->cap) {
    if (frame_idx < s->e[0].frame_idx)
      return NULL;
    store_remove (s, 0);
  }
  for (p = s->n; p > 0 && s->e[p - 1].frame_idx > frame_idx; p--);
  spare = s->e[s->n];
  memmove (&s->e[p + 1], &s->e[p], sizeof (SamMemEntry) * (s->n - p));
  s->e[p] = spare;
  s->e[p].frame_idx = frame_idx;
  s->n++;
  return &s->e[p];
}

/* Round to nearest even, as torch's float32 → bfloat16 cast. */
static inline uint16_t
f32_to_bf16 (float f)
{
  uint32_t u;

  memcpy (&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((u >> 16) | 0x40);       /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t) (u >> 16);
}

/* int8 layout: float scale[mem_dim], then int8 q[n_tokens][mem_dim];
 * x = q * scale[channel], scale = amax over the memory's tokens / 127.
 * Per channel rather than per token: the memory encoder's output channels
 * have their own ranges (a 1×1 projection), and on the fixtures per-channel
 * scales give a lower error (rel L2 4.8e-3 vs 6.4e-3 per token) for 256
 * bytes of scales instead of 4 × n_tokens. */
static void
put_int8 (const SamMemoryBank * b, void *dst, const float *f)
{
  const int T = b->c.n_tokens, C = b->c.mem_dim;
  float *scale = dst;
  int8_t *q = (int8_t *) (scale + C);

  for (int c = 0; c < C; c++)
    scale[c] = 0.f;
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++) {
      float a = fabsf (f[(size_t) t * C + c]);
      if (a > scale[c])         /* NaN never wins */
        scale[c] = a;
    }
  for (int c = 0; c < C; c++)
    scale[c] = isfinite (scale[c]) ? scale[c] / 127.f : 0.f;
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++) {
      const size_t i = (size_t) t * C + c;
      float v = scale[c] > 0.f ? f[i] / scale[c] : 0.f;
      v = v > 127.f ? 127.f : v < -127.f ? -127.f : v;
      q[i] = (int8_t) lrintf (v == v ? v : 0.f);
    }
}

static void
put_features (const SamMemoryBank * b, SamMemEntry * e, const float *f)
{
  const size_t n = (size_t) b->c.n_tokens * b->c.mem_dim;

  switch (b->c.precision) {
    case SAM_MEMORY_BANK_PRECISION_F32:
      memcpy (e->feat, f, n * sizeof (float));
      break;
    case SAM_MEMORY_BANK_PRECISION_INT8:
      put_int8 (b, e->feat, f);
      break;
    case SAM_MEMORY_BANK_PRECISION_BF16:
    default:{
      uint16_t *h = e->feat;
      for (size_t i = 0; i < n; i++)
        h[i] = f32_to_bf16 (f[i]);
      break;
    }
  }
}

/* Stores a non-conditioning memory (features and/or pointer) given as a
 * float32 array or, for a demoted conditioning frame, as stored data. */
static bool
add_recent (SamMemoryBank * b, int64_t frame_idx, const float *features,
    const SamMemEntry * stored, const float *obj_ptr, float score)
{
  SamMemEntry *e = sorted_slot (&b->recent, frame_idx);

  if (e) {
    if (!sam_mem_entry_alloc (b, e, true, false)) {
      store_remove (&b->recent, (int) (e - b->recent.e));
      return false;
    }
    if (stored)
      memcpy (e->feat, stored->feat, sam_mem_feat_bytes (b));
    else
      put_features (b, e, features);
    e->score = score;
  }
  e = sorted_slot (&b->ptrs, frame_idx);
  if (e) {
    if (!sam_mem_entry_alloc (b, e, false, true)) {
      store_remove (&b->ptrs, (int) (e - b->ptrs.e));
      return false;
    }
    memcpy (e->ptr, obj_ptr, sizeof (float) * b->c.ptr_dim);
    e->score = score;
  }
  return true;
}

/* Makes room for one more conditioning frame @frame_idx: drops the frame
 * the official closest selection would leave out (seen from the new frame,
 * and so from every later one), keeping it as an ordinary past frame. */
static bool
demote_one_cond (SamMemoryBank * b, int64_t frame_idx)
{
  int64_t frames[SAM_MEMORY_BANK_MAX_COND + 1];
  int64_t sel[SAM_MEMORY_BANK_MAX_COND + 1];
  const int n = b->cond.n;
  int ns, drop = 0;
  SamMemEntry *e;
  bool ok;

  for (int i = 0; i < n; i++)
    frames[i] = b->cond.e[i].frame_idx;
  frames[n] = frame_idx;
  ns = sam_memory_select_closest_cond (frame_idx, frames, n + 1,
      b->c.max_cond_frames, sel);
  for (int i = 0; i < n; i++) {
    bool kept = false;
    for (int j = 0; j < ns; j++)
      kept |= sel[j] == frames[i];
    if (!kept) {
      drop = i;
      break;
    }
  }
  e = &b->cond.e[drop];
  ok = add_recent (b, e->frame_idx, NULL, e, e->ptr, e->score);
  store_remove (&b->cond, drop);
  /* The reference keeps every conditioning frame; from now on it has more
   * than it attends to, which changes its selection order. */
  b->cond_overflowed = true;
  return ok;
}

bool
sam_memory_bank_add (SamMemoryBank * b, int64_t frame_idx, bool is_cond,
    const float *features, const float *obj_ptr, float object_score)
{
  SamMemEntry *e;
  int i;

  if (!b || frame_idx < 0 || !features || !obj_ptr)
    return false;

  if (!is_cond) {
    /* A conditioning output takes precedence over a tracked one for the
     * same frame (propagate_in_video_preflight drops the latter). */
    if (sam_mem_store_find (&b->cond, frame_idx) >= 0)
      return true;
    return add_recent (b, frame_idx, features, NULL, obj_ptr, object_score);
  }

  if ((i = sam_mem_store_find (&b->recent, frame_idx)) >= 0)
    store_remove (&b->recent, i);
  if ((i = sam_mem_store_find (&b->ptrs, frame_idx)) >= 0)
    store_remove (&b->ptrs, i);

  /* Re-prompting a frame replaces its memory but keeps its place. */
  i = sam_mem_store_find (&b->cond, frame_idx);
  if (i < 0) {
    if (b->cond.n == b->cond.cap && !demote_one_cond (b, frame_idx))
      return false;
    i = b->cond.n++;
    b->cond.e[i].frame_idx = frame_idx;
  }
  e = &b->cond.e[i];
  if (!sam_mem_entry_alloc (b, e, true, true)) {
    store_remove (&b->cond, i);
    return false;
  }
  put_features (b, e, features);
  memcpy (e->ptr, obj_ptr, sizeof (float) * b->c.ptr_dim);
  e->score = object_score;
  return true;
}

void
sam_memory_bank_read_features (const SamMemoryBank * b,
    const SamMemorySpatial * s, float *out)
{
  const SamMemEntry *e = s->priv;
  const size_t n = (size_t) b->c.n_tokens * b->c.mem_dim;

  switch (b->c.precision) {
    case SAM_MEMORY_BANK_PRECISION_F32:
      memcpy (out, e->feat, n * sizeof (float));
      break;
    case SAM_MEMORY_BANK_PRECISION_INT8:{
      const int T = b->c.n_tokens, C = b->c.mem_dim;
      const float *scale = e->feat;
      const int8_t *q = (const int8_t *) (scale + C);
      for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++)
          out[(size_t) t * C + c] = q[(size_t) t * C + c] * scale[c];
      break;
    }
    case SAM_MEMORY_BANK_PRECISION_BF16:
    default:{
      const uint16_t *h = e->feat;
      for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t) h[i] << 16;
        memcpy (&out[i], &u, sizeof u);
      }
      break;
    }
  }
}

/* ---- sets of objects --------------------------------------------------- */

struct _SamMemoryBankSet
{
  SamMemoryBankConfig c;
  int max_objects, n;
  uint32_t *ids;
  SamMemoryBank **banks;
};

SamMemoryBankSet *
sam_memory_bank_set_new (const SamMemoryBankConfig * c, int max_objects)
{
  SamMemoryBankSet *s;

  if (!config_valid (c) || max_objects < 1)
    return NULL;
  if (!(s = calloc (1, sizeof *s)))
    return NULL;
  s->c = *c;
  s->max_objects = max_objects;
  s->ids = calloc ((size_t) max_objects, sizeof *s->ids);
  s->banks = calloc ((size_t) max_objects, sizeof *s->banks);
  if (!s->ids || !s->banks) {
    sam_memory_bank_set_free (s);
    return NULL;
  }
  return s;
}

void
sam_memory_bank_set_free (SamMemoryBankSet * s)
{
  if (!s)
    return;
  if (s->banks)
    sam_memory_bank_set_reset (s);
  free (s->banks);
  free (s->ids);
  free (s);
}

static int
set_index (const SamMemoryBankSet * s, uint32_t obj_id)
{
  for (int i = 0; i < s->n; i++)
    if (s->ids[i] == obj_id)
      return i;
  return -1;
}

SamMemoryBank *
sam_memory_bank_set_add (SamMemoryBankSet * s, uint32_t obj_id)
{
  int i = set_index (s, obj_id);

  if (i >= 0)
    return s->banks[i];
  if (s->n == s->max_objects)
    return NULL;
  if (!(s->banks[s->n] = sam_memory_bank_new (&s->c)))
    return NULL;
  s->ids[s->n] = obj_id;
  return s->banks[s->n++];
}

SamMemoryBank *
sam_memory_bank_set_get (const SamMemoryBankSet * s, uint32_t obj_id)
{
  int i = set_index (s, obj_id);

  return i >= 0 ? s->banks[i] : NULL;
}

bool
sam_memory_bank_set_remove (SamMemoryBankSet * s, uint32_t obj_id)
{
  int i = set_index (s, obj_id);

  if (i < 0)
    return false;
  sam_memory_bank_free (s->banks[i]);
  memmove (&s->banks[i], &s->banks[i + 1], sizeof *s->banks * (s->n - i - 1));
  memmove (&s->ids[i], &s->ids[i + 1], sizeof *s->ids * (s->n - i - 1));
  s->n--;
  return true;
}

void
sam_memory_bank_set_reset (SamMemoryBankSet * s)
{
  for (int i = 0; i < s->n; i++)
    sam_memory_bank_free (s->banks[i]);
  s->n = 0;
}

int
sam_memory_bank_set_n_objects (const SamMemoryBankSet * s)
{
  return s->n;
}

uint32_t
sam_memory_bank_set_obj_id (const SamMemoryBankSet * s, int i)
{
  return i >= 0 && i < s->n ? s->ids[i] : 0;
}

SamMemoryBank *
sam_memory_bank_set_nth (const SamMemoryBankSet * s, int i)
{
  return i >= 0 && i < s->n ? s->banks[i] : NULL;
}

size_t
sam_memory_bank_set_bytes (const SamMemoryBankSet * s)
{
  size_t bytes = sizeof *s + (sizeof *s->ids + sizeof *s->banks)
      * (size_t) s->max_objects;

  for (int i = 0; i < s->n; i++)
    bytes += sam_memory_bank_bytes (s->banks[i]);
  return bytes;
}
