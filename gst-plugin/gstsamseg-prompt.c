/* gstsamseg-prompt.c — the prompt string / prompt file parser.
 *
 * Hand-written scanner (no sscanf, no strtod on unbounded input): numbers are
 * [0-9]+(.[0-9]*)?([eE][+-]?[0-9]+)? and are converted with g_ascii_strtod on
 * a bounded copy, then checked to be finite. Every error names its column
 * (and line, for files).
 */
#include "gstsamseg-prompt.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (gst - samseg - prompt - error - quark, gst_samseg_prompt_error);

typedef struct {
  const gchar *s;               /* start of the text being parsed */
  const gchar *p;               /* cursor */
  const gchar *end;
  guint line;                   /* 0 for a single prompt string */
  GError **error;
} Scanner;

static gboolean G_GNUC_PRINTF (3, 4)
    scan_fail (Scanner * sc, GstSamSegPromptError code, const gchar * fmt, ...)
{
  va_list ap;
  gchar *msg;
  guint col = (guint) (sc->p - sc->s) + 1;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (sc->line)
    g_set_error (sc->error, GST_SAMSEG_PROMPT_ERROR, code,
        "prompt file line %u, column %u: %s", sc->line, col, msg);
  else
    g_set_error (sc->error, GST_SAMSEG_PROMPT_ERROR, code,
        "prompt column %u: %s", col, msg);
  g_free (msg);
  return FALSE;
}

static gboolean
is_sep (gchar c)
{
  return c == ' ' || c == '\t' || c == ';' || c == '\r' || c == '\n';
}

static const gchar *
describe (Scanner * sc)
{
  if (sc->p >= sc->end)
    return "end of text";
  return "unexpected character";
}

static gboolean
scan_uint (Scanner * sc, guint64 max, guint64 * out)
{
  guint64 v = 0;
  const gchar *start = sc->p;

  while (sc->p < sc->end && g_ascii_isdigit (*sc->p)) {
    v = v * 10 + (guint64) (*sc->p - '0');
    if (v > max)
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE,
          "number too large (max %" G_GUINT64_FORMAT ")", max);
    sc->p++;
  }
  if (sc->p == start)
    return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
        "expected a non-negative integer (%s)", describe (sc));
  *out = v;
  return TRUE;
}

/* Unsigned decimal with optional fraction and exponent. */
static gboolean
scan_number (Scanner * sc, gdouble * out)
{
  const gchar *start = sc->p;
  gchar buf[64];
  gsize n;
  gdouble v;

  while (sc->p < sc->end && g_ascii_isdigit (*sc->p))
    sc->p++;
  if (sc->p == start) {
    if (sc->p < sc->end && (g_ascii_isalpha (*sc->p) || *sc->p == '.'))
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE,
          "not a finite decimal number (NaN, inf, hex and leading '.' are "
          "rejected)");
    return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
        "expected a number (%s)", describe (sc));
  }
  if (sc->p < sc->end && *sc->p == '.') {
    sc->p++;
    while (sc->p < sc->end && g_ascii_isdigit (*sc->p))
      sc->p++;
  }
  if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
    const gchar *e = sc->p++;
    if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
      sc->p++;
    if (sc->p >= sc->end || !g_ascii_isdigit (*sc->p)) {
      sc->p = e;
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
          "malformed exponent");
    }
    while (sc->p < sc->end && g_ascii_isdigit (*sc->p))
      sc->p++;
  }
  n = (gsize) (sc->p - start);
  if (n >= sizeof buf) {
    sc->p = start;
    return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE, "number too long");
  }
  memcpy (buf, start, n);
  buf[n] = '\0';
  v = g_ascii_strtod (buf, NULL);
  if (!isfinite (v) || v > 1e7) {
    sc->p = start;
    return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE,
        "coordinate '%s' is not finite or too large", buf);
  }
  *out = v;
  return TRUE;
}

static gboolean
expect (Scanner * sc, gchar c, const gchar * what)
{
  if (sc->p < sc->end && *sc->p == c) {
    sc->p++;
    return TRUE;
  }
  return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX, "expected '%c' %s",
      c, what);
}

