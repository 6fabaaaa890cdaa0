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
#elif defined(__aarch64__) && defined(__GNUC__)
/* ORC 0.4.33's aarch64 NEON code does not flush denormals, which its
 * opcodes' definition (and its backup C code, and our references) do:
 * AArch64's Advanced SIMD flushes only with FPCR.FZ (bit 24) set, where
 * ARMv7's NEON, which ORC's NEON rules were written for, always did.
 * Under qemu-aarch64 the dequantize, quantize, softmax and normalize
 * kernels gave other bits than their references on denormal operands and
 * products (tests/quant/test-orc.c). Each ORC call runs with FZ set and
 * the thread's FPCR put back after it. */
#define ORC_CALL(call) do { \
    unsigned long fpcr_; \
    __asm__ volatile ("mrs %0, fpcr" : "=r" (fpcr_)); \
    __asm__ volatile ("msr fpcr, %0" : : "r" (fpcr_ | (1ul << 24))); \
    call; \
    __asm__ volatile ("msr fpcr, %0" : : "r" (fpcr_)); \
  } while (0)
#else
#define ORC_CALL(call) do { call; } while (0)
#endif

#endif
