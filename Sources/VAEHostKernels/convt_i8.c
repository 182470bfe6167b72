// The int8 host kernels: convt_i8_body.inc compiled once per instruction-set level, plus the
// parts every level shares (the packed weight pairs, the centred and padded input pairs). The
// body's requantisation is this file's copy of the spec's integer rule (docs/quantisation.md
// section 4), held equal to the runtime's Swift reference by the tests.
#include "vae_host_kernels.h"
#include "cpu_features.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang diagnostic ignored "-Wpsabi"

typedef int32_t vae_v16i __attribute__((vector_size(64)));
typedef int32_t vae_v16iu __attribute__((vector_size(64), aligned(4)));
typedef int64_t vae_v16l __attribute__((vector_size(128)));

// Words per padded row: 1 leading zero word, side + 2(k - 1) data words, and enough zeros after
// for a second 16-lane load at the largest offset (index k + 31).
static int row_words(const vae_convt_i8_layer *l) {
    int k = l->kernel, data = 1 + l->in_side + 2 * (k - 1);
    return data > k + 32 ? data : k + 32;
}

size_t vae_convt_i8_scratch_bytes(const vae_convt_i8_layer *l) {
    return (size_t)l->in_channels * (size_t)l->in_side * (size_t)row_words(l) * 4;
}

size_t vae_convt_i8_pack_bytes(const vae_convt_i8_layer *l) {
    size_t k = (size_t)l->kernel;
    return (size_t)l->out_channels * (size_t)l->in_channels * k * ((k + 1) / 2) * 4;
}

void vae_convt_i8_pack(const vae_convt_i8_layer *l, int32_t *packed) {
    const int k = l->kernel, kp = (k + 1) / 2, outC = l->out_channels, inC = l->in_channels;
    for (int oc = 0; oc < outC; oc++)
        for (int ic = 0; ic < inC; ic++)
            for (int ky = 0; ky < k; ky++) {
                const int8_t *wr = l->weights + ((ic * outC + oc) * k + ky) * k;
                int32_t *p = packed + ((oc * inC + ic) * k + ky) * kp;
                for (int j = 0; j < kp; j++) {
                    int lo = wr[2 * j], hi = 2 * j + 1 < k ? wr[2 * j + 1] : 0;
                    p[j] = (int32_t)(uint16_t)(int16_t)lo | ((int32_t)hi << 16);
                }
            }
}

static void fill_pairs(const vae_convt_i8_layer *l, const void *in, int32_t *pairs, int L) {
    const int side = l->in_side, k = l->kernel, rows = l->in_channels * side;
    const int zp = l->in_zero_point;
    for (int r = 0; r < rows; r++) {
        int32_t *row = pairs + r * L;
        memset(row, 0, (size_t)L * 4);
        int prev = 0;   // xc at the previous padded column (padding is 0)
        for (int j = 0; j < side + k - 1; j++) {
            int x = 0;
            if (j < side) x = (l->in_width == 1 ? ((const int8_t *)in)[r * side + j] : ((const int16_t *)in)[r * side + j]) - zp;
            // Padded column (k - 1) + j, stored at word 1 + (k - 1) + j.
            row[k + j] = (int32_t)(uint16_t)(int16_t)x | ((int32_t)prev << 16);
            prev = x;
        }
    }
}

// GATHER(t, idx): t[idx[i]] on 16 lanes.
static inline __attribute__((always_inline)) vae_v16i gather_scalar(const int32_t *t, vae_v16i idx) {
    vae_v16i r;
    for (int i = 0; i < 16; i++) r[i] = t[idx[i]];
    return r;
}

// Portable: 32-bit lanes; the halves sign-extended by shifts.
#define GATHER(t, idx) gather_scalar((t), (idx))
#define SUFFIX _portable
#define MADD(acc, p, w) ((acc) + (((p) << 16) >> 16) * (int32_t)(int16_t)(w) + ((p) >> 16) * ((int32_t)(w) >> 16))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX

#if defined(__x86_64__)
typedef int32_t vae_v8i __attribute__((vector_size(32)));
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
static inline __attribute__((always_inline)) vae_v16i madd_avx2(vae_v16i acc, vae_v16i p, int32_t w) {
    __m256i wv = _mm256_set1_epi32(w);
    vae_v8i lo = __builtin_shufflevector(p, p, 0, 1, 2, 3, 4, 5, 6, 7);
    vae_v8i hi = __builtin_shufflevector(p, p, 8, 9, 10, 11, 12, 13, 14, 15);
    vae_v8i ml = (vae_v8i)_mm256_madd_epi16((__m256i)lo, wv), mh = (vae_v8i)_mm256_madd_epi16((__m256i)hi, wv);
    return acc + __builtin_shufflevector(ml, mh, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
static inline __attribute__((always_inline)) vae_v16i gather_avx2(const int32_t *t, vae_v16i idx) {
    vae_v8i lo = __builtin_shufflevector(idx, idx, 0, 1, 2, 3, 4, 5, 6, 7), hi = __builtin_shufflevector(idx, idx, 8, 9, 10, 11, 12, 13, 14, 15);
    vae_v8i a = (vae_v8i)_mm256_i32gather_epi32((const int *)t, (__m256i)lo, 4), b = (vae_v8i)_mm256_i32gather_epi32((const int *)t, (__m256i)hi, 4);
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
#undef GATHER
#define GATHER(t, idx) gather_avx2((t), (idx))
#define SUFFIX _avx2
#define MADD(acc, p, w) madd_avx2((acc), (p), (w))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX
#pragma clang attribute pop

#undef GATHER
#define GATHER(t, idx) ((vae_v16i)_mm512_i32gather_epi32((__m512i)(idx), (const int *)(t), 4))
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2"))), apply_to = function)
#define SUFFIX _avx512
#define MADD(acc, p, w) ((acc) + (vae_v16i)_mm512_madd_epi16((__m512i)(p), _mm512_set1_epi32(w)))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2"))), apply_to = function)
#define SUFFIX _avx512vnni
#define MADD(acc, p, w) ((vae_v16i)_mm512_dpwssd_epi32((__m512i)(acc), (__m512i)(p), _mm512_set1_epi32(w)))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX
#pragma clang attribute pop
#endif

void vae_convt_i8(const vae_convt_i8_layer *l, const void *in, void *out, void *scratch, int32_t isa) {
    switch (isa) {
#if defined(__x86_64__)
    case VAE_ISA_AVX512VNNI: convt_avx512vnni(l, in, out, scratch); return;
    case VAE_ISA_AVX512: convt_avx512(l, in, out, scratch); return;
    case VAE_ISA_AVX2: convt_avx2(l, in, out, scratch); return;
#endif
    default: convt_portable(l, in, out, scratch); return;
    }
}
