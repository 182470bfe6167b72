#!/usr/bin/env bash
# Portability checks of the release build, part of the test suite:
#  1. vae-gen under qemu-x86_64 on CPU models without AVX-512 (Haswell: AVX2 + FMA) and without
#     FMA or AVX (Nehalem): the kernels chosen at run time must be avx2 and portable, and the
#     SHA-256 of the digits must equal this machine's.
#  3. arm64: the runtime's C library built for aarch64 (Embedded Swift for the sources, clang for
#     the C kernels: the NEON level), linked statically with Debian's aarch64 cross libc and run
#     under qemu-aarch64 with examples/c/generate.c: float32 and int8 digests equal this machine's.
#  2. A consumer package, outside this repository, that depends on this one BY VERSION (a local
#     git repository tagged 1.0.0, made from the working tree) and uses the VAEDecoder product:
#     SwiftPM refuses that if any target the product needs has unsafe flags. It decodes seed 42.
# Prints "portability: N passed, N failed". Needs a release build (swift build -c release).
#   scripts/portability-tests.sh            both parts
#   QEMU_ONLY=1 / CONSUMER_ONLY=1            one part
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
BIN=.build/release/vae-gen
[ -x "$BIN" ] || { echo "portability: no $BIN; run swift build -c release first"; echo "portability: 0 passed, 1 failed"; exit 1; }
sha_of() { awk '$1 == "sha256" { print $2 }'; }
kernels_of() { sed -nE 's/.*\(([a-z0-9]+) kernels\).*/\1/p'; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

if [ -z "${CONSUMER_ONLY:-}" ]; then
  if [ "$(uname -m)" != x86_64 ]; then
    echo "portability: not an x86-64 host; the qemu CPU-model checks are skipped"
  else
    if ! command -v qemu-x86_64 >/dev/null; then
      echo "portability: installing qemu-user (qemu-x86_64)"
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      { $SUDO apt-get install -y -qq --no-install-recommends qemu-user >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends qemu-user >/dev/null; }; } ||
        bad "cannot install qemu-user"
    fi
    if command -v qemu-x86_64 >/dev/null; then
      # model, digits (the portable level is slow under emulation), kernels expected
      for spec in "Haswell 100 avx2" "Nehalem 12 portable"; do
        set -- $spec
        model=$1 n=$2 want=$3
        native=$("$BIN" --seed 42 -n "$n" --out "$TMP/native" | sha_of)
        out=$(timeout 600 qemu-x86_64 -cpu "$model" "$BIN" --seed 42 -n "$n" --out "$TMP/$model" 2>/dev/null)
        rc=$?
        got=$(sha_of <<<"$out"); k=$(kernels_of <<<"$out")
        if [ $rc -ne 0 ]; then bad "qemu -cpu $model: vae-gen exited with $rc"
        elif [ "$k" != "$want" ]; then bad "qemu -cpu $model: ran $k kernels, expected $want"
        elif [ -z "$got" ] || [ "$got" != "$native" ]; then bad "qemu -cpu $model: sha256 $got != this machine's $native"
        else ok "qemu -cpu $model: $k kernels, $n digits, sha256 equal to this machine's"; fi
      done
    fi
  fi
fi

