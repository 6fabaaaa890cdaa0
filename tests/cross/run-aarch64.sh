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
# Usage: tests/cross/run-aarch64.sh [--no-install]
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
# Again on an emulated Cortex-A72 (the Raspberry Pi 4's core), which has
# no dot product: the int8 kernels must detect it and take the `neon`
# variant everywhere (an sdot reached anyway would be SIGILL here).
QEMU_CPU=cortex-a72 meson test -C "$BUILD" --no-rebuild --print-errorlogs \
  --timeout-multiplier 10 quant-gemm-i8 quant-attention-i8
