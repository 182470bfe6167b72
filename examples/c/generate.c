/*
 * generate.c: the C interface in use (docs/c-api.md). Makes images first .. first+n-1 of a
 * seed from a decoder image file, and prints the SHA-256 of their concatenated 8-bit pixels:
 * the same line `vae-gen --seed S -n N` prints.
 *
 *   generate DECODER.vaed [--seed S] [-n N] [--first F] [--out FILE.bin]
 *
 * The program allocates (it is a host tool); the library it calls never does.
 */
#define _POSIX_C_SOURCE 200112L   /* clock_gettime */
#include "vae_decoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    /* The image must be 4-byte aligned (16 recommended): aligned_alloc, not malloc's guess. */
    void *buf = aligned_alloc(16, ((size_t)n + 15) & ~(size_t)15);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int fail(const char *what, int32_t rc) {
    fprintf(stderr, "generate: %s: %s (status %d)\n", what, vae_status_string(rc), (int)rc);
    return 1;
}

int main(int argc, char **argv) {
    const char *path = NULL, *out_path = NULL;
    unsigned long long seed = 42, n = 100, first = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--first") && i + 1 < argc) first = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else { fprintf(stderr, "usage: generate DECODER.vaed [--seed S] [-n N] [--first F] [--out FILE.bin]\n"); return 2; }
    }
    if (!path || n < 1 || n > 100000) {
        fprintf(stderr, "usage: generate DECODER.vaed [--seed S] [-n N (1..100000)] [--first F] [--out FILE.bin]\n");
        return 2;
    }

    size_t image_len = 0;
    void *image = read_file(path, &image_len);
    if (!image) { fprintf(stderr, "generate: cannot read %s\n", path); return 1; }

    size_t arena_size = 0;
    int32_t rc = vae_decoder_arena_size(image, image_len, &arena_size);
    if (rc != VAE_OK) return fail(path, rc);
    void *arena = aligned_alloc(16, (arena_size + 15) & ~(size_t)15);
    static vae_decoder_state state;   /* any memory of vae_decoder_state_size() bytes would do */
    rc = vae_decoder_init(&state, sizeof state, image, image_len, arena, arena_size);
    if (rc != VAE_OK) return fail("vae_decoder_init", rc);

    size_t px = vae_decoder_pixel_count(&state);
    uint8_t *pixels = malloc(px * (size_t)n);
    if (!arena || !pixels) { fprintf(stderr, "generate: out of memory\n"); return 1; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long long i = 0; i < n; i++) {
        rc = vae_generate(&state, seed, first + i, pixels + i * px);
        if (rc != VAE_OK) return fail("vae_generate", rc);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;

    uint8_t digest[32];
    rc = vae_sha256(pixels, px * (size_t)n, digest);
    if (rc != VAE_OK) return fail("vae_sha256", rc);
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        if (!f || fwrite(pixels, 1, px * (size_t)n, f) != px * (size_t)n || fclose(f) != 0) {
            fprintf(stderr, "generate: cannot write %s\n", out_path);
            return 1;
        }
    }
    printf("generate: %llu digits of seed %llu (from %llu), latent %zu, %zu pixels each, arena %zu bytes, in %.2f ms\n",
           n, seed, first, vae_decoder_latent_dim(&state), px, arena_size, ms);
    printf("sha256 ");
    for (int i = 0; i < 32; i++) printf("%02x", digest[i]);
    printf("\n");
    free(pixels);
    free(arena);
    free(image);
    return 0;
}
