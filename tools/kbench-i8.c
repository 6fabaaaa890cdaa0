/* kbench-i8.c — the int8 part of samseg-kbench: the VNNI (or AVX2) integer
 * multiply-add peak of one core and sam_k_gemm_i8 / sam_k_linear_i8 on the
 * model's large Linear shapes. A separate file because gemm-i8.h and cpu.h
 * each define their own SamIsa.
 *
 * Two rows per shape: "gemm" is sam_k_gemm_i8 on u8 codes already in memory
 * (the kernel alone), "linear" is sam_k_linear_i8 on float input (the
 * quantized Linear as the model runs it: activation quantization fused with
 * the GEMM, float epilogue).
 */
#include "kbench-i8.h"
#include "kernels/gemm-i8.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#endif

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define PEAK_ITERS 4000000L

#ifdef SAM_X86
/* Independent vpdpbusd chains in inline assembly: GCC spills a 24-register
 * intrinsic version to the stack, which measures the stores instead. */
#define DP512(n) "vpdpbusd %%zmm1, %%zmm0, %%zmm" #n "\n\t"
#define DP256(n) "%{vex%} vpdpbusd %%ymm1, %%ymm0, %%ymm" #n "\n\t"
#define MADD256(n) "vpmaddwd %%ymm1, %%ymm0, %%ymm2\n\t" \
  "vpaddd %%ymm2, %%ymm" #n ", %%ymm" #n "\n\t"

