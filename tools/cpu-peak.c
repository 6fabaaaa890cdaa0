/* cpu-peak.c — the multiply-add peak of one core, measured: independent
 * multiply-add chains with no memory traffic, best of 10 by CPU time (so
 * time-slicing by other processes does not count). Shared by samseg-kbench
 * and samseg-bench. */
#include "cpu-peak.h"
#include "kernels/gemm-i8.h"

#include <glib.h>
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
peak_i8 (SamIsa isa)
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


#ifdef SAM_X86
/* 24 vfmadd231ps zmm chains (16 MACs each), or 12 ymm ones (8 MACs). */
#define FMA512(n) "vfmadd231ps %%zmm1, %%zmm0, %%zmm" #n "\n\t"
#define FMA256(n) "vfmadd231ps %%ymm1, %%ymm0, %%ymm" #n "\n\t"

__attribute__((target ("avx512f")))
static void
peak_fma512 (long iters)
{
  __asm__ volatile ("vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "1:\n\t"
      FMA512 (8) FMA512 (9) FMA512 (10) FMA512 (11) FMA512 (12) FMA512 (13)
      FMA512 (14) FMA512 (15) FMA512 (16) FMA512 (17) FMA512 (18) FMA512 (19)
      FMA512 (20) FMA512 (21) FMA512 (22) FMA512 (23) FMA512 (24) FMA512 (25)
      FMA512 (26) FMA512 (27) FMA512 (28) FMA512 (29) FMA512 (30) FMA512 (31)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::"xmm0", "xmm1", "xmm8", "xmm9", "xmm10",
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
      "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",
      "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc");
}

__attribute__((target ("avx2,fma")))
static void
peak_fma256 (long iters)
{
  __asm__ volatile ("vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "1:\n\t"
      FMA256 (2) FMA256 (3) FMA256 (4) FMA256 (5) FMA256 (6) FMA256 (7)
      FMA256 (8) FMA256 (9) FMA256 (10) FMA256 (11) FMA256 (12) FMA256 (13)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
      "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
      "xmm13", "cc");
}
#endif

double
sam_peak_f32_gmacs (void)
{
  double best = 0;
  for (int r = 0; r < 10; r++) {
    double t0 = cpu_seconds (), macs;
#ifdef SAM_X86
    __builtin_cpu_init ();
    if (__builtin_cpu_supports ("avx512f")) {
      peak_fma512 (PEAK_ITERS);
      macs = 16.0 * 24 * PEAK_ITERS;
    } else if (__builtin_cpu_supports ("avx2")
        && __builtin_cpu_supports ("fma")) {
      peak_fma256 (PEAK_ITERS);
      macs = 8.0 * 12 * PEAK_ITERS;
    } else
#endif
    {
      volatile float acc = 0.f;
      for (long i = 0; i < PEAK_ITERS / 4; i++)
        acc = acc * 0.999f + 1e-7f;
      macs = PEAK_ITERS / 4;
    }
    best = MAX (best, macs / (cpu_seconds () - t0) / 1e9);
  }
  return best;
}

double
sam_peak_i8_gmacs (void)
{
  return peak_i8 (sam_gemm_i8_isa ());
}
