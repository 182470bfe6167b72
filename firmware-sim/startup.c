/*
 * startup.c: reset, vectors, semihosting and the few C-library routines the Swift runtime
 * calls (memory copy/clear helpers, sqrtf). No C library is linked: any heap use (malloc,
 * posix_memalign, free) is an undefined symbol, i.e. a link error.
 *
 * Board: qemu mps2-an386 (Cortex-M4F). Flash at 0x0, RAM at 0x20000000 (link.ld).
 */
#include <stddef.h>
#include <stdint.h>
#include "board.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];
int main(void);

/* ---- semihosting (bkpt 0xab: r0 = operation, r1 = argument) ---- */
static inline uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s) { semihost(0x04 /* SYS_WRITE0 */, s); }

__attribute__((noreturn)) void board_exit(int status) {
    uint32_t block[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, (uint32_t)status};
    semihost(0x20 /* SYS_EXIT_EXTENDED */, block);
    for (;;) {}
}

/* ---- stack painting: every word of the stack region below the reset frame gets this value;
   board_stack_peak() finds the deepest word that changed. ---- */
#define PAINT 0xC5C5C5C5u

size_t board_stack_size(void) { return (size_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom); }

size_t board_stack_peak(void) {
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == PAINT) p++;
    return (size_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

/* The instruction-counting plugin (tools/insncount.c) records the instruction count each time
   this function's first instruction runs; main.c calls it around the code it measures. */
__attribute__((noinline, used)) void board_mark(void) { __asm__ volatile("" ::: "memory"); }

__attribute__((noreturn)) void Reset_Handler(void) {
#if defined(__ARM_FP)
    /* FPU on (CP10, CP11 full access) before any floating-point instruction. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *d = __stack_bottom; d < sp - 16;) *d++ = PAINT;
    board_exit(main());
}

__attribute__((noreturn)) void Fault_Handler(void) {
    board_puts("fw: FAULT (hard fault, trap or bus error)\n");
    board_exit(99);
}

__attribute__((section(".vectors"), used)) const void *const vectors[16] = {
    __stack_top, (const void *)Reset_Handler, (const void *)Fault_Handler, (const void *)Fault_Handler,
    (const void *)Fault_Handler, (const void *)Fault_Handler, (const void *)Fault_Handler, 0, 0, 0, 0,
    (const void *)Fault_Handler, (const void *)Fault_Handler, 0, (const void *)Fault_Handler,
    (const void *)Fault_Handler,
};

/* ---- what the Swift runtime's object needs from a C library ---- */
void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) *d++ = *s++;
    return dst;
}
void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) { while (n--) *d++ = *s++; }
    else { d += n; s += n; while (n--) *--d = *--s; }
    return dst;
}
void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}
void __aeabi_memcpy(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy4(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy8(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memmove(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memmove4(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memmove8(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memclr(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr4(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr8(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memset(void *d, size_t n, int c) { memset(d, c, n); }

/* 64-bit shifts (the run-time ABI helpers; -Osize calls them instead of inlining), written
   with 32-bit operations only so that they cannot call themselves. */
typedef union { uint64_t u; struct { uint32_t lo, hi; } w; } u64w;
uint64_t __aeabi_llsl(uint64_t v, int n) {
    u64w x = {.u = v}, r;
    if (n >= 32) { r.w.hi = x.w.lo << (n - 32); r.w.lo = 0; }
    else if (n == 0) return v;
    else { r.w.hi = (x.w.hi << n) | (x.w.lo >> (32 - n)); r.w.lo = x.w.lo << n; }
    return r.u;
}
uint64_t __aeabi_llsr(uint64_t v, int n) {
    u64w x = {.u = v}, r;
    if (n >= 32) { r.w.lo = x.w.hi >> (n - 32); r.w.hi = 0; }
    else if (n == 0) return v;
    else { r.w.lo = (x.w.lo >> n) | (x.w.hi << (32 - n)); r.w.hi = x.w.hi >> n; }
    return r.u;
}
int64_t __aeabi_lasr(int64_t v, int n) {
    u64w x = {.u = (uint64_t)v}, r;
    if (n >= 32) { r.w.lo = (uint32_t)((int32_t)x.w.hi >> (n - 32)); r.w.hi = (uint32_t)((int32_t)x.w.hi >> 31); }
    else if (n == 0) return v;
    else { r.w.lo = (x.w.lo >> n) | (x.w.hi << (32 - n)); r.w.hi = (uint32_t)((int32_t)x.w.hi >> n); }
    return (int64_t)r.u;
}

#if defined(__ARM_FP)
/* Swift's squareRoot() is an inline vsqrt.f32; it calls sqrtf only for errno on negative input.
   vsqrt is IEEE correctly rounded, as on the host. */
float sqrtf(float x) {
    float r;
    __asm__("vsqrt.f32 %0, %1" : "=t"(r) : "t"(x));
    return r;
}
#else
/* No FPU (Cortex-M0): Swift's squareRoot() calls sqrtf, which libgcc lacks. Correctly rounded
   (round to nearest), so the latents equal the host's: fdlibm's e_sqrtf, bit by bit on the
   integer representation. */
float sqrtf(float x) {
    union { float f; int32_t i; } v = {x};
    int32_t ix = v.i;
    if ((ix & 0x7f800000) == 0x7f800000) return x * x + x;          /* inf, NaN */
    if (ix <= 0) {
        if ((ix & 0x7fffffff) == 0) return x;                        /* +-0 */
        return (x - x) / (x - x);                                    /* negative: NaN */
    }
    int32_t m = ix >> 23;
    if (m == 0) {                                                    /* subnormal */
        int32_t i;
        for (i = 0; (ix & 0x00800000) == 0; i++) ix <<= 1;
        m -= i - 1;
    }
    m -= 127;
    ix = (ix & 0x007fffff) | 0x00800000;
    if (m & 1) ix += ix;
    m >>= 1;
    ix += ix;
    int32_t q = 0, s = 0;
    uint32_t r = 0x01000000;
    while (r != 0) {
        int32_t t = s + (int32_t)r;
        if (t <= ix) { s = t + (int32_t)r; ix -= t; q += (int32_t)r; }
        ix += ix;
        r >>= 1;
    }
    if (ix != 0) q += q & 1;                                         /* round half to even */
    v.i = (q >> 1) + 0x3f000000 + (m << 23);
    return v.f;
}
#endif
