#!/bin/sh
# digest-golden-int8.sh QUANTIZE DIGEST MODEL VIDEO HEX
# Quantizes MODEL (W8A8 defaults, 2 calibration frames of VIDEO at 256)
# into a temporary directory and checks samseg-digest's hash of tracking
# VIDEO with it (256, 2 frames, 1 object) against HEX. The exit status is
# samseg-digest's: 0 the same bits, 1 not, 77 skipped (plain C kernels).
set -u
quantize=$1 digest=$2 model=$3 video=$4 want=$5
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
"$quantize" "$model" --calib "$video" --frames 2 --input-size 256 \
  -o "$dir/q.safetensors" || exit 2
"$digest" -m "$dir/q.safetensors" -v "$video" -s 256 -n 2 -g 1 \
  --expect "$want"
