#!/usr/bin/env bash
# Runs the grpc-go interop suite (Tests/go/interop) against a built storefront binary: a stock
# grpc-go 1.33 client (Debian's golang-google-grpc-dev, GOPATH mode, no module downloads) with
# stubs generated here from Protos/ (scripts/lib/go-workspace.sh). The chat test's second
# member is a Python grpcio client, from the .venv that scripts/python-tests.sh makes.
#
#   scripts/go-tests.sh [GO_TEST_ARGS...]      # e.g. -run Chat
#
# STOREFRONT_BIN names the binary; it defaults to .build/debug/storefront (build it first).
# STOREFRONT_TRANSPORT picks the servers' transport (unset: the default, storefront), and with
# it the transport limits the suite expects to see (none on storefront; nio's on nio);
# STOREFRONT_KNOWN_LIMITS overrides that list (Tests/go/interop/known_limits_test.go). Also
# fails when the Go code is not gofmt-clean, `go vet` finds something, or the bench's grpc-go
# peer (Tests/go/peer) does not build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/lib/go-workspace.sh

source scripts/lib/test-env.sh
test_env
export STOREFRONT_PYTHON="$root/.venv/bin/python" STOREFRONT_PROTOS="$root/Protos"

unformatted="$(gofmt -l Tests/go)"
if [[ -n "$unformatted" ]]; then
  echo "error: not gofmt-clean (run gofmt -w on them):" >&2
  echo "$unformatted" >&2
  exit 1
fi

workspace="$(mktemp -d)"
trap 'rm -rf "$workspace"' EXIT
go_workspace "$workspace"
cd "$workspace/src/storefront"
go vet ./interop ./peer
go build -o /dev/null ./peer
exec go test -count=1 -timeout 10m -v ./interop "$@"
