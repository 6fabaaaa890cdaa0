/* cpu.h — run-time CPU feature probe and the f32 kernel dispatch table.
 *
 * Kernels are named sam_k_<op>_<dtype>[_<isa>]; every SIMD kernel has a
 * scalar _ref oracle that the tests compare it against. The ISA is detected
 * once at run time (never assumed at build time); SAMSEG_FORCE_ISA=ref|avx2|
 * avx512|neon caps it for testing (it can lower the choice, never raise it
 * above what the CPU supports). The x86 levels are ordered (REF < AVX2 <
 * AVX512: a CPU with one has those below it); NEON, aarch64's, is on no
 * such scale: compare with sam_isa_x86_at_least, or for equality.
 *
 * GEMM data layouts used by the kernels (all float32):
 *   packed B  ("panels"): for each group of nr columns j0..j0+nr-1, a
 *             [K][nr] block, columns past N zero-filled. Panel p starts at
 *             Bp + p * K * nr.
 *   packed A: for each group of mr rows, a [kc][mr] block (row-interleaved).
 * Every output element is one fused multiply-add chain over k = 0..K-1 in
 * order, started from 0 (or from C when accumulating), and the bias is added
 * last. So results depend neither on the tiling nor on the thread count, and
 * the avx2, avx512 and neon paths give identical bits (the ref path, without
 * FMA, rounds differently).
 */
#ifndef SAM_KERNELS_CPU_H
#define SAM_KERNELS_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "core/threadpool.h"
#include "kernels/hugepages.h"

typedef enum
{
  SAM_ISA_REF = 0,              /* portable C, no FMA */
  SAM_ISA_AVX2 = 1,             /* AVX2 + FMA */
  SAM_ISA_AVX512 = 2,           /* AVX-512 F/BW/VL/DQ + FMA */
  SAM_ISA_NEON = 3,             /* aarch64 Advanced SIMD (FMA included) */
} SamIsa;

/* isa is an x86 level at or above lvl (REF, AVX2 or AVX512); false for
 * NEON, which the x86 kernels must never take for a higher level. */
static inline bool
sam_isa_x86_at_least (int isa, SamIsa lvl)
{
  return isa >= (int) lvl && isa <= (int) SAM_ISA_AVX512;
}

/* The ISA the CPU supports (probed once). */
SamIsa sam_cpu_isa_detected (void);
/* Whether the kernels of isa can run here: REF always; an x86 level up to
 * the detected one; NEON on aarch64. */
bool sam_cpu_isa_supported (SamIsa isa);
/* The ISA the kernels use: detected, capped by SAMSEG_FORCE_ISA. */
SamIsa sam_cpu_isa (void);
const char *sam_cpu_isa_name (SamIsa isa);

/* Micro-kernel on one full tile: C[mr, nr] (= or +=) Ap[kc][mr] · Bp[kc][nr]
 * (+ bias[nr]). flags: SAM_UKR_LOAD_C starts the chains from C instead of 0,
 * SAM_UKR_BIAS adds bias[j] after the chain. Edge tiles go through a
 * scratch tile in the driver. */
enum
{
  SAM_UKR_LOAD_C = 1,
  SAM_UKR_BIAS = 2,
};

typedef void (*SamUkrF32) (int64_t kc, const float *Ap, const float *Bp,
    float *C, int64_t ldc, int flags, const float *bias);

/* The same on a row-major A (element (i, k) at A[i * lda + k]): no packing. */
typedef void (*SamUkrsF32) (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias);

typedef struct
{
  SamIsa isa;
  int mr, nr;                   /* micro-tile of ukr */
  SamUkrF32 ukr;                /* packed A */
  SamUkrsF32 ukrs;              /* row-major A */
  /* y[i] = exp(x[i]), n elements, in place allowed */
  void (*exp) (const float *x, float *y, int64_t n);
  /* softmax helpers for attention: max of x[0..n), and
   * s[j] = exp((s[j] - m) * scale) returning their sum (fixed order) */
  float (*max) (const float *x, int64_t n);
  float (*exp_sub_sum) (float *s, int64_t n, float m, float scale);
} SamKernelsF32;

/* Micro-tile of each ISA's ukr (rows x columns). */
#define SAM_K_MR_C 4
#define SAM_K_NR_C 16
#define SAM_K_MR_AVX2 6
#define SAM_K_NR_AVX2 16
#define SAM_K_MR_AVX512 12
#define SAM_K_NR_AVX512 32
#define SAM_K_MR_NEON 6
#define SAM_K_NR_NEON 16

/* Per-ISA kernels behind the table (gemm-f32.c, attention.c). */
void sam_k_ukr_f32_c (int64_t kc, const float *Ap, const float *Bp, float *C,
    int64_t ldc, int flags, const float *bias);
void sam_k_ukr_f32_avx2 (int64_t kc, const float *Ap, const float *Bp,
    float *C, int64_t ldc, int flags, const float *bias);
void sam_k_ukr_f32_avx512 (int64_t kc, const float *Ap, const float *Bp,
    float *C, int64_t ldc, int flags, const float *bias);
void sam_k_ukrs_f32_c (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias);
void sam_k_ukrs_f32_avx2 (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias);
void sam_k_ukrs_f32_avx512 (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias);
void sam_k_ukr_f32_neon (int64_t kc, const float *Ap, const float *Bp,
    float *C, int64_t ldc, int flags, const float *bias);
void sam_k_ukrs_f32_neon (int64_t kc, const float *A, int64_t lda,
    const float *Bp, float *C, int64_t ldc, int flags, const float *bias);
