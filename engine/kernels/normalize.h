/* normalize.h — 8-bit pixels to the model's normalized floats,
 * ORC-vectorized: d = (s / 255 − mean) / std per byte, mean and std given
 * per element (for interleaved RGB, rows of the three channels' values
 * repeated). The C reference does the same operations in the same order:
 * the same floats (no value here is denormal, which ORC would flush). */
#ifndef SAM_KERNELS_NORMALIZE_H
#define SAM_KERNELS_NORMALIZE_H

#include <stdint.h>

void sam_normalize_u8_f32 (float *d, const uint8_t * s, const float *mean,
    const float *std, int n);
void sam_normalize_u8_f32_ref (float *d, const uint8_t * s,
    const float *mean, const float *std, int n);

#endif
