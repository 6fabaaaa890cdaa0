/* heap-tune.c — sam_tune_process_allocator (see sam.h): keep the heap's
 * freed memory in the process so that a frame's temporaries reuse it.
 *
 * Why: a frame allocates and frees tens of MB of temporaries (activations
 * of 25 MB and more at input 1024). glibc's adaptive thresholds decide,
 * from the history of sizes, whether freed memory at the top of a heap is
 * handed back to the kernel; when it is, the next frame faults it in
 * again, 4 KiB at a time. Which way it falls depends on the exact heap
 * layout: two builds that differ by one persistent scratch buffer measured
 * 0 vs 9,300 faults per frame at 512 (+50 ms of 160), and 520 vs 18,100
 * at 1024. Fixed thresholds take the lottery out.
 */
#include "sam/sam.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

static gint tuned = 0;

gboolean
sam_tune_process_allocator (void)
{
#if defined(__GLIBC__)
  if (g_atomic_int_get (&tuned))
    return TRUE;
  /* freed memory at a heap's top is kept up to 1 GiB (the default is
   * adaptive, from 128 KiB) */
  gboolean ok = mallopt (M_TRIM_THRESHOLD, 1 << 30) == 1;
  /* blocks of up to 32 MiB (glibc's maximum) come from the heap, not from
   * their own mapping that free() unmaps; fixing it also stops the
   * adaptive raising of both thresholds */
  ok = mallopt (M_MMAP_THRESHOLD, 32 << 20) == 1 && ok;
  if (ok)
    g_atomic_int_set (&tuned, 1);
  return ok;
#else
  return FALSE;
#endif
}

void
sam_release_process_heap (void)
{
#if defined(__GLIBC__)
  if (g_atomic_int_get (&tuned))
    malloc_trim (0);
#endif
}
