/* fixture.h — reading reference fixtures (safetensors of the official SAM 2
 * predictor's intermediates) and comparing our tensors against them.
 * Shared by samseg-check and the parity tests.
 */
#ifndef SAM_TOOLS_FIXTURE_H
#define SAM_TOOLS_FIXTURE_H

#include <glib.h>
#include "core/safetensors.h"

/* A fixture may be split over several files (t1024-0/1/2): they are read as
 * one set. */
typedef struct _SamFixture SamFixture;

SamFixture *sam_fixture_open (char **paths, int n_paths, GError ** error);
void sam_fixture_free (SamFixture * fx);
/* The JSON string __metadata__.meta of the first file that has one. */
const char *sam_fixture_meta (const SamFixture * fx);
const SamStTensor *sam_fixture_find (const SamFixture * fx, const char *name);
/* Tensor converted to float32 (g_free it), or NULL if absent. */
float *sam_fixture_get_f32 (const SamFixture * fx, const char *name,
    int64_t * numel);
/* Every tensor name, sorted. (transfer container) */
GPtrArray *sam_fixture_names (const SamFixture * fx);

/* ||a - b|| / ||b|| in double. */
double sam_rel_l2 (const float *a, const float *b, int64_t n);
/* Fraction of positions with |b| > thresh where sign(a) == sign(b);
 * -1 when there are none. */
double sam_sign_agree (const float *a, const float *b, int64_t n,
    float thresh);

#endif
