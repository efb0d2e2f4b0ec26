#!/usr/bin/env bash
# The unit tests (swift test) under AddressSanitizer and under ThreadSanitizer, each built in a
# folder of its own (.build-asan, .build-tsan) so that the debug build stays as it is. Slow (a
# first build takes 10 to 20 minutes on 2 cores), so CI does not run it; README, Reliability,
# has the times. A report fails the run.
#
#   scripts/sanitizers.sh               both, AddressSanitizer first
#   scripts/sanitizers.sh thread        one of them (address or thread)
#   scripts/sanitizers.sh address --filter SessionMachine    the rest goes to swift test
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=()
while [[ $# -gt 0 && ( "$1" == address || "$1" == thread ) ]]; do
    sanitizers+=("$1")
    shift
done
[[ ${#sanitizers[@]} -gt 0 ]] || sanitizers=(address thread)

# What a report is checked against: false positives, each explained in the file.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp ${TSAN_OPTIONS:-}"
# Leak checking is off unless FTPLB_DETECT_LEAKS=1: at exit LeakSanitizer lists about 1,250
# indirect leaks (reference cycles, no direct leak), nearly all allocated under test helpers
# that leave embedded channels open (the relay tests' matched DataRelayHandler pair, the embedded
# session harness), which would hide any other report. README, Reliability.
export ASAN_OPTIONS="detect_leaks=${FTPLB_DETECT_LEAKS:-0} ${ASAN_OPTIONS:-}"

for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
    esac
    started=$SECONDS
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
    built=$SECONDS
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "$@"
    echo "sanitizers: $sanitizer: build $((built - started)) s, tests $((SECONDS - built)) s, no report"
done
