#!/usr/bin/env bash
# Runs the Swift test suite under a sanitizer, in a build folder of its own.
#
#   scripts/sanitizers.sh thread     ThreadSanitizer (.build-tsan)
#   scripts/sanitizers.sh address    AddressSanitizer (.build-asan)
#
# A first build takes as long as a clean build (the gRPC stack included), plus the
# sanitizer's cost; later ones are incremental.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
case "${1:-}" in
  thread) scratch=.build-tsan ;;
  address) scratch=.build-asan ;;
  *) echo "usage: $0 thread|address" >&2; exit 2 ;;
esac
swift build --build-tests --scratch-path "$scratch" -Xswiftc -sanitize="$1"
# LeakSanitizer runs with AddressSanitizer; leaks in dependencies are listed, with why, in
# scripts/lsan-suppressions.txt, so that any leak of ours fails the run.
LSAN_OPTIONS="suppressions=$root/scripts/lsan-suppressions.txt:print_suppressions=0" \
  swift test --skip-build --scratch-path "$scratch" -Xswiftc -sanitize="$1"
