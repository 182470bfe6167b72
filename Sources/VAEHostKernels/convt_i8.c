// The int8 host kernels: convt_i8_body.inc compiled once per instruction-set level, plus the
// parts every level shares (the packed weight pairs, the plane geometry). The
// body's requantisation is this file's copy of the spec's integer rule (docs/quantisation.md
// section 4), held equal to the runtime's Swift reference by the tests.
#include "vae_host_kernels.h"
#include "cpu_features.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#pragma clang diagnostic ignored "-Wpsabi"

typedef int32_t vae_v16i __attribute__((vector_size(64)));
typedef int32_t vae_v16iu __attribute__((vector_size(64), aligned(4)));
typedef uint32_t vae_v16u __attribute__((vector_size(64)));
typedef int64_t vae_v16l __attribute__((vector_size(128)));
typedef int16_t vae_v16s __attribute__((vector_size(32)));
typedef int8_t vae_v16c __attribute__((vector_size(16)));
typedef uint8_t vae_v16b __attribute__((vector_size(16)));

// The channel-pair planes of convt_i8_body.inc's fill_planes: `pairs` planes of `words` words,
// output side `os`, input row 0 column 0 at word `off`, `chunks` vectors of 16 output positions.
// The planes run 8 chunks past the last (a tile's chunks past it are summed, then dropped) and
// 32 words past the last input row's second vector store.
struct plane_geometry { int pairs, os, off, chunks, words; };

static void geometry(const vae_convt_i8_layer *l, struct plane_geometry *g) {
    const int k = l->kernel;
    g->pairs = (l->in_channels + 1) / 2;
    g->os = l->in_side + k - 1;
    g->off = (k - 1) * g->os + (k - 1);
    g->chunks = (g->os * g->os + 15) / 16;
    g->words = (g->off + 16 * (g->chunks + 8) + 15) & ~15;
}

// An input narrower than the kernel (the first layer: 2 x 2 in, 9 x 9 kernel) runs with lanes
// over the output columns of one output row instead: input pair (c[2q], c[2q + 1]) at (iy, ix),
// broadcast, meets the 16 words (w[2q][ky][ox - ix], w[2q + 1][ky][ox - ix]), ox = 0 ..< 16,
// ky = oy - iy: one unaligned load at offset -ix into kernel row (oc, q, ky). Rows are S =
// k + side - 1 words, the k pair words then side - 1 zeros, after `side - 1` leading zeros, so
// that the shifted load finds zeros outside the kernel for every lane below os (lanes past os
// are not stored). Sized so (S words a row, not 32) a tile of 8 channels stays in L1.
static int narrow(const vae_convt_i8_layer *l) {
    return l->in_side < l->kernel && l->in_side + l->kernel - 1 <= 16;
}

static int narrow_row_words(const vae_convt_i8_layer *l) { return l->kernel + l->in_side - 1; }

size_t vae_convt_i8_scratch_bytes(const vae_convt_i8_layer *l) {
    // (The narrow path's pair words take less: one word per two inputs.)
    struct plane_geometry g;
    geometry(l, &g);
    return (size_t)g.pairs * (size_t)g.words * 4;
}

// Words of packed weights, before the pixel columns.
static size_t weight_words(const vae_convt_i8_layer *l) {
    size_t k = (size_t)l->kernel;
    const size_t Q = (size_t)((l->in_channels + 1) / 2);
    // Narrow: the leading zeros, the rows, and a last load's 16 words past the last row's start.
    if (narrow(l)) return (size_t)l->in_side - 1 + (size_t)l->out_channels * Q * k * (size_t)narrow_row_words(l) + 16;
    return (size_t)l->out_channels * Q * k * k;
}

// The last layer's thresholds transposed, after the weights: column i of channel oc holds
// t[16 hi + i] at entry hi, for i < 15 and hi < 16 (every index up to 254), so that the
// pixel search's second step is a lookup by hi in registers instead of a gather from memory.
enum { PIXEL_COLUMNS = 15, PIXEL_COLUMN_WORDS = PIXEL_COLUMNS * 16 };