static GstSamSegObjectPrompt *
find_or_add (GArray * arr, guint32 id)
{
  for (guint i = 0; i < arr->len; i++) {
    GstSamSegObjectPrompt *p = &g_array_index (arr, GstSamSegObjectPrompt, i);
    if (p->obj_id == id)
      return p;
  }
  if (arr->len >= GST_SAMSEG_MAX_PROMPT_OBJECTS)
    return NULL;
  g_array_set_size (arr, arr->len + 1);
  GstSamSegObjectPrompt *p =
      &g_array_index (arr, GstSamSegObjectPrompt, arr->len - 1);
  memset (p, 0, sizeof *p);
  p->obj_id = id;
  return p;
}

/* Parses entries until end or (for files) a '#'. Appends to @arr. */
static gboolean
scan_entries (Scanner * sc, GArray * arr)
{
  for (;;) {
    guint64 id;
    const gchar *entry;
    GstSamSegObjectPrompt *op;

    while (sc->p < sc->end && is_sep (*sc->p))
      sc->p++;
    if (sc->p >= sc->end || *sc->p == '#')
      return TRUE;
    entry = sc->p;
    if (!scan_uint (sc, GST_SAMSEG_MAX_OBJECT_ID, &id))
      return FALSE;
    if (id == 0) {
      sc->p = entry;
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE,
          "object id 0 is reserved; ids start at 1");
    }
    if (!expect (sc, ':', "after the object id"))
      return FALSE;
    if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-')) {
      gint32 label = *sc->p == '+' ? 1 : 0;
      gdouble x, y;
      sc->p++;
      if (!scan_number (sc, &x) || !expect (sc, ',', "between X and Y") ||
          !scan_number (sc, &y))
        return FALSE;
      op = find_or_add (arr, (guint32) id);
      if (!op) {
        sc->p = entry;
        return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_LIMIT,
            "more than %d objects in one prompt", GST_SAMSEG_MAX_PROMPT_OBJECTS);
      }
      if (op->n_points >= GST_SAMSEG_MAX_POINTS) {
        sc->p = entry;
        return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_LIMIT,
            "more than %d points for object %u", GST_SAMSEG_MAX_POINTS,
            (guint) id);
      }
      op->points[2 * op->n_points] = (gfloat) x;
      op->points[2 * op->n_points + 1] = (gfloat) y;
      op->labels[op->n_points] = label;
      op->n_points++;
    } else {
      gdouble b[4];
      for (int k = 0; k < 4; k++) {
        if (k && !expect (sc, ',', "between box coordinates"))
          return FALSE;
        if (k == 0 && (sc->p >= sc->end || (!g_ascii_isdigit (*sc->p) &&
                    !g_ascii_isalpha (*sc->p) && *sc->p != '.')))
          return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
              "expected '+X,Y', '-X,Y' or 'X0,Y0,X1,Y1' after '%u:'",
              (guint) id);
        if (!scan_number (sc, &b[k]))
          return FALSE;
        if (k == 1 && (sc->p >= sc->end || *sc->p != ','))
          return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
              "a click needs a sign ('%u:+X,Y' or '%u:-X,Y'); a box needs "
              "4 numbers", (guint) id, (guint) id);
      }
      if (b[2] < b[0] || b[3] < b[1]) {
        sc->p = entry;
        return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE,
            "box needs x0 <= x1 and y0 <= y1");
      }
      op = find_or_add (arr, (guint32) id);
      if (!op) {
        sc->p = entry;
        return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_LIMIT,
            "more than %d objects in one prompt", GST_SAMSEG_MAX_PROMPT_OBJECTS);
      }
      if (op->has_box) {
        sc->p = entry;
        return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE,
            "object %u has two boxes", (guint) id);
      }
      op->has_box = TRUE;
      for (int k = 0; k < 4; k++)
        op->box[k] = (gfloat) b[k];
    }
    if (sc->p < sc->end && !is_sep (*sc->p) && *sc->p != '#')
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
          "expected a space or ';' after an entry");
  }
}

