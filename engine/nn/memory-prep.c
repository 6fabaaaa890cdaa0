/* memory-prep.c — the memory-attention inputs for one object and frame. */
#include "memory-prep.h"
#include "nn.h"

#include <string.h>

typedef struct {
  const SamMemoryBank *bank;
  const SamMemorySelection *sel;
  const float *maskmem_pos, *tpos_enc;
  float *mem, *pos;
  int T, D, M, num_maskmem;
} SpatialCtx;

/* spatial memories [s0, s1): features and position encodings */
static void
spatial_rows (void *vc, int64_t s0, int64_t s1)
{
  const SpatialCtx *c = vc;
  const int T = c->T, D = c->D;
  for (int64_t s = s0; s < s1; s++) {
    const SamMemorySpatial *sp = &c->sel->spatial[s];
    float *mrow = c->mem + (size_t) s * T * D;
    float *prow = c->pos + (size_t) s * T * D;
    /* maskmem_tpos_enc[num_maskmem - t_pos - 1]: row M - 1 for
     * conditioning frames, else the row of the frame distance - 1 (the
     * same thing when the bank keeps the model's num_maskmem). */
    int t_rel = c->num_maskmem - sp->t_pos;
    const float *tpos = c->tpos_enc
        + (size_t) (sp->t_pos == 0 ? c->M - 1 : t_rel - 1) * D;

    sam_memory_bank_read_features (c->bank, sp, mrow);
    for (int i = 0; i < T; i++)
      for (int d = 0; d < D; d++)
        prow[(size_t) i * D + d] = c->maskmem_pos[(size_t) i * D + d]
            + tpos[d];
  }
}

/* ref: sam2/modeling/sam2_base.py _prepare_memory_conditioned_features */
bool
sam_memory_build_tokens (const SamModel * m, SamPool * pool,
    const SamMemoryBank * bank, int64_t frame_idx, int64_t num_frames,
    const float *maskmem_pos, float **memory, float **memory_pos, int *n_mem,
    int *n_obj_ptr_tokens)
{
  const SamMemoryBankConfig *c = sam_memory_bank_config (bank);
  const int D = c->mem_dim, T = c->n_tokens, split = c->ptr_dim / D;
  const int M = m->hp.num_maskmem;
  const float *tpos_enc = sam_model_wd (m, "maskmem_tpos_enc");
  SamMemorySelection *sel = g_new (SamMemorySelection, 1);
  float *mem, *pos, *t_rel, *obj_pos;
  int64_t n;

  *memory = *memory_pos = NULL;
  *n_mem = *n_obj_ptr_tokens = 0;
  g_return_val_if_fail (D == m->hp.mem_dim && c->ptr_dim % D == 0
      && c->num_maskmem <= M, false);
  if (!sam_memory_bank_select (bank, frame_idx, num_frames, sel)) {
    g_free (sel);
    return false;
  }

  n = (int64_t) sel->n_spatial * T + (int64_t) sel->n_ptrs * split;
  mem = g_new (float, (size_t) n * D);
  pos = g_new (float, (size_t) n * D);

  SpatialCtx sc = { bank, sel, maskmem_pos, tpos_enc, mem, pos, T, D, M,
    c->num_maskmem
  };
  sam_pool_for (pool, sel->n_spatial, 1, spatial_rows, &sc);

  if (sel->n_ptrs > 0) {
    float *mp = mem + (size_t) sel->n_spatial * T * D;
    float *pp = pos + (size_t) sel->n_spatial * T * D;

    t_rel = g_new (float, sel->n_ptrs);
    obj_pos = g_new (float, (size_t) sel->n_ptrs * D);
    /* torch: int64 positions / int t_diff_max, in float32 */
    for (int p = 0; p < sel->n_ptrs; p++)
      t_rel[p] = (float) sel->ptrs[p].t_diff / (float) sel->t_diff_max;
    sam_obj_ptr_tpos (m, t_rel, sel->n_ptrs, obj_pos);
    /* A 256-wide pointer becomes 4 consecutive 64-wide tokens, each with
     * the pointer's temporal encoding (repeat_interleave). */
    for (int p = 0; p < sel->n_ptrs; p++)
      for (int j = 0; j < split; j++) {
        memcpy (mp + ((size_t) p * split + j) * D,
            sel->ptrs[p].obj_ptr + (size_t) j * D, sizeof (float) * D);
        memcpy (pp + ((size_t) p * split + j) * D, obj_pos + (size_t) p * D,
            sizeof (float) * D);
      }
    g_free (obj_pos);
    g_free (t_rel);
  }

  *memory = mem;
  *memory_pos = pos;
  *n_mem = (int) n;
  *n_obj_ptr_tokens = sel->n_ptrs * split;
  g_free (sel);
  return true;
}
