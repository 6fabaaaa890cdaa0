/* cpu-peak.c — the multiply-add peak of one core, measured: independent
 * multiply-add chains with no memory traffic, best of 10 by CPU time (so
 * time-slicing by other processes does not count). Shared by samseg-kbench
 * and samseg-bench. */
#include "cpu-peak.h"
#include "kernels/gemm-i8.h"

#include <glib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SAM_X86 1
#endif
#if defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
#define SAM_ARM64 1
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
/* Every peak loop is OP on independent accumulator registers, in inline
 * assembly: GCC spills a 24-register intrinsic version to the stack, which
 * measures the stores instead. zmm0/zmm1 (ymm0/ymm1) are the operands. */
#define CHAINS24(OP) OP (8) OP (9) OP (10) OP (11) OP (12) OP (13) \
  OP (14) OP (15) OP (16) OP (17) OP (18) OP (19) OP (20) OP (21) OP (22) \
  OP (23) OP (24) OP (25) OP (26) OP (27) OP (28) OP (29) OP (30) OP (31)
#define CLOBBER24 "xmm0", "xmm1", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
  "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", \
  "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", \
  "xmm29", "xmm30", "xmm31", "cc"
#define CHAINS12(OP) OP (2) OP (3) OP (4) OP (5) OP (6) OP (7) OP (8) \
  OP (9) OP (10) OP (11) OP (12) OP (13)
/* (ymm14 is the AVX2 loop's product temporary, see MADD256) */
#define CLOBBER12 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", \
  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "cc"

#define DP512(n) "vpdpbusd %%zmm1, %%zmm0, %%zmm" #n "\n\t"
#define DP256(n) "%{vex%} vpdpbusd %%ymm1, %%ymm0, %%ymm" #n "\n\t"
#define MADD256(n) "vpmaddwd %%ymm1, %%ymm0, %%ymm14\n\t" \
  "vpaddd %%ymm14, %%ymm" #n ", %%ymm" #n "\n\t"

/* 24 chains × 64 MACs per iteration. */
__attribute__((target ("avx512f,avx512vnni")))
static void
peak_vnni512 (long iters)
{
  __asm__ volatile ("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
      "vpternlogd $0xff, %%zmm1, %%zmm1, %%zmm1\n\t"
      "1:\n\t"
      CHAINS24 (DP512)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::CLOBBER24);
}

/* AVX-VNNI: 12 chains × 32 MACs. */
__attribute__((target ("avx2,avxvnni")))
static void
peak_vnni256 (long iters)
{
  __asm__ volatile ("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
      "1:\n\t"
      CHAINS12 (DP256)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::CLOBBER12);
}

/* The same in the EVEX encoding: the AVX-VNNI kernels' twins on AVX-512
 * VNNI CPUs without AVX-VNNI (engine/kernels/gemm-i8-vnni256.inc). */
#define DP256E(n) "vpdpbusd %%ymm1, %%ymm0, %%ymm" #n "\n\t"
__attribute__((target ("avx2,avx512f,avx512vl,avx512vnni")))
static void
peak_vnni256_evex (long iters)
{
  __asm__ volatile ("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
      "1:\n\t"
      CHAINS12 (DP256E)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::CLOBBER12);
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
      CHAINS12 (MADD256)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::CLOBBER12);
}
#endif

#ifdef SAM_ARM64
/* aarch64 dot product: 24 chains of sdot (16 MACs each), v0 and v1 the
 * operands, as the kernel's vdotq_laneq_s32 */
#define SDOT(n) "sdot v" #n ".4s, v0.16b, v1.4b[0]\n\t"
__attribute__((target ("arch=armv8.2-a+dotprod")))
static void
peak_neondot (long iters)
{
  __asm__ volatile ("movi v0.16b, #1\n\t"
      "movi v1.16b, #1\n\t"
      "1:\n\t"
      SDOT (2) SDOT (3) SDOT (4) SDOT (5) SDOT (6) SDOT (7) SDOT (8)
      SDOT (9) SDOT (10) SDOT (11) SDOT (12) SDOT (13) SDOT (14) SDOT (15)
      SDOT (16) SDOT (17) SDOT (18) SDOT (19) SDOT (20) SDOT (21) SDOT (22)
      SDOT (23) SDOT (24) SDOT (25)
      "subs %0, %0, #1\n\tb.ne 1b\n\t":"+r" (iters)::"v0", "v1", "v2",
      "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
      "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
      "v24", "v25", "cc");
}

/* aarch64 without it: 12 chains of smull + sadalp (8 MACs a pair), as the
 * NEON variant's tile */
#define SMULL_SADALP(t, a) "smull v" #t ".8h, v0.8b, v1.8b\n\t" \
  "sadalp v" #a ".4s, v" #t ".8h\n\t"
static void
peak_neon (long iters)
{
  __asm__ volatile ("movi v0.16b, #1\n\t"
      "movi v1.16b, #1\n\t"
      "1:\n\t"
      SMULL_SADALP (2, 14) SMULL_SADALP (3, 15) SMULL_SADALP (4, 16)
      SMULL_SADALP (5, 17) SMULL_SADALP (6, 18) SMULL_SADALP (7, 19)
      SMULL_SADALP (8, 20) SMULL_SADALP (9, 21) SMULL_SADALP (10, 22)
      SMULL_SADALP (11, 23) SMULL_SADALP (12, 24) SMULL_SADALP (13, 25)
      "subs %0, %0, #1\n\tb.ne 1b\n\t":"+r" (iters)::"v0", "v1", "v2",
      "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
      "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
      "v24", "v25", "cc");
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
      if (sam_gemm_i8_vnni256_vex ())
        peak_vnni256 (PEAK_ITERS);
      else
        peak_vnni256_evex (PEAK_ITERS);
      macs = 32.0 * 12 * PEAK_ITERS;
    } else if (isa == SAM_ISA_AVX2) {
      peak_avx2 (PEAK_ITERS);
      macs = 16.0 * 12 * PEAK_ITERS;
    } else
