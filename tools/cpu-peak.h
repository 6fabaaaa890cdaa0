/* cpu-peak.h — measured multiply-add peak of one core (cpu-peak.c). */
#ifndef SAM_TOOLS_CPU_PEAK_H
#define SAM_TOOLS_CPU_PEAK_H

/* G multiply-adds per second of one core: float32 FMA (AVX-512, else AVX2,
 * NEON on aarch64, else portable C; or of the given vector width: 512,
 * 256, 128 = NEON, 0 = C), and the integer u8·s8 multiply-add of the int8
 * GEMM's ISA (sam_gemm_i8_isa (): vpdpbusd zmm/ymm, vpmaddwd for AVX2,
 * sdot or smull + sadalp on aarch64). */
double sam_peak_f32_gmacs (void);
double sam_peak_f32_gmacs_for (int vector_bits);
double sam_peak_i8_gmacs (void);

/* The processor, for benchmark reports: /proc/cpuinfo's model name, and
 * on x86 its family and model numbers, which tell CPU generations apart
 * where a VM's model name does not ("AMD EPYC": Zen 4 is family 25, Zen 5
 * family 26). "unknown" where there is no /proc/cpuinfo. Free with
 * g_free. */
char *sam_cpu_description (void);

#endif
