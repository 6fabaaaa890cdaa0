/* replay.h — replay a reference fixture's prompt schedule through a session.
 *
 * A fixture's __metadata__.meta says how the official predictor saw the
 * video: which prompts arrived before which frame, in streaming order.
 * samseg-check and the parity tests share this so they test the same thing.
 */
#ifndef SAM_TOOLS_REPLAY_H
#define SAM_TOOLS_REPLAY_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "fixture.h"
#include "sam/sam.h"

typedef struct {
  int image_size;
  guint64 seed;
  int n_overrides;
  char **override_names;
  double *override_adds;
  int num_frames;
  JsonNode *segments;           /* the "segments" array (owned) */
} SamFixtureMeta;

gboolean sam_fixture_meta_parse (const char *json, SamFixtureMeta * meta,
    GError ** error);
void sam_fixture_meta_clear (SamFixtureMeta * meta);

/* Rebuilds the fixture's synthetic model (seed + overrides) into a temp
 * file, loads it and deletes the file. */
SamModel *sam_fixture_build_model (const SamFixtureMeta * meta,
    GError ** error);

/* Called after each processed frame with its results. */
typedef void (*SamReplayFrameFunc) (int frame, const SamFrameResult * r,
    gpointer user_data);

/* Replays every segment: prompts for frame f are added right before f is
 * processed. Frames come from the fixture's "frames" tensor [N, S, S, 3]. */
gboolean sam_fixture_replay (const SamFixture * fx,
    const SamFixtureMeta * meta, SamSession * session,
    SamReplayFrameFunc frame_func, gpointer user_data, GError ** error);

#endif
