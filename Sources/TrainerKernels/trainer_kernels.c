// Run-time dispatch of the trainer's Float kernels (include/trainer_kernels.h): kernel_body.h
// is compiled once per instruction-set level under that level's target attribute, and each
// public function asks vae_isa_selected() once per call which copy to run.
#include "trainer_kernels.h"
#include "cpu_features.h"

// Swift never fuses a*b + c on its own, while clang does by default; the kernels must fuse
// exactly where the Swift code says addingProduct and nowhere else.
#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF

#include "vec.h"

#define TK_WIDE 0
#define TK(name) name##_portable
#define FMA(a, b, c) SOFT_FMA(a, b, c)
#define ROUNDEVEN(t) ROUNDEVEN_SOFT(t)
#include "kernel_body.h"
#undef TK
#undef FMA
#undef ROUNDEVEN

#define FMA(a, b, c) __builtin_elementwise_fma(a, b, c)
#define ROUNDEVEN(t) __builtin_elementwise_roundeven(t)

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define TK(name) name##_avx2
#include "kernel_body.h"
#undef TK
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#undef TK_WIDE
#define TK_WIDE 1
#define TK(name) name##_avx512
#include "kernel_body.h"
#undef TK
#undef TK_WIDE
#define TK_WIDE 0
#pragma clang attribute pop

#define DISPATCH(name, args) do {                                   \
        switch (vae_isa_selected()) {                               \
        case VAE_ISA_AVX512: case VAE_ISA_AVX512VNNI: name##_avx512 args; return; \
        case VAE_ISA_AVX2: name##_avx2 args; return;                \
        default: name##_portable args; return;                      \
        }                                                           \
    } while (0)
#elif defined(__aarch64__)
// Advanced SIMD and fused multiply-add are part of the AArch64 baseline.
#define TK(name) name##_neon
#include "kernel_body.h"
#undef TK

#define DISPATCH(name, args) do {                                   \
        if (vae_isa_selected() == VAE_ISA_NEON) name##_neon args;   \
        else name##_portable args;                                  \
        return;                                                     \
    } while (0)
#else
#define DISPATCH(name, args) do { name##_portable args; return; } while (0)
#endif

void vae_tk_gemv_lanes(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *out) {
    DISPATCH(gemv_lanes, (w, rows, cols, x, out));
}

void vae_tk_gemvt_lanes(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *dy, float *dx) {
    DISPATCH(gemvt_lanes, (w, rows, cols, dy, dx));
}

void vae_tk_outer_accumulate(const float *dy, ptrdiff_t dyStride, const float *x, ptrdiff_t xStride,
                             ptrdiff_t steps, ptrdiff_t rows, ptrdiff_t cols, float *gw) {
    DISPATCH(outer_accumulate, (dy, dyStride, x, xStride, steps, rows, cols, gw));
}

void vae_tk_deconv_forward(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b,
                           ptrdiff_t outC, ptrdiff_t k, float *output) {
    DISPATCH(deconv_forward, (input, inC, side, w, b, outC, k, output));
}

void vae_tk_deconv_backward_input(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w,
                                  ptrdiff_t inC, ptrdiff_t k, float *dIn) {
    DISPATCH(deconv_backward_input, (dOut, outC, side, w, inC, k, dIn));
}

void vae_tk_deconv_backward_weights(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *dOut,
                                    ptrdiff_t outC, ptrdiff_t k, float *gw, float *gb) {
    DISPATCH(deconv_backward_weights, (input, inC, side, dOut, outC, k, gw, gb));
}

void vae_tk_lstm_cell_forward(float *g, const float *cPrev, float *cNext, float *tanhC, float *hNext, ptrdiff_t H) {
    DISPATCH(lstm_cell_forward, (g, cPrev, cNext, tanhC, hNext, H));
}

void vae_tk_sigmoid_lanes(float *v, ptrdiff_t n) { DISPATCH(sigmoid_lanes, (v, n)); }

void vae_tk_exp_lanes(const float *x, float *out, ptrdiff_t n) { DISPATCH(exp_lanes, (x, out, n)); }

void vae_tk_fma_lanes(const float *a, const float *b, const float *c, float *out, ptrdiff_t n) {
    DISPATCH(fma_lanes, (a, b, c, out, n));
}

void vae_tk_gemv_lanes_multi(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, ptrdiff_t xStride,
                             float *out, ptrdiff_t outStride, ptrdiff_t n) {
    DISPATCH(gemv_lanes_multi, (w, rows, cols, x, xStride, out, outStride, n));
}

void vae_tk_gemv_lanes_fast(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *out) {
    DISPATCH(gemv_lanes_fast, (w, rows, cols, x, out));
}

void vae_tk_gemvt_lanes_fast(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *dy, float *dx) {
    DISPATCH(gemvt_lanes_fast, (w, rows, cols, dy, dx));
}

void vae_tk_outer_accumulate_fast(const float *dy, ptrdiff_t dyStride, const float *x, ptrdiff_t xStride,
                                  ptrdiff_t steps, ptrdiff_t rows, ptrdiff_t cols, float *gw) {
    DISPATCH(outer_accumulate_fast, (dy, dyStride, x, xStride, steps, rows, cols, gw));
}

void vae_tk_deconv_forward_fast(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b,
                                ptrdiff_t outC, ptrdiff_t k, float *output) {
    DISPATCH(deconv_forward_fast, (input, inC, side, w, b, outC, k, output));
}

void vae_tk_deconv_backward_input_fast(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w,
                                       ptrdiff_t inC, ptrdiff_t k, float *dIn) {
    DISPATCH(deconv_backward_input_fast, (dOut, outC, side, w, inC, k, dIn));
}

void vae_tk_deconv_backward_weights_fast(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *dOut,
                                         ptrdiff_t outC, ptrdiff_t k, float *gw, float *gb) {
    DISPATCH(deconv_backward_weights_fast, (input, inC, side, dOut, outC, k, gw, gb));
}

void vae_tk_activation_forward(float *o, ptrdiff_t n, int32_t kind, float slope) {
    DISPATCH(activation_forward, (o, n, kind, slope));
}

void vae_tk_activation_backward(float *d, const float *a, ptrdiff_t n, int32_t kind, float slope) {
    DISPATCH(activation_backward, (d, a, n, kind, slope));
}

void vae_tk_bce_forward(const float *out, const float *x, ptrdiff_t n, float *rec) {
    DISPATCH(bce_forward, (out, x, n, rec));
}

void vae_tk_bce_backward(const float *out, const float *x, const float *mask, ptrdiff_t n, float *d) {
    DISPATCH(bce_backward, (out, x, mask, n, d));
}

void vae_tk_lstm_cell_backward(const float *g, const float *cPrev, const float *tanhC, const float *dh, float *dc,
                               float *d, ptrdiff_t H) {
    DISPATCH(lstm_cell_backward, (g, cPrev, tanhC, dh, dc, d, H));
}
