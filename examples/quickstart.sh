#!/bin/sh
# Quick start on Debian 12: install the build dependencies, build samseg, and
# track a shape through a video with the bundled demo model (SAM 2.1-tiny
# trained on synthetic moving shapes), writing an overlay video to watch.
#
#   ./examples/quickstart.sh [OUTPUT.webm]
#
# The prompt is a box around the shape on the first frame, in pixels of the
# video: "ID:X0,Y0,X1,Y1" (see docs/element.md for clicks and prompt files).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-samseg-demo.webm}

sh scripts/setup-debian.sh
[ -d build ] || meson setup build
ninja -C build

export GST_PLUGIN_PATH="$PWD/build/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
gst-launch-1.0 \
  filesrc location=tests/data/eval/clip07.mp4 ! qtdemux ! h264parse ! avdec_h264 ! \
  samseg model=tests/data/models/sam2.1_hiera_t-proxy-shapes-bf16.safetensors \
         input-size=512 prompt="1:67,354,221,431" overlay=true ! \
  videoconvert ! vp8enc deadline=1 target-bitrate=4000000 ! webmmux ! \
  filesink location="$OUT"
echo "wrote $OUT (watch it with any video player, e.g. 'gst-play-1.0 $OUT')"
