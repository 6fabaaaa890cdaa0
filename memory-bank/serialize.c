/* serialize.c — a bank's contents as a portable blob, for session snapshots.
 *
 * Layout (all little-endian):
 *   "SMBK", u32 version (1),
 *   u32 n_tokens, mem_dim, ptr_dim, num_maskmem, max_cond_frames,
 *       max_obj_ptrs, precision, flags (bit 0: cond_overflowed),
 *   u32 n_cond, n_recent, n_ptrs,
 *   n_cond   × { i64 frame, f32 score, features, f32 ptr[ptr_dim] }  insertion order
 *   n_recent × { i64 frame, f32 score, features }                    by frame
 *   n_ptrs   × { i64 frame, f32 score, f32 ptr[ptr_dim] }             by frame
 * Features are written as stored (bf16 u16s, f32s, or int8: f32
 * scale[mem_dim] then the int8 values), so a restored bank is bit-identical.
 */
#include "memory-bank-private.h"

#include <string.h>

#define BLOB_VERSION 1u
#define HEADER_WORDS 12         /* u32s after the magic */

static bool
host_le (void)
{
  const uint16_t one = 1;
  uint8_t b;

  memcpy (&b, &one, 1);
  return b == 1;
}

/* Copies @n elements of @size bytes, swapping to/from little-endian. */
static void
copy_le (uint8_t * dst, const uint8_t * src, size_t n, size_t size)
{
  if (size == 1 || host_le ()) {
    memcpy (dst, src, n * size);
    return;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < size; k++)
      dst[i * size + k] = src[i * size + size - 1 - k];
}

typedef struct {
  uint8_t *p;                   /* NULL: only count */
  const uint8_t *r;
  size_t off, len;
  bool bad;
} Cursor;

static void
put (Cursor * c, const void *v, size_t n, size_t size)
{
  if (c->p)
    copy_le (c->p + c->off, v, n, size);
  c->off += n * size;
}

static void
put_u32 (Cursor * c, uint32_t v)
{
  put (c, &v, 1, 4);
}

static void
get (Cursor * c, void *v, size_t n, size_t size)
{
  if (c->bad || c->len - c->off < n * size || n * size / (size ? size : 1)
      != n) {
    c->bad = true;
    memset (v, 0, n * size);
    return;
  }
  copy_le (v, c->r + c->off, n, size);
  c->off += n * size;
}

static uint32_t
get_u32 (Cursor * c)
{
  uint32_t v;

  get (c, &v, 1, 4);
  return v;
}

/* The stored feature buffer as elements: (count, size) pairs. */
static void
put_features (Cursor * c, const SamMemoryBank * b, const void *feat)
{
  const size_t n = (size_t) b->c.n_tokens * b->c.mem_dim;

  switch (b->c.precision) {
    case SAM_MEMORY_BANK_PRECISION_F32:
      put (c, feat, n, 4);
      break;
    case SAM_MEMORY_BANK_PRECISION_INT8:
      put (c, feat, (size_t) b->c.mem_dim, 4);
      put (c, (const float *) feat + b->c.mem_dim, n, 1);
      break;
    default:
      put (c, feat, n, 2);
      break;
  }
}

static void
get_features (Cursor * c, const SamMemoryBank * b, void *feat)
{
  const size_t n = (size_t) b->c.n_tokens * b->c.mem_dim;

  switch (b->c.precision) {
    case SAM_MEMORY_BANK_PRECISION_F32:
      get (c, feat, n, 4);
      break;
    case SAM_MEMORY_BANK_PRECISION_INT8:
      get (c, feat, (size_t) b->c.mem_dim, 4);
      get (c, (float *) feat + b->c.mem_dim, n, 1);
      break;
    default:
      get (c, feat, n, 2);
      break;
  }
}

