/* synth.c — deterministic synthetic weights, bit-exact with the fixtures'
 * recipe: all arithmetic on uint64 (wrapping), values computed in double and
 * rounded once to float32. */
#include "synth.h"
#include "model.h"

#include <math.h>
#include <string.h>

#define GOLDEN 0x9E3779B97F4A7C15ull

static uint64_t
fnv1a64 (const char *s)
{
  uint64_t h = 0xCBF29CE484222325ull;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    h ^= *p;
    h *= 0x100000001B3ull;
  }
  return h;
}

static double
unit_value (uint64_t base, int64_t i)
{
  uint64_t z = base + (uint64_t) (i + 1) * GOLDEN;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  double u = (double) (z >> 40) * (1.0 / 16777216.0);
  return 2.0 * u - 1.0;
}

static double
value_double (const char *name, int ndim, const int64_t * shape,
    uint64_t seed, int64_t i)
{
  uint64_t base = fnv1a64 (name) ^ (seed * GOLDEN);
  double v = unit_value (base, i);
  if (ndim >= 2) {
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++)
      numel *= shape[d];
    double fan_in = (double) (numel / shape[0]);
    return v * (1.0 / sqrt (fan_in));
  }
  size_t n = strlen (name);
  if (n >= 7 && strcmp (name + n - 7, ".weight") == 0)
    return 1.0 + 0.25 * v;
  return 0.1 * v;
}

float
sam_synth_value (const char *name, int ndim, const int64_t * shape,
    uint64_t seed, int64_t i)
{
  return (float) value_double (name, ndim, shape, seed, i);
}

typedef struct {
  SamStWriter *w;
  uint64_t seed;
  const SamSynthOverride *ov;
  int n_ov;
  int *used;
} SynthCtx;

static void
synth_one (const char *name, int ndim, const int64_t * shape, void *ud)
{
  SynthCtx *c = ud;
  int64_t numel = 1;
  for (int d = 0; d < ndim; d++)
    numel *= shape[d];
  float *buf = g_new (float, numel);
  for (int64_t i = 0; i < numel; i++)
    buf[i] = sam_synth_value (name, ndim, shape, c->seed, i);
  for (int k = 0; k < c->n_ov; k++)
    if (strcmp (c->ov[k].name, name) == 0) {
      c->used[k] = 1;
      for (int64_t i = 0; i < numel; i++)
        buf[i] = (float) ((double) buf[i] + c->ov[k].add);
    }
  sam_st_writer_add (c->w, name, SAM_DTYPE_F32, ndim, shape, buf);
  g_free (buf);
}

gboolean
sam_synth_write_model (const char *variant, uint64_t seed,
    const SamSynthOverride * overrides, int n_overrides, const char *path,
    GError ** error)
{
  SamHParams hp;
  if (!sam_hparams_for_variant (variant, &hp)) {
    g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
        "unknown variant '%s' (tiny, small, base_plus, large)", variant);
    return FALSE;
  }
  SynthCtx c = { sam_st_writer_new (), seed, overrides, n_overrides,
    g_new0 (int, n_overrides + 1)
  };
  sam_manifest_foreach (&hp, synth_one, &c);
  gboolean ok = TRUE;
  for (int k = 0; k < n_overrides; k++)
    if (!c.used[k]) {
      g_set_error (error, SAM_ERROR, SAM_ERROR_INVALID_PROMPT,
          "override names unknown tensor '%s'", overrides[k].name);
      ok = FALSE;
      break;
    }
  if (ok) {
    char *desc = g_strdup_printf ("{\"recipe\": \"samseg-synth-v1\", "
        "\"variant\": \"%s\", \"seed\": %" G_GUINT64_FORMAT "}", variant, seed);
    sam_st_writer_add_metadata (c.w, "samseg", desc);
    g_free (desc);
    ok = sam_st_writer_write (c.w, path, error);
  }
  sam_st_writer_free (c.w);
  g_free (c.used);
  return ok;
}
