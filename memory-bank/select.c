/* select.c — which stored memories feed memory attention for a frame. */
#include "memory-bank-private.h"

#include <stdlib.h>
#include <string.h>

static int64_t
dist (int64_t a, int64_t b)
{
  return a > b ? a - b : b - a;
}

/* ref: sam2/modeling/sam2_utils.py select_closest_cond_frames
 * @over_cap forces the capped branch (its ordering) even for n <= max_cond:
 * the bank uses it once the reference would hold more frames than it. */
int
sam_memory_select_closest_cond_full (int64_t frame_idx,
    const int64_t * frames, int n, int max_cond, bool over_cap,
    int64_t * selected)
{
  int ns = 0, ib = -1, ia = -1;
  int64_t last_d = -1;
  int last_i = -1;

  if (max_cond <= 0 || (n <= max_cond && !over_cap)) {
    memcpy (selected, frames, sizeof (int64_t) * n);
    return n;
  }
  /* the closest frame before, then the closest at or after the frame */
  for (int i = 0; i < n; i++) {
    if (frames[i] < frame_idx && (ib < 0 || frames[i] > frames[ib]))
      ib = i;
    if (frames[i] >= frame_idx && (ia < 0 || frames[i] < frames[ia]))
      ia = i;
  }
  if (ib >= 0)
    selected[ns++] = frames[ib];
  if (ia >= 0)
    selected[ns++] = frames[ia];
  /* then the temporally closest others, equally distant ones in insertion
   * order (Python's sorted() is stable): take them in increasing
   * (distance, index) order, one scan per pick, no scratch memory */
  while (ns < max_cond) {
    int best = -1;
    int64_t best_d = 0;
    for (int i = 0; i < n; i++) {
      int64_t d = dist (frames[i], frame_idx);
      if (i == ib || i == ia)
        continue;
      if (d < last_d || (d == last_d && i <= last_i))
        continue;
      if (best < 0 || d < best_d) {
        best = i;
        best_d = d;
      }
    }
    if (best < 0)
      break;
    selected[ns++] = frames[best];
    last_d = best_d;
    last_i = best;
  }
  return ns;
}

int
sam_memory_select_closest_cond (int64_t frame_idx, const int64_t * frames,
    int n, int max_cond, int64_t * selected)
{
  return sam_memory_select_closest_cond_full (frame_idx, frames, n, max_cond,
      false, selected);
}

static void
add_spatial (SamMemorySelection * sel, const SamMemEntry * e, int t_pos,
    bool is_cond)
{
  SamMemorySpatial *s = &sel->spatial[sel->n_spatial++];

  s->frame_idx = e->frame_idx;
  s->t_pos = t_pos;
  s->is_cond = is_cond;
  s->object_score = e->score;
  s->priv = e;
}

static void
add_ptr (SamMemorySelection * sel, const SamMemEntry * e, int64_t frame_idx)
{
  SamMemoryPtr *p = &sel->ptrs[sel->n_ptrs++];

  p->frame_idx = e->frame_idx;
  p->t_diff = (int) (frame_idx - e->frame_idx);
  p->obj_ptr = e->ptr;
}

/* ref: sam2/modeling/sam2_base.py _prepare_memory_conditioned_features
 * (eval, forward tracking, memory_temporal_stride_for_eval 1,
 * only_obj_ptrs_in_the_past_for_eval, use_signed_tpos_enc_to_obj_ptrs) */
bool
sam_memory_bank_select (const SamMemoryBank * b, int64_t frame_idx,
    int64_t num_frames, SamMemorySelection * sel)
{
  int64_t frames[SAM_MEMORY_BANK_MAX_COND], chosen[SAM_MEMORY_BANK_MAX_COND];
  const int M = b->c.num_maskmem;
  int max_ptrs = b->c.max_obj_ptrs, nc;

  if (num_frames > 0 && num_frames < max_ptrs)
    max_ptrs = (int) num_frames;
  sel->n_spatial = sel->n_ptrs = 0;
  sel->max_obj_ptrs = max_ptrs;
  sel->t_diff_max = max_ptrs - 1;
  if (b->cond.n == 0)
    return false;

  for (int i = 0; i < b->cond.n; i++)
    frames[i] = b->cond.e[i].frame_idx;
  nc = sam_memory_select_closest_cond_full (frame_idx, frames, b->cond.n,
      b->c.max_cond_frames, b->cond_overflowed, chosen);

  /* Conditioning frames first, all with t_pos 0. */
  for (int i = 0; i < nc; i++) {
    const SamMemEntry *e = &b->cond.e[sam_mem_store_find (&b->cond,
            chosen[i])];
    add_spatial (sel, e, 0, true);
  }
  /* Then the last M - 1 frames, oldest first: t_pos 1 is M - 1 frames
   * back, t_pos M - 1 the previous frame. Missing frames leave a gap. */
  for (int t_pos = 1; t_pos < M; t_pos++) {
    int64_t f = frame_idx - (M - t_pos);
    int i = sam_mem_store_find (&b->recent, f);
    if (i < 0)
      continue;
    const SamMemEntry *e = &b->recent.e[i];
    add_spatial (sel, e, t_pos, false);
  }

  /* Pointers: selected conditioning frames not in the future, then up to
   * max_ptrs - 1 previous frames, nearest first. */
  for (int i = 0; i < nc; i++) {
    if (chosen[i] > frame_idx)
      continue;
    const SamMemEntry *e = &b->cond.e[sam_mem_store_find (&b->cond,
            chosen[i])];
    add_ptr (sel, e, frame_idx);
  }
  for (int t_diff = 1; t_diff < max_ptrs; t_diff++) {
    int64_t f = frame_idx - t_diff;
    if (f < 0 || (num_frames > 0 && f >= num_frames))
      break;
    int i = sam_mem_store_find (&b->ptrs, f);
    if (i >= 0)
      add_ptr (sel, &b->ptrs.e[i], frame_idx);
  }
  return true;
}
