/* heap-tune.c — sam_tune_process_allocator (see sam.h): keep the heap's
 * freed memory in the process so that a frame's temporaries reuse it, and
 * move that memory onto transparent huge pages.
 *
 * Why the thresholds: a frame allocates and frees tens of MB of
 * temporaries (activations of 25 MB and more at input 1024). glibc's
 * adaptive thresholds decide, from the history of sizes, whether freed
 * memory at the top of a heap is handed back to the kernel; when it is,
 * the next frame faults it in again, 4 KiB at a time. Which way it falls
 * depends on the exact heap layout: two builds that differ by one
 * persistent scratch buffer measured 0 vs 9,300 faults per frame at 512
 * (+50 ms of 160), and 520 vs 18,100 at 1024. Fixed thresholds take the
 * lottery out.
 *
 * Why huge pages: with the heap kept, a frame walks the same 120-250 MB of
 * weights and temporaries every time, on 4 KiB pages: tens of thousands of
 * TLB entries, and each miss is a page walk (two-dimensional in a VM).
 * On 2 MiB pages the 512 / 1 frame took 3.7 % less time on the development
 * VM (12 alternated pairs, median difference -4.8 ms; up to -10 % in the
 * VM's slow phases), 1024 / 3 objects 4 %. glibc does the same
 * for its own heaps with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which a
 * library cannot set once the process runs; so this advises the heaps
 * (the main one and the threads' arenas) for transparent huge pages,
 * where the kernel's THP mode allows it, and collapses the pages already
 * there (MADV_COLLAPSE, Linux 6.1) a few at a time: about 1.3-2.2 ms per
 * MiB, once. The frame's memory stays the same; only its page size
 * changes. */
#include "sam/sam.h"

#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <stdio.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

static gint tuned = 0;

#if defined(__GLIBC__) && defined(__linux__) && defined(MADV_HUGEPAGE)
#define HAVE_THP 1
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25        /* Linux 6.1; older kernels: EINVAL */
#endif

#define HUGE_BYTES ((uintptr_t) 2 << 20)
/* glibc's thread arenas are heaps of HEAP_MAX_SIZE (2 × the largest mmap
 * threshold, 64 MiB on 64-bit), mapped at multiples of that size: a
 * read-write part that grows into a reserved (PROT_NONE) rest. */
#define ARENA_BYTES ((uintptr_t) 64 << 20)
/* a rescan of /proc/self/maps every this many steps finds new arenas */
#define RESCAN_STEPS 64

typedef struct {
  uintptr_t a, b;               /* a 2 MiB-aligned read-write range */
} Range;

static GMutex thp_lock;
static gboolean thp_allowed;    /* the kernel's THP mode is not "never" */
static gboolean collapse_works; /* the kernel knows MADV_COLLAPSE */
static GArray *pending;         /* Range: advised, not yet collapsed */
static uintptr_t seen_brk;
static guint steps;

static gboolean
thp_mode_allows (void)
{
  gchar *mode = NULL;
  gboolean ok = g_file_get_contents
      ("/sys/kernel/mm/transparent_hugepage/enabled", &mode, NULL, NULL)
      && strstr (mode, "[never]") == NULL;
  g_free (mode);
  return ok;
}

static void
advise (uintptr_t a, uintptr_t b, gboolean collapse)
{
  a = (a + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
  b &= ~(HUGE_BYTES - 1);
  if (b <= a)
    return;
  (void) madvise ((void *) a, b - a, MADV_HUGEPAGE);
  if (collapse && collapse_works) {
    Range r = { a, b };
    g_array_append_val (pending, r);
  }
}

/* Advises every heap of the allocator and queues their read-write parts
 * for collapsing (a range already on huge pages collapses at once). */
static void
scan_heaps (void)
{
  FILE *f = fopen ("/proc/self/maps", "re");
  if (!f)
    return;
  g_array_set_size (pending, 0);
  char line[512];
  uintptr_t arena_end = 0;      /* end of the arena just seen, if any */
  while (fgets (line, sizeof line, f)) {
    unsigned long a, b, off, ino;
    char perm[8], dev[16], name[64] = "";
    if (sscanf (line, "%lx-%lx %7s %lx %15s %lu %63s", &a, &b, perm, &off,
            dev, &ino, name) < 6)
      continue;
    const gboolean anon = ino == 0 && name[0] == '\0';
    const gboolean rw = perm[0] == 'r' && perm[1] == 'w';
    if (strcmp (name, "[heap]") == 0) {
      /* brk growth makes a new mapping without the advice: redone here */
      advise (a, b, rw);
      arena_end = 0;
    } else if (anon && rw && a % ARENA_BYTES == 0 && b - a <= ARENA_BYTES) {
      advise (a, b, TRUE);
      arena_end = a + ARENA_BYTES;
    } else if (anon && perm[0] == '-' && arena_end && b == arena_end) {
      /* the arena's reserved rest: its growth faults in huge pages */
      advise (a, b, FALSE);
      arena_end = 0;
    } else {
      arena_end = 0;
    }
  }
  fclose (f);
  seen_brk = (uintptr_t) sbrk (0);
}
#endif

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
#ifdef HAVE_THP
  g_mutex_lock (&thp_lock);
  if (ok && !pending) {
    thp_allowed = thp_mode_allows ();
    /* a known advice on an empty range succeeds (the kernel checks the
     * advice before the range); an unknown one (before Linux 6.1) is
     * EINVAL: then the advice alone stays, and pages already in use move
     * at khugepaged's pace */
    collapse_works = madvise (NULL, 0, MADV_COLLAPSE) == 0;
    pending = g_array_new (FALSE, FALSE, sizeof (Range));
  }
  g_mutex_unlock (&thp_lock);
#endif
  if (ok)
    g_atomic_int_set (&tuned, 1);
  return ok;
#else
  return FALSE;
#endif
}

gboolean
sam_process_heap_huge_pages_step (gint64 budget_us)
{
#ifdef HAVE_THP
  if (!g_atomic_int_get (&tuned) || !thp_allowed)
    return TRUE;
  /* one session at a time; another one's step does the work */
  if (!g_mutex_trylock (&thp_lock))
    return FALSE;
  if (steps++ % RESCAN_STEPS == 0 || (uintptr_t) sbrk (0) != seen_brk)
    scan_heaps ();
  const gint64 end = g_get_monotonic_time () + budget_us;
  while (pending->len > 0 && (budget_us < 0
          || g_get_monotonic_time () < end)) {
    Range *r = &g_array_index (pending, Range, pending->len - 1);
    /* a chunk that fails is skipped: EAGAIN (no free huge page now),
     * ENOMEM (a heap shrank under us) */
    (void) madvise ((void *) r->a, HUGE_BYTES, MADV_COLLAPSE);
    r->a += HUGE_BYTES;
    if (r->a >= r->b)
      g_array_set_size (pending, pending->len - 1);
  }
  gboolean done = pending->len == 0;
  g_mutex_unlock (&thp_lock);
  return done;
#else
  (void) budget_us;
  return TRUE;
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
