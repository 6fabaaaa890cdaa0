/* samseg-kbench — f32 kernel micro-benchmark on the SAM 2.1 hot shapes.
 *
 *   samseg-kbench [-t THREADS] [-r RUNS] [-i ref|avx2|avx512|neon|all] [-s FILTER]
 *                 [-k f32|i8|all] [-m MODEL.safetensors [-S SIZE]]
 *   samseg-kbench [-t THREADS] [-r RUNS] -a DUMP[,DUMP...]
 *
 * For each ISA (default: the detected one) measures the FMA peak of one core
 * (independent FMA chains, no memory traffic), then runs each shape RUNS
 * times and prints the best time, GFLOP/s (2 flops per multiply-add) and the
 * percentage of THREADS × the measured per-core peak. The machine may be
 * shared: "cpu" columns divide the work by the process CPU time (summed
 * over threads, divided by THREADS) instead of the wall time, which hides
 * time-slicing by other processes (but not their cache pollution, nor load
 * imbalance between our threads). Linear timings include
 * packing the weight, as sam_linear does on every call. The ref ISA runs the
 * shapes with M divided by 16 (it would take minutes otherwise).
 * -k i8 (or all, the default) adds the int8 GEMM table (kbench-i8.c): the
 * integer MAC peak of one core measured the same way (vpdpbusd chains) and
 * the int8 GEMM / fused quantize + GEMM Linear on the model's big shapes.
 * Then the integer attention (attention-i8) against the f32 flash kernel on
 * the attention shapes (bench_attention_i8).
 * With -m, also times the whole image encoder at SIZE (default 1024) on a
 * random image with the selected ISA (SAMSEG_FORCE_ISA picks another).
 * -a times only the integer attention on codes a model produced
 * (SAMSEG_DUMP_ATTENTION, kernels/attention-i8-dump.h): random codes give
 * flat rows, and a kernel change can win on them and not on a model's.
 */
#include "cpu-peak.h"
#include "kbench-i8.h"
#include "kernels/attention-i8.h"
#include "kernels/attention-i8-dump.h"
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "nn/nn.h"
#include "sam/sam.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

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

/* GFLOP/s of one core for the ISA (tools/cpu-peak.c: best of 10, by CPU
 * time). */
static double
measure_peak (SamIsa isa)
{
  return 2.0 * sam_peak_f32_gmacs_for (isa == SAM_ISA_AVX512 ? 512 :
      isa == SAM_ISA_AVX2 ? 256 : isa == SAM_ISA_NEON ? 128 : 0);
}

/* ---- shapes --------------------------------------------------------------- */

typedef enum
{ OP_LINEAR, OP_ATTN, OP_ATTN_WIN, OP_CONV } Op;

typedef struct
{
  const char *name;
  Op op;
  /* linear: M K N; attention: Nq Nk H D [Dv (0: D)], windows for
   * OP_ATTN_WIN (Dv = D);
   * conv: H(=W) Cin Cout KH stride pad groups */
  int64_t a, b, c, d, e, f, g;
} Shape;

static const Shape shapes[] = {
  {"hiera-s1-qkv", OP_LINEAR, 65536, 96, 288},
  {"hiera-s1-mlp1", OP_LINEAR, 65536, 96, 384},
  {"hiera-s1-mlp2", OP_LINEAR, 65536, 384, 96},
  {"hiera-s3-qkv", OP_LINEAR, 4096, 384, 1152},
  {"hiera-s3-mlp1", OP_LINEAR, 4096, 384, 1536},
  {"hiera-s3-mlp2", OP_LINEAR, 4096, 1536, 384},
  {"hiera-s4-mlp1", OP_LINEAR, 1024, 768, 3072},
  {"hiera-s4-mlp2", OP_LINEAR, 1024, 3072, 768},
  {"memattn-mlp1", OP_LINEAR, 4096, 256, 2048},
  {"memattn-mlp2", OP_LINEAR, 4096, 2048, 256},
  {"memattn-kproj", OP_LINEAR, 28736, 64, 256},
  {"decoder-tok", OP_LINEAR, 7, 256, 256},
  /* the decoder's image-side projections at input 512, its token MLP */
  {"decoder-img-kv", OP_LINEAR, 1024, 256, 128},
  {"decoder-img-out", OP_LINEAR, 1024, 128, 256},
  {"decoder-tok-mlp1", OP_LINEAR, 7, 256, 2048},
  {"decoder-tok-mlp2", OP_LINEAR, 7, 2048, 256},
  {"memattn-cross", OP_ATTN, 4096, 28736, 1, 256},
  /* the engine's cross-attention: P·V over the 64-dim memory values */
  {"memattn-cross-v64", OP_ATTN, 4096, 28736, 1, 256, 64},
  {"memattn-self", OP_ATTN, 4096, 4096, 1, 256},
  {"hiera-global", OP_ATTN, 4096, 4096, 4, 96},
  {"hiera-s1-win", OP_ATTN_WIN, 64, 64, 1, 96, 1024},
  {"hiera-s3-win", OP_ATTN_WIN, 196, 196, 4, 96, 25},
  {"decoder-t2i", OP_ATTN, 4096, 7, 8, 16},
  {"patch-embed", OP_CONV, 1024, 3, 96, 7, 4, 3, 1},
  {"fuser-dw7x7", OP_CONV, 64, 256, 256, 7, 1, 3, 256},
  {"maskds-3x3s2", OP_CONV, 128, 64, 256, 3, 2, 1, 1},
};

