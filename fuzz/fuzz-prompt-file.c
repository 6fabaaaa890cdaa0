/* fuzz-prompt-file.c — the prompt file parser (gst-plugin/gstsamseg-prompt.c,
 * the `prompt-file` property) on arbitrary bytes, NUL bytes and unterminated
 * last lines included. Accepted files must give lines in file order, each
 * with a valid frame number or time and at least one valid object; refused
 * ones must name the line. */
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

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *err = NULL;
  /* not NUL-terminated: the parser must respect the length */
  gchar *copy = g_memdup2 (data, size ? size : 1);
  GPtrArray *lines = gst_samseg_prompt_file_parse (size ? copy : "",
      (gssize) size, &err);

  if (!lines) {
    FUZZ_CHECK (err && err->domain == GST_SAMSEG_PROMPT_ERROR &&
        (strstr (err->message, "line") || strstr (err->message, "NUL")),
        "error without a line: %s", err ? err->message : "(none)");
    g_error_free (err);
    g_free (copy);
    return 0;
  }
  FUZZ_CHECK (lines->len <= GST_SAMSEG_MAX_PROMPT_LINES, "%u lines",
      lines->len);
  guint prev_line = 0;
  for (guint i = 0; i < lines->len; i++) {
    const GstSamSegPromptLine *l = g_ptr_array_index (lines, i);
    FUZZ_CHECK (l->line_no > prev_line, "line order");
    prev_line = l->line_no;
    FUZZ_CHECK (l->objects && l->objects->len >= 1 &&
        l->objects->len <= GST_SAMSEG_MAX_PROMPT_OBJECTS, "objects");
    if (l->is_time)
      FUZZ_CHECK (l->time_ns <= (guint64) 1e18, "time");
    else
      FUZZ_CHECK (l->frame <= G_MAXUINT32, "frame");
    for (guint j = 0; j < l->objects->len; j++) {
      const GstSamSegObjectPrompt *p =
          &g_array_index (l->objects, GstSamSegObjectPrompt, j);
      FUZZ_CHECK (p->obj_id >= 1 && p->obj_id <= GST_SAMSEG_MAX_OBJECT_ID,
          "id");
      FUZZ_CHECK (p->n_points >= 0 && p->n_points <= GST_SAMSEG_MAX_POINTS,
          "points");
      for (int k = 0; k < 2 * p->n_points; k++)
        FUZZ_CHECK (isfinite (p->points[k]) && p->points[k] >= 0, "coord");
      if (p->has_box)
        FUZZ_CHECK (p->box[0] <= p->box[2] && p->box[1] <= p->box[3], "box");
    }
  }
  g_ptr_array_unref (lines);
  g_free (copy);
  return 0;
}
