#!/usr/bin/env bash
# Runs the Python (grpcio) end-to-end tests against a built storefront binary.
#
#   scripts/python-tests.sh [PYTEST_ARGS...]
#
# STOREFRONT_BIN names the binary; it defaults to .build/debug/storefront (build it first).
# The virtual environment lives in .venv at the repository's root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

source scripts/lib/test-env.sh
test_env

# --transport-subset: only the files that exercise the HTTP/2 transport (the second
# transport's pass in scripts/test.sh).
if [[ "${1:-}" == --transport-subset ]]; then
  shift
  exec .venv/bin/python -m pytest Tests/python/test_bad_input.py Tests/python/test_transport.py \
    Tests/python/test_streams.py Tests/python/test_faults.py -q "$@"
fi
exec .venv/bin/python -m pytest Tests/python -q "$@"
