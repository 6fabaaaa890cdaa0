/* attention-i8.c — integer attention (see attention-i8.h for the contract):
 * packing of K and V per head, the row-block driver, the float per-row
 * softmax + post-softmax quantizer (shared with the oracle), and the two
 * integer inner products per ISA: QKᵀ (u8 · s8 → int32, vpdpbusd) and P·V
 * (s16 · s16 → int32, vpdpwssd; with AVX-512 VNNI or AVX-VNNI two u8 · s8
 * byte planes of P, vpdpbusd, the high one only where it is not 0). Every
 * variant is bit-exact with sam_k_attention_i8_ref
 * (tests/quant/test-attention-i8.c).
 */
#include "kernels/attention-i8.h"
#include "kernels/attention-i8-dump.h"
#include "kernels/gemm-i8.h"
#include "kernels/requant.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The SIMD variants are x86's and aarch64's (QKᵀ on the dot product,
 * P·V on NEON); elsewhere the plain C ones run. */
#if defined(__x86_64__) && defined(__GNUC__)
#define SAM_X86 1
#include <immintrin.h>
#include "kernels/widen-avx2.h"
#endif
#if defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
#define SAM_ARM64 1
#include <arm_neon.h>
#define T_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))
#define T_AVXVNNI __attribute__((target("avx2,avxvnni,fma")))
#define T_EVEX256 \
  __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))
#define T_AVX2 __attribute__((target("avx2,fma")))

#define KT 256                  /* keys per tile: int32 P·V sums stay exact */
#define QKT 128                 /* keys per QKᵀ tile: D = 256 packs them in
                                 * 32 KB, which stays in L1 for the block's
                                 * row groups */
#define RB 32                   /* query rows per block (multiple of 4):
                                 * each pass over the packed keys serves 32
                                 * rows; the block's scores (32 × Nk floats,
                                 * 3.7 MB at 28,736 keys) are per-thread
                                 * scratch */
#define PONE 32767              /* fixed-point one of P */

static inline int64_t
rup (int64_t x, int64_t m)
{
  return (x + m - 1) / m * m;
}

/* ------------------------------------------------------------------------ */
/* The float part of a row (every variant and the oracle) */

/* round (32767 · 2^(−i/τ)) for τ = 1, 2, 4 and i = 0..255 (int32: the
 * operand of a gather) */
static const int32_t *
agq_fixed_table (int tau)
{
  static gsize once = 0;
  static int32_t t[3][256];
  if (g_once_init_enter (&once)) {
    for (int l = 0; l < 3; l++)
      for (int i = 0; i < 256; i++)
        t[l][i] = (int32_t) floor (PONE * exp2 (-(double) i / (1 << l))
            + 0.5);
    g_once_init_leave (&once, 1);
  }
  return t[tau == 1 ? 0 : tau == 2 ? 1 : 2];
}

/* Σ e in 16 interleaved partial sums (j mod 16), then those in order: a
 * fixed order that the compiler can vectorize. */
static float
row_sum (const float *e, int64_t n)
{
  float acc[16] = { 0 };
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; l++)
      acc[l] += e[j + l];
  for (int l = 0; j + l < n; l++)
    acc[l] += e[j + l];
  float s = 0.f;
  for (int l = 0; l < 16; l++)
    s += acc[l];
  return s;
}

/* P = sam_exp2_p15_f32_s16 (y, m, c), returns Σ P. The ORC kernel (4-wide
 * SSE in ORC 0.4.33), and AVX2 / AVX-512 versions of the same operations
 * in the same order (no FMA, truncating conversions; no denormal arises:
 * y − m is 0 or ≥ 1 in magnitude and c ≥ 1e-30), bit-exact with its C
 * reference (the variant tests compare them through the oracle). */
typedef int64_t (*P15Fn) (int16_t * P, const float *y, int64_t n, float m,
    float c);

/* AGQ pieces: esum = Σ 2^y in row_sum's order (16 interleaved partial
 * sums), agqp = the codes of sam_log2q_f32_u8 turned into P by the table
 * T[a − a0] (code qmax → 0). Per ISA like P15Fn, bit-exact with the ORC
 * kernels' C references. */
typedef float (*ESumFn) (float *tmp, const float *y, int64_t n, float m,
    float c);
typedef void (*AgqPFn) (int16_t * P, uint8_t * tmp, const float *y,
    int64_t n, float m, float c, float cc, float tau, int qmax, int a0,
    const int32_t * T);

/* P15Fn straight into the byte planes of the P·V, with SplitFn's chunk
 * flags (ldp ≥ n, a multiple of PCH); p8: P is p8_num's, all in Pl;
 * returns Σ P. */
typedef int64_t (*P15PlanesFn) (const float *y, int64_t n, float m, float c,
    bool p8, int64_t ldp, uint8_t * Pl, uint8_t * Ph, uint8_t * hi,
    const uint8_t * dead);

typedef struct {
  P15Fn p15;
  ESumFn esum;
  AgqPFn agqp;
  P15PlanesFn p15_planes;       /* NULL: p15, then the split */
  P15Fn p8;                     /* p8_num per score (NULL: the C loop) */
} RowFns;

static float
esum_orc (float *tmp, const float *y, int64_t n, float m, float c)
{
  sam_exp2_sub_f32 (tmp, y, m, c, (int) n);
  return row_sum (tmp, n);
}

static void
agqp_orc (int16_t * P, uint8_t * a, const float *y, int64_t n, float m,
    float c, float cc, float tau, int qmax, int a0, const int32_t * T)
{
  sam_log2q_f32_u8 (a, y, m, c, cc, tau, (float) qmax, (int) n);
  for (int64_t j = 0; j < n; j++)
    P[j] = (int16_t) (a[j] == qmax ? 0 : T[a[j] - a0]);
}

static int64_t
p15_orc (int16_t * P, const float *y, int64_t n, float m, float c)
{
  int64_t sum = 0;
  for (int64_t j = 0; j < n; j += 65536)
    sum += sam_exp2_p15_f32_s16 (P + j, y + j, m, c, (int) MIN (65536,
            n - j));
  return sum;
}

static double
row_probs15 (const RowFns * f, const float *y, int64_t n, float m, float c,
    const SamAttI8Params * p, int16_t * P, void *tmp)
{
  switch (p->pkind) {
    case SAM_ATT_P_NONE:{
      int64_t sum = f->p15 (P, y, n, m, c);
      return sum > 0 ? 1.0 / (double) sum : 0.0;
    }
    case SAM_ATT_P_AGQ:{
      float sum = f->esum (tmp, y, n, m, c);
      int qmax = (1 << p->agq.bits) - 1;
      float cc = log2f (sum) + log2f (p->agq.s), tau = (float) p->agq.tau;
      /* the codes fall as y rises: the smallest is the maximum's */
      uint8_t a0;
      sam_log2q_f32_u8_ref (&a0, &m, m, c, cc, tau, (float) qmax, 1);
      if (a0 == qmax) {
        memset (P, 0, (size_t) n * sizeof *P);
        return 0.0;
      }
      f->agqp (P, tmp, y, n, m, c, cc, tau, qmax, a0,
          agq_fixed_table (p->agq.tau));
      return p->agq.s * exp2 (-(double) a0 / p->agq.tau) / PONE;
    }
    case SAM_ATT_P_LNQ:
    case SAM_ATT_P_DRQ:{
      float *e = tmp;
      sam_exp2_sub_f32 (e, y, m, c, (int) n);
      float inv = 1.f / row_sum (e, n), pm = 0.f;
      for (int64_t j = 0; j < n; j++) {
        float v = e[j] * inv;
        v = p->pkind == SAM_ATT_P_LNQ ? sam_lnq_fake (v, &p->lnq)
            : sam_drq_softmax_fake (v, &p->drq);
        e[j] = v;
        pm = v > pm ? v : pm;
      }
      if (!(pm > 0.f)) {
        memset (P, 0, (size_t) n * sizeof *P);
        return 0.0;
      }
      float f = (float) PONE / pm;
      for (int64_t j = 0; j < n; j++) {
        int32_t v = (int32_t) (e[j] * f + 0.5f);
        P[j] = (int16_t) (v > PONE ? PONE : v);
      }
      return (double) pm / PONE;
    }
  }
  return 0.0;
}

/* The 8-bit P of a 15-bit one (attention-i8.h, p8 with a post-softmax
 * quantizer): round (P · 255 / 32767) up to the rounding at ties, in
 * integers. */
static inline int32_t
p8_of (int32_t p15)
{
  return (p15 * 255 + 16384) >> 15;
}

/* 2^f on f ∈ (−1, 0] for the 8-bit numerators: a degree-3 fit (relative
 * error < 9e-5, 0.023 of P8's step at most; exactly 1 at f = 0, below 1
 * elsewhere) */
#define P8_C1 0.6915874481201172f
#define P8_C2 0.23115850985050201f
#define P8_C3 0.03961580619215965f

/* The 8-bit numerator of one score (the p8 contract without a softmax
 * quantizer): t = max ((y − m) · c, −10), 2^t by the fit above with FMA,
 * P8 = min (trunc (fma (e, 255, 0.5)), 255). t ≤ −9 gives 0. The AVX-512
 * rows (p8_512) run the same operations. */
static inline int32_t
p8_num (float y, float m, float c)
{
  float t = (y - m) * c;
  t = t > -10.f ? t : -10.f;
  const int32_t n = (int32_t) t;
  const float f = t - (float) n;
  const float p = fmaf (fmaf (fmaf (P8_C3, f, P8_C2), f, P8_C1), f, 1.f);
  uint32_t b;
  memcpy (&b, &p, 4);
  b += (uint32_t) n << 23;
  float e;
  memcpy (&e, &b, 4);
  const int32_t q = (int32_t) fmaf (e, 255.f, 0.5f);
  return q < 255 ? q : 255;
}

static double
row_probs (const RowFns * f, const float *y, int64_t n, float m, float c,
    const SamAttI8Params * p, int16_t * P, void *tmp)
{
  if (p->p8 && p->pkind == SAM_ATT_P_NONE) {
    int64_t sum = 0;
    if (f->p8)
      sum = f->p8 (P, y, n, m, c);
    else
      for (int64_t j = 0; j < n; j++)
        sum += P[j] = (int16_t) p8_num (y[j], m, c);
    return sum > 0 ? 1.0 / (double) sum : 0.0;
  }
  double rho = row_probs15 (f, y, n, m, c, p, P, tmp);
  if (!p->p8 || rho == 0.0)
    return rho;
  int64_t sum = 0;
  for (int64_t j = 0; j < n; j++) {
    P[j] = (int16_t) p8_of (P[j]);
    sum += P[j];
  }
  /* a quantizer's values keep their scale */
  return rho * PONE / 255.0;
}

double
sam_att_i8_row_probs (const float *y, int64_t n, float m, float c,
    const SamAttI8Params * p, int16_t * P, void *tmp)
{
  static const RowFns orc = { p15_orc, esum_orc, agqp_orc, NULL, NULL };
  return row_probs (&orc, y, n, m, c, p, P, tmp);
}

static float
logit_scale (const SamAttI8Params * p, int D)
{
  return (float) ((double) p->sq * p->sk / sqrt ((double) D) *
      1.4426950408889634);
}

/* ------------------------------------------------------------------------ */
/* Oracle */

void
sam_k_attention_i8_ref (const uint8_t * q, int64_t ldq, const uint8_t * k,
    int64_t ldk, const uint8_t * v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv, const SamAttI8Params * p)
{
  if (Nq <= 0)
    return;
  if (Nk <= 0) {
    for (int64_t i = 0; i < Nq; i++)
      memset (out + i * ldo, 0, (size_t) H * Dv * sizeof (float));
    return;
  }
  float *y = g_new (float, Nk);
  int16_t *P = g_new (int16_t, Nk);
  void *tmp = g_malloc ((size_t) Nk * 5);
  int64_t *acc = g_new (int64_t, Dv);
  const float c = logit_scale (p, D);
  for (int h = 0; h < H; h++)
    for (int64_t i = 0; i < Nq; i++) {
      const uint8_t *qi = q + i * ldq + (int64_t) h * D;
      for (int64_t j = 0; j < Nk; j++) {
        const uint8_t *kj = k + j * ldk + (int64_t) h * D;
        int32_t s = 0;
        for (int d = 0; d < D; d++)
          s += ((int32_t) qi[d] - p->zq) * ((int32_t) kj[d] - p->zk);
        y[j] = (float) s;
      }
      float m = -INFINITY;
      for (int64_t j = 0; j < Nk; j++)
        m = y[j] > m ? y[j] : m;
      double rho = sam_att_i8_row_probs (y, Nk, m, c, p, P, tmp);
      memset (acc, 0, (size_t) Dv * sizeof *acc);
      for (int64_t j = 0; j < Nk; j++) {
        const uint8_t *vj = v + j * ldv + (int64_t) h * Dv;
        for (int d = 0; d < Dv; d++)
          acc[d] += (int64_t) P[j] * ((int32_t) vj[d] - p->zv);
      }
      float *o = out + i * ldo + (int64_t) h * Dv;
      for (int d = 0; d < Dv; d++)
        o[d] = (float) ((double) acc[d] * rho * p->sv);
    }
  g_free (y);
  g_free (P);
  g_free (tmp);
  g_free (acc);
}

/* ------------------------------------------------------------------------ */
/* Inner products. QK: Qb [nr4 rows][D4·4] u8 (zero padded), K8 blocks of
 * 16 keys × 4 d ([g][D4][16][4], s8 = k − 128); the epilogue adds the zero-
 * point terms rowc[r] + colc[key] (exact int32), stores the float scores
 * S[r][key] (row stride ldS; whole 16-key groups, the tail past nt lands in
 * the row's padding) and raises rmax[r] over the nt valid keys.
 * PV: P [rows][ldp] s16 (pairs of keys), V16 [pair][Dv16][2] s16,
 * acc[r][Dv16] int32. */

typedef void (*QkFn) (const uint8_t * Qb, int nr4, int D4, const int8_t * K8,
    int ng, int nt, const int32_t * rowc, const int32_t * colc, float *S,
    int64_t ldS, int32_t * rmax, const int8_t * next, int64_t next_bytes,
    uint8_t * dead, int64_t ldd, int64_t far);
typedef void (*PvFn) (const int16_t * P, int64_t ldp, int nr4,
    const int16_t * V16, int npairs, int Dv16, int32_t * acc);
/* The byte-plane P·V (AVX-512 VNNI and AVX-VNNI; see split_p_avx512):
 * SplitFn writes one row's planes and chunk flags and returns Σ P, Pv8Fn
 * does one key tile of a row block. */
typedef int64_t (*SplitFn) (const int16_t * P, int64_t n, uint8_t * Pl,
    uint8_t * Ph, uint8_t * hi);
typedef void (*Pv8Fn) (const uint8_t * Pl, const uint8_t * Ph, int64_t ldp,
    const uint8_t * hi, int64_t ldh, int nr4, const int8_t * V8, int nquads,
    int Dv16, int32_t * acc, bool add);
/* acc[i] += tile[i] for i < n: one key tile's exact int32 P·V sums into
 * the row block's int64 totals (integer adds, so every variant is exact). */
typedef void (*AccFn) (int64_t * acc, const int32_t * tile, int64_t n);

static void
acc_add_c (int64_t * acc, const int32_t * tile, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    acc[i] += tile[i];
}

static void
qk_c (const uint8_t * Qb, int nr4, int D4, const int8_t * K8, int ng, int nt,
    const int32_t * rowc, const int32_t * colc, float *S, int64_t ldS,
    int32_t * rmax, const int8_t * next, int64_t next_bytes, uint8_t * dead,
    int64_t ldd, int64_t far)
{
  (void) next;
  (void) next_bytes;
  g_assert (!dead);
  (void) ldd;
  (void) far;
  for (int r = 0; r < nr4; r++)
    for (int g = 0; g < ng; g++)
      for (int l = 0; l < 16; l++) {
        int32_t s = 0;
        for (int d4 = 0; d4 < D4; d4++) {
          const uint8_t *qq = Qb + (int64_t) r * D4 * 4 + d4 * 4;
          const int8_t *kk = K8 + ((int64_t) g * D4 + d4) * 64 + l * 4;
          for (int t = 0; t < 4; t++)
            s += (int32_t) qq[t] * kk[t];
        }
        int j = g * 16 + l;
        s += rowc[r] + colc[j];
        S[r * ldS + j] = (float) s;
        if (j < nt && s > rmax[r])
          rmax[r] = s;
      }
}

#ifdef SAM_ARM64
/* QKᵀ on the NEON dot product: the key groups are already the GEMM
 * tile's operand ([D4][16 keys][4] s8 k − 128); the query codes go in as
 * q − 128 ([D4][4 rows][4], packed per call), so each score comes back
 * as Σ (q − 128)(k − 128), and colc (pack_k_neondot) carries the
 * 128 Σ (k − 128) that makes it Σ q (k − 128): the integer sums of qk_c,
 * mod 2^32. */
