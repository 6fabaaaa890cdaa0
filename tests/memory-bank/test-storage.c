/* test-storage.c — libsamseg-memory-bank storage: what is kept and what is
 * evicted, bounded memory over long streams, bf16/f32 storage, and the
 * per-stream set of objects. */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "memory-bank.h"

static SamMemoryBankConfig
small_config (void)
{
  SamMemoryBankConfig c;
  sam_memory_bank_config_init (&c);
  c.n_tokens = 16;
  c.mem_dim = 4;
  c.ptr_dim = 8;
  return c;
}

static void
add (SamMemoryBank * b, int64_t f, bool cond)
{
  const SamMemoryBankConfig *c = sam_memory_bank_config (b);
  float *feat = g_new (float, c->n_tokens * c->mem_dim);
  float *ptr = g_new (float, c->ptr_dim);
  for (int i = 0; i < c->n_tokens * c->mem_dim; i++)
    feat[i] = (float) (f % 200);
  for (int i = 0; i < c->ptr_dim; i++)
    ptr[i] = (float) f;
  g_assert_true (sam_memory_bank_add (b, f, cond, feat, ptr, 1.f));
  g_free (ptr);
  g_free (feat);
}

static void
test_defaults (void)
{
  SamMemoryBankConfig c;
  sam_memory_bank_config_init (&c);
  g_assert_cmpint (c.n_tokens, ==, 4096);
  g_assert_cmpint (c.mem_dim, ==, 64);
  g_assert_cmpint (c.ptr_dim, ==, 256);
  g_assert_cmpint (c.num_maskmem, ==, 7);
  g_assert_cmpint (c.max_cond_frames, ==, 16);
  g_assert_cmpint (c.max_obj_ptrs, ==, 16);
  g_assert_cmpint (c.precision, ==, SAM_MEMORY_BANK_PRECISION_BF16);

  SamMemoryBankConfig bad = c;
  bad.max_cond_frames = 1;      /* the reference asserts >= 2 */
  g_assert_null (sam_memory_bank_new (&bad));
  bad = c;
  bad.num_maskmem = 0;
  g_assert_null (sam_memory_bank_new (&bad));
  bad = c;
  bad.max_obj_ptrs = SAM_MEMORY_BANK_MAX_PTRS + 1;
  g_assert_null (sam_memory_bank_new (&bad));
  bad = c;
  bad.precision = (SamMemoryBankPrecision) 7;
  g_assert_null (sam_memory_bank_new (&bad));
  g_assert_null (sam_memory_bank_new (NULL));

  SamMemoryBank *b = sam_memory_bank_new (&c);
  float x = 0;
  g_assert_false (sam_memory_bank_add (b, -1, false, &x, &x, 0));
  sam_memory_bank_free (b);
  sam_memory_bank_free (NULL);
}

/* The recent stores keep the newest frames; an older frame arriving late
 * into a full store is dropped, a newer one evicts the oldest. */
