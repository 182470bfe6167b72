/*
 * main.c: the firmware. It uses the runtime only through include/vae_decoder.h (the same C
 * interface a host C program uses), with every buffer static and the decoder image in flash.
 *
 * It makes images 0 .. GOLDEN_COUNT-1 of seed GOLDEN_SEED, prints for each its SHA-256 and its
 * bytes (hex) over semihosting, checks that bad images are refused with the documented codes,
 * prints the peak stack, and exits 0 if every digest equals the golden one compiled in
 * (golden.h, generated from Tests/DecoderTests/Goldens/digests.txt at build time), 1 if not,
 * 2 if a bad-image check failed, 10 + status if the decoder could not be set up.
 */
#include <stdint.h>
#include "vae_decoder.h"
#include "board.h"
#include "golden.h"
/* The decoder image (generated C array vae_image[], const and aligned: .rodata in flash) and
   its sizes (VAE_IMAGE_ARENA_BYTES, VAE_IMAGE_LATENT, VAE_IMAGE_PIXELS). */
#include "image.h"

/* The state: VAE_DECODER_STATE_SIZE (2048) serves every build; this firmware gives it what the
   Cortex-M build needs (725 bytes, printed below) plus a little, since RAM is the budget that
   binds. vae_decoder_init refuses a state smaller than vae_decoder_state_size(). */
#ifndef FW_STATE_BYTES
#define FW_STATE_BYTES 744
#endif
static __attribute__((aligned(VAE_DECODER_STATE_ALIGN))) unsigned char state_mem[FW_STATE_BYTES];
#define state (*(vae_decoder_state *)state_mem)
static float arena[VAE_IMAGE_ARENA_BYTES / sizeof(float)];
static float latent[VAE_IMAGE_LATENT];
/* The pixels' buffer also holds the doctored headers of the bad-image checks, which run before
   any decoding: RAM is the budget that binds, and a buffer of its own cost the stack 112 bytes. */
static __attribute__((aligned(16))) uint8_t pixels[VAE_IMAGE_PIXELS];
#define bad pixels
#define BAD_BYTES (64 + 48)   /* room for a doctored header */

/* ---- printing without a C library ---- */
static char line[160];
static char *put_str(char *p, const char *s) { while (*s) *p++ = *s++; return p; }
static char *put_uint(char *p, uint32_t v) {
    char t[10];
    int n = 0;
    do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = t[--n];
    return p;
}
static char *put_hex(char *p, const uint8_t *b, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { *p++ = hex[b[i] >> 4]; *p++ = hex[b[i] & 15]; }
    return p;
}
static void emit(char *end) { *end++ = '\n'; *end = 0; board_puts(line); }

