#include <zlib.h>

/* deflateInit2 is a macro; this gives Swift the call with the header's version and size. */
static inline int czlib_deflate_init2(z_stream *s, int level, int strategy) {
    return deflateInit2(s, level, Z_DEFLATED, 15, 8, strategy);
}
