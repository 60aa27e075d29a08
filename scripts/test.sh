#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, store and end-to-end over HTTP/2 on 127.0.0.1),
# then the independent Python grpcio and grpc-go suites against the built server, then a
# bounded fuzzing run (scripts/fuzz.sh; STOREFRONT_FUZZ_SECONDS, default 60). Fails on any
# compiler warning in the project's own code.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
if grep -E "^$PWD/(Sources|Tests)/.*warning:" "$log"; then
  echo "error: the build has warnings (above)" >&2
  exit 1
fi
swift test --skip-build
STOREFRONT_BIN="$PWD/.build/debug/storefront" scripts/python-tests.sh
STOREFRONT_BIN="$PWD/.build/debug/storefront" scripts/go-tests.sh
scripts/fuzz.sh "${STOREFRONT_FUZZ_SECONDS:-60}"
