/* threadpool.c — fork/join pool over GThread.
 *
 * A job's range is cut into a few chunks per thread, which the threads
 * (the caller included) take in turn from an atomic counter: a thread that
 * is slowed (by a costlier part of the range, or on a shared machine by
 * another process) takes fewer chunks instead of holding the others at
 * the join. Chunks are fixed by (n, n_chunks) alone, so which thread runs
 * one never changes the results.
 *
 * Hand-off: a frame posts several hundred jobs, many of them a few tens of
 * microseconds long, and waking a thread blocked on a condition variable
 * took about 15 µs per job on the 2-vCPU development VM. So an idle worker
 * first spins for a short while on the job counter (and the caller on the
 * join) and only then blocks; with more threads than cores nobody spins. */
#include "threadpool.h"

/* how long a thread spins before it blocks */
#define SPIN_US 100

/* Chunks per thread: enough to even out a slowed thread, few enough that
 * each stays a long contiguous run (the kernels' tiles, packed panels). */
#define CHUNKS_PER_THREAD 4

struct _SamPool
{
  int n_threads;
  gboolean spin;                /* threads ≤ cores */
  GThread **threads;
  GMutex lock;
  GCond work_cond, done_cond;
  gint generation;              /* atomic: bumped for each job */
  gint pending;                 /* atomic: workers still in the current job */
  gint quit;                    /* atomic */
  gint sleepers;                /* atomic, changed under lock: workers
                                 * blocking on work_cond */
  gint joiner_sleeping;         /* atomic, changed under lock: the caller
                                 * blocks on done_cond */
  /* current job: written before the generation is bumped */
  SamPoolFunc fn;
  void *ctx;
  int64_t n;
  int n_chunks;
  gint next_chunk;              /* atomic: the next chunk to take */
};

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  /* the spin-wait hint (as pause): lets an SMT sibling run */
  __asm__ volatile ("yield");
#endif
}

/* Spins until cond (p) holds or SPIN_US pass; TRUE if it holds. */
static gboolean
spin_until (SamPool * p, gboolean (*cond) (SamPool *, gint), gint arg)
{
  if (!p->spin)
    return cond (p, arg);
  gint64 end = 0;
  for (int i = 0;; i++) {
    if (cond (p, arg))
      return TRUE;
    cpu_relax ();
    if ((i & 127) == 127) {
      gint64 now = g_get_monotonic_time ();
      if (!end)
        end = now + SPIN_US;
      else if (now >= end)
        return FALSE;
    }
  }
}

static gboolean
job_posted (SamPool * p, gint seen)
{
  return g_atomic_int_get (&p->generation) != seen
      || g_atomic_int_get (&p->quit);
}

static gboolean
job_joined (SamPool * p, gint unused)
{
  (void) unused;
  return g_atomic_int_get (&p->pending) == 0;
}

static void
chunk_range (int64_t n, int n_chunks, int k, int64_t * b, int64_t * e)
{
  *b = n * k / n_chunks;
  *e = n * (k + 1) / n_chunks;
}

/* Takes chunks of the current job until none is left. The job's fields
 * were written before the generation was bumped (or by this thread), so
 * they are read here without the lock. */
static void
run_chunks (SamPool * p)
{
  for (;;) {
    int k = g_atomic_int_add (&p->next_chunk, 1);
    if (k >= p->n_chunks)
      return;
    int64_t b, e;
    chunk_range (p->n, p->n_chunks, k, &b, &e);
    if (e > b)
      p->fn (p->ctx, b, e);
  }
}

static gpointer
worker_main (gpointer data)
{
  SamPool *p = data;
  gint seen = 0;
  for (;;) {
    if (!spin_until (p, job_posted, seen)) {
      g_mutex_lock (&p->lock);
      g_atomic_int_inc (&p->sleepers);
      while (!job_posted (p, seen))
        g_cond_wait (&p->work_cond, &p->lock);
      g_atomic_int_add (&p->sleepers, -1);
      g_mutex_unlock (&p->lock);
    }
    if (g_atomic_int_get (&p->quit))
      break;
    /* the caller posts no new job before this one is joined, so this is
     * the generation of the job just seen */
    seen = g_atomic_int_get (&p->generation);
    run_chunks (p);
    /* GLib's g_cond_signal makes a futex syscall even with no waiter;
     * the caller mostly spins on pending, so only wake it when it has said
     * it blocks. Both sides store, then load, sequentially consistent: the
     * caller sees pending at 0, or this sees joiner_sleeping and signals
     * under the lock, which the caller holds until it waits. */
    if (g_atomic_int_dec_and_test (&p->pending)
        && g_atomic_int_get (&p->joiner_sleeping)) {
      g_mutex_lock (&p->lock);
      g_cond_signal (&p->done_cond);
      g_mutex_unlock (&p->lock);
    }
  }
  return NULL;
}

