#!/bin/sh
# Installs everything samseg needs to build and test on Debian 12 (bookworm).
# Used by README's quick start and by CI (.ci/run), so they cannot drift.
set -eu
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  gcc libc6-dev meson ninja-build pkg-config \
  libglib2.0-dev libjson-glib-dev \
  liborc-0.4-dev liborc-0.4-dev-bin \
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad \
  gstreamer1.0-libav \
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
  check valgrind
