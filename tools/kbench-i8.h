/* kbench-i8.h — the int8 GEMM part of samseg-kbench (kbench-i8.c). */
#ifndef SAM_TOOLS_KBENCH_I8_H
#define SAM_TOOLS_KBENCH_I8_H

#include "core/threadpool.h"

/* Measures the integer MAC peak of one core for the int8 GEMM's ISA
 * (sam_gemm_i8_isa), then the int8 GEMM and the fused quantize + GEMM
 * Linear on the model's large shapes whose name contains filter (NULL:
 * all), best of runs; prints one table to stdout. */
void sam_kbench_i8 (SamPool * pool, int runs, const char *filter);

#endif
