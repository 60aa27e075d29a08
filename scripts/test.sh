#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, store and end-to-end over HTTP/2 on 127.0.0.1),
# then the independent Python grpcio and grpc-go suites against the built server, then a
# bounded fuzzing run (scripts/fuzz.sh; STOREFRONT_FUZZ_SECONDS, default 60). Fails on any
# compiler warning in the project's own code.
#
# Both stores are tested: a throwaway PostgreSQL (scripts/lib/postgres.sh; Debian's
# postgresql package) runs for the whole script, and STOREFRONT_TEST_POSTGRES_URL points the
# PostgreSQL suites at it (the store contract, two stores on one database, the Python
# catalogue and stream suites on PostgreSQL, and two replicas behind nginx). Without
# PostgreSQL or nginx installed the script fails.
#
# Both server transports are tested, every suite on each: Storefront's own (`--transport
# storefront`, the default) and grpc-swift-nio-transport's (`STOREFRONT_TRANSPORT=nio`, the
# fallback): the Swift service suite, the whole Python suite, the grpc-go suite and the fuzz
# harness run on each (StorefrontTransportTests and the fuzz harness's kept inputs, which pick
# their transports themselves, once).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
if grep -E "^$PWD/(Sources|Tests)/.*warning:" "$log"; then
  echo "error: the build has warnings (above)" >&2
  exit 1
fi
start_postgres
swift test --skip-build
STOREFRONT_TRANSPORT=nio swift test --skip-build --filter StorefrontServiceTests
export STOREFRONT_BIN="$PWD/.build/debug/storefront"
# The full Python pass includes the browser suite (test_web_page.py, headless Chromium; its
# screenshots in test-artifacts/screenshots/); the nio pass skips it (no HTTP/1.1 there).
scripts/python-tests.sh
STOREFRONT_TRANSPORT=nio scripts/python-tests.sh
# The catalogue and stream suites again with every server on PostgreSQL; the full run above
# has already run test_replicas.py (two replicas on one database, behind nginx).
scripts/python-tests.sh --postgres-subset
scripts/go-tests.sh
STOREFRONT_TRANSPORT=nio scripts/go-tests.sh
fuzz_seconds=${STOREFRONT_FUZZ_SECONDS:-60}
STOREFRONT_FUZZ_TRANSPORT=storefront scripts/fuzz.sh $((fuzz_seconds / 2))
STOREFRONT_FUZZ_TRANSPORT=nio scripts/fuzz.sh $((fuzz_seconds - fuzz_seconds / 2))
