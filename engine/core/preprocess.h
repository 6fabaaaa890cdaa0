/* preprocess.h — video frame → normalized model input (see preprocess.c). */
#ifndef SAM_CORE_PREPROCESS_H
#define SAM_CORE_PREPROCESS_H

#include "core/threadpool.h"

#include <glib.h>

/* data: packed RGB rows of @stride bytes; out: [S, S, 3] floats. Rows are
 * split over @pool (NULL: this thread); every split gives the same
 * values. */
void sam_preprocess_rgb (SamPool * pool, const guint8 * data, int width,
    int height, int stride, int S, float *out);
/* The same with the SIMD of the horizontal resize capped at @isa (a
 * SamIsa, kernels/cpu.h; SAM_ISA_REF: plain C): for the tests, every ISA
 * gives the same values. */
void sam_preprocess_rgb_isa (int isa, SamPool * pool, const guint8 * data,
    int width, int height, int stride, int S, float *out);

#endif
