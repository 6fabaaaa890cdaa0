/* gemm-i8-ref.c — the scalar oracle for gemm-i8.h: plain loops over the
 * unpacked weights, exactly the formulas written in the header. Every SIMD
 * variant in gemm-i8.c is tested bit-exact against it. */
#include "kernels/gemm-i8.h"

#include <math.h>

/* One output row segment: the epilogue shared by the reference and the
 * scalar tails of the SIMD variants (declared in gemm-i8.c too). */
void sam_gemm_i8_epilogue_row (const int32_t * acc, int n0, int n1,
    const SamGemmI8Epilogue * ep, void *yrow);

void
sam_gemm_i8_epilogue_row (const int32_t * acc, int n0, int n1,
    const SamGemmI8Epilogue * ep, void *yrow)
{
  for (int n = n0; n < n1; n++) {
    int32_t a = acc[n - n0];
    switch (ep->out) {
      case SAM_GEMM_I8_OUT_F32:
        ((float *) yrow)[n] = fmaf ((float) a, ep->fscale[n],
            ep->bias ? ep->bias[n] : 0.0f);
        break;
      case SAM_GEMM_I8_OUT_S8:
        ((int8_t *) yrow)[n] = (int8_t) sam_gemm_i8_requant_one (a,
            ep->mult[n], ep->shift[n], ep->zy, -128, 127);
        break;
      case SAM_GEMM_I8_OUT_U8:
        ((uint8_t *) yrow)[n] = (uint8_t) sam_gemm_i8_requant_one (a,
            ep->mult[n], ep->shift[n], ep->zy, 0, 255);
        break;
      case SAM_GEMM_I8_OUT_S32:
        ((int32_t *) yrow)[n] = a;
        break;
    }
  }
}

static size_t
out_size (SamGemmI8Out o)
{
  return o == SAM_GEMM_I8_OUT_F32 || o == SAM_GEMM_I8_OUT_S32 ? 4 : 1;
}

void
sam_k_gemm_i8_ref (const uint8_t * x, int64_t M, int64_t ldx,
    SamGemmI8XType xtype, int32_t zx, const int8_t * W, int N, int K,
    int64_t ldw, const SamGemmI8Epilogue * ep, void *y, int64_t ldy)
{
  int32_t acc[64];
  for (int64_t m = 0; m < M; m++) {
    const uint8_t *xr = x + m * ldx;
    char *yr = (char *) y + m * ldy * (int64_t) out_size (ep->out);
    for (int n0 = 0; n0 < N; n0 += 64) {
      int n1 = n0 + 64 < N ? n0 + 64 : N;
      for (int n = n0; n < n1; n++) {
        const int8_t *wr = W + n * ldw;
        /* unsigned arithmetic: wraps like the SIMD lanes, never UB */
        uint32_t s = ep->bias_i32 ? (uint32_t) ep->bias_i32[n] : 0;
        for (int k = 0; k < K; k++) {
          int32_t xv = xtype == SAM_GEMM_I8_X_S8 ? (int8_t) xr[k] : xr[k];
          s += (uint32_t) ((xv - zx) * (int32_t) wr[k]);
        }
        acc[n - n0] = (int32_t) s;
      }
      sam_gemm_i8_epilogue_row (acc, n0, n1, ep, yr);
    }
  }
}
