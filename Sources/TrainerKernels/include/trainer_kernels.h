// The trainer's Float kernels in C, so that each can be compiled for several instruction sets
// and picked at run time (Swift has no per-function target attribute, and a package others
// depend on may not carry -target-cpu). Every level computes the same bits as the Swift
// generic kernels in Sources/VAETrainer/Kernels.swift: the same fused multiply-adds, in the
// same order, one image per lane of a 16-float vector.
//
// A "lanes" pointer addresses vectors of 16 floats (Swift's SIMD16<Float>), at least 4-byte
// aligned; counts of such vectors are named as in the Swift kernels. Weights are plain floats
// in PyTorch's layouts.
#ifndef VAE_TRAINER_KERNELS_H
#define VAE_TRAINER_KERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// out[r] += sum_k w[r, k] * x[k]   (w row-major rows x cols)
void vae_tk_gemv_lanes(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *out);

/// dx[k] += sum_r w[r, k] * dy[r]
void vae_tk_gemvt_lanes(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *dy, float *dx);

/// gw[r, k] += sum_t sum_lanes dy_t[r] * x_t[k]; dy_t = dy + t*dyStride vectors, x_t likewise.
void vae_tk_outer_accumulate(const float *dy, ptrdiff_t dyStride, const float *x, ptrdiff_t xStride,
                             ptrdiff_t steps, ptrdiff_t rows, ptrdiff_t cols, float *gw);

/// Transposed convolution, stride 1, no padding (see deconvForward in Kernels.swift).
void vae_tk_deconv_forward(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b,
                           ptrdiff_t outC, ptrdiff_t k, float *output);

void vae_tk_deconv_backward_input(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w,
                                  ptrdiff_t inC, ptrdiff_t k, float *dIn);

void vae_tk_deconv_backward_weights(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *dOut,
                                    ptrdiff_t outC, ptrdiff_t k, float *gw, float *gb);

/// One LSTM step after the gate pre-activations are in g ([i f g o] x H vectors): applies the
/// gates' nonlinearities in place and writes c_t, tanh(c_t) and h_t.
void vae_tk_lstm_cell_forward(float *g, const float *cPrev, float *cNext, float *tanhC, float *hNext, ptrdiff_t H);

/// v[p] = sigmoid(v[p]) for n vectors.
void vae_tk_sigmoid_lanes(float *v, ptrdiff_t n);

/// out[p] = exp(x[p]) for n vectors (Float.vexp's polynomial; in may equal out).
void vae_tk_exp_lanes(const float *x, float *out, ptrdiff_t n);

/// out[i] = fma(a[i], b[i], c[i]) for n vectors of 16, computed as the selected level's kernels
/// compute it (VAE_ISA_PORTABLE: in software). For the tests.
void vae_tk_fma_lanes(const float *a, const float *b, const float *c, float *out, ptrdiff_t n);

// ---- Faster forms of the kernels above: the same bits (each output accumulated in the same
// order), wider register tiles where the level has the registers (AVX-512).

/// gemv_lanes for n right-hand sides: out_t[r] += sum_k w[r, k] * x_t[k], x_t = x + t*xStride
/// vectors, out_t = out + t*outStride vectors (the LSTM's input projection for all steps).
void vae_tk_gemv_lanes_multi(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, ptrdiff_t xStride,
                             float *out, ptrdiff_t outStride, ptrdiff_t n);
void vae_tk_gemv_lanes_fast(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *out);
void vae_tk_gemvt_lanes_fast(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *dy, float *dx);
void vae_tk_outer_accumulate_fast(const float *dy, ptrdiff_t dyStride, const float *x, ptrdiff_t xStride,
                                  ptrdiff_t steps, ptrdiff_t rows, ptrdiff_t cols, float *gw);
void vae_tk_deconv_forward_fast(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b,
                                ptrdiff_t outC, ptrdiff_t k, float *output);
void vae_tk_deconv_backward_input_fast(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w,
                                       ptrdiff_t inC, ptrdiff_t k, float *dIn);
void vae_tk_deconv_backward_weights_fast(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *dOut,
                                         ptrdiff_t outC, ptrdiff_t k, float *gw, float *gb);

// ---- The elementwise passes of Shard.forward and Shard.backward (their ref* in Shard.swift).

/// In place: kind 1 ReLU, 2 LeakyReLU(slope).
void vae_tk_activation_forward(float *o, ptrdiff_t n, int32_t kind, float slope);
/// d through the activation whose output is a: kind 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid.
void vae_tk_activation_backward(float *d, const float *a, ptrdiff_t n, int32_t kind, float slope);
/// The BCE of n pixels summed per lane into rec (one vector), each log clamped at -100.
void vae_tk_bce_forward(const float *out, const float *x, ptrdiff_t n, float *rec);
/// The BCE's gradient through the output sigmoid, times mask (one vector).
void vae_tk_bce_backward(const float *out, const float *x, const float *mask, ptrdiff_t n, float *d);
/// One step of backpropagation through time: gate gradients into d ([i f g o] x H), dc updated.
void vae_tk_lstm_cell_backward(const float *g, const float *cPrev, const float *tanhC, const float *dh, float *dc,
                               float *d, ptrdiff_t H);

#ifdef __cplusplus
}
#endif
#endif
