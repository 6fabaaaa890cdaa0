/* grid-track.h — tracks a clip's first frames with one object per cell of
 * a grid of click prompts on frame 0: the input of samseg-check --video
 * and samseg-digest.
 */
#ifndef SAMSEG_TOOLS_GRID_TRACK_H
#define SAMSEG_TOOLS_GRID_TRACK_H

#include "sam/sam.h"
#include "frame-source.h"

/* @vf: the frame's pixels as tracked; @r: its results */
typedef void (*SamGridFrameFunc) (int frame, const SamVideoFrame * vf,
    const SamFrameResult * r, gpointer user_data);

/* Reads up to @frames frames of @d and processes them in @s; on frame 0,
 * object i (ids from 1, row by row) gets a positive click at the centre of
 * cell i of a @grid × @grid grid over the frame. @on_frame sees every
 * processed frame's results. FALSE with @err set on a decode or engine
 * error, or when the clip has no frame. */
gboolean sam_grid_track (SamSession * s, SamFrameSource * d, int frames,
    int grid, SamGridFrameFunc on_frame, gpointer user_data, GError ** err);

#endif