static int same(const uint8_t *a, const uint8_t *b, size_t n) {
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

/* One bad-image check: expect `want` from vae_decoder_init. */
static int check(const char *name, const void *image, size_t len, size_t arena_size, int32_t want) {
    int32_t rc = vae_decoder_init(&state, sizeof state_mem, image, len, arena, arena_size);
    char *p = put_str(line, "fw: check ");
    p = put_str(p, name);
    p = put_str(p, " status ");
    p = put_uint(p, (uint32_t)rc);
    p = put_str(p, rc == want ? " ok" : " WRONG");
    emit(p);
    return rc == want;
}

static int bad_image_checks(void) {
    int ok = 1;
    for (unsigned i = 0; i < BAD_BYTES; i++) bad[i] = vae_image[i];
    bad[0] = 'X';
    ok &= check("bad-magic", bad, BAD_BYTES, sizeof arena, VAE_ERR_BAD_MAGIC);
    ok &= check("truncated", vae_image, vae_image_len - 1, sizeof arena, VAE_ERR_TRUNCATED);
    ok &= check("misaligned", vae_image + 2, vae_image_len - 2, sizeof arena, VAE_ERR_MISALIGNED);
    ok &= check("null-image", 0, vae_image_len, sizeof arena, VAE_ERR_BAD_ARGUMENT);
    ok &= check("arena-too-small", vae_image, vae_image_len, 64, VAE_ERR_ARENA_TOO_SMALL);
    /* Fields >= 2^31 would trap a 32-bit Int conversion: refused instead. */
    for (unsigned i = 0; i < BAD_BYTES; i++) bad[i] = vae_image[i];
    bad[8] = bad[9] = bad[10] = 0xFF; bad[11] = 0xFF;
    ok &= check("huge-length", bad, BAD_BYTES, sizeof arena, VAE_ERR_TRUNCATED);
    for (unsigned i = 0; i < BAD_BYTES; i++) bad[i] = vae_image[i];
    bad[23] = 0x80;   /* latent dimension 2^31 + 64 */
    ok &= check("huge-latent", bad, BAD_BYTES, sizeof arena, VAE_ERR_EXCEEDS_CAPACITY);
    ok &= vae_generate(&state, 1, 2, pixels) == VAE_ERR_BAD_ARGUMENT;   /* the failed init left it unusable */
    return ok;
}

int main(void) {
    board_puts("fw: vae decoder firmware (Embedded Swift runtime via include/vae_decoder.h)\n");
    if (bad_image_checks() == 0) {
        board_puts("fw: bad-image checks FAILED\n");
        board_exit(2);
    }
    size_t need = 0;
    int32_t rc = vae_decoder_arena_size(vae_image, vae_image_len, &need);
    if (rc == VAE_OK && need > sizeof arena) rc = VAE_ERR_ARENA_TOO_SMALL;
    if (rc == VAE_OK) rc = vae_decoder_init(&state, sizeof state_mem, vae_image, vae_image_len, arena, sizeof arena);
    if (rc == VAE_OK && (vae_decoder_pixel_count(&state) != VAE_IMAGE_PIXELS ||
                         vae_decoder_latent_dim(&state) > sizeof latent / sizeof latent[0]))
        rc = VAE_ERR_EXCEEDS_CAPACITY;
    if (rc != VAE_OK) {
        char *p = put_str(line, "fw: init failed: ");
        p = put_str(p, vae_status_string(rc));
        emit(p);
        return 10 + rc;
    }
    size_t dim = vae_decoder_latent_dim(&state);

    int matches = 0;
    for (uint32_t i = 0; i < GOLDEN_COUNT; i++) {
        /* Measured by tools/insncount.c: mark, latent, mark, decode (+ quantise), mark. */
        board_mark();
        vae_latent(GOLDEN_SEED, i, dim, latent);
        board_mark();
        vae_decoder_decode(&state, latent, pixels);
        board_mark();
        uint8_t digest[32];
        vae_sha256(pixels, VAE_IMAGE_PIXELS, digest);
        int ok = same(digest, golden_digest[i], 32);
        matches += ok;
        char *p = put_str(line, "fw: image ");
        p = put_uint(p, i);
        p = put_str(p, " sha256 ");
        p = put_hex(p, digest, 32);
        p = put_str(p, ok ? " golden" : " DIFFERS");
        emit(p);
        p = put_str(line, "px ");
        p = put_uint(p, i);
        *p++ = ' ';
        *p = 0;
        board_puts(line);
        for (uint32_t j = 0; j < VAE_IMAGE_PIXELS; j += 64) {   /* the bytes, in pieces: no big buffer */
            uint32_t n = VAE_IMAGE_PIXELS - j < 64 ? VAE_IMAGE_PIXELS - j : 64;
            p = put_hex(line, pixels + j, n);
            *p = 0;
            board_puts(line);
        }
        board_puts("\n");
    }
    /* vae_generate (latent kept in the arena) must give the same bytes as latent + decode. */
    uint8_t digest[32], digest2[32];
    vae_sha256(pixels, VAE_IMAGE_PIXELS, digest);
    vae_generate(&state, GOLDEN_SEED, GOLDEN_COUNT - 1, pixels);
    vae_sha256(pixels, VAE_IMAGE_PIXELS, digest2);
    int generate_ok = same(digest, digest2, 32);

    /* Class priors (docs/checkpoint-format.md 2.2): a firmware built with FW_EXPECT_CLASSES holds
       an image that carries them, and image 0 of every class must be the trainer's class golden. */
    int classes_ok = 1;
#ifdef FW_EXPECT_CLASSES
    classes_ok = vae_decoder_class_count(&state) == FW_EXPECT_CLASSES && GOLDEN_CLASSES == FW_EXPECT_CLASSES;
    uint32_t class_matches = 0;
    for (uint32_t c = 0; classes_ok && c < GOLDEN_CLASSES; c++) {
        int32_t crc = vae_generate_class(&state, GOLDEN_SEED, 0, c, pixels);
        vae_sha256(pixels, VAE_IMAGE_PIXELS, digest);
        int ok = crc == VAE_OK && same(digest, golden_class_digest[c], 32);
        class_matches += (uint32_t)ok;
        char *q = put_str(line, "fw: class ");
        q = put_uint(q, c);
        q = put_str(q, " image 0 sha256 ");
        q = put_hex(q, digest, 32);
        q = put_str(q, ok ? " golden" : " DIFFERS");
        emit(q);
    }
    classes_ok = classes_ok && class_matches == GOLDEN_CLASSES &&
                 vae_generate_class(&state, GOLDEN_SEED, 0, FW_EXPECT_CLASSES, pixels) == VAE_ERR_NO_SUCH_CLASS;
    {
        char *q = put_str(line, "fw: ");
        q = put_uint(q, class_matches);
        q = put_str(q, "/");
        q = put_uint(q, FW_EXPECT_CLASSES);
        q = put_str(q, classes_ok ? " class digests equal the goldens" : " class digests equal the goldens: CLASS CHECK FAILED");
        emit(q);
    }
#endif

    char *p = put_str(line, "fw: stack peak ");
    p = put_uint(p, (uint32_t)board_stack_peak());
    p = put_str(p, " of ");
    p = put_uint(p, (uint32_t)board_stack_size());
    p = put_str(p, " bytes; arena ");
    p = put_uint(p, (uint32_t)need);
    p = put_str(p, " bytes; state ");
    p = put_uint(p, (uint32_t)vae_decoder_state_size());
    p = put_str(p, " of ");
    p = put_uint(p, (uint32_t)sizeof state_mem);
    p = put_str(p, " bytes");
    emit(p);
    p = put_str(line, "fw: ");
    p = put_uint(p, (uint32_t)matches);
    p = put_str(p, "/");
    p = put_uint(p, GOLDEN_COUNT);
    p = put_str(p, " digests equal the goldens");
    p = put_str(p, generate_ok ? "; vae_generate agrees" : "; vae_generate DISAGREES");
    emit(p);
    int pass = matches == GOLDEN_COUNT && generate_ok && classes_ok;
    board_puts(pass ? "fw: PASS\n" : "fw: FAIL\n");
    return pass ? 0 : 1;
}
