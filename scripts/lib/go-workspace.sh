# Shared by scripts/go-tests.sh and scripts/bench.sh: lays out a GOPATH-mode Go workspace for
# the Go code under Tests/go. Source it, then call `go_workspace DIR`.
#
# Go builds here in GOPATH mode (GO111MODULE=off) from Debian's packages under
# /usr/share/gocode (golang-google-grpc-dev and friends): there are no module downloads. The
# Go stubs are not committed: they are generated from Protos/storefront/v1 by Debian's
# protoc-gen-go and protoc-gen-go-grpc each time, as the Python suite generates its own, so
# they always match the protos and there is no second generated tree to keep in step.

go_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# go_workspace DIR: DIR becomes a GOPATH holding src/storefront/{interop,peer} (copies of
# Tests/go) and src/storefront/gen/storefrontv1 (the stubs); exports GOPATH and GO111MODULE.
go_workspace() {
  local gopath="$1" tree="$1/src/storefront" mappings="" proto
  for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
    command -v "$tool" >/dev/null || {
      echo "error: $tool is missing (.ci/run installs it: golang-go, protobuf-compiler," \
        "protoc-gen-go, protoc-gen-go-grpc, golang-google-grpc-dev)" >&2
      return 1
    }
  done
  mkdir -p "$tree/gen/storefrontv1"
  cp -R "$go_root/Tests/go/." "$tree/"
  for proto in "$go_root"/Protos/storefront/v1/*.proto; do
    mappings+=",Mstorefront/v1/$(basename "$proto")=storefront/gen/storefrontv1"
  done
  mappings="${mappings#,}"
  protoc --proto_path="$go_root/Protos" \
    --go_out="$gopath/src" --go_opt="$mappings" \
    --go-grpc_out="$gopath/src" --go-grpc_opt="$mappings" \
    "$go_root"/Protos/storefront/v1/*.proto
  export GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off
}
