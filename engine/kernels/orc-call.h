/* orc-call.h — how engine code calls a function of sam-orc.orc. */
#ifndef SAM_KERNELS_ORC_CALL_H
#define SAM_KERNELS_ORC_CALL_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* ORC 0.4.33's x86 JIT code sets MXCSR's flush-to-zero and
 * denormals-are-zero bits for its float opcodes and leaves them set on
 * return (0x1f80 -> 0x9fc0): every later float operation on the calling
 * thread — ours, other GStreamer elements' on the same streaming thread,
 * the host application's — would flush denormals. Each ORC call is
 * bracketed so that the thread keeps the floating-point mode it had. */
#if defined(__x86_64__) && defined(__GNUC__)
#define ORC_CALL(call) do { \
    const unsigned csr_ = _mm_getcsr (); \
    call; \
    _mm_setcsr (csr_); \
  } while (0)
#else
#define ORC_CALL(call) do { call; } while (0)
#endif

/* Whether ORC's JIT code is used at all. Not on aarch64: ORC 0.4.33's
 * aarch64 NEON code, cross-built and run under qemu-aarch64 7.2,
 * - gave other bits than the opcodes' definition (its backup C code, our
 *   references): it does not flush denormals, as ARMv7's NEON, which its
 *   rules were written for, always did, and its divf is a reciprocal
 *   estimate, not a division (four of tests/quant/test-orc.c's eight
 *   tests failed; with FPCR.FZ set for the call, one);
 * - failed orcc's own self-test of sam-orc.orc (tests/quant, the
 *   quant-orc-selftest run): wrong dequantized values, writes past the
 *   end of the destination (the quantize kernels' "OOB check"), then a
 *   crash in the in-place exponential.
 * There every wrapper runs its C reference (bit for bit what the tests
 * hold the ORC kernels to), or a NEON form of it where one exists. */
#if defined(__aarch64__)
#define SAM_ORC_JIT 0
#else
#define SAM_ORC_JIT 1
#endif

#endif
