// The decoder runtime's host kernels (x86-64, arm64): the float32 transposed convolution of
// docs/checkpoint-format.md section 2.1, one body compiled once per instruction-set level
// (portable, AVX2+FMA, AVX-512; NEON on arm64) and chosen at run time by the caller.
//
// Why C: Swift has no per-function target attribute, and a package others depend on may not
// carry -target-cpu. Why these are still "the spec's bits": every output is bias, then one
// correctly rounded fused multiply-add per tap in the spec's order; the portable level computes
// that fused multiply-add exactly in software (vae_fma_soft below). Tests hold every level
// equal, bit for bit, to the runtime's Swift reference kernel.
#ifndef VAE_HOST_KERNELS_H
#define VAE_HOST_KERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One stride-1, unpadded transposed convolution as the runtime has validated it.
typedef struct {
    int32_t in_channels, out_channels, kernel, in_side;
    /// 0 none, 1 ReLU, 2 LeakyReLU(slope): applied here. 3 (sigmoid): the raw sums are stored
    /// and the runtime applies its own PortableMath sigmoid (one implementation of exp).
    int32_t activation;
    float slope;
    const float *weights;   // [in][out][k][k]
    const float *bias;      // [out]
    /// Readable bytes before and after `weights` (the smaller): a kernel over-reads at most 64.
    int32_t weight_slack_bytes;
} vae_convt_f32_layer;

/// Floats of scratch vae_convt_f32 needs for `l` (its input with padded rows, plus slack).
size_t vae_convt_f32_scratch_floats(const vae_convt_f32_layer *l);

/// One image: in[in][side][side] -> out[out][os][os]. `isa` is a VAE_ISA_* level the CPU has
/// (cpu_features.h); any other value runs the portable level.
void vae_convt_f32(const vae_convt_f32_layer *l, const float *in, float *out, float *scratch, int32_t isa);

/// Sixteen images, one per lane: in[c][y][x][16] -> out[c][y][x][16] (64-byte aligned).
void vae_convt_f32_lanes16(const vae_convt_f32_layer *l, const float *in, float *out, int32_t isa);

/// One int8 layer (docs/quantisation.md): integer tensors in, integer tensors or 8-bit pixels
/// out. Integer sums are exact (the loader checked the accumulator bound), so the levels differ
/// only in instructions: portable (plain 32-bit lanes), AVX2 and AVX-512 (vpmaddwd on int16
/// pairs), AVX-512 VNNI (vpdpwssd), NEON on arm64 (vmull_s16 and a pairwise add).
typedef struct {
    int32_t in_channels, out_channels, kernel, in_side;
    int32_t in_width, in_zero_point;                       // 1 (int8) or 2 (int16)
    int32_t out_width, out_zero_point, out_qmin, out_qmax;  // out_width 0: 8-bit pixels
    int32_t relu;                                           // activation is ReLU
    const int8_t *weights;                                  // [in][out][k][k]
    const int32_t *bias;                                    // [out]
    const int32_t *requant;                                 // [out][4], or [out][255] thresholds
    /// The weights as int16 pairs over input channels (w[2q], w[2q + 1]), [out][(in+1)/2][k][k]
    /// (the first layer, narrower than its kernel: pairs along kernel rows):
    /// made once by vae_convt_i8_pack into memory the caller keeps (the decoder's arena).
    const int32_t *packed;
} vae_convt_i8_layer;

/// Bytes vae_convt_i8_pack writes for `l`.
size_t vae_convt_i8_pack_bytes(const vae_convt_i8_layer *l);
void vae_convt_i8_pack(const vae_convt_i8_layer *l, int32_t *packed);

/// Bytes of scratch vae_convt_i8 needs for `l` (its centred input as padded int16 channel pairs).
size_t vae_convt_i8_scratch_bytes(const vae_convt_i8_layer *l);

void vae_convt_i8(const vae_convt_i8_layer *l, const void *in, void *out, void *scratch, int32_t isa);

/// Continues CRC-32 `crc` (0 to start) over data[0 ..< len): the runtime's CRC32 on hosts.
uint32_t vae_crc32_update(uint32_t crc, const void *data, size_t len);

/// The portable level's exact fused multiply-add, on 16 lanes (exported for its tests).
void vae_fma_soft16(const float *a, const float *b, const float *c, float *out);

#ifdef __cplusplus
}
#endif
#endif
