// The few symbols a wasm32 module built from the runtime needs and no C library provides here
// (the module links no libc, so that any heap use would be an undefined symbol):
//   memset, memcpy, memmove   what LLVM emits for struct copies and zeroing
//   __multi3                  128-bit multiply (compiler-rt's builtin; the toolchain ships none for wasm32)
// The float32 path's fused multiply-add (fmaf) is the runtime's own PortableMath.fma
// (Sources/VAEDecoder/PortableMath.swift), not here.
#include <stddef.h>
#include <stdint.h>

void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p < q) { while (n--) *p++ = *q++; }
    else { p += n; q += n; while (n--) *--p = *--q; }
    return d;
}

// __multi3(a, b): the low 128 bits of a * b. wasm32's C ABI passes each 128-bit argument as two
// i64 (low, high) and returns it through a pointer to the result.
typedef struct { uint64_t lo, hi; } u128;
static uint64_t mul64hi(uint64_t a, uint64_t b) {
    uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
void __multi3(u128 *r, uint64_t alo, uint64_t ahi, uint64_t blo, uint64_t bhi) {
    r->lo = alo * blo;
    r->hi = mul64hi(alo, blo) + alo * bhi + ahi * blo;
}
