#!/usr/bin/env bash
# Builds the runtime as a self-contained static C library for this host (Embedded Swift, no
# Swift runtime needed), links examples/c/generate.c against it with clang, makes seed 42
# images 0..99 from the shipped checkpoint's decoder image, and checks the SHA-256 of their
# pixels against vae-gen's (`vae-gen --seed 42 -n 100` prints the same line).
#
#   examples/c/run.sh                 compare with `swift run -c release vae-gen ...`
#   examples/c/run.sh --expect HEX    compare with a digest you already have
#   examples/c/run.sh --build-only    just build .build-capi/libvaedecoder.a and .build-capi/generate
#
# Environment: CHECKPOINT (default checkpoints/vae-mnist.vaeckpt), OUT (default .build-capi).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="${OUT:-$ROOT/.build-capi}"
CHECKPOINT="${CHECKPOINT:-checkpoints/vae-mnist.vaeckpt}"
SEED=42 N=100
mode=vae-gen expect=""
case "${1:-}" in
  --expect) mode=expect; expect="${2:?--expect needs a hex digest}";;
  --build-only) mode=build;;
  "") ;;
  *) echo "usage: $0 [--expect HEX | --build-only]" >&2; exit 2;;
esac

SWIFTC="$(command -v swiftc || true)"
[ -n "$SWIFTC" ] || SWIFTC=/opt/swift/usr/bin/swiftc
[ -x "$SWIFTC" ] || { echo "examples/c/run.sh: swiftc not found (PATH or /opt/swift/usr/bin)" >&2; exit 1; }
TOOLBIN="$(dirname "$SWIFTC")"
mkdir -p "$OUT"
ARCH="$(uname -m)"
# The host library: the runtime's own sources, Embedded Swift for this host, plus its C host
# kernels (Sources/VAEHostKernels, one body per instruction-set level, chosen at run time by
# cpuid): the same fast path vae-gen takes. No -target-cpu: the library runs on any CPU of the
# architecture and gives the same bits on each.
KINC=(-ISources/CPUFeatures/include -ISources/VAEHostKernels/include)
KOBJ=()
for c in Sources/CPUFeatures/*.c Sources/VAEHostKernels/*.c; do
  o="$OUT/$(basename "$c" .c).o"
  "$TOOLBIN/clang" -std=c11 -O2 -fPIC -Wall -Wextra -Werror "${KINC[@]}" -c "$c" -o "$o"
  KOBJ+=("$o")
done
"$TOOLBIN/swiftc" -enable-experimental-feature Embedded -target "$ARCH-unknown-linux-gnu" \
  -wmo -O -parse-as-library -module-name VAEDecoder -Xfrontend -function-sections \
  -Xcc -fPIC -I Sources/CPUFeatures/include -I Sources/VAEHostKernels/include \
  -c Sources/VAEDecoder/*.swift -o "$OUT/VAEDecoder.o"
rm -f "$OUT/libvaedecoder.a"
"$TOOLBIN/llvm-ar" rcs "$OUT/libvaedecoder.a" "$OUT/VAEDecoder.o" "${KOBJ[@]}"
"$TOOLBIN/clang" -std=c11 -O2 -Wall -Wextra -Werror -Iinclude examples/c/generate.c \
  "$OUT/libvaedecoder.a" -lm -o "$OUT/generate"
echo "built $OUT/libvaedecoder.a and $OUT/generate"
[ "$mode" = build ] && exit 0

python3 firmware-sim/tools/vaed.py extract "$CHECKPOINT" "$OUT/decoder.vaed"
got="$("$OUT/generate" "$OUT/decoder.vaed" --seed $SEED -n $N | tee /dev/stderr | awk '$1 == "sha256" { print $2 }')"
if [ "$mode" = vae-gen ]; then
  expect="$(swift run -c release vae-gen --seed $SEED -n $N --checkpoint "$CHECKPOINT" --out "$OUT/vae-gen-out" \
            | tee /dev/stderr | awk '$1 == "sha256" { print $2 }')"
fi
if [ -z "$got" ] || [ "$got" != "$expect" ]; then
  echo "FAIL: C interface sha256 '$got' != expected '$expect'" >&2
  exit 1
fi
echo "OK: C interface (clang + libvaedecoder.a) seed $SEED images 0..$((N - 1)) sha256 $got equals vae-gen's"
