/* gstsamseg-engine-stub.c — used only while engine/session.c does not exist
 * (meson checks): the session entry points fail cleanly, so the plugin loads
 * and every non-inference path (caps, properties, parsing, errors) works. */
#include "sam/sam.h"

#include <string.h>

void
sam_session_params_init (SamSessionParams * p)
{
  memset (p, 0, sizeof *p);
  p->size = sizeof *p;
  p->max_objects = 16;
  p->num_maskmem = 7;
  p->max_cond_frames = 16;
  p->max_obj_ptrs = 16;
}

SamSession *
sam_session_new (SamModel * m, const SamSessionParams * p, GError ** error)
{
  g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED,
      "this build has no SAM session implementation (engine/session.c)");
  return NULL;
}

void
sam_session_free (SamSession * s)
{
}

gboolean
sam_session_add_prompt (SamSession * s, guint32 obj_id,
    const SamPrompt * prompt, GError ** error)
{
  g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED, "no session");
  return FALSE;
}

void
sam_session_remove_object (SamSession * s, guint32 obj_id)
{
}

void
sam_session_reset (SamSession * s)
{
}

gboolean
sam_session_process_frame (SamSession * s, const SamImage * frame,
    SamFrameResult * out, GError ** error)
{
  g_set_error (error, SAM_ERROR, SAM_ERROR_UNSUPPORTED, "no session");
  return FALSE;
}
