// The int8 host kernels: convt_i8_body.inc compiled once per instruction-set level, plus the
// parts every level shares (the centred, padded input pairs and the per-output requantisation of
// docs/quantisation.md section 4; that is this file's copy of the spec's integer rule, held
// equal to the runtime's Swift reference by the tests).
#include "vae_host_kernels.h"
#include "cpu_features.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang diagnostic ignored "-Wpsabi"

typedef int32_t vae_v16i __attribute__((vector_size(64)));
typedef int32_t vae_v16iu __attribute__((vector_size(64), aligned(4)));

// Words per padded row: 1 leading zero word, side + 2(k - 1) data words, and enough zeros after
// for a second 16-lane load at the largest offset (index k + 31).
static int row_words(const vae_convt_i8_layer *l) {
    int k = l->kernel, data = 1 + l->in_side + 2 * (k - 1);
    return data > k + 32 ? data : k + 32;
}

size_t vae_convt_i8_scratch_bytes(const vae_convt_i8_layer *l) {
    return (size_t)l->in_channels * (size_t)l->in_side * (size_t)row_words(l) * 4;
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

static inline int32_t requantise(int32_t acc, const int32_t *words, int relu, const vae_convt_i8_layer *l) {
    int64_t v = 0;
    if (acc >= 0 || !relu) {
        int32_t m = acc >= 0 ? words[0] : words[2], n = acc >= 0 ? words[1] : words[3];
        int64_t p = (int64_t)acc * (int64_t)m;
        v = (p + ((int64_t)1 << (n - 1))) >> n;   // arithmetic shift: floor
    }
    v += l->out_zero_point;
    if (v < l->out_qmin) v = l->out_qmin;
    if (v > l->out_qmax) v = l->out_qmax;
    return (int32_t)v;
}

static inline uint8_t pixel(int32_t acc, const int32_t *t) {
    int lo = 0, hi = 255;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (acc >= t[mid]) lo = mid + 1; else hi = mid;
    }
    return (uint8_t)lo;
}

// Outputs ox0 ..< ox0 + count of row oy of channel oc, from accumulators that lack the bias.
static void finish_lanes(const vae_convt_i8_layer *l, int oc, int oy, int ox0, int count, const int32_t *acc, void *out) {
    const int os = l->in_side + l->kernel - 1;
    const int32_t b = l->bias[oc];
    const size_t o = (size_t)oc * os * os + (size_t)oy * os + ox0;
    if (l->out_width == 0) {
        const int32_t *t = l->requant + (size_t)oc * 255;
        for (int i = 0; i < count; i++) ((uint8_t *)out)[o + i] = pixel(acc[i] + b, t);
        return;
    }
    const int32_t *words = l->requant + (size_t)oc * 4;
    if (l->out_width == 1)
        for (int i = 0; i < count; i++) ((int8_t *)out)[o + i] = (int8_t)requantise(acc[i] + b, words, l->relu, l);
    else
        for (int i = 0; i < count; i++) ((int16_t *)out)[o + i] = (int16_t)requantise(acc[i] + b, words, l->relu, l);
}

// Portable: 32-bit lanes; the halves sign-extended by shifts.
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
#define SUFFIX _avx2
#define MADD(acc, p, w) madd_avx2((acc), (p), (w))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX
#pragma clang attribute pop

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