SamPool *
sam_pool_new (int n_threads)
{
  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  if (n_threads > 256)
    n_threads = 256;
  SamPool *p = g_new0 (SamPool, 1);
  p->n_threads = n_threads;
  p->spin = n_threads <= (int) g_get_num_processors ();
  g_mutex_init (&p->lock);
  g_cond_init (&p->work_cond);
  g_cond_init (&p->done_cond);
  p->threads = g_new0 (GThread *, n_threads);
  for (int i = 1; i < n_threads; i++)
    p->threads[i] = g_thread_new ("samseg-worker", worker_main, p);
  return p;
}

void
sam_pool_free (SamPool * p)
{
  if (!p)
    return;
  g_mutex_lock (&p->lock);
  g_atomic_int_set (&p->quit, 1);
  g_cond_broadcast (&p->work_cond);
  g_mutex_unlock (&p->lock);
  for (int i = 1; i < p->n_threads; i++)
    g_thread_join (p->threads[i]);
  g_free (p->threads);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->work_cond);
  g_cond_clear (&p->done_cond);
  g_free (p);
}

int
sam_pool_n_threads (const SamPool * p)
{
  return p ? p->n_threads : 1;
}

static void pool_run (SamPool * p, int64_t n, int n_chunks, SamPoolFunc fn,
    void *ctx);

void
sam_pool_for (SamPool * p, int64_t n, int64_t grain, SamPoolFunc fn, void *ctx)
{
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  int n_chunks = p && p->n_threads > 1 ? p->n_threads * CHUNKS_PER_THREAD : 1;
  if (n / grain < n_chunks)
    n_chunks = (int) MAX (1, n / grain);
  pool_run (p, n, n_chunks, fn, ctx);
}

int64_t
sam_pool_group_rows (const SamPool * p, int64_t n, int64_t max_rows,
    int multiple)
{
  const int64_t groups = 4 * (int64_t) sam_pool_n_threads (p);
  const int64_t rows = MIN (max_rows, (n + groups - 1) / groups);
  return MAX (multiple, (rows + multiple - 1) / multiple * multiple);
}

void
sam_pool_for_each (SamPool * p, int64_t n, SamPoolFunc fn, void *ctx)
{
  if (n <= 0)
    return;
  pool_run (p, n, p && p->n_threads > 1 ? (int) MIN (n, 1 << 24) : 1, fn,
      ctx);
}

static void
pool_run (SamPool * p, int64_t n, int n_chunks, SamPoolFunc fn, void *ctx)
{
  if (n_chunks <= 1) {
    fn (ctx, 0, n);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->n_chunks = n_chunks;
  g_atomic_int_set (&p->next_chunk, 0);
  g_atomic_int_set (&p->pending, p->n_threads - 1);
  g_atomic_int_inc (&p->generation);
  /* A worker about to block counts itself in sleepers, then rechecks the
   * generation (both sequentially consistent, as the bump and the read
   * here): either it sees the new job, or the count is seen here and it is
   * woken under the lock, which it holds until it waits. */
  if (g_atomic_int_get (&p->sleepers) > 0) {
    g_mutex_lock (&p->lock);
    g_cond_broadcast (&p->work_cond);
    g_mutex_unlock (&p->lock);
  }

  run_chunks (p);

  if (!spin_until (p, job_joined, 0)) {
    g_mutex_lock (&p->lock);
    g_atomic_int_set (&p->joiner_sleeping, 1);
    while (!job_joined (p, 0))
      g_cond_wait (&p->done_cond, &p->lock);
    g_atomic_int_set (&p->joiner_sleeping, 0);
    g_mutex_unlock (&p->lock);
  }
}
