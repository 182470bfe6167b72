#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs the Swift tests (release build, so the
# numerical tests run at real speed), the command-line tests, and the firmware on an emulated
# Cortex-M. Exits non-zero if any part fails. `.ci/run` calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --firmware || exit 1

stages=0; failed=0
stage() {
  local name="$1"; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then echo "=== $name: ok ($((SECONDS - t0)) s)"; else echo "=== $name: FAILED ($((SECONDS - t0)) s)"; failed=$((failed + 1)); fi
  stages=$((stages + 1))
}

stage "build (release)" swift build -c release
stage "swift test" swift test -c release -Xswiftc -enable-testing
stage "command-line tests" scripts/cli-tests.sh
if [ -x firmware-sim/run.sh ]; then stage "firmware-sim (qemu, Cortex-M4F)" firmware-sim/run.sh; fi

echo "test-all: $((stages - failed)) passed, $failed failed"
[ $failed -eq 0 ]
