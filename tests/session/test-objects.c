/* test-objects — objects of a session on the t256 fixture's model and
 * frames: the cap on objects, removal and re-adding (objects are
 * independent: the others' results do not change by a bit), correction
 * clicks on a tracked object, reset, bounded memory, and the same bytes
 * after sam_tune_process_allocator. */
#include "session-util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

static T256 t;

static const float click1[2] = { 56.064f, 165.888f };
static const float click2[2] = { 172.8f, 121.6f };
static const gint32 positive[1] = { 1 };

static void
click (SamSession * s, guint32 id, const float *xy)
{
  SamPrompt p = { 0 };
  GError *err = NULL;
  p.n_points = 1;
  p.points = xy;
  p.labels = positive;
  p.clear_old = TRUE;
  g_assert_true (sam_session_add_prompt (s, id, &p, &err));
  g_assert_no_error (err);
}

/* The results of object @id in @r, as bytes (empty when absent). */
static GByteArray *
object_bytes (const SamFrameResult * r, guint32 id)
{
  GByteArray *a = g_byte_array_new ();
  for (int i = 0; i < r->n_objects; i++)
    if (r->objects[i].obj_id == id) {
      SamFrameResult one = *r;
      one.n_objects = 1;
      one.objects = &r->objects[i];
      one.frame_index = 0;
      append_result (a, &one);
    }
  return a;
}

static GByteArray *
step_object (SamSession * s, int f, guint32 id)
{
  SamImage img = t256_frame (&t, f);
  SamFrameResult r;
  GError *err = NULL;
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_no_error (err);
  return object_bytes (&r, id);
}

static GByteArray *step_object (SamSession * s, int f, guint32 id);

/* Processes @f on @s tracking objects 1 and 2 and their clones; returns
 * object 1's bytes after checking object 2 against @alone's. */
#define step_both(s, f) step_pair (s, alone, f)

static void assert_same (GByteArray * a, GByteArray * b);

static GByteArray *
step_pair (SamSession * s, SamSession * alone, int f)
{
  SamImage img = t256_frame (&t, f);
  SamFrameResult r;
  GError *err = NULL;
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_no_error (err);
  g_assert_cmpint (r.n_objects, ==, 2);
  GByteArray *one = object_bytes (&r, 1);
  assert_same (object_bytes (&r, 2), step_object (alone, f, 2));
  return one;
}

static void
assert_same (GByteArray * a, GByteArray * b)
{
  g_assert_cmpuint (a->len, >, 0);
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_true (memcmp (a->data, b->data, a->len) == 0);
  g_byte_array_unref (a);
  g_byte_array_unref (b);
}

