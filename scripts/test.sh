#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, store and end-to-end over HTTP/2 on 127.0.0.1),
# then the independent Python grpcio and grpc-go suites against the built server, then a
# bounded fuzzing run (scripts/fuzz.sh; STOREFRONT_FUZZ_SECONDS, default 60). Fails on any
# compiler warning in the project's own code.
#
# Both server transports are tested: grpc-swift-nio-transport's (`--transport nio`, the
# default) everywhere; Storefront's own (`--transport storefront`) with its own Swift suite
# (StorefrontTransportTests), the fuzz harness's kept inputs, the Python suites that exercise
# the transport (bad input, raw HTTP/2, streams, faults) and half the fuzzing time.
#
# Both stores are tested: a throwaway PostgreSQL (scripts/lib/postgres.sh; Debian's
# postgresql package) runs for the whole script, and STOREFRONT_TEST_POSTGRES_URL points the
# PostgreSQL suites at it (the store contract, two stores on one database, the Python
# catalogue and stream suites on PostgreSQL, and two replicas behind nginx). Without
# PostgreSQL or nginx installed the script fails.
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
export STOREFRONT_BIN="$PWD/.build/debug/storefront"
STOREFRONT_TRANSPORT=nio scripts/python-tests.sh
STOREFRONT_TRANSPORT=storefront scripts/python-tests.sh --transport-subset
# The catalogue and stream suites again with every server on PostgreSQL; the full run above
# has already run test_replicas.py (two replicas on one database, behind nginx).
scripts/python-tests.sh --postgres-subset
scripts/go-tests.sh
fuzz_seconds=${STOREFRONT_FUZZ_SECONDS:-60}
STOREFRONT_FUZZ_TRANSPORT=storefront scripts/fuzz.sh $((fuzz_seconds / 2))
STOREFRONT_FUZZ_TRANSPORT=nio scripts/fuzz.sh $((fuzz_seconds - fuzz_seconds / 2))
