/* memory-bank.h — libsamseg-memory-bank: the bounded per-object memory of a
 * SAM 2 video tracker, and the choice of which memories feed memory
 * attention for a frame (SAM2Base._prepare_memory_conditioned_features).
 *
 * A SamMemoryBank holds one object's memories: per processed frame the
 * memory-encoder features [n_tokens, mem_dim] (bfloat16 by default), the
 * object pointer [ptr_dim] and the object score. Its size is fixed by the
 * config, however long the stream: conditioning (prompted) frames up to
 * max_cond_frames, the last num_maskmem - 1 other frames' features and the
 * last max_obj_ptrs - 1 other frames' pointers. Selection then returns
 * exactly what the official predictor would use when frames arrive in
 * increasing order.
 *
 * Plain C11, no dependencies. Not thread-safe: one user at a time.
 */
#ifndef SAM_MEMORY_BANK_H
#define SAM_MEMORY_BANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Hard limits on the config (they size SamMemorySelection). */
#define SAM_MEMORY_BANK_MAX_MASKMEM 32
#define SAM_MEMORY_BANK_MAX_COND 64
#define SAM_MEMORY_BANK_MAX_PTRS 64
#define SAM_MEMORY_BANK_MAX_SPATIAL \
  (SAM_MEMORY_BANK_MAX_COND + SAM_MEMORY_BANK_MAX_MASKMEM - 1)
#define SAM_MEMORY_BANK_MAX_SEL_PTRS \
  (SAM_MEMORY_BANK_MAX_COND + SAM_MEMORY_BANK_MAX_PTRS - 1)

/* How features are stored. INT8: symmetric, one float scale per channel
 * (amax / 127 over the memory's tokens), 1 byte per value + 4 per channel. */
typedef enum {
  SAM_MEMORY_BANK_PRECISION_BF16 = 0,   /* as the reference stores them (default) */
  SAM_MEMORY_BANK_PRECISION_F32,
  SAM_MEMORY_BANK_PRECISION_INT8,
} SamMemoryBankPrecision;

typedef struct {
  int n_tokens;                 /* spatial tokens per memory (H2 * W2) */
  int mem_dim;                  /* channels per token (64) */
  int ptr_dim;                  /* object-pointer size (256) */
  int num_maskmem;              /* memories incl. the conditioning one (7), 1..MAX_MASKMEM */
  int max_cond_frames;          /* conditioning frames kept and attended (16), 2..MAX_COND */
  int max_obj_ptrs;             /* max_obj_ptrs_in_encoder (16), 1..MAX_PTRS */
  SamMemoryBankPrecision precision;     /* feature storage (default BF16) */
} SamMemoryBankConfig;

/* Defaults for SAM 2.1: 64×64 tokens (1024 input), 64, 256, 7, 16, 16, bf16. */
void sam_memory_bank_config_init (SamMemoryBankConfig * c);

typedef struct _SamMemoryBank SamMemoryBank;

/* NULL if the config is out of range or memory is short. (transfer full) */
SamMemoryBank *sam_memory_bank_new (const SamMemoryBankConfig * c);
void sam_memory_bank_free (SamMemoryBank * b);
/* Forgets every memory; the storage is kept. */
void sam_memory_bank_clear (SamMemoryBank * b);
const SamMemoryBankConfig *sam_memory_bank_config (const SamMemoryBank * b);

/* Stores frame @frame_idx's memory: @features [n_tokens, mem_dim] (values
 * are rounded to the config's precision), @obj_ptr [ptr_dim]. Frames are
 * expected in increasing order; storing a frame again replaces it, and a
 * conditioning frame replaces a non-conditioning memory of the same frame.
 * When there are more than max_cond_frames conditioning frames, the one the
 * official closest-frame selection drops (the oldest, for increasing
 * frames) is kept only as an ordinary recent frame. Returns false on bad
 * arguments (negative frame index). */
bool sam_memory_bank_add (SamMemoryBank * b, int64_t frame_idx, bool is_cond,
    const float *features, const float *obj_ptr, float object_score);

/* Counts: conditioning frames stored, other frames with features, other
 * frames with a pointer. */
int sam_memory_bank_n_cond (const SamMemoryBank * b);
int sam_memory_bank_n_recent (const SamMemoryBank * b);
int sam_memory_bank_n_ptrs (const SamMemoryBank * b);
bool sam_memory_bank_is_empty (const SamMemoryBank * b);
/* Bytes held: grows while the stores first fill, then stays constant. */
size_t sam_memory_bank_bytes (const SamMemoryBank * b);
/* Bytes of one memory's features at the config's precision. */
size_t sam_memory_bank_feature_bytes (const SamMemoryBankConfig * c);

