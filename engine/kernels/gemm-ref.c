/* gemm-ref.c — scalar oracles for the f32 GEMM kernels.
 *
 * Same arithmetic as the SIMD kernels (one fused multiply-add chain per
 * output over k in order, bias added last), written as plainly as possible.
 */
#include "cpu.h"

#include <math.h>

void
sam_k_linear_f32_ref (const float *x, int64_t M, int K, int64_t ldx,
    const float *W, const float *b, int N, float *y, int64_t ldy)
{
  for (int64_t i = 0; i < M; i++)
    for (int n = 0; n < N; n++) {
      float s = 0.f;
      for (int k = 0; k < K; k++)
        s = fmaf (x[i * ldx + k], W[(int64_t) n * K + k], s);
      y[i * ldy + n] = b ? s + b[n] : s;
    }
}

void
sam_k_matmul_f32_ref (const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, int64_t M, int64_t N, int64_t K,
    bool accumulate)
{
  for (int64_t i = 0; i < M; i++)
    for (int64_t n = 0; n < N; n++) {
      float s = accumulate ? C[i * ldc + n] : 0.f;
      for (int64_t k = 0; k < K; k++)
        s = fmaf (A[i * lda + k], B[k * ldb + n], s);
      C[i * ldc + n] = s;
    }
}
