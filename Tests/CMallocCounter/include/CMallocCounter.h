#ifndef CMALLOCCOUNTER_H
#define CMALLOCCOUNTER_H
#include <stdint.h>
/* Counts heap allocations made by the test process while counting is on (every thread).
   malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign are replaced by
   wrappers that count and forward to glibc's own implementations (under AddressSanitizer,
   its allocation hook counts instead, so that its allocator keeps every red zone). */
void vae_malloc_counter_start(void);
uint64_t vae_malloc_counter_stop(void);
#endif