gboolean
gst_samseg_prompt_parse (const gchar * str, GArray * out, GError ** error)
{
  Scanner sc;
  GArray *tmp;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (g_array_get_element_size (out) ==
      sizeof (GstSamSegObjectPrompt), FALSE);
  if (!str)
    return TRUE;
  sc.s = sc.p = str;
  sc.end = str + strlen (str);
  sc.line = 0;
  sc.error = error;
  tmp = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
  if (out->len)
    g_array_append_vals (tmp, out->data, out->len);
  if (!scan_entries (&sc, tmp) || (sc.p < sc.end && *sc.p == '#' &&
          !scan_fail (&sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
              "'#' comments are only allowed in prompt files"))) {
    g_array_unref (tmp);
    return FALSE;
  }
  g_array_set_size (out, 0);
  g_array_append_vals (out, tmp->data, tmp->len);
  g_array_unref (tmp);
  return TRUE;
}

static void
prompt_line_free (gpointer p)
{
  GstSamSegPromptLine *l = p;
  g_array_unref (l->objects);
  g_free (l);
}

/* "12" → frame; "12.5s", "500ms", "250us", "10ns" → time. */
static gboolean
scan_when (Scanner * sc, GstSamSegPromptLine * l)
{
  const gchar *start = sc->p;
  gdouble v;
  gboolean frac = FALSE;

  while (sc->p < sc->end && (g_ascii_isdigit (*sc->p) || *sc->p == '.')) {
    if (*sc->p == '.')
      frac = TRUE;
    sc->p++;
  }
  if (sc->p == start)
    return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
        "a line starts with a frame number or a time such as 12.5s");
  if (sc->p < sc->end && g_ascii_isalpha (*sc->p)) {
    static const struct {
      const gchar *unit;
      gdouble mul;
    } units[] = { {"ms", 1e6}, {"us", 1e3}, {"ns", 1.0}, {"s", 1e9} };
    gchar buf[64];
    gsize n = (gsize) (sc->p - start);
    const gchar *u = sc->p;
    gsize ulen = 0;
    while (sc->p < sc->end && g_ascii_isalpha (*sc->p))
      sc->p++, ulen++;
    gdouble mul = -1;
    for (guint i = 0; i < G_N_ELEMENTS (units); i++)
      if (strlen (units[i].unit) == ulen && !strncmp (u, units[i].unit, ulen))
        mul = units[i].mul;
    if (mul < 0) {
      sc->p = u;
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
          "unknown time unit (use s, ms, us or ns)");
    }
    if (n >= sizeof buf || n == 0 || (n == 1 && *start == '.')) {
      sc->p = start;
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX, "malformed time");
    }
    memcpy (buf, start, n);
    buf[n] = 0;
    v = g_ascii_strtod (buf, NULL) * mul;
    if (!isfinite (v) || v < 0 || v > 1e18) {
      sc->p = start;
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_VALUE, "time out of range");
    }
    l->is_time = TRUE;
    l->time_ns = (guint64) llround (v);
  } else {
    Scanner tmp = *sc;
    if (frac) {
      sc->p = start;
      return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
          "a frame number is an integer; add 's' for seconds");
    }
    tmp.p = start;
    if (!scan_uint (&tmp, G_MAXUINT32, &l->frame)) {
      sc->p = tmp.p;
      return FALSE;
    }
  }
  if (sc->p < sc->end && !is_sep (*sc->p) && *sc->p != '#')
    return scan_fail (sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
        "expected a space after the frame number or time");
  return TRUE;
}

