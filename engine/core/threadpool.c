/* threadpool.c — fork/join pool over GThread, mutex + condition variables.
 *
 * A job's range is cut into a few chunks per thread, which the threads
 * (the caller included) take in turn from an atomic counter: a thread that
 * is slowed (by a costlier part of the range, or on a shared machine by
 * another process) takes fewer chunks instead of holding the others at
 * the join. Chunks are fixed by (n, n_chunks) alone, so which thread runs
 * one never changes the results. */
#include "threadpool.h"

struct _SamPool
{
  int n_threads;
  GThread **threads;
  GMutex lock;
  GCond work_cond, done_cond;
  guint64 generation;           /* bumped for each job */
  int pending;                  /* workers still running the current job */
  gboolean quit;
  /* current job */
  SamPoolFunc fn;
  void *ctx;
  int64_t n;
  int n_chunks;
  gint next_chunk;              /* atomic: the next chunk to take */
};

/* Chunks per thread: enough to even out a slowed thread, few enough that
 * each stays a long contiguous run (the kernels' tiles, packed panels). */
#define CHUNKS_PER_THREAD 4

static void
chunk_range (int64_t n, int n_chunks, int k, int64_t * b, int64_t * e)
{
  *b = n * k / n_chunks;
  *e = n * (k + 1) / n_chunks;
}

/* Takes chunks of the current job until none is left. The job's fields
 * were written under the lock before the workers were woken (or by this
 * thread), so they are read here without it. */
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
  guint64 seen = 0;
  g_mutex_lock (&p->lock);
  for (;;) {
    while (!p->quit && p->generation == seen)
      g_cond_wait (&p->work_cond, &p->lock);
    if (p->quit)
      break;
    seen = p->generation;
    g_mutex_unlock (&p->lock);
    run_chunks (p);
    g_mutex_lock (&p->lock);
    if (--p->pending == 0)
      g_cond_signal (&p->done_cond);
  }
  g_mutex_unlock (&p->lock);
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
  p->quit = TRUE;
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
  if (n_chunks <= 1) {
    fn (ctx, 0, n);
    return;
  }
  g_mutex_lock (&p->lock);
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->n_chunks = n_chunks;
  g_atomic_int_set (&p->next_chunk, 0);
  p->pending = p->n_threads - 1;
  p->generation++;
  g_cond_broadcast (&p->work_cond);
  g_mutex_unlock (&p->lock);

  run_chunks (p);

  g_mutex_lock (&p->lock);
  while (p->pending > 0)
    g_cond_wait (&p->done_cond, &p->lock);
  g_mutex_unlock (&p->lock);
}
