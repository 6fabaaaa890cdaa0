#!/bin/sh
# Track objects through a video file from a first-frame prompt; write an
# overlay video and the per-frame masks (label PGMs + masks.jsonl with RLE).
#
#   examples/track-file.sh IN.mp4 MODEL.safetensors "1:+310,200" OUTDIR [INPUT_SIZE]
#
# Uses the uninstalled build in $BUILD (default: build) unless samseg and
# samseg-track-file are installed.
set -e
BUILD=${BUILD:-build}
if [ $# -lt 4 ]; then
  sed -n '2,9p' "$0"; exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "$here/$BUILD/gst-plugin" ]; then
  export GST_PLUGIN_PATH="$here/$BUILD/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
tool="$here/$BUILD/examples/samseg-track-file"
if [ ! -x "$tool" ]; then
  tool=$(command -v samseg-track-file || true)
fi
if [ -z "$tool" ]; then
  # not built by meson: build it with the uninstalled pkg-config file
  tool="$here/$BUILD/samseg-track-file"
  PKG_CONFIG_PATH="$here/$BUILD/meson-uninstalled" cc -O2 -o "$tool" \
    "$here/examples/track-file.c" \
    $(PKG_CONFIG_PATH="$here/$BUILD/meson-uninstalled" pkg-config --cflags --libs \
      gstreamer-samseg-1.0 gstreamer-video-1.0) \
    -Wl,-rpath,"$here/$BUILD/gst-plugin"
fi
exec "$tool" "$@"
