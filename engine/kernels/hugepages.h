/* hugepages.h — the transparent-huge-page hint for large kernel outputs,
 * on its own so that both kernel families (cpu.h's float and gemm-i8.h's
 * integer, which have separate ISA enums) can use it. Defined in cpu.c.
 */
#ifndef SAM_KERNELS_HUGEPAGES_H
#define SAM_KERNELS_HUGEPAGES_H

#include <stdint.h>

/* Output buffers the kernels are about to fill for the first time cost a
 * page fault per 4 KiB (expensive, notably in VMs). For a large output this
 * advises transparent huge pages on the 2 MiB-aligned part of [p, p+bytes)
 * (Linux MADV_HUGEPAGE; a hint only, contents unchanged, no-op elsewhere).
 * Pages already present are not affected. */
void sam_k_hint_hugepages (void *p, int64_t bytes);

#endif