/* 24 chains × 64 MACs per iteration. */
__attribute__((target ("avx512f,avx512vnni")))
static void
peak_vnni512 (long iters)
{
  __asm__ volatile ("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpternlogd $0xff, %%zmm1, %%zmm1, %%zmm1\n\t"
      "1:\n\t"
      DP512 (8) DP512 (9) DP512 (10) DP512 (11) DP512 (12) DP512 (13)
      DP512 (14) DP512 (15) DP512 (16) DP512 (17) DP512 (18) DP512 (19)
      DP512 (20) DP512 (21) DP512 (22) DP512 (23) DP512 (24) DP512 (25)
      DP512 (26) DP512 (27) DP512 (28) DP512 (29) DP512 (30) DP512 (31)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::"xmm0", "xmm1", "xmm8", "xmm9", "xmm10",
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
      "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",
      "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

/* AVX-VNNI: 12 chains × 32 MACs. */
__attribute__((target ("avx2,avxvnni")))
static void
peak_vnni256 (long iters)
{
  __asm__ volatile ("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
      "1:\n\t"
      DP256 (2) DP256 (3) DP256 (4) DP256 (5) DP256 (6) DP256 (7)
      DP256 (8) DP256 (9) DP256 (10) DP256 (11) DP256 (12) DP256 (13)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
      "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
      "xmm13", "cc");
}

/* AVX2: vpmaddwd + vpaddd on s16 (16 MACs per pair), as the AVX2 GEMM;
 * 12 chains. */
__attribute__((target ("avx2")))
static void
peak_avx2 (long iters)
{
  __asm__ volatile ("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
      "1:\n\t"
      MADD256 (3) MADD256 (4) MADD256 (5) MADD256 (6) MADD256 (7)
      MADD256 (8) MADD256 (9) MADD256 (10) MADD256 (11) MADD256 (12)
      MADD256 (13) MADD256 (14)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
      "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
      "xmm13", "xmm14", "cc");
}
#endif

static int
peak_c (void)
{
  int32_t acc[24][4] = { { 0 } };
  volatile int8_t seed = 3;
  const int32_t a = seed, b = seed - 5;
  for (long i = 0; i < PEAK_ITERS / 4; i++)
    for (int j = 0; j < 24; j++)
      for (int l = 0; l < 4; l++)
        acc[j][l] += a * b;
  int s = 0;
  for (int j = 0; j < 24; j++)
    s += acc[j][0];
  return s;
}

static double
peak_of (SamIsa isa)
{
  double best = 0;
  for (int r = 0; r < 10; r++) {
    double t0 = cpu_seconds ();
    double macs;
#ifdef SAM_X86
    if (isa == SAM_ISA_AVX512VNNI) {
      peak_vnni512 (PEAK_ITERS);
      macs = 64.0 * 24 * PEAK_ITERS;
    } else if (isa == SAM_ISA_AVXVNNI) {
      peak_vnni256 (PEAK_ITERS);
      macs = 32.0 * 12 * PEAK_ITERS;
    } else if (isa == SAM_ISA_AVX2) {
      peak_avx2 (PEAK_ITERS);
      macs = 16.0 * 12 * PEAK_ITERS;
    } else
#endif
    {
      volatile int sink = peak_c ();
      (void) sink;
      macs = 24.0 * PEAK_ITERS;
    }
    double s = cpu_seconds () - t0;
    best = MAX (best, macs / s / 1e9);
  }
  return best;
}

typedef struct {
  const char *name;
  int64_t M;
  int K, N;
} I8Shape;

/* SAM 2.1 tiny at input 1024 (Hiera stages 1-4, memory attention). */
static const I8Shape shapes[] = {
  {"hiera-s1-qkv", 65536, 96, 288},
  {"hiera-s1-mlp1", 65536, 96, 384},
  {"hiera-s1-mlp2", 65536, 384, 96},
  {"hiera-s2-qkv", 16384, 192, 576},
  {"hiera-s2-mlp1", 16384, 192, 768},
  {"hiera-s2-mlp2", 16384, 768, 192},
  {"hiera-s3-qkv", 4096, 384, 1152},
  {"hiera-s3-mlp1", 4096, 384, 1536},
  {"hiera-s3-mlp2", 4096, 1536, 384},
  {"hiera-s4-mlp1", 1024, 768, 3072},
  {"hiera-s4-mlp2", 1024, 3072, 768},
  {"memattn-mlp1", 4096, 256, 2048},
  {"memattn-mlp2", 4096, 2048, 256},
  {"memattn-kproj", 28736, 64, 256},
  {"memattn-qproj", 4096, 256, 256},
};

void
sam_kbench_i8 (SamPool * pool, int runs, const char *filter)
{
  int nth = sam_pool_n_threads (pool);
  SamIsa isa = sam_gemm_i8_isa ();
  double peak = peak_of (isa);
  int64_t mdiv = isa == SAM_ISA_REF ? 16 : 1;
  printf ("\n[int8 %s] integer MAC peak %.1f G MAC/s per core, %.1f for %d "
      "thread(s)%s\n", sam_isa_name (isa), peak, peak * nth, nth,
      mdiv > 1 ? " (M / 16)" : "");
  printf ("%-16s %-7s %-18s %9s %9s %7s %9s %7s\n", "shape", "op", "dims",
      "best ms", "GMAC/s", "% peak", "cpu GM/s", "% peak");
  GRand *r = g_rand_new_with_seed (7);
  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++) {
    const I8Shape *s = &shapes[si];
    if (filter && !strstr (s->name, filter))
      continue;
    int64_t M = MAX (1, s->M / mdiv);
    int K = s->K, N = s->N;
    uint8_t *xq = g_malloc ((size_t) M * K);
    float *xf = g_new (float, (size_t) M * K);
    int8_t *W = g_malloc ((size_t) N * K);
    float *y = aligned_alloc (64, (size_t) M * N * 4 + 64);
    float *fscale = g_new (float, N), *bias = g_new (float, N);
    for (int64_t i = 0; i < M * K; i++) {
      xf[i] = (float) g_rand_double_range (r, -3, 3);
      xq[i] = (uint8_t) g_rand_int (r);
    }
    for (int64_t i = 0; i < (int64_t) N * K; i++)
      W[i] = (int8_t) g_rand_int_range (r, -127, 128);
    for (int n = 0; n < N; n++) {
      fscale[n] = 1e-4f;
      bias[n] = 0.5f;
    }
    SamGemmI8Weights *pw = sam_gemm_i8_weights_pack (W, N, K, K);
    SamGemmI8Epilogue ep = { 0 };
    ep.out = SAM_GEMM_I8_OUT_F32;
    ep.fscale = fscale;
    ep.bias = bias;
    float inv = 255.f / 6.f, z = 127.f;
    SamGemmI8ActQuant aq = { false, &inv, &z, 255.f };
    for (int op = 0; op < 2; op++) {
      double best = INFINITY, bestc = INFINITY;
      for (int k = 0; k < runs; k++) {
        double c0 = cpu_seconds ();
        gint64 t0 = g_get_monotonic_time ();
        if (op == 0)
          sam_k_gemm_i8 (pool, xq, M, K, SAM_GEMM_I8_X_U8, 127, pw, &ep, y, N);
        else
          sam_k_linear_i8 (pool, xf, M, K, &aq, 127, pw, &ep, y, N);
        best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
        bestc = MIN (bestc, (cpu_seconds () - c0) / nth);
      }
      double macs = (double) M * K * N;
      double g = macs / best / 1e9, gc = macs / bestc / 1e9;
      char dims[64];
      g_snprintf (dims, sizeof dims, "%" G_GINT64_FORMAT "x%dx%d", M, K, N);
      printf ("%-16s %-7s %-18s %9.2f %9.1f %6.1f%% %9.1f %6.1f%%\n",
          s->name, op ? "linear" : "gemm", dims, best * 1e3, g,
          100.0 * g / (peak * nth), gc, 100.0 * gc / (peak * nth));
      fflush (stdout);
    }
    sam_gemm_i8_weights_free (pw);
    g_free (xq);
    g_free (xf);
    g_free (W);
    free (y);
    g_free (fscale);
    g_free (bias);
  }
  g_rand_free (r);
}
