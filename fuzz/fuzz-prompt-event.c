/* fuzz-prompt-event.c — the prompt event parsers (gst-plugin/gstsamsegevent.c,
 * what the element runs on every custom event). The input bytes build the
 * event's GstStructure field by field: a name, then fields whose names,
 * types (int, uint, int64, uint64, float, double, boolean, string, value
 * arrays, lists, nested structures) and values come from the data, so the
 * parsers see every type confusion, NaN/inf, huge arrays and missing field.
 * A byte 0xff switches to gst_structure_from_string() on the rest (the
 * serialized form applications may use). Accepted events must satisfy the
 * documented limits. */
#include "fuzz-common.h"
#include "gstsamsegevent.h"

#include <math.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_quiet_glib ();
  /* no plugins are needed: skip the registry scan */
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (NULL, NULL);
  return 0;
}

typedef struct {
  const uint8_t *p, *end;
} Reader;

static guint8
u8 (Reader * r)
{
  return r->p < r->end ? *r->p++ : 0;
}

static guint64
u64 (Reader * r)
{
  guint64 v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | u8 (r);
  return v;
}

static guint32
u32 (Reader * r)
{
  guint32 v = 0;
  for (int i = 0; i < 4; i++)
    v = (v << 8) | u8 (r);
  return v;
}

static gdouble
f64 (Reader * r)
{
  /* mostly small numbers, sometimes raw bit patterns (NaN, inf, denormals) */
  guint8 k = u8 (r);
  if (k < 0xc0)
    return (gdouble) (gint16) ((u8 (r) << 8) | u8 (r)) / (k % 4 + 1);
  guint64 b = u64 (r);
  gdouble d;
  memcpy (&d, &b, 8);
  return d;
}

static void value_of_type (Reader * r, GValue * v, guint8 t, int depth);

static void
array_from (Reader * r, GValue * v, gboolean list, int depth)
{
  guint n = u8 (r);
  if (n > 200)                  /* sometimes many more than 64 points */
    n = 200 + (n - 200) * 4;
  if (list)
    gst_value_list_init (v, n);
  else
    gst_value_array_init (v, n);
  /* GStreamer wants one element type per array: ints or doubles, as real
   * events have, or any other scalar type */
  guint8 kind = u8 (r);
  for (guint i = 0; i < n && r->p < r->end; i++) {
    GValue e = G_VALUE_INIT;
    if (kind & 0x80)
      value_of_type (r, &e, (kind >> 1) % 10, depth + 1);
    else if (kind & 1) {
      g_value_init (&e, G_TYPE_INT);
      g_value_set_int (&e, (gint8) u8 (r));
    } else {
      g_value_init (&e, G_TYPE_DOUBLE);
      g_value_set_double (&e, f64 (r));
    }
    if (list)
      gst_value_list_append_and_take_value (v, &e);
    else
      gst_value_array_append_and_take_value (v, &e);
  }
}