static inline const int32_t *pixel_columns(const vae_convt_i8_layer *l, int oc) {
    return l->packed + weight_words(l) + (size_t)oc * PIXEL_COLUMN_WORDS;
}

size_t vae_convt_i8_pack_bytes(const vae_convt_i8_layer *l) {
    const size_t columns = l->out_width == 0 ? (size_t)l->out_channels * PIXEL_COLUMN_WORDS : 0;
    return (weight_words(l) + columns) * 4;
}

static void pack_pixel_columns(const vae_convt_i8_layer *l, int32_t *packed) {
    if (l->out_width != 0) return;
    int32_t *c = packed + weight_words(l);
    for (int oc = 0; oc < l->out_channels; oc++)
        for (int i = 0; i < PIXEL_COLUMNS; i++)
            for (int hi = 0; hi < 16; hi++)
                c[(size_t)oc * PIXEL_COLUMN_WORDS + i * 16 + hi] = l->requant[(size_t)oc * 255 + 16 * hi + i];
}

// Two int16 values (weights, centred inputs) as one pair word, lo in the low half. Shifted as
// unsigned: a negative value shifted left is undefined behaviour in C (UBSan's "left shift of
// negative value"), even though every compiler here gives these bits.
static inline int32_t pair_word(int lo, int hi) {
    return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | ((uint32_t)(uint16_t)(int16_t)hi << 16));
}

void vae_convt_i8_pack(const vae_convt_i8_layer *l, int32_t *packed) {
    const int k = l->kernel, outC = l->out_channels, inC = l->in_channels;
    const int Q = (inC + 1) / 2, kk = k * k;
    pack_pixel_columns(l, packed);
    if (narrow(l)) {
        const int S = narrow_row_words(l), lead = l->in_side - 1;
        const size_t words = weight_words(l);
        for (size_t i = 0; i < words; i++) packed[i] = 0;
        for (int oc = 0; oc < outC; oc++)
            for (int q = 0; q < Q; q++)
                for (int ky = 0; ky < k; ky++)
                    for (int j = 0; j < k; j++) {
                        int lo = l->weights[((2 * q * outC + oc) * k + ky) * k + j];
                        int hi = 2 * q + 1 < inC ? l->weights[(((2 * q + 1) * outC + oc) * k + ky) * k + j] : 0;
                        packed[lead + ((oc * Q + q) * k + ky) * S + j] = pair_word(lo, hi);
                    }
        return;
    }
    // Channel pairs: word [oc][q][ky][kx] = (w[2q][oc][ky][kx], w[2q + 1][oc][ky][kx]), 0 for a
    // channel past the last.
    for (int oc = 0; oc < outC; oc++)
        for (int q = 0; q < Q; q++)
            for (int t = 0; t < kk; t++) {
                int lo = l->weights[(2 * q * outC + oc) * kk + t];
                int hi = 2 * q + 1 < inC ? l->weights[((2 * q + 1) * outC + oc) * kk + t] : 0;
                packed[(oc * Q + q) * kk + t] = pair_word(lo, hi);
            }
}

static inline int centred(const vae_convt_i8_layer *l, const void *in, int i) {
    return (l->in_width == 1 ? ((const int8_t *)in)[i] : ((const int16_t *)in)[i]) - l->in_zero_point;
}

// The narrow layer's input pairs: xw[(q * side + iy) * side + ix] = (c[2q], c[2q + 1]) there.
static void narrow_pairs(const vae_convt_i8_layer *l, const void *in, int32_t *xw) {
    const int side = l->in_side, plane = side * side, inC = l->in_channels;
    for (int q = 0; q < (inC + 1) / 2; q++)
        for (int i = 0; i < plane; i++) {
            int x0 = centred(l, in, 2 * q * plane + i), x1 = 2 * q + 1 < inC ? centred(l, in, (2 * q + 1) * plane + i) : 0;
            xw[q * plane + i] = pair_word(x0, x1);
        }
}