static void
write_all (Cursor * c, const SamMemoryBank * b)
{
  const SamMemoryBankConfig *k = &b->c;

  put (c, "SMBK", 4, 1);
  put_u32 (c, BLOB_VERSION);
  put_u32 (c, (uint32_t) k->n_tokens);
  put_u32 (c, (uint32_t) k->mem_dim);
  put_u32 (c, (uint32_t) k->ptr_dim);
  put_u32 (c, (uint32_t) k->num_maskmem);
  put_u32 (c, (uint32_t) k->max_cond_frames);
  put_u32 (c, (uint32_t) k->max_obj_ptrs);
  put_u32 (c, (uint32_t) k->precision);
  put_u32 (c, b->cond_overflowed ? 1u : 0u);
  put_u32 (c, (uint32_t) b->cond.n);
  put_u32 (c, (uint32_t) b->recent.n);
  put_u32 (c, (uint32_t) b->ptrs.n);
  for (int i = 0; i < b->cond.n; i++) {
    const SamMemEntry *e = &b->cond.e[i];
    put (c, &e->frame_idx, 1, 8);
    put (c, &e->score, 1, 4);
    put_features (c, b, e->feat);
    put (c, e->ptr, (size_t) k->ptr_dim, 4);
  }
  for (int i = 0; i < b->recent.n; i++) {
    const SamMemEntry *e = &b->recent.e[i];
    put (c, &e->frame_idx, 1, 8);
    put (c, &e->score, 1, 4);
    put_features (c, b, e->feat);
  }
  for (int i = 0; i < b->ptrs.n; i++) {
    const SamMemEntry *e = &b->ptrs.e[i];
    put (c, &e->frame_idx, 1, 8);
    put (c, &e->score, 1, 4);
    put (c, e->ptr, (size_t) k->ptr_dim, 4);
  }
}

size_t
sam_memory_bank_serialize (const SamMemoryBank * b, void *buf, size_t len)
{
  Cursor c = { 0 };
  size_t need;

  write_all (&c, b);
  need = c.off;
  if (buf && len >= need) {
    c.p = buf;
    c.off = 0;
    write_all (&c, b);
  }
  return need;
}

/* Reads @n entries into @s; @feat/@ptr: which parts the store holds. */
static bool
read_store (Cursor * c, SamMemoryBank * b, SamMemStore * s, int n,
    bool feat, bool ptr, bool sorted)
{
  for (int i = 0; i < n; i++) {
    SamMemEntry *e = &s->e[i];
    int64_t f;

    get (c, &f, 1, 8);
    if (c->bad || f < 0 || (sorted && i > 0 && f <= s->e[i - 1].frame_idx))
      return false;
    if (!sorted && sam_mem_store_find (s, f) >= 0)
      return false;             /* a conditioning frame twice */
    if (!sam_mem_entry_alloc (b, e, feat, ptr))
      return false;
    e->frame_idx = f;
    get (c, &e->score, 1, 4);
    if (feat)
      get_features (c, b, e->feat);
    if (ptr)
      get (c, e->ptr, (size_t) b->c.ptr_dim, 4);
    if (c->bad)
      return false;
    s->n = i + 1;
  }
  return true;
}

bool
sam_memory_bank_deserialize (SamMemoryBank * b, const void *buf, size_t len)
{
  Cursor c = { .r = buf, .len = buf ? len : 0 };
  const SamMemoryBankConfig *k = &b->c;
  uint32_t h[HEADER_WORDS];
  char magic[4];

  sam_memory_bank_clear (b);
  get (&c, magic, 4, 1);
  for (int i = 0; i < HEADER_WORDS; i++)
    h[i] = get_u32 (&c);
  if (c.bad || memcmp (magic, "SMBK", 4) != 0 || h[0] != BLOB_VERSION
      || h[1] != (uint32_t) k->n_tokens || h[2] != (uint32_t) k->mem_dim
      || h[3] != (uint32_t) k->ptr_dim || h[4] != (uint32_t) k->num_maskmem
      || h[5] != (uint32_t) k->max_cond_frames
      || h[6] != (uint32_t) k->max_obj_ptrs
      || h[7] != (uint32_t) k->precision || h[8] > 1u
      || h[9] > (uint32_t) b->cond.cap || h[10] > (uint32_t) b->recent.cap
      || h[11] > (uint32_t) b->ptrs.cap)
    return false;
  b->cond_overflowed = h[8] != 0;
  if (!read_store (&c, b, &b->cond, (int) h[9], true, true, false)
      || !read_store (&c, b, &b->recent, (int) h[10], true, false, true)
      || !read_store (&c, b, &b->ptrs, (int) h[11], false, true, true)
      || c.off != len) {
    sam_memory_bank_clear (b);
    return false;
  }
  return true;
}
