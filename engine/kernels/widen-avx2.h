/* widen-avx2.h — the [16][4] s8 blocks of the int8 kernels (one
 * vpdpbusd operand: 16 columns × 4 k) widened to s16 in k-pair order,
 * for AVX2's vpmaddwd: per block, pair p = 0, 1, columns 0-7 then 8-15,
 * each 32-bit lane (b[c][2p], b[c][2p + 1]); 4 ymm (128 bytes) per block.
 * Within each 4-column quarter a byte shuffle puts the pair-0 bytes before
 * the pair-1 bytes; a qword permute groups 8 columns' pair 0, then their
 * pair 1. Used by the AVX2 GEMM (weights) and the AVX2 attention (keys).
 * Include only from code compiled for x86 with <immintrin.h>. */
#ifndef SAM_KERNELS_WIDEN_AVX2_H
#define SAM_KERNELS_WIDEN_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* n4 consecutive 64-byte blocks at src (32-byte aligned) → dst (n4 × 64
 * s16, 32-byte aligned) */
static inline __attribute__((always_inline, target("avx2"))) void
sam_widen_k4_pairs_avx2 (const int8_t * src, int n4, int16_t * dst)
{
  const __m256i sh = _mm256_setr_epi8 (0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6,
      7, 10, 11, 14, 15, 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14,
      15);
  for (int k4 = 0; k4 < n4; k4++) {
    const int8_t *s = src + (size_t) k4 * 64;
    __m256i *d = (__m256i *) (dst + (size_t) k4 * 64);
    for (int h = 0; h < 2; h++) {
      const __m256i q = _mm256_permute4x64_epi64 (_mm256_shuffle_epi8
          (_mm256_load_si256 ((const void *) (s + 32 * h)), sh), 0xD8);
      _mm256_store_si256 (d + h, _mm256_cvtepi8_epi16
          (_mm256_castsi256_si128 (q)));
      _mm256_store_si256 (d + 2 + h, _mm256_cvtepi8_epi16
          (_mm256_extracti128_si256 (q, 1)));
    }
  }
}

#endif
