/* grid-track.c — see grid-track.h */
#include "grid-track.h"

gboolean
sam_grid_track (SamSession * s, SamFrameSource * d, int frames, int grid,
    SamGridFrameFunc on_frame, gpointer user_data, GError ** err)
{
  gboolean ok = TRUE;
  int f = 0;
  for (; ok && f < frames; f++) {
    SamVideoFrame vf;
    if (!sam_frame_source_next (d, &vf, err)) {
      ok = !(err && *err);
      break;
    }
    guint32 id = 1;
    for (int gy = 0; ok && f == 0 && gy < grid; gy++)
      for (int gx = 0; ok && gx < grid; gx++) {
        float pt[2] = { (gx + 0.5f) * vf.width / grid,
          (gy + 0.5f) * vf.height / grid
        };
        gint32 label = 1;
        SamPrompt p = { 1, pt, &label, FALSE, {0}, FALSE };
        ok = sam_session_add_prompt (s, id++, &p, err);
      }
    SamImage img = { SAM_PIXEL_RGB, vf.width, vf.height, vf.stride, vf.data };
    SamFrameResult fr;
    if (ok && (ok = sam_session_process_frame (s, &img, &fr, err)))
      on_frame (f, &vf, &fr, user_data);
  }
  if (ok && f == 0) {
    g_set_error (err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "no frames");
    ok = FALSE;
  }
  return ok;
}