/* ---- snapshots --------------------------------------------------------- */

/* Serializes the bank's contents (config, every stored memory with its
 * frame index, score, features as stored and pointer) to a portable
 * little-endian blob. Writes nothing when @len is too small; returns the
 * blob's size either way, so call it with NULL, 0 first. */
size_t sam_memory_bank_serialize (const SamMemoryBank * b, void *buf,
    size_t len);
/* Replaces @b's contents with a blob from sam_memory_bank_serialize():
 * restored memories are bit-identical. Fails (and leaves @b empty) when the
 * blob is malformed or was written with another config (token count,
 * dimensions, caps, precision). */
bool sam_memory_bank_deserialize (SamMemoryBank * b, const void *buf,
    size_t len);

/* ---- selection -------------------------------------------------------- */

/* A reference into the bank, valid until the next add/clear/free. */
typedef struct {
  int64_t frame_idx;
  int t_pos;                    /* 0: conditioning; else num_maskmem - (frame_idx_query - frame_idx) */
  bool is_cond;                 /* a selected conditioning frame */
  float object_score;
  const void *priv;             /* for sam_memory_bank_read_features */
} SamMemorySpatial;

typedef struct {
  int64_t frame_idx;
  int t_diff;                   /* signed: query frame - frame_idx */
  const float *obj_ptr;         /* [ptr_dim] (transfer none) */
} SamMemoryPtr;

typedef struct {
  /* Spatial memories in the reference's concatenation order: selected
   * conditioning frames (t_pos 0), then t_pos 1 .. num_maskmem - 1 for
   * frames query-(num_maskmem-1) .. query-1 that exist. */
  int n_spatial;
  SamMemorySpatial spatial[SAM_MEMORY_BANK_MAX_SPATIAL];
  /* Object pointers in order: past (or current) selected conditioning
   * frames, then frames query-1, query-2, ... up to t_diff_max. */
  int n_ptrs;
  SamMemoryPtr ptrs[SAM_MEMORY_BANK_MAX_SEL_PTRS];
  int max_obj_ptrs;             /* min (num_frames, max_obj_ptrs) */
  int t_diff_max;               /* max_obj_ptrs - 1: normalizes t_diff */
} SamMemorySelection;

/* What memory attention uses for frame @frame_idx (not itself an initial
 * conditioning frame). @num_frames: video length, or 0 when unknown (live).
 * Returns false (and n_spatial = 0) when the bank has no conditioning frame,
 * which the reference treats as an error. */
bool sam_memory_bank_select (const SamMemoryBank * b, int64_t frame_idx,
    int64_t num_frames, SamMemorySelection * sel);

/* Decodes a selected memory's features to float32 [n_tokens, mem_dim]. */
void sam_memory_bank_read_features (const SamMemoryBank * b,
    const SamMemorySpatial * s, float *out);

/* Official select_closest_cond_frames (sam2_utils.py) over @n frame indices
 * in insertion order: writes the selected ones, in the reference's dict
 * order, to @selected (room for min (n, max_cond)) and returns their
 * number. max_cond <= 0: all; else it must be >= 2, as the reference
 * asserts. */
int sam_memory_select_closest_cond (int64_t frame_idx, const int64_t * frames,
    int n, int max_cond, int64_t * selected);

/* ---- the objects of a stream ------------------------------------------ */

/* Banks of several objects keyed by object id, kept in insertion order
 * (the reference's obj_idx order). */
typedef struct _SamMemoryBankSet SamMemoryBankSet;

SamMemoryBankSet *sam_memory_bank_set_new (const SamMemoryBankConfig * c,
    int max_objects);
void sam_memory_bank_set_free (SamMemoryBankSet * s);
/* The object's bank, created empty if new; NULL when max_objects are
 * already tracked. (transfer none) */
SamMemoryBank *sam_memory_bank_set_add (SamMemoryBankSet * s,
    uint32_t obj_id);
SamMemoryBank *sam_memory_bank_set_get (const SamMemoryBankSet * s,
    uint32_t obj_id);
/* Frees the object's bank; later objects move up. False if unknown. */
bool sam_memory_bank_set_remove (SamMemoryBankSet * s, uint32_t obj_id);
/* Removes every object. */
void sam_memory_bank_set_reset (SamMemoryBankSet * s);
int sam_memory_bank_set_n_objects (const SamMemoryBankSet * s);
uint32_t sam_memory_bank_set_obj_id (const SamMemoryBankSet * s, int i);
SamMemoryBank *sam_memory_bank_set_nth (const SamMemoryBankSet * s, int i);
size_t sam_memory_bank_set_bytes (const SamMemoryBankSet * s);

#ifdef __cplusplus
}
#endif
#endif
