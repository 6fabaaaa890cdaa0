/* attention-i8-dump.h — the codes of real integer attention calls, written
 * to files and read back, so that the kernel can be timed on a model's own
 * rows (samseg-kbench -a). Random codes give flat rows, where almost no
 * 64-key chunk is far below its row's maximum; a trained model's rows are
 * peaked, and the kernel's dead-chunk paths, branches and memory traffic
 * behave differently on them: a change that wins on one can lose or do
 * nothing on the other.
 *
 * Set SAMSEG_DUMP_ATTENTION=DIR and every sam_k_attention_i8 call of the
 * process writes DIR/att-PID-SEQ.samatt (SEQ in call order): a header
 * (magic, the parameter block's size, Nq, Nk, H, D, Dv), the
 * SamAttI8Params as this build lays them out, then the q, k and v codes as
 * dense rows. A file is read back by the same build only (the size in the
 * header is checked). A developer's tool: ≈ 10 MB per call of the memory
 * attention at input 1024.
 */
#ifndef SAM_KERNELS_ATTENTION_I8_DUMP_H
#define SAM_KERNELS_ATTENTION_I8_DUMP_H

#include "kernels/attention-i8.h"

#include <glib.h>

typedef struct {
  int64_t Nq, Nk;
  int H, D, Dv;
  SamAttI8Params p;
  uint8_t *q, *k, *v;           /* dense: [Nq][H·D], [Nk][H·D], [Nk][H·Dv] */
} SamAttI8Dump;

/* Writes one call (strides as sam_k_attention_i8 takes them) to path. */
gboolean sam_att_i8_dump_write (const char *path, const uint8_t * q,
    int64_t ldq, const uint8_t * k, int64_t ldk, const uint8_t * v,
    int64_t ldv, int64_t Nq, int64_t Nk, int H, int D, int Dv,
    const SamAttI8Params * p, GError ** error);

/* Reads a file of sam_att_i8_dump_write; NULL and error on a short, foreign
 * or inconsistent file. Free with sam_att_i8_dump_free. */
SamAttI8Dump *sam_att_i8_dump_read (const char *path, GError ** error);
void sam_att_i8_dump_free (SamAttI8Dump * d);

/* The SAMSEG_DUMP_ATTENTION hook of sam_k_attention_i8: a no-op (one
 * branch) when the variable is not set; a warning if a file cannot be
 * written. */
void sam_att_i8_dump_maybe (const uint8_t * q, int64_t ldq,
    const uint8_t * k, int64_t ldk, const uint8_t * v, int64_t ldv,
    int64_t Nq, int64_t Nk, int H, int D, int Dv, const SamAttI8Params * p);

#endif
