/* replay.c — see replay.h */
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "replay.h"
#include "model/synth.h"

static gboolean
get_int (JsonObject * o, const char *key, gint64 * out)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

gboolean
sam_fixture_meta_parse (const char *json, SamFixtureMeta * meta,
    GError ** error)
{
  memset (meta, 0, sizeof *meta);
  if (!json) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "fixture has no __metadata__.meta");
    return FALSE;
  }
  JsonParser *p = json_parser_new ();
  gboolean ok = FALSE;
  if (!json_parser_load_from_data (p, json, -1, error))
    goto out;
  JsonNode *root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    goto bad;
  JsonObject *o = json_node_get_object (root);
  gint64 v;
  if (!get_int (o, "image_size", &v))
    goto bad;
  meta->image_size = (int) v;
  if (!get_int (o, "seed", &v) || v < 0)
    goto bad;
  meta->seed = (guint64) v;
  meta->num_frames = get_int (o, "num_frames", &v) ? (int) v : 0;
  JsonNode *ov = json_object_get_member (o, "overrides");
  if (ov && JSON_NODE_HOLDS_ARRAY (ov)) {
    JsonArray *a = json_node_get_array (ov);
    meta->n_overrides = (int) json_array_get_length (a);
    meta->override_names = g_new0 (char *, meta->n_overrides + 1);
    meta->override_adds = g_new0 (double, meta->n_overrides + 1);
    for (int i = 0; i < meta->n_overrides; i++) {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_ARRAY (e)
          || json_array_get_length (json_node_get_array (e)) != 3)
        goto bad;
      JsonArray *t = json_node_get_array (e);
      const char *op = json_array_get_string_element (t, 1);
      if (!op || strcmp (op, "add") != 0)
        goto bad;
      meta->override_names[i] =
          g_strdup (json_array_get_string_element (t, 0));
      meta->override_adds[i] = json_array_get_double_element (t, 2);
    }
  }
  JsonNode *seg = json_object_get_member (o, "segments");
  if (!seg || !JSON_NODE_HOLDS_ARRAY (seg))
    goto bad;
  meta->segments = json_node_copy (seg);
  ok = TRUE;
  goto out;
bad:
  g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
      "fixture meta lacks image_size/seed/segments or is malformed");
out:
  g_object_unref (p);
  return ok;
}

void
sam_fixture_meta_clear (SamFixtureMeta * meta)
{
  g_strfreev (meta->override_names);
  g_free (meta->override_adds);
  if (meta->segments)
    json_node_unref (meta->segments);
  memset (meta, 0, sizeof *meta);
}

SamModel *
sam_fixture_build_model (const SamFixtureMeta * meta, GError ** error)
{
  SamSynthOverride *ov = g_new0 (SamSynthOverride, meta->n_overrides + 1);
  for (int i = 0; i < meta->n_overrides; i++) {
    ov[i].name = meta->override_names[i];
    ov[i].add = meta->override_adds[i];
  }
  gchar *path = NULL;
  int fd = g_file_open_tmp ("samseg-model-XXXXXX.safetensors", &path, error);
  SamModel *m = NULL;
  if (fd < 0)
    goto out;
  close (fd);
  if (sam_synth_write_model ("tiny", meta->seed, ov, meta->n_overrides, path,
          error))
    m = sam_model_load (path, NULL, error);
  /* The mapping stays valid after unlink. */
  g_unlink (path);
out:
  g_free (path);
  g_free (ov);
  return m;
}

