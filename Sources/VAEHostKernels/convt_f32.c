// The float32 host kernels: convt_f32_body.inc compiled once per instruction-set level. The
// levels differ only in how a 16-lane fused multiply-add is computed, never in what it computes.
#include "vae_host_kernels.h"
#include "cpu_features.h"
#include "soft_fma.h"
#include <string.h>

// Each a * b + c below must round exactly as written: clang would otherwise contract it.
#pragma clang fp contract(off)
// Vector arguments only cross always_inline helpers, which are inlined: no ABI is involved.
#pragma clang diagnostic ignored "-Wpsabi"

typedef int32_t vae_v16i __attribute__((vector_size(64)));
typedef float vae_v16fu __attribute__((vector_size(64), aligned(4)));
typedef int32_t vae_v16iu __attribute__((vector_size(64), aligned(4)));

size_t vae_convt_f32_scratch_floats(const vae_convt_f32_layer *l) {
    size_t side = (size_t)l->in_side, k = (size_t)l->kernel;
    return (size_t)l->in_channels * side * (side + 2 * (k - 1)) + 32;
}

// Portable: any CPU of the architecture; the fused multiply-add in software.
#define SUFFIX _portable
#define FMA16(a, b, c) vae_soft_fma16((a), (b), (c))
#include "convt_f32_body.inc"
#undef FMA16
#undef SUFFIX

#define FMA16(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define SUFFIX _avx2
#include "convt_f32_body.inc"
#undef SUFFIX
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#define SUFFIX _avx512
#include "convt_f32_body.inc"
#undef SUFFIX
#pragma clang attribute pop
#elif defined(__aarch64__)
#define SUFFIX _neon
#include "convt_f32_body.inc"
#undef SUFFIX
#endif
#undef FMA16

void vae_convt_f32(const vae_convt_f32_layer *l, const float *in, float *out, float *scratch, int32_t isa) {
    switch (isa) {
#if defined(__x86_64__)
    case VAE_ISA_AVX512: case VAE_ISA_AVX512VNNI: convt_avx512(l, in, out, scratch); return;
    case VAE_ISA_AVX2: convt_avx2(l, in, out, scratch); return;
#elif defined(__aarch64__)
    case VAE_ISA_NEON: convt_neon(l, in, out, scratch); return;
#endif
    default: convt_portable(l, in, out, scratch); return;
    }
}

void vae_convt_f32_lanes16(const vae_convt_f32_layer *l, const float *in, float *out, int32_t isa) {
    const vae_v16f *i = (const vae_v16f *)in;
    vae_v16f *o = (vae_v16f *)out;
    switch (isa) {
#if defined(__x86_64__)
    case VAE_ISA_AVX512: case VAE_ISA_AVX512VNNI: lanes_avx512(l, i, o); return;
    case VAE_ISA_AVX2: lanes_avx2(l, i, o); return;
#elif defined(__aarch64__)
    case VAE_ISA_NEON: lanes_neon(l, i, o); return;
#endif
    default: lanes_portable(l, i, o); return;
    }
}

void vae_fma_soft16(const float *a, const float *b, const float *c, float *out) {
    *(vae_v16fu *)out = vae_soft_fma16(*(const vae_v16fu *)a, *(const vae_v16fu *)b, *(const vae_v16fu *)c);
}
