// Which instruction-set level this host's kernels may use, decided once per process at run time.
// The runtime and the trainer are built for the baseline of their architecture (no -target-cpu:
// a package others depend on must not carry unsafe flags); their fast kernels are C functions
// compiled with per-function target attributes, and this is the one place that says which of
// them may run. Every level computes the same bits (the kernels' tests hold them equal).
#ifndef VAE_CPU_FEATURES_H
#define VAE_CPU_FEATURES_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel levels, in increasing order of what they need. On arm64 the only levels are
/// PORTABLE and NEON (NEON and fused multiply-add are part of the AArch64 baseline).
enum {
    VAE_ISA_PORTABLE = 0,   // baseline: x86-64 SSE2 (fused multiply-add done exactly in software)
    VAE_ISA_AVX2 = 1,       // x86-64 AVX2 + FMA (Haswell and later)
    VAE_ISA_AVX512 = 2,     // x86-64 AVX-512 F/BW/DQ/VL (Skylake-SP, Zen 4 and later)
    VAE_ISA_NEON = 3,       // arm64 Advanced SIMD
    VAE_ISA_AVX512VNNI = 4, // AVX-512 plus VNNI (int16 dot products; the int8 decoder uses it)
};

/// Feature bits the CPU and the operating system both support (the OS must save the wider
/// registers, which xgetbv tells).
enum {
    VAE_CPU_FMA = 1u << 0,
    VAE_CPU_AVX2 = 1u << 1,
    VAE_CPU_AVX512 = 1u << 2,       // F + BW + DQ + VL
    VAE_CPU_AVX512VNNI = 1u << 3,
    VAE_CPU_AVXVNNI = 1u << 4,
    VAE_CPU_NEON = 1u << 5,
    VAE_CPU_NEON_DOTPROD = 1u << 6,
};

/// What the hardware supports (cpuid/xgetbv on x86-64; the baseline on arm64).
uint32_t vae_cpu_features(void);

/// The best level the hardware supports.
int32_t vae_isa_detected(void);

/// The level kernels use: the detected one, or a lower one asked for by the environment
/// variable VAE_KERNELS (portable | avx2 | avx512 | avx512vnni | neon | auto). A level the CPU lacks is never
/// chosen: asking for it gives the detected level. Read once, on first use.
int32_t vae_isa_selected(void);

/// Overrides the selection for this process (tests force each level in turn); a level above
/// the detected one is clamped to it. Returns the level now in force.
int32_t vae_isa_force(int32_t level);

/// "portable", "avx2", "avx512", "neon", "avx512vnni" (static strings).
const char *vae_isa_name(int32_t level);

#ifdef __cplusplus
}
#endif
#endif
