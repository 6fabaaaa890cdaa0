/* preprocess.h — video frame → normalized model input (see preprocess.c). */
#ifndef SAM_CORE_PREPROCESS_H
#define SAM_CORE_PREPROCESS_H

#include <glib.h>

/* data: packed RGB rows of @stride bytes; out: [S, S, 3] floats. */
void sam_preprocess_rgb (const guint8 * data, int width, int height,
    int stride, int S, float *out);

#endif
