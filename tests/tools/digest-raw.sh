#!/bin/sh
# digest-raw.sh DIGEST MODEL VIDEO
# samseg-digest --save-frames writes the tracked frames as a raw clip
# (tools/frame-source.h); tracking that clip gives the same digest as the
# video (the aarch64 check under qemu, built without libav, relies on it);
# a truncated clip and a foreign file are errors (exit 2), not crashes.
set -u
digest=$1 model=$2 video=$3
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
a=$("$digest" -m "$model" -v "$video" -s 256 -n 3 -g 2 -t 2 \
  --save-frames "$dir/c.raw") || exit 1
b=$("$digest" -m "$model" -v "$dir/c.raw" -s 256 -n 3 -g 2 -t 2) || exit 1
echo "video $a"
echo "raw   $b"
[ "$a" = "$b" ] || { echo "the raw clip tracks differently"; exit 1; }
size=$(wc -c < "$dir/c.raw")
head -c $((size - 7)) "$dir/c.raw" > "$dir/t.raw"
"$digest" -m "$model" -v "$dir/t.raw" -s 256 -n 3 -g 2 2> "$dir/err"
rc=$?
cat "$dir/err"
[ $rc = 2 ] && grep -q "truncated frame" "$dir/err" || { echo "truncated clip: rc $rc"; exit 1; }
printf 'SAMRGB1\n\377\377\377\177\1\0\0\0' > "$dir/h.raw"
"$digest" -m "$model" -v "$dir/h.raw" -s 256 -n 1 -g 1 2> "$dir/err"
rc=$?
cat "$dir/err"
[ $rc = 2 ] && grep -q "frame header" "$dir/err" || { echo "bad header: rc $rc"; exit 1; }
exit 0
