/* cpu.c — CPU feature probe (once) and the f32 kernel tables. */
#include "cpu.h"

#include <string.h>
#include <glib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

static SamIsa
probe (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  /* libgcc's probe also checks that the OS saves the ymm/zmm state (XCR0). */
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512vl")
      && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512dq")
      && __builtin_cpu_supports ("fma"))
    return SAM_ISA_AVX512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return SAM_ISA_AVX2;
#endif
#if defined(__aarch64__)
  /* Advanced SIMD, FMA included, is part of every AArch64 core */
  return SAM_ISA_NEON;
#endif
  return SAM_ISA_REF;
}

SamIsa
sam_cpu_isa_detected (void)
{
  static gsize once = 0;
  static SamIsa isa;
  if (g_once_init_enter (&once)) {
    isa = probe ();
    g_once_init_leave (&once, 1);
  }
  return isa;
}

bool
sam_cpu_isa_supported (SamIsa isa)
{
  const SamIsa det = sam_cpu_isa_detected ();
  if (isa == SAM_ISA_REF || isa == det)
    return true;
  return det != SAM_ISA_NEON && sam_isa_x86_at_least (det, isa);
}

const char *
sam_cpu_isa_name (SamIsa isa)
{
  switch (isa) {
    case SAM_ISA_NEON:
      return "neon";
    case SAM_ISA_AVX512:
      return "avx512";
    case SAM_ISA_AVX2:
      return "avx2";
    default:
      return "ref";
  }
}

SamIsa
sam_cpu_isa (void)
{
  static gsize once = 0;
  static SamIsa isa;
  if (g_once_init_enter (&once)) {
    isa = sam_cpu_isa_detected ();
    const char *force = g_getenv ("SAMSEG_FORCE_ISA");
    if (force && *force) {
      SamIsa want = isa;
      if (!strcmp (force, "ref"))
        want = SAM_ISA_REF;
      /* avxvnni / avx512vnni cap the int8 kernels (gemm-i8.c); for the
       * float kernels they mean the matching vector width. */
      else if (!strcmp (force, "avx2") || !strcmp (force, "avxvnni"))
        want = SAM_ISA_AVX2;
      else if (!strcmp (force, "avx512") || !strcmp (force, "avx512vnni"))
        want = SAM_ISA_AVX512;
      /* aarch64's int8 kernels; for the float ones, NEON */
      else if (!strcmp (force, "neondot") || !strcmp (force, "neon"))
        want = SAM_ISA_NEON;
      else
        g_warning ("SAMSEG_FORCE_ISA=%s: expected ref, avx2, avxvnni, avx512, "
            "avx512vnni, neon or neondot", force);
      if (!sam_cpu_isa_supported (want))
        g_warning ("SAMSEG_FORCE_ISA=%s: not supported by this CPU, using %s",
            force, sam_cpu_isa_name (isa));
      else
        isa = want;
    }
    g_once_init_leave (&once, 1);
  }
  return isa;
}

static const SamKernelsF32 tables[] = {
  [SAM_ISA_REF] = {
        .isa = SAM_ISA_REF,.mr = SAM_K_MR_C,.nr = SAM_K_NR_C,
        .ukr = sam_k_ukr_f32_c,
        .ukrs = sam_k_ukrs_f32_c,
        .exp = sam_k_exp_f32_ref,
        .max = sam_k_max_f32_ref,
        .exp_sub_sum = sam_k_expsubsum_f32_ref,
      },
  [SAM_ISA_AVX2] = {
        .isa = SAM_ISA_AVX2,.mr = SAM_K_MR_AVX2,.nr = SAM_K_NR_AVX2,
        .ukr = sam_k_ukr_f32_avx2,
        .ukrs = sam_k_ukrs_f32_avx2,
        .exp = sam_k_exp_f32_avx2,
        .max = sam_k_max_f32_avx2,
        .exp_sub_sum = sam_k_expsubsum_f32_avx2,
      },
  [SAM_ISA_AVX512] = {
        .isa = SAM_ISA_AVX512,.mr = SAM_K_MR_AVX512,.nr = SAM_K_NR_AVX512,
        .ukr = sam_k_ukr_f32_avx512,
        .ukrs = sam_k_ukrs_f32_avx512,
        .exp = sam_k_exp_f32_avx512,
        .max = sam_k_max_f32_avx512,
        .exp_sub_sum = sam_k_expsubsum_f32_avx512,
      },
  [SAM_ISA_NEON] = {
        .isa = SAM_ISA_NEON,.mr = SAM_K_MR_NEON,.nr = SAM_K_NR_NEON,
        .ukr = sam_k_ukr_f32_neon,
        .ukrs = sam_k_ukrs_f32_neon,
        .exp = sam_k_exp_f32_neon,
        .max = sam_k_max_f32_neon,
        .exp_sub_sum = sam_k_expsubsum_f32_neon,
      },
};

const SamKernelsF32 *
sam_kernels_f32_for (SamIsa isa)
{
  if (!sam_cpu_isa_supported (isa))
    isa = sam_cpu_isa_detected ();
  return &tables[isa];
}

const SamKernelsF32 *
sam_kernels_f32 (void)
{
  return &tables[sam_cpu_isa ()];
}

/* ---- per-thread scratch ---------------------------------------------- */

typedef struct
{
  float *p[SAM_SCRATCH_N_SLOTS];
  int64_t cap[SAM_SCRATCH_N_SLOTS];
  bool busy[SAM_SCRATCH_N_SLOTS];
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *s = data;
  for (int i = 0; i < SAM_SCRATCH_N_SLOTS; i++)
    g_aligned_free (s->p[i]);
  g_free (s);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

float *
sam_k_scratch_get (SamScratchSlot slot, int64_t n)
{
  n = MAX (n, 16);
  Scratch *s = g_private_get (&scratch_key);
  if (!s) {
    s = g_new0 (Scratch, 1);
    g_private_set (&scratch_key, s);
  }
  if (s->busy[slot] || n * (int64_t) sizeof (float) > SAM_SCRATCH_MAX_BYTES)
    return g_aligned_alloc (n, sizeof (float), 64);
  if (s->cap[slot] < n) {
    g_aligned_free (s->p[slot]);
    s->p[slot] = g_aligned_alloc (n, sizeof (float), 64);
    s->cap[slot] = n;
  }
  s->busy[slot] = true;
  return s->p[slot];
}

void
sam_k_scratch_put (SamScratchSlot slot, float *p)
{
  Scratch *s = g_private_get (&scratch_key);
  if (s && p && p == s->p[slot] && s->busy[slot])
    s->busy[slot] = false;
  else
    g_aligned_free (p);
}

void
sam_k_scratch_trim (int64_t keep_bytes)
{
  Scratch *s = g_private_get (&scratch_key);
  if (!s)
    return;
  for (int i = 0; i < SAM_SCRATCH_N_SLOTS; i++)
    if (!s->busy[i] && s->cap[i] * (int64_t) sizeof (float) > keep_bytes) {
      g_aligned_free (s->p[i]);
      s->p[i] = NULL;
      s->cap[i] = 0;
    }
}

/* ---- huge-page hint ---------------------------------------------------- */

void
sam_k_hint_hugepages (void *p, int64_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t) 2 << 20;
  if (bytes < (int64_t) (2 * huge))
    return;
  uintptr_t b = ((uintptr_t) p + huge - 1) & ~(huge - 1);
  uintptr_t e = ((uintptr_t) p + (uintptr_t) bytes) & ~(huge - 1);
  if (e > b)
    (void) madvise ((void *) b, e - b, MADV_HUGEPAGE);
#endif
}
