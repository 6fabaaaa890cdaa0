/* threadpool.h — a small fork/join pool: sam_pool_for() splits [0, n) into
 * contiguous chunks, one per thread, and returns when all are done.
 *
 * Every kernel partitions over independent outputs (rows, heads, channels)
 * and never reduces across chunks, so results are bit-identical whatever the
 * thread count.
 */
#ifndef SAM_CORE_THREADPOOL_H
#define SAM_CORE_THREADPOOL_H

#include <glib.h>
#include <stdint.h>

typedef struct _SamPool SamPool;
typedef void (*SamPoolFunc) (void *ctx, int64_t begin, int64_t end);

/* n_threads <= 0: one per online core. */
SamPool *sam_pool_new (int n_threads);
void sam_pool_free (SamPool * pool);
int sam_pool_n_threads (const SamPool * pool);

/* Runs fn over [0, n) in chunks of at least @grain items. @pool may be NULL
 * (runs inline). Not reentrant: do not call from inside fn. */
void sam_pool_for (SamPool * pool, int64_t n, int64_t grain, SamPoolFunc fn,
    void *ctx);
/* Bytes of one group of rows (or windows) whose steps all run on one core
 * (sam_pool_for_each): its intermediates stay in that core's L2 (1 MiB on
 * the machines measured), with room for the layers' weights. */
#define SAM_POOL_GROUP_BYTES ((int64_t) 640 << 10)

/* Rows per group when @n rows go to sam_pool_for_each () in groups of at
 * most @max_rows (what fits a core's cache): at least four groups per
 * thread where the rows allow (for the balance), a multiple of @multiple
 * (a kernel's row tile), and at least @multiple. */
int64_t sam_pool_group_rows (const SamPool * pool, int64_t n,
    int64_t max_rows, int multiple);

/* Runs fn over [0, n) one item at a time, each taken by the next free
 * thread: for a few dozen to a few thousand coarse items of uneven cost
 * (attention row blocks), where sam_pool_for's few contiguous chunks per
 * thread would leave a thread idle for up to a chunk at the end. */
void sam_pool_for_each (SamPool * pool, int64_t n, SamPoolFunc fn,
    void *ctx);

#endif
