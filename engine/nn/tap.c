/* tap.c — debugging taps: hand intermediates to a callback in PyTorch layout. */
#include "nn.h"

void
sam_tap_hwc (const SamTap * tap, const char *name, const float *hwc, int H,
    int W, int C)
{
  if (!sam_tap_on (tap))
    return;
  float *chw = g_new (float, (size_t) H * W * C);
  sam_transpose (hwc, (int64_t) H * W, C, chw);
  int64_t shape[4] = { 1, C, H, W };
  tap->func (name, chw, shape, 4, tap->user_data);
  g_free (chw);
}

void
sam_tap_raw (const SamTap * tap, const char *name, const float *data,
    int ndim, const int64_t * shape)
{
  if (!sam_tap_on (tap))
    return;
  tap->func (name, data, shape, ndim, tap->user_data);
}
