/* test-prompt.c — the prompt string / file parser and the prompt events
 * (constructors, parsers, malformed events), without a pipeline. */
#include <gst/check/gstcheck.h>
#include <string.h>

#include "gstsamseg-prompt.h"
#include "gstsamsegevent.h"

static GArray *
parse_ok (const gchar * s)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
  GError *err = NULL;
  gboolean ok = gst_samseg_prompt_parse (s, a, &err);
  fail_unless (ok, "'%s' failed: %s", s, err ? err->message : "?");
  return a;
}

static void
parse_bad (const gchar * s, gint code, const gchar * needle)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
  GError *err = NULL;
  fail_if (gst_samseg_prompt_parse (s, a, &err), "'%s' parsed", s);
  fail_unless (err != NULL);
  fail_unless_equals_int (err->code, code);
  fail_unless (strstr (err->message, needle) != NULL, "'%s': message '%s' "
      "lacks '%s'", s, err->message, needle);
  fail_unless_equals_int (a->len, 0);
  g_error_free (err);
  g_array_unref (a);
}

GST_START_TEST (test_parse_example)
{
  GArray *a = parse_ok ("1:+310,200 1:-330,260 2:500,120,700,400");
  GstSamSegObjectPrompt *p;

  fail_unless_equals_int (a->len, 2);
  p = &g_array_index (a, GstSamSegObjectPrompt, 0);
  fail_unless_equals_int (p->obj_id, 1);
  fail_unless_equals_int (p->n_points, 2);
  fail_unless_equals_float (p->points[0], 310);
  fail_unless_equals_float (p->points[1], 200);
  fail_unless_equals_int (p->labels[0], 1);
  fail_unless_equals_float (p->points[2], 330);
  fail_unless_equals_int (p->labels[1], 0);
  fail_if (p->has_box);
  p = &g_array_index (a, GstSamSegObjectPrompt, 1);
  fail_unless_equals_int (p->obj_id, 2);
  fail_unless (p->has_box);
  fail_unless_equals_int (p->n_points, 0);
  fail_unless_equals_float (p->box[0], 500);
  fail_unless_equals_float (p->box[3], 400);
  g_array_unref (a);

  /* ';' and extra blanks, decimals and exponents */
  a = parse_ok ("  3:+1.5,2.25;;3:-1e1,0.5e+1 ;");
  p = &g_array_index (a, GstSamSegObjectPrompt, 0);
  fail_unless_equals_int (a->len, 1);
  fail_unless_equals_int (p->n_points, 2);
  fail_unless_equals_float (p->points[0], 1.5);
  fail_unless_equals_float (p->points[2], 10);
  fail_unless_equals_float (p->points[3], 5);
  g_array_unref (a);

  a = parse_ok ("");
  fail_unless_equals_int (a->len, 0);
  g_array_unref (a);
}

GST_END_TEST;

GST_START_TEST (test_parse_errors)
{
  parse_bad ("1:310,200", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "needs a sign");
  parse_bad ("1:+310", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "column 7");
  parse_bad ("1+310,200", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "expected ':'");
  parse_bad ("0:+1,1", GST_SAMSEG_PROMPT_ERROR_VALUE, "reserved");
  parse_bad ("1:+nan,1", GST_SAMSEG_PROMPT_ERROR_VALUE, "not a finite");
  parse_bad ("1:+inf,1", GST_SAMSEG_PROMPT_ERROR_VALUE, "not a finite");
  parse_bad ("1:+1,INF", GST_SAMSEG_PROMPT_ERROR_VALUE, "not a finite");
  parse_bad ("1:+1e999,1", GST_SAMSEG_PROMPT_ERROR_VALUE, "too large");
  parse_bad ("1:+0x10,1", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "column 5");
  parse_bad ("1:+1,1e", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "exponent");
  parse_bad ("1:5,5,1,1", GST_SAMSEG_PROMPT_ERROR_VALUE, "x0 <= x1");
  parse_bad ("1:1,1,2,2 1:3,3,4,4", GST_SAMSEG_PROMPT_ERROR_VALUE, "two boxes");
  parse_bad ("1:+1,1 x", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "column 8");
  parse_bad ("1:+1,1,", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "column 7");
  parse_bad ("99999999999:+1,1", GST_SAMSEG_PROMPT_ERROR_VALUE, "too large");
  parse_bad ("1:+1,1 # c", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "comments");
  parse_bad ("1:+1,1,2,3", GST_SAMSEG_PROMPT_ERROR_SYNTAX, "after an entry");
}

