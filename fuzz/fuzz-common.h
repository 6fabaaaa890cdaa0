/* fuzz-common.h — shared bits of the fuzz targets: the libFuzzer entry
 * points and an invariant check that aborts (so both libFuzzer and the
 * standalone driver report it as a crash with the message). */
#ifndef SAMSEG_FUZZ_COMMON_H
#define SAMSEG_FUZZ_COMMON_H

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...) do {                                      \
    if (G_UNLIKELY (!(cond))) {                                         \
      fprintf (stderr, "%s:%d: invariant failed: %s: ", __FILE__,       \
          __LINE__, #cond);                                             \
      fprintf (stderr, __VA_ARGS__);                                    \
      fputc ('\n', stderr);                                             \
      abort ();                                                         \
    }                                                                   \
  } while (0)

/* Quiet GLib's default log handler: criticals from g_return_if_fail in the
 * code under test are bugs, so they abort; messages and warnings are muted. */
static inline void
fuzz_log_handler (const gchar * domain, GLogLevelFlags level,
    const gchar * message, gpointer user_data)
{
  (void) user_data;
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
    fprintf (stderr, "%s: %s\n", domain ? domain : "", message);
    abort ();
  }
}

static inline void
fuzz_quiet_glib (void)
{
  g_log_set_default_handler (fuzz_log_handler, NULL);
}

#endif
