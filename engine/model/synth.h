/* synth.h — the synthetic-weight recipe of the reference fixtures
 * (splitmix64 over FNV-1a of the tensor name; see docs/fixtures.md), used by
 * samseg-mkmodel and samseg-check to rebuild a fixture's model bit-exactly.
 */
#ifndef SAM_MODEL_SYNTH_H
#define SAM_MODEL_SYNTH_H

#include <glib.h>
#include <stdint.h>

typedef struct {
  char *name;
  double add;
} SamSynthOverride;

/* Value of element @i of tensor @name (shape given) for @seed, before overrides. */
float sam_synth_value (const char *name, int ndim, const int64_t * shape,
    uint64_t seed, int64_t i);

/* Writes a full synthetic model of @variant ("tiny", ...) to @path as F32
 * safetensors, with overrides applied. */
gboolean sam_synth_write_model (const char *variant, uint64_t seed,
    const SamSynthOverride * overrides, int n_overrides, const char *path,
    GError ** error);

#endif
