/* gstsamsegmeta.h — GstSamSegMeta: the per-buffer segmentation result of the
 * samseg element (installed header, library gstsamseg-1.0).
 *
 * One meta per buffer holds every tracked object: id, object score (a logit:
 * > 0 means present), predicted IoU, bounding box, and the mask at the
 * resolution of the buffer it is attached to, run-length encoded (row-major,
 * runs alternate starting with a run of 0s, COCO style). The meta has tags
 * "video" and "size" and transform functions for copy and scale, so it
 * survives videoscale (masks are resampled to the new size).
 */
#ifndef GST_SAMSEG_META_H
#define GST_SAMSEG_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstSamSegMeta GstSamSegMeta;
typedef struct _GstSamSegObject GstSamSegObject;

/**
 * GstSamSegObject:
 * @id: object id (as given in the prompts, >= 1)
 * @object_score: object-presence logit (> 0: present)
 * @iou: the model's predicted IoU of the mask
 * @x: @y: @width: @height: bounding box of the mask (0 size if empty)
 * @area: number of mask pixels
 * @n_runs: number of runs in @runs
 * @runs: run lengths over the width*height pixels, starting with zeros
 */
struct _GstSamSegObject
{
  guint32 id;
  gfloat object_score;
  gfloat iou;
  gint x, y, width, height;
  guint64 area;
  guint n_runs;
  guint32 *runs;
};

/**
 * GstSamSegMeta:
 * @meta: parent
 * @width: @height: mask resolution (the frame size when attached)
 * @frame_index: frames since start or the last flush
 * @inferred: TRUE if the model ran on this frame, FALSE if masks were carried
 * @n_objects: number of entries in @objects
 * @objects: the objects (owned by the meta)
 */
struct _GstSamSegMeta
{
  GstMeta meta;
  guint width, height;
  guint64 frame_index;
  gboolean inferred;
  guint n_objects;
  GstSamSegObject *objects;
  /*< private > */
  guint n_alloc;
};

#define GST_SAMSEG_META_API_TYPE (gst_samseg_meta_api_get_type ())
#define GST_SAMSEG_META_INFO (gst_samseg_meta_get_info ())

GType gst_samseg_meta_api_get_type (void);
const GstMetaInfo *gst_samseg_meta_get_info (void);

#define gst_buffer_get_samseg_meta(b) \
  ((GstSamSegMeta *) gst_buffer_get_meta ((b), GST_SAMSEG_META_API_TYPE))

GstSamSegMeta *gst_buffer_add_samseg_meta (GstBuffer * buffer, guint width,
    guint height);

/* Encodes @mask (width*height bytes at @stride, nonzero = inside) and appends
 * an object; box and area are computed from the mask. (transfer none) */
GstSamSegObject *gst_samseg_meta_add_object (GstSamSegMeta * meta,
    guint32 id, gfloat object_score, gfloat iou, const guint8 * mask,
    gint stride);

/* Appends an object from an existing RLE (copied); validated: the runs must
 * add up to width*height. Returns NULL if not. */
GstSamSegObject *gst_samseg_meta_add_object_rle (GstSamSegMeta * meta,
    guint32 id, gfloat object_score, gfloat iou, const guint32 * runs,
    guint n_runs);

GstSamSegObject *gst_samseg_meta_get_object (GstSamSegMeta * meta,
    guint32 id);

/* Writes the object's mask into @dest (meta->width x meta->height bytes at
 * @stride): @value inside, 0 outside. Returns FALSE if the RLE is invalid. */
gboolean gst_samseg_meta_rasterize (const GstSamSegMeta * meta,
    const GstSamSegObject * obj, guint8 * dest, gint stride, guint8 value);

/* ---- run-length helpers (also used by the element) -------------------- */

/* Encodes a width x height mask. Returns a newly allocated array of runs and
 * sets *n_runs, *area and the box (x0,y0,x1,y1 inclusive; -1 if empty). */
guint32 *gst_samseg_rle_encode (const guint8 * mask, gint stride, guint width,
    guint height, guint * n_runs, guint64 * area, gint box[4]);

/* Decodes into @dest; returns FALSE if the runs do not add up. */
gboolean gst_samseg_rle_decode (const guint32 * runs, guint n_runs,
    guint width, guint height, guint8 * dest, gint stride, guint8 value);

G_END_DECLS
#endif /* GST_SAMSEG_META_H */