static inline void
qk_neon_with (SamDot4x16Fn dot, const uint8_t * Qb, int nr4, int D4,
    const int8_t * K8, int ng, int nt, const int32_t * rowc,
    const int32_t * colc, float *S, int64_t ldS, int32_t * rmax,
    const int8_t * next, int64_t next_bytes, uint8_t * dead, int64_t ldd,
    int64_t far)
{
  (void) next;
  (void) next_bytes;
  g_assert (!dead);
  (void) ldd;
  (void) far;
  const size_t qbytes = (size_t) nr4 * D4 * 4;
  int8_t stack[32 * 64 * 4] __attribute__((aligned (16)));
  int8_t *qp = qbytes <= sizeof stack ? stack : g_malloc (qbytes);
  for (int r4 = 0; r4 < nr4; r4 += 4)
    for (int d4 = 0; d4 < D4; d4++)
      for (int i = 0; i < 4; i++) {
        uint32_t w;
        memcpy (&w, Qb + (int64_t) (r4 + i) * D4 * 4 + d4 * 4, 4);
        w ^= 0x80808080u;
        memcpy (qp + ((int64_t) r4 * D4 + d4 * 4 + i) * 4, &w, 4);
      }
  int32_t acc[64];
  for (int g = 0; g < ng; g++) {
    const int8_t *kg = K8 + (int64_t) g * D4 * 64;
    for (int r4 = 0; r4 < nr4; r4 += 4) {
      dot (kg, qp + (int64_t) r4 * D4 * 4, D4, acc);
      for (int i = 0; i < 4; i++)
        for (int l = 0; l < 16; l++) {
          const int j = g * 16 + l, r = r4 + i;
          const int32_t s = (int32_t) ((uint32_t) acc[16 * i + l]
              + (uint32_t) rowc[r] + (uint32_t) colc[j]);
          S[r * ldS + j] = (float) s;
          if (j < nt && s > rmax[r])
            rmax[r] = s;
        }
    }
  }
  if (qp != stack)
    g_free (qp);
}

static void
qk_neondot (const uint8_t * Qb, int nr4, int D4, const int8_t * K8, int ng,
    int nt, const int32_t * rowc, const int32_t * colc, float *S,
    int64_t ldS, int32_t * rmax, const int8_t * next, int64_t next_bytes,
    uint8_t * dead, int64_t ldd, int64_t far)
{
  qk_neon_with (sam_k_dot4x16_neondot, Qb, nr4, D4, K8, ng, nt, rowc, colc,
      S, ldS, rmax, next, next_bytes, dead, ldd, far);
}

/* the same without the dot product (the NEON variant's tile) */
static void
qk_neon (const uint8_t * Qb, int nr4, int D4, const int8_t * K8, int ng,
    int nt, const int32_t * rowc, const int32_t * colc, float *S,
    int64_t ldS, int32_t * rmax, const int8_t * next, int64_t next_bytes,
    uint8_t * dead, int64_t ldd, int64_t far)
{
  qk_neon_with (sam_k_dot4x16_neon, Qb, nr4, D4, K8, ng, nt, rowc, colc,
      S, ldS, rmax, next, next_bytes, dead, ldd, far);
}

/* P·V on the s16 pairs with NEON multiply-accumulate (vmlal: s16 × s16
 * into int32 lanes, the exact sums of pv_c): 4 rows × 16 dimensions, V's
 * pair interleave undone by vld2q. A group of 16 keys whose P is 0 on all
 * four rows adds nothing and is skipped (the same sums): keys far below a
 * row's maximum have P = 0, and neighbouring queries share most of them
 * (the x86 P·V skips its chunks by the same reasoning, pv8). */
static void
pv_neon (const int16_t * P, int64_t ldp, int nr4, const int16_t * V16,
    int npairs, int Dv16, int32_t * acc)
{
  const int ngrp = (npairs + 7) / 8;
  uint8_t live[KT / 16];
  g_assert (ngrp <= KT / 16);
  for (int r = 0; r < nr4; r += 4) {
    for (int g = 0; g < ngrp; g++) {
      if (8 * g + 8 > npairs) {
        live[g] = 1;
        continue;
      }
      int16x8_t o = vdupq_n_s16 (0);
      for (int i = 0; i < 4; i++) {
        const int16_t *pp = P + (r + i) * ldp + 16 * g;
        o = vorrq_s16 (o, vorrq_s16 (vld1q_s16 (pp), vld1q_s16 (pp + 8)));
      }
      live[g] = vmaxvq_u16 (vreinterpretq_u16_s16 (o)) != 0;
    }
    for (int v = 0; v < Dv16; v += 16) {
      int32x4_t a[4][4];
      for (int i = 0; i < 4; i++)
        for (int q = 0; q < 4; q++)
          a[i][q] = vdupq_n_s32 (0);
      for (int g = 0; g < ngrp; g++) {
        if (!live[g])
          continue;
        const int pe = MIN (npairs, 8 * g + 8);
        for (int pr = 8 * g; pr < pe; pr++) {
          const int16_t *vp = V16 + ((int64_t) pr * Dv16 + v) * 2;
          const int16x8x2_t lo = vld2q_s16 (vp), hi = vld2q_s16 (vp + 16);
          for (int i = 0; i < 4; i++) {
            const int16_t *pp = P + (r + i) * ldp + 2 * pr;
            const int16_t p0 = pp[0], p1 = pp[1];
            a[i][0] = vmlal_n_s16 (a[i][0], vget_low_s16 (lo.val[0]), p0);
            a[i][0] = vmlal_n_s16 (a[i][0], vget_low_s16 (lo.val[1]), p1);
            a[i][1] = vmlal_n_s16 (a[i][1], vget_high_s16 (lo.val[0]), p0);
            a[i][1] = vmlal_n_s16 (a[i][1], vget_high_s16 (lo.val[1]), p1);
            a[i][2] = vmlal_n_s16 (a[i][2], vget_low_s16 (hi.val[0]), p0);
            a[i][2] = vmlal_n_s16 (a[i][2], vget_low_s16 (hi.val[1]), p1);
            a[i][3] = vmlal_n_s16 (a[i][3], vget_high_s16 (hi.val[0]), p0);
            a[i][3] = vmlal_n_s16 (a[i][3], vget_high_s16 (hi.val[1]), p1);
          }
        }
      }
      for (int i = 0; i < 4; i++)
        for (int q = 0; q < 4; q++)
          vst1q_s32 (acc + (int64_t) (r + i) * Dv16 + v + 4 * q, a[i][q]);
    }
  }
}
#endif

static void
pv_c (const int16_t * P, int64_t ldp, int nr4, const int16_t * V16,
    int npairs, int Dv16, int32_t * acc)
{
  for (int r = 0; r < nr4; r++)
    for (int d = 0; d < Dv16; d++) {
      int32_t s = 0;
      for (int pr = 0; pr < npairs; pr++) {
        const int16_t *vv = V16 + ((int64_t) pr * Dv16 + d) * 2;
        s += (int32_t) P[r * ldp + 2 * pr] * vv[0]
            + (int32_t) P[r * ldp + 2 * pr + 1] * vv[1];
      }
      acc[(int64_t) r * Dv16 + d] = s;
    }
}

/* bit patterns of the sam_orc_exp2_sub_f32 polynomial (requant.c) */
#define C_P5 0x3a75ec0a
#define C_P4 0x3c168490
#define C_P3 0x3d626b54
#define C_P2 0x3e75ef8b
#define C_P1 0x3f3171c4

#ifdef SAM_ARM64
/* ---- aarch64: a row's P in NEON. The 8-bit P ran p8_num one score at a
 * time (GCC kept its fmaf loop scalar); the 15-bit P ran requant.c's NEON
 * form of the ORC kernel on every score. Both now skip the polynomial on
 * groups of 16 that are all P = 0, as the x86 rows do (on a trained
 * model's long rows most are). The same operations in the same order as
 * p15_avx2 and p8_256, so the same bits: no FMA in p15 (as the ORC
 * kernel), FMA in p8 (as p8_num's fmaf), truncating conversions (fcvtzs)
 * both. ---- */
#define NEON_C(b) vreinterpretq_f32_u32 (vdupq_n_u32 (b))

/* the 15-bit numerators of 4 scores already at t = (y − m) · c */
static inline int32x4_t
p15_q_neon (float32x4_t t)
{
  t = vmaxq_f32 (t, vdupq_n_f32 (-125.f));
  const int32x4_t ni = vcvtq_s32_f32 (t);
  const float32x4_t f = vsubq_f32 (t, vcvtq_f32_s32 (ni));
  float32x4_t p = vaddq_f32 (vmulq_f32 (f, NEON_C (C_P5)), NEON_C (C_P4));
  p = vaddq_f32 (vmulq_f32 (p, f), NEON_C (C_P3));
  p = vaddq_f32 (vmulq_f32 (p, f), NEON_C (C_P2));
  p = vaddq_f32 (vmulq_f32 (p, f), NEON_C (C_P1));
  p = vaddq_f32 (vmulq_f32 (p, f), vdupq_n_f32 (1.f));
  p = vreinterpretq_f32_s32 (vaddq_s32 (vreinterpretq_s32_f32 (p),
          vshlq_n_s32 (ni, 23)));
  return vcvtq_s32_f32 (vaddq_f32 (vmulq_f32 (p, vdupq_n_f32 (32767.f)),
          vdupq_n_f32 (0.5f)));
}

/* p8_num on 4 scores already at t = (y − m) · c */
static inline int32x4_t
p8_q_neon (float32x4_t t)
{
  t = vmaxq_f32 (t, vdupq_n_f32 (-10.f));
  const int32x4_t ni = vcvtq_s32_f32 (t);
  const float32x4_t f = vsubq_f32 (t, vcvtq_f32_s32 (ni));
  float32x4_t p = vfmaq_f32 (vdupq_n_f32 (P8_C2), vdupq_n_f32 (P8_C3), f);
  p = vfmaq_f32 (vdupq_n_f32 (P8_C1), p, f);
  p = vfmaq_f32 (vdupq_n_f32 (1.f), p, f);
  const float32x4_t e = vreinterpretq_f32_s32 (vaddq_s32
      (vreinterpretq_s32_f32 (p), vshlq_n_s32 (ni, 23)));
  const int32x4_t q = vcvtq_s32_f32 (vfmaq_f32 (vdupq_n_f32 (0.5f), e,
          vdupq_n_f32 (255.f)));
  return vminq_s32 (q, vdupq_n_s32 (255));
}

/* A row of P, 16 scores at a time; a group whose t all lie at or below
 * zlim (−16 for P15, −9 for P8: P = 0 there, see p15_16 and p8_num) skips
 * the polynomial. Returns Σ P. */
static inline int64_t
p_row_neon (int16_t * P, const float *y, int64_t n, float m, float c,
    bool p8)
{
  const float32x4_t vm = vdupq_n_f32 (m), vc = vdupq_n_f32 (c);
  const float32x4_t zlim = vdupq_n_f32 (p8 ? -9.f : -16.f);
  int32x4_t sum = vdupq_n_s32 (0);
  int64_t j = 0, total = 0;
  for (; j + 16 <= n; j += 16) {
    float32x4_t t[4];
    uint32x4_t live = vdupq_n_u32 (0);
    for (int v = 0; v < 4; v++) {
      t[v] = vmulq_f32 (vsubq_f32 (vld1q_f32 (y + j + 4 * v), vm), vc);
      live = vorrq_u32 (live, vcgtq_f32 (t[v], zlim));
    }
    if (!vmaxvq_u32 (live)) {
      vst1q_s16 (P + j, vdupq_n_s16 (0));
      vst1q_s16 (P + j + 8, vdupq_n_s16 (0));
      continue;
    }
    int32x4_t q[4];
    for (int v = 0; v < 4; v++) {
      q[v] = p8 ? p8_q_neon (t[v]) : p15_q_neon (t[v]);
      sum = vaddq_s32 (sum, q[v]);
    }
    /* P ≤ 32767: the narrowing keeps every value (ORC's convlw) */
    vst1q_s16 (P + j, vcombine_s16 (vmovn_s32 (q[0]), vmovn_s32 (q[1])));
    vst1q_s16 (P + j + 8, vcombine_s16 (vmovn_s32 (q[2]),
            vmovn_s32 (q[3])));
    /* ≤ 4 · 32767 per lane and group: flush long before 2^31 */
    if ((j & 65535) == 65520) {
      total += vaddlvq_s32 (sum);
      sum = vdupq_n_s32 (0);
    }
  }
  total += vaddlvq_s32 (sum);
  if (j < n) {
    if (p8)
      for (; j < n; j++)
        total += P[j] = (int16_t) p8_num (y[j], m, c);
    else
      total += sam_exp2_p15_f32_s16_ref (P + j, y + j, m, c, (int) (n - j));
  }
  return total;
}

static int64_t
p15_neon (int16_t * P, const float *y, int64_t n, float m, float c)
{
  return p_row_neon (P, y, n, m, c, false);
}

static int64_t
p8_neon (int16_t * P, const float *y, int64_t n, float m, float c)
{
  return p_row_neon (P, y, n, m, c, true);
}
#undef NEON_C
#endif

#ifdef SAM_X86
/* ---- AVX-512 VNNI: 4 rows × up to 4 zmm of keys / output dims ---- */

/* acc += dot: GCC (12) turns each _mm512_dpbusd_epi32 on a loop-carried
 * accumulator into a vmovdqa copy plus the instruction (as in gemm-i8.c);
 * the tied "+v" operand keeps the accumulators in place. */
