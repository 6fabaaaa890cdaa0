/* memory-bank-private.h — the bank's storage, shared by memory-bank.c
 * (storing) and select.c (choosing what memory attention sees). */
#ifndef SAM_MEMORY_BANK_PRIVATE_H
#define SAM_MEMORY_BANK_PRIVATE_H

#include "memory-bank.h"

typedef struct {
  int64_t frame_idx;
  float score;
  void *feat;                   /* sam_mem_feat_bytes (): bf16, float or int8 + scales */
  float *ptr;                   /* ptr_dim */
} SamMemEntry;

/* e[0..n) are live; e[n..cap) are spares whose buffers are reused. */
typedef struct {
  SamMemEntry *e;
  int n, cap;
} SamMemStore;

struct _SamMemoryBank
{
  SamMemoryBankConfig c;
  SamMemStore cond;             /* insertion order */
  SamMemStore recent;           /* features, sorted by frame */
  SamMemStore ptrs;             /* pointers, sorted by frame */
  /* More conditioning frames than max_cond_frames were added: the
   * reference, which keeps them all, then orders its selection by
   * closeness instead of insertion. */
  bool cond_overflowed;
  size_t bytes;
};

int sam_mem_store_find (const SamMemStore * s, int64_t frame_idx);
size_t sam_mem_feat_bytes (const SamMemoryBank * b);
/* Makes sure @e owns the buffers its store needs; false if out of memory. */
bool sam_mem_entry_alloc (SamMemoryBank * b, SamMemEntry * e, bool feat,
    bool ptr);
int sam_memory_select_closest_cond_full (int64_t frame_idx,
    const int64_t * frames, int n, int max_cond, bool over_cap,
    int64_t * selected);

#endif