GST_END_TEST;

GST_START_TEST (test_parse_limits)
{
  GString *s = g_string_new (NULL);
  GArray *a;

  for (int i = 0; i < GST_SAMSEG_MAX_POINTS; i++)
    g_string_append_printf (s, "7:+%d,%d ", i, i);
  a = parse_ok (s->str);
  fail_unless_equals_int (g_array_index (a, GstSamSegObjectPrompt,
          0).n_points, GST_SAMSEG_MAX_POINTS);
  g_array_unref (a);
  g_string_append (s, "7:+1,1");
  parse_bad (s->str, GST_SAMSEG_PROMPT_ERROR_LIMIT, "more than 64 points");
  g_string_free (s, TRUE);

  /* appending merges with what is already there, and errors leave it alone */
  a = parse_ok ("1:+1,1");
  GError *err = NULL;
  fail_unless (gst_samseg_prompt_parse ("1:-2,2 2:+3,3", a, &err));
  fail_unless_equals_int (a->len, 2);
  fail_unless_equals_int (g_array_index (a, GstSamSegObjectPrompt,
          0).n_points, 2);
  fail_if (gst_samseg_prompt_parse ("3:+1,1 bad", a, &err));
  g_clear_error (&err);
  fail_unless_equals_int (a->len, 2);
  g_array_unref (a);
}

GST_END_TEST;

GST_START_TEST (test_in_frame_and_to_string)
{
  GArray *a = parse_ok ("1:+10,20 1:0,0,100,50");
  GstSamSegObjectPrompt *p = &g_array_index (a, GstSamSegObjectPrompt, 0);
  gchar *s;

  fail_unless (gst_samseg_object_prompt_in_frame (p, 100, 50));
  fail_if (gst_samseg_object_prompt_in_frame (p, 99, 50));
  fail_if (gst_samseg_object_prompt_in_frame (p, 100, 19));
  s = gst_samseg_object_prompt_to_string (p);
  fail_unless_equals_string (s, "1:+10,20 1:0,0,100,50");
  g_free (s);
  g_array_unref (a);
}

GST_END_TEST;

GST_START_TEST (test_prompt_file)
{
  const gchar *text =
      "# prompts for clip\n"
      "0 1:+10,10 2:1,1,5,5   # first frame\n"
      "\n"
      "   12.5s 1:-3,4\n" "25 3:+1,2;3:+2,3\r\n" "500ms 4:+0,0\n";
  GError *err = NULL;
  GPtrArray *lines = gst_samseg_prompt_file_parse (text, -1, &err);
  GstSamSegPromptLine *l;

  fail_unless (lines != NULL, "%s", err ? err->message : "");
  fail_unless_equals_int (lines->len, 4);
  l = g_ptr_array_index (lines, 0);
  fail_if (l->is_time);
  fail_unless_equals_int (l->frame, 0);
  fail_unless_equals_int (l->line_no, 2);
  fail_unless_equals_int (l->objects->len, 2);
  l = g_ptr_array_index (lines, 1);
  fail_unless (l->is_time);
  fail_unless_equals_uint64 (l->time_ns, 12500 * GST_MSECOND);
  l = g_ptr_array_index (lines, 2);
  fail_unless_equals_int (l->frame, 25);
  fail_unless_equals_int (g_array_index (l->objects, GstSamSegObjectPrompt,
          0).n_points, 2);
  l = g_ptr_array_index (lines, 3);
  fail_unless_equals_uint64 (l->time_ns, 500 * GST_MSECOND);
  g_ptr_array_unref (lines);
}