#define DPBUSD512(acc, x, w) \
  __asm__ ("vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (x), "v" (w))

/* 4 rows × GN (1..4) groups of 16 keys: S[r][key] = q_r · k + rowc + colc.
 * Named accumulators (a<row><group>): with arrays of vectors GCC copies
 * (intrinsics) or spills (asm) every accumulator per step. GN is a
 * constant at every call, so the unused ones fold away. */
#define ROWS4(X) X(0) X(1) X(2) X(3)
ALWAYS_INLINE T_AVX512 void
qk512_tile (const uint8_t * Qb, int D4, const int8_t * K8, int g0, int nt,
    const int32_t * rowc, const int32_t * colc, float *S, int64_t ldS,
    int32_t * rmax, const int8_t * pf, int npf, uint8_t * dead, int64_t ldd,
    int64_t far, const int GN)
{
  /* The accumulators start at rowc + colc, not 0: vpdpbusd wraps, so the
   * int32 sums are the same, and the epilogue's two adds per vector
   * (32 per tile) become 16 here. colc has a whole group past nt. */
  const __m512i c0 = _mm512_loadu_si512 (colc + g0 * 16);
  const __m512i c1 = GN > 1 ? _mm512_loadu_si512 (colc + g0 * 16 + 16) : c0;
  const __m512i c2 = GN > 2 ? _mm512_loadu_si512 (colc + g0 * 16 + 32) : c0;
  const __m512i c3 = GN > 3 ? _mm512_loadu_si512 (colc + g0 * 16 + 48) : c0;
#define DECL(r) const __m512i rc##r = _mm512_set1_epi32 (rowc[r]); \
  __m512i a##r##0 = _mm512_add_epi32 (rc##r, c0), \
      a##r##1 = GN > 1 ? _mm512_add_epi32 (rc##r, c1) : a##r##0, \
      a##r##2 = GN > 2 ? _mm512_add_epi32 (rc##r, c2) : a##r##0, \
      a##r##3 = GN > 3 ? _mm512_add_epi32 (rc##r, c3) : a##r##0;
  ROWS4 (DECL)
#undef DECL
  const int64_t gs = (int64_t) D4 * 64;
  __m512i k0 = _mm512_setzero_si512 (), k1 = k0, k2 = k0, k3 = k0;
  for (int d4 = 0; d4 < D4; d4++) {
    const int8_t *kp = K8 + (int64_t) d4 *64;
    if (d4 < npf)
      _mm_prefetch ((const char *) pf + d4 * 64, _MM_HINT_T0);
    k0 = _mm512_load_si512 (kp);
    if (GN > 1)
      k1 = _mm512_load_si512 (kp + gs);
    if (GN > 2)
      k2 = _mm512_load_si512 (kp + 2 * gs);
    if (GN > 3)
      k3 = _mm512_load_si512 (kp + 3 * gs);
#define ROW(r) { \
      int32_t w; \
      memcpy (&w, Qb + (int64_t) r * D4 * 4 + d4 * 4, 4); \
      const __m512i qb = _mm512_set1_epi32 (w); \
      DPBUSD512 (a##r##0, qb, k0); \
      if (GN > 1) DPBUSD512 (a##r##1, qb, k1); \
      if (GN > 2) DPBUSD512 (a##r##2, qb, k2); \
      if (GN > 3) DPBUSD512 (a##r##3, qb, k3); }
    ROWS4 (ROW)
#undef ROW
  }
  const __m512i acc[4][4] = {
    {a00, a01, a02, a03}, {a10, a11, a12, a13},
    {a20, a21, a22, a23}, {a30, a31, a32, a33}
  };
  for (int r = 0; r < 4; r++) {
    __m512i mx = _mm512_set1_epi32 (INT32_MIN);
    for (int g = 0; g < GN; g++) {
      int lim = nt - (g0 + g) * 16;
      __mmask16 k = lim >= 16 ? 0xffff : (__mmask16) ((1u << lim) - 1);
      mx = _mm512_mask_max_epi32 (mx, k, mx, acc[r][g]);
    }
    /* dead: these (≤ 64) keys lie ≥ far below a score already seen in the
     * row, so below its final maximum: P = 0 on all of them, and
     * p15_planes_avx512 skips them. The scores are stored either way: a
     * branch on the flag mispredicted wherever a row's live and dead
     * chunks mix (random codes: 18 % of Hiera's global attention), and
     * where they do not, the stores cost nothing measurable. */
    const int32_t rm = rmax[r];
    if (dead)
      dead[r * ldd + g0 / 4] = rm != INT32_MIN
          && !_mm512_cmpgt_epi32_mask (mx,
          _mm512_set1_epi32 ((int32_t) MAX (rm - far, INT32_MIN)));
    for (int g = 0; g < GN; g++)
      _mm512_storeu_ps (S + r * ldS + (g0 + g) * 16,
          _mm512_cvtepi32_ps (acc[r][g]));
    /* the horizontal maximum only where the row's maximum grows: after
     * the first tiles of a row it rarely does */
    if (_mm512_cmpgt_epi32_mask (mx, _mm512_set1_epi32 (rm)))
      rmax[r] = _mm512_reduce_max_epi32 (mx);
  }
}

T_AVX512 static void
qk_avx512 (const uint8_t * Qb, int nr4, int D4, const int8_t * K8, int ng,
    int nt, const int32_t * rowc, const int32_t * colc, float *S,
    int64_t ldS, int32_t * rmax, const int8_t * next, int64_t nbytes,
    uint8_t * dead, int64_t ldd, int64_t far)
{
  /* Prefetch the next key tile's lines, spread over this tile's row
   * groups: with the keys streaming from L3 (7.4 MB per head for the
   * cross-attention at input 1024) the first row group of each tile
   * otherwise waits on them; the hardware prefetchers do not follow the
   * tile's four 4 KB-strided group streams far enough. Single-thread
   * microbenchmark, 32 rows × 28,736 keys × D 256: 294 → 360 G MAC/s. */
  const int ncalls = (nr4 / 4) * ((ng + 3) / 4);
  const int64_t nlines = (nbytes + 63) / 64;
  const int per = (int) ((nlines + ncalls - 1) / ncalls);
  int call = 0;
  for (int r = 0; r < nr4; r += 4)
    for (int g = 0; g < ng; g += 4, call++) {
      const uint8_t *qr = Qb + (int64_t) r * D4 * 4;
      const int8_t *kg = K8 + (int64_t) g * D4 * 64;
      float *Sr = S + r * ldS;
      int64_t l0 = (int64_t) call * per;
      const int8_t *pf = next ? next + l0 * 64 : NULL;
      int npf = next ? (int) MAX (0, MIN (per, nlines - l0)) : 0;
      switch (ng - g >= 4 ? 4 : ng - g) {
        case 4:
          qk512_tile (qr, D4, kg, g, nt, rowc + r, colc, Sr, ldS, rmax + r, pf, npf,
              dead ? dead + r * ldd : NULL, ldd, far, 4);
          break;
        case 3:
          qk512_tile (qr, D4, kg, g, nt, rowc + r, colc, Sr, ldS, rmax + r, pf, npf,
              dead ? dead + r * ldd : NULL, ldd, far, 3);
          break;
        case 2:
          qk512_tile (qr, D4, kg, g, nt, rowc + r, colc, Sr, ldS, rmax + r, pf, npf,
              dead ? dead + r * ldd : NULL, ldd, far, 2);
          break;
        default:
          qk512_tile (qr, D4, kg, g, nt, rowc + r, colc, Sr, ldS, rmax + r, pf, npf,
              dead ? dead + r * ldd : NULL, ldd, far, 1);
      }
    }
}

#endif /* SAM_X86 */

/* One output row: o[d] = (float) ((double) acc[d] · ρ · sv). The int64
 * sums are below 2^53, so the conversion is exact, then the same two
 * double products and the same rounding to float as the scalar loop. */
typedef void (*Out32Fn) (float *o, const int32_t * tile, int Dv,
    double rho, float sv, int64_t t);
typedef void (*OutFn) (float *o, const int64_t * acc, int Dv, double rho,
    float sv, int64_t t);

/* One pair of V rows (v1 NULL past Nk) into the s16 pair layout of pv:
 * out[2 d + t] = v_t[d] − zv for d < Dv, zeros up to Dv16. */
typedef void (*PackV2Fn) (const uint8_t * v0, const uint8_t * v1, int Dv,
    int Dv16, int32_t zv, int16_t * out);

static void
pack_v_pair_c (const uint8_t * v0, const uint8_t * v1, int Dv, int Dv16,
    int32_t zv, int16_t * out)
{
  memset (out, 0, (size_t) Dv16 * 2 * sizeof *out);
  for (int d = 0; d < Dv; d++) {
    out[2 * d] = (int16_t) ((int32_t) v0[d] - zv);
    if (v1)
      out[2 * d + 1] = (int16_t) ((int32_t) v1[d] - zv);
  }
}

#ifdef SAM_X86
/* pack_v_pair_c 16 dimensions at a time: widen, subtract, interleave the
 * two rows (unpack works per 128-bit lane, so the lanes are put back in
 * order after); the tail in scalar */
T_AVX2 static void
pack_v_pair_avx2 (const uint8_t * v0, const uint8_t * v1, int Dv, int Dv16,
    int32_t zv, int16_t * out)
{
  const __m256i z = _mm256_set1_epi16 ((int16_t) zv);
  int d = 0;
  for (; d + 16 <= Dv; d += 16) {
    __m256i a = _mm256_sub_epi16 (_mm256_cvtepu8_epi16 (_mm_loadu_si128
            ((const __m128i *) (v0 + d))), z);
    __m256i b = v1 ? _mm256_sub_epi16 (_mm256_cvtepu8_epi16 (_mm_loadu_si128
            ((const __m128i *) (v1 + d))), z) : _mm256_setzero_si256 ();
    __m256i lo = _mm256_unpacklo_epi16 (a, b), hi = _mm256_unpackhi_epi16 (a,
        b);
    _mm256_storeu_si256 ((__m256i *) (out + 2 * d),
        _mm256_permute2x128_si256 (lo, hi, 0x20));
    _mm256_storeu_si256 ((__m256i *) (out + 2 * d + 16),
        _mm256_permute2x128_si256 (lo, hi, 0x31));
  }
  for (; d < Dv16; d++) {
    out[2 * d] = d < Dv ? (int16_t) ((int32_t) v0[d] - zv) : 0;
    out[2 * d + 1] = d < Dv && v1 ? (int16_t) ((int32_t) v1[d] - zv) : 0;
  }
}
#endif

/* 16 keys' rows (NULL past Nk) of D codes into one group of the K layout
 * [D4][16 keys][4] as s8 k − 128 (zeros past D and for absent keys), and
 * their column terms colc[l] = −zq Σ_d k (0 for absent keys). */
typedef void (*PackKFn) (const uint8_t * const *rows, int D, int32_t zq,
    int8_t * kb, int32_t * colc);

/* Both forms take the (128 − zv) Σ P term t (0 where V was not shifted)
 * and add it as int64 before the conversion. */
static void
out_row_c (float *o, const int64_t * acc, int Dv, double rho, float sv,
    int64_t t)
{
  for (int d = 0; d < Dv; d++)
    o[d] = (float) ((double) (acc[d] + t) * rho * sv);
}

/* The same from int32 P·V sums: the int64 acc[d] = tile[d] of the path
 * with totals, without making it */
static void
out_row32_c (float *o, const int32_t * tile, int Dv, double rho, float sv,
    int64_t t)
{
  for (int d = 0; d < Dv; d++)
    o[d] = (float) ((double) ((int64_t) tile[d] + t) * rho * sv);
}

#ifdef SAM_X86
T_AVX512 static void
out_row32_avx512 (float *o, const int32_t * tile, int Dv, double rho,
    float sv, int64_t t)
{
  const __m512d r = _mm512_set1_pd (rho), s = _mm512_set1_pd ((double) sv);
  const __m512i tt = _mm512_set1_epi64 (t);
  int d = 0;
  for (; d + 8 <= Dv; d += 8) {
    __m512i a = _mm512_add_epi64 (_mm512_cvtepi32_epi64 (_mm256_loadu_si256
            ((const __m256i *) (tile + d))), tt);
    _mm256_storeu_ps (o + d, _mm512_cvtpd_ps (_mm512_mul_pd (_mm512_mul_pd
                (_mm512_cvtepi64_pd (a), r), s)));
  }
  out_row32_c (o + d, tile + d, Dv - d, rho, sv, t);
}

T_AVX512 static void
out_row_avx512 (float *o, const int64_t * acc, int Dv, double rho, float sv,
    int64_t t)
{
  const __m512d r = _mm512_set1_pd (rho), s = _mm512_set1_pd ((double) sv);
  const __m512i tt = _mm512_set1_epi64 (t);
  int d = 0;
  for (; d + 8 <= Dv; d += 8)
    _mm256_storeu_ps (o + d, _mm512_cvtpd_ps (_mm512_mul_pd (_mm512_mul_pd
                (_mm512_cvtepi64_pd (_mm512_add_epi64 (_mm512_loadu_si512
                            (acc + d), tt)), r), s)));
  out_row_c (o + d, acc + d, Dv - d, rho, sv, t);
}

/* AVX2 has no int64 → double conversion. out_row32: int32 → double is
 * exact, and so is adding t as a double while |t| < 2^52 (then |tile + t|
 * < 2^53 and the sum of two exact doubles is exact), so (double) (tile +
 * t) is the same value; the two products and the conversion to float are
 * the scalar loop's. A t out of that range takes the scalar loop. */
T_AVX2 static void
out_row32_avx2 (float *o, const int32_t * tile, int Dv, double rho, float sv,
    int64_t t)
{
  int d = 0;
  if (t > -(INT64_C (1) << 52) && t < (INT64_C (1) << 52)) {
    const __m256d r = _mm256_set1_pd (rho), s = _mm256_set1_pd ((double) sv);
    const __m256d tt = _mm256_set1_pd ((double) t);
    for (; d + 4 <= Dv; d += 4) {
      __m256d a = _mm256_add_pd (_mm256_cvtepi32_pd (_mm_loadu_si128
              ((const __m128i *) (tile + d))), tt);
      _mm_storeu_ps (o + d, _mm256_cvtpd_ps (_mm256_mul_pd (_mm256_mul_pd (a,
                      r), s)));
    }
  }
  out_row32_c (o + d, tile + d, Dv - d, rho, sv, t);
}

/* out_row from int64 sums: x = acc + t converted by the 2^52 + 2^51 bias
 * (exact for |x| < 2^51); four values at a time while all four are in
 * range, else the scalar loop from there on. */
T_AVX2 static void
out_row_avx2 (float *o, const int64_t * acc, int Dv, double rho, float sv,
    int64_t t)
{
  const __m256d r = _mm256_set1_pd (rho), s = _mm256_set1_pd ((double) sv);
  const __m256i tt = _mm256_set1_epi64x (t);
  const __m256i lim = _mm256_set1_epi64x (INT64_C (1) << 51);
  const __m256i nlim = _mm256_set1_epi64x (-(INT64_C (1) << 51));
  const __m256i magic = _mm256_set1_epi64x (0x4338000000000000);
  const __m256d magic_d = _mm256_castsi256_pd (magic);
  int d = 0;
  for (; d + 4 <= Dv; d += 4) {
    __m256i x = _mm256_add_epi64 (_mm256_loadu_si256 ((const __m256i *) (acc
                + d)), tt);
    __m256i out = _mm256_or_si256 (_mm256_cmpgt_epi64 (x, lim),
        _mm256_cmpgt_epi64 (nlim, x));
    if (!_mm256_testz_si256 (out, out))
      break;
    __m256d a = _mm256_sub_pd (_mm256_castsi256_pd (_mm256_add_epi64 (x,
                magic)), magic_d);
    _mm_storeu_ps (o + d, _mm256_cvtpd_ps (_mm256_mul_pd (_mm256_mul_pd (a,
                    r), s)));
  }
  out_row_c (o + d, acc + d, Dv - d, rho, sv, t);
}

T_AVX512 static void
acc_add_avx512 (int64_t * acc, const int32_t * tile, int64_t n)
{
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i t = _mm512_loadu_si512 (tile + i);
    __m512i lo = _mm512_cvtepi32_epi64 (_mm512_castsi512_si256 (t));
    __m512i hi = _mm512_cvtepi32_epi64 (_mm512_extracti64x4_epi64 (t, 1));
    _mm512_storeu_si512 (acc + i,
        _mm512_add_epi64 (_mm512_loadu_si512 (acc + i), lo));
    _mm512_storeu_si512 (acc + i + 8,
        _mm512_add_epi64 (_mm512_loadu_si512 (acc + i + 8), hi));
  }
  acc_add_c (acc + i, tile + i, n - i);
}

#endif /* SAM_X86 */

/* ---- AVX-512 VNNI P·V on byte planes of P ----
 * P (15 bits) = 256 · Ph + Pl with Pl, Ph bytes, and v − zv = (v − 128) +
 * (128 − zv) with V8 = v − 128 in s8, so exactly
 *   Σ P (v − zv) = 256 · Σ Ph · V8 + Σ Pl · V8 + (128 − zv) · Σ P,
 * the first two by vpdpbusd (4 keys per lane and instruction, twice the
 * keys of vpdpwssd). A trained model's long memory rows are peaked: on the
 * proxy's cross-attention 84 % (input 1024) to 100 % (512) of the (4 rows
 * × 64 keys) chunks have every P < 256, i.e. Ph = 0, and their Ph pass is
 * skipped; a chunk with some
 * Ph ≠ 0 costs what vpdpwssd did. Tile sums: |Σ Pl V8| ≤ 256·255·128 and
 * |256 Σ Ph V8| ≤ 256·256·127·128 over one 256-key tile, < 2^31. */

#define PCH 64                  /* keys per chunk of the plane flags */
/* chunk flags: some P ≠ 0 (Pl pass needed), some P ≥ 256 (Ph pass) */
#define FL_NZ 1
#define FL_HI 2

#ifdef SAM_X86

/* Pl, Ph planes of one row of P (n a multiple of 64; all of it, padding
 * included) and the flags of its chunks, hi[chunk] = FL_NZ if some P of the
 * chunk ≠ 0, | FL_HI if some Ph ≠ 0 (far keys have P = 0: on the proxy's
 * cross-attention 63 % of the 4 rows × 64 keys chunks at 1024, so both
 * passes skip them); returns Σ P. */
T_AVX512 static int64_t
split_p_avx512 (const int16_t * P, int64_t n, uint8_t * Pl, uint8_t * Ph,
    uint8_t * hi)
{
  const __m512i ones = _mm512_set1_epi16 (1), lo8 = _mm512_set1_epi16 (0xff);
  __m512i sum = _mm512_setzero_si512 ();
  int64_t total = 0;
  for (int64_t j = 0; j < n; j += PCH) {
    __m512i a = _mm512_loadu_si512 (P + j);
    __m512i b = _mm512_loadu_si512 (P + j + 32);
    _mm256_storeu_si256 ((__m256i *) (Pl + j),
        _mm512_cvtepi16_epi8 (_mm512_and_si512 (a, lo8)));
    _mm256_storeu_si256 ((__m256i *) (Pl + j + 32),
        _mm512_cvtepi16_epi8 (_mm512_and_si512 (b, lo8)));
    __m512i ha = _mm512_srli_epi16 (a, 8), hb = _mm512_srli_epi16 (b, 8);
    _mm256_storeu_si256 ((__m256i *) (Ph + j), _mm512_cvtepi16_epi8 (ha));
    _mm256_storeu_si256 ((__m256i *) (Ph + j + 32),
        _mm512_cvtepi16_epi8 (hb));
    const __m512i ab = _mm512_or_si512 (a, b), hab = _mm512_or_si512 (ha, hb);
    hi[j / PCH] = (_mm512_test_epi16_mask (ab, ab) ? FL_NZ : 0)
        | (_mm512_test_epi16_mask (hab, hab) ? FL_HI : 0);
    /* pairs of P ≤ 65534 per lane and step: flush before 2^31 */
    sum = _mm512_add_epi32 (sum, _mm512_add_epi32 (_mm512_madd_epi16 (a,
                ones), _mm512_madd_epi16 (b, ones)));
    if ((j / PCH) % 8192 == 8191) {
      total += _mm512_reduce_add_epi32 (sum);
      sum = _mm512_setzero_si512 ();
    }
  }
  return total + _mm512_reduce_add_epi32 (sum);
}

/* 4 rows × VN zmm of output dims over the quads [q0, q1): acc += Σ B · V8
 * with B the byte plane (row stride ldp) */
#define PV8_DECL(r) __m512i a##r##0 = _mm512_setzero_si512 (), \
      a##r##1 = a##r##0, a##r##2 = a##r##0, a##r##3 = a##r##0, \
      a##r##4 = a##r##0, a##r##5 = a##r##0;
#define PV8_LOOP(B, q0, q1) \
  for (int qd = (q0); qd < (q1); qd++) { \
    const int qo = 4 * (qd - (q0)); \
    const int8_t *vp = V8 + (int64_t) qd * Dv16 * 4; \
    __m512i v0 = _mm512_loadu_si512 (vp), v1 = v0, v2 = v0, v3 = v0, \
        v4 = v0, v5 = v0; \
    if (VN > 1) v1 = _mm512_loadu_si512 (vp + 64); \
    if (VN > 2) v2 = _mm512_loadu_si512 (vp + 128); \
    if (VN > 3) v3 = _mm512_loadu_si512 (vp + 192); \
    if (VN > 4) v4 = _mm512_loadu_si512 (vp + 256); \
    if (VN > 5) v5 = _mm512_loadu_si512 (vp + 320); \
    PV8_ROW (B, 0) PV8_ROW (B, 1) PV8_ROW (B, 2) PV8_ROW (B, 3) \
  }
#define PV8_ROW(B, r) { \
    int32_t w; \
    memcpy (&w, B[r] + qo, 4); \
    const __m512i pb = _mm512_set1_epi32 (w); \
    DPBUSD512 (a##r##0, pb, v0); \
    if (VN > 1) DPBUSD512 (a##r##1, pb, v1); \
    if (VN > 2) DPBUSD512 (a##r##2, pb, v2); \
    if (VN > 3) DPBUSD512 (a##r##3, pb, v3); \
    if (VN > 4) DPBUSD512 (a##r##4, pb, v4); \
    if (VN > 5) DPBUSD512 (a##r##5, pb, v5); }

/* The bytes a row reads for a chunk whose plane is all 0. */
static const uint8_t zero_chunk[PCH] __attribute__((aligned (64)));

/* tile[r][·] = Σ Pl V8 + 256 Σ Ph V8 over nquads quads, each plane only
 * on the chunks whose flag is set for one of the 4 rows, and read only
 * from the rows whose flag is set */
ALWAYS_INLINE T_AVX512 void
pv8_tile (const uint8_t * Pl, const uint8_t * Ph, int64_t ldp,
    const uint8_t * hi, int64_t ldh, const int8_t * V8, int nquads,
    int Dv16, int32_t * acc, bool add, const int VN)
{
  {
    ROWS4 (PV8_DECL)
    for (int q0 = 0; q0 < nquads; q0 += PCH / 4) {
      int ch = q0 / (PCH / 4);
      if (!((hi[ch] | hi[ldh + ch] | hi[2 * ldh + ch] | hi[3 * ldh + ch])
              & FL_NZ))
        continue;
      /* a row whose chunk is all 0 reads zeros: its plane bytes there
       * need not have been written (p15_planes_avx512) */
      const uint8_t *B[4];
      for (int r = 0; r < 4; r++)
        B[r] = hi[r * ldh + ch] & FL_NZ ? Pl + r * ldp + 4 * q0 : zero_chunk;
      PV8_LOOP (B, q0, MIN (q0 + PCH / 4, nquads))
    }
#define ST1(o, a) _mm512_storeu_si512 (o, add ? _mm512_add_epi32 ( \
          _mm512_loadu_si512 (o), a) : a)
#define STORE(r) { \
      int32_t *o = acc + (int64_t) r * Dv16; \
      ST1 (o, a##r##0); \
      if (VN > 1) ST1 (o + 16, a##r##1); \
      if (VN > 2) ST1 (o + 32, a##r##2); \
      if (VN > 3) ST1 (o + 48, a##r##3); \
      if (VN > 4) ST1 (o + 64, a##r##4); \
      if (VN > 5) ST1 (o + 80, a##r##5); }
    ROWS4 (STORE)
#undef STORE
#undef ST1
  }
  ROWS4 (PV8_DECL)
  bool any = false;
  for (int q0 = 0; q0 < nquads; q0 += PCH / 4) {
    int ch = q0 / (PCH / 4);
    if (!((hi[ch] | hi[ldh + ch] | hi[2 * ldh + ch] | hi[3 * ldh + ch])
            & FL_HI))
      continue;
    any = true;
    const uint8_t *B[4];
    for (int r = 0; r < 4; r++)
      B[r] = hi[r * ldh + ch] & FL_HI ? Ph + r * ldp + 4 * q0 : zero_chunk;
    PV8_LOOP (B, q0, MIN (q0 + PCH / 4, nquads))
  }
  if (!any)
    return;
#define ADDHI(r) { \
    int32_t *o = acc + (int64_t) r * Dv16; \
    _mm512_storeu_si512 (o, _mm512_add_epi32 (_mm512_loadu_si512 (o), \
            _mm512_slli_epi32 (a##r##0, 8))); \
    if (VN > 1) _mm512_storeu_si512 (o + 16, _mm512_add_epi32 ( \
            _mm512_loadu_si512 (o + 16), _mm512_slli_epi32 (a##r##1, 8))); \
    if (VN > 2) _mm512_storeu_si512 (o + 32, _mm512_add_epi32 ( \
            _mm512_loadu_si512 (o + 32), _mm512_slli_epi32 (a##r##2, 8))); \
    if (VN > 3) _mm512_storeu_si512 (o + 48, _mm512_add_epi32 ( \
            _mm512_loadu_si512 (o + 48), _mm512_slli_epi32 (a##r##3, 8))); \
    if (VN > 4) _mm512_storeu_si512 (o + 64, _mm512_add_epi32 ( \
            _mm512_loadu_si512 (o + 64), _mm512_slli_epi32 (a##r##4, 8))); \
    if (VN > 5) _mm512_storeu_si512 (o + 80, _mm512_add_epi32 ( \
            _mm512_loadu_si512 (o + 80), _mm512_slli_epi32 (a##r##5, 8))); }
  ROWS4 (ADDHI)
#undef ADDHI
}
#undef PV8_DECL
#undef PV8_LOOP
#undef PV8_ROW

/* One key tile of a row block: rows in groups of 4, hi flags [row][chunk]
 * with row stride ldh (the tile's first chunk at hi); add: onto acc. */
T_AVX512 static void
pv8_avx512 (const uint8_t * Pl, const uint8_t * Ph, int64_t ldp,
    const uint8_t * hi, int64_t ldh, int nr4, const int8_t * V8, int nquads,
    int Dv16, int32_t * acc, bool add)
{
  const int NV = Dv16 / 16;
  const int W = NV == 6 ? 6 : NV % 4 != 0 && NV % 3 == 0 ? 3 : 4;
  for (int r = 0; r < nr4; r += 4)
    for (int v = 0; v < NV; v += W) {
      const uint8_t *pl = Pl + r * ldp, *ph = Ph + r * ldp;
      const uint8_t *hr = hi + r * ldh;
      const int8_t *vv = V8 + v * 64;
      int32_t *o = acc + (int64_t) r * Dv16 + v * 16;
      switch (NV - v >= W ? W : NV - v) {
        case 6:
          pv8_tile (pl, ph, ldp, hr, ldh, vv, nquads, Dv16, o, add, 6);
          break;
        case 4:
          pv8_tile (pl, ph, ldp, hr, ldh, vv, nquads, Dv16, o, add, 4);
          break;
        case 3:
          pv8_tile (pl, ph, ldp, hr, ldh, vv, nquads, Dv16, o, add, 3);
          break;
        case 2:
          pv8_tile (pl, ph, ldp, hr, ldh, vv, nquads, Dv16, o, add, 2);
          break;
        default:
          pv8_tile (pl, ph, ldp, hr, ldh, vv, nquads, Dv16, o, add, 1);
      }
    }
}

/* p8_num on 16 scores (the same operations, in the same order) */
ALWAYS_INLINE T_AVX512 __m512i
p8_512 (__m512 y, __m512 vm, __m512 vc)
{
  __m512 t = _mm512_mul_ps (_mm512_sub_ps (y, vm), vc);
  t = _mm512_max_ps (t, _mm512_set1_ps (-10.f));
  const __m512i ni = _mm512_cvttps_epi32 (t);
  const __m512 f = _mm512_sub_ps (t, _mm512_cvtepi32_ps (ni));
  __m512 p = _mm512_fmadd_ps (_mm512_set1_ps (P8_C3), f,
      _mm512_set1_ps (P8_C2));
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (P8_C1));
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (1.f));
  const __m512 e = _mm512_castsi512_ps (_mm512_add_epi32
      (_mm512_castps_si512 (p), _mm512_slli_epi32 (ni, 23)));
  return _mm512_min_epi32 (_mm512_cvttps_epi32 (_mm512_fmadd_ps (e,
              _mm512_set1_ps (255.f), _mm512_set1_ps (0.5f))),
      _mm512_set1_epi32 (255));
}

/* 2^max ((y − m) · c, −125) by the sam_orc_exp2_sub_f32 polynomial */
ALWAYS_INLINE T_AVX512 __m512
exp2_512 (__m512 y, __m512 vm, __m512 vc)
{
#define F512(b) _mm512_castsi512_ps (_mm512_set1_epi32 (b))
  __m512 t = _mm512_mul_ps (_mm512_sub_ps (y, vm), vc);
  t = _mm512_max_ps (t, _mm512_set1_ps (-125.f));
  __m512i ni = _mm512_cvttps_epi32 (t);
  __m512 f = _mm512_sub_ps (t, _mm512_cvtepi32_ps (ni));
  __m512 p = _mm512_add_ps (_mm512_mul_ps (f, F512 (C_P5)), F512 (C_P4));
  p = _mm512_add_ps (_mm512_mul_ps (p, f), F512 (C_P3));
  p = _mm512_add_ps (_mm512_mul_ps (p, f), F512 (C_P2));
  p = _mm512_add_ps (_mm512_mul_ps (p, f), F512 (C_P1));
  p = _mm512_add_ps (_mm512_mul_ps (p, f), _mm512_set1_ps (1.f));
#undef F512
  return _mm512_castsi512_ps (_mm512_add_epi32 (_mm512_castps_si512 (p),
          _mm512_slli_epi32 (ni, 23)));
}

/* the 16 (or, masked, fewer) numerators of P at y + j; their int32 sum */
ALWAYS_INLINE T_AVX512 __m512i
p15_16 (int16_t * P, const float *y, __mmask16 k, __m512 vm, __m512 vc)
{
  const __m512 yv = _mm512_maskz_loadu_ps (k, y);
  __m512i q;
  /* P = 0 wherever t = (y − m) · c ≤ −16: the polynomial gives 2^f ≤ 1 on
   * f ∈ (−1, 0] (exactly 1 at 0), so e ≤ 2^−16 and e · 32767 + 0.5 < 1.
   * A trained model's long rows are mostly that far below their maximum:
   * skip the polynomial where every lane is. */
  if (!_mm512_mask_cmp_ps_mask (k, _mm512_mul_ps (_mm512_sub_ps (yv, vm),
              vc), _mm512_set1_ps (-16.f), _CMP_GT_OQ))
    q = _mm512_setzero_si512 ();
  else
    q = _mm512_maskz_cvttps_epi32 (k,
        _mm512_add_ps (_mm512_mul_ps (exp2_512 (yv, vm, vc),
                _mm512_set1_ps (32767.f)), _mm512_set1_ps (0.5f)));
  /* vpmovdw to a register and a plain store: the masked memory form is
   * much slower on Zen (only the tail needs the mask) */
  if (k == 0xffff)
    _mm256_storeu_si256 ((__m256i *) P, _mm512_cvtepi32_epi16 (q));
  else
    _mm512_mask_cvtepi32_storeu_epi16 (P, k, q);
  return q;
}

T_AVX512 static int64_t
p15_avx512 (int16_t * P, const float *y, int64_t n, float m, float c)
{
  const __m512 vm = _mm512_set1_ps (m), vc = _mm512_set1_ps (c);
  __m512i sum = _mm512_setzero_si512 ();
  int64_t j = 0, total = 0;
  for (; j + 16 <= n; j += 16) {
    sum = _mm512_add_epi32 (sum, p15_16 (P + j, y + j, 0xffff, vm, vc));
    if ((j & 65535) == 65520) { /* int32 lanes: flush before 2^31 */
      total += _mm512_reduce_add_epi32 (sum);
      sum = _mm512_setzero_si512 ();
    }
  }
  if (j < n)
    sum = _mm512_add_epi32 (sum, p15_16 (P + j, y + j,
            (__mmask16) ((1u << (n - j)) - 1), vm, vc));
  return total + _mm512_reduce_add_epi32 (sum);
}

/* p15_avx512 and split_p_avx512 in one pass (the P_NONE rows of the
 * byte-plane P·V): the numerators of the n keys at y go straight into the
 * Pl, Ph planes (ldp ≥ n, a multiple of PCH; the padding gets 0) and the
 * chunk flags hi, without the int16 row of P in between (57 KB per row at
 * 28,736 keys, written and read back from L3 for a 32-row block). The
 * same operations give the same P, so the same bits. dead (or NULL): the
 * row's chunk flags from QKᵀ (qk512_tile); a dead chunk's scores are not
 * read, its P are all 0. Returns Σ P. */
T_AVX512 static int64_t
p15_planes_avx512 (const float *y, int64_t n, float m, float c, bool p8,
    int64_t ldp, uint8_t * Pl, uint8_t * Ph, uint8_t * hi,
    const uint8_t * dead)
{
  const __m512 vm = _mm512_set1_ps (m), vc = _mm512_set1_ps (c);
  /* P15 = 0 wherever (y − m) · c ≤ −16 (p15_16), and P8 = 0 wherever it
   * is ≤ −9: there e ≤ 2^−9 (1 + 9e-5), so 255 e + 0.5 < 1 */
  const __m512 lim = _mm512_set1_ps (p8 ? -9.f : -16.f),
      one = _mm512_set1_ps (32767.f), half = _mm512_set1_ps (0.5f);
  __m512i sum = _mm512_setzero_si512 ();
  int64_t total = 0;
  for (int64_t j = 0; j < ldp; j += PCH) {
    /* ≤ 4 · 32767 per lane and chunk: flush before 2^31 */
    if ((j / PCH) % 4096 == 4095) {
      total += _mm512_reduce_add_epi32 (sum);
      sum = _mm512_setzero_si512 ();
    }
    __m512i q[4];
    if (dead && j < n && dead[j / PCH]) {
      hi[j / PCH] = 0;
      continue;
    } else if (j + PCH <= n) {
      /* a whole chunk: plain loads, and no polynomial at all where every
       * key lies at or below lim (P = 0 there, see p15_16). A chunk with
       * a key above it takes the polynomial on all four vectors: a branch
       * per vector mispredicted on rows whose near and far keys mix. */
      __m512 yv[4];
      __mmask16 any = 0;
      for (int v = 0; v < 4; v++) {
        yv[v] = _mm512_loadu_ps (y + j + 16 * v);
        any |= _mm512_cmp_ps_mask (_mm512_mul_ps (_mm512_sub_ps (yv[v], vm),
                vc), lim, _CMP_GT_OQ);
      }
      if (!any) {
        hi[j / PCH] = 0;
        continue;
      }
      for (int v = 0; v < 4; v++) {
        if (p8)
          q[v] = p8_512 (yv[v], vm, vc);
        else
          q[v] =
              _mm512_cvttps_epi32 (_mm512_add_ps (_mm512_mul_ps (exp2_512
                      (yv[v], vm, vc), one), half));
      }
    } else
      for (int v = 0; v < 4; v++) {
        const int64_t jj = j + 16 * v;
        const __mmask16 k = jj + 16 <= n ? 0xffff : jj >= n ? 0 :
            (__mmask16) ((1u << (n - jj)) - 1);
        const __m512 yv = _mm512_maskz_loadu_ps (k, y + jj);
        q[v] = p8 ? _mm512_maskz_mov_epi32 (k, p8_512 (yv, vm, vc)) :
            _mm512_maskz_cvttps_epi32 (k,
            _mm512_add_ps (_mm512_mul_ps (exp2_512 (yv, vm, vc), one),
                half));
      }
    for (int v = 0; v < 4; v++)
      sum = _mm512_add_epi32 (sum, q[v]);
    /* The byte planes by saturating packs: two packs put each 128-bit
     * lane's four keys of q[0..3] side by side, one dword permute restores
     * key order (4 operations and one 64-byte store per plane, against 4
     * two-uop vpmovdb and 4 stores). P8 ≤ 255 goes whole into Pl; P15 is
     * split first, Pl = P & 255 and Ph = P >> 8 (≤ 127), so that the
     * saturation never bites. Ph of p8 is 0 and never read. The chunk
     * flags come from the planes: nonzero, and a high byte present. */
    const __m512i ord = _mm512_setr_epi32 (0, 4, 8, 12, 1, 5, 9, 13, 2, 6,
        10, 14, 3, 7, 11, 15);
    const __m512i b255 = _mm512_set1_epi32 (255);
    __m512i lo[4];
    for (int v = 0; v < 4; v++)
      lo[v] = p8 ? q[v] : _mm512_and_si512 (q[v], b255);
    const __m512i pl = _mm512_permutexvar_epi32 (ord,
        _mm512_packus_epi16 (_mm512_packus_epi32 (lo[0], lo[1]),
            _mm512_packus_epi32 (lo[2], lo[3])));
    _mm512_storeu_si512 (Pl + j, pl);
    __mmask64 big = 0;
    if (!p8) {
      const __m512i ph = _mm512_permutexvar_epi32 (ord,
          _mm512_packus_epi16 (_mm512_packus_epi32 (_mm512_srli_epi32 (q[0],
                      8), _mm512_srli_epi32 (q[1], 8)),
              _mm512_packus_epi32 (_mm512_srli_epi32 (q[2], 8),
                  _mm512_srli_epi32 (q[3], 8))));
      _mm512_storeu_si512 (Ph + j, ph);
      big = _mm512_test_epi8_mask (ph, ph);
    }
    const __mmask64 nz = big | _mm512_test_epi8_mask (pl, pl);
    hi[j / PCH] = (nz ? FL_NZ : 0) | (big ? FL_HI : 0);
  }
  return total + _mm512_reduce_add_epi32 (sum);
}

T_AVX512 static float
esum_avx512 (float *tmp, const float *y, int64_t n, float m, float c)
{
  const __m512 vm = _mm512_set1_ps (m), vc = _mm512_set1_ps (c);
  __m512 acc = _mm512_setzero_ps ();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    acc = _mm512_add_ps (acc, exp2_512 (_mm512_loadu_ps (y + j), vm, vc));
  if (j < n) {                  /* tail: lanes 0..n−j−1, as row_sum */
    __mmask16 k = (__mmask16) ((1u << (n - j)) - 1);
    acc = _mm512_mask_add_ps (acc, k, acc,
        exp2_512 (_mm512_maskz_loadu_ps (k, y + j), vm, vc));
  }
  (void) tmp;
  float a[16];
  _mm512_storeu_ps (a, acc);
  float s = 0.f;
  for (int l = 0; l < 16; l++)
    s += a[l];
  return s;
}

T_AVX512 static void
agqp_avx512 (int16_t * P, uint8_t * tmp, const float *y, int64_t n, float m,
    float c, float cc, float tau, int qmax, int a0, const int32_t * T)
{
  const __m512 vm = _mm512_set1_ps (m), vc = _mm512_set1_ps (c);
  const __m512 vcc = _mm512_set1_ps (cc), vt = _mm512_set1_ps (tau);
  const __m512 half = _mm512_set1_ps (0.5f), zero = _mm512_setzero_ps ();
  const __m512 vq = _mm512_set1_ps ((float) qmax);
  const __m512i iq = _mm512_set1_epi32 (qmax), ia0 = _mm512_set1_epi32 (a0);
  (void) tmp;
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 k = n - j >= 16 ? 0xffff : (__mmask16) ((1u << (n - j)) - 1);
    __m512 t = _mm512_mul_ps (_mm512_sub_ps (_mm512_maskz_loadu_ps (k, y + j),
            vm), vc);
    t = _mm512_mul_ps (_mm512_sub_ps (vcc, t), vt);
    t = _mm512_min_ps (_mm512_max_ps (_mm512_add_ps (t, half), zero), vq);
    __m512i a = _mm512_cvttps_epi32 (t);
    __mmask16 live = _mm512_mask_cmpneq_epi32_mask (k, a, iq);
    __m512i v = _mm512_mask_i32gather_epi32 (_mm512_setzero_si512 (), live,
        _mm512_sub_epi32 (a, ia0), T, 4);
    _mm512_mask_cvtepi32_storeu_epi16 (P + j, k, v);
  }
}

/* The ymm group loops' shared pieces, on named accumulators a00 … a31
 * (4 rows × 2 vectors; named, because GCC copies the registers of an
 * array of vectors around every destructive dot product). One step: the
 * 4 bytes of each of 4 rows (at src, then every ld bytes) broadcast
 * against x0 and x1 through DP (acc, broadcast, x). */
#define YMM_ROWS4_STEP(DP, src, ld, x0, x1) do {                              \
    int32_t w_[4];                                                           \
    for (int r_ = 0; r_ < 4; r_++)                                           \
      memcpy (&w_[r_], (const uint8_t *) (src) + r_ * (ld), 4);               \
    __m256i b_ = _mm256_set1_epi32 (w_[0]);                                  \
    a00 = DP (a00, b_, x0);                                                  \
    a01 = DP (a01, b_, x1);                                                  \
    b_ = _mm256_set1_epi32 (w_[1]);                                          \
    a10 = DP (a10, b_, x0);                                                  \
    a11 = DP (a11, b_, x1);                                                  \
    b_ = _mm256_set1_epi32 (w_[2]);                                          \
    a20 = DP (a20, b_, x0);                                                  \
    a21 = DP (a21, b_, x1);                                                  \
    b_ = _mm256_set1_epi32 (w_[3]);                                          \
    a30 = DP (a30, b_, x0);                                                  \
    a31 = DP (a31, b_, x1);                                                  \
  } while (0)
/* the 8 accumulators into t[4][16] (32-byte aligned) */
/* YMM_ROWS4_STEP with DPI (acc, b, x) a statement updating acc in place */
#define YMM_ROWS4_STEP_I(DPI, src, ld, x0, x1) do {                          \
    int32_t w_[4];                                                           \
    for (int r_ = 0; r_ < 4; r_++)                                           \
      memcpy (&w_[r_], (const uint8_t *) (src) + r_ * (ld), 4);               \
    __m256i b_ = _mm256_set1_epi32 (w_[0]);                                  \
    DPI (a00, b_, x0);                                                       \
    DPI (a01, b_, x1);                                                       \
    b_ = _mm256_set1_epi32 (w_[1]);                                          \
    DPI (a10, b_, x0);                                                       \
    DPI (a11, b_, x1);                                                       \
    b_ = _mm256_set1_epi32 (w_[2]);                                          \
    DPI (a20, b_, x0);                                                       \
    DPI (a21, b_, x1);                                                       \
    b_ = _mm256_set1_epi32 (w_[3]);                                          \
    DPI (a30, b_, x0);                                                       \
    DPI (a31, b_, x1);                                                       \
  } while (0)

#define YMM_ACC8_STORE(t) do {                                                \
    _mm256_store_si256 ((__m256i *) (t), a00);                               \
    _mm256_store_si256 ((__m256i *) ((t) + 8), a01);                         \
    _mm256_store_si256 ((__m256i *) ((t) + 16), a10);                        \
    _mm256_store_si256 ((__m256i *) ((t) + 24), a11);                        \
    _mm256_store_si256 ((__m256i *) ((t) + 32), a20);                        \
    _mm256_store_si256 ((__m256i *) ((t) + 40), a21);                        \
    _mm256_store_si256 ((__m256i *) ((t) + 48), a30);                        \
    _mm256_store_si256 ((__m256i *) ((t) + 56), a31);                        \
  } while (0)

/* ---- ymm (AVX-VNNI, and AVX2 with exact vpmaddwd emulation): 4 rows ×
 * one 16-key block (two ymm halves) / 2 ymm of output dims ---- */

#define YMM_QK(SFX, TGT, DPI)                                              \
/* One 16-key group for 4 rows: their float scores into S (row stride    \
 * ldS) and the rows' running maxima mx[4][8] raised over the group's     \
 * first nv keys (all 16 unless the last group). A function of its own,  \
 * not inlined, and its dot products asm updating the accumulators in    \
 * place: GCC copied the eight accumulators between registers around     \
 * every dpbusd (16 moves per 8) and, with 16 VEX registers, spilled     \
 * some; so, the loop is its 8 dpbusd, 2 key loads and 4 broadcasts. The scores go out from the registers (through \
 * a stack tile for qk to store and compare, they cost 12 % of the        \
 * memory cross-attention's QKᵀ at D 256 and more at Hiera's D 96). The   \
 * sums start from rowc + colc, as qk512_tile's do: int32 addition is     \
 * associative (mod 2^32), so the same sums. */                           \
TGT static __attribute__((noinline)) void                                    \
qkg_##SFX (const uint8_t * q0, int64_t lq, int D4, const int8_t * kg,        \
    const int32_t * rowc, const int32_t * colc, float *S, int64_t ldS,       \
    int nv, int32_t * mx)                                                    \
{                                                                            \
  const __m256i c0 = _mm256_loadu_si256 ((const __m256i *) colc);            \
  const __m256i c1 = _mm256_loadu_si256 ((const __m256i *) (colc + 8));      \
  __m256i rc = _mm256_set1_epi32 (rowc[0]);                                  \
  __m256i a00 = _mm256_add_epi32 (rc, c0), a01 = _mm256_add_epi32 (rc, c1);  \
  rc = _mm256_set1_epi32 (rowc[1]);                                          \
  __m256i a10 = _mm256_add_epi32 (rc, c0), a11 = _mm256_add_epi32 (rc, c1);  \
  rc = _mm256_set1_epi32 (rowc[2]);                                          \
  __m256i a20 = _mm256_add_epi32 (rc, c0), a21 = _mm256_add_epi32 (rc, c1);  \
  rc = _mm256_set1_epi32 (rowc[3]);                                          \
  __m256i a30 = _mm256_add_epi32 (rc, c0), a31 = _mm256_add_epi32 (rc, c1);  \
  for (int d4 = 0; d4 < D4; d4++) {                                          \
    const __m256i k0 = _mm256_load_si256 ((const __m256i *) (kg + d4 * 64)); \
    const __m256i k1 =                                                       \
        _mm256_load_si256 ((const __m256i *) (kg + d4 * 64 + 32));           \
    YMM_ROWS4_STEP_I (DPI, q0 + d4 * 4, lq, k0, k1);                         \
  }                                                                          \
  /* keys past nv (the last group's) do not count for the maximum */      \
  const __m256i vmin = _mm256_set1_epi32 (INT32_MIN);                        \
  __m256i ok0 = _mm256_set1_epi32 (-1), ok1 = ok0;                           \
  if (nv < 16) {                                                             \
    const __m256i idx = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);          \
    const __m256i lim = _mm256_set1_epi32 (nv);                              \
    ok0 = _mm256_cmpgt_epi32 (lim, idx);                                     \
    ok1 = _mm256_cmpgt_epi32 (lim, _mm256_add_epi32 (idx,                    \
            _mm256_set1_epi32 (8)));                                         \
  }                                                                          \
  YMM_QK_ROW (0, a00, a01)                                                   \
  YMM_QK_ROW (1, a10, a11)                                                   \
  YMM_QK_ROW (2, a20, a21)                                                   \
  YMM_QK_ROW (3, a30, a31)                                                   \
}                                                                            \
                                                                             \
TGT static void                                                              \
qk_##SFX (const uint8_t * Qb, int nr4, int D4, const int8_t * K8, int ng,    \
    int nt, const int32_t * rowc, const int32_t * colc, float *S,            \
    int64_t ldS, int32_t * rmax, const int8_t * next, int64_t next_bytes,    \
    uint8_t * dead, int64_t ldd, int64_t far)                                \
{                                                                            \
  (void) next;                                                               \
  (void) next_bytes;                                                         \
  g_assert (!dead);                                                          \
  (void) ldd;                                                                \
  (void) far;                                                                \
  int32_t mx[32] __attribute__((aligned (32)));                              \
  for (int r = 0; r < nr4; r += 4) {                                         \
    for (int i = 0; i < 32; i++)                                             \
      mx[i] = INT32_MIN;                                                     \
    for (int g = 0; g < ng; g++) {                                           \
      const int j = g * 16;                                                  \
      qkg_##SFX (Qb + (int64_t) r * D4 * 4, (int64_t) D4 * 4, D4,            \
          K8 + (int64_t) g * D4 * 64, rowc + r, colc + j, S + r * ldS + j,   \
          ldS, MIN (16, nt - j), mx);                                        \
    }                                                                        \
    for (int i = 0; i < 4; i++)                                              \
      for (int l = 0; l < 8; l++)                                            \
        rmax[r + i] = mx[8 * i + l] > rmax[r + i] ? mx[8 * i + l] :          \
            rmax[r + i];                                                     \
  }                                                                          \
}

/* a row of qkg_'s group: its 16 scores as floats, its maximum raised */
#define YMM_QK_ROW(i, s0, s1) {                                               \
    float *o_ = S + (i) * ldS;                                               \
    _mm256_storeu_ps (o_, _mm256_cvtepi32_ps (s0));                          \
    _mm256_storeu_ps (o_ + 8, _mm256_cvtepi32_ps (s1));                      \
    __m256i *m_ = (__m256i *) (mx + 8 * (i));                                \
    _mm256_store_si256 (m_, _mm256_max_epi32 (_mm256_load_si256 (m_),        \
            _mm256_max_epi32 (_mm256_blendv_epi8 (vmin, s0, ok0),            \
                _mm256_blendv_epi8 (vmin, s1, ok1)))); }

#define YMM_PV(SFX, TGT, DPWSSD)                                              \
/* 4 rows × 16 output dims over the key pairs of the live groups (live[g]: \
 * pairs [8 g, 8 g + 8) ∩ [0, npairs)) into t[4][16]: named accumulators  \
 * in a function of its own (see qkg_avx2) */                             \
TGT static __attribute__((noinline)) void                                    \
pvg_##SFX (const int16_t * P, int64_t ldp, const int16_t * Vv, int64_t lv,   \
    int npairs, const uint8_t * live, int32_t * t)                           \
{                                                                            \
  __m256i a00 = _mm256_setzero_si256 (), a01 = a00, a10 = a00, a11 = a00;    \
  __m256i a20 = a00, a21 = a00, a30 = a00, a31 = a00;                        \
  for (int g = 0; 8 * g < npairs; g++) {                                     \
    if (!live[g])                                                            \
      continue;                                                              \
    const int pe = MIN (npairs, 8 * g + 8);                                  \
    for (int pr = 8 * g; pr < pe; pr++) {                                    \
      const int16_t *vp = Vv + (int64_t) pr * lv;                            \
      const __m256i v0 = _mm256_loadu_si256 ((const __m256i *) vp);          \
      const __m256i v1 = _mm256_loadu_si256 ((const __m256i *) (vp + 16));   \
      YMM_ROWS4_STEP (DPWSSD, (const uint8_t *) (P + 2 * pr),                 \
          ldp * (int64_t) sizeof *P, v0, v1);                                \
    }                                                                        \
  }                                                                          \
  YMM_ACC8_STORE (t);                                                         \
}                                                                            \
                                                                             \
/* A group of 16 keys whose P is 0 on all four rows adds nothing and is     \
 * skipped (the same sums): keys far below a row's maximum have P = 0,     \
 * and neighbouring queries share most of them (the byte-plane P·V skips   \
 * its chunks by the same reasoning). One OR of the group's P per row      \
 * block, against 8 pairs × Dv / 16 multiply-add steps. */                 \
TGT static void                                                              \
pv_##SFX (const int16_t * P, int64_t ldp, int nr4, const int16_t * V16,      \
    int npairs, int Dv16, int32_t * acc)                                     \
{                                                                            \
  int32_t t[64] __attribute__((aligned (32)));                               \
  uint8_t live[KT / 16];                                                     \
  const int ngrp = (npairs + 7) / 8;                                         \
  g_assert (ngrp <= KT / 16);                                                \
  for (int r = 0; r < nr4; r += 4) {                                         \
    for (int g = 0; g < ngrp; g++) {                                         \
      if (8 * g + 8 > npairs) {                                              \
        live[g] = 1;                                                         \
        continue;                                                            \
      }                                                                      \
      __m256i o = _mm256_setzero_si256 ();                                   \
      for (int i = 0; i < 4; i++)                                            \
        o = _mm256_or_si256 (o, _mm256_loadu_si256 ((const __m256i *)        \
                (P + (r + i) * ldp + 16 * g)));                              \
      live[g] = !_mm256_testz_si256 (o, o);                                  \
    }                                                                        \
    for (int v = 0; v < Dv16; v += 16) {                                     \
      pvg_##SFX (P + r * ldp, ldp, V16 + (int64_t) v * 2,                    \
          (int64_t) Dv16 * 2, npairs, live, t);                              \
      for (int i = 0; i < 4; i++) {                                          \
        int32_t *o = acc + (int64_t) (r + i) * Dv16 + v;                     \
        memcpy (o, t + 16 * i, 16 * sizeof *o);                              \
      }                                                                      \
    }                                                                        \
  }                                                                          \
}

T_AVX2 static void
acc_add_avx2 (int64_t * acc, const int32_t * tile, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i t = _mm256_loadu_si256 ((const __m256i *) (tile + i));
    __m256i lo = _mm256_cvtepi32_epi64 (_mm256_castsi256_si128 (t));
    __m256i hi = _mm256_cvtepi32_epi64 (_mm256_extracti128_si256 (t, 1));
    __m256i *a = (__m256i *) (acc + i);
    _mm256_storeu_si256 (a, _mm256_add_epi64 (_mm256_loadu_si256 (a), lo));
    _mm256_storeu_si256 (a + 1, _mm256_add_epi64 (_mm256_loadu_si256 (a + 1),
            hi));
  }
  acc_add_c (acc + i, tile + i, n - i);
}

/* s16 pairs' dot per lane (P·V without VNNI) */
ALWAYS_INLINE T_AVX2 __m256i
dpwssd_avx2 (__m256i acc, __m256i p, __m256i v)
{
  return _mm256_add_epi32 (acc, _mm256_madd_epi16 (p, v));
}

#define DPBUSD_VNNI(a, b, c) _mm256_dpbusd_avx_epi32 (a, b, c)

#define DPBUSD_EVEX(a, b, c) _mm256_dpbusd_epi32 (a, b, c)

/* the AVX-VNNI kernels, and their EVEX twins for AVX-512 VNNI CPUs
 * without AVX-VNNI (see gemm-i8-vnni256.inc) */
/* acc += dot (u8 b, s8 x) in place (see qkg_): the VEX form (AVX-VNNI)
 * and the EVEX one */
#define DPI_VNNI(acc, b, x) \
  __asm__ ("%{vex%} vpdpbusd %2, %1, %0" : "+x" (acc) : "x" (b), "x" (x))
#define DPI_EVEX(acc, b, x) \
  __asm__ ("%{evex%} vpdpbusd %2, %1, %0" : "+x" (acc) : "x" (b), "x" (x))

YMM_QK (avxvnni, T_AVXVNNI, DPI_VNNI)
YMM_QK (avxvnni_evex, T_EVEX256, DPI_EVEX)

static void pack_k_s8_avx2 (const uint8_t * const *rows, int D, int32_t zq,
    int8_t * kb, int32_t * colc);

/* pack_k for the AVX2 QKᵀ: the 16 keys' s8 block, then widened to s16 in
 * k-pair order (widen-avx2.h), 128 bytes per d4: once per key and call,
 * where qk_avx2 used to widen every key for every 4 query rows */
T_AVX2 static void
pack_k_avx2 (const uint8_t * const *rows, int D, int32_t zq, int8_t * kb,
    int32_t * colc)
{
  const int D4 = (D + 3) / 4;
  int8_t stack[64 * 64] __attribute__((aligned (32)));
  int8_t *k8 = D4 <= 64 ? stack : aligned_alloc (32, (size_t) D4 * 64);
  if (!k8)
    g_error ("attention-i8: out of memory");
  pack_k_s8_avx2 (rows, D, zq, k8, colc);
  sam_widen_k4_pairs_avx2 (k8, D4, (int16_t *) kb);
  if (k8 != stack)
    free (k8);
}

/* YMM_QK's contract on pack_k_avx2's keys: per d4, two k-pairs of 8 + 8
 * keys (plain loads), each row's two q codes as one u16 pair broadcast,
 * vpmaddwd + vpaddd. The 4 rows' codes are widened to u16 once per call.
 * The same integer sums as dpbusd. */
/* acc += the s16 pairs' dot of b and x, the add in place (see qkg_) */
#define DPI_AVX2(acc, b, x) { \
    const __m256i p_ = _mm256_madd_epi16 (b, x); \
    __asm__ ("vpaddd %1, %0, %0" : "+x" (acc) : "x" (p_)); }

/* One 16-key group of qk_avx2 for its 4 widened rows q16 (row stride
 * ldq): as qkg_avxvnni, the scores into S (row stride ldS) and the rows'
 * maxima mx[4][8] over the first nv keys, from the registers, and for the
 * same reasons a function of its own with its adds in place. One k-pair
 * per iteration (see micro_avx2 in gemm-i8.c). The zero-point terms
 * rowc + colc are added after the products here (int32 addition mod
 * 2^32: the same sums). */
T_AVX2 static __attribute__((noinline)) void
qkg_avx2 (const uint16_t * q16, int ldq, int D4, const int16_t * kk,
    const int32_t * rowc, const int32_t * colc, float *S, int64_t ldS,
    int nv, int32_t * mx)
{
  __m256i a00 = _mm256_setzero_si256 (), a01 = a00, a10 = a00, a11 = a00;
  __m256i a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const uint16_t *qk = q16;
  for (int dp = 0; dp < 2 * D4; dp++, kk += 32, qk += 2) {
    const __m256i k0 = _mm256_load_si256 ((const void *) kk);
    const __m256i k1 = _mm256_load_si256 ((const void *) (kk + 16));
    YMM_ROWS4_STEP_I (DPI_AVX2, (const uint8_t *) qk,
        ldq * (int64_t) sizeof *qk, k0, k1);
  }
  const __m256i c0 = _mm256_loadu_si256 ((const __m256i *) colc);
  const __m256i c1 = _mm256_loadu_si256 ((const __m256i *) (colc + 8));
  const __m256i vmin = _mm256_set1_epi32 (INT32_MIN);
  __m256i ok0 = _mm256_set1_epi32 (-1), ok1 = ok0;
  if (nv < 16) {
    const __m256i idx = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i lim = _mm256_set1_epi32 (nv);
    ok0 = _mm256_cmpgt_epi32 (lim, idx);
    ok1 = _mm256_cmpgt_epi32 (lim, _mm256_add_epi32 (idx,
            _mm256_set1_epi32 (8)));
  }
#define ROW(i) { \
    const __m256i rc = _mm256_set1_epi32 (rowc[i]); \
    YMM_QK_ROW (i, _mm256_add_epi32 (_mm256_add_epi32 (a##i##0, rc), c0), \
        _mm256_add_epi32 (_mm256_add_epi32 (a##i##1, rc), c1)) }
  ROW (0) ROW (1) ROW (2) ROW (3)
#undef ROW
}

T_AVX2 static void
qk_avx2 (const uint8_t * Qb, int nr4, int D4, const int8_t * K8, int ng,
    int nt, const int32_t * rowc, const int32_t * colc, float *S,
    int64_t ldS, int32_t * rmax, const int8_t * next, int64_t next_bytes,
    uint8_t * dead, int64_t ldd, int64_t far)
{
  (void) next;
  (void) next_bytes;
  g_assert (!dead);
  (void) ldd;
  (void) far;
  const int16_t *K16 = (const int16_t *) K8;
  const int ldq = D4 * 4;
  uint16_t q16[4 * 256] __attribute__((aligned (32)));
  uint16_t *q16p = ldq <= 256 ? q16 : g_new (uint16_t, (size_t) 4 * ldq);
  int32_t mx[32] __attribute__((aligned (32)));
  for (int r = 0; r < nr4; r += 4) {
    for (int i = 0; i < 4; i++)
      for (int d = 0; d < ldq; d++)
        q16p[i * ldq + d] = Qb[(int64_t) (r + i) * ldq + d];
    for (int i = 0; i < 32; i++)
      mx[i] = INT32_MIN;
    for (int g = 0; g < ng; g++) {
      const int j = g * 16;
      qkg_avx2 (q16p, ldq, D4, K16 + (int64_t) g * D4 * 64, rowc + r,
          colc + j, S + r * ldS + j, ldS, MIN (16, nt - j), mx);
    }
    for (int i = 0; i < 4; i++)
      for (int l = 0; l < 8; l++)
        rmax[r + i] = mx[8 * i + l] > rmax[r + i] ? mx[8 * i + l] :
            rmax[r + i];
  }
  if (q16p != q16)
    g_free (q16p);
}
YMM_PV (avx2, T_AVX2, dpwssd_avx2)

/* split_p_avx512 in ymm (AVX2; used with AVX-VNNI's pv8) */
T_AVX2 static int64_t
split_p_avx2 (const int16_t * P, int64_t n, uint8_t * Pl, uint8_t * Ph,
    uint8_t * hi)
{
  const __m256i ones = _mm256_set1_epi16 (1), lo8 = _mm256_set1_epi16 (0xff);
  __m256i sum = _mm256_setzero_si256 ();
  int64_t total = 0;
  for (int64_t j = 0; j < n; j += PCH) {
    __m256i any = _mm256_setzero_si256 (), nz = any;
    for (int u = 0; u < PCH; u += 32) {
      __m256i a = _mm256_loadu_si256 ((const __m256i *) (P + j + u));
      __m256i b = _mm256_loadu_si256 ((const __m256i *) (P + j + u + 16));
      __m256i ha = _mm256_srli_epi16 (a, 8), hb = _mm256_srli_epi16 (b, 8);
      /* packus interleaves the 128-bit lanes: 0xd8 puts them in order */
      _mm256_storeu_si256 ((__m256i *) (Pl + j + u),
          _mm256_permute4x64_epi64 (_mm256_packus_epi16 (_mm256_and_si256 (a,
                      lo8), _mm256_and_si256 (b, lo8)), 0xd8));
      _mm256_storeu_si256 ((__m256i *) (Ph + j + u),
          _mm256_permute4x64_epi64 (_mm256_packus_epi16 (ha, hb), 0xd8));
      any = _mm256_or_si256 (any, _mm256_or_si256 (ha, hb));
      nz = _mm256_or_si256 (nz, _mm256_or_si256 (a, b));
      sum = _mm256_add_epi32 (sum, _mm256_add_epi32 (_mm256_madd_epi16 (a,
                  ones), _mm256_madd_epi16 (b, ones)));
    }
    hi[j / PCH] = (_mm256_testz_si256 (nz, nz) ? 0 : FL_NZ)
        | (_mm256_testz_si256 (any, any) ? 0 : FL_HI);
    if ((j / PCH) % 4096 == 4095) {     /* int32 lanes: flush before 2^31 */
      int32_t t[8];
      _mm256_storeu_si256 ((__m256i *) t, sum);
      for (int l = 0; l < 8; l++)
        total += t[l];
      sum = _mm256_setzero_si256 ();
    }
  }
  int32_t t[8];
  _mm256_storeu_si256 ((__m256i *) t, sum);
  for (int l = 0; l < 8; l++)
    total += t[l];
  return total;
}

/* pv8_avx512 in ymm: 4 rows × 16 output dims (2 ymm) per pass, 8
 * accumulators of the 16 ymm registers */
#define YMM_PV8(SFX, TGT, DPBUSD)                                             \
/* One plane of 4 rows × 16 output dims over the listed chunks (nl of      \
 * them, chunk indices ch[]) into t[4][16]: a function of its own for the \
 * reason qkg_ is (named accumulators, no register copies). */              \
TGT static __attribute__((noinline)) void                                    \
pv8p_##SFX (const uint8_t * B, int64_t ldp, const int16_t * ch, int nl,      \
    const int8_t * Vv, int64_t lv, int nquads, int32_t * t)                  \
{                                                                            \
  __m256i a00 = _mm256_setzero_si256 (), a01 = a00, a10 = a00, a11 = a00;    \
  __m256i a20 = a00, a21 = a00, a30 = a00, a31 = a00;                        \
  for (int l = 0; l < nl; l++) {                                             \
    const int q0 = ch[l] * (PCH / 4);                                        \
    const int q1 = MIN (q0 + PCH / 4, nquads);                               \
    for (int qd = q0; qd < q1; qd++) {                                       \
      const int8_t *vp = Vv + (int64_t) qd * lv;                             \
      const __m256i v0 = _mm256_loadu_si256 ((const __m256i *) vp);          \
      const __m256i v1 = _mm256_loadu_si256 ((const __m256i *) (vp + 32));   \
      YMM_ROWS4_STEP (DPBUSD, B + 4 * qd, ldp, v0, v1);                       \
    }                                                                        \
  }                                                                          \
  YMM_ACC8_STORE (t);                                                         \
}                                                                            \
                                                                             \
/* The chunks of a row group are listed once per plane (live: the flag set \
 * for one of the 4 rows), and every 16-dim pass runs over the lists: the \
 * flags were read and branched on per pass before (4 passes at Dv 64),   \
 * at chunk boundaries that mispredict where live and dead chunks mix. */ \
TGT static void                                                              \
pv8_##SFX (const uint8_t * Pl, const uint8_t * Ph, int64_t ldp,               \
    const uint8_t * hi, int64_t ldh, int nr4, const int8_t * V8, int nquads,  \
    int Dv16, int32_t * acc, bool add)                                        \
{                                                                             \
  int32_t t[64] __attribute__((aligned (32)));                                \
  const int nch = (nquads + PCH / 4 - 1) / (PCH / 4);                         \
  /* a key tile (KT keys) has KT / PCH chunks; more go to the heap */       \
  int16_t lists[2 * (KT / PCH)];                                              \
  int16_t *lnz = nch <= KT / PCH ? lists :                                    \
      g_new (int16_t, 2 * (size_t) nch);                                      \
  int16_t *lhi = lnz + nch;                                                   \
  for (int r = 0; r < nr4; r += 4) {                                          \
    const uint8_t *hr = hi + r * ldh;                                         \
    int nnz = 0, nhi = 0;                                                     \
    for (int ch = 0; ch < nch; ch++) {                                        \
      const uint8_t f = hr[ch] | hr[ldh + ch] | hr[2 * ldh + ch]              \
          | hr[3 * ldh + ch];                                                 \
      lnz[nnz] = (int16_t) ch;                                                \
      nnz += (f & FL_NZ) != 0;                                                \
      lhi[nhi] = (int16_t) ch;                                                \
      nhi += (f & FL_HI) != 0;                                                \
    }                                                                         \
    for (int v = 0; v < Dv16; v += 16) {                                      \
      int32_t *o = acc + (int64_t) r * Dv16 + v;                              \
      for (int plane = 0; plane < 2; plane++) {                               \
        const int nl = plane ? nhi : nnz;                                     \
        if (plane && !nl)                                                     \
          break;                                                              \
        pv8p_##SFX ((plane ? Ph : Pl) + r * ldp, ldp, plane ? lhi : lnz, nl,  \
            V8 + (int64_t) v * 4, (int64_t) Dv16 * 4, nquads, t);             \
        for (int i = 0; i < 4; i++) {                                         \
          __m256i *oi = (__m256i *) (o + (int64_t) i * Dv16);                 \
          const __m256i a0 = _mm256_load_si256 ((const __m256i *) (t + 16 * i)); \
          const __m256i a1 =                                                  \
              _mm256_load_si256 ((const __m256i *) (t + 16 * i + 8));         \
          if (!plane && add) {                                                \
            _mm256_storeu_si256 (oi, _mm256_add_epi32 (_mm256_loadu_si256     \
                    (oi), a0));                                               \
            _mm256_storeu_si256 (oi + 1, _mm256_add_epi32                     \
                (_mm256_loadu_si256 (oi + 1), a1));                           \
          } else if (!plane) {                                                \
            _mm256_storeu_si256 (oi, a0);                                     \
            _mm256_storeu_si256 (oi + 1, a1);                                 \
          } else {                                                            \
            _mm256_storeu_si256 (oi, _mm256_add_epi32 (_mm256_loadu_si256     \
                    (oi), _mm256_slli_epi32 (a0, 8)));                        \
            _mm256_storeu_si256 (oi + 1, _mm256_add_epi32                     \
                (_mm256_loadu_si256 (oi + 1), _mm256_slli_epi32 (a1, 8)));    \
          }                                                                   \
        }                                                                     \
      }                                                                       \
    }                                                                         \
  }                                                                           \
  if (lnz != lists)                                                           \
    g_free (lnz);                                                             \
}

YMM_PV8 (avxvnni, T_AVXVNNI, DPBUSD_VNNI)
YMM_PV8 (avxvnni_evex, T_EVEX256, DPBUSD_EVEX)

T_AVX2 static int64_t
p15_avx2 (int16_t * P, const float *y, int64_t n, float m, float c)
{
#define F256(b) _mm256_castsi256_ps (_mm256_set1_epi32 (b))
  const __m256 vm = _mm256_set1_ps (m), vc = _mm256_set1_ps (c);
  const __m256 lo = _mm256_set1_ps (-125.f), one = _mm256_set1_ps (1.f);
  const __m256 k15 = _mm256_set1_ps (32767.f), half = _mm256_set1_ps (0.5f);
  __m256i sum = _mm256_setzero_si256 ();
  int64_t j = 0, total = 0;
  const __m256 m16 = _mm256_set1_ps (-16.f);
  for (; j + 16 <= n; j += 16) {
    /* all 16 at t ≤ −16: P = 0 (as p15_16) */
    __m256 t0 = _mm256_mul_ps (_mm256_sub_ps (_mm256_loadu_ps (y + j), vm),
        vc);
    __m256 t1 = _mm256_mul_ps (_mm256_sub_ps (_mm256_loadu_ps (y + j + 8),
            vm), vc);
    __m256i q[2] = { _mm256_setzero_si256 (), _mm256_setzero_si256 () };
    const bool all_zero = !_mm256_movemask_ps (_mm256_or_ps (_mm256_cmp_ps
            (t0, m16, _CMP_GT_OQ), _mm256_cmp_ps (t1, m16, _CMP_GT_OQ)));
    for (int h = 0; h < 2 && !all_zero; h++) {
      __m256 t = h ? t1 : t0;
      t = _mm256_max_ps (t, lo);
      __m256i ni = _mm256_cvttps_epi32 (t);
      __m256 f = _mm256_sub_ps (t, _mm256_cvtepi32_ps (ni));
      __m256 p = _mm256_add_ps (_mm256_mul_ps (f, F256 (C_P5)), F256 (C_P4));
      p = _mm256_add_ps (_mm256_mul_ps (p, f), F256 (C_P3));
      p = _mm256_add_ps (_mm256_mul_ps (p, f), F256 (C_P2));
      p = _mm256_add_ps (_mm256_mul_ps (p, f), F256 (C_P1));
      p = _mm256_add_ps (_mm256_mul_ps (p, f), one);
      p = _mm256_castsi256_ps (_mm256_add_epi32 (_mm256_castps_si256 (p),
              _mm256_slli_epi32 (ni, 23)));
      q[h] = _mm256_cvttps_epi32 (_mm256_add_ps (_mm256_mul_ps (p, k15),
              half));
      sum = _mm256_add_epi32 (sum, q[h]);
    }
    __m256i w = _mm256_permute4x64_epi64 (_mm256_packs_epi32 (q[0], q[1]),
        0xd8);
    _mm256_storeu_si256 ((__m256i *) (P + j), w);
    if ((j & 65535) == 65520) {
      int32_t t[8];
      _mm256_storeu_si256 ((__m256i *) t, sum);
      for (int l = 0; l < 8; l++)
        total += t[l];
      sum = _mm256_setzero_si256 ();
    }
  }
#undef F256
  int32_t t[8];
  _mm256_storeu_si256 ((__m256i *) t, sum);
  for (int l = 0; l < 8; l++)
    total += t[l];
  if (j < n)
    total += sam_exp2_p15_f32_s16_ref (P + j, y + j, m, c, (int) (n - j));
  return total;
}

/* p8_num on 8 scores (the same operations, as p8_512), and over a row:
 * the AVX2 machines' P of every 8-bit-P attention (AVX-512 takes the byte
 * planes), where the scalar loop and its libm fmaf calls were 15 % of the
 * frame */
ALWAYS_INLINE T_AVX2 __m256i
p8_256 (__m256 y, __m256 vm, __m256 vc)
{
  __m256 t = _mm256_mul_ps (_mm256_sub_ps (y, vm), vc);
  t = _mm256_max_ps (t, _mm256_set1_ps (-10.f));
  const __m256i ni = _mm256_cvttps_epi32 (t);
  const __m256 f = _mm256_sub_ps (t, _mm256_cvtepi32_ps (ni));
  __m256 p = _mm256_fmadd_ps (_mm256_set1_ps (P8_C3), f,
      _mm256_set1_ps (P8_C2));
  p = _mm256_fmadd_ps (p, f, _mm256_set1_ps (P8_C1));
  p = _mm256_fmadd_ps (p, f, _mm256_set1_ps (1.f));
  const __m256 e = _mm256_castsi256_ps (_mm256_add_epi32
      (_mm256_castps_si256 (p), _mm256_slli_epi32 (ni, 23)));
  return _mm256_min_epi32 (_mm256_cvttps_epi32 (_mm256_fmadd_ps (e,
              _mm256_set1_ps (255.f), _mm256_set1_ps (0.5f))),
      _mm256_set1_epi32 (255));
}

T_AVX2 static int64_t
p8_avx2 (int16_t * P, const float *y, int64_t n, float m, float c)
{
  const __m256 vm = _mm256_set1_ps (m), vc = _mm256_set1_ps (c);
  __m256i sum = _mm256_setzero_si256 ();
  int64_t j = 0, total = 0;
  /* P8 = 0 wherever (y − m) · c ≤ −9 (see p15_planes_avx512): the
   * polynomial only for 16 keys with one above that (Hiera's global
   * attention at input 1024: 37 of the frame's 2,000 ms of CPU time
   * under AVX-VNNI without this) */
  const __m256 lim = _mm256_set1_ps (-9.f);
  for (; j + 16 <= n; j += 16) {
    const __m256 y0 = _mm256_loadu_ps (y + j), y1 = _mm256_loadu_ps (y + j + 8);
    if (!_mm256_movemask_ps (_mm256_or_ps (_mm256_cmp_ps (_mm256_mul_ps
                    (_mm256_sub_ps (y0, vm), vc), lim, _CMP_GT_OQ),
                _mm256_cmp_ps (_mm256_mul_ps (_mm256_sub_ps (y1, vm), vc),
                    lim, _CMP_GT_OQ)))) {
      _mm256_storeu_si256 ((__m256i *) (P + j), _mm256_setzero_si256 ());
      continue;
    }
    const __m256i q0 = p8_256 (y0, vm, vc);
    const __m256i q1 = p8_256 (y1, vm, vc);
    _mm256_storeu_si256 ((__m256i *) (P + j),
        _mm256_permute4x64_epi64 (_mm256_packs_epi32 (q0, q1), 0xd8));
    sum = _mm256_add_epi32 (sum, _mm256_add_epi32 (q0, q1));
  }
  for (; j < n; j++)
    total += P[j] = (int16_t) p8_num (y[j], m, c);
  int32_t t[8];
  _mm256_storeu_si256 ((__m256i *) t, sum);
  for (int l = 0; l < 8; l++)
    total += t[l];
  return total;
}

ALWAYS_INLINE T_AVX2 __m256
exp2_256 (__m256 y, __m256 vm, __m256 vc)
{
#define F256(b) _mm256_castsi256_ps (_mm256_set1_epi32 (b))
  __m256 t = _mm256_mul_ps (_mm256_sub_ps (y, vm), vc);
  t = _mm256_max_ps (t, _mm256_set1_ps (-125.f));
  __m256i ni = _mm256_cvttps_epi32 (t);
  __m256 f = _mm256_sub_ps (t, _mm256_cvtepi32_ps (ni));
  __m256 p = _mm256_add_ps (_mm256_mul_ps (f, F256 (C_P5)), F256 (C_P4));
  p = _mm256_add_ps (_mm256_mul_ps (p, f), F256 (C_P3));
  p = _mm256_add_ps (_mm256_mul_ps (p, f), F256 (C_P2));
  p = _mm256_add_ps (_mm256_mul_ps (p, f), F256 (C_P1));
  p = _mm256_add_ps (_mm256_mul_ps (p, f), _mm256_set1_ps (1.f));
#undef F256
  return _mm256_castsi256_ps (_mm256_add_epi32 (_mm256_castps_si256 (p),
          _mm256_slli_epi32 (ni, 23)));
}

T_AVX2 static float
esum_avx2 (float *tmp, const float *y, int64_t n, float m, float c)
{
  const __m256 vm = _mm256_set1_ps (m), vc = _mm256_set1_ps (c);
  __m256 a0 = _mm256_setzero_ps (), a1 = _mm256_setzero_ps ();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    a0 = _mm256_add_ps (a0, exp2_256 (_mm256_loadu_ps (y + j), vm, vc));
    a1 = _mm256_add_ps (a1, exp2_256 (_mm256_loadu_ps (y + j + 8), vm, vc));
  }
  float a[16];
  _mm256_storeu_ps (a, a0);
  _mm256_storeu_ps (a + 8, a1);
  if (j < n) {
    sam_exp2_sub_f32_ref (tmp, y + j, m, c, (int) (n - j));
    for (int l = 0; j + l < n; l++)
      a[l] += tmp[l];
  }
  float s = 0.f;
  for (int l = 0; l < 16; l++)
    s += a[l];
  return s;
}

T_AVX2 static void
agqp_avx2 (int16_t * P, uint8_t * tmp, const float *y, int64_t n, float m,
    float c, float cc, float tau, int qmax, int a0, const int32_t * T)
{
  const __m256 vm = _mm256_set1_ps (m), vc = _mm256_set1_ps (c);
  const __m256 vcc = _mm256_set1_ps (cc), vt = _mm256_set1_ps (tau);
  const __m256 half = _mm256_set1_ps (0.5f), zero = _mm256_setzero_ps ();
  const __m256 vq = _mm256_set1_ps ((float) qmax);
  const __m256i iq = _mm256_set1_epi32 (qmax), ia0 = _mm256_set1_epi32 (a0);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m256i v[2];
    for (int h = 0; h < 2; h++) {
      __m256 t = _mm256_mul_ps (_mm256_sub_ps (_mm256_loadu_ps (y + j + 8 * h),
              vm), vc);
      t = _mm256_mul_ps (_mm256_sub_ps (vcc, t), vt);
      t = _mm256_min_ps (_mm256_max_ps (_mm256_add_ps (t, half), zero), vq);
      __m256i a = _mm256_cvttps_epi32 (t);
      __m256i dead = _mm256_cmpeq_epi32 (a, iq);
      __m256i g = _mm256_i32gather_epi32 ((const int *) T,
          _mm256_andnot_si256 (dead, _mm256_sub_epi32 (a, ia0)), 4);
      v[h] = _mm256_andnot_si256 (dead, g);
    }
    __m256i w = _mm256_permute4x64_epi64 (_mm256_packs_epi32 (v[0], v[1]),
        0xd8);
    _mm256_storeu_si256 ((__m256i *) (P + j), w);
  }
  if (j < n) {
    sam_log2q_f32_u8_ref (tmp, y + j, m, c, cc, tau, (float) qmax,
        (int) (n - j));
    for (int64_t i = 0; j + i < n; i++)
      P[j + i] = (int16_t) (tmp[i] == qmax ? 0 : T[tmp[i] - a0]);
  }
}

#endif /* SAM_X86 */

/* ------------------------------------------------------------------------ */
/* Driver */

/* Per-thread buffers reused across calls (freed at thread exit): fresh
 * multi-megabyte allocations cost a page fault per 4 KiB on every call
 * (K and V packs of the memory cross-attention are 7 + 4 MiB). Slots 0-2
 * belong to the calling thread (packs), 3-8 and 12-13 to the row-block
 * tasks, 9-11 to the caller's codes (sam_att_i8_codes_buffer). */
enum { SC_K8, SC_COLC, SC_V16, SC_QB, SC_S, SC_P, SC_TILE, SC_ACC, SC_TMP,
  SC_CODES0, SC_CODES1, SC_CODES2, SC_P8, SC_HI, SC_DEAD, SC_N
};

typedef struct {
  void *p[SC_N];
  size_t n[SC_N];
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *sc = data;
  for (int i = 0; i < SC_N; i++)
    free (sc->p[i]);
  g_free (sc);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

static void *
scratch (int slot, size_t bytes)
{
  Scratch *sc = g_private_get (&scratch_key);
  if (!sc) {
    sc = g_new0 (Scratch, 1);
    g_private_set (&scratch_key, sc);
  }
  if (sc->n[slot] < bytes) {
    /* a quarter of headroom: the memory grows by a few keys per frame
     * (object pointers), which must not reallocate (and fault) each time */
    bytes = (size_t) rup ((int64_t) MAX (bytes + bytes / 4, 64), 65536);
    free (sc->p[slot]);
    sc->p[slot] = aligned_alloc (64, bytes);
    if (!sc->p[slot])
      g_error ("attention-i8: out of memory (%zu bytes)", bytes);
    sc->n[slot] = bytes;
  }
  return sc->p[slot];
}

typedef struct {
  const uint8_t *q, *k, *v;
  int64_t ldq, ldk, ldv, ldo, Nq, Nk;
  int H, D, Dv, D4, Dv16;
  int64_t Nk16, Nk2, nblk;
  const SamAttI8Params *p;
  int8_t *K8;                   /* [H][Nk16][D4][kw] */
  int kw;                       /* bytes per key group and d4: 64, or 128
                                 * (AVX2: s16, widen-avx2.h) */
  int32_t *colc;                /* [H][Nk16·16] −zq Σ_d k (0 past Nk) */
  int16_t *V16;                 /* [H][Nk2][Dv16][2] (pv) */
  int8_t *V8;                   /* [H][Nk16·4][Dv16][4] v − 128 (pv8) */
  float *out;
  QkFn qk;
  PvFn pv;                      /* NULL: split and pv8 below */
  SplitFn split;
  Pv8Fn pv8;
  AccFn acc_add;
  RowFns rf;
  OutFn out_row;
  Out32Fn out_row32;
  PackKFn pack_k;
  PackV2Fn pack_v2;
} Ctx;

/* pack_k in scalar: 4 codes at a time (k − 128 as s8 is k ^ 0x80) */
static void
pack_k_c (const uint8_t * const *rows, int D, int32_t zq, int8_t * kb,
    int32_t * colc)
{
  memset (kb, 0, (size_t) (D + 3) / 4 * 64);
  for (int l = 0; l < 16; l++) {
    colc[l] = 0;
    const uint8_t *kj = rows[l];
    if (!kj)
      continue;
    int32_t s = 0;
    int d = 0;
    for (; d + 4 <= D; d += 4) {
      uint32_t w;
      memcpy (&w, kj + d, 4);
      w ^= 0x80808080u;
      memcpy (kb + (d / 4) * 64 + l * 4, &w, 4);
      s += kj[d] + kj[d + 1] + kj[d + 2] + kj[d + 3];
    }
    for (; d < D; d++) {
      kb[(d / 4) * 64 + l * 4 + d % 4] = (int8_t) (kj[d] - 128);
      s += kj[d];
    }
    colc[l] = -zq * s;
  }
}

#ifdef SAM_ARM64
/* pack_k for qk_neondot: the same block; each present key's column term
 * also carries 128 Σ_d (k − 128) = 128 Σ k − 128² D, once per key here
 * rather than once per row block in QKᵀ: −zq Σ k + 128 Σ k − 128² D is
 * pack_k_c's term at zq − 128, less 128² D. */
static void
pack_k_neondot (const uint8_t * const *rows, int D, int32_t zq, int8_t * kb,
    int32_t * colc)
{
  pack_k_c (rows, D, zq - 128, kb, colc);
  for (int l = 0; l < 16; l++)
    if (rows[l])
      colc[l] = (int32_t) ((uint32_t) colc[l] - 16384u * (uint32_t) D);
}
#endif

#ifdef SAM_X86
/* pack_k on AVX-512: 64 codes of each row per step, the 16 × 16 dword
 * transpose (each output vector one d4: the 16 keys' 4 codes), the row
 * sums by vpsadbw; the same bytes and sums as the scalar loop. */
T_AVX512 static void
pack_k_avx512 (const uint8_t * const *rows, int D, int32_t zq, int8_t * kb,
    int32_t * colc)
{
  const __m512i flip = _mm512_set1_epi8 ((char) 0x80);
  const int D4 = (D + 3) / 4;
  __m512i sum[16];
  for (int l = 0; l < 16; l++)
    sum[l] = _mm512_setzero_si512 ();
  for (int d = 0; d < D; d += 64) {
    const int nb = MIN (64, D - d);
    const __mmask64 m = nb == 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << nb) - 1;
    __m512i r[16];
    for (int l = 0; l < 16; l++) {
      if (!rows[l]) {
        r[l] = _mm512_setzero_si512 ();
        continue;
      }
      const __m512i x = _mm512_maskz_loadu_epi8 (m, rows[l] + d);
      sum[l] = _mm512_add_epi64 (sum[l], _mm512_sad_epu8 (x,
              _mm512_setzero_si512 ()));
      r[l] = _mm512_maskz_mov_epi8 (m, _mm512_xor_si512 (x, flip));
    }
    /* 16 × 16 dwords: r[l] lane i (d4 = d/4 + i) → out[i] lane l */
    __m512i t[16], u[16];
    for (int l = 0; l < 16; l += 2) {
      t[l] = _mm512_unpacklo_epi32 (r[l], r[l + 1]);
      t[l + 1] = _mm512_unpackhi_epi32 (r[l], r[l + 1]);
    }
    for (int l = 0; l < 16; l += 4) {
      u[l] = _mm512_unpacklo_epi64 (t[l], t[l + 2]);
      u[l + 1] = _mm512_unpackhi_epi64 (t[l], t[l + 2]);
      u[l + 2] = _mm512_unpacklo_epi64 (t[l + 1], t[l + 3]);
      u[l + 3] = _mm512_unpackhi_epi64 (t[l + 1], t[l + 3]);
    }
    /* u[4a + b] lane (4c + e) holds r[4a + e] dword 4c + b' (b' the
     * unpack order 0, 1, 2, 3 for b = 0, 1, 2, 3); gather the 128-bit
     * lanes c across a */
    for (int b = 0; b < 4; b++) {
      __m512i a01lo = _mm512_shuffle_i32x4 (u[b], u[4 + b], 0x44);
      __m512i a01hi = _mm512_shuffle_i32x4 (u[b], u[4 + b], 0xee);
      __m512i a23lo = _mm512_shuffle_i32x4 (u[8 + b], u[12 + b], 0x44);
      __m512i a23hi = _mm512_shuffle_i32x4 (u[8 + b], u[12 + b], 0xee);
      t[b] = _mm512_shuffle_i32x4 (a01lo, a23lo, 0x88);        /* c = 0 */
      t[4 + b] = _mm512_shuffle_i32x4 (a01lo, a23lo, 0xdd);    /* c = 1 */
      t[8 + b] = _mm512_shuffle_i32x4 (a01hi, a23hi, 0x88);    /* c = 2 */
      t[12 + b] = _mm512_shuffle_i32x4 (a01hi, a23hi, 0xdd);   /* c = 3 */
    }
    for (int c4 = 0; c4 < 4; c4++)
      for (int b = 0; b < 4; b++) {
        const int i = 4 * c4 + b;      /* d4 offset in this step */
        if (d / 4 + i < D4)
          _mm512_store_si512 (kb + (int64_t) (d / 4 + i) * 64, t[4 * c4 + b]);
      }
  }
  for (int l = 0; l < 16; l++)
    colc[l] = rows[l] ? -zq * (int32_t) _mm512_reduce_add_epi64 (sum[l]) : 0;
}

/* pack_k on AVX2: 32 codes of each row per step, two 8 × 8 dword
 * transposes (keys 0–7 and 8–15: each d4's 64 bytes are the two halves),
 * the row sums by vpsadbw; the same bytes and sums as the scalar loop. A
 * step past D reads a zero-padded copy of the row's tail, and the flip
 * stops at D so that padding stays 0. */
T_AVX2 static void
pack_k_s8_avx2 (const uint8_t * const *rows, int D, int32_t zq, int8_t * kb,
    int32_t * colc)
{
  static const uint8_t flip_to[64] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  };
  const int D4 = (D + 3) / 4;
  __m256i sum[16];
  for (int l = 0; l < 16; l++)
    sum[l] = _mm256_setzero_si256 ();
  for (int d = 0; d < D; d += 32) {
    const int nb = MIN (32, D - d);
    const __m256i flip = _mm256_loadu_si256 ((const __m256i *) (flip_to +
            32 - nb));
    __m256i r[16];
    for (int l = 0; l < 16; l++) {
      if (!rows[l]) {
        r[l] = _mm256_setzero_si256 ();
        continue;
      }
      __m256i x;
      if (nb == 32) {
        x = _mm256_loadu_si256 ((const __m256i *) (rows[l] + d));
      } else {
        uint8_t tail[32] __attribute__((aligned (32))) = { 0 };
        memcpy (tail, rows[l] + d, (size_t) nb);
        x = _mm256_load_si256 ((const __m256i *) tail);
      }
      sum[l] = _mm256_add_epi64 (sum[l], _mm256_sad_epu8 (x,
              _mm256_setzero_si256 ()));
      r[l] = _mm256_xor_si256 (x, flip);
    }
    for (int h = 0; h < 2; h++) {
      const __m256i *a = r + 8 * h;
      __m256i t0 = _mm256_unpacklo_epi32 (a[0], a[1]);
      __m256i t1 = _mm256_unpackhi_epi32 (a[0], a[1]);
      __m256i t2 = _mm256_unpacklo_epi32 (a[2], a[3]);
      __m256i t3 = _mm256_unpackhi_epi32 (a[2], a[3]);
      __m256i t4 = _mm256_unpacklo_epi32 (a[4], a[5]);
      __m256i t5 = _mm256_unpackhi_epi32 (a[4], a[5]);
      __m256i t6 = _mm256_unpacklo_epi32 (a[6], a[7]);
      __m256i t7 = _mm256_unpackhi_epi32 (a[6], a[7]);
      /* u_i: keys 0–3 (or 4–7) of dword i in the low lane, of i + 4 in
       * the high lane */
      __m256i u[8];
      u[0] = _mm256_unpacklo_epi64 (t0, t2);
      u[1] = _mm256_unpackhi_epi64 (t0, t2);
      u[2] = _mm256_unpacklo_epi64 (t1, t3);
      u[3] = _mm256_unpackhi_epi64 (t1, t3);
      u[4] = _mm256_unpacklo_epi64 (t4, t6);
      u[5] = _mm256_unpackhi_epi64 (t4, t6);
      u[6] = _mm256_unpacklo_epi64 (t5, t7);
      u[7] = _mm256_unpackhi_epi64 (t5, t7);
      for (int i = 0; i < 4; i++) {
        const int lo = d / 4 + i, hi = d / 4 + i + 4;
        if (lo < D4)
          _mm256_store_si256 ((__m256i *) (kb + (int64_t) lo * 64 + 32 * h),
              _mm256_permute2x128_si256 (u[i], u[4 + i], 0x20));
        if (hi < D4)
          _mm256_store_si256 ((__m256i *) (kb + (int64_t) hi * 64 + 32 * h),
              _mm256_permute2x128_si256 (u[i], u[4 + i], 0x31));
      }
    }
  }
  for (int l = 0; l < 16; l++) {
    __m128i s2 = _mm_add_epi64 (_mm256_castsi256_si128 (sum[l]),
        _mm256_extracti128_si256 (sum[l], 1));
    int64_t s = _mm_cvtsi128_si64 (s2) + _mm_extract_epi64 (s2, 1);
    colc[l] = rows[l] ? -zq * (int32_t) s : 0;
  }
}
#endif

/* One quad of V: the four keys' rows vj[i] (NULL past Nk: zeros) of Dv
 * codes as s8 v − 128 (v ^ 0x80), interleaved out[4 d + i], zeros up to
 * Dv16. 16 dimensions at a time by the SSE2 4 × 16 byte transpose (an
 * x86-64 baseline); the tail in scalar. */
static void
pack_v_quad (const uint8_t * const *vj, int Dv, int Dv16, int8_t * out)
{
  int d = 0;
#ifdef SAM_X86
  const __m128i flip = _mm_set1_epi8 ((char) 0x80);
  if (vj[0] && vj[1] && vj[2] && vj[3])
    for (; d + 16 <= Dv; d += 16) {
      __m128i a = _mm_xor_si128 (_mm_loadu_si128 ((const __m128i *) (vj[0] +
                  d)), flip);
      __m128i b = _mm_xor_si128 (_mm_loadu_si128 ((const __m128i *) (vj[1] +
                  d)), flip);
      __m128i e = _mm_xor_si128 (_mm_loadu_si128 ((const __m128i *) (vj[2] +
                  d)), flip);
      __m128i f = _mm_xor_si128 (_mm_loadu_si128 ((const __m128i *) (vj[3] +
                  d)), flip);
      __m128i ab0 = _mm_unpacklo_epi8 (a, b), ab1 = _mm_unpackhi_epi8 (a, b);
      __m128i ef0 = _mm_unpacklo_epi8 (e, f), ef1 = _mm_unpackhi_epi8 (e, f);
      int8_t *o = out + 4 * d;
      _mm_storeu_si128 ((__m128i *) o, _mm_unpacklo_epi16 (ab0, ef0));
      _mm_storeu_si128 ((__m128i *) (o + 16), _mm_unpackhi_epi16 (ab0, ef0));
      _mm_storeu_si128 ((__m128i *) (o + 32), _mm_unpacklo_epi16 (ab1, ef1));
      _mm_storeu_si128 ((__m128i *) (o + 48), _mm_unpackhi_epi16 (ab1, ef1));
    }
#endif
  for (; d < Dv16; d++)
    for (int i = 0; i < 4; i++)
      out[4 * d + i] = d < Dv && vj[i] ? (int8_t) (vj[i][d] ^ 0x80) : 0;
}

/* pack task t = h · Nk16 + key group */
static void
pack_kv (void *vc, int64_t t0, int64_t t1)
{
  const Ctx *c = vc;
  for (int64_t t = t0; t < t1; t++) {
    int h = (int) (t / c->Nk16);
    int64_t g = t % c->Nk16;
    int8_t *kb = c->K8 + ((int64_t) h * c->Nk16 + g) * c->D4 * c->kw;
    const uint8_t *rows[16];
    for (int l = 0; l < 16; l++) {
      int64_t j = g * 16 + l;
      rows[l] = j < c->Nk ? c->k + j * c->ldk + (int64_t) h * c->D : NULL;
    }
    c->pack_k (rows, c->D, c->p->zq, kb,
        c->colc + (int64_t) h * c->Nk16 * 16 + g * 16);
    if (!c->pv) {
      /* the V quads of these 16 keys (4 quads), v − 128 as s8 */
      int8_t *vb = c->V8 + ((int64_t) h * c->Nk16 + g) * 4 * c->Dv16 * 4;
      for (int l4 = 0; l4 < 4; l4++) {
        const uint8_t *vj[4];
        for (int i = 0; i < 4; i++) {
          int64_t j = g * 16 + l4 * 4 + i;
          vj[i] = j < c->Nk ? c->v + j * c->ldv + (int64_t) h * c->Dv : NULL;
        }
        pack_v_quad (vj, c->Dv, c->Dv16, vb + (int64_t) l4 * c->Dv16 * 4);
      }
      continue;
    }
    /* the V pairs of these 16 keys (8 pairs) */
    for (int64_t pr = g * 8; pr < g * 8 + 8 && pr < c->Nk2; pr++) {
      int16_t *vb = c->V16 + ((int64_t) h * c->Nk2 + pr) * c->Dv16 * 2;
      const int64_t j = 2 * pr;
      if (j >= c->Nk) {
        memset (vb, 0, (size_t) c->Dv16 * 2 * sizeof *vb);
        continue;
      }
      const uint8_t *v0 = c->v + j * c->ldv + (int64_t) h * c->Dv;
      const uint8_t *v1 = j + 1 < c->Nk ? v0 + c->ldv : NULL;
      c->pack_v2 (v0, v1, c->Dv, c->Dv16, c->p->zv, vb);
    }
  }
}

/* block task t = h · nblk + row block */
static void
att_blocks (void *vc, int64_t t0, int64_t t1)
{
  const Ctx *c = vc;
  /* P rows end at the chunk of 64 keys past Nk: P·V reads whole pairs
   * (pv) or quads (pv8) of the last tile, and chunk flags (not a whole
   * 256-key tile: Hiera's windows have 16 to 196 keys) */
  const int64_t Nk = c->Nk, ldS = c->Nk16 * 16, ldp = rup (Nk, PCH);
  const int D4 = c->D4, Dv16 = c->Dv16, D = c->D;
  uint8_t *Qb = scratch (SC_QB, (size_t) RB * D4 * 4);
  float *S = scratch (SC_S, sizeof (float) * RB * ldS);
  int16_t *P = scratch (SC_P, sizeof (int16_t) * RB * ldp);
  int32_t *tile = scratch (SC_TILE, sizeof (int32_t) * RB * Dv16);
  int64_t *acc = scratch (SC_ACC, sizeof (int64_t) * RB * Dv16);
  void *tmp = scratch (SC_TMP, (size_t) Nk * 5);
  /* pv8: the byte planes of P and their chunk flags */
  const int64_t ldh = ldp / PCH;
  uint8_t *Pl = c->pv ? NULL : scratch (SC_P8, (size_t) 2 * RB * ldp);
  uint8_t *Ph = Pl ? Pl + RB * ldp : NULL;
  uint8_t *hi = c->pv ? NULL : scratch (SC_HI, (size_t) RB * ldh);
  /* P_NONE rows go straight into the byte planes where the ISA can, and
   * then chunks of keys far below a row's running maximum are flagged
   * dead by QKᵀ and skipped (P = 0 there): on the proxy's
   * cross-attention at 1024, 68 % of a row's 64-key chunks. The bound
   * needs the scores exact in float: |S| ≤ D · 255² < 2^24. */
  const bool planes = !c->pv && c->rf.p15_planes
      && c->p->pkind == SAM_ATT_P_NONE;
  uint8_t *dead = planes && D <= 258 ? scratch (SC_DEAD, (size_t) RB * ldh)
      : NULL;
  int64_t psum[RB];
  /* P·V reads whole pairs and quads: the row padding past Nk must be 0
   * (the planes path writes it) */
  for (int r = 0; r < RB && !planes; r++)
    memset (P + r * ldp + Nk, 0, (size_t) (ldp - Nk) * sizeof *P);
  double rho[RB];
  int32_t rowc[RB] = { 0 }, rmax[RB];
  const float cs = logit_scale (c->p, D);
  /* (s − m) · cs ≤ −16.5 in exact arithmetic leaves the float
   * (y − m) · c ≤ −16 that p15 maps to P = 0, with room for the rounding
   * (p8: ≤ −9.5 and −9, see p15_planes_avx512) */
  const int64_t far = (int64_t) ceil ((c->p->p8 ? 9.5 : 16.5) / (double) cs)
      + 2;
  const int32_t zq = c->p->zq, zk = c->p->zk;
  for (int64_t t = t0; t < t1; t++) {
    int h = (int) (t / c->nblk);
    int64_t i0 = (t % c->nblk) * RB;
    int nr = (int) MIN (RB, c->Nq - i0), nr4 = (nr + 3) & ~3;
    const int8_t *K8 = c->K8 + (int64_t) h * c->Nk16 * D4 * c->kw;
    const int32_t *colc = c->colc + (int64_t) h * ldS;
    const int16_t *V16 = c->V16 + (int64_t) h * c->Nk2 * Dv16 * 2;
    memset (Qb, 0, (size_t) RB * D4 * 4);
    for (int r = 0; r < RB; r++)
      rmax[r] = INT32_MIN;
    for (int r = 0; r < nr; r++) {
      const uint8_t *qi = c->q + (i0 + r) * c->ldq + (int64_t) h * D;
      memcpy (Qb + (int64_t) r * D4 * 4, qi, (size_t) D);
      int32_t sq = 0;
      for (int d = 0; d < D; d++)
        sq += qi[d];
      rowc[r] = (128 - zk) * sq + D * zq * zk;
    }
    /* S rows of the block, one key tile at a time */
    for (int64_t j0 = 0; j0 < Nk; j0 += QKT) {
      int nt = (int) MIN (QKT, Nk - j0), ng = (nt + 15) / 16;
      /* the next tile: this row block's keys, or the next block's first */
      const int64_t nx = j0 + QKT < Nk ? MIN (QKT, Nk - j0 - QKT) : 0;
      c->qk (Qb, nr4, D4, K8 + (j0 / 16) * D4 * c->kw, ng, nt, rowc,
          colc + j0, S + j0, ldS, rmax, nx ? K8 + (j0 / 16 + ng) * D4 *
          c->kw : NULL, (nx + 15) / 16 * D4 * c->kw, dead ? dead + j0 / PCH :
          NULL, ldh, far);
    }
    for (int r = 0; r < nr; r++) {
      if (planes) {
        psum[r] = c->rf.p15_planes (S + r * ldS, Nk, (float) rmax[r], cs,
            c->p->p8, ldp,
            Pl + r * ldp, Ph + r * ldp, hi + r * ldh,
            dead ? dead + r * ldh : NULL);
        rho[r] = psum[r] > 0 ? 1.0 / (double) psum[r] : 0.0;
      } else
        rho[r] = row_probs (&c->rf, S + r * ldS, Nk, (float) rmax[r], cs,
            c->p, P + r * ldp, tmp);
    }
    for (int r = nr; r < nr4; r++) {
      if (planes) {
        psum[r] = 0;
        memset (Pl + r * ldp, 0, (size_t) ldp);
        memset (Ph + r * ldp, 0, (size_t) ldp);
        memset (hi + r * ldh, 0, (size_t) ldh);
      } else
        memset (P + r * ldp, 0, (size_t) ldp * sizeof *P);
    }
    /* P·V by key tiles; the P padding past Nk stays 0 (never written) */
    bool sum32 = false;
    if (c->pv) {
      memset (acc, 0, (size_t) RB * Dv16 * sizeof *acc);
      for (int64_t j0 = 0; j0 < Nk; j0 += KT) {
        int nt = (int) MIN (KT, Nk - j0), npairs = (nt + 1) / 2;
        c->pv (P + j0, ldp, nr4, V16 + (j0 / 2) * Dv16 * 2, npairs, Dv16,
            tile);
        /* whole rows incl. the Dv16 padding (never read back): one run */
        c->acc_add (acc, tile, (int64_t) nr * Dv16);
      }
    } else {
      const int8_t *V8 = c->V8 + (int64_t) h * c->Nk16 * 4 * Dv16 * 4;
      for (int r = 0; r < nr4 && !planes; r++)
        psum[r] = c->split (P + r * ldp, ldp, Pl + r * ldp, Ph + r * ldp,
            hi + r * ldh);
      /* 8-bit P: |P8 (v − 128)| ≤ 255 · 128, so int32 sums of up to
       * 65,793 keys are exact and the tiles add up in place, and the
       * rows go out from the tile (15-bit P: every 256-key tile goes to
       * the int64 totals) */
      sum32 = c->p->p8 && Nk <= 65536;
      if (!sum32)
        memset (acc, 0, (size_t) RB * Dv16 * sizeof *acc);
      for (int64_t j0 = 0; j0 < Nk; j0 += KT) {
        int nt = (int) MIN (KT, Nk - j0), nquads = (nt + 3) / 4;
        c->pv8 (Pl + j0, Ph + j0, ldp, hi + j0 / PCH, ldh, nr4,
            V8 + j0 * Dv16, nquads, Dv16, tile, sum32 && j0 > 0);
        if (!sum32)
          c->acc_add (acc, tile, (int64_t) nr * Dv16);
      }
    }
    /* pv8 adds the (128 − zv) · Σ P term of v − zv = (v − 128) + (128 − zv)
     * here; int32 sums go out from the tile, never through the int64
     * totals (what small windows paid most for) */
    for (int r = 0; r < nr; r++) {
      const int64_t t = c->pv ? 0 : (int64_t) (128 - c->p->zv) * psum[r];
      float *o = c->out + (i0 + r) * c->ldo + (int64_t) h * c->Dv;
      if (sum32)
        c->out_row32 (o, tile + r * Dv16, c->Dv, rho[r], c->p->sv, t);
      else
        c->out_row (o, acc + r * Dv16, c->Dv, rho[r], c->p->sv, t);
    }
  }
}

/* The float-domain row functions of variant @isa */
static RowFns
row_fns (int isa)
{
  switch (isa) {
#ifdef SAM_X86
    case SAM_ISA_AVX512VNNI:
      return (RowFns) {
      p15_avx512, esum_avx512, agqp_avx512, p15_planes_avx512, NULL};
    case SAM_ISA_AVXVNNI:
    case SAM_ISA_AVX2:
      return (RowFns) {
      p15_avx2, esum_avx2, agqp_avx2, NULL, p8_avx2};
#endif
#ifdef SAM_ARM64
    case SAM_ISA_NEON:
    case SAM_ISA_NEONDOT:
      return (RowFns) {
      p15_neon, esum_orc, agqp_orc, NULL, p8_neon};
#endif
    default:
      return (RowFns) {
      p15_orc, esum_orc, agqp_orc, NULL, NULL};
  }
}

double
sam_att_i8_row_probs_isa (int isa, const float *y, int64_t n, float m,
    float c, const SamAttI8Params * p, int16_t * P, void *tmp)
{
  const RowFns f = row_fns (isa);
  return row_probs (&f, y, n, m, c, p, P, tmp);
}

void
sam_k_attention_i8_isa (int isa, SamPool * pool, const uint8_t * q,
    int64_t ldq, const uint8_t * k, int64_t ldk, const uint8_t * v,
    int64_t ldv, float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H,
    int D, int Dv, const SamAttI8Params * p)
{
  if (Nq <= 0)
    return;
  if (Nk <= 0) {
    sam_k_attention_i8_ref (q, ldq, k, ldk, v, ldv, out, ldo, Nq, Nk, H, D,
        Dv, p);
    return;
  }
  Ctx c = {
    .q = q,.k = k,.v = v,.ldq = ldq,.ldk = ldk,.ldv = ldv,.ldo = ldo,
    .Nq = Nq,.Nk = Nk,.H = H,.D = D,.Dv = Dv,.p = p,.out = out,
  };
  c.D4 = (D + 3) / 4;
  c.Dv16 = (int) rup (Dv, 16);
  c.Nk16 = (Nk + 15) / 16;
  c.Nk2 = c.Nk16 * 8;
  c.nblk = (Nq + RB - 1) / RB;
  c.out_row = out_row_c;
  c.out_row32 = out_row32_c;
  c.pack_k = pack_k_c;
  c.pack_v2 = pack_v_pair_c;
  c.kw = 64;
  switch (isa) {
#ifdef SAM_X86
    case SAM_ISA_AVX512VNNI:
      c.qk = qk_avx512;
      c.pv = NULL;
      c.split = split_p_avx512;
      c.pv8 = pv8_avx512;
      c.acc_add = acc_add_avx512;
      c.out_row = out_row_avx512;
      c.out_row32 = out_row32_avx512;
      c.pack_k = pack_k_avx512;
      break;
    case SAM_ISA_AVXVNNI:
      c.qk = sam_gemm_i8_vnni256_vex ()? qk_avxvnni : qk_avxvnni_evex;
      c.pv = NULL;
      c.split = split_p_avx2;
      c.pv8 = sam_gemm_i8_vnni256_vex ()? pv8_avxvnni : pv8_avxvnni_evex;
      c.acc_add = acc_add_avx2;
      c.out_row = out_row_avx2;
      c.out_row32 = out_row32_avx2;
      c.pack_k = pack_k_s8_avx2;
      break;
    case SAM_ISA_AVX2:
      c.kw = 128;
      c.pack_k = pack_k_avx2;
      c.qk = qk_avx2;
      c.pv = pv_avx2;
      c.pack_v2 = pack_v_pair_avx2;
      c.acc_add = acc_add_avx2;
      c.out_row = out_row_avx2;
      c.out_row32 = out_row32_avx2;
      break;
#endif
#ifdef SAM_ARM64
    case SAM_ISA_NEON:
    case SAM_ISA_NEONDOT:
      c.pack_k = pack_k_neondot;
      c.qk = isa == SAM_ISA_NEONDOT ? qk_neondot : qk_neon;
      c.pv = pv_neon;
      c.acc_add = acc_add_c;
      break;
#endif
    default:
      c.qk = qk_c;
      c.pv = pv_c;
      c.acc_add = acc_add_c;
  }
  c.rf = row_fns (isa);
  size_t kbytes = (size_t) H * c.Nk16 * c.D4 * c.kw;
  c.K8 = scratch (SC_K8, kbytes);
  c.colc = scratch (SC_COLC, sizeof (int32_t) * H * c.Nk16 * 16);
  if (c.pv)
    c.V16 = scratch (SC_V16, (size_t) H * c.Nk2 * c.Dv16 * 4);
  else
    c.V8 = scratch (SC_V16, (size_t) H * c.Nk16 * 16 * c.Dv16);
  sam_pool_for (pool, (int64_t) H * c.Nk16, 16, pack_kv, &c);
  /* a block is 0.1–1 ms of work: hand them out one at a time */
  sam_pool_for_each (pool, (int64_t) H * c.nblk, att_blocks, &c);
}

void
sam_k_attention_i8 (SamPool * pool, const uint8_t * q, int64_t ldq,
    const uint8_t * k, int64_t ldk, const uint8_t * v, int64_t ldv,
    float *out, int64_t ldo, int64_t Nq, int64_t Nk, int H, int D, int Dv,
    const SamAttI8Params * p)
{
  sam_att_i8_dump_maybe (q, ldq, k, ldk, v, ldv, Nq, Nk, H, D, Dv, p);
  sam_k_attention_i8_isa (sam_gemm_i8_isa (), pool, q, ldq, k, ldk, v, ldv,
      out, ldo, Nq, Nk, H, D, Dv, p);
}

const char *
sam_k_attention_i8_isa_name (void)
{
  return sam_isa_name (sam_gemm_i8_isa ());
}

uint8_t *
sam_att_i8_codes_buffer (int which, size_t bytes)
{
  g_return_val_if_fail (which >= 0 && which < 3, NULL);
  return scratch (SC_CODES0 + which, bytes);
}