void sam_k_exp_f32_neon (const float *x, float *y, int64_t n);
float sam_k_max_f32_neon (const float *x, int64_t n);
float sam_k_expsubsum_f32_neon (float *s, int64_t n, float m, float scale);
void sam_k_exp_f32_avx2 (const float *x, float *y, int64_t n);
void sam_k_exp_f32_avx512 (const float *x, float *y, int64_t n);
float sam_k_max_f32_ref (const float *x, int64_t n);
float sam_k_max_f32_avx2 (const float *x, int64_t n);
float sam_k_max_f32_avx512 (const float *x, int64_t n);
float sam_k_expsubsum_f32_ref (float *s, int64_t n, float m, float scale);
float sam_k_expsubsum_f32_avx2 (float *s, int64_t n, float m, float scale);
float sam_k_expsubsum_f32_avx512 (float *s, int64_t n, float m, float scale);

/* The table for sam_cpu_isa(), initialized once (thread-safe). */
const SamKernelsF32 *sam_kernels_f32 (void);
/* The table for a given ISA (the detected one's where isa is not
 * supported); for tests and benches. */
const SamKernelsF32 *sam_kernels_f32_for (SamIsa isa);

/* ---- scratch buffers (cpu.c) -------------------------------------------
 * Per-thread, 64-byte aligned float buffers reused across calls, so big
 * packing buffers are not fresh mmaps (page faults) on every call. A slot
 * holds at most SAM_SCRATCH_MAX_BYTES; bigger or nested requests fall back
 * to a plain allocation. Freed when the thread exits. */
typedef enum
{
  SAM_SCRATCH_PACK_B,           /* packed weight / K */
  SAM_SCRATCH_PACK_V,           /* packed V */
  SAM_SCRATCH_TASK_0,           /* per-task buffers inside pool functions */
  SAM_SCRATCH_TASK_1,
  SAM_SCRATCH_TASK_2,
  SAM_SCRATCH_TASK_3,
  SAM_SCRATCH_N_SLOTS
} SamScratchSlot;

#define SAM_SCRATCH_MAX_BYTES ((int64_t) 64 << 20)

float *sam_k_scratch_get (SamScratchSlot slot, int64_t n_floats);
void sam_k_scratch_put (SamScratchSlot slot, float *p);
/* Frees the calling thread's idle slots that hold more than @keep_bytes
 * (a slot keeps its high-water mark otherwise). Slots in use are kept. */
void sam_k_scratch_trim (int64_t keep_bytes);
/* What a per-frame trim keeps: every packed weight of tiny fits (the
 * largest, 768×3072, is 9.4 MB), so there only memory attention's packed
 * cross-attention keys and values are made again. */
#define SAM_SCRATCH_KEEP_BYTES ((int64_t) 16 << 20)


/* ---- GEMM (gemm-f32.c) ------------------------------------------------ */

/* Floats needed to pack a K x N B for table kt. */
int64_t sam_k_pack_b_size (const SamKernelsF32 * kt, int64_t K, int64_t N);
/* Pack B given as W[N, K] (row n at W + n*ldw), i.e. B = Wᵀ. */
void sam_k_pack_b_nk (const SamKernelsF32 * kt, SamPool * pool,
    const float *W, int64_t ldw, int64_t K, int64_t N, float *Bp);
/* Pack B given as B[K, N] row-major (row stride ldb). */
void sam_k_pack_b_kn (const SamKernelsF32 * kt, SamPool * pool,
    const float *B, int64_t ldb, int64_t K, int64_t N, float *Bp);
/* Pack rows [0, m) of A[m, kc] (row stride lda) into mr-row panels
 * (m rounded up to mr, padding rows zero). */
void sam_k_pack_a (const SamKernelsF32 * kt, const float *A, int64_t lda,
    int64_t m, int64_t kc, float *Ap);

/* C[M, N] (=|+=) A[M, K] · Bp + bias, with Bp packed by sam_k_pack_b_*.
 * Threads over independent tiles of C. */
void sam_k_gemm_f32 (const SamKernelsF32 * kt, SamPool * pool,
    const float *A, int64_t lda, const float *Bp, float *C, int64_t ldc,
    int64_t M, int64_t N, int64_t K, bool accumulate, const float *bias);

/* Scalar oracles (gemm-ref.c): same chain order as the SIMD kernels. */
void sam_k_linear_f32_ref (const float *x, int64_t M, int K, int64_t ldx,
    const float *W, const float *b, int N, float *y, int64_t ldy);
void sam_k_matmul_f32_ref (const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, int64_t M, int64_t N, int64_t K,
    bool accumulate);

/* ---- attention (attention.c), convolution (conv.c) -------------------- */

void sam_k_attention_f32_ref (const float *q, int64_t ldq, const float *k,
    int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv);
void sam_k_attention_f32 (const SamKernelsF32 * kt, SamPool * pool,
    const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v,
    int64_t ldv, float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D,
    int Dv);
/* The same with the keys already packed: head h's keys at
 * Kp + h * sam_k_pack_b_size (kt, D, Nk), packed by sam_k_pack_b_nk. */
void sam_k_attention_f32_packed_k (const SamKernelsF32 * kt, SamPool * pool,
    const float *q, int64_t ldq, const float *Kp, const float *v, int64_t ldv,
    float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv);

void sam_k_conv2d_f32_ref (const float *x, int H, int W, int Cin,
    const float *w, const float *b, int Cout, int KH, int KW, int stride,
    int pad, int groups, float *y);
void sam_k_conv2d_f32 (const SamKernelsF32 * kt, SamPool * pool,
    const float *x, int H, int W, int Cin, const float *w, const float *b,
    int Cout, int KH, int KW, int stride, int pad, int groups, float *y);

/* exp oracle (expf); the SIMD exp must stay within a few ulp of it. */
void sam_k_exp_f32_ref (const float *x, float *y, int64_t n);

#endif