static void
value_of_type (Reader * r, GValue * v, guint8 t, int depth)
{
  switch (t) {
    case 0:
      g_value_init (v, G_TYPE_INT);
      g_value_set_int (v, (gint) u32 (r));
      break;
    case 1:
      g_value_init (v, G_TYPE_UINT);
      g_value_set_uint (v, u32 (r));
      break;
    case 2:
      g_value_init (v, G_TYPE_INT64);
      g_value_set_int64 (v, (gint64) u64 (r));
      break;
    case 3:
      g_value_init (v, G_TYPE_UINT64);
      g_value_set_uint64 (v, u64 (r));
      break;
    case 4:
      g_value_init (v, G_TYPE_DOUBLE);
      g_value_set_double (v, f64 (r));
      break;
    case 5:
      g_value_init (v, G_TYPE_FLOAT);
      g_value_set_float (v, (gfloat) f64 (r));
      break;
    case 6:
      g_value_init (v, G_TYPE_BOOLEAN);
      g_value_set_boolean (v, u8 (r) & 1);
      break;
    case 7:{
      gchar s[9] = { 0 };
      for (int i = 0; i < 8; i++)
        s[i] = (gchar) (u8 (r) % 95 + 32);
      g_value_init (v, G_TYPE_STRING);
      g_value_set_string (v, s);
      break;
    }
    case 8:                    /* small int, the common valid case */
      g_value_init (v, G_TYPE_UINT);
      g_value_set_uint (v, u8 (r) % 4);
      break;
    case 9:
      g_value_init (v, G_TYPE_INT);
      g_value_set_int (v, (gint8) u8 (r));
      break;
    case 10:
      array_from (r, v, FALSE, depth);
      break;
    case 11:
      array_from (r, v, TRUE, depth);
      break;
    default:{
      GstStructure *s = gst_structure_new_empty ("nested");
      g_value_init (v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (v, s);
      break;
    }
  }
}

static void
value_from (Reader * r, GValue * v, int depth)
{
  value_of_type (r, v, u8 (r) % (depth < 3 ? 13 : 10), depth);
}

static const gchar *names[] = { "samseg-add-points", "samseg-add-box",
  "samseg-remove-object", "samseg-reset", "samseg-other"
};

static const gchar *fields[] = { "object-id", "points", "labels",
  "running-time", "x0", "y0", "x1", "y1", "extra"
};

static GstStructure *
structure_from (Reader * r)
{
  GstStructure *s;
  if (r->p < r->end && *r->p == 0xff) {
    r->p++;
    gchar *str = g_strndup ((const gchar *) r->p, r->end - r->p);
    /* GStreamer 1.22 g_critical()s on an invalid structure name instead of
     * failing quietly: only hand it names it accepts */
    gsize nl = strcspn (str, ",; \t\r\n");
    gboolean ok = g_ascii_isalpha (str[0]);
    for (gsize i = 0; ok && i < nl; i++)
      ok = g_ascii_isalnum (str[i]) || strchr ("/-_.:+", str[i]) != NULL;
    s = ok ? gst_structure_from_string (str, NULL) : NULL;
    g_free (str);
    return s;
  }
  s = gst_structure_new_empty (names[u8 (r) % G_N_ELEMENTS (names)]);
  while (r->p < r->end) {
    GValue v = G_VALUE_INIT;
    const gchar *f = fields[u8 (r) % G_N_ELEMENTS (fields)];
    value_from (r, &v, 0);
    gst_structure_take_value (s, f, &v);
  }
  return s;
}

static void
check_coord (double v)
{
  FUZZ_CHECK (isfinite (v) && fabs (v) <= 1e7, "coordinate %g", v);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  Reader r = { data + (size ? 1 : 0), data + size };
  gboolean upstream = size && (data[0] & 1);
  GstStructure *s = structure_from (&r);
  if (!s)
    return 0;
  GstEvent *ev = gst_event_new_custom (upstream ? GST_EVENT_CUSTOM_UPSTREAM :
      GST_EVENT_CUSTOM_DOWNSTREAM, s);
  GstSamSegEventType type = gst_samseg_event_get_type_of (ev);
  GstClockTime rt;
  guint32 id;
  guint n;
  gfloat *xy = NULL, box[4];
  gint32 *labels = NULL;
  GError *err = NULL;

  /* every parser on every event: the wrong kind must be refused */
  if (gst_samseg_event_parse_add_points (ev, &rt, &id, &n, &xy, &labels,
          &err)) {
    FUZZ_CHECK (type == GST_SAMSEG_EVENT_ADD_POINTS, "kind");
    FUZZ_CHECK (id >= 1 && id <= 0x7fffffff, "id %u", id);
    FUZZ_CHECK (n >= 1 && n <= 64, "%u points", n);
    for (guint i = 0; i < n; i++) {
      FUZZ_CHECK (labels[i] == 0 || labels[i] == 1, "label %d", labels[i]);
      check_coord (xy[2 * i]);
      check_coord (xy[2 * i + 1]);
    }
    g_free (xy);
    g_free (labels);
  } else {
    FUZZ_CHECK (err && err->message[0], "points: no message");
    g_clear_error (&err);
  }
  if (gst_samseg_event_parse_add_box (ev, &rt, &id, box, &err)) {
    FUZZ_CHECK (type == GST_SAMSEG_EVENT_ADD_BOX, "kind");
    FUZZ_CHECK (id >= 1 && id <= 0x7fffffff, "id %u", id);
    for (int k = 0; k < 4; k++)
      check_coord (box[k]);
    FUZZ_CHECK (box[0] <= box[2] && box[1] <= box[3], "inverted box");
  } else {
    FUZZ_CHECK (err && err->message[0], "box: no message");
    g_clear_error (&err);
  }
  if (gst_samseg_event_parse_remove_object (ev, &rt, &id, &err))
    FUZZ_CHECK (type == GST_SAMSEG_EVENT_REMOVE_OBJECT && id >= 1, "remove");
  else
    g_clear_error (&err);
  if (gst_samseg_event_parse_reset (ev, &rt, NULL))
    FUZZ_CHECK (type == GST_SAMSEG_EVENT_RESET, "reset");
  /* with NULL outputs too (the element's "is it valid" checks) */
  (void) gst_samseg_event_parse_add_points (ev, NULL, NULL, NULL, NULL, NULL,
      NULL);
  (void) gst_samseg_event_parse_add_box (ev, NULL, NULL, NULL, NULL);
  gst_event_unref (ev);
  return 0;
}
