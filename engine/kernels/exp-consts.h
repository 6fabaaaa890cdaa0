/* exp-consts.h — the constants of the engine's vectorized exp, shared by
 * its x86 (exp-simd.h) and aarch64 (exp-neon.h) forms, which must give the
 * same bits. */
#ifndef SAM_KERNELS_EXP_CONSTS_H
#define SAM_KERNELS_EXP_CONSTS_H

#define EXP_LO -103.972084f
#define EXP_HI 88.7228394f
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO -2.12194440e-4f
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f

#endif
