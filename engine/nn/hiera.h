/* hiera.h — the Hiera trunk of the image encoder, private to engine/nn:
 * image-encoder.c runs it and feeds its four stage outputs to the FPN neck.
 */
#ifndef SAM_NN_HIERA_H
#define SAM_NN_HIERA_H

#include "nn.h"

/* Called with each stage output as soon as the stage ends: x [H*W, C]
 * channels-last (H, W: S/4, S/8, S/16, S/32 floor), valid during the call
 * only. Consuming a stage there rather than keeping all four until the end
 * saves the 256×256×96 stage-0 map (25 MB at input 1024) during the rest
 * of the trunk. */
typedef void (*SamHieraStageFunc) (int stage, const float *x, int H, int W,
    int C, void *user_data);

/* img: [S, S, 3] normalized. */
void sam_hiera_run (const SamModel * m, SamPool * pool, const float *img,
    int S, SamHieraStageFunc on_stage, void *user_data);

#endif
