/* gstsamseg-prompt.h — parser for the samseg prompt syntax (the `prompt` and
 * `prompt-file` properties). Pure C + GLib, no pipeline needed, so it can be
 * unit-tested and fuzzed on its own.
 *
 * Syntax: entries separated by spaces or ';':
 *   ID:+X,Y              positive click        ID:-X,Y   negative click
 *   ID:X0,Y0,X1,Y1       box (x0 <= x1, y0 <= y1)
 * Coordinates are pixels of the incoming frames (finite decimals).
 * A prompt file has one line per prompted frame: a frame number ("12") or a
 * timestamp ("12.5s", "500ms"), then entries; '#' starts a comment.
 */
#ifndef GST_SAMSEG_PROMPT_H
#define GST_SAMSEG_PROMPT_H

#include <glib.h>

G_BEGIN_DECLS

#define GST_SAMSEG_PROMPT_ERROR (gst_samseg_prompt_error_quark ())
GQuark gst_samseg_prompt_error_quark (void);

typedef enum {
  GST_SAMSEG_PROMPT_ERROR_SYNTAX,       /* malformed text */
  GST_SAMSEG_PROMPT_ERROR_VALUE,        /* NaN/inf, inverted box, id 0 */
  GST_SAMSEG_PROMPT_ERROR_LIMIT,        /* too many points/objects/lines */
} GstSamSegPromptError;

/* Same cap as the engine's SAM_MAX_POINTS_PER_PROMPT. */
#define GST_SAMSEG_MAX_POINTS 64
#define GST_SAMSEG_MAX_PROMPT_OBJECTS 256
#define GST_SAMSEG_MAX_PROMPT_LINES 100000
#define GST_SAMSEG_MAX_OBJECT_ID 0x7fffffff

/* All entries of one object in one prompt string. */
typedef struct {
  guint32 obj_id;
  gint n_points;
  gfloat points[2 * GST_SAMSEG_MAX_POINTS];     /* x, y */
  gint32 labels[GST_SAMSEG_MAX_POINTS]; /* 1 positive, 0 negative */
  gboolean has_box;
  gfloat box[4];                /* x0, y0, x1, y1 */
} GstSamSegObjectPrompt;

/* Parses @str into @out (a GArray of GstSamSegObjectPrompt), appending; entries
 * with the same id are merged in order. On error returns FALSE, sets @error
 * with the (1-based) column, and leaves @out unchanged. */
gboolean gst_samseg_prompt_parse (const gchar * str, GArray * out,
    GError ** error);

typedef struct {
  gboolean is_time;             /* TRUE: time_ns is set, else frame */
  guint64 frame;
  guint64 time_ns;
  guint line_no;
  GArray *objects;              /* of GstSamSegObjectPrompt */
} GstSamSegPromptLine;

/* Parses a prompt file's text. Returns a GPtrArray of GstSamSegPromptLine
 * (free with g_ptr_array_unref), in file order, or NULL with @error naming
 * line and column. */
GPtrArray *gst_samseg_prompt_file_parse (const gchar * text, gssize len,
    GError ** error);
GPtrArray *gst_samseg_prompt_file_load (const gchar * path, GError ** error);

/* Bounds check against a frame size: every coordinate within
 * [0, width] x [0, height]. */
gboolean gst_samseg_object_prompt_in_frame (const GstSamSegObjectPrompt * p,
    gint width, gint height);

/* Writes the prompt back in the property syntax (for logs). */
gchar *gst_samseg_object_prompt_to_string (const GstSamSegObjectPrompt * p);

G_END_DECLS
#endif /* GST_SAMSEG_PROMPT_H */
