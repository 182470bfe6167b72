#!/usr/bin/env bash
# How many tests of one suite stage passed and failed, from its log and its exit status; prints
# "PASSED FAILED". scripts/test-all.sh adds these up for its closing line, so they must count
# tests, never assertions, and never trust a stage that did not finish:
#   xctest  XCTest's "Test Case '...' passed/failed" lines, one per test ("Executed N tests, with
#           F failures" counts failed assertions: F can exceed N). A test that started and never
#           ended (the runner crashed inside it) is failed.
#   plain   the last "N passed, F failed" line of the stage's own script.
#   phrase  one test: passed if the stage exited 0 and its log holds the phrase given as a fourth
#           argument (firmware-sim/run.sh's "all checks passed").
# In every kind, a stage that exited non-zero with no failure counted is one failed test (a
# crash, or a count from before the crash), and a stage that counted no test at all is one
# failed test: a stage that ran nothing has proved nothing.
#   scripts/count-tests.sh xctest LOG STATUS
#   scripts/count-tests.sh phrase LOG STATUS "all checks passed"
# scripts/count-tests-check.sh holds the cases this must get right.
set -uo pipefail
kind=${1:?kind: xctest, plain or phrase}; log=${2:?log file}; status=${3:?exit status}
passed=0; failed=0
case "$kind" in
  xctest)
    passed=$(grep -cE "Test Case '[^']+' passed \(" "$log")
    failed=$(grep -cE "Test Case '[^']+' failed \(" "$log")
    started=$(grep -cE "Test Case '[^']+' started" "$log")
    skipped=$(grep -cE "Test Case '[^']+' skipped" "$log")
    unfinished=$((started - passed - failed - skipped))
    [ $unfinished -gt 0 ] && failed=$((failed + unfinished))
    ;;
  plain)
    line=$(grep -E "[0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
    if [ -n "$line" ]; then
      passed=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
      failed=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    fi
    ;;
  phrase)
    phrase=${4:?the phrase}
    if [ "$status" -eq 0 ] && grep -qF -- "$phrase" "$log"; then passed=1; else failed=1; fi
    ;;
  *) echo "count-tests: unknown kind '$kind' (xctest, plain or phrase)" >&2; exit 2 ;;
esac
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1; echo "count-tests: the stage exited $status with no failed test counted: one failed test" >&2
fi
if [ $((passed + failed)) -eq 0 ]; then
  failed=1; echo "count-tests: the stage counted no test: one failed test" >&2
fi
echo "$passed $failed"
