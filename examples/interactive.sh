#!/bin/sh
# Interactive segmentation: click in the video window.
#   left click         positive point on the selected object (a new object if none)
#   shift+left click   start a new object      right click  negative point
#   key n              next left click starts a new object
#   key d / Delete     remove the selected object        key r  reset
#
#   examples/interactive.sh MODEL.safetensors [IN.mp4 | camera] [INPUT_SIZE]
#
# The clicks travel upstream from the video sink as GstNavigation events;
# videoconvert/videoscale in between translate the coordinates.
set -e
BUILD=${BUILD:-build}
if [ $# -lt 1 ]; then
  sed -n '2,12p' "$0"; exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "$here/$BUILD/gst-plugin" ]; then
  export GST_PLUGIN_PATH="$here/$BUILD/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
model=$1
src=${2:-camera}
size=${3:-0}
if [ "$src" = camera ]; then
  source="v4l2src ! videoconvert"
else
  source="filesrc location=$src ! decodebin ! videoconvert"
fi
# shellcheck disable=SC2086
exec gst-launch-1.0 $source ! samseg model="$model" input-size="$size" \
  overlay=true ! videoconvert ! autovideosink