GST_END_TEST;

static void
file_bad (const gchar * text, const gchar * needle)
{
  GError *err = NULL;
  GPtrArray *lines = gst_samseg_prompt_file_parse (text, -1, &err);
  fail_unless (lines == NULL, "'%s' parsed", text);
  fail_unless (err && strstr (err->message, needle), "'%s': '%s' lacks '%s'",
      text, err ? err->message : "", needle);
  g_error_free (err);
}

GST_START_TEST (test_prompt_file_errors)
{
  file_bad ("0 1:+1,1\n1 1:+nan,1\n", "line 2, column 6");
  file_bad ("1:+1,1\n", "line 1, column 2");
  file_bad ("1.5 1:+1,1\n", "integer");
  file_bad ("3h 1:+1,1\n", "unknown time unit");
  file_bad ("3\n", "no prompt entries");
  file_bad ("3 # only a comment\n", "no prompt entries");
  file_bad ("3x1:+1,1", "unknown time unit");
  {
    GError *err = NULL;
    fail_unless (gst_samseg_prompt_file_parse ("0 1:+1,1\0 x", 11, &err) ==
        NULL);
    fail_unless (strstr (err->message, "NUL") != NULL);
    g_clear_error (&err);
    fail_unless (gst_samseg_prompt_file_load ("/nonexistent/p.txt",
            &err) == NULL);
    g_error_free (err);
  }
}

GST_END_TEST;

/* ---- events ---------------------------------------------------------- */

GST_START_TEST (test_events_roundtrip)
{
  gfloat xy[4] = { 10, 20, 30.5f, 40 };
  gint32 lab[2] = { 1, 0 };
  GstEvent *e;
  GstClockTime rt;
  guint32 id;
  guint n;
  gfloat *pxy, box[4];
  gint32 *pl;

  e = gst_samseg_event_new_add_points (FALSE, 5 * GST_SECOND, 3, 2, xy, lab);
  fail_unless_equals_int (GST_EVENT_TYPE (e), GST_EVENT_CUSTOM_DOWNSTREAM);
  fail_unless (GST_EVENT_IS_SERIALIZED (e));
  fail_unless_equals_int (gst_samseg_event_get_type_of (e),
      GST_SAMSEG_EVENT_ADD_POINTS);
  fail_unless (gst_samseg_event_parse_add_points (e, &rt, &id, &n, &pxy, &pl,
          NULL));
  fail_unless_equals_uint64 (rt, 5 * GST_SECOND);
  fail_unless_equals_int (id, 3);
  fail_unless_equals_int (n, 2);
  fail_unless_equals_float (pxy[2], 30.5f);
  fail_unless_equals_int (pl[1], 0);
  g_free (pxy);
  g_free (pl);
  /* serialization through the string form keeps it parseable */
  {
    gchar *str = gst_structure_to_string (gst_event_get_structure (e));
    GstStructure *s2 = gst_structure_from_string (str, NULL);
    GstEvent *e2 = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s2);
    fail_unless (gst_samseg_event_parse_add_points (e2, NULL, &id, &n, NULL,
            NULL, NULL));
    fail_unless_equals_int (n, 2);
    gst_event_unref (e2);
    g_free (str);
  }
  gst_event_unref (e);

  e = gst_samseg_event_new_add_box (TRUE, GST_CLOCK_TIME_NONE, 2, 1, 2, 3, 4);
  fail_unless_equals_int (GST_EVENT_TYPE (e), GST_EVENT_CUSTOM_UPSTREAM);
  fail_unless (gst_samseg_event_parse_add_box (e, &rt, &id, box, NULL));
  fail_unless_equals_uint64 (rt, GST_CLOCK_TIME_NONE);
  fail_unless_equals_float (box[3], 4);
  fail_if (gst_samseg_event_parse_reset (e, NULL, NULL));
  gst_event_unref (e);

  e = gst_samseg_event_new_remove_object (FALSE, 0, 9);
  fail_unless (gst_samseg_event_parse_remove_object (e, &rt, &id, NULL));
  fail_unless_equals_int (id, 9);
  gst_event_unref (e);

  e = gst_samseg_event_new_reset (FALSE, 7);
  fail_unless (gst_samseg_event_parse_reset (e, &rt, NULL));
  fail_unless_equals_uint64 (rt, 7);
  gst_event_unref (e);

  e = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new_empty ("something-else"));
  fail_unless_equals_int (gst_samseg_event_get_type_of (e),
      GST_SAMSEG_EVENT_NONE);
  gst_event_unref (e);
}

