/* gstsamsegevent.h — prompt events for the samseg element (installed header,
 * library gstsamseg-1.0).
 *
 * Custom serialized events (GST_EVENT_CUSTOM_DOWNSTREAM, or
 * GST_EVENT_CUSTOM_UPSTREAM when sent from downstream) carrying a
 * GstStructure, bound to one frame by running time like force-key-unit: the
 * prompt applies to the first frame whose running time is >= @running_time
 * (GST_CLOCK_TIME_NONE: the next frame). Structure names:
 *   samseg-add-points   object-id (uint), points (GstValueArray of double:
 *                       x0, y0, x1, y1, ...), labels (GstValueArray of int:
 *                       1 positive, 0 negative), running-time (guint64)
 *   samseg-add-box      object-id, x0, y0, x1, y1 (double), running-time
 *   samseg-remove-object object-id, running-time
 *   samseg-reset        running-time
 * Coordinates are pixels of the frames entering samseg.
 */
#ifndef GST_SAMSEG_EVENT_H
#define GST_SAMSEG_EVENT_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  GST_SAMSEG_EVENT_NONE = 0,
  GST_SAMSEG_EVENT_ADD_POINTS,
  GST_SAMSEG_EVENT_ADD_BOX,
  GST_SAMSEG_EVENT_REMOVE_OBJECT,
  GST_SAMSEG_EVENT_RESET,
} GstSamSegEventType;

/* Returns the kind of samseg event @event is, or GST_SAMSEG_EVENT_NONE. */
GstSamSegEventType gst_samseg_event_get_type_of (GstEvent * event);

/* @upstream: FALSE for GST_EVENT_CUSTOM_DOWNSTREAM (sent into samseg's sink
 * pad or from upstream), TRUE for GST_EVENT_CUSTOM_UPSTREAM (sent from
 * downstream, e.g. with gst_element_send_event on a sink). */
GstEvent *gst_samseg_event_new_add_points (gboolean upstream,
    GstClockTime running_time, guint32 object_id, guint n_points,
    const gfloat * xy, const gint32 * labels);
GstEvent *gst_samseg_event_new_add_box (gboolean upstream,
    GstClockTime running_time, guint32 object_id, gfloat x0, gfloat y0,
    gfloat x1, gfloat y1);
GstEvent *gst_samseg_event_new_remove_object (gboolean upstream,
    GstClockTime running_time, guint32 object_id);
GstEvent *gst_samseg_event_new_reset (gboolean upstream,
    GstClockTime running_time);

/* Parsers return FALSE (and set @error, if given) on a malformed event:
 * missing fields, wrong types, NaN/inf, more than 64 points, x0 > x1.
 * *xy and *labels are newly allocated (g_free). */
gboolean gst_samseg_event_parse_add_points (GstEvent * event,
    GstClockTime * running_time, guint32 * object_id, guint * n_points,
    gfloat ** xy, gint32 ** labels, GError ** error);
gboolean gst_samseg_event_parse_add_box (GstEvent * event,
    GstClockTime * running_time, guint32 * object_id, gfloat box[4],
    GError ** error);
gboolean gst_samseg_event_parse_remove_object (GstEvent * event,
    GstClockTime * running_time, guint32 * object_id, GError ** error);
gboolean gst_samseg_event_parse_reset (GstEvent * event,
    GstClockTime * running_time, GError ** error);

G_END_DECLS
#endif /* GST_SAMSEG_EVENT_H */