// LOOKUP16(t, idx): t[idx[i]] for a 16-entry table and idx in 0 ..< 16.
static inline __attribute__((always_inline)) vae_v16i lookup16_scalar(const int32_t *t, vae_v16i idx) {
    vae_v16i r;
    for (int i = 0; i < 16; i++) r[i] = t[idx[i]];
    return r;
}

#define LOOKUP16(t, idx) lookup16_scalar((t), (idx))

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
static inline __attribute__((always_inline)) vae_v16i lookup16_avx2(const int32_t *t, vae_v16i idx) {
    __m256i t0 = _mm256_loadu_si256((const __m256i *)t), t1 = _mm256_loadu_si256((const __m256i *)(t + 8));
    vae_v16i r;
    for (int h = 0; h < 2; h++) {
        vae_v8i i8 = h ? __builtin_shufflevector(idx, idx, 8, 9, 10, 11, 12, 13, 14, 15) : __builtin_shufflevector(idx, idx, 0, 1, 2, 3, 4, 5, 6, 7);
        __m256i a = _mm256_permutevar8x32_epi32(t0, (__m256i)i8), b = _mm256_permutevar8x32_epi32(t1, (__m256i)i8);
        vae_v8i v = (vae_v8i)_mm256_blendv_epi8(a, b, (__m256i)(i8 > 7));
        for (int i = 0; i < 8; i++) r[8 * h + i] = v[i];
    }
    return r;
}
#undef LOOKUP16
#define LOOKUP16(t, idx) lookup16_avx2((t), (idx))
#define SUFFIX _avx2
#define MADD(acc, p, w) madd_avx2((acc), (p), (w))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX
#pragma clang attribute pop

#undef LOOKUP16
#define LOOKUP16(t, idx) ((vae_v16i)_mm512_permutexvar_epi32((__m512i)(idx), _mm512_loadu_si512((const void *)(t))))
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
#elif defined(__aarch64__)
// NEON: products of the int16 halves widened (vmull_s16 on each half of a 128-bit register)
// and added in pairs (vpaddq_s32), vpmaddwd's sums four lanes at a time.
static inline __attribute__((always_inline)) vae_v16i madd_neon(vae_v16i acc, vae_v16i p, int32_t w) {
    const int16x8_t wv = vreinterpretq_s16_s32(vdupq_n_s32(w));
    int32x4_t a[4], x[4];
    memcpy(a, &acc, sizeof(a));
    memcpy(x, &p, sizeof(x));
    for (int i = 0; i < 4; i++) {
        const int16x8_t h = vreinterpretq_s16_s32(x[i]);
        a[i] = vaddq_s32(a[i], vpaddq_s32(vmull_s16(vget_low_s16(h), vget_low_s16(wv)), vmull_high_s16(h, wv)));
    }
    vae_v16i r;
    memcpy(&r, a, sizeof(r));
    return r;
}
#define SUFFIX _neon
#define MADD(acc, p, w) madd_neon((acc), (p), (w))
#include "convt_i8_body.inc"
#undef MADD
#undef SUFFIX
#endif

void vae_convt_i8(const vae_convt_i8_layer *l, const void *in, void *out, void *scratch, int32_t isa) {
    switch (isa) {
#if defined(__x86_64__)
    case VAE_ISA_AVX512VNNI: convt_avx512vnni(l, in, out, scratch); return;
    case VAE_ISA_AVX512: convt_avx512(l, in, out, scratch); return;
    case VAE_ISA_AVX2: convt_avx2(l, in, out, scratch); return;
#elif defined(__aarch64__)
    case VAE_ISA_NEON: convt_neon(l, in, out, scratch); return;
#endif
    default: convt_portable(l, in, out, scratch); return;
    }
}
