#!/bin/bash
# The sanitizer and valgrind checks, each step timed (.ci/run runs asan and
# tsan after the plain suite; valgrind is too slow for CI, see
# docs/reliability.md):
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (gcc): the whole suite
#      except the 'slow' one (fuzz targets included: they replay the corpus
#      and run their mutations under ASan/UBSan);
#   2. ThreadSanitizer: the element's concurrency test (prompts from
#      application threads while frames stream), with tsan-glib.c preloaded
#      so that TSan sees GLib's futex-based locks, and a registry of only
#      the plugins the test uses;
#   3. valgrind memcheck: the element tests (gst-samseg, gst-stream) on the
#      plain build from step 0, definite leaks are errors.
# Usage: tests/sanitizers/run-sanitizers.sh [asan|tsan|valgrind]...  (default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
SUPP="$PWD/tests/sanitizers"
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(asan tsan valgrind)

step_asan () {
  rm -rf build-asan
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
  # detect_leaks: LeakSanitizer at exit; GLib/GStreamer one-time allocations
  # are in lsan.supp (full stacks, fast_unwind_on_malloc=0, so that the
  # suppressions see the uninstrumented callers). UBSan findings abort.
  # GST_REGISTRY_FORK=no: the registry is scanned in-process, because the
  # uninstrumented gst-plugin-scanner cannot load the ASan-built plugin.
  ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:verify_asan_link_order=0:strict_string_checks=1:check_initialization_order=1" \
  UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1" \
  LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0" \
  G_SLICE=always-malloc G_DEBUG=gc-friendly GST_REGISTRY_FORK=no \
    meson test -C build-asan --no-suite slow --print-errorlogs \
      --timeout-multiplier 4
}

step_tsan () {
  rm -rf build-tsan
  meson setup build-tsan -Db_sanitize=thread -Db_lundef=false
  ninja -C build-tsan tests/gst/test-gst-concurrency gst-plugin/libgstsamseg.so
  # GLib's futex-based locks are invisible to TSan: tell it about them
  cc -shared -fPIC -O1 -o build-tsan/tsan-glib.so "$SUPP/tsan-glib.c" \
    $(pkg-config --cflags glib-2.0) -ldl
  # the test model from the plain build (making it under TSan takes minutes)
  [ -d build ] || meson setup build
  ninja -C build tests/synth-s1-present.safetensors
  # A registry of only the plugins the test uses, scanned in-process (the
  # uninstrumented gst-plugin-scanner cannot load a TSan-built plugin):
  # scanning the whole system plugin directory in-process would load every
  # library those plugins link, and some (libOpenNI2, DirectFB) misuse
  # mutexes in their constructors, which TSan rightly reports.
  local sysdir plugins=build-tsan/tsan-plugins
  sysdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
  rm -rf "$plugins" build-tsan/registry-tsan.bin
  mkdir -p "$plugins"
  ln -s "$PWD/build-tsan/gst-plugin/libgstsamseg.so" "$plugins/"
  for p in coreelements videotestsrc; do
    ln -s "$sysdir/libgst$p.so" "$plugins/"
  done
  GST_PLUGIN_SYSTEM_PATH_1_0="$PWD/$plugins" GST_PLUGIN_PATH_1_0= \
  GST_REGISTRY="$PWD/build-tsan/registry-tsan.bin" GST_REGISTRY_FORK=no \
  CK_FORK=no CK_DEFAULT_TIMEOUT=1200 SAMSEG_CONCURRENCY_FRAMES=4 \
  LD_PRELOAD="$PWD/build-tsan/tsan-glib.so" \
  SAMSEG_TEST_MODEL="$PWD/build/tests/synth-s1-present.safetensors" \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp" \
    build-tsan/tests/gst/test-gst-concurrency
}

step_valgrind () {
  [ -d build ] || meson setup build
  ninja -C build
  # --errors-for-leak-kinds=definite: a definite leak fails the test;
  # GLib/GStreamer's one-time allocations are 'possibly'/'reachable'.
  # SAMSEG_FORCE_ISA=ref: valgrind 3.19 has no AVX-512 and emulates
  # AVX2+FMA some 60x slower than the portable C kernels' SSE code.
  # Each binary takes about 2 h under memcheck (gst-samseg: 7,190 s), over
  # the 20x multiplier of gst-stream's 300 s on a loaded machine.
  G_SLICE=always-malloc G_DEBUG=gc-friendly SAMSEG_VALGRIND=1 SAMSEG_FORCE_ISA=ref \
    meson test -C build --no-rebuild gst-samseg gst-stream --print-errorlogs \
      --timeout-multiplier 40 \
      --wrapper "valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
        --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --track-origins=no --num-callers=30 --suppressions=$SUPP/valgrind.supp"
}

for s in "${steps[@]}"; do
  echo "=== sanitizers: $s"
  start=$(date +%s)
  "step_$s"
  echo "=== sanitizers: $s took $(( $(date +%s) - start )) s"
done
