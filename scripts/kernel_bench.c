// Per-step microbenchmark of the trainer's Float kernels at the standard model's shapes, for
// one shard (16 images): the plain kernels (vae_tk_*) against the fast ones (vae_tk_*_fast,
// vae_tk_gemv_lanes_multi) that replaced them, best of 7 timings each. Dev-only; build it against
// the objects of a release build (see docs/performance.md):
//   clang -O2 -ISources/TrainerKernels/include scripts/kernel_bench.c \
//     .build/release/TrainerKernels.build/trainer_kernels.c.o .build/release/CPUFeatures.build/cpu_features.c.o \
//     -o /tmp/kernel_bench && /tmp/kernel_bench
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "trainer_kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static float *buf(size_t n) {
    float *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}
#define BEST(var, reps, stmt) do { var = 1e9; for (int rr = 0; rr < 7; rr++) { double t0 = now(); \
    for (int q = 0; q < (reps); q++) { stmt; } double t = (now() - t0) / (reps); if (t < var) var = t; } } while (0)
static double total_plain, total_fast;
static void row(const char *label, double flops, double plain, double fast) {
    total_plain += plain; total_fast += fast;
    printf("| %-34s | %8.1f | %6.0f | %8.1f | %6.0f | %5.2fx |\n", label, plain * 1e6, flops / plain * 1e-9,
           fast * 1e6, flops / fast * 1e-9, plain / fast);
}

int main(void) {
    enum { T = 28, I = 28, H = 128, G = 512, L = 64 };
    // Row strides: the old layout (H, G) and the padded one (H + 1, G + 1) of Shard.swift.
    float *wih = buf(G * I), *whh = buf(G * H), *x = buf(T * I * 16), *g = buf(T * (G + 1) * 16);
    float *h = buf((T + 1) * (H + 1) * 16), *dA = buf(T * (G + 1) * 16), *gw = buf(G * H), *dh = buf(H * 16);
    double p, f;
    printf("| step (one shard, 16 images) | plain us | GFLOP/s | fast us | GFLOP/s | speed-up |\n|---|---:|---:|---:|---:|---:|\n");
    BEST(p, 50, for (int t = 0; t < T; t++) vae_tk_gemv_lanes(wih, G, I, x + t * I * 16, g + t * G * 16));
    BEST(f, 50, vae_tk_gemv_lanes_multi(wih, G, I, x, I, g, G + 1, T));
    row("LSTM input projection, 28 steps", 2.0 * 16 * G * I * T, p, f);
    BEST(p, 20, for (int t = 0; t < T; t++) vae_tk_gemv_lanes(whh, G, H, h + t * H * 16, g + t * G * 16));
    BEST(f, 20, for (int t = 0; t < T; t++) vae_tk_gemv_lanes_fast(whh, G, H, h + t * (H + 1) * 16, g + t * (G + 1) * 16));
    row("LSTM recurrent product, 28 steps", 2.0 * 16 * G * H * T, p, f);
    BEST(p, 20, for (int t = 0; t < 27; t++) vae_tk_gemvt_lanes(whh, G, H, dA + t * G * 16, dh));
    BEST(f, 20, for (int t = 0; t < 27; t++) vae_tk_gemvt_lanes_fast(whh, G, H, dA + t * (G + 1) * 16, dh));
    row("LSTM recurrent input grad, 27 steps", 2.0 * 16 * G * H * 27, p, f);
    BEST(p, 20, vae_tk_outer_accumulate(dA, G, h, H, T, G, H, gw));
    BEST(f, 20, vae_tk_outer_accumulate_fast(dA, G + 1, h, H + 1, T, G, H, gw));
    row("weight_hh gradient (outer, 28 steps)", 2.0 * 16 * G * H * T, p, f);
    BEST(p, 50, vae_tk_outer_accumulate(dA, G, x, I, T, G, I, gw));
    BEST(f, 50, vae_tk_outer_accumulate_fast(dA, G + 1, x, I, T, G, I, gw));
    row("weight_ih gradient (outer, 28 steps)", 2.0 * 16 * G * I * T, p, f);
    BEST(p, 200, for (int j = 0; j < 2; j++) vae_tk_outer_accumulate(dA, 0, h, 0, 1, L, H, gw));
    BEST(f, 200, for (int j = 0; j < 2; j++) vae_tk_outer_accumulate_fast(dA, 0, h, 0, 1, L, H, gw));
    row("mu and logvar weight gradients", 2.0 * 2 * 16 * L * H, p, f);
    int layers[6][3] = {{16, 13, 9}, {13, 10, 7}, {10, 7, 5}, {7, 4, 5}, {4, 2, 3}, {2, 1, 3}};
    int side = 2;
    for (int l = 0; l < 6; l++) {
        int ic = layers[l][0], oc = layers[l][1], k = layers[l][2], os = side + k - 1;
        float *in = buf(ic * side * side * 16), *out = buf(oc * os * os * 16), *w = buf(ic * oc * k * k), *b = buf(oc);
        float *gwl = buf(ic * oc * k * k), *gb = buf(oc), *din = buf(ic * side * side * 16);
        double fl = 2.0 * 16 * ic * oc * side * side * k * k;
        char lab[64];
        BEST(p, 30, vae_tk_deconv_forward(in, ic, side, w, b, oc, k, out));
        BEST(f, 30, vae_tk_deconv_forward_fast(in, ic, side, w, b, oc, k, out));
        snprintf(lab, sizeof lab, "deconv %d (%d->%d, %dx%d, k %d) forward", l, ic, oc, side, side, k); row(lab, fl, p, f);
        BEST(p, 30, vae_tk_deconv_backward_input(out, oc, side, w, ic, k, din));
        BEST(f, 30, vae_tk_deconv_backward_input_fast(out, oc, side, w, ic, k, din));
        snprintf(lab, sizeof lab, "deconv %d input gradient", l); row(lab, fl, p, f);
        BEST(p, 30, vae_tk_deconv_backward_weights(in, ic, side, out, oc, k, gwl, gb));
        BEST(f, 30, vae_tk_deconv_backward_weights_fast(in, ic, side, out, oc, k, gwl, gb));
        snprintf(lab, sizeof lab, "deconv %d weight gradient", l); row(lab, fl, p, f);
        side = os;
    }
    printf("| all of the above | %8.1f | | %8.1f | | %5.2fx |\n", total_plain * 1e6, total_fast * 1e6, total_plain / total_fast);
    return 0;
}