GST_END_TEST;

static void
event_bad (const gchar * desc, const gchar * needle)
{
  GstStructure *s = gst_structure_from_string (desc, NULL);
  GstEvent *e;
  GError *err = NULL;
  gboolean ok = TRUE;

  fail_unless (s != NULL, "%s", desc);
  e = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s);
  switch (gst_samseg_event_get_type_of (e)) {
    case GST_SAMSEG_EVENT_ADD_POINTS:{
      gfloat *xy = NULL;
      gint32 *l = NULL;
      ok = gst_samseg_event_parse_add_points (e, NULL, NULL, NULL, &xy, &l,
          &err);
      g_free (xy);
      g_free (l);
      break;
    }
    case GST_SAMSEG_EVENT_ADD_BOX:
      ok = gst_samseg_event_parse_add_box (e, NULL, NULL, NULL, &err);
      break;
    case GST_SAMSEG_EVENT_REMOVE_OBJECT:
      ok = gst_samseg_event_parse_remove_object (e, NULL, NULL, &err);
      break;
    case GST_SAMSEG_EVENT_RESET:
      ok = gst_samseg_event_parse_reset (e, NULL, &err);
      break;
    default:
      fail ("not a samseg event: %s", desc);
  }
  fail_if (ok, "'%s' parsed", desc);
  fail_unless (err && strstr (err->message, needle), "'%s': '%s' lacks '%s'",
      desc, err ? err->message : "", needle);
  g_error_free (err);
  gst_event_unref (e);
}

GST_START_TEST (test_events_malformed)
{
  event_bad ("samseg-add-points, points=(double)<1.0,2.0>, labels=(int)<1>",
      "missing 'object-id'");
  event_bad ("samseg-add-points, object-id=(uint)0, points=(double)<1.0,2.0>, "
      "labels=(int)<1>", "object-id");
  event_bad ("samseg-add-points, object-id=(string)x, points=(double)<1.0,2.0>,"
      " labels=(int)<1>", "unsigned");
  event_bad ("samseg-add-points, object-id=(uint)1, labels=(int)<1>",
      "'points'");
  event_bad ("samseg-add-points, object-id=(uint)1, points=(double)<1.0>, "
      "labels=(int)<1>", "two numbers");
  event_bad ("samseg-add-points, object-id=(uint)1, points=(double)<1.0,2.0>, "
      "labels=(int)<5>", "labels must be");
  event_bad ("samseg-add-points, object-id=(uint)1, points=(string)<a,b>, "
      "labels=(int)<1>", "finite");
  event_bad ("samseg-add-points, object-id=(uint)1, points=(double)<>, "
      "labels=(int)<>", "no points");
  event_bad ("samseg-add-points, object-id=(uint)1, points=(double)<1.0,2.0>,"
      " labels=(int)<1>, running-time=(string)soon", "running-time");
  event_bad ("samseg-add-box, object-id=(uint)1, x0=(double)5, y0=(double)0, "
      "x1=(double)1, y1=(double)1", "x0 <= x1");
  event_bad ("samseg-add-box, object-id=(uint)1, x0=(double)5", "finite");
  event_bad ("samseg-remove-object", "object-id");
  event_bad ("samseg-reset, running-time=(double)1.5", "running-time");
  {
    /* NaN cannot be written in the string form: build it directly */
    gfloat xy[2] = { NAN, 1 };
    gint32 l[1] = { 1 };
    GstEvent *e = gst_samseg_event_new_add_points (FALSE, 0, 1, 1, xy, l);
    GError *err = NULL;
    gfloat *pxy;
    gint32 *pl;
    fail_if (gst_samseg_event_parse_add_points (e, NULL, NULL, NULL, &pxy,
            &pl, &err));
    fail_unless (strstr (err->message, "finite") != NULL);
    g_error_free (err);
    gst_event_unref (e);
  }
  {
    /* more than 64 points */
    gfloat xy[130] = { 0 };
    gint32 l[65] = { 0 };
    GstEvent *e = gst_samseg_event_new_add_points (FALSE, 0, 1, 65, xy, l);
    GError *err = NULL;
    fail_if (gst_samseg_event_parse_add_points (e, NULL, NULL, NULL, NULL,
            NULL, &err));
    fail_unless (strstr (err->message, "64") != NULL);
    g_error_free (err);
    gst_event_unref (e);
  }
}