GPtrArray *
gst_samseg_prompt_file_parse (const gchar * text, gssize len, GError ** error)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (prompt_line_free);
  const gchar *p, *end;
  guint line_no = 0;

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  if (len < 0)
    len = (gssize) strlen (text);
  if (memchr (text, '\0', (gsize) len)) {
    g_set_error (error, GST_SAMSEG_PROMPT_ERROR,
        GST_SAMSEG_PROMPT_ERROR_SYNTAX, "prompt file contains a NUL byte");
    g_ptr_array_unref (lines);
    return NULL;
  }
  p = text;
  end = text + len;
  while (p < end) {
    const gchar *nl = memchr (p, '\n', (gsize) (end - p));
    const gchar *le = nl ? nl : end;
    Scanner sc = { p, p, le, ++line_no, error };

    while (sc.p < sc.end && is_sep (*sc.p))
      sc.p++;
    if (sc.p < sc.end && *sc.p != '#') {
      GstSamSegPromptLine *l = g_new0 (GstSamSegPromptLine, 1);
      l->line_no = line_no;
      l->objects = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
      if (lines->len >= GST_SAMSEG_MAX_PROMPT_LINES) {
        scan_fail (&sc, GST_SAMSEG_PROMPT_ERROR_LIMIT,
            "more than %d prompt lines", GST_SAMSEG_MAX_PROMPT_LINES);
        prompt_line_free (l);
        g_ptr_array_unref (lines);
        return NULL;
      }
      if (!scan_when (&sc, l) || !scan_entries (&sc, l->objects)) {
        prompt_line_free (l);
        g_ptr_array_unref (lines);
        return NULL;
      }
      if (l->objects->len == 0) {
        sc.p = sc.s;
        scan_fail (&sc, GST_SAMSEG_PROMPT_ERROR_SYNTAX,
            "no prompt entries after the frame number or time");
        prompt_line_free (l);
        g_ptr_array_unref (lines);
        return NULL;
      }
      g_ptr_array_add (lines, l);
    }
    p = nl ? nl + 1 : end;
  }
  return lines;
}

GPtrArray *
gst_samseg_prompt_file_load (const gchar * path, GError ** error)
{
  gchar *text = NULL;
  gsize len = 0;
  GPtrArray *res;

  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  if (len > 64 * 1024 * 1024) {
    g_set_error (error, GST_SAMSEG_PROMPT_ERROR, GST_SAMSEG_PROMPT_ERROR_LIMIT,
        "%s: prompt file larger than 64 MiB", path);
    g_free (text);
    return NULL;
  }
  res = gst_samseg_prompt_file_parse (text, (gssize) len, error);
  if (!res)
    g_prefix_error (error, "%s: ", path);
  g_free (text);
  return res;
}

gboolean
gst_samseg_object_prompt_in_frame (const GstSamSegObjectPrompt * p,
    gint width, gint height)
{
  for (gint i = 0; i < p->n_points; i++) {
    gfloat x = p->points[2 * i], y = p->points[2 * i + 1];
    if (!(x >= 0 && x <= width && y >= 0 && y <= height))
      return FALSE;
  }
  if (p->has_box) {
    if (!(p->box[0] >= 0 && p->box[2] <= width && p->box[1] >= 0 &&
            p->box[3] <= height && p->box[0] <= p->box[2] &&
            p->box[1] <= p->box[3]))
      return FALSE;
  }
  return TRUE;
}

gchar *
gst_samseg_object_prompt_to_string (const GstSamSegObjectPrompt * p)
{
  GString *s = g_string_new (NULL);
  gchar a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

  for (gint i = 0; i < p->n_points; i++)
    g_string_append_printf (s, "%s%u:%c%s,%s", s->len ? " " : "", p->obj_id,
        p->labels[i] ? '+' : '-',
        g_ascii_formatd (a, sizeof a, "%g", p->points[2 * i]),
        g_ascii_formatd (b, sizeof b, "%g", p->points[2 * i + 1]));
  if (p->has_box) {
    gchar c[G_ASCII_DTOSTR_BUF_SIZE], d[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf (s, "%s%u:%s,%s,%s,%s", s->len ? " " : "",
        p->obj_id, g_ascii_formatd (a, sizeof a, "%g", p->box[0]),
        g_ascii_formatd (b, sizeof b, "%g", p->box[1]),
        g_ascii_formatd (c, sizeof c, "%g", p->box[2]),
        g_ascii_formatd (d, sizeof d, "%g", p->box[3]));
  }
  return g_string_free (s, FALSE);
}
