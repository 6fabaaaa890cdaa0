/* test-threads — the whole track step gives bit-identical results with 1
 * and 2 threads (every kernel partitions over independent outputs). Replays
 * the t256 fixture's schedule twice and compares every output byte. */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "replay.h"

typedef struct
{
  GByteArray *bytes;
} Sink;

static void
on_frame (int frame, const SamFrameResult * r, gpointer user_data)
{
  Sink *sink = user_data;
  for (int i = 0; i < r->n_objects; i++) {
    const SamObjectResult *o = &r->objects[i];
    g_byte_array_append (sink->bytes, (const guint8 *) &o->obj_id, 4);
    g_byte_array_append (sink->bytes, (const guint8 *) &o->object_score, 4);
    g_byte_array_append (sink->bytes, (const guint8 *) &o->iou, 4);
    g_byte_array_append (sink->bytes, (const guint8 *) o->low_res_logits,
        4 * o->low_res_size * o->low_res_size);
    g_byte_array_append (sink->bytes, (const guint8 *) o->logits,
        4 * o->width * o->height);
    g_byte_array_append (sink->bytes, (const guint8 *) o->obj_ptr, 4 * 256);
    g_byte_array_append (sink->bytes, (const guint8 *) o->box, sizeof o->box);
  }
}

static GByteArray *
run (SamFixture * fx, SamFixtureMeta * meta, SamModel * m, int threads)
{
  SamSessionParams p;
  sam_session_params_init (&p);
  p.input_size = meta->image_size;
  p.num_frames = meta->num_frames;
  p.n_threads = threads;
  GError *err = NULL;
  SamSession *s = sam_session_new (m, &p, &err);
  g_assert_no_error (err);
  Sink sink = { g_byte_array_new () };
  gboolean ok = sam_fixture_replay (fx, meta, s, on_frame, &sink, &err);
  g_assert_no_error (err);
  g_assert_true (ok);
  sam_session_free (s);
  return sink.bytes;
}

int
main (int argc, char **argv)
{
  const char *dir = g_getenv ("SAMSEG_TEST_DATA");
  g_assert_nonnull (dir);
  char *path = g_build_filename (dir, "t256.safetensors", NULL);
  GError *err = NULL;
  SamFixture *fx = sam_fixture_open (&path, 1, &err);
  g_assert_no_error (err);
  SamFixtureMeta meta;
  g_assert_true (sam_fixture_meta_parse (sam_fixture_meta (fx), &meta, &err));
  SamModel *m = sam_fixture_build_model (&meta, &err);
  g_assert_no_error (err);
  GByteArray *a = run (fx, &meta, m, 1);
  GByteArray *b = run (fx, &meta, m, 2);
  int same = a->len == b->len && memcmp (a->data, b->data, a->len) == 0;
  printf ("1 thread: %u bytes of results, 2 threads: %u bytes: %s\n", a->len,
      b->len, same ? "bit-identical" : "DIFFERENT");
  g_byte_array_unref (a);
  g_byte_array_unref (b);
  sam_model_unref (m);
  sam_fixture_meta_clear (&meta);
  sam_fixture_free (fx);
  g_free (path);
  return same ? 0 : 1;
}