GST_END_TEST;

/* Mutated inputs: never crash, always either parse or set an error. A
 * cheap stand-in until the libFuzzer targets exist. */
GST_START_TEST (test_parse_mutations)
{
  const gchar *seeds[] = { "1:+310,200 1:-330,260 2:500,120,700,400",
    "0 1:+10,10 2:1,1,5,5 # c\n12.5s 1:-3,4\n25 3:+1,2;3:+2,3\n",
    "7:1e3,2.5e-1,3000,4e2"
  };
  const gchar alphabet[] = "0123456789+-:,.;# \nse\tnaiEx";
  GRand *r = g_rand_new_with_seed (1234);

  for (gint it = 0; it < 20000; it++) {
    gchar *s = g_strdup (seeds[it % G_N_ELEMENTS (seeds)]);
    gsize len = strlen (s);
    gint n_mut = g_rand_int_range (r, 1, 6);
    for (gint k = 0; k < n_mut && len > 0; k++) {
      gsize pos = (gsize) g_rand_int_range (r, 0, (gint) len);
      switch (g_rand_int_range (r, 0, 3)) {
        case 0:
          s[pos] = alphabet[g_rand_int_range (r, 0, sizeof alphabet - 1)];
          break;
        case 1:
          memmove (s + pos, s + pos + 1, len - pos);
          len--;
          break;
        default:
          s[pos] = (gchar) g_rand_int_range (r, 1, 256);
          break;
      }
    }
    {
      GArray *a = g_array_new (FALSE, TRUE, sizeof (GstSamSegObjectPrompt));
      GError *err = NULL;
      gboolean ok = gst_samseg_prompt_parse (s, a, &err);
      fail_unless (ok == (err == NULL));
      g_clear_error (&err);
      g_array_unref (a);
    }
    {
      GError *err = NULL;
      GPtrArray *l = gst_samseg_prompt_file_parse (s, (gssize) len, &err);
      fail_unless ((l != NULL) == (err == NULL));
      g_clear_error (&err);
      if (l)
        g_ptr_array_unref (l);
    }
    g_free (s);
  }
  g_rand_free (r);
}

GST_END_TEST;

static Suite *
prompt_suite (void)
{
  Suite *s = suite_create ("samseg-prompt");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_parse_example);
  tcase_add_test (tc, test_parse_errors);
  tcase_add_test (tc, test_parse_limits);
  tcase_add_test (tc, test_in_frame_and_to_string);
  tcase_add_test (tc, test_prompt_file);
  tcase_add_test (tc, test_prompt_file_errors);
  tcase_add_test (tc, test_events_roundtrip);
  tcase_add_test (tc, test_events_malformed);
  tcase_add_test (tc, test_parse_mutations);
  return s;
}

GST_CHECK_MAIN (prompt);
