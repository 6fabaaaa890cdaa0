/* gstsamsegevent.c — constructors and strict parsers for samseg prompt events. */
#include "gstsamsegevent.h"

#include <math.h>

#define MAX_POINTS 64
#define MAX_ID 0x7fffffff

static const gchar *names[] = { NULL, "samseg-add-points", "samseg-add-box",
  "samseg-remove-object", "samseg-reset"
};

static GstEvent *
make (gboolean upstream, GstStructure * s)
{
  return gst_event_new_custom (upstream ? GST_EVENT_CUSTOM_UPSTREAM :
      GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

GstSamSegEventType
gst_samseg_event_get_type_of (GstEvent * event)
{
  const GstStructure *s;

  g_return_val_if_fail (GST_IS_EVENT (event), GST_SAMSEG_EVENT_NONE);
  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM &&
      GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM)
    return GST_SAMSEG_EVENT_NONE;
  s = gst_event_get_structure (event);
  if (!s)
    return GST_SAMSEG_EVENT_NONE;
  for (guint i = 1; i < G_N_ELEMENTS (names); i++)
    if (gst_structure_has_name (s, names[i]))
      return (GstSamSegEventType) i;
  return GST_SAMSEG_EVENT_NONE;
}

GstEvent *
gst_samseg_event_new_add_points (gboolean upstream, GstClockTime running_time,
    guint32 object_id, guint n_points, const gfloat * xy,
    const gint32 * labels)
{
  GValue pts = G_VALUE_INIT, lbl = G_VALUE_INIT, v = G_VALUE_INIT;
  GstStructure *s;

  g_return_val_if_fail (n_points == 0 || (xy && labels), NULL);
  gst_value_array_init (&pts, 2 * n_points);
  gst_value_array_init (&lbl, n_points);
  for (guint i = 0; i < n_points; i++) {
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, xy[2 * i]);
    gst_value_array_append_value (&pts, &v);
    g_value_set_double (&v, xy[2 * i + 1]);
    gst_value_array_append_value (&pts, &v);
    g_value_unset (&v);
    g_value_init (&v, G_TYPE_INT);
    g_value_set_int (&v, labels[i]);
    gst_value_array_append_value (&lbl, &v);
    g_value_unset (&v);
  }
  s = gst_structure_new (names[GST_SAMSEG_EVENT_ADD_POINTS],
      "object-id", G_TYPE_UINT, object_id,
      "running-time", G_TYPE_UINT64, (guint64) running_time, NULL);
  gst_structure_take_value (s, "points", &pts);
  gst_structure_take_value (s, "labels", &lbl);
  return make (upstream, s);
}

GstEvent *
gst_samseg_event_new_add_box (gboolean upstream, GstClockTime running_time,
    guint32 object_id, gfloat x0, gfloat y0, gfloat x1, gfloat y1)
{
  return make (upstream, gst_structure_new (names[GST_SAMSEG_EVENT_ADD_BOX],
          "object-id", G_TYPE_UINT, object_id,
          "x0", G_TYPE_DOUBLE, (gdouble) x0, "y0", G_TYPE_DOUBLE, (gdouble) y0,
          "x1", G_TYPE_DOUBLE, (gdouble) x1, "y1", G_TYPE_DOUBLE, (gdouble) y1,
          "running-time", G_TYPE_UINT64, (guint64) running_time, NULL));
}

GstEvent *
gst_samseg_event_new_remove_object (gboolean upstream,
    GstClockTime running_time, guint32 object_id)
{
  return make (upstream,
      gst_structure_new (names[GST_SAMSEG_EVENT_REMOVE_OBJECT],
          "object-id", G_TYPE_UINT, object_id,
          "running-time", G_TYPE_UINT64, (guint64) running_time, NULL));
}

GstEvent *
gst_samseg_event_new_reset (gboolean upstream, GstClockTime running_time)
{
  return make (upstream, gst_structure_new (names[GST_SAMSEG_EVENT_RESET],
          "running-time", G_TYPE_UINT64, (guint64) running_time, NULL));
}

/* ---- parsing ----------------------------------------------------------- */

static gboolean
fail (GError ** error, const GstStructure * s, const gchar * what)
{
  g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
      "malformed %s event: %s", s ? gst_structure_get_name (s) : "samseg",
      what);
  return FALSE;
}

static const GstStructure *
get_struct (GstEvent * event, GstSamSegEventType want, GError ** error)
{
  if (gst_samseg_event_get_type_of (event) != want) {
    fail (error, NULL, "not a samseg event of the expected kind");
    return NULL;
  }
  return gst_event_get_structure (event);
}

/* running-time is optional (absent = next frame); accepts uint64 or int64. */
static gboolean
get_running_time (const GstStructure * s, GstClockTime * rt, GError ** error)
{
  const GValue *v = gst_structure_get_value (s, "running-time");
  GstClockTime t = GST_CLOCK_TIME_NONE;

  if (v) {
    if (G_VALUE_HOLDS_UINT64 (v))
      t = g_value_get_uint64 (v);
    else if (G_VALUE_HOLDS_INT64 (v) && g_value_get_int64 (v) >= 0)
      t = (GstClockTime) g_value_get_int64 (v);
    else
      return fail (error, s, "'running-time' must be a guint64");
  }
  if (rt)
    *rt = t;
  return TRUE;
}