static float *
rand_buf (int64_t n, guint32 seed)
{
  float *p = g_new (float, MAX (n, 1));
  GRand *r = g_rand_new_with_seed (seed);
  for (int64_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (r, -1, 1);
  g_rand_free (r);
  return p;
}

typedef struct
{
  const SamKernelsF32 *kt;
  const float *q, *k, *v;
  float *o;
  int64_t n;
  int H, D;
} WinCtx;

static void
win_fn (void *vctx, int64_t w0, int64_t w1)
{
  const WinCtx *c = vctx;
  const int64_t ld = (int64_t) c->H * c->D;
  for (int64_t w = w0; w < w1; w++)
    sam_k_attention_f32 (c->kt, NULL, c->q + w * c->n * ld, ld,
        c->k + w * c->n * ld, ld, c->v + w * c->n * ld, ld,
        c->o + w * c->n * ld, ld, c->n, c->n, c->H, c->D, c->D);
}

/* Runs shape s once; returns wall seconds, sets *flops and *cpu (process
 * CPU seconds). */
static double
run_shape (const SamKernelsF32 * kt, SamPool * pool, const Shape * s,
    int64_t mdiv, double *flops, double *cpu, void **bufs)
{
  gint64 t0 = 0;
  double c0 = cpu_seconds ();
  switch (s->op) {
    case OP_LINEAR:{
      int64_t M = MAX (1, s->a / mdiv), K = s->b, N = s->c;
      float *x = bufs[0], *W = bufs[1], *b = bufs[2], *y = bufs[3];
      t0 = g_get_monotonic_time ();
      float *Bp = sam_k_scratch_get (SAM_SCRATCH_PACK_B,
          sam_k_pack_b_size (kt, K, N));
      sam_k_pack_b_nk (kt, pool, W, K, K, N, Bp);
      sam_k_gemm_f32 (kt, pool, x, K, Bp, y, N, M, N, K, false, b);
      sam_k_scratch_put (SAM_SCRATCH_PACK_B, Bp);
      *flops = 2.0 * M * K * N;
      break;
    }
    case OP_ATTN:{
      int64_t Nq = MAX (1, s->a / mdiv), Nk = s->b, ld = s->c * s->d;
      int64_t Dv = s->e ? s->e : s->d, ldv = s->c * Dv;
      t0 = g_get_monotonic_time ();
      sam_k_attention_f32 (kt, pool, bufs[0], ld, bufs[1], ld, bufs[2], ldv,
          bufs[3], ldv, Nq, Nk, (int) s->c, (int) s->d, (int) Dv);
      *flops = 2.0 * Nq * Nk * (ld + ldv);
      break;
    }
    case OP_ATTN_WIN:{
      int64_t nw = MAX (1, s->e / mdiv);
      WinCtx c = { kt, bufs[0], bufs[1], bufs[2], bufs[3], s->a, (int) s->c,
        (int) s->d
      };
      t0 = g_get_monotonic_time ();
      sam_pool_for (pool, nw, 1, win_fn, &c);
      *flops = 2.0 * nw * s->a * s->b * s->c * s->d * 2;
      break;
    }
    case OP_CONV:{
      int H = (int) s->a, Cin = (int) s->b, Cout = (int) s->c, KH = (int) s->d;
      int st = (int) s->e, pad = (int) s->f, g = (int) s->g;
      int Ho = (H + 2 * pad - KH) / st + 1;
      t0 = g_get_monotonic_time ();
      sam_k_conv2d_f32 (kt, pool, bufs[0], H, H, Cin, bufs[1], bufs[2], Cout,
          KH, KH, st, pad, g, bufs[3]);
      *flops = 2.0 * Ho * Ho * Cout * (Cin / g) * KH * KH;
      break;
    }
  }
  double wall = (g_get_monotonic_time () - t0) / 1e6;
  *cpu = cpu_seconds () - c0;
  return wall;
}

static void
alloc_shape (const Shape * s, int64_t mdiv, void **bufs)
{
  switch (s->op) {
    case OP_LINEAR:{
      int64_t M = MAX (1, s->a / mdiv);
      bufs[0] = rand_buf (M * s->b, 1);
      bufs[1] = rand_buf (s->b * s->c, 2);
      bufs[2] = rand_buf (s->c, 3);
      bufs[3] = rand_buf (M * s->c, 4);
      break;
    }
    case OP_ATTN:
    case OP_ATTN_WIN:{
      int64_t nw = s->op == OP_ATTN_WIN ? s->e : 1;
      int64_t ld = s->c * s->d;
      bufs[0] = rand_buf (nw * s->a * ld, 1);
      bufs[1] = rand_buf (nw * s->b * ld, 2);
      bufs[2] = rand_buf (nw * s->b * ld, 3);
      bufs[3] = rand_buf (nw * s->a * ld, 4);
      break;
    }
    case OP_CONV:{
      int64_t H = s->a;
      bufs[0] = rand_buf (H * H * s->b, 1);
      bufs[1] = rand_buf (s->c * (s->b / s->g) * s->d * s->d, 2);
      bufs[2] = rand_buf (s->c, 3);
      bufs[3] = rand_buf (H * H * s->c, 4);
      break;
    }
  }
}

static void
bench_encoder (SamPool * pool, const char *path, int S, int runs)
{
  GError *err = NULL;
  SamModel *m = sam_model_load (path, NULL, &err);
  if (!m) {
    fprintf (stderr, "samseg-kbench: %s\n", err->message);
    g_error_free (err);
    return;
  }
  float *img = rand_buf ((int64_t) S * S * 3, 5);
  SamImageFeatures f;
  sam_image_features_alloc (&f, S);
  double best = INFINITY, bestc = INFINITY;
  for (int r = 0; r < runs; r++) {
    gint64 t0 = g_get_monotonic_time ();
    double c0 = cpu_seconds ();
    sam_image_encoder_run (m, pool, img, S, &f, NULL, "enc0");
    best = MIN (best, (g_get_monotonic_time () - t0) / 1e3);
    bestc = MIN (bestc, (cpu_seconds () - c0) * 1e3);
    /* the heap on huge pages, as a session has it after its first frames
     * (sam_tune_process_allocator above) */
    sam_process_heap_huge_pages_step (-1);
  }
  printf ("\n[%s] image encoder %dx%d: best %.1f ms wall, %.1f ms CPU "
      "(all threads)\n", sam_cpu_isa_name (sam_cpu_isa ()), S, S, best, bestc);
  sam_image_features_clear (&f);
  g_free (img);
  sam_model_unref (m);
}

/* ---- integer attention (attention-i8.c) against the f32 flash kernel ----
 * Same shapes, random u8 codes (q, k, v) with per-tensor scales; the i8 time
 * includes packing K and V (as every engine call does), not the
 * quantization of q/k/v. MAC/s counts Nq·Nk·H·(D + Dv). "none" carries the
 * softmax as 15-bit P; "agq" adds the AGQ codes (ORC log2q); "p8" is
 * "none" with 8-bit P (the trunk's default). */
static const Shape attn_i8_shapes[] = {
  {"memattn-cross", OP_ATTN, 4096, 28736, 1, 256},
  {"memattn-cross-v64", OP_ATTN, 4096, 28736, 1, 256, 64},
  {"memattn-self", OP_ATTN, 4096, 4096, 1, 256},
  {"hiera-global", OP_ATTN, 4096, 4096, 4, 96},
  /* the same at input 512 */
  {"hiera-global-512", OP_ATTN, 1024, 1024, 4, 96},
  {"decoder-t2i", OP_ATTN, 4096, 7, 8, 16},
  {"decoder-tok2img", OP_ATTN, 7, 4096, 8, 16},
};

static void
bench_attention_i8 (SamPool * pool, int runs, const char *filter)
{
  const SamKernelsF32 *kt = sam_kernels_f32 ();
  const int nth = sam_pool_n_threads (pool);
  printf ("\nattention: f32 flash (%s) vs integer (%s), %d thread(s)\n",
      sam_cpu_isa_name (kt->isa), sam_k_attention_i8_isa_name (), nth);
  printf ("%-18s %-22s %-5s %9s %9s %9s %7s\n", "shape", "dims", "kind",
      "best ms", "GMAC/s", "cpu ms", "x f32");
  for (guint si = 0; si < G_N_ELEMENTS (attn_i8_shapes); si++) {
    const Shape *s = &attn_i8_shapes[si];
    if (filter && !strstr (s->name, filter))
      continue;
    const int64_t Nq = s->a, Nk = s->b, H = s->c, D = s->d;
    const int64_t Dv = s->e ? s->e : D, ld = H * D, ldv = H * Dv;
    float *qf = rand_buf (Nq * ld, 1), *kf = rand_buf (Nk * ld, 2);
    float *vf = rand_buf (Nk * ldv, 3), *o = rand_buf (Nq * ldv, 4);
    uint8_t *q8 = g_malloc (Nq * ld), *k8 = g_malloc (Nk * ld);
    uint8_t *v8 = g_malloc (Nk * ldv);
    for (int64_t i = 0; i < Nq * ld; i++)
      q8[i] = (uint8_t) (qf[i] * 127.f + 128.f);
    for (int64_t i = 0; i < Nk * ld; i++)
      k8[i] = (uint8_t) (kf[i] * 127.f + 128.f);
    for (int64_t i = 0; i < Nk * ldv; i++)
      v8[i] = (uint8_t) (vf[i] * 127.f + 128.f);
    const double macs = (double) Nq * Nk * H * (D + Dv);
    char dims[64];
    g_snprintf (dims, sizeof dims, "q%d k%d h%d d%d dv%d", (int) Nq, (int) Nk,
        (int) H, (int) D, (int) Dv);
    double f32_ms = 0;
    for (int kind = 0; kind < 4; kind++) {
      SamAttI8Params p = {.sq = 0.03f,.sk = 0.03f,.sv = 0.01f,.zq = 128,
        .zk = 128,.zv = 128,.pkind = kind == 2 ? SAM_ATT_P_AGQ :
            SAM_ATT_P_NONE,.agq = {0.5f, 2, 8},.p8 = kind == 3
      };
      double best = INFINITY, bestc = INFINITY;
      for (int r = 0; r < runs; r++) {
        double c0 = cpu_seconds ();
        gint64 t0 = g_get_monotonic_time ();
        if (kind == 0)
          sam_k_attention_f32 (kt, pool, qf, ld, kf, ld, vf, ldv, o, ldv, Nq,
              Nk, (int) H, (int) D, (int) Dv);
        else
          sam_k_attention_i8 (pool, q8, ld, k8, ld, v8, ldv, o, ldv, Nq, Nk,
              (int) H, (int) D, (int) Dv, &p);
        best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
        bestc = MIN (bestc, cpu_seconds () - c0);
      }
      if (kind == 0)
        f32_ms = best * 1e3;
      printf ("%-18s %-22s %-5s %9.2f %9.1f %9.2f %7.2f\n", s->name, dims,
          kind == 0 ? "f32" : kind == 1 ? "none" : kind == 2 ? "agq" : "p8",
          best * 1e3,
          macs / best / 1e9, bestc * 1e3, f32_ms / (best * 1e3));
      fflush (stdout);
    }
    g_free (qf);
    g_free (kf);
    g_free (vf);
    g_free (o);
    g_free (q8);
    g_free (k8);
    g_free (v8);
  }
}

/* ---- integer attention on a model's own codes (SAMSEG_DUMP_ATTENTION) ----
 * Each file: best of runs on the pool, the same work rate as above, and a
 * checksum of the output's bits (FNV-1a), so that a kernel change shows
 * whether it kept them. */
static int
bench_attention_dumps (SamPool * pool, int runs, const char *list)
{
  gchar **files = g_strsplit (list, ",", -1);
  double total = 0;
  int status = 0;
  printf ("\nattention on dumped codes (%s), %d thread(s), best of %d\n",
      sam_k_attention_i8_isa_name (), sam_pool_n_threads (pool), runs);
  printf ("%-28s %-26s %9s %9s  %s\n", "file", "dims", "best ms", "GMAC/s",
      "output FNV-1a");
  for (int i = 0; files[i]; i++) {
    GError *err = NULL;
    SamAttI8Dump *d = sam_att_i8_dump_read (files[i], &err);
    if (!d) {
      fprintf (stderr, "samseg-kbench: %s\n", err->message);
      g_error_free (err);
      status = 1;
      continue;
    }
    const int64_t ldq = (int64_t) d->H * d->D, ldv = (int64_t) d->H * d->Dv;
    float *o = g_new0 (float, MAX (1, d->Nq * ldv));
    double best = INFINITY;
    for (int r = 0; r < runs; r++) {
      gint64 t0 = g_get_monotonic_time ();
      sam_k_attention_i8 (pool, d->q, ldq, d->k, ldq, d->v, ldv, o, ldv,
          d->Nq, d->Nk, d->H, d->D, d->Dv, &d->p);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e3);
    }
    guint32 h = 2166136261u;
    const guint8 *ob = (const guint8 *) o;
    for (int64_t j = 0; j < d->Nq * ldv * (int64_t) sizeof (float); j++)
      h = (h ^ ob[j]) * 16777619u;
    char dims[64];
    g_snprintf (dims, sizeof dims, "q%d k%d h%d d%d dv%d%s", (int) d->Nq,
        (int) d->Nk, d->H, d->D, d->Dv, d->p.p8 ? " p8" : "");
    const double macs = (double) d->Nq * d->Nk * d->H * (d->D + d->Dv);
    gchar *base = g_path_get_basename (files[i]);
    printf ("%-28s %-26s %9.2f %9.1f  %08x\n", base, dims, best,
        macs / best / 1e6, h);
    fflush (stdout);
    g_free (base);
    total += best;
    g_free (o);
    sam_att_i8_dump_free (d);
  }
  printf ("total %.2f ms\n", total);
  g_strfreev (files);
  return status;
}

