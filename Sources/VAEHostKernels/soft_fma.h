// fma(a, b, c) for float lanes without a fused multiply-add instruction, correctly rounded:
// the product of two floats is exact in double (24 + 24 bits <= 53); the sum is rounded to odd
// in double (round to nearest, then, if the sum was inexact and the result's last bit is even,
// one step toward the exact value), and rounding that to float is correctly rounded, because
// double carries more than float's 24 + 2 bits (Boldo and Melquiond, "Emulation of FMA and
// correctly rounded sums: proved algorithms using rounding to odd", 2008).
#ifndef VAE_SOFT_FMA_H
#define VAE_SOFT_FMA_H
#include <stdint.h>

typedef float vae_v16f __attribute__((vector_size(64)));
typedef double vae_v16d __attribute__((vector_size(128)));
typedef int64_t vae_v16l __attribute__((vector_size(128)));

static inline __attribute__((always_inline)) vae_v16f vae_soft_fma16(vae_v16f a, vae_v16f b, vae_v16f c) {
    vae_v16d p = __builtin_convertvector(a, vae_v16d) * __builtin_convertvector(b, vae_v16d);
    vae_v16d z = __builtin_convertvector(c, vae_v16d);
    vae_v16d s = p + z;
    // TwoSum: err is exactly p + z - s (no contraction: see the pragma in each kernel file).
    vae_v16d bb = s - p;
    vae_v16d err = (p - (s - bb)) + (z - bb);
    vae_v16l bits = (vae_v16l)s;
    vae_v16l inexactEven = (err != 0) & ((bits & 1) == 0);
    vae_v16l away = (err > 0) == (s > 0);          // lanes -1 where the exact value is further from zero
    bits += inexactEven & (-2 * away - 1);          // +1 step away from zero, -1 toward it
    return __builtin_convertvector((vae_v16d)bits, vae_v16f);
}
#endif
