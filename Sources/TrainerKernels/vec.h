// Vector types and helpers shared by every level. The helpers are macros (GNU statement
// expressions), not functions: a function taking or returning a 64-byte vector has a different
// ABI with and without AVX-512, which clang rejects across the levels' target attributes; a
// macro is expanded inside each level's function and compiled for that level.
#ifndef VAE_TK_VEC_H
#define VAE_TK_VEC_H
#include <stddef.h>
#include <stdint.h>

typedef float v16f __attribute__((vector_size(64)));
typedef float v16f_u __attribute__((vector_size(64), aligned(4)));   // Swift's SIMD16 is 16-aligned at most
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));
typedef double v16d __attribute__((vector_size(128)));
typedef int64_t v16l __attribute__((vector_size(128)));

#define LD(p) (*(const v16f_u *)(p))
#define ST(p, v) (*(v16f_u *)(p) = (v))
#define V(p, i) ((p) + (i) * 16)        // the i-th 16-float vector of a lanes buffer

// Not `(v16f){0} + s`: that would turn -0 into +0.
#define SPLAT(s) ({ float s_ = (s); (v16f){s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_}; })

#define SELECT(m, a, b) ({ v16i m_ = (m); (v16f)((m_ & (v16i)(a)) | (~m_ & (v16i)(b))); })

// The same pairwise order as hsum in Scalar.swift.
#define HSUM(v) ({                                                                                      \
        v16f h_ = (v);                                                                                  \
        v8f a_ = __builtin_shufflevector(h_, h_, 0, 1, 2, 3, 4, 5, 6, 7)                                \
               + __builtin_shufflevector(h_, h_, 8, 9, 10, 11, 12, 13, 14, 15);                         \
        v4f b_ = __builtin_shufflevector(a_, a_, 0, 1, 2, 3) + __builtin_shufflevector(a_, a_, 4, 5, 6, 7); \
        v2f c_ = __builtin_shufflevector(b_, b_, 0, 1) + __builtin_shufflevector(b_, b_, 2, 3);         \
        c_[0] + c_[1];                                                                                  \
    })

// HSUM of sixteen vectors at once: lane i of the result is HSUM(a[i]) bit for bit. The same
// pairwise sums as HSUM (lane j with lane j+8, then j+4, j+2, j+1), done for two, four, eight
// and sixteen vectors side by side, so 15 additions and 30 shuffles instead of 16 HSUMs.
#define HSUM16(a) ({                                                                                \
        const v16f *h_ = (a);                                                                       \
        v16f b_[8], c_[4], d_[2];                                                                   \
        for (int i_ = 0; i_ < 8; i_++)                                                              \
            b_[i_] = __builtin_shufflevector(h_[2 * i_], h_[2 * i_ + 1], 0, 1, 2, 3, 4, 5, 6, 7,    \
                                             16, 17, 18, 19, 20, 21, 22, 23)                        \
                   + __builtin_shufflevector(h_[2 * i_], h_[2 * i_ + 1], 8, 9, 10, 11, 12, 13, 14, 15, \
                                             24, 25, 26, 27, 28, 29, 30, 31);                       \
        for (int i_ = 0; i_ < 4; i_++)                                                              \
            c_[i_] = __builtin_shufflevector(b_[2 * i_], b_[2 * i_ + 1], 0, 1, 2, 3, 8, 9, 10, 11,  \
                                             16, 17, 18, 19, 24, 25, 26, 27)                        \
                   + __builtin_shufflevector(b_[2 * i_], b_[2 * i_ + 1], 4, 5, 6, 7, 12, 13, 14, 15, \
                                             20, 21, 22, 23, 28, 29, 30, 31);                       \
        for (int i_ = 0; i_ < 2; i_++)                                                              \
            d_[i_] = __builtin_shufflevector(c_[2 * i_], c_[2 * i_ + 1], 0, 1, 4, 5, 8, 9, 12, 13,  \
                                             16, 17, 20, 21, 24, 25, 28, 29)                        \
                   + __builtin_shufflevector(c_[2 * i_], c_[2 * i_ + 1], 2, 3, 6, 7, 10, 11, 14, 15, \
                                             18, 19, 22, 23, 26, 27, 30, 31);                       \
        __builtin_shufflevector(d_[0], d_[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) \
            + __builtin_shufflevector(d_[0], d_[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31); \
    })

// Correctly rounded fused multiply-add of float vectors without FMA hardware (the x86-64
// baseline has none, and a libm fmaf call per lane is what made the untargeted Swift build slow).
//
// The product of two floats is exact in double (24 + 24 <= 53 bits). The sum with c is done in
// double rounded to odd: round to nearest, recover the exact error with TwoSum, and if the sum
// was inexact and its last mantissa bit is 0, step it one ulp towards the true value. Rounding a
// round-to-odd result with at least two extra bits (53 >= 24 + 2) to float is the correct
// rounding of the exact a*b + c (Boldo & Melquiond, "Emulation of FMA and correctly rounded
// sums: proved algorithms using rounding to odd", 2008). That also holds where the float result
// is subnormal (double keeps far more than two extra bits there), and for finite float inputs no
// double operation here overflows or underflows inexactly.
#define SOFT_FMA(a, b, c) ({                                                                        \
        v16d p_ = __builtin_convertvector((a), v16d) * __builtin_convertvector((b), v16d);          \
        v16d c_ = __builtin_convertvector((c), v16d);                                               \
        v16d s_ = p_ + c_;                                                                          \
        v16d bb_ = s_ - p_;                                                                         \
        v16d err_ = (p_ - (s_ - bb_)) + (c_ - bb_);                                                 \
        v16l bits_ = (v16l)s_;                                                                      \
        /* Infinities and NaNs give a NaN err and need no step (NaN <= max is false). */            \
        v16l finite_ = __builtin_elementwise_abs(s_) <= 1.7976931348623157e308;                     \
        v16l fix_ = finite_ & (err_ != 0) & ((bits_ & 1) == 0);                                     \
        /* Up in magnitude when err has the sign of s (s is not 0: a sum rounding to 0 is exact). */ \
        v16l up_ = (err_ > 0) == (s_ > 0);                                                          \
        bits_ += fix_ & ((up_ & 2) - 1);                                                            \
        __builtin_convertvector((v16d)bits_, v16f);                                                 \
    })

