#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs the Swift tests (release build, so the
# numerical tests run at real speed), the command-line tests, the Python reader of the checkpoint
# format, the firmware on an emulated Cortex-M, and the WebAssembly build with its page in a browser. Exits non-zero if any part fails. `.ci/run` calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --firmware --web || exit 1

LOG=$(mktemp); trap 'rm -f "$LOG"' EXIT
bad_stages=0
stage() {
  local name="$1"; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@" 2>&1 | tee "$LOG"; then echo "=== $name: ok ($((SECONDS - t0)) s)"
  else echo "=== $name: FAILED ($((SECONDS - t0)) s)"; bad_stages=$((bad_stages + 1)); fi
}

# Counts of individual tests, from each stage's own summary line.
passed=0; failed=0
count_xctest() {   # "Executed N tests, with F failures" of the whole run
  local line; line=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$LOG" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  local n f; n=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line"); f=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$line")
  passed=$((passed + n - f)); failed=$((failed + f))
}
count_plain() {    # "NAME: N passed, F failed"
  local line; line=$(grep -E "[0-9]+ passed, [0-9]+ failed" "$LOG" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"))); failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

# Generated files first: a stale one would make every later stage test the wrong code.
stage "generated files are current" bash -c 'python3 firmware-sim/tools/gen_kernels.py --check && python3 scripts/gen_layout.py --check'
stage "build (release)" swift build -c release
stage "swift test (XCTest, release build)" swift test -c release -Xswiftc -enable-testing --disable-swift-testing
count_xctest
stage "command-line tests" scripts/cli-tests.sh
count_plain
stage "kill -9 during training (checkpoints stay whole, resume is bit-identical)" scripts/kill-tests.sh
count_plain
stage "libFuzzer + ASan (10 s per harness; committed crashers replayed)" scripts/fuzz.sh
count_plain
stage "checkpoint reader (Python, numpy only)" python3 scripts/test_vaeckpt.py
count_plain
# The bridge (python/vaebridge): write, read, ONNX, and its files fed to the vae-gen just built.
stage "vaebridge (Python, numpy only; no torch)" env VAE_GEN=.build/release/vae-gen python3 python/tests/test_vaebridge.py
count_plain
stage "portability (qemu: x86-64 without AVX-512 or FMA, arm64; a consumer package by version)" scripts/portability-tests.sh
count_plain
if stage "firmware-sim (qemu: Cortex-M4F float32 and int8, Cortex-M0 int8)" firmware-sim/run.sh; then :; fi
if grep -q "all checks passed" "$LOG"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# The second shipped model on the same cores: its own goldens (make-goldens), the same budgets.
if stage "firmware-sim, Fashion-MNIST checkpoint" env CHECKPOINT=checkpoints/vae-fashion-mnist.vaeckpt \
    GOLDENS=Tests/DecoderTests/Goldens/fashion-mnist firmware-sim/run.sh; then :; fi
if grep -q "all checks passed" "$LOG"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

stage "web (WebAssembly: node against the goldens; the page in headless Chromium)" wasm/run.sh
count_plain
[ $bad_stages -eq 0 ] || echo "test-all: $bad_stages stage(s) failed"
echo "test-all: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $bad_stages -eq 0 ]