static gboolean
add_prompt (SamSession * s, JsonObject * pr, GError ** error)
{
  gint64 obj_id;
  if (!get_int (pr, "obj_id", &obj_id) || obj_id < 0) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, "prompt without obj_id");
    return FALSE;
  }
  SamPrompt p = { 0 };
  float pts[2 * SAM_MAX_POINTS_PER_PROMPT];
  gint32 labels[SAM_MAX_POINTS_PER_PROMPT];
  JsonNode *pn = json_object_get_member (pr, "points");
  JsonNode *ln = json_object_get_member (pr, "labels");
  if (pn && ln && JSON_NODE_HOLDS_ARRAY (pn) && JSON_NODE_HOLDS_ARRAY (ln)) {
    JsonArray *pa = json_node_get_array (pn), *la = json_node_get_array (ln);
    guint n = json_array_get_length (pa);
    if (n != json_array_get_length (la) || n > SAM_MAX_POINTS_PER_PROMPT) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, "bad points/labels");
      return FALSE;
    }
    for (guint i = 0; i < n; i++) {
      JsonArray *xy = json_array_get_array_element (pa, i);
      if (!xy || json_array_get_length (xy) != 2) {
        g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, "bad point");
        return FALSE;
      }
      pts[2 * i] = (float) json_array_get_double_element (xy, 0);
      pts[2 * i + 1] = (float) json_array_get_double_element (xy, 1);
      labels[i] = (gint32) json_array_get_int_element (la, i);
    }
    p.n_points = (int) n;
    p.points = pts;
    p.labels = labels;
  }
  JsonNode *bn = json_object_get_member (pr, "box");
  if (bn && JSON_NODE_HOLDS_ARRAY (bn)) {
    JsonArray *b = json_node_get_array (bn);
    if (json_array_get_length (b) != 4) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, "bad box");
      return FALSE;
    }
    p.has_box = TRUE;
    for (int k = 0; k < 4; k++)
      p.box[k] = (float) json_array_get_double_element (b, k);
  }
  p.clear_old = TRUE;
  return sam_session_add_prompt (s, (guint32) obj_id, &p, error);
}

gboolean
sam_fixture_replay (const SamFixture * fx, const SamFixtureMeta * meta,
    SamSession * s, SamReplayFrameFunc frame_func, gpointer user_data,
    GError ** error)
{
  const SamStTensor *frames = sam_fixture_find (fx, "frames");
  int S = meta->image_size;
  if (!frames || frames->dtype != SAM_DTYPE_U8 || frames->ndim != 4
      || frames->shape[1] != S || frames->shape[2] != S
      || frames->shape[3] != 3) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT,
        "fixture has no U8 frames [N, %d, %d, 3]", S, S);
    return FALSE;
  }
  JsonArray *segs = json_node_get_array (meta->segments);
  for (guint si = 0; si < json_array_get_length (segs); si++) {
    JsonObject *seg = json_array_get_object_element (segs, si);
    gint64 start, count;
    if (!seg || !get_int (seg, "start", &start) || !get_int (seg, "count",
            &count) || start < 0 || count < 0
        || start + count > frames->shape[0]) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_FORMAT, "bad segment %u", si);
      return FALSE;
    }
    if ((guint64) start != sam_session_frame_index (s)) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
          "segment %u starts at frame %" G_GINT64_FORMAT " but the stream is "
          "at frame %" G_GUINT64_FORMAT " (streaming replays need "
          "contiguous segments)", si, start, sam_session_frame_index (s));
      return FALSE;
    }
    JsonNode *prn = json_object_get_member (seg, "prompts");
    JsonArray *prompts = prn && JSON_NODE_HOLDS_ARRAY (prn) ?
        json_node_get_array (prn) : NULL;
    for (gint64 f = start; f < start + count; f++) {
      for (guint k = 0; prompts && k < json_array_get_length (prompts); k++) {
        JsonObject *pr = json_array_get_object_element (prompts, k);
        gint64 pf;
        if (pr && get_int (pr, "frame", &pf) && pf == f
            && !add_prompt (s, pr, error))
          return FALSE;
      }
      SamImage img = { SAM_PIXEL_RGB, S, S, S * 3,
        (const guint8 *) frames->data + (size_t) f * S * S * 3
      };
      SamFrameResult r;
      if (!sam_session_process_frame (s, &img, &r, error))
        return FALSE;
      if (frame_func)
        frame_func ((int) f, &r, user_data);
    }
  }
  return TRUE;
}
