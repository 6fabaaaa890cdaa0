/* frame-source.h — the frames samseg-digest and samseg-check --video
 * track: a video through FFmpeg (builds with libav), or a raw clip, which
 * every build reads.
 *
 * A raw clip is the frames as the video decoder gave them, so that a
 * build without libav (a cross build checked under qemu) can track the
 * same pixels: the 8 bytes "SAMRGB1\n", then per frame its width and
 * height (uint32, little-endian) and width × height packed R, G, B bytes.
 * samseg-digest --save-frames writes one.
 */
#ifndef SAMSEG_TOOLS_FRAME_SOURCE_H
#define SAMSEG_TOOLS_FRAME_SOURCE_H

#include <stdio.h>

#include "io/video-decode.h"

typedef struct _SamFrameSource SamFrameSource;

/* A raw clip (by its first 8 bytes), else a video (FFmpeg builds only).
 * (transfer full) NULL with @err set when neither opens. */
SamFrameSource *sam_frame_source_open (const char *path, GError ** err);
/* The next frame into @vf (valid until the next call or the free); FALSE
 * at the end (@err unset) or on an error (@err set: a truncated or
 * malformed raw clip, a decode error). */
gboolean sam_frame_source_next (SamFrameSource * src, SamVideoFrame * vf,
    GError ** err);
void sam_frame_source_free (SamFrameSource * src);

/* Raw clip writing: the magic once, then each frame. FALSE with @err set
 * on a write error. */
gboolean sam_raw_clip_write_header (FILE * f, GError ** err);
gboolean sam_raw_clip_write_frame (FILE * f, const SamVideoFrame * vf,
    GError ** err);

#endif
