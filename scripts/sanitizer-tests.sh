#!/usr/bin/env bash
# The runtime's and the readers' XCTests in a debug build with AddressSanitizer (Swift and C)
# and UndefinedBehaviorSanitizer (the C kernels), so that an out-of-bounds read or a shift of a
# negative value stops the test with a report instead of passing with the right return code.
# The damaged-file tests (MutationTests, PartialReadTests) run every input through the readers
# here too. Separate build folder (.build-san), so the release build is untouched.
#   scripts/sanitizer-tests.sh              the suite's stage (about 10 minutes on 2 cores)
#   FILTER=MutationTests scripts/sanitizer-tests.sh
# Swift on Linux has no -sanitize=undefined: Swift code traps on overflow and bounds by itself,
# and the C targets get clang's -fsanitize=undefined, whose handlers the ASan runtime carries.
set -uo pipefail
cd "$(dirname "$0")/.."
FLAGS=(--build-path .build-san -c debug --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined)
FILTER=${FILTER:-'DecoderTests|CheckpointTests|CAPITests|ImageIOTests'}

swift build "${FLAGS[@]}" --build-tests || { echo "sanitizer-tests: the sanitizer build failed"; exit 1; }
# The stage is only as good as its instrumentation: the C kernels must call into both
# sanitizers and the Swift runtime code into ASan, or every test below would pass unchecked.
for o in VAEHostKernels.build/convt_i8.c.o VAEHostKernels.build/convt_f32.c.o VAEDecoder.build/Decoder.swift.o; do
  f=$(find .build-san/debug/ -path "*/$o" | head -1)
  [ -n "$f" ] || { echo "sanitizer-tests: no $o in .build-san"; exit 1; }
  syms=$(nm "$f")   # not nm | grep -q: with pipefail, nm's SIGPIPE would fail the check
  grep -q __asan_ <<<"$syms" || { echo "sanitizer-tests: $o is not built with AddressSanitizer"; exit 1; }
  case $o in *.c.o) grep -q __ubsan_handle_ <<<"$syms" || { echo "sanitizer-tests: $o is not built with UBSan"; exit 1; };; esac
done
echo "sanitizer-tests: the C kernels carry ASan and UBSan checks, the Swift runtime ASan's"
# SWIFT_BACKTRACE off: Swift's crash handler reading the stack under ASan hangs (ASan reports
# its reads as stack-buffer-underflow), so a report would never end the test; the timeout is
# the guard behind that.
# Leak checking is off: XCTest's own harness leaves its test objects allocated at exit (698
# allocations, all under XCTMainMisc), and the runtime under test allocates nothing to leak.
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 SWIFT_BACKTRACE=enable=no \
  timeout 2400 swift test "${FLAGS[@]}" --skip-build --disable-swift-testing --filter "$FILTER"
