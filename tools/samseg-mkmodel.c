/* samseg-mkmodel — write the synthetic-weight SAM 2.1 model of the reference
 * fixtures' recipe:
 *   samseg-mkmodel --seed N [--variant tiny] [--override NAME=add:X]... -o OUT
 */
#include "model/synth.h"
#include "sam/sam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage (void)
{
  fprintf (stderr, "usage: samseg-mkmodel --seed N [--variant tiny|small|"
      "base_plus|large] [--override NAME=add:X]... -o OUT.safetensors\n");
}

int
main (int argc, char **argv)
{
  guint64 seed = 0;
  gboolean have_seed = FALSE;
  const char *out = NULL, *variant = "tiny";
  GArray *ov = g_array_new (FALSE, TRUE, sizeof (SamSynthOverride));
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp (a, "--seed") == 0 && val) {
      char *end;
      seed = g_ascii_strtoull (val, &end, 10);
      if (*end) {
        fprintf (stderr, "samseg-mkmodel: bad seed '%s'\n", val);
        return 2;
      }
      have_seed = TRUE;
      i++;
    } else if (strcmp (a, "--variant") == 0 && val) {
      variant = val;
      i++;
    } else if (strcmp (a, "-o") == 0 && val) {
      out = val;
      i++;
    } else if (strcmp (a, "--override") == 0 && val) {
      const char *eq = strrchr (val, '=');
      if (!eq || strncmp (eq + 1, "add:", 4) != 0) {
        fprintf (stderr, "samseg-mkmodel: override must be NAME=add:X, got "
            "'%s'\n", val);
        return 2;
      }
      char *end;
      double x = g_ascii_strtod (eq + 5, &end);
      if (*end || end == eq + 5) {
        fprintf (stderr, "samseg-mkmodel: bad number in '%s'\n", val);
        return 2;
      }
      SamSynthOverride o = { g_strndup (val, eq - val), x };
      g_array_append_val (ov, o);
      i++;
    } else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0) {
      usage ();
      return 0;
    } else {
      usage ();
      return 2;
    }
  }
  if (!have_seed || !out) {
    usage ();
    return 2;
  }
  GError *err = NULL;
  gboolean ok = sam_synth_write_model (variant, seed,
      (SamSynthOverride *) ov->data, (int) ov->len, out, &err);
  if (!ok) {
    fprintf (stderr, "samseg-mkmodel: %s\n", err->message);
    g_error_free (err);
  }
  for (guint i = 0; i < ov->len; i++)
    g_free (g_array_index (ov, SamSynthOverride, i).name);
  g_array_unref (ov);
  return ok ? 0 : 1;
}
