/* session-util.h — for the session tests: the t256 fixture's model, frames
 * and prompt schedule, driven one frame at a time, and results as bytes. */
#ifndef SAM_TESTS_SESSION_UTIL_H
#define SAM_TESTS_SESSION_UTIL_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "fixture.h"
#include "replay.h"

typedef struct {
  SamFixture *fx;
  SamFixtureMeta meta;
  SamModel *model;
  int S, n_frames;
  const guint8 *frames;
} T256;

static inline void
t256_open (T256 * t)
{
  const char *dir = g_getenv ("SAMSEG_TEST_DATA");
  g_assert_nonnull (dir);
  char *path = g_build_filename (dir, "t256.safetensors", NULL);
  GError *err = NULL;
  t->fx = sam_fixture_open (&path, 1, &err);
  g_assert_no_error (err);
  g_assert_true (sam_fixture_meta_parse (sam_fixture_meta (t->fx), &t->meta,
          &err));
  t->model = sam_fixture_build_model (&t->meta, &err);
  g_assert_no_error (err);
  const SamStTensor *fr = sam_fixture_find (t->fx, "frames");
  g_assert_nonnull (fr);
  t->S = t->meta.image_size;
  t->n_frames = (int) fr->shape[0];
  t->frames = fr->data;
  g_free (path);
}

static inline void
t256_close (T256 * t)
{
  sam_model_unref (t->model);
  sam_fixture_meta_clear (&t->meta);
  sam_fixture_free (t->fx);
}

static inline SamSession *
t256_session (const T256 * t, int precision, int max_objects)
{
  SamSessionParams p;
  sam_session_params_init (&p);
  p.input_size = t->S;
  p.num_frames = t->meta.num_frames;
  p.memory_precision = precision;
  if (max_objects > 0)
    p.max_objects = max_objects;
  GError *err = NULL;
  SamSession *s = sam_session_new (t->model, &p, &err);
  g_assert_no_error (err);
  return s;
}

static inline SamImage
t256_frame (const T256 * t, int f)
{
  SamImage img = { SAM_PIXEL_RGB, t->S, t->S, t->S * 3,
    t->frames + (size_t) (f % t->n_frames) * t->S * t->S * 3
  };
  return img;
}

/* Adds the fixture's prompts for frame @f (as sam_fixture_replay does). */
static inline void
t256_prompts (const T256 * t, SamSession * s, int f)
{
  JsonArray *segs = json_node_get_array (t->meta.segments);
  for (guint i = 0; i < json_array_get_length (segs); i++) {
    JsonObject *seg = json_array_get_object_element (segs, i);
    JsonArray *prs = json_object_get_array_member (seg, "prompts");
    for (guint k = 0; prs && k < json_array_get_length (prs); k++) {
      JsonObject *pr = json_array_get_object_element (prs, k);
      if (json_object_get_int_member (pr, "frame") != f)
        continue;
      SamPrompt p = { 0 };
      float xy[2 * SAM_MAX_POINTS_PER_PROMPT];
      gint32 lab[SAM_MAX_POINTS_PER_PROMPT];
      if (json_object_has_member (pr, "points")) {
        JsonArray *pa = json_object_get_array_member (pr, "points");
        JsonArray *la = json_object_get_array_member (pr, "labels");
        p.n_points = (int) json_array_get_length (pa);
        for (int j = 0; j < p.n_points; j++) {
          JsonArray *q = json_array_get_array_element (pa, j);
          xy[2 * j] = (float) json_array_get_double_element (q, 0);
          xy[2 * j + 1] = (float) json_array_get_double_element (q, 1);
          lab[j] = (gint32) json_array_get_int_element (la, j);
        }
        p.points = xy;
        p.labels = lab;
      }
      if (json_object_has_member (pr, "box")) {
        JsonArray *b = json_object_get_array_member (pr, "box");
        p.has_box = TRUE;
        for (int j = 0; j < 4; j++)
          p.box[j] = (float) json_array_get_double_element (b, j);
      }
      p.clear_old = TRUE;
      GError *err = NULL;
      g_assert_true (sam_session_add_prompt (s, (guint32)
              json_object_get_int_member (pr, "obj_id"), &p, &err));
      g_assert_no_error (err);
    }
  }
}

/* Every byte of a frame's results. */
static inline void
append_result (GByteArray * a, const SamFrameResult * r)
{
  g_byte_array_append (a, (const guint8 *) &r->frame_index, 8);
  g_byte_array_append (a, (const guint8 *) &r->n_objects, 4);
  for (int i = 0; i < r->n_objects; i++) {
    const SamObjectResult *o = &r->objects[i];
    g_byte_array_append (a, (const guint8 *) &o->obj_id, 4);
    g_byte_array_append (a, (const guint8 *) &o->object_score, 4);
    g_byte_array_append (a, (const guint8 *) &o->iou, 4);
    g_byte_array_append (a, (const guint8 *) &o->is_cond_frame, 4);
    g_byte_array_append (a, (const guint8 *) o->low_res_logits,
        4 * o->low_res_size * o->low_res_size);
    g_byte_array_append (a, (const guint8 *) o->logits,
        4 * o->width * o->height);
    g_byte_array_append (a, (const guint8 *) o->obj_ptr, 4 * 256);
    g_byte_array_append (a, (const guint8 *) o->box, sizeof o->box);
  }
}

/* Processes frame @f (prompts are added by the caller); its results are
 * appended to @out (if not NULL). */
static inline void
t256_step (const T256 * t, SamSession * s, int f, GByteArray * out)
{
  SamImage img = t256_frame (t, f);
  SamFrameResult r;
  GError *err = NULL;
  g_assert_true (sam_session_process_frame (s, &img, &r, &err));
  g_assert_no_error (err);
  if (out)
    append_result (out, &r);
}

#endif
