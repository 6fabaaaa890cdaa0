/* memory-prep.h — from a memory bank to memory-attention inputs
 * (SAM2Base._prepare_memory_conditioned_features), and the RoPE helpers of
 * memory attention (exposed for its tests).
 */
#ifndef SAM_NN_MEMORY_PREP_H
#define SAM_NN_MEMORY_PREP_H

#include <stdbool.h>
#include <stdint.h>
#include "core/threadpool.h"
#include "model/model.h"
#include "memory-bank.h"

/* Assembles memory and memory_pos ([n_mem, mem_dim] each, g_malloc'ed:
 * g_free them) for frame @frame_idx of a video of @num_frames frames (0:
 * unknown, live) in the reference's concatenation order: the selected
 * spatial memories as sam_memory_bank_select() lists them, each with pos =
 * @maskmem_pos [n_tokens, mem_dim] + maskmem_tpos_enc[num_maskmem - t_pos
 * - 1]; then the object pointers, each split into ptr_dim / mem_dim tokens
 * that share the pointer's temporal encoding (sam_obj_ptr_tpos). Returns
 * false, with nothing allocated, when the bank has no conditioning frame
 * (an initial conditioning frame uses no memory). The spatial memories are
 * read over @pool (NULL: this thread); the same values either way. */
bool sam_memory_build_tokens (const SamModel * m, SamPool * pool,
    const SamMemoryBank * bank, int64_t frame_idx, int64_t num_frames,
    const float *maskmem_pos, float **memory, float **memory_pos, int *n_mem,
    int *n_obj_ptr_tokens);

/* Axial RoPE table (compute_axial_cis) for an H×W grid and head width
 * @dim: cos_t, sin_t [H*W, dim/2]. */
void sam_rope_axial_table (int H, int W, int dim, float theta, float *cos_t,
    float *sin_t);
/* Rotates the @n rows of x (row stride @ld, @dim channels as dim/2 complex
 * pairs) by table row (r % @period) — the period repeats the rotation for
 * each memory frame (rope_k_repeat). In place. */
void sam_rope_apply (SamPool * pool, float *x, int64_t n, int dim,
    int64_t ld, const float *cos_t, const float *sin_t, int64_t period);
/* The same for rows that are rows [first, first + n) of the whole: row r
 * of x takes table row ((first + r) % period). */
void sam_rope_apply_from (SamPool * pool, float *x, int64_t first,
    int64_t n, int dim, int64_t ld, const float *cos_t, const float *sin_t,
    int64_t period);

#endif
