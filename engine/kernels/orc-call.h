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

#endif
