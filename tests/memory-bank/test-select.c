/* test-select.c — memory selection semantics of libsamseg-memory-bank,
 * by hand-worked cases and against a direct port of the reference
 * (_prepare_memory_conditioned_features over unbounded dicts) on random
 * streams. */
#include <glib.h>
#include <string.h>
#include "memory-bank.h"

#define NT 4                    /* tokens per memory */
#define MD 2                    /* mem_dim */
#define PD 8                    /* ptr_dim */

static SamMemoryBank *
bank_new (int num_maskmem, int max_cond, int max_ptrs)
{
  SamMemoryBankConfig c;
  sam_memory_bank_config_init (&c);
  c.n_tokens = NT;
  c.mem_dim = MD;
  c.ptr_dim = PD;
  c.num_maskmem = num_maskmem;
  c.max_cond_frames = max_cond;
  c.max_obj_ptrs = max_ptrs;
  SamMemoryBank *b = sam_memory_bank_new (&c);
  g_assert_nonnull (b);
  return b;
}

/* Frame f's memory: features f % 32 + v/4 (exact in bf16), pointer
 * f + 0.5; a version tag v lets replaced memories be told apart. */
static void
add (SamMemoryBank * b, int64_t f, bool cond, int v)
{
  float feat[NT * MD], ptr[PD];
  for (int i = 0; i < NT * MD; i++)
    feat[i] = (float) (f % 32) + v * 0.25f;
  for (int i = 0; i < PD; i++)
    ptr[i] = (float) f + 0.5f + v;
  g_assert_true (sam_memory_bank_add (b, f, cond, feat, ptr, (float) -f));
}

static float
feat0 (const SamMemoryBank * b, const SamMemorySpatial * s)
{
  float out[NT * MD];
  sam_memory_bank_read_features (b, s, out);
  for (int i = 1; i < NT * MD; i++)
    g_assert_cmpfloat (out[i], ==, out[0]);
  return out[0];
}

static void
test_closest_cond (void)
{
  const int64_t fr[] = { 0, 10, 20, 30, 40 };
  int64_t sel[8];
  int n;

  /* under the cap: everything, in insertion order */
  n = sam_memory_select_closest_cond (25, fr, 5, 5, sel);
  g_assert_cmpint (n, ==, 5);
  g_assert_cmpmem (sel, 5 * sizeof (int64_t), fr, 5 * sizeof (int64_t));
  n = sam_memory_select_closest_cond (25, fr, 5, -1, sel);
  g_assert_cmpint (n, ==, 5);
  /* before (20), at/after (30), then by distance; 10 and 40 tie at 15:
   * insertion order breaks it */
  n = sam_memory_select_closest_cond (25, fr, 5, 3, sel);
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpint (sel[0], ==, 20);
  g_assert_cmpint (sel[1], ==, 30);
  g_assert_cmpint (sel[2], ==, 10);
  /* the frame itself counts as "after" */
  n = sam_memory_select_closest_cond (20, fr, 5, 2, sel);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (sel[0], ==, 10);
  g_assert_cmpint (sel[1], ==, 20);
  /* past every frame: the newest ones, newest first */
  n = sam_memory_select_closest_cond (50, fr, 5, 3, sel);
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpint (sel[0], ==, 40);
  g_assert_cmpint (sel[1], ==, 30);
  g_assert_cmpint (sel[2], ==, 20);
  /* before every frame: no "before" */
  n = sam_memory_select_closest_cond (-5, fr, 5, 2, sel);
  g_assert_cmpint (sel[0], ==, 0);
  g_assert_cmpint (sel[1], ==, 10);
  /* insertion order is kept in the capped branch's tie-break too */
  const int64_t fr2[] = { 40, 0, 30, 10, 20 };
  n = sam_memory_select_closest_cond (25, fr2, 5, 4, sel);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (sel[0], ==, 20);
  g_assert_cmpint (sel[1], ==, 30);
  g_assert_cmpint (sel[2], ==, 40);
  g_assert_cmpint (sel[3], ==, 10);
}

