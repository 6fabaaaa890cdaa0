/* gstsamseg.h — the samseg element: a GstVideoFilter (in place) that tracks
 * prompted objects with the SAM 2.1 engine, attaches GstSamSegMeta and
 * GstVideoRegionOfInterestMeta, and optionally draws the masks. The element
 * is an adapter: the engine does the work, gstsamseg-prompt/convert/overlay
 * and gstsamsegmeta hold the pure-C parts.
 */
#ifndef GST_SAMSEG_H
#define GST_SAMSEG_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "sam/sam.h"
#include "gstsamseg-convert.h"

G_BEGIN_DECLS

#define GST_TYPE_SAMSEG (gst_samseg_get_type ())
G_DECLARE_FINAL_TYPE (GstSamSeg, gst_samseg, GST, SAMSEG, GstVideoFilter)

struct _GstSamSeg
{
  GstVideoFilter parent;

  /*< private > */
  /* properties, guarded by the object lock */
  gchar *model_path;
  gint threads;
  gint input_size;
  gchar *prompt;
  gchar *prompt_file;
  gboolean overlay;
  gdouble overlay_alpha;
  gboolean outline;
  guint inference_interval;
  gint max_objects;
  gdouble mask_threshold;
  gint memory_frames;
  gboolean post_messages;
  guint selected_object;
  gboolean tune_allocator;

  /* guarded by the object lock */
  GQueue pending;               /* PendingOp* */
  gboolean need_reset;          /* flush seen: reset before the next frame */
  gboolean nav_new_object;      /* next left click starts a new object */
  guint32 max_id_seen;
  GstClockTime qos_earliest;
  GstClockTime cost_ns;         /* measured per-frame inference cost */
  GstClockTime reported_latency;

  /* Held by the streaming thread while it uses the session, and by the
   * save-state / load-state signals, which run on the caller's thread. */
  GMutex session_lock;

  /* streaming thread only (and session_lock holders) */
  SamModel *model;
  SamSession *session;
  gint model_input;             /* input size S actually used */
  GstSamSegConverter *conv;
  guint8 *rgb;                  /* S x S x 3 */
  guint8 *mask;                 /* frame w x h scratch */
  GPtrArray *file_lines;        /* GstSamSegPromptLine* */
  gboolean prompt_armed;        /* apply the prompt property to the next frame */
  guint64 frame_count;          /* frames since start */
  guint64 frame_index;          /* frames since start or flush */
  guint64 last_fn;              /* G_MAXUINT64 after start/flush */
  GstClockTime last_st;
  GArray *objects;              /* guint32 ids of tracked objects */
  GArray *last;                 /* CarriedObject: last results */
  gint last_w, last_h;
  gboolean have_last;
};

GST_ELEMENT_REGISTER_DECLARE (samseg);

G_END_DECLS
#endif /* GST_SAMSEG_H */
