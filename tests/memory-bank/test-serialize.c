/* test-serialize.c — libsamseg-memory-bank snapshots: a restored bank is
 * bit-identical (same selection, same features) and stays so as the stream
 * goes on; blobs from another config, truncated or malformed are refused. */
#include <glib.h>
#include <string.h>
#include "memory-bank.h"

static SamMemoryBankConfig
small_config (SamMemoryBankPrecision p)
{
  SamMemoryBankConfig c;
  sam_memory_bank_config_init (&c);
  c.n_tokens = 16;
  c.mem_dim = 4;
  c.ptr_dim = 8;
  c.num_maskmem = 4;
  c.max_cond_frames = 3;
  c.max_obj_ptrs = 5;
  c.precision = p;
  return c;
}

static void
add (SamMemoryBank * b, int64_t f, bool cond)
{
  const SamMemoryBankConfig *c = sam_memory_bank_config (b);
  float feat[16 * 4], ptr[8];
  GRand *r = g_rand_new_with_seed ((guint32) f);
  for (int i = 0; i < c->n_tokens * c->mem_dim; i++)
    feat[i] = (float) g_rand_double_range (r, -3, 3);
  for (int i = 0; i < c->ptr_dim; i++)
    ptr[i] = (float) g_rand_double_range (r, -1, 1);
  g_assert_true (sam_memory_bank_add (b, f, cond, feat, ptr,
          (float) g_rand_double (r)));
  g_rand_free (r);
}

/* Same selection for @f, same frames, scores, pointers and features. */
static void
assert_same (const SamMemoryBank * a, const SamMemoryBank * b, int64_t f)
{
  SamMemorySelection sa, sb;
  float fa[16 * 4], fb[16 * 4];

  g_assert_cmpint (sam_memory_bank_n_cond (a), ==, sam_memory_bank_n_cond (b));
  g_assert_cmpint (sam_memory_bank_n_recent (a), ==,
      sam_memory_bank_n_recent (b));
  g_assert_cmpint (sam_memory_bank_n_ptrs (a), ==, sam_memory_bank_n_ptrs (b));
  g_assert_true (sam_memory_bank_select (a, f, 0, &sa));
  g_assert_true (sam_memory_bank_select (b, f, 0, &sb));
  g_assert_cmpint (sa.n_spatial, ==, sb.n_spatial);
  g_assert_cmpint (sa.n_ptrs, ==, sb.n_ptrs);
  for (int i = 0; i < sa.n_spatial; i++) {
    g_assert_cmpint (sa.spatial[i].frame_idx, ==, sb.spatial[i].frame_idx);
    g_assert_cmpint (sa.spatial[i].t_pos, ==, sb.spatial[i].t_pos);
    g_assert_true (sa.spatial[i].is_cond == sb.spatial[i].is_cond);
    g_assert_cmpmem (&sa.spatial[i].object_score, 4,
        &sb.spatial[i].object_score, 4);
    sam_memory_bank_read_features (a, &sa.spatial[i], fa);
    sam_memory_bank_read_features (b, &sb.spatial[i], fb);
    g_assert_cmpmem (fa, sizeof fa, fb, sizeof fb);
  }
  for (int i = 0; i < sa.n_ptrs; i++) {
    g_assert_cmpint (sa.ptrs[i].frame_idx, ==, sb.ptrs[i].frame_idx);
    g_assert_cmpint (sa.ptrs[i].t_diff, ==, sb.ptrs[i].t_diff);
    g_assert_cmpmem (sa.ptrs[i].obj_ptr, 8 * 4, sb.ptrs[i].obj_ptr, 8 * 4);
  }
}

static guint8 *
serialize (const SamMemoryBank * b, size_t *len)
{
  *len = sam_memory_bank_serialize (b, NULL, 0);
  guint8 *buf = g_malloc (*len);
  g_assert_cmpuint (sam_memory_bank_serialize (b, buf, *len), ==, *len);
  return buf;
}

