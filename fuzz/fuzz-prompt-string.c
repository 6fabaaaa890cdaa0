/* fuzz-prompt-string.c — the `prompt` property parser
 * (gst-plugin/gstsamseg-prompt.c). Accepted prompts must respect every limit
 * (ids, points per object, objects per prompt, finite in-range coordinates,
 * ordered boxes) and print back to a string that parses to the same
 * objects; refused ones must leave the output array unchanged. */
#include "fuzz-common.h"
#include "gstsamseg-prompt.h"

#include <math.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_quiet_glib ();
  return 0;
}

static void
check_object (const GstSamSegObjectPrompt * p)
{
  FUZZ_CHECK (p->obj_id >= 1 && p->obj_id <= GST_SAMSEG_MAX_OBJECT_ID,
      "id %u", p->obj_id);
  FUZZ_CHECK (p->n_points >= 0 && p->n_points <= GST_SAMSEG_MAX_POINTS,
      "n_points %d", p->n_points);
  FUZZ_CHECK (p->n_points > 0 || p->has_box, "empty object %u", p->obj_id);
  for (int i = 0; i < p->n_points; i++) {
    FUZZ_CHECK (p->labels[i] == 0 || p->labels[i] == 1, "label");
    for (int k = 0; k < 2; k++) {
      float v = p->points[2 * i + k];
      FUZZ_CHECK (isfinite (v) && v >= 0 && v <= 1e7f, "coordinate %g", v);
    }
  }
  if (p->has_box) {
    for (int k = 0; k < 4; k++)
      FUZZ_CHECK (isfinite (p->box[k]) && p->box[k] >= 0 && p->box[k] <= 1e7f,
          "box %g", p->box[k]);
    FUZZ_CHECK (p->box[0] <= p->box[2] && p->box[1] <= p->box[3],
        "inverted box");
  }
  (void) gst_samseg_object_prompt_in_frame (p, 64, 48);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  /* the property is a NUL-terminated string */
  gchar *str = g_strndup ((const gchar *) data, size);
  GArray *arr = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
  GError *err = NULL;

  /* sometimes start from a non-empty array: parse appends and merges */
  if (size && (data[0] & 1)) {
    GstSamSegObjectPrompt pre = { 0 };
    pre.obj_id = 1;
    pre.n_points = GST_SAMSEG_MAX_POINTS - 1;
    g_array_append_val (arr, pre);
  }
  guint before = arr->len;
  if (!gst_samseg_prompt_parse (str, arr, &err)) {
    FUZZ_CHECK (err && err->domain == GST_SAMSEG_PROMPT_ERROR &&
        strstr (err->message, "column"), "error without a column: %s",
        err ? err->message : "(none)");
    FUZZ_CHECK (arr->len == before, "output changed on error");
    g_error_free (err);
    goto out;
  }
  FUZZ_CHECK (arr->len <= GST_SAMSEG_MAX_PROMPT_OBJECTS + 1, "%u objects",
      arr->len);
  for (guint i = 0; i < arr->len; i++) {
    const GstSamSegObjectPrompt *p =
        &g_array_index (arr, GstSamSegObjectPrompt, i);
    check_object (p);
    for (guint j = 0; j < i; j++)
      FUZZ_CHECK (g_array_index (arr, GstSamSegObjectPrompt, j).obj_id !=
          p->obj_id, "id %u twice", p->obj_id);
    /* round trip through the printed form */
    gchar *s = gst_samseg_object_prompt_to_string (p);
    GArray *again = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
    GError *e2 = NULL;
    gboolean ok = gst_samseg_prompt_parse (s, again, &e2);
    FUZZ_CHECK (ok, "'%s' does not parse back: %s", s,
        e2 ? e2->message : "");
    FUZZ_CHECK (again->len == 1, "'%s' gives %u objects", s, again->len);
    const GstSamSegObjectPrompt *q =
        &g_array_index (again, GstSamSegObjectPrompt, 0);
    FUZZ_CHECK (q->obj_id == p->obj_id && q->n_points == p->n_points &&
        q->has_box == p->has_box, "'%s' differs", s);
    for (int k = 0; k < p->n_points; k++)
      FUZZ_CHECK (q->labels[k] == p->labels[k], "'%s' label %d", s, k);
    g_array_unref (again);
    g_free (s);
  }
out:
  g_array_unref (arr);
  g_free (str);
  return 0;
}
