#!/usr/bin/env bash
# wasm/build.sh: the decoder runtime as a WebAssembly module. Sources/VAEDecoder/*.swift as they
# are, Embedded Swift for wasm32-unknown-none-wasm, linked by the toolchain's wasm-ld with
# wasm/support.c (memset/memcpy/memmove, __multi3) and no C library: a heap function would be an
# undefined symbol, i.e. a link error. The module exports the C interface's functions
# (include/vae_decoder.h) and __heap_base; it imports its memory ("env" "memory"), which the page
# (or node-test.mjs) creates and owns: the state, the decoder image, the arena and the buffers
# all live above __heap_base, where the caller puts them.
#
#   wasm/build.sh            -> $OUT/vae.wasm (default OUT = wasm/build)
#
# Environment: OUT, SWIFT_OPT (default -O).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
OUT="${OUT:-$HERE/build}"
SWIFT_OPT="${SWIFT_OPT:--O}"
SWIFTC="$(command -v swiftc || true)"
[ -n "$SWIFTC" ] || SWIFTC=/opt/swift/usr/bin/swiftc
[ -x "$SWIFTC" ] || { echo "wasm/build.sh: swiftc not found (PATH or /opt/swift/usr/bin)" >&2; exit 1; }
TB="$(dirname "$(readlink -f "$SWIFTC")")"
for t in clang wasm-ld; do [ -x "$TB/$t" ] || { echo "wasm/build.sh: $TB/$t is missing (the Swift toolchain ships it)" >&2; exit 1; }; done
mkdir -p "$OUT"

"$SWIFTC" -enable-experimental-feature Embedded -target wasm32-unknown-none-wasm \
  -wmo "$SWIFT_OPT" -parse-as-library -module-name VAEDecoder \
  -Xfrontend -function-sections -Xfrontend -disable-stack-protector \
  -c Sources/VAEDecoder/*.swift -o "$OUT/VAEDecoder.o"
"$TB/clang" --target=wasm32-unknown-unknown -O2 -ffreestanding -fno-builtin -nostdlib \
  -ffunction-sections -Wall -Wextra -Werror -std=c11 -c "$HERE/support.c" -o "$OUT/support.o"

EXPORTS=(vae_decoder_state_size vae_decoder_state_align vae_decoder_arena_size vae_decoder_max_arena_size
         vae_decoder_init vae_decoder_precision vae_decoder_latent_dim vae_decoder_pixel_count
         vae_latent vae_decoder_decode vae_decoder_decode_float vae_generate vae_sha256 vae_status_string
         vae_decoder_class_count vae_class_latent vae_generate_class)
"$TB/wasm-ld" --no-entry --gc-sections --strip-all --import-memory -z stack-size=65536 --stack-first \
  "${EXPORTS[@]/#/--export=}" --export=__heap_base \
  "$OUT/VAEDecoder.o" "$OUT/support.o" -o "$OUT/vae.wasm"
echo "wasm/build.sh: $OUT/vae.wasm, $(wc -c < "$OUT/vae.wasm") bytes"