// Float.vexp (Scalar.swift), using the level's FMA. The clamp is Swift's
// clamped(lowerBound:upperBound:) = minimum(hi, maximum(lo, x)) with IEEE maxNum/minNum, under
// which a NaN input becomes lo.
#define VEXP(xin) ({                                                                                \
        v16f xi_ = (xin), lo_ = SPLAT(-87.3f), hi_ = SPLAT(88.7f);                                  \
        v16f x_ = SELECT(xi_ > lo_, xi_, lo_);                                                      \
        x_ = SELECT(x_ < hi_, x_, hi_);                                                             \
        v16f kf_ = ROUNDEVEN(x_ * 1.442695040888963f);                        \
        v16f r_ = FMA(kf_, SPLAT(-0.693359375f), x_);                                               \
        r_ = FMA(kf_, SPLAT(2.12194440e-4f), r_);                                                   \
        v16f p_ = SPLAT(1.0f / 720.0f);                                                             \
        p_ = (p_ * r_) + (1.0f / 120.0f);                                                           \
        p_ = (p_ * r_) + (1.0f / 24.0f);                                                            \
        p_ = (p_ * r_) + (1.0f / 6.0f);                                                             \
        p_ = (p_ * r_) + 0.5f;                                                                      \
        p_ = (p_ * r_) + 1.0f;                                                                      \
        p_ = (p_ * r_) + 1.0f;                                                                      \
        v16u ki_ = (v16u)__builtin_convertvector(kf_, v16i);                                        \
        p_ * (v16f)((ki_ + 127u) << 23);                                                            \
    })

// roundeven for |t| <= 2^22 (VEXP's argument is within +-128) without SSE4.1's roundps, whose
// absence makes clang call roundevenf per lane: adding and subtracting 1.5 * 2^23 rounds to an
// integer exactly, and the sign is put back because roundeven(-0.3) is -0.
#define ROUNDEVEN_SOFT(t) ({                                                                        \
        v16f t_ = (t), m_ = SPLAT(12582912.0f);                                                     \
        v16f k_ = (t_ + m_) - m_;                                                                   \
        (v16f)((v16u)k_ | ((v16u)t_ & 0x80000000u));                                                \
    })

// Float.vlog (Scalar.swift).
#define VLOG(xin) ({                                                                                \
        v16f xl_ = (xin);                                                                           \
        v16u bits_ = (v16u)xl_;                                                                     \
        v16i e_ = (v16i)((bits_ >> 23) & 0xFFu) - 127;                                              \
        v16u mb_ = (bits_ & 0x007FFFFFu) | 0x3F800000u;                                             \
        v16i big_ = mb_ > 0x3FB504F3u;                                                              \
        mb_ = (v16u)((big_ & (v16i)(mb_ - 0x00800000u)) | (~big_ & (v16i)mb_));                     \
        e_ = (big_ & (e_ + 1)) | (~big_ & e_);                                                      \
        v16f m_ = (v16f)mb_;                                                                        \
        v16f s_ = (m_ - 1.0f) / (m_ + 1.0f);                                                        \
        v16f s2_ = s_ * s_;                                                                         \
        v16f p_ = SPLAT(2.0f / 9.0f);                                                               \
        p_ = p_ * s2_ + (2.0f / 7.0f);                                                              \
        p_ = p_ * s2_ + (2.0f / 5.0f);                                                              \
        p_ = p_ * s2_ + (2.0f / 3.0f);                                                              \
        p_ = p_ * s2_ + 2.0f;                                                                       \
        v16f r_ = s_ * p_ + __builtin_convertvector(e_, v16f) * 0.6931471805599453f;                \
        SELECT(xl_ <= SPLAT(0.0f), SPLAT(-__builtin_inff()), r_);                                   \
    })

// f(args..., n) with n a constant 1...16 (n is known to be in that range).
#define SPECIALISE_1_16(n, f, ...) do { switch (n) { \
        case 1: f(__VA_ARGS__, 1); break; \
        case 2: f(__VA_ARGS__, 2); break; \
        case 3: f(__VA_ARGS__, 3); break; \
        case 4: f(__VA_ARGS__, 4); break; \
        case 5: f(__VA_ARGS__, 5); break; \
        case 6: f(__VA_ARGS__, 6); break; \
        case 7: f(__VA_ARGS__, 7); break; \
        case 8: f(__VA_ARGS__, 8); break; \
        case 9: f(__VA_ARGS__, 9); break; \
        case 10: f(__VA_ARGS__, 10); break; \
        case 11: f(__VA_ARGS__, 11); break; \
        case 12: f(__VA_ARGS__, 12); break; \
        case 13: f(__VA_ARGS__, 13); break; \
        case 14: f(__VA_ARGS__, 14); break; \
        case 15: f(__VA_ARGS__, 15); break; \
        case 16: f(__VA_ARGS__, 16); break; \
        default: break; } } while (0)

#define VSIGMOID(x) (1.0f / (1.0f + VEXP(-(x))))
#define VTANH(x) ({ v16f t_ = (x); 1.0f - 2.0f / (1.0f + VEXP(t_ + t_)); })

#endif
