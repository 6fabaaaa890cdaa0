/* tsan-glib.c — makes GLib's locks visible to ThreadSanitizer.
 *
 * On Linux GLib implements GMutex, GRecMutex, GRWLock and GCond on futexes
 * inside the (uninstrumented) libglib, so TSan sees no synchronization at
 * all between threads that use them (GST_OBJECT_LOCK, the engine's thread
 * pool, the pad stream lock) and reports every access they protect as a
 * race. Preloaded into the TSan run (LD_PRELOAD), this library wraps the
 * lock functions and tells TSan about the happens-before edges they
 * create; the real functions do the locking. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);

#define REAL(ret, name, args) \
  static ret (*real_##name) args; \
  if (!real_##name) \
    real_##name = (ret (*) args) dlsym (RTLD_NEXT, #name)

void
g_mutex_lock (GMutex * m)
{
  REAL (void, g_mutex_lock, (GMutex *));
  real_g_mutex_lock (m);
  __tsan_acquire (m);
}

gboolean
g_mutex_trylock (GMutex * m)
{
  REAL (gboolean, g_mutex_trylock, (GMutex *));
  gboolean r = real_g_mutex_trylock (m);
  if (r)
    __tsan_acquire (m);
  return r;
}

void
g_mutex_unlock (GMutex * m)
{
  REAL (void, g_mutex_unlock, (GMutex *));
  __tsan_release (m);
  real_g_mutex_unlock (m);
}

void
g_rec_mutex_lock (GRecMutex * m)
{
  REAL (void, g_rec_mutex_lock, (GRecMutex *));
  real_g_rec_mutex_lock (m);
  __tsan_acquire (m);
}

gboolean
g_rec_mutex_trylock (GRecMutex * m)
{
  REAL (gboolean, g_rec_mutex_trylock, (GRecMutex *));
  gboolean r = real_g_rec_mutex_trylock (m);
  if (r)
    __tsan_acquire (m);
  return r;
}

void
g_rec_mutex_unlock (GRecMutex * m)
{
  REAL (void, g_rec_mutex_unlock, (GRecMutex *));
  __tsan_release (m);
  real_g_rec_mutex_unlock (m);
}

void
g_rw_lock_writer_lock (GRWLock * l)
{
  REAL (void, g_rw_lock_writer_lock, (GRWLock *));
  real_g_rw_lock_writer_lock (l);
  __tsan_acquire (l);
}

void
g_rw_lock_writer_unlock (GRWLock * l)
{
  REAL (void, g_rw_lock_writer_unlock, (GRWLock *));
  __tsan_release (l);
  real_g_rw_lock_writer_unlock (l);
}

void
g_rw_lock_reader_lock (GRWLock * l)
{
  REAL (void, g_rw_lock_reader_lock, (GRWLock *));
  real_g_rw_lock_reader_lock (l);
  __tsan_acquire (l);
}

void
g_rw_lock_reader_unlock (GRWLock * l)
{
  REAL (void, g_rw_lock_reader_unlock, (GRWLock *));
  __tsan_release (l);
  real_g_rw_lock_reader_unlock (l);
}

void
g_cond_wait (GCond * c, GMutex * m)
{
  REAL (void, g_cond_wait, (GCond *, GMutex *));
  __tsan_release (m);
  real_g_cond_wait (c, m);
  __tsan_acquire (m);
}

gboolean
g_cond_wait_until (GCond * c, GMutex * m, gint64 end_time)
{
  REAL (gboolean, g_cond_wait_until, (GCond *, GMutex *, gint64));
  __tsan_release (m);
  gboolean r = real_g_cond_wait_until (c, m, end_time);
  __tsan_acquire (m);
  return r;
}
