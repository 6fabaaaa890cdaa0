/* harness-util.h — what the samseg element tests share: the synthetic model
 * (SAMSEG_TEST_MODEL), a GstHarness around "samseg name=seg" at input 256,
 * test frames painted in RGB and converted to any format, and the meta. */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstsamsegmeta.h"

#define SAMSEG_TEST_INPUT_SIZE 256

/* Paints row y (w RGB pixels) of test frame n. */
typedef void (*SamsegTestPaintRow) (guint8 * rgb_row, gint y, gint w, gint h,
    gint n);

const gchar *samseg_test_model_path (void);

/* samseg (input 256, 2 threads, PROPS appended) with FORMAT w×h at 25 fps
 * on its source pad. */
GstHarness *samseg_test_harness (const gchar * props, const gchar * format,
    gint w, gint h);

/* Frame n (PTS n/25 s) painted by PAINT in RGB, converted to FORMAT. */
GstBuffer *samseg_test_frame (const gchar * format, gint w, gint h, gint n,
    SamsegTestPaintRow paint);

/* Pushes BUF (must flow OK) and pulls the output buffer. */
GstBuffer *samseg_test_push_pull (GstHarness * h, GstBuffer * buf);

/* The buffer's GstSamSegMeta; fails the test when it has none. */
GstSamSegMeta *samseg_test_meta_of (GstBuffer * b);