static void
test_cap (void)
{
  SamSession *s = t256_session (&t, 0, 2);
  SamPrompt p = { 0 };
  GError *err = NULL;
  click (s, 7, click1);
  click (s, 9, click2);
  p.n_points = 1;
  p.points = click1;
  p.labels = positive;
  g_assert_false (sam_session_add_prompt (s, 11, &p, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_LIMIT);
  g_assert_nonnull (strstr (err->message, "max_objects = 2"));
  g_clear_error (&err);
  /* a known id is a correction, not a new object */
  g_assert_true (sam_session_add_prompt (s, 9, &p, &err));
  g_assert_cmpint (sam_session_n_objects (s), ==, 2);
  /* removing one makes room */
  sam_session_remove_object (s, 7);
  sam_session_remove_object (s, 12345);       /* unknown: nothing */
  g_assert_true (sam_session_add_prompt (s, 11, &p, &err));
  g_assert_no_error (err);
  g_assert_cmpint (sam_session_n_objects (s), ==, 2);
  sam_session_free (s);

  SamSessionParams sp;
  sam_session_params_init (&sp);
  sp.input_size = t.S;
  sp.max_objects = 65;
  g_assert_null (sam_session_new (t.model, &sp, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_LIMIT);
  g_clear_error (&err);
  sp.max_objects = 16;
  sp.memory_precision = 3;
  g_assert_null (sam_session_new (t.model, &sp, &err));
  g_assert_error (err, SAM_ERROR, SAM_ERROR_LIMIT);
  g_clear_error (&err);
}

/* Object 2 tracked alone and next to object 1 (added, removed, re-added)
 * gives the same bytes: objects share only the image features. */
static void
test_remove_readd (void)
{
  SamSession *alone = t256_session (&t, 0, 0);
  SamSession *both = t256_session (&t, 0, 0);
  SamSession *fresh = t256_session (&t, 0, 0);
  click (alone, 2, click2);
  click (both, 1, click1);
  click (both, 2, click2);
  for (int f = 0; f < 6; f++) {
    if (f == 2) {
      sam_session_remove_object (both, 1);
      g_assert_cmpint (sam_session_n_objects (both), ==, 1);
    }
    if (f == 4) {
      /* id 1 comes back as a new object prompted on frame 4: its result
       * there is that of a first prompt (no memory) */
      click (both, 1, click1);
      click (fresh, 1, click1);
      assert_same (step_object (fresh, f, 1), step_both (both, f));
      continue;
    }
    assert_same (step_object (both, f, 2), step_object (alone, f, 2));
  }
  sam_session_free (alone);
  sam_session_free (both);
  sam_session_free (fresh);
}

static void
test_reprompt_reset (void)
{
  SamSession *s = t256_session (&t, 0, 0);
  SamImage img;
  SamFrameResult r;
  GError *err = NULL;
  click (s, 5, click1);
  GByteArray *first = step_object (s, 0, 5);
  img = t256_frame (&t, 1);
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_false (r.objects[0].is_cond_frame);
  /* a correction click: frame 2 becomes a conditioning frame */
  SamPrompt p = { 0 };
  const float neg[2] = { 60.f, 150.f };
  const gint32 negative[1] = { 0 };
  p.n_points = 1;
  p.points = neg;
  p.labels = negative;
  g_assert_true (sam_session_add_prompt (s, 5, &p, &err));
  img = t256_frame (&t, 2);
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_cmpint (r.n_objects, ==, 1);
  g_assert_true (r.objects[0].is_cond_frame);
  img = t256_frame (&t, 3);
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_false (r.objects[0].is_cond_frame);
  g_assert_cmpuint (sam_session_memory_bytes (s), >, 0);

  /* reset: back to a fresh session, whose first frame is bit-identical */
  sam_session_reset (s);
  g_assert_cmpint (sam_session_n_objects (s), ==, 0);
  g_assert_cmpuint (sam_session_frame_index (s), ==, 0);
  g_assert_cmpuint (sam_session_memory_bytes (s), ==, 0);
  img = t256_frame (&t, 0);
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_cmpint (r.n_objects, ==, 0);
  sam_session_reset (s);
  click (s, 5, click1);
  assert_same (step_object (s, 0, 5), first);
  sam_session_free (s);
}

/* Memory stops growing once the banks are full (7 memories, 16 pointers). */
static void
test_bounded (void)
{
  SamSession *s = t256_session (&t, 0, 0);
  gsize full = 0;
  click (s, 1, click1);
  for (int f = 0; f < 24; f++) {
    if (f % 10 == 5)
      click (s, 1, click1);     /* more conditioning frames too */
    g_byte_array_unref (step_object (s, f, 1));
    if (f == 19)
      full = sam_session_memory_bytes (s);
  }
  g_assert_cmpuint (sam_session_memory_bytes (s), ==, full);
  sam_session_free (s);
}

/* sam_tune_process_allocator: supported on glibc (sanitizer runtimes
 * replace malloc and refuse mallopt), idempotent, and the tracking bytes
 * do not change by a bit (run untuned first: the setting is process-wide
 * and stays). Freeing the session releases the kept heap. */
static void
test_tuned_heap (void)
{
  GByteArray *before[4], *after;
  SamSession *s = t256_session (&t, 0, 0);
  click (s, 1, click1);
  for (int f = 0; f < 4; f++)
    before[f] = step_object (s, f, 1);
  sam_session_free (s);

  gboolean ok = sam_tune_process_allocator ();
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) \
    && !defined(__SANITIZE_THREAD__)
  g_assert_true (ok);
#endif
  g_assert_true (sam_tune_process_allocator () == ok);
  s = t256_session (&t, 0, 0);
  click (s, 1, click1);
  for (int f = 0; f < 4; f++) {
    after = step_object (s, f, 1);
    assert_same (after, before[f]);
  }
  sam_session_free (s);
  sam_release_process_heap ();
}

#if defined(__linux__)
/* kB of AnonHugePages in the mapping of /proc/self/smaps that holds p;
 * *heap: whether that mapping is the brk heap ("[heap]") */
static gint64
huge_kb_at (const void *p, gboolean * heap)
{
  gchar *smaps = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/smaps", &smaps, NULL,
          NULL));
  gint64 kb = -1;
  gboolean in = FALSE;
  gchar **lines = g_strsplit (smaps, "\n", -1);
  for (gchar ** l = lines; *l; l++) {
    unsigned long a, b;
    if (sscanf (*l, "%lx-%lx ", &a, &b) == 2 && strchr (*l, ' ') - *l > 8) {
      in = (uintptr_t) p >= a && (uintptr_t) p < b;
      if (in)
        *heap = g_str_has_suffix (*l, "[heap]");
    } else if (in && g_str_has_prefix (*l, "AnonHugePages:")) {
      kb = g_ascii_strtoll (*l + strlen ("AnonHugePages:"), NULL, 10);
    }
  }
  g_strfreev (lines);
  g_free (smaps);
  return kb;
}
#endif

/* After tuning, sam_process_heap_huge_pages_step moves heap memory in use
 * onto transparent huge pages, where the kernel offers them (THP mode not
 * "never", MADV_COLLAPSE from Linux 6.1): 24 MiB from the main heap (under
 * the 32 MiB mmap threshold), touched, end up (partly) on 2 MiB pages. A
 * zero budget returns at once; the contents do not change. */
