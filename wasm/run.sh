#!/usr/bin/env bash
# wasm/run.sh: the runtime in WebAssembly, end to end (a stage of scripts/test-all.sh).
#   1. wasm/build.sh: Sources/VAEDecoder unchanged -> wasm/build/vae.wasm (Embedded Swift, wasm-ld)
#   2. node wasm/node-test.mjs: every pixel of seeds 0, 42, 2026 (images 0..15) against the
#      goldens in Tests/DecoderTests/Goldens, float32 and int8, and the seed-42 100-digit SHA
#      against vae-gen's, computed now from the repository's checkpoint (nothing hard-coded)
#   3. vae-gen export-web: the site (page, module, the checkpoint's decoders, pca.json)
#   4. node wasm/browser-test.mjs: headless Chromium loads the site from a loopback server;
#      the SHA it displays (float32 and int8), the sliders, time to first digit, bytes, digits/s,
#      a screenshot (wasm/build/page.png); then once more without pca.json (plain latent dimensions)
#
#   wasm/run.sh [--no-browser]
#
# Environment: CHECKPOINT (default checkpoints/vae-mnist.vaeckpt), GOLDENS (default
# Tests/DecoderTests/Goldens), BIN (folder with release vae-gen; default: `swift build -c release
# --show-bin-path`, with SCRATCH as --scratch-path if set), CHROMIUM (default chromium),
# LOADS (page loads timed, default 5). Needs node (Debian's nodejs) and, for step 4, chromium
# (scripts/setup.sh --web installs both).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
B="$HERE/build"
CHECKPOINT="${CHECKPOINT:-checkpoints/vae-mnist.vaeckpt}"
GOLDENS="${GOLDENS:-Tests/DecoderTests/Goldens}"
say() { echo "wasm: $*"; }
die() { echo "wasm: FAIL: $*" >&2; exit 1; }
browser=1; [ "${1:-}" = "--no-browser" ] && browser=0
command -v node >/dev/null || die "node is needed (scripts/setup.sh --web)"
if [ -z "${BIN:-}" ]; then
  BIN="$(swift build -c release ${SCRATCH:+--scratch-path "$SCRATCH"} --show-bin-path)"
fi
[ -x "$BIN/vae-gen" ] || die "$BIN/vae-gen is missing: swift build -c release first"
t0=$(date +%s)

OUT="$B" "$HERE/build.sh"
python3 firmware-sim/tools/vaed.py extract "$CHECKPOINT" "$B/decoder.vaed"
python3 firmware-sim/tools/vaed.py extract8 "$CHECKPOINT" "$B/decoder-int8.vaed"

# What the host prints for seed 42, 100 digits: the reference for both tests.
f32=$("$BIN/vae-gen" --checkpoint "$CHECKPOINT" --seed 42 -n 100 --out "$B/vae-gen-f32" | awk '$1 == "sha256" { print $2 }')
i8=$("$BIN/vae-gen" --checkpoint "$CHECKPOINT" --precision int8 --seed 42 -n 100 --out "$B/vae-gen-i8" | awk '$1 == "sha256" { print $2 }')
[ -n "$f32" ] && [ -n "$i8" ] || die "vae-gen printed no sha256"
say "vae-gen --seed 42 -n 100: float32 $f32, int8 $i8"

node "$HERE/node-test.mjs" "$B/vae.wasm" "$B/decoder.vaed" "$B/decoder-int8.vaed" "$GOLDENS" \
  --expect-f32 "$f32" --expect-i8 "$i8" | tee "$B/node-test.txt"

rm -rf "$B/site"
"$BIN/vae-gen" export-web --checkpoint "$CHECKPOINT" --module "$B/vae.wasm" --out "$B/site"
cmp -s "$B/site/decoder.vaed" "$B/decoder.vaed" || die "export-web's decoder.vaed is not the checkpoint's float32 image"
cmp -s "$B/site/decoder-int8.vaed" "$B/decoder-int8.vaed" || die "export-web's decoder-int8.vaed is not the checkpoint's int8 image"

if [ $browser = 1 ]; then
  command -v "${CHROMIUM:-chromium}" >/dev/null || die "chromium is needed (scripts/setup.sh --web)"
  node "$HERE/browser-test.mjs" "$B/site" --expect-f32 "$f32" --expect-i8 "$i8" \
    --screenshot "$B/page.png" --loads "${LOADS:-5}" --json "$B/browser.json" | tee "$B/browser-test.txt"
  # The same site without pca.json: the sliders fall back to latent dimensions; same bits.
  rm -rf "$B/site-nopca"; cp -r "$B/site" "$B/site-nopca"; rm "$B/site-nopca/pca.json"
  node "$HERE/browser-test.mjs" "$B/site-nopca" --expect-f32 "$f32" --expect-i8 "$i8" --loads 1 --bench-rounds 0 |
    tee -a "$B/browser-test.txt"
fi
# One summary line for the suite's counter: the node test's and the browser test's counts.
cat "$B/node-test.txt" $([ $browser = 1 ] && echo "$B/browser-test.txt") |
  awk '/: [0-9]+ passed, [0-9]+ failed$/ { p += $(NF-3); f += $(NF-1) } END { printf "wasm: all checks passed in %d s\nwasm: %d passed, %d failed\n", '"$(( $(date +%s) - t0 ))"', p, f }'