static void
test_eviction (void)
{
  SamMemoryBankConfig c = small_config ();
  SamMemoryBank *b;
  SamMemorySelection sel;

  c.num_maskmem = 4;            /* 3 recent feature slots */
  c.max_obj_ptrs = 5;           /* 4 recent pointer slots */
  b = sam_memory_bank_new (&c);
  add (b, 0, true);
  for (int f = 1; f <= 10; f++) {
    add (b, f, false);
    g_assert_cmpint (sam_memory_bank_n_recent (b), ==, MIN (f, 3));
    g_assert_cmpint (sam_memory_bank_n_ptrs (b), ==, MIN (f, 4));
  }
  /* features of 8, 9, 10; pointers of 7..10 */
  g_assert_true (sam_memory_bank_select (b, 11, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 4);
  g_assert_cmpint (sel.spatial[1].frame_idx, ==, 8);
  g_assert_cmpint (sel.spatial[3].frame_idx, ==, 10);
  g_assert_cmpint (sel.n_ptrs, ==, 5);
  g_assert_cmpint (sel.ptrs[4].frame_idx, ==, 7);
  /* late and old: rejected, nothing changes */
  add (b, 2, false);
  g_assert_true (sam_memory_bank_select (b, 11, 0, &sel));
  g_assert_cmpint (sel.spatial[1].frame_idx, ==, 8);
  g_assert_cmpint (sel.ptrs[4].frame_idx, ==, 7);
  /* late but within the window: it evicts the oldest (7) from pointers */
  sam_memory_bank_clear (b);
  g_assert_true (sam_memory_bank_is_empty (b));
  add (b, 0, true);
  for (int f = 1; f <= 10; f++)
    if (f != 9)
      add (b, f, false);
  add (b, 9, false);
  g_assert_true (sam_memory_bank_select (b, 11, 0, &sel));
  g_assert_cmpint (sel.spatial[1].frame_idx, ==, 8);
  g_assert_cmpint (sel.spatial[2].frame_idx, ==, 9);
  g_assert_cmpint (sel.spatial[3].frame_idx, ==, 10);
  g_assert_cmpint (sel.ptrs[1].frame_idx, ==, 10);
  g_assert_cmpint (sel.ptrs[4].frame_idx, ==, 7);
  sam_memory_bank_free (b);

  /* num_maskmem 1, max_obj_ptrs 1: only conditioning frames */
  c.num_maskmem = 1;
  c.max_obj_ptrs = 1;
  b = sam_memory_bank_new (&c);
  add (b, 0, true);
  for (int f = 1; f < 5; f++)
    add (b, f, false);
  g_assert_cmpint (sam_memory_bank_n_recent (b), ==, 0);
  g_assert_true (sam_memory_bank_select (b, 5, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 1);
  g_assert_cmpint (sel.n_ptrs, ==, 1);
  g_assert_cmpint (sel.t_diff_max, ==, 0);
  sam_memory_bank_free (b);
}

/* Conditioning frames over the cap leave oldest first (streaming). */
static void
test_cond_eviction (void)
{
  SamMemoryBankConfig c = small_config ();
  SamMemoryBank *b;
  SamMemorySelection sel;

  c.max_cond_frames = 4;
  b = sam_memory_bank_new (&c);
  for (int f = 0; f < 100; f += 10)
    add (b, f, true);
  g_assert_cmpint (sam_memory_bank_n_cond (b), ==, 4);
  g_assert_true (sam_memory_bank_select (b, 95, 0, &sel));
  const int64_t want[] = { 90, 80, 70, 60 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (sel.spatial[i].frame_idx, ==, want[i]);
  /* the demoted 50 is too old for the recent window of frame 95 */
  g_assert_cmpint (sel.n_spatial, ==, 4);
  sam_memory_bank_free (b);
}

/* Bounded: after the stores fill up, no more memory however long the
 * stream, with prompts now and then. */
static void
test_constant_memory (void)
{
  SamMemoryBankConfig c = small_config ();
  SamMemoryBank *b = sam_memory_bank_new (&c);
  SamMemorySelection sel;
  size_t full = 0;

  for (int64_t f = 0; f < 100000; f++) {
    if (f > 0)
      g_assert_true (sam_memory_bank_select (b, f, 0, &sel));
    add (b, f, f % 997 == 0);
    if (f == 20000)
      full = sam_memory_bank_bytes (b);
    if (f > 20000)
      g_assert_cmpuint (sam_memory_bank_bytes (b), ==, full);
  }
  g_assert_cmpint (sam_memory_bank_n_cond (b), ==, 16);
  g_assert_cmpint (sam_memory_bank_n_recent (b), ==, 6);
  g_assert_cmpint (sam_memory_bank_n_ptrs (b), ==, 15);
  /* storage: 16 + 6 feature buffers (bf16), 16 + 15 pointers */
  size_t data = (16 + 6) * 16 * 4 * sizeof (uint16_t)
      + (16 + 15) * 8 * sizeof (float);
  g_assert_cmpuint (full, >=, data);
  g_assert_cmpuint (full, <=, data + 4096);
  g_test_message ("bank of 16 cond + 6 recent frames: %zu bytes", full);
  g_assert_cmpint (sel.n_spatial, ==, 16 + 6);
  g_assert_cmpint (sel.n_ptrs, ==, 16 + 15);
  sam_memory_bank_free (b);
}

static void
test_bf16 (void)
{
  SamMemoryBankConfig c = small_config ();
  const int n = c.n_tokens * c.mem_dim;
  float feat[16 * 4], out[16 * 4], ptr[8] = { 0.1f };
  SamMemorySelection sel;

  for (int i = 0; i < n; i++)
    feat[i] = (1.f + (float) i / 1000.f) * (i & 1 ? -1.f : 1.f);
  feat[0] = 1.00390625f;        /* 1 + 2^-8: a tie, rounds to even (1) */
  feat[2] = 1.01171875f;        /* 1 + 3·2^-8: a tie, rounds up to 1 + 2^-6 */
  for (int f32 = 0; f32 < 2; f32++) {
    c.precision = f32 ? SAM_MEMORY_BANK_PRECISION_F32 :
        SAM_MEMORY_BANK_PRECISION_BF16;
    SamMemoryBank *b = sam_memory_bank_new (&c);
    g_assert_true (sam_memory_bank_add (b, 0, true, feat, ptr, 1.f));
    g_assert_true (sam_memory_bank_select (b, 1, 0, &sel));
    sam_memory_bank_read_features (b, &sel.spatial[0], out);
    g_assert_cmpfloat (sel.ptrs[0].obj_ptr[0], ==, 0.1f);
    if (f32) {
      g_assert_cmpmem (out, sizeof out, feat, sizeof feat);
    } else {
      g_assert_cmpfloat (out[0], ==, 1.f);
      g_assert_cmpfloat (out[2], ==, 1.015625f);
      for (int i = 0; i < n; i++)
        g_assert_cmpfloat (fabsf (out[i] - feat[i]), <=,
            fabsf (feat[i]) / 256.f);
    }
    g_test_message ("%s storage: %zu bytes", f32 ? "f32" : "bf16",
        sam_memory_bank_bytes (b));
    sam_memory_bank_free (b);
  }
}

/* int8: per-channel scales, error within half a step of each channel. */
static void
test_int8 (void)
{
  SamMemoryBankConfig c = small_config ();
  const int T = c.n_tokens, C = c.mem_dim;
  float feat[16 * 4], out[16 * 4], ptr[8] = { 0.25f };
  SamMemorySelection sel;

  /* channel c has range ~10^c, so one scale for all would lose channel 0 */
  for (int t = 0; t < T; t++)
    for (int k = 0; k < C; k++)
      feat[t * C + k] = sinf ((float) (t * 7 + k)) * powf (10.f, (float) k);
  feat[5 * C + 1] = 0.f;
  c.precision = SAM_MEMORY_BANK_PRECISION_INT8;
  g_assert_cmpuint (sam_memory_bank_feature_bytes (&c), ==,
      (size_t) T * C + sizeof (float) * C);
  SamMemoryBank *b = sam_memory_bank_new (&c);
  g_assert_true (sam_memory_bank_add (b, 0, true, feat, ptr, 1.f));
  g_assert_true (sam_memory_bank_select (b, 1, 0, &sel));
  sam_memory_bank_read_features (b, &sel.spatial[0], out);
  g_assert_cmpfloat (sel.ptrs[0].obj_ptr[0], ==, 0.25f);       /* f32 */
  for (int k = 0; k < C; k++) {
    float amax = 0;
    for (int t = 0; t < T; t++)
      amax = fmaxf (amax, fabsf (feat[t * C + k]));
    for (int t = 0; t < T; t++)
      g_assert_cmpfloat (fabsf (out[t * C + k] - feat[t * C + k]), <=,
          amax / 127.f * 0.5001f);
  }
  g_assert_cmpfloat (out[5 * C + 1], ==, 0.f);

  /* an all-zero memory stays zero (scale 0) */
  float zero[16 * 4] = { 0 };
  g_assert_true (sam_memory_bank_add (b, 1, false, zero, ptr, 1.f));
  g_assert_true (sam_memory_bank_select (b, 2, 0, &sel));
  sam_memory_bank_read_features (b, &sel.spatial[1], out);
  for (int i = 0; i < T * C; i++)
    g_assert_cmpfloat (out[i], ==, 0.f);
  sam_memory_bank_free (b);

  /* the saving at SAM 2.1's 64×64 tokens */
  SamMemoryBankConfig d;
  sam_memory_bank_config_init (&d);
  size_t bf16 = sam_memory_bank_feature_bytes (&d);
  d.precision = SAM_MEMORY_BANK_PRECISION_INT8;
  size_t i8 = sam_memory_bank_feature_bytes (&d);
  g_assert_cmpuint (bf16, ==, 4096 * 64 * 2);
  g_assert_cmpuint (i8, ==, 4096 * 64 + 64 * 4);
  g_test_message ("one 1024-input memory: bf16 %zu, int8 %zu bytes", bf16,
      i8);
}

static void
test_set (void)
{
  SamMemoryBankConfig c = small_config ();
  SamMemoryBankSet *s = sam_memory_bank_set_new (&c, 3);
  SamMemoryBank *b1, *b2, *b3;

  g_assert_nonnull (s);
  g_assert_null (sam_memory_bank_set_new (&c, 0));
  b1 = sam_memory_bank_set_add (s, 11);
  b2 = sam_memory_bank_set_add (s, 22);
  b3 = sam_memory_bank_set_add (s, 33);
  g_assert_true (b1 && b2 && b3 && b1 != b2 && b2 != b3);
  g_assert_true (sam_memory_bank_set_add (s, 22) == b2);   /* existing */
  g_assert_null (sam_memory_bank_set_add (s, 44));  /* full */
  g_assert_cmpint (sam_memory_bank_set_n_objects (s), ==, 3);
  add (b1, 0, true);
  add (b2, 0, true);
  add (b2, 1, false);
  size_t bytes = sam_memory_bank_set_bytes (s);

  /* removing keeps the order of the others (obj_idx order) */
  g_assert_true (sam_memory_bank_set_remove (s, 22));
  g_assert_false (sam_memory_bank_set_remove (s, 22));
  g_assert_cmpint (sam_memory_bank_set_n_objects (s), ==, 2);
  g_assert_cmpuint (sam_memory_bank_set_obj_id (s, 0), ==, 11);
  g_assert_cmpuint (sam_memory_bank_set_obj_id (s, 1), ==, 33);
  g_assert_true (sam_memory_bank_set_nth (s, 1) == b3);
  g_assert_null (sam_memory_bank_set_nth (s, 2));
  g_assert_null (sam_memory_bank_set_get (s, 22));
  g_assert_true (sam_memory_bank_set_get (s, 11) == b1);
  g_assert_cmpuint (sam_memory_bank_set_bytes (s), <, bytes);
  g_assert_cmpint (sam_memory_bank_n_cond (b1), ==, 1);

  /* a re-added id starts empty, at the end */
  SamMemoryBank *b2b = sam_memory_bank_set_add (s, 22);
  g_assert_true (sam_memory_bank_is_empty (b2b));
  g_assert_cmpuint (sam_memory_bank_set_obj_id (s, 2), ==, 22);

  sam_memory_bank_set_reset (s);
  g_assert_cmpint (sam_memory_bank_set_n_objects (s), ==, 0);
  g_assert_null (sam_memory_bank_set_get (s, 11));
  g_assert_nonnull (sam_memory_bank_set_add (s, 5));
  sam_memory_bank_set_free (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/memory-bank/storage/defaults", test_defaults);
  g_test_add_func ("/memory-bank/storage/eviction", test_eviction);
  g_test_add_func ("/memory-bank/storage/cond-eviction", test_cond_eviction);
  g_test_add_func ("/memory-bank/storage/int8", test_int8);
  g_test_add_func ("/memory-bank/storage/constant-memory",
      test_constant_memory);
  g_test_add_func ("/memory-bank/storage/bf16", test_bf16);
  g_test_add_func ("/memory-bank/storage/set", test_set);
  return g_test_run ();
}
