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
#include "cpu-peak.h"
#include "kernels/gemm-i8.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
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
  double peak = sam_peak_i8_gmacs ();
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
