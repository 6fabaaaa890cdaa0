/* hiera.h — the Hiera trunk of the image encoder, private to engine/nn:
 * image-encoder.c runs it and feeds its four stage outputs to the FPN neck.
 */
#ifndef SAM_NN_HIERA_H
#define SAM_NN_HIERA_H

#include "nn.h"

typedef struct {
  int H[4], W[4], C[4];         /* per stage: S/4, S/8, S/16, S/32 (floor) */
  float *x[4];                  /* [H*W, C] channels-last, g_free'd by _clear */
} SamHieraOut;

/* img: [S, S, 3] normalized. Fills @out with the stage outputs. */
void sam_hiera_run (const SamModel * m, SamPool * pool, const float *img,
    int S, SamHieraOut * out);
void sam_hiera_out_clear (SamHieraOut * out);

#endif