if [ -z "${CONSUMER_ONLY:-}" ] && [ "$(uname -m)" = x86_64 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if [ ! -f /usr/aarch64-linux-gnu/lib/libc.a ] || ! ls -d /usr/lib/gcc-cross/aarch64-linux-gnu/*/ >/dev/null 2>&1; then
    echo "portability: installing the aarch64 cross libc and libgcc (libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libc6-dev-arm64-cross libgcc-12-dev-arm64-cross >/dev/null 2>&1 ||
      { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libc6-dev-arm64-cross libgcc-12-dev-arm64-cross >/dev/null; } ||
      bad "cannot install the aarch64 cross libc"
  fi
  SWIFTC="$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)"; TB="$(dirname "$SWIFTC")"
  G=$(ls -d /usr/lib/gcc-cross/aarch64-linux-gnu/*/ 2>/dev/null | head -1)
  if [ -n "$G" ] && command -v qemu-aarch64 >/dev/null; then
    A="$TMP/arm64"; mkdir -p "$A"
    CC=("$TB/clang" --target=aarch64-linux-gnu --sysroot=/usr/aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include -O2
        -Wall -Wextra -Werror -ISources/CPUFeatures/include -ISources/VAEHostKernels/include -Iinclude)
    objs=()
    for c in Sources/CPUFeatures/*.c Sources/VAEHostKernels/*.c examples/c/generate.c; do
      o="$A/$(basename "$c" .c).o"; "${CC[@]}" -c "$c" -o "$o" || bad "arm64: $c does not compile"; objs+=("$o")
    done
    "$SWIFTC" -enable-experimental-feature Embedded -target aarch64-none-none-elf -wmo -O -parse-as-library \
      -module-name VAEDecoder -I Sources/CPUFeatures/include -I Sources/VAEHostKernels/include \
      -c Sources/VAEDecoder/*.swift -o "$A/VAEDecoder.o" || bad "arm64: the runtime does not compile"
    "$TB/clang" --target=aarch64-linux-gnu -fuse-ld=lld -static -nostdlib /usr/aarch64-linux-gnu/lib/crt1.o \
      /usr/aarch64-linux-gnu/lib/crti.o "$G/crtbeginT.o" "${objs[@]}" "$A/VAEDecoder.o" -L/usr/aarch64-linux-gnu/lib -L"$G" \
      -Wl,--start-group -lc -lm -lgcc -lgcc_eh -Wl,--end-group "$G/crtend.o" /usr/aarch64-linux-gnu/lib/crtn.o \
      -o "$A/generate" || bad "arm64: link failed"
    for prec in float32 int8; do
      "$BIN" export-decoder --precision $prec --out "$A/$prec.vaed" >/dev/null
      want=$("$BIN" --seed 42 -n 100 --precision $prec --out "$TMP/native" | sha_of)
      got=$(timeout 600 qemu-aarch64 "$A/generate" "$A/$prec.vaed" --seed 42 -n 100 | sha_of)
      if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "arm64 (qemu-aarch64, NEON level): $prec sha256 equal to this machine's"
      else bad "arm64 $prec: sha256 '$got' != this machine's '$want'"; fi
    done
  fi
fi

if [ -z "${QEMU_ONLY:-}" ]; then
  # The package as a versioned dependency: its tracked files as they are now, tagged 1.0.0.
  PKG="$TMP/swift-vae"
  mkdir -p "$PKG"
  git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -t "$PKG" 2>/dev/null
  (cd "$PKG" && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm snapshot && git tag 1.0.0) ||
    bad "cannot make the local tagged repository"
  C="$TMP/consumer"
  mkdir -p "$C/Sources/consumer"
  cat > "$C/Package.swift" <<SWIFT
// swift-tools-version: 6.3
import PackageDescription
let package = Package(
    name: "consumer",
    dependencies: [.package(url: "file://$PKG", from: "1.0.0")],
    targets: [.executableTarget(name: "consumer", dependencies: [.product(name: "VAEDecoder", package: "swift-vae")])]
)
SWIFT
  cat > "$C/Sources/consumer/main.swift" <<'SWIFT'
// Decodes images 0 ..< 100 of seed 42 from a raw decoder image and prints their SHA-256.
import VAEDecoder
#if canImport(Glibc)
import Glibc
#endif
let path = CommandLine.arguments[1]
guard let f = fopen(path, "rb") else { print("cannot open \(path)"); exit(1) }
var bytes = [UInt8](repeating: 0, count: 1 << 20)
let n = fread(&bytes, 1, bytes.count, f)
fclose(f)
let rt = try LoadedDecoder(image: Array(bytes[0..<n]))
var px = [UInt8](repeating: 0, count: 100 * rt.model.pixelCount)
px.withUnsafeMutableBufferPointer { p in
    for i in 0..<100 { rt.generate(seed: 42, index: UInt64(i), pixels: p.baseAddress! + i * rt.model.pixelCount) }
}
print("kernels \(rt.decoder.path.name)")
print("sha256 \(SHA256.hex(of: px))")
SWIFT
  "$BIN" export-decoder --out "$TMP/decoder.vaed" >/dev/null
  if (cd "$C" && swift build -c release > "$TMP/consumer-build.log" 2>&1); then
    want=$("$BIN" --seed 42 -n 100 --out "$TMP/native" | sha_of)
    got=$("$C/.build/release/consumer" "$TMP/decoder.vaed" | sha_of)
    if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "consumer package (VAEDecoder from: \"1.0.0\") builds and prints vae-gen's sha256"
    else bad "consumer package printed sha256 '$got', vae-gen '$want'"; fi
  else
    tail -20 "$TMP/consumer-build.log"
    bad "a package depending on VAEDecoder by version does not build (log above)"
  fi
fi

echo "portability: $pass passed, $fail failed"
[ $fail -eq 0 ]
