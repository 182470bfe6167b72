/*
 * vae_decoder.h: the C interface of the VAE decoder runtime (docs/c-api.md).
 *
 * The functions are implemented by the Swift runtime itself (Sources/VAEDecoder/CAPI.swift),
 * so a C caller runs exactly the code vae-gen runs. The library has no global mutable state
 * and never allocates: the caller owns every byte (the state, the decoder image, the arena,
 * the latent and the output buffers). Every function that can fail returns a status code:
 * 0 (VAE_OK) or one of the VAE_ERR_* values below (DecoderError's raw values); it never
 * traps on bad input.
 *
 * Typical use:
 *
 *     static vae_decoder_state st;                  // or any suitably aligned memory
 *     size_t need;
 *     int32_t rc = vae_decoder_arena_size(image, image_len, &need);
 *     void *arena = ...;                            // need bytes, 4-byte aligned
 *     rc = vae_decoder_init(&st, sizeof st, image, image_len, arena, need);
 *     uint8_t px[784];
 *     rc = vae_generate(&st, 42, 0, px);           // image 0 of seed 42
 *
 * A state, its image and its arena serve one thread at a time; the image and the arena must
 * stay in place (and unchanged) for as long as the state is used. Any number of states may
 * exist side by side.
 */
#ifndef VAE_DECODER_H
#define VAE_DECODER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (Sources/VAEDecoder/DecoderError.swift; the values never change meaning). */
enum {
    VAE_OK = 0,
    VAE_ERR_BAD_MAGIC = 1,                 /* not a decoder image ("VAED") */
    VAE_ERR_UNSUPPORTED_VERSION = 2,       /* major version is not 1 */
    VAE_ERR_TRUNCATED = 3,                 /* shorter than its header says */
    VAE_ERR_CHECKSUM_MISMATCH = 4,         /* CRC-32 does not match (corrupt) */
    VAE_ERR_UNSUPPORTED_WEIGHT_TYPE = 5,   /* weight type this build does not execute */
    VAE_ERR_TOO_MANY_LAYERS = 6,           /* more layers than this build's capacity */
    VAE_ERR_EXCEEDS_CAPACITY = 7,          /* a layer or activation beyond this build's capacity */
    VAE_ERR_INCONSISTENT_ARCHITECTURE = 8, /* layers do not chain */
    VAE_ERR_UNSUPPORTED_LAYER = 9,         /* kind, stride, padding or activation not supported */
    VAE_ERR_MISALIGNED = 10,               /* a pointer or a tensor offset is misaligned */
    VAE_ERR_BAD_TENSOR_OFFSET = 11,        /* a tensor outside the image or overlapping */
    VAE_ERR_ARENA_TOO_SMALL = 12,          /* arena smaller than vae_decoder_arena_size says */
    VAE_ERR_BAD_ARGUMENT = 13,             /* null pointer, uninitialised state, bad size */
    VAE_ERR_BAD_QUANTISATION = 14,         /* int8 image: a quantisation field out of range (docs/quantisation.md) */
    VAE_ERR_ACCUMULATOR_BOUND = 15,        /* int8 image: a layer's worst-case sum does not fit int32 */
    VAE_ERR_PRECISION_NOT_BUILT = 16,      /* this build leaves out the image's precision */
    VAE_ERR_NON_FINITE_WEIGHT = 17,        /* float32 image: a weight or bias is NaN or infinite */
    VAE_ERR_BAD_CLASS_PRIORS = 18,         /* the image's class priors block is malformed */
    VAE_ERR_NO_SUCH_CLASS = 19             /* the image has no class priors, or none for that class */
};

/*
 * The state a caller provides. These constants are upper bounds that hold for every target
 * (32- and 64-bit); vae_decoder_state_size() and vae_decoder_state_align() give this build's
 * real values, which are never larger (1,216 bytes on 64-bit hosts, 708 on a Cortex-M, where a
 * firmware tight on RAM may pass a smaller buffer of at least vae_decoder_state_size() bytes).
 */
#define VAE_DECODER_STATE_SIZE 2048
#define VAE_DECODER_STATE_ALIGN 16

/* Largest output of one image in this interface's examples (MNIST: 1 x 28 x 28). The real
 * value for an image is vae_decoder_pixel_count(). */
#define VAE_MNIST_PIXELS 784

#if defined(__cplusplus)
#define VAE_ALIGNAS(n) alignas(n)
#else
#define VAE_ALIGNAS(n) _Alignas(n)
#endif

/* Storage for one decoder state; its contents are private to the library. */
typedef struct vae_decoder_state {
    VAE_ALIGNAS(VAE_DECODER_STATE_ALIGN) unsigned char opaque[VAE_DECODER_STATE_SIZE];
} vae_decoder_state;

