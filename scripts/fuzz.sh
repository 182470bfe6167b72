#!/usr/bin/env bash
# libFuzzer harnesses (Fuzz/): the runtime's decoder-image loader plus a decode, the C
# interface's init and generate, the checkpoint reader, the MNIST IDX reader. Builds them with
# the Swift toolchain's -sanitize=fuzzer,address (libFuzzer and AddressSanitizer ship with it;
# the C kernels get -fsanitize=address), replays every committed crasher (Fuzz/crashers/NAME/,
# each a regression test) and the committed corpus (Fuzz/corpus/NAME/), then fuzzes each
# harness for FUZZ_SECONDS. A crash, an ASan report, a timeout or a leak fails the run and its
# input is copied to Fuzz/crashers/NAME/ (commit it with the fix).
#   scripts/fuzz.sh                          10 s each (the suite)
#   FUZZ_SECONDS=600 scripts/fuzz.sh         10 minutes each
#   FUZZ_SECONDS=600 FUZZ_KEEP=1 scripts/fuzz.sh checkpoint   one harness, new coverage merged into Fuzz/corpus/
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-10}
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=(decoder-image capi checkpoint idx); fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
export SWIFT_BACKTRACE=enable=no   # let libFuzzer catch a trap and save its input

flags=(--scratch-path "$SCRATCH" --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DVAE_FUZZING -Xcc -fsanitize=address)
for h in "${harnesses[@]}"; do
  if ! VAE_FUZZ=1 swift build "${flags[@]}" --product "fuzz-$h" > "$T/build.log" 2>&1; then
    bad "build fuzz-$h: $(grep -E 'error' "$T/build.log" | head -5)"; continue
  fi
done
bin=$(VAE_FUZZ=1 swift build "${flags[@]}" --show-bin-path 2>/dev/null)
[ -d "$bin" ] || { echo "fuzz: no build folder"; echo "fuzz: $pass passed, $((fail + 1)) failed"; exit 1; }

for h in "${harnesses[@]}"; do
  exe="$bin/fuzz-$h"
  [ -x "$exe" ] || { bad "fuzz-$h was not built"; continue; }
  work="$T/corpus-$h"; mkdir -p "$work" "Fuzz/corpus/$h" "Fuzz/crashers/$h"
  # Seeds, when nothing is committed yet.
  if [ -z "$(ls -A "Fuzz/corpus/$h")" ]; then VAE_FUZZ_SEEDS="Fuzz/corpus/$h" "$exe" > /dev/null 2>&1; fi
  # Regression: every crasher found so far, once each.
  crashers=("Fuzz/crashers/$h"/*)
  if [ -e "${crashers[0]}" ]; then
    if "$exe" -runs=1 "${crashers[@]}" > "$T/replay.log" 2>&1; then ok; else bad "fuzz-$h: a committed crasher fails again: $(grep -E 'ERROR|Fatal|SUMMARY' "$T/replay.log" | head -3)"; fi
  fi
  "$exe" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$T/art-$h-" "$work" "Fuzz/corpus/$h" > "$T/fuzz-$h.log" 2>&1
  rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$T/fuzz-$h.log" | grep -oE '[0-9]+$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$T/fuzz-$h.log" | tail -1 | grep -oE '[0-9]+')
  art=$(ls "$T"/art-$h-* 2>/dev/null | head -1)
  if [ $rc -eq 0 ] && [ -z "$art" ]; then
    ok; echo "fuzz-$h: ${runs:-?} executions in $SECS s, coverage ${cov:-?} edges, corpus $(ls "Fuzz/corpus/$h" | wc -l) committed + $(ls "$work" | wc -l) new, no findings"
  else
    bad "fuzz-$h found a crash (exit $rc): $(grep -E 'ERROR|Fatal error|SUMMARY|deadly' "$T/fuzz-$h.log" | head -3)"
    [ -n "$art" ] && cp "$art" "Fuzz/crashers/$h/" && echo "  input saved as Fuzz/crashers/$h/$(basename "$art")"
  fi
  if [ "${FUZZ_KEEP:-0}" = 1 ] && [ -n "$(ls -A "$work")" ]; then
    "$exe" -merge=1 "Fuzz/corpus/$h" "$work" > /dev/null 2>&1 && echo "  merged: corpus now $(ls "Fuzz/corpus/$h" | wc -l) files"
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