static void
test_heap_huge_pages (void)
{
#if defined(__linux__) && defined(__GLIBC__)
  if (!sam_tune_process_allocator ()) {
    g_test_skip ("the allocator is not tunable here (a sanitizer's malloc)");
    return;
  }
  gchar *mode = NULL;
  if (!g_file_get_contents ("/sys/kernel/mm/transparent_hugepage/enabled",
          &mode, NULL, NULL) || strstr (mode, "[never]")) {
    g_free (mode);
    g_test_skip ("no transparent huge pages on this kernel");
    return;
  }
  g_free (mode);
  const gsize n = 24 << 20;
  guint8 *p = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    p[i] = (guint8) (i * 7);
  (void) sam_process_heap_huge_pages_step (0);
  g_assert_true (sam_process_heap_huge_pages_step (-1));
  gboolean heap = FALSE;
  gint64 kb = huge_kb_at (p + n / 2, &heap);
  g_assert_cmpint (kb, >=, 0);
  if (!heap) {
    /* glibc falls back to mmap'd main-arena memory when brk cannot grow */
    g_test_skip ("the block is not on the brk heap here");
  } else if (kb == 0) {
    /* small pages are left only where the kernel cannot collapse: no
     * MADV_COLLAPSE (EINVAL) or no free huge page (EAGAIN) */
    uintptr_t a = ((uintptr_t) p + (2u << 20) - 1) & ~(uintptr_t) ((2u << 20)
        - 1);
    int r = madvise ((void *) a, 2u << 20, 25 /* MADV_COLLAPSE */ );
    int e = errno;
    g_assert_cmpint (r, !=, 0);
    g_test_skip (e == EINVAL ? "a kernel without MADV_COLLAPSE"
        : "no free huge page");
  }
  for (gsize i = 0; i < n; i++)
    g_assert_cmpuint (p[i], ==, (guint8) (i * 7));
  g_free (p);
#else
  g_test_skip ("Linux and glibc only");
#endif
}

/* frame_logits = FALSE: the same tracking (scores, low-res logits, object
 * pointers, bit for bit) with no frame-size logits and an empty box. */
static void
test_no_frame_logits (void)
{
  SamSession *a = t256_session (&t, 0, 0);
  SamSessionParams p;
  sam_session_params_init (&p);
  g_assert_true (p.frame_logits);
  p.input_size = t.S;
  p.num_frames = t.meta.num_frames;
  p.frame_logits = FALSE;
  GError *err = NULL;
  SamSession *b = sam_session_new (t.model, &p, &err);
  g_assert_no_error (err);
  click (a, 1, click1);
  click (b, 1, click1);
  click (a, 2, click2);
  click (b, 2, click2);
  for (int f = 0; f < 4; f++) {
    SamImage img = t256_frame (&t, f);
    SamFrameResult ra, rb;
    g_assert_true (sam_session_process_frame (a, &img, &ra, &err));
    g_assert_true (sam_session_process_frame (b, &img, &rb, &err));
    g_assert_no_error (err);
    g_assert_cmpint (ra.n_objects, ==, 2);
    g_assert_cmpint (rb.n_objects, ==, 2);
    for (int i = 0; i < 2; i++) {
      const SamObjectResult *oa = &ra.objects[i], *ob = &rb.objects[i];
      g_assert_cmpuint (oa->obj_id, ==, ob->obj_id);
      g_assert_true (memcmp (&oa->object_score, &ob->object_score, 4) == 0);
      g_assert_true (memcmp (&oa->iou, &ob->iou, 4) == 0);
      g_assert_cmpmem (oa->low_res_logits, 4 * oa->low_res_size *
          oa->low_res_size, ob->low_res_logits, 4 * ob->low_res_size *
          ob->low_res_size);
      g_assert_cmpmem (oa->obj_ptr, 4 * 256, ob->obj_ptr, 4 * 256);
      g_assert_nonnull (oa->logits);
      g_assert_null (ob->logits);
      for (int k = 0; k < 4; k++)
        g_assert_cmpint (ob->box[k], ==, -1);
    }
  }
  sam_session_free (a);
  sam_session_free (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  t256_open (&t);
  g_test_add_func ("/session/objects/cap", test_cap);
  g_test_add_func ("/session/objects/remove-readd", test_remove_readd);
  g_test_add_func ("/session/objects/reprompt-reset", test_reprompt_reset);
  g_test_add_func ("/session/objects/bounded", test_bounded);
  g_test_add_func ("/session/objects/tuned-heap", test_tuned_heap);
  g_test_add_func ("/session/objects/heap-huge-pages", test_heap_huge_pages);
  g_test_add_func ("/session/objects/no-frame-logits", test_no_frame_logits);
  int rc = g_test_run ();
  t256_close (&t);
  return rc;
}