static gboolean
get_id (const GstStructure * s, guint32 * id, GError ** error)
{
  const GValue *v = gst_structure_get_value (s, "object-id");
  gint64 x;

  if (!v)
    return fail (error, s, "missing 'object-id'");
  if (G_VALUE_HOLDS_UINT (v))
    x = g_value_get_uint (v);
  else if (G_VALUE_HOLDS_INT (v))
    x = g_value_get_int (v);
  else
    return fail (error, s, "'object-id' must be an unsigned integer");
  if (x < 1 || x > MAX_ID)
    return fail (error, s, "'object-id' must be in [1, 2147483647]");
  if (id)
    *id = (guint32) x;
  return TRUE;
}

static gboolean
value_to_double (const GValue * v, gdouble * out)
{
  if (G_VALUE_HOLDS_DOUBLE (v))
    *out = g_value_get_double (v);
  else if (G_VALUE_HOLDS_FLOAT (v))
    *out = g_value_get_float (v);
  else if (G_VALUE_HOLDS_INT (v))
    *out = g_value_get_int (v);
  else if (G_VALUE_HOLDS_UINT (v))
    *out = g_value_get_uint (v);
  else
    return FALSE;
  return isfinite (*out) && fabs (*out) <= 1e7;
}

gboolean
gst_samseg_event_parse_add_points (GstEvent * event,
    GstClockTime * running_time, guint32 * object_id, guint * n_points,
    gfloat ** xy, gint32 ** labels, GError ** error)
{
  const GstStructure *s = get_struct (event, GST_SAMSEG_EVENT_ADD_POINTS,
      error);
  const GValue *pts, *lbl;
  guint n;
  gfloat *p;
  gint32 *l;

  if (!s || !get_running_time (s, running_time, error) ||
      !get_id (s, object_id, error))
    return FALSE;
  pts = gst_structure_get_value (s, "points");
  lbl = gst_structure_get_value (s, "labels");
  if (!pts || !GST_VALUE_HOLDS_ARRAY (pts))
    return fail (error, s, "'points' must be an array <x0, y0, x1, y1, ...>");
  if (!lbl || !GST_VALUE_HOLDS_ARRAY (lbl))
    return fail (error, s, "'labels' must be an array <1|0, ...>");
  n = gst_value_array_get_size (lbl);
  if (n == 0)
    return fail (error, s, "no points");
  if (n > MAX_POINTS)
    return fail (error, s, "more than 64 points");
  if (gst_value_array_get_size (pts) != 2 * n)
    return fail (error, s, "'points' must hold two numbers per label");
  p = g_new (gfloat, 2 * n);
  l = g_new (gint32, n);
  for (guint i = 0; i < n; i++) {
    const GValue *lv = gst_value_array_get_value (lbl, i);
    gdouble x, y;
    gint lab;
    if (G_VALUE_HOLDS_INT (lv))
      lab = g_value_get_int (lv);
    else if (G_VALUE_HOLDS_UINT (lv))
      lab = (gint) MIN (g_value_get_uint (lv), 2u);
    else if (G_VALUE_HOLDS_BOOLEAN (lv))
      lab = g_value_get_boolean (lv);
    else
      lab = -1;
    if ((lab != 0 && lab != 1) ||
        !value_to_double (gst_value_array_get_value (pts, 2 * i), &x) ||
        !value_to_double (gst_value_array_get_value (pts, 2 * i + 1), &y)) {
      g_free (p);
      g_free (l);
      return fail (error, s, lab != 0 && lab != 1 ?
          "labels must be 1 (positive) or 0 (negative)" :
          "point coordinates must be finite numbers");
    }
    p[2 * i] = (gfloat) x;
    p[2 * i + 1] = (gfloat) y;
    l[i] = lab;
  }
  if (n_points)
    *n_points = n;
  if (xy)
    *xy = p;
  else
    g_free (p);
  if (labels)
    *labels = l;
  else
    g_free (l);
  return TRUE;
}

gboolean
gst_samseg_event_parse_add_box (GstEvent * event, GstClockTime * running_time,
    guint32 * object_id, gfloat box[4], GError ** error)
{
  const GstStructure *s = get_struct (event, GST_SAMSEG_EVENT_ADD_BOX, error);
  static const gchar *f[4] = { "x0", "y0", "x1", "y1" };
  gdouble b[4];

  if (!s || !get_running_time (s, running_time, error) ||
      !get_id (s, object_id, error))
    return FALSE;
  for (int i = 0; i < 4; i++) {
    const GValue *v = gst_structure_get_value (s, f[i]);
    if (!v || !value_to_double (v, &b[i]))
      return fail (error, s, "x0, y0, x1, y1 must be finite numbers");
  }
  if (b[2] < b[0] || b[3] < b[1])
    return fail (error, s, "box needs x0 <= x1 and y0 <= y1");
  if (box)
    for (int i = 0; i < 4; i++)
      box[i] = (gfloat) b[i];
  return TRUE;
}

gboolean
gst_samseg_event_parse_remove_object (GstEvent * event,
    GstClockTime * running_time, guint32 * object_id, GError ** error)
{
  const GstStructure *s = get_struct (event, GST_SAMSEG_EVENT_REMOVE_OBJECT,
      error);
  return s && get_running_time (s, running_time, error) &&
      get_id (s, object_id, error);
}

gboolean
gst_samseg_event_parse_reset (GstEvent * event, GstClockTime * running_time,
    GError ** error)
{
  const GstStructure *s = get_struct (event, GST_SAMSEG_EVENT_RESET, error);
  return s && get_running_time (s, running_time, error);
}