/* t256-like: a prompt on frame 0, then tracking. */
static void
test_recency (void)
{
  SamMemoryBank *b = bank_new (7, 16, 16);
  SamMemorySelection sel;

  g_assert_false (sam_memory_bank_select (b, 0, 0, &sel));
  add (b, 0, true, 0);
  g_assert_true (sam_memory_bank_select (b, 1, 8, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 1);
  g_assert_cmpint (sel.spatial[0].t_pos, ==, 0);
  g_assert_true (sel.spatial[0].is_cond);
  g_assert_cmpint (sel.n_ptrs, ==, 1);
  g_assert_cmpint (sel.ptrs[0].t_diff, ==, 1);
  g_assert_cmpint (sel.max_obj_ptrs, ==, 8);
  g_assert_cmpint (sel.t_diff_max, ==, 7);

  for (int f = 1; f < 10; f++)
    add (b, f, false, 0);
  /* frame 10: cond 0, then frames 4..9 with t_pos 1..6 */
  g_assert_true (sam_memory_bank_select (b, 10, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 7);
  g_assert_cmpint (sel.spatial[0].frame_idx, ==, 0);
  g_assert_cmpfloat (feat0 (b, &sel.spatial[0]), ==, 0.f);
  for (int i = 1; i < 7; i++) {
    g_assert_cmpint (sel.spatial[i].t_pos, ==, i);
    g_assert_cmpint (sel.spatial[i].frame_idx, ==, 3 + i);
    g_assert_false (sel.spatial[i].is_cond);
    g_assert_cmpfloat (sel.spatial[i].object_score, ==, -(3 + i));
    g_assert_cmpfloat (feat0 (b, &sel.spatial[i]), ==, 3 + i);
  }
  /* pointers: cond 0 (t_diff 10), then 9, 8, ..., 1 (live: max 16) */
  g_assert_cmpint (sel.max_obj_ptrs, ==, 16);
  g_assert_cmpint (sel.t_diff_max, ==, 15);
  g_assert_cmpint (sel.n_ptrs, ==, 10);
  g_assert_cmpint (sel.ptrs[0].frame_idx, ==, 0);
  g_assert_cmpint (sel.ptrs[0].t_diff, ==, 10);
  for (int i = 1; i < 10; i++) {
    g_assert_cmpint (sel.ptrs[i].frame_idx, ==, 10 - i);
    g_assert_cmpint (sel.ptrs[i].t_diff, ==, i);
    g_assert_cmpfloat (sel.ptrs[i].obj_ptr[0], ==, 10 - i + 0.5f);
  }
  /* with num_frames = 5 the pointer window is 4 and the loop stops at
   * frames >= num_frames (the reference's break) */
  g_assert_true (sam_memory_bank_select (b, 6, 5, &sel));
  g_assert_cmpint (sel.t_diff_max, ==, 4);
  g_assert_cmpint (sel.n_ptrs, ==, 1);
  sam_memory_bank_free (b);
}

static void
test_gaps (void)
{
  SamMemoryBank *b = bank_new (7, 16, 16);
  SamMemorySelection sel;

  add (b, 0, true, 0);
  /* frames 3, 5, 8 missing */
  for (int f = 1; f < 12; f++)
    if (f != 3 && f != 5 && f != 8)
      add (b, f, false, 0);
  g_assert_true (sam_memory_bank_select (b, 12, 0, &sel));
  /* window 6..11 minus 8 */
  g_assert_cmpint (sel.n_spatial, ==, 1 + 5);
  const int64_t want[] = { 6, 7, 9, 10, 11 }, tpos[] = { 1, 2, 4, 5, 6 };
  for (int i = 0; i < 5; i++) {
    g_assert_cmpint (sel.spatial[1 + i].frame_idx, ==, want[i]);
    g_assert_cmpint (sel.spatial[1 + i].t_pos, ==, tpos[i]);
  }
  /* pointers skip missing frames but go on (no break) */
  g_assert_cmpint (sel.n_ptrs, ==, 1 + 8);
  const int64_t pf[] = { 0, 11, 10, 9, 7, 6, 4, 2, 1 };
  for (int i = 0; i < 9; i++)
    g_assert_cmpint (sel.ptrs[i].frame_idx, ==, pf[i]);

  /* a long gap: nothing recent at all, only the conditioning frame */
  g_assert_true (sam_memory_bank_select (b, 100, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 1);
  g_assert_cmpint (sel.n_ptrs, ==, 1);
  g_assert_cmpint (sel.ptrs[0].t_diff, ==, 100);
  sam_memory_bank_free (b);
}

/* Several conditioning frames; the one in the future is attended
 * spatially but its pointer is not used (only_obj_ptrs_in_the_past). */
static void
test_cond_frames (void)
{
  SamMemoryBank *b = bank_new (7, 16, 16);
  SamMemorySelection sel;

  add (b, 0, true, 0);
  add (b, 1, false, 0);
  add (b, 2, false, 0);
  add (b, 3, true, 0);          /* re-prompted while tracking */
  add (b, 4, false, 0);
  add (b, 9, true, 0);          /* a frame ahead (not in streaming) */
  g_assert_cmpint (sam_memory_bank_n_cond (b), ==, 3);
  g_assert_true (sam_memory_bank_select (b, 5, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 3 + 3);
  g_assert_cmpint (sel.spatial[0].frame_idx, ==, 0);
  g_assert_cmpint (sel.spatial[1].frame_idx, ==, 3);
  g_assert_cmpint (sel.spatial[2].frame_idx, ==, 9);
  /* recent: frames 1, 2, 4 (3 is a conditioning frame, not repeated) */
  g_assert_cmpint (sel.spatial[3].frame_idx, ==, 1);
  g_assert_cmpint (sel.spatial[3].t_pos, ==, 3);
  g_assert_cmpint (sel.spatial[5].frame_idx, ==, 4);
  g_assert_cmpint (sel.spatial[5].t_pos, ==, 6);
  /* pointers: cond 0 (+5), cond 3 (+2), not 9; then 4, 2, 1 */
  g_assert_cmpint (sel.n_ptrs, ==, 5);
  g_assert_cmpint (sel.ptrs[0].t_diff, ==, 5);
  g_assert_cmpint (sel.ptrs[1].t_diff, ==, 2);
  g_assert_cmpint (sel.ptrs[2].frame_idx, ==, 4);
  g_assert_cmpint (sel.ptrs[3].frame_idx, ==, 2);
  g_assert_cmpint (sel.ptrs[4].frame_idx, ==, 1);
  for (int i = 0; i < sel.n_ptrs; i++)
    g_assert_cmpint (sel.ptrs[i].t_diff, >=, 0);
  /* at a conditioning frame itself its pointer has t_diff 0 */
  g_assert_true (sam_memory_bank_select (b, 9, 0, &sel));
  g_assert_cmpint (sel.ptrs[2].frame_idx, ==, 9);
  g_assert_cmpint (sel.ptrs[2].t_diff, ==, 0);

  /* a tracked result never overrides a conditioning one */
  add (b, 3, false, 1);
  g_assert_true (sam_memory_bank_select (b, 5, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 6);
  g_assert_cmpfloat (feat0 (b, &sel.spatial[1]), ==, 3.f);
  /* re-prompting replaces in place (insertion order kept) */
  add (b, 3, true, 2);
  g_assert_true (sam_memory_bank_select (b, 5, 0, &sel));
  g_assert_cmpint (sel.spatial[1].frame_idx, ==, 3);
  g_assert_cmpfloat (feat0 (b, &sel.spatial[1]), ==, 3.5f);
  /* a prompt on a tracked frame turns it into a conditioning frame */
  add (b, 4, true, 0);
  g_assert_true (sam_memory_bank_select (b, 5, 0, &sel));
  g_assert_cmpint (sel.n_spatial, ==, 4 + 2);
  g_assert_cmpint (sel.spatial[3].frame_idx, ==, 4);
  g_assert_cmpint (sel.spatial[3].t_pos, ==, 0);
  sam_memory_bank_free (b);
}

/* More conditioning frames than the cap: the bank keeps the closest ones
 * (for streaming, the newest) in the reference's capped-selection order;
 * dropped ones still serve as recent frames. */
static void
test_cond_cap (void)
{
  SamMemoryBank *b = bank_new (7, 3, 16);
  SamMemorySelection sel;

  for (int f = 0; f < 6; f++)
    add (b, f, true, 0);
  g_assert_cmpint (sam_memory_bank_n_cond (b), ==, 3);
  g_assert_true (sam_memory_bank_select (b, 6, 0, &sel));
  /* selected: before = 5, then by distance 4, 3 */
  g_assert_cmpint (sel.spatial[0].frame_idx, ==, 5);
  g_assert_cmpint (sel.spatial[1].frame_idx, ==, 4);
  g_assert_cmpint (sel.spatial[2].frame_idx, ==, 3);
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (sel.spatial[i].t_pos, ==, 0);
  /* unselected 0, 1, 2 are within the last 6 frames: non-cond memories */
  g_assert_cmpint (sel.n_spatial, ==, 6);
  g_assert_cmpint (sel.spatial[3].frame_idx, ==, 0);
  g_assert_cmpint (sel.spatial[3].t_pos, ==, 1);
  g_assert_false (sel.spatial[3].is_cond);
  g_assert_cmpint (sel.spatial[5].frame_idx, ==, 2);
  g_assert_cmpint (sel.spatial[5].t_pos, ==, 3);
  g_assert_cmpfloat (feat0 (b, &sel.spatial[5]), ==, 2.f);
  /* pointers: 5, 4, 3 (selected cond), then 2, 1, 0 as past frames */
  g_assert_cmpint (sel.n_ptrs, ==, 6);
  const int64_t pf[] = { 5, 4, 3, 2, 1, 0 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpint (sel.ptrs[i].frame_idx, ==, pf[i]);
  sam_memory_bank_free (b);
}

/* ---- a direct port of the reference over unbounded storage ------------ */

typedef struct {
  int64_t frame;
  bool cond;
  int v;
} Rec;

typedef struct {
  GArray *cond;                 /* Rec, insertion order */
  GHashTable *non_cond;         /* frame → Rec* */
} Ref;

static Rec *
ref_find_cond (Ref * r, int64_t f)
{
  for (guint i = 0; i < r->cond->len; i++)
    if (g_array_index (r->cond, Rec, i).frame == f)
      return &g_array_index (r->cond, Rec, i);
  return NULL;
}

static void
ref_add (Ref * r, int64_t f, bool cond, int v)
{
  Rec rec = { f, cond, v }, *c = ref_find_cond (r, f);
  if (cond) {
    g_hash_table_remove (r->non_cond, &f);
    if (c)
      *c = rec;
    else
      g_array_append_val (r->cond, rec);
  } else if (!c) {
    Rec *n = g_new (Rec, 1);
    *n = rec;
    g_hash_table_replace (r->non_cond, g_memdup2 (&f, sizeof f), n);
  }
}

typedef struct {
  int n;
  int64_t frame[160];
  int key[160];                 /* t_pos or t_diff */
  float val[160];
} Flat;

static void
flat_push (Flat * fl, int64_t frame, int key, float val)
{
  fl->frame[fl->n] = frame;
  fl->key[fl->n] = key;
  fl->val[fl->n++] = val;
}

static Rec *
ref_lookup (Ref * r, int64_t f, const int64_t * sel, int ns)
{
  Rec *n = g_hash_table_lookup (r->non_cond, &f);
  if (n)
    return n;
  /* unselected conditioning frames */
  Rec *c = ref_find_cond (r, f);
  for (int i = 0; c && i < ns; i++)
    if (sel[i] == f)
      return NULL;
  return c;
}

static void
ref_select (Ref * r, int64_t t, int64_t num_frames, int M, int max_cond,
    int max_ptrs_cfg, Flat * sp, Flat * pt)
{
  int64_t frames[512], sel[512];
  int nc = r->cond->len, ns;
  int max_ptrs = num_frames > 0 ? MIN (num_frames, max_ptrs_cfg) : max_ptrs_cfg;

  for (int i = 0; i < nc; i++)
    frames[i] = g_array_index (r->cond, Rec, i).frame;
  ns = sam_memory_select_closest_cond (t, frames, nc, max_cond, sel);
  sp->n = pt->n = 0;
  for (int i = 0; i < ns; i++)
    flat_push (sp, sel[i], 0, ref_find_cond (r, sel[i])->v);
  for (int t_pos = 1; t_pos < M; t_pos++) {
    int64_t f = t - (M - t_pos);
    Rec *o = ref_lookup (r, f, sel, ns);
    if (o)
      flat_push (sp, f, t_pos, o->v);
  }
  for (int i = 0; i < ns; i++)
    if (sel[i] <= t)
      flat_push (pt, sel[i], (int) (t - sel[i]), ref_find_cond (r,
              sel[i])->v);
  for (int td = 1; td < max_ptrs; td++) {
    int64_t f = t - td;
    if (f < 0 || (num_frames > 0 && f >= num_frames))
      break;
    Rec *o = ref_lookup (r, f, sel, ns);
    if (o)
      flat_push (pt, f, td, o->v);
  }
}

static void
random_stream (guint32 seed, int M, int max_cond, int max_ptrs, int n_frames,
    double p_cond, double p_skip, bool known_length)
{
  GRand *rnd = g_rand_new_with_seed (seed);
  SamMemoryBank *b = bank_new (M, max_cond, max_ptrs);
  Ref r = { g_array_new (FALSE, FALSE, sizeof (Rec)),
    g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free)
  };
  int64_t nf = known_length ? n_frames : 0;
  SamMemorySelection sel;
  Flat sp, pt;
  int checked = 0;

  for (int64_t t = 0; t < n_frames; t++) {
    if (g_rand_double (rnd) < p_skip && t > 0)
      continue;                 /* dropped frame */
    bool cond = t == 0 || g_rand_double (rnd) < p_cond;
    /* the reference queries memory for every frame but an object's
     * first (a re-prompted frame too, before storing it) */
    if (r.cond->len > 0) {
      ref_select (&r, t, nf, M, max_cond, max_ptrs, &sp, &pt);
      g_assert_true (sam_memory_bank_select (b, t, nf, &sel));
      if (sel.n_spatial != sp.n) {
        g_printerr ("seed %u t %d M %d cap %d\nbank:", seed, (int) t, M, max_cond);
        for (int i = 0; i < sel.n_spatial; i++)
          g_printerr (" %d/%d", (int) sel.spatial[i].frame_idx, sel.spatial[i].t_pos);
        g_printerr ("\nref: ");
        for (int i = 0; i < sp.n; i++)
          g_printerr (" %d/%d", (int) sp.frame[i], sp.key[i]);
        g_printerr ("\n");
      }
      g_assert_cmpint (sel.n_spatial, ==, sp.n);
      for (int i = 0; i < sp.n; i++) {
        g_assert_cmpint (sel.spatial[i].frame_idx, ==, sp.frame[i]);
        g_assert_cmpint (sel.spatial[i].t_pos, ==, sp.key[i]);
        g_assert_cmpfloat (feat0 (b, &sel.spatial[i]), ==,
            (float) (sp.frame[i] % 32) + sp.val[i] * 0.25f);
      }
      g_assert_cmpint (sel.n_ptrs, ==, pt.n);
      for (int i = 0; i < pt.n; i++) {
        g_assert_cmpint (sel.ptrs[i].frame_idx, ==, pt.frame[i]);
        g_assert_cmpint (sel.ptrs[i].t_diff, ==, pt.key[i]);
        g_assert_cmpfloat (sel.ptrs[i].obj_ptr[0], ==,
            (float) pt.frame[i] + 0.5f + pt.val[i]);
      }
      checked++;
    }
    /* sometimes the frame's memory is stored twice (replaced) */
    int v = g_rand_int_range (rnd, 0, 3);
    add (b, t, cond, v);
    ref_add (&r, t, cond, v);
  }
  g_assert_cmpint (checked, >, n_frames / 4);
  g_array_free (r.cond, TRUE);
  g_hash_table_destroy (r.non_cond);
  sam_memory_bank_free (b);
  g_rand_free (rnd);
}

static void
test_random_streams (void)
{
  for (guint32 seed = 1; seed <= 40; seed++) {
    int M = 1 + (int) (seed % 9);
    int max_cond = 2 + (int) (seed % 5);
    int max_ptrs = 1 + (int) ((seed * 7) % 20);
    random_stream (seed, M, max_cond, max_ptrs, 300, 0.08, 0.15, seed & 1);
  }
  /* the SAM 2.1 defaults */
  random_stream (99, 7, 16, 16, 2000, 0.02, 0.1, false);
  random_stream (100, 7, 16, 16, 400, 0.3, 0.0, true);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/memory-bank/select/closest-cond", test_closest_cond);
  g_test_add_func ("/memory-bank/select/recency", test_recency);
  g_test_add_func ("/memory-bank/select/gaps", test_gaps);
  g_test_add_func ("/memory-bank/select/cond-frames", test_cond_frames);
  g_test_add_func ("/memory-bank/select/cond-cap", test_cond_cap);
  g_test_add_func ("/memory-bank/select/vs-reference", test_random_streams);
  return g_test_run ();
}
