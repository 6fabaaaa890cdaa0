#!/bin/bash
# The aarch64 check (.ci/run runs it last; docs/reliability.md): the engine,
# memory bank and their tests cross-built for aarch64 with Debian's cross
# toolchain, and the tests that need neither GStreamer nor libav run under
# qemu-user. It guards the NEON kernels (float GEMM, exp, LayerNorm, GELU,
# depthwise convolution; int8 with and without the dot product), which no
# x86 run compiles, against their plain C references and the official
# predictor's fixtures.
#
# qemu runs the binaries with Debian's arm64 libraries (-L /, multiarch):
# with the cross toolchain's own sysroot (/usr/aarch64-linux-gnu) qemu 7.2
# hangs in the first pthread_create, and every engine test starts a pool.
#
# Usage: tests/cross/run-aarch64.sh [--no-install]   (from a checkout
# where the native build with libav, `build`, exists or can be made)
#   --no-install  use the packages already there (a developer's machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-aarch64

install_packages () {
  local sudo=""
  [ "$(id -u)" != 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo dpkg --add-architecture arm64
  $sudo apt-get update
  # pkgconf:arm64 gives aarch64-linux-gnu-pkg-config, which finds the
  # arm64 .pc files; json-glib is a dependency of the tools the tests use.
  $sudo apt-get install -y --no-install-recommends \
    crossbuild-essential-arm64 qemu-user pkgconf:arm64 \
    libglib2.0-dev:arm64 libjson-glib-dev:arm64 liborc-0.4-dev:arm64
}

if [ "${1:-}" != "--no-install" ]; then
  # A machine whose archive has no arm64 packages cannot run this check;
  # say so loudly rather than fail the x86 results that came before it.
  if ! install_packages; then
    echo "run-aarch64.sh: SKIPPED: could not install the arm64 cross packages" >&2
    exit 0
  fi
fi

mkdir -p "$BUILD"
cat > "$BUILD/cross-aarch64.txt" <<'EOF'
[binaries]
c = 'aarch64-linux-gnu-gcc'
ar = 'aarch64-linux-gnu-ar'
strip = 'aarch64-linux-gnu-strip'
pkgconfig = 'aarch64-linux-gnu-pkg-config'
exe_wrapper = ['qemu-aarch64', '-L', '/']

[host_machine]
system = 'linux'
cpu_family = 'aarch64'
cpu = 'aarch64'
endian = 'little'
EOF
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --cross-file "$BUILD/cross-aarch64.txt" \
    -Dplugin=disabled -Dlibav=disabled
fi
ninja -C "$BUILD"

# Kernels against their C references (bit-exact where x86 is), quantizers,
# model loading, the memory bank, the fuzz corpora, and the float network
# pieces against the official predictor's outputs at input 256. Left out:
# the session and parity tests (tens of minutes under qemu), the tests that
# spawn the tools as child processes (they would need binfmt_misc), and
# everything that needs GStreamer or libav.
tests=(
  engine-kernels engine-kernels-force-ref
  quant-gemm-i8 quant-gemm-i8-force-ref quant-attention-i8
  quant-orc quant-orc-backup quant-quantizers
  model-load mask-util
  memory-bank/select memory-bank/storage memory-bank/serialize
  fuzz-safetensors fuzz-model-load fuzz-quant fuzz-snapshot
  nn-heads-t256 nn-image-t256 nn-memory/memory-encoder
)
# qemu is 20-50x slower than the host: the timeouts are the native ones
# scaled up.
meson test -C "$BUILD" --no-rebuild --print-errorlogs \
  --timeout-multiplier 10 "${tests[@]}"
# End to end, the x86-64 bits: the proxy tracks the first 2 frames of
# bedroom.mp4 at 256 (1 object), as float (its bf16 weights) and quantized
# W8A8 (natively, as tools-digest-golden-int8 does), and each digest under
# qemu must be the one the x86-64 SIMD kernels give. The frames come as a
# raw clip that the native build saves (this build has no libav): the
# native build is .ci/run's `build`, made here if it is missing.
NATIVE=build
[ -f "$NATIVE/build.ninja" ] || meson setup "$NATIVE"
ninja -C "$NATIVE" tools/samseg-digest tools/samseg-quantize
proxy=tests/data/models/sam2.1_hiera_t-proxy-shapes-bf16.safetensors
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$NATIVE/tools/samseg-digest" -m "$proxy" -v tests/data/media/bedroom.mp4 \
  -s 256 -n 2 -g 1 --save-frames "$work/bedroom.raw" > /dev/null
"$NATIVE/tools/samseg-quantize" "$proxy" --calib tests/data/media/bedroom.mp4 \
  --frames 2 --input-size 256 -o "$work/q.safetensors" > /dev/null
digest_under_qemu () {
  echo "aarch64 digest: $1"
  qemu-aarch64 -L / "$BUILD/tools/samseg-digest" -m "$1" \
    -v "$work/bedroom.raw" -s 256 -n 2 -g 1 -t 2 --expect "$2"
}
digest_under_qemu "$work/q.safetensors" \
  e2c55043ecac49c52077202090faebc5a07eaef57d971ef9f3f2a3eddd2dacc7
digest_under_qemu "$proxy" \
  908a8d7d7ae45812d9f1ded5aae36b65f0f2f223b764d91e3061e69d30788362

# Again on an emulated Cortex-A72 (the Raspberry Pi 4's core), which has
# no dot product: the int8 kernels must detect it and take the `neon`
# variant everywhere (an sdot reached anyway would be SIGILL here).
QEMU_CPU=cortex-a72 meson test -C "$BUILD" --no-rebuild --print-errorlogs \
  --timeout-multiplier 10 quant-gemm-i8 quant-attention-i8