int
main (int argc, char **argv)
{
  const char *model = NULL;
  int size = 1024;
  int threads = 0, runs = 3;
  const char *isa_arg = NULL, *filter = NULL, *kinds = "all", *dumps = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "-t") && i + 1 < argc)
      threads = atoi (argv[++i]);
    else if (!strcmp (argv[i], "-r") && i + 1 < argc)
      runs = atoi (argv[++i]);
    else if (!strcmp (argv[i], "-i") && i + 1 < argc)
      isa_arg = argv[++i];
    else if (!strcmp (argv[i], "-s") && i + 1 < argc)
      filter = argv[++i];
    else if (!strcmp (argv[i], "-m") && i + 1 < argc)
      model = argv[++i];
    else if (!strcmp (argv[i], "-S") && i + 1 < argc)
      size = atoi (argv[++i]);
    else if (!strcmp (argv[i], "-a") && i + 1 < argc)
      dumps = argv[++i];
    else if (!strcmp (argv[i], "-k") && i + 1 < argc
        && (!strcmp (argv[i + 1], "f32") || !strcmp (argv[i + 1], "i8")
            || !strcmp (argv[i + 1], "all")))
      kinds = argv[++i];
    else {
      fprintf (stderr, "usage: samseg-kbench [-t THREADS] [-r RUNS] "
          "[-i ref|avx2|avx512|neon|all] [-s FILTER] [-k f32|i8|all] "
          "[-m MODEL [-S SIZE]] [-a DUMP[,DUMP...]]\n");
      return 2;
    }
  }
  runs = MAX (runs, 1);
  SamIsa isas[4];
  int n_isa = 0;
  SamIsa det = sam_cpu_isa ();
  if (!isa_arg)
    isas[n_isa++] = det;
  else if (!strcmp (isa_arg, "all"))
    for (int i = 0; i <= (int) SAM_ISA_NEON; i++) {
      if (sam_cpu_isa_supported ((SamIsa) i))
        isas[n_isa++] = (SamIsa) i;
    }
  else {
    SamIsa want = !strcmp (isa_arg, "avx512") ? SAM_ISA_AVX512 :
        !strcmp (isa_arg, "avx2") ? SAM_ISA_AVX2 :
        !strcmp (isa_arg, "neon") ? SAM_ISA_NEON : SAM_ISA_REF;
    if (!sam_cpu_isa_supported (want)) {
      fprintf (stderr, "samseg-kbench: %s not supported by this CPU\n",
          isa_arg);
      return 1;
    }
    isas[n_isa++] = want;
  }

  /* the heap as the element and samseg-bench keep it: glibc's adaptive
   * thresholds hand the encoder's big buffers back to the kernel after
   * each run, and the page faults of the next run were ~3 % of it */
  sam_tune_process_allocator ();
  SamPool *pool = sam_pool_new (threads);
  int nth = sam_pool_n_threads (pool);
  char *cpu = sam_cpu_description ();
  printf ("samseg-kbench: %d thread(s), best of %d, detected ISA %s, %s\n",
      nth, runs, sam_cpu_isa_name (sam_cpu_isa_detected ()), cpu);
  g_free (cpu);
  if (dumps) {
    /* only the dumped calls: the other benches would dump their own */
    int status = bench_attention_dumps (pool, runs, dumps);
    sam_pool_free (pool);
    return status;
  }
  for (int ii = 0; ii < n_isa && strcmp (kinds, "i8"); ii++) {
    const SamKernelsF32 *kt = sam_kernels_f32_for (isas[ii]);
    double peak = measure_peak (kt->isa);
    int64_t mdiv = kt->isa == SAM_ISA_REF ? 16 : 1;
    printf ("\n[%s] FMA peak %.1f GFLOP/s per core, %.1f for %d thread(s)%s\n",
        sam_cpu_isa_name (kt->isa), peak, peak * nth, nth,
        mdiv > 1 ? " (M / 16)" : "");
    printf ("%-16s %-24s %9s %9s %7s %9s %7s\n", "shape", "dims", "best ms",
        "GFLOP/s", "% peak", "cpu GF/s", "% peak");
    for (guint si = 0; si < G_N_ELEMENTS (shapes); si++) {
      const Shape *s = &shapes[si];
      if (filter && !strstr (s->name, filter))
        continue;
      void *bufs[4];
      alloc_shape (s, mdiv, bufs);
      double best = INFINITY, bestc = INFINITY, flops = 0, cpu;
      for (int r = 0; r < runs; r++) {
        best = MIN (best, run_shape (kt, pool, s, mdiv, &flops, &cpu, bufs));
        bestc = MIN (bestc, cpu / nth);
      }
      char dims[64];
      if (s->op == OP_LINEAR)
        g_snprintf (dims, sizeof dims, "%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
            "x%" G_GINT64_FORMAT, MAX (1, s->a / mdiv), s->b, s->c);
      else if (s->op == OP_CONV)
        g_snprintf (dims, sizeof dims, "%dx%dx%d k%d s%d g%d", (int) s->a,
            (int) s->a, (int) s->b, (int) s->d, (int) s->e, (int) s->g);
      else
        g_snprintf (dims, sizeof dims, "q%d k%d h%d d%d%s", (int) s->a,
            (int) s->b, (int) s->c, (int) s->d,
            s->op == OP_ATTN_WIN ? " xW" : "");
      double gf = flops / best / 1e9, gfc = flops / bestc / 1e9;
      printf ("%-16s %-24s %9.2f %9.1f %6.1f%% %9.1f %6.1f%%\n", s->name,
          dims, best * 1e3, gf, 100.0 * gf / (peak * nth), gfc,
          100.0 * gfc / (peak * nth));
      fflush (stdout);
      for (int b = 0; b < 4; b++)
        g_free (bufs[b]);
    }
  }
  if (strcmp (kinds, "f32"))
    sam_kbench_i8 (pool, runs, filter);
  if (model)
    bench_encoder (pool, model, size, runs);
  bench_attention_i8 (pool, runs, filter);
  sam_pool_free (pool);
  return 0;
}