static void
test_round_trip (gconstpointer data)
{
  SamMemoryBankPrecision p = GPOINTER_TO_INT (data);
  SamMemoryBankConfig c = small_config (p);
  SamMemoryBank *a = sam_memory_bank_new (&c), *b = sam_memory_bank_new (&c);
  size_t len;

  /* empty */
  guint8 *buf = serialize (a, &len);
  g_assert_true (sam_memory_bank_deserialize (b, buf, len));
  g_assert_true (sam_memory_bank_is_empty (b));
  g_free (buf);

  /* 5 conditioning frames into 3 slots (overflowed selection order), and
   * enough others to fill and evict the recent stores */
  for (int64_t f = 0; f < 40; f++)
    add (a, f, f % 8 == 0);
  buf = serialize (a, &len);
  add (b, 3, true);             /* whatever b held is replaced */
  g_assert_true (sam_memory_bank_deserialize (b, buf, len));
  assert_same (a, b, 40);
  /* continuing the stream on both keeps them identical */
  for (int64_t f = 40; f < 60; f++) {
    add (a, f, f % 11 == 0);
    add (b, f, f % 11 == 0);
    assert_same (a, b, f + 1);
  }
  /* a second round trip serializes to the same bytes */
  size_t len2;
  guint8 *buf2 = serialize (b, &len2);
  g_free (buf);
  buf = serialize (a, &len);
  g_assert_cmpmem (buf, len, buf2, len2);
  g_test_message ("precision %d: %zu-byte blob", p, len);
  g_free (buf);
  g_free (buf2);
  sam_memory_bank_free (a);
  sam_memory_bank_free (b);
}

static void
test_refusals (void)
{
  SamMemoryBankConfig c = small_config (SAM_MEMORY_BANK_PRECISION_BF16);
  SamMemoryBank *a = sam_memory_bank_new (&c);
  size_t len;

  for (int64_t f = 0; f < 12; f++)
    add (a, f, f % 5 == 0);
  guint8 *buf = serialize (a, &len);
  g_assert_cmpuint (sam_memory_bank_serialize (a, buf, len - 1), ==, len);

  /* other configs */
  SamMemoryBankConfig others[4];
  for (int i = 0; i < 4; i++)
    others[i] = c;
  others[0].precision = SAM_MEMORY_BANK_PRECISION_INT8;
  others[1].n_tokens = 64;
  others[2].num_maskmem = 7;
  others[3].max_cond_frames = 4;
  for (int i = 0; i < 4; i++) {
    SamMemoryBank *o = sam_memory_bank_new (&others[i]);
    g_assert_false (sam_memory_bank_deserialize (o, buf, len));
    g_assert_true (sam_memory_bank_is_empty (o));
    sam_memory_bank_free (o);
  }

  SamMemoryBank *b = sam_memory_bank_new (&c);
  /* truncated anywhere, or with a trailing byte */
  for (size_t cut = 0; cut < len; cut += 7) {
    add (b, 0, true);
    g_assert_false (sam_memory_bank_deserialize (b, buf, cut));
    g_assert_true (sam_memory_bank_is_empty (b));
  }
  guint8 *longer = g_malloc0 (len + 1);
  memcpy (longer, buf, len);
  g_assert_false (sam_memory_bank_deserialize (b, longer, len + 1));
  g_free (longer);
  g_assert_false (sam_memory_bank_deserialize (b, NULL, 0));

  /* malformed headers and entries */
  guint8 *bad = g_memdup2 (buf, len);
  bad[0] = 'X';                 /* magic */
  g_assert_false (sam_memory_bank_deserialize (b, bad, len));
  memcpy (bad, buf, len);
  bad[4] = 2;                   /* version */
  g_assert_false (sam_memory_bank_deserialize (b, bad, len));
  memcpy (bad, buf, len);
  bad[4 + 9 * 4] = 200;         /* n_cond above the cap */
  g_assert_false (sam_memory_bank_deserialize (b, bad, len));
  memcpy (bad, buf, len);
  bad[4 + 12 * 4 + 7] = 0x80;   /* first frame index negative */
  g_assert_false (sam_memory_bank_deserialize (b, bad, len));
  g_free (bad);

  /* the intact blob still loads */
  g_assert_true (sam_memory_bank_deserialize (b, buf, len));
  assert_same (a, b, 12);
  g_free (buf);
  sam_memory_bank_free (a);
  sam_memory_bank_free (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/memory-bank/serialize/bf16",
      GINT_TO_POINTER (SAM_MEMORY_BANK_PRECISION_BF16), test_round_trip);
  g_test_add_data_func ("/memory-bank/serialize/f32",
      GINT_TO_POINTER (SAM_MEMORY_BANK_PRECISION_F32), test_round_trip);
  g_test_add_data_func ("/memory-bank/serialize/int8",
      GINT_TO_POINTER (SAM_MEMORY_BANK_PRECISION_INT8), test_round_trip);
  g_test_add_func ("/memory-bank/serialize/refusals", test_refusals);
  return g_test_run ();
}
