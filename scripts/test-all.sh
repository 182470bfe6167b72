#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs the Swift tests (release build, so the
# numerical tests run at real speed), the command-line tests, the Python reader of the checkpoint
# format, the firmware on an emulated Cortex-M, and the WebAssembly build with its page in a browser. Exits non-zero if any part fails. `.ci/run` calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --firmware --web || exit 1

LOG=$(mktemp); trap 'rm -f "$LOG"' EXIT
bad_stages=0 status=0
stage() {
  local name="$1"; shift
  echo "=== $name"
  local t0=$SECONDS
  "$@" 2>&1 | tee "$LOG"; status=${PIPESTATUS[0]}
  if [ "$status" -eq 0 ]; then echo "=== $name: ok ($((SECONDS - t0)) s)"
  else echo "=== $name: FAILED, exit $status ($((SECONDS - t0)) s)"; bad_stages=$((bad_stages + 1)); fi
}

# Counts of individual tests of the stage just run (scripts/count-tests.sh: tests, not
# assertions; a stage that crashed or ran nothing counts as a failed test).
passed=0; failed=0
count() {   # count xctest | plain | phrase PHRASE
  local kind="$1"; shift
  local p f; read -r p f < <(scripts/count-tests.sh "$kind" "$LOG" "$status" "$@")
  passed=$((passed + p)); failed=$((failed + f))
}

# The counter first: the closing line is only as honest as it is.
stage "the suite's test counter (scripts/count-tests.sh on made-up logs)" scripts/count-tests-check.sh
count plain
# Generated files next: a stale one would make every later stage test the wrong code.
stage "generated files are current" bash -c 'python3 firmware-sim/tools/gen_kernels.py --check && python3 scripts/gen_layout.py --check'
stage "build (release)" swift build -c release
stage "swift test (XCTest, release build)" swift test -c release -Xswiftc -enable-testing --disable-swift-testing
count xctest
stage "command-line tests" scripts/cli-tests.sh
count plain
stage "kill -9 during training (checkpoints stay whole, resume is bit-identical)" scripts/kill-tests.sh
count plain
stage "full and read-only disks (small tmpfs mounts: whole files or none, and the command to continue)" scripts/disk-tests.sh
count plain
stage "libFuzzer + ASan (10 s per harness; committed crashers replayed)" scripts/fuzz.sh
count plain
stage "AddressSanitizer + UBSan (debug build: the runtime, reader and C interface XCTests)" scripts/sanitizer-tests.sh
count xctest
stage "checkpoint reader (Python, numpy only)" python3 scripts/test_vaeckpt.py
count plain
# The bridge (python/vaebridge): write, read, ONNX, and its files fed to the vae-gen just built.
stage "vaebridge (Python, numpy only; no torch)" env VAE_GEN=.build/release/vae-gen python3 python/tests/test_vaebridge.py
count plain
stage "portability (qemu: x86-64 without AVX-512 or FMA, arm64; a consumer package by version)" scripts/portability-tests.sh
count plain
stage "firmware-sim (qemu: Cortex-M4F float32 and int8, Cortex-M0 int8)" firmware-sim/run.sh
count phrase "all checks passed"
# The second shipped model on the same cores: its own goldens (make-goldens), the same budgets.
stage "firmware-sim, Fashion-MNIST checkpoint" env CHECKPOINT=checkpoints/vae-fashion-mnist.vaeckpt \
    GOLDENS=Tests/DecoderTests/Goldens/fashion-mnist firmware-sim/run.sh
count phrase "all checks passed"

stage "web (WebAssembly: node against the goldens; the page in headless Chromium)" wasm/run.sh
count plain
[ $bad_stages -eq 0 ] || echo "test-all: $bad_stages stage(s) failed"
echo "test-all: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $bad_stages -eq 0 ]