#endif
#ifdef SAM_ARM64
    if (isa == SAM_ISA_NEONDOT) {
      peak_neondot (PEAK_ITERS);
      macs = 16.0 * 24 * PEAK_ITERS;
    } else if (isa == SAM_ISA_NEON) {
      peak_neon (PEAK_ITERS);
      macs = 8.0 * 12 * PEAK_ITERS;
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
      CHAINS24 (FMA512)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::CLOBBER24);
}

__attribute__((target ("avx2,fma")))
static void
peak_fma256 (long iters)
{
  __asm__ volatile ("vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "1:\n\t"
      CHAINS12 (FMA256)
      "dec %0\n\tjnz 1b\n\t"
      "vzeroupper":"+r" (iters)::CLOBBER12);
}
#endif

#ifdef SAM_ARM64
/* 24 fmla chains of 4 lanes (4 MACs each), v0 and v1 the operands */
#define FMLA(n) "fmla v" #n ".4s, v0.4s, v1.4s\n\t"
static void
peak_fmla128 (long iters)
{
  __asm__ volatile ("movi v0.4s, #0\n\t"
      "movi v1.4s, #0\n\t"
      "1:\n\t"
      FMLA (2) FMLA (3) FMLA (4) FMLA (5) FMLA (6) FMLA (7) FMLA (8)
      FMLA (9) FMLA (10) FMLA (11) FMLA (12) FMLA (13) FMLA (14) FMLA (15)
      FMLA (16) FMLA (17) FMLA (18) FMLA (19) FMLA (20) FMLA (21) FMLA (22)
      FMLA (23) FMLA (24) FMLA (25)
      "subs %0, %0, #1\n\tb.ne 1b\n\t":"+r" (iters)::"v0", "v1", "v2",
      "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
      "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
      "v24", "v25", "cc");
}
#endif

/* Portable: 24 independent multiply-add chains of 4 lanes (the compiler
 * may vectorize the lanes; there is no FMA without a target attribute). */
static float
peak_f32_c (void)
{
  float acc[24][4] = { { 0 } };
  volatile float seed = 1.0f;
  const float a = seed * 0.999999f, b = seed * 1e-7f;
  for (long i = 0; i < PEAK_ITERS / 4; i++)
    for (int j = 0; j < 24; j++)
      for (int l = 0; l < 4; l++)
        acc[j][l] = acc[j][l] * a + b;
  float s = 0;
  for (int j = 0; j < 24; j++)
    s += acc[j][0];
  return s;
}

double
sam_peak_f32_gmacs_for (int vector_bits)
{
  double best = 0;
  for (int r = 0; r < 10; r++) {
    double t0 = cpu_seconds (), macs;
#ifdef SAM_X86
    if (vector_bits == 512) {
      peak_fma512 (PEAK_ITERS);
      macs = 16.0 * 24 * PEAK_ITERS;
    } else if (vector_bits == 256) {
      peak_fma256 (PEAK_ITERS);
      macs = 8.0 * 12 * PEAK_ITERS;
    } else
#endif
#ifdef SAM_ARM64
    if (vector_bits == 128) {
      peak_fmla128 (PEAK_ITERS);
      macs = 4.0 * 24 * PEAK_ITERS;
    } else
#endif
    {
      volatile float sink = peak_f32_c ();
      (void) sink;
      macs = 24.0 * PEAK_ITERS;
    }
    best = MAX (best, macs / (cpu_seconds () - t0) / 1e9);
  }
  return best;
}

double
sam_peak_f32_gmacs (void)
{
#ifdef SAM_X86
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f"))
    return sam_peak_f32_gmacs_for (512);
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return sam_peak_f32_gmacs_for (256);
#endif
#ifdef SAM_ARM64
  return sam_peak_f32_gmacs_for (128);     /* NEON, every AArch64 core */
#endif
  return sam_peak_f32_gmacs_for (0);
}

double
sam_peak_i8_gmacs (void)
{
  return peak_i8 (sam_gemm_i8_isa ());
}

/* The value of the first "key : value" line of /proc/cpuinfo named key */
static char *
cpuinfo_field (const char *text, const char *key)
{
  char **lines = g_strsplit (text, "\n", -1);
  char *value = NULL;
  for (char **l = lines; *l && !value; l++) {
    const char *colon = strchr (*l, ':');
    if (!colon)
      continue;
    char *name = g_strstrip (g_strndup (*l, colon - *l));
    if (strcmp (name, key) == 0)
      value = g_strstrip (g_strdup (colon + 1));
    g_free (name);
  }
  g_strfreev (lines);
  return value;
}

char *
sam_cpu_description (void)
{
  char *text = NULL;
  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    return g_strdup ("unknown");
  char *name = cpuinfo_field (text, "model name");
  char *family = cpuinfo_field (text, "cpu family");
  char *model = cpuinfo_field (text, "model");
  char *desc;
  if (family && model)
    desc = g_strdup_printf ("%s (family %s, model %s)",
        name ? name : "unknown", family, model);
  else
    desc = g_strdup (name ? name : "unknown");
  g_free (name);
  g_free (family);
  g_free (model);
  g_free (text);
  return desc;
}
