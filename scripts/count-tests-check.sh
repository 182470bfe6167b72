#!/usr/bin/env bash
# scripts/count-tests.sh on logs made up to break it: more failed assertions than tests, a
# runner that crashed inside a test or before the first, a count printed before a crash, a
# stage that ran nothing. Each line is "kind, exit status, log, expected PASSED FAILED".
set -uo pipefail
cd "$(dirname "$0")/.."
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() {   # check "what" KIND STATUS "EXPECTED" [PHRASE] <<< LOG
  local what="$1" kind="$2" status="$3" want="$4"; shift 4
  cat > "$T/log"
  local got; got=$(scripts/count-tests.sh "$kind" "$T/log" "$status" "$@" 2>/dev/null)
  if [ "$got" = "$want" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $what: counted '$got', want '$want'"; fi
}
tc() { printf "Test Case '%s' started at 2026-12-02 10:00:00.000\n" "$1"; [ -n "${2:-}" ] && printf "Test Case '%s' %s (0.001 seconds)\n" "$1" "$2"; true; }

check "five failed assertions in one of three tests" xctest 1 "2 1" <<EOF2
$(tc A.testOne passed)
$(tc A.testTwo; for i in 1 2 3 4 5; do echo "/x/A.swift:$i: error: A.testTwo : XCTAssertEqual failed"; done; echo "Test Case 'A.testTwo' failed (0.002 seconds)")
$(tc A.testThree passed)
Executed 3 tests, with 5 failures (0 unexpected) in 0.004 (0.004) seconds
EOF2
check "crash inside the second test" xctest 132 "1 1" <<EOF2
$(tc A.testOne passed)
$(tc A.testTwo)
Fatal error: Index out of range
EOF2
check "crash before the first test" xctest 1 "0 1" <<< "error: the test bundle could not be loaded"
check "zero tests run (a filter that matches nothing)" xctest 0 "0 1" <<< "Executed 0 tests, with 0 failures (0 unexpected) in 0.000 (0.000) seconds"
check "a skipped test is neither" xctest 0 "1 0" <<EOF2
$(tc A.testOne passed)
$(tc A.testTwo skipped)
EOF2
check "a stage's own count" plain 1 "70 2" <<< "cli-tests: 70 passed, 2 failed"
check "a count printed before the crash" plain 139 "3 1" <<EOF2
fuzz: 3 passed, 0 failed
Segmentation fault
EOF2
check "no count at all" plain 0 "0 1" <<< "done"
check "a count of nothing" plain 0 "0 1" <<< "x: 0 passed, 0 failed"
check "the phrase, exit 0" phrase 0 "1 0" "all checks passed" <<< "firmware: all checks passed"
check "the phrase, exit 1" phrase 1 "0 1" "all checks passed" <<< "firmware: all checks passed"
check "no phrase" phrase 0 "0 1" "all checks passed" <<< "firmware: 2 checks failed"
echo "count-tests-check: $pass passed, $fail failed"
[ $fail -eq 0 ]
