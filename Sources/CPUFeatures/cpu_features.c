#include "cpu_features.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void) {
    uint32_t a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return 0;                 // no AVX state saved: SSE2 only
    uint64_t xcr0 = xgetbv0();
    int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xE6) == 0xE6;
    if (!ymm) return 0;
    if (fma) f |= VAE_CPU_FMA;
    uint32_t max = __get_cpuid_max(0, 0);
    if (max < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5) & 1) f |= VAE_CPU_AVX2;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);   // F DQ BW VL
    if (avx512 && zmm) {
        f |= VAE_CPU_AVX512;
        if ((c >> 11) & 1) f |= VAE_CPU_AVX512VNNI;
    }
    uint32_t sub = a;
    if (sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        if ((a >> 4) & 1) f |= VAE_CPU_AVXVNNI;
    }
    return f;
}

static int32_t best(uint32_t f) {
    if ((f & VAE_CPU_AVX512) && (f & VAE_CPU_FMA) && (f & VAE_CPU_AVX2))
        return (f & VAE_CPU_AVX512VNNI) ? VAE_ISA_AVX512VNNI : VAE_ISA_AVX512;
    if ((f & VAE_CPU_AVX2) && (f & VAE_CPU_FMA)) return VAE_ISA_AVX2;
    return VAE_ISA_PORTABLE;
}
#elif defined(__aarch64__)
static uint32_t detect(void) {
    uint32_t f = VAE_CPU_NEON | VAE_CPU_FMA;
#if defined(__ARM_FEATURE_DOTPROD)
    f |= VAE_CPU_NEON_DOTPROD;
#endif
    return f;
}
static int32_t best(uint32_t f) { return (f & VAE_CPU_NEON) ? VAE_ISA_NEON : VAE_ISA_PORTABLE; }
#else
static uint32_t detect(void) { return 0; }
static int32_t best(uint32_t f) { (void)f; return VAE_ISA_PORTABLE; }
#endif

// Both are written once per process with the same values by any thread that gets there first,
// so a data race on them is benign; they are only ever widened from -1 to a level.
static volatile int32_t detected = -1, selected = -1;
static volatile uint32_t features = 0;

uint32_t vae_cpu_features(void) {
    if (detected < 0) { features = detect(); detected = best(features); }
    return features;
}

int32_t vae_isa_detected(void) {
    vae_cpu_features();
    return detected;
}

static int32_t clamp(int32_t level) {
    int32_t top = vae_isa_detected();
    if (level < 0 || level > top) return top;
#if defined(__x86_64__)
    if (level == VAE_ISA_NEON) return top;
#elif defined(__aarch64__)
    if (level == VAE_ISA_AVX2 || level == VAE_ISA_AVX512 || level == VAE_ISA_AVX512VNNI) return VAE_ISA_PORTABLE;
#endif
    return level;
}

int32_t vae_isa_selected(void) {
    if (selected < 0) {
        int32_t want = -1;
        const char *s = getenv("VAE_KERNELS");
        if (s) {
            if (!strcmp(s, "portable")) want = VAE_ISA_PORTABLE;
            else if (!strcmp(s, "avx2")) want = VAE_ISA_AVX2;
            else if (!strcmp(s, "avx512")) want = VAE_ISA_AVX512;
            else if (!strcmp(s, "neon")) want = VAE_ISA_NEON;
            else if (!strcmp(s, "avx512vnni")) want = VAE_ISA_AVX512VNNI;
        }
        selected = clamp(want);
    }
    return selected;
}

int32_t vae_isa_force(int32_t level) {
    selected = clamp(level);
    return selected;
}

const char *vae_isa_name(int32_t level) {
    switch (level) {
    case VAE_ISA_AVX2: return "avx2";
    case VAE_ISA_AVX512: return "avx512";
    case VAE_ISA_NEON: return "neon";
    case VAE_ISA_AVX512VNNI: return "avx512vnni";
    default: return "portable";
    }
}
