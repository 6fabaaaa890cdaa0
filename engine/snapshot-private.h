/* snapshot-private.h — the session snapshot's checksum, for the tools that
 * must produce valid snapshots by other means than a session (the snapshot
 * fuzzer re-signs mutated files so that the loader's checks past the
 * checksum are reached). Not installed. */
#ifndef SAM_SNAPSHOT_PRIVATE_H
#define SAM_SNAPSHOT_PRIVATE_H

#include <glib.h>
#include "core/safetensors.h"

/* FNV-1a 64 over the format name, @variant, @fingerprint, @state and every
 * tensor of @st (by name order: name, dtype, rank, shape, data): the value
 * of a snapshot's "checksum" metadata, as 16 hex digits. */
guint64 sam_snapshot_checksum (const SamSafetensors * st, const char *variant,
    const char *fingerprint, const char *state);

#endif