/* This build's real state size and alignment (<= the constants above). */
size_t vae_decoder_state_size(void);
size_t vae_decoder_state_align(void);

/*
 * Validates the decoder image image[0 .. image_len) (which must be 4-byte aligned) and stores
 * in *arena_size the number of arena bytes vae_decoder_init needs for it in this build (hosts
 * use a larger arena than microcontrollers: their vector kernel needs padding scratch).
 */
int32_t vae_decoder_arena_size(const void *image, size_t image_len, size_t *arena_size);

/* An arena size that serves any image this build accepts (for static allocation). */
size_t vae_decoder_max_arena_size(void);

/*
 * Validates the image and sets up a decoder in `state` (state_size bytes, aligned to
 * vae_decoder_state_align()). The image is read in place and never copied: keep it alive and
 * unchanged. `arena` (arena_size bytes, 4-byte aligned) holds the activations. On failure the
 * state is marked unusable and the other calls refuse it with VAE_ERR_BAD_ARGUMENT.
 */
int32_t vae_decoder_init(vae_decoder_state *state, size_t state_size,
                         const void *image, size_t image_len,
                         void *arena, size_t arena_size);

/* The image's arithmetic: VAE_PRECISION_FLOAT32 or VAE_PRECISION_INT8 (the image's weight
 * type); 0 for a state that is not initialised. An int8 image runs integer-only kernels after
 * the latent is quantised (docs/quantisation.md). */
enum { VAE_PRECISION_FLOAT32 = 1, VAE_PRECISION_INT8 = 2 };
int32_t vae_decoder_precision(const vae_decoder_state *state);

/* Latent dimension (64) and output values per image (784); 0 for a state that is not initialised. */
size_t vae_decoder_latent_dim(const vae_decoder_state *state);
size_t vae_decoder_pixel_count(const vae_decoder_state *state);

/*
 * out[0 .. dim) = the latent of image `index` of `seed`, exactly as `vae-gen --seed` makes it
 * (SplitMix64 draws and an Acklam normal quantile; docs/latent-generator.md). Needs no state.
 */
int32_t vae_latent(uint64_t seed, uint64_t index, size_t dim, float *out);

/* latent[0 .. latent_dim) -> pixels[0 .. pixel_count), 8-bit: round(p * 255), p clamped to [0, 1]. */
int32_t vae_decoder_decode(const vae_decoder_state *state, const float *latent, uint8_t *pixels);

/* latent -> out[0 .. pixel_count), the decoder's float outputs (sigmoid, in [0, 1]); for an
 * int8 image, its 8-bit pixels divided by 255. `out` must not lie in the arena. */
int32_t vae_decoder_decode_float(const vae_decoder_state *state, const float *latent, float *out);

/* Image `index` of `seed` as 8-bit pixels: vae_latent + vae_decoder_decode, with the latent
 * kept in the arena. Bit for bit what `vae-gen --seed seed` writes for that image. */
int32_t vae_generate(const vae_decoder_state *state, uint64_t seed, uint64_t index, uint8_t *pixels);

/*
 * Class priors (docs/latent-generator.md section 6): an image exported with
 * `vae-gen export-decoder --priors fitted` carries one Gaussian per class (per digit) in latent
 * space, so an unconditional decoder can be asked for a digit. vae_decoder_class_count gives
 * the number of classes (0: the image has none, or the state is not initialised).
 */
size_t vae_decoder_class_count(const vae_decoder_state *state);

/* out[0 .. latent_dim) = the latent of image `index` of `seed` drawn from class `cls`: the
 * seeded latent e (vae_latent) moved to mean + L e. VAE_ERR_NO_SUCH_CLASS if cls >= the count. */
int32_t vae_class_latent(const vae_decoder_state *state, uint64_t seed, uint64_t index, uint32_t cls, float *out);

/* Image `index` of `seed` drawn from class `cls`, as 8-bit pixels: bit for bit what
 * `vae-gen --digit cls --seed seed` writes for that image. VAE_ERR_NO_SUCH_CLASS as above. */
int32_t vae_generate_class(const vae_decoder_state *state, uint64_t seed, uint64_t index, uint32_t cls, uint8_t *pixels);

/* digest[0 .. 32) = SHA-256 of data[0 .. len) (how vae-gen and the firmware fingerprint pixels). */
int32_t vae_sha256(const void *data, size_t len, uint8_t digest[32]);

/* A static, NUL-terminated English sentence for a status code (never NULL). */
const char *vae_status_string(int32_t status);

#ifdef __cplusplus
}
#endif

#endif /* VAE_DECODER_H */
