#!/usr/bin/env bash
# Regenerates Sources/StorefrontAPI from Protos/.
#
# Builds protoc-gen-swift (swift-protobuf) and protoc-gen-grpc-swift-2 (grpc-swift-protobuf)
# once, in release, in a scratch folder outside the package (about a minute each), and reuses
# them afterwards. Needs protoc (Debian's protobuf-compiler). Neither `swift build` nor CI runs
# this: the generated code is committed.
#
#   scripts/generate-protos.sh           regenerate
#   scripts/generate-protos.sh --check   regenerate into a temporary folder and fail if the
#                                        committed code differs
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=${STOREFRONT_PLUGIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/storefront-protoc-plugins}
swift_protobuf_version=1.39.0
grpc_swift_protobuf_version=2.4.1

build_plugin() { # repo version product
  local name=$1 version=$2 product=$3
  local src="$tools/$name-$version"
  if [ -x "$src/.build/release/$product" ]; then return; fi
  mkdir -p "$tools"
  if [ ! -d "$src" ]; then
    git clone --quiet --depth 1 --branch "$version" "https://github.com/$name.git" "$src" \
      2>/dev/null || git clone --quiet --branch "$version" "https://github.com/$name.git" "$src"
  fi
  echo "building $product $version (once)..." >&2
  swift build --package-path "$src" -c release --product "$product" >&2
}

build_plugin apple/swift-protobuf "$swift_protobuf_version" protoc-gen-swift
build_plugin grpc/grpc-swift-protobuf "$grpc_swift_protobuf_version" protoc-gen-grpc-swift-2

out="$root/Sources/StorefrontAPI"
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
protos=$(cd "$root/Protos" && find . -name '*.proto' | sed 's|^\./||' | sort)
rm -rf "${out:?}/storefront"
(cd "$root/Protos" && protoc \
  --plugin=protoc-gen-swift="$tools/apple/swift-protobuf-$swift_protobuf_version/.build/release/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$tools/grpc/grpc-swift-protobuf-$grpc_swift_protobuf_version/.build/release/protoc-gen-grpc-swift-2" \
  --swift_out="$out" --swift_opt=Visibility=Public,UseAccessLevelOnImports=true \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,UseAccessLevelOnImports=true \
  $protos)

if [ "${1:-}" = "--check" ]; then
  diff -r "$out/storefront" "$root/Sources/StorefrontAPI/storefront" \
    && echo "Sources/StorefrontAPI matches Protos/"
else
  echo "regenerated $(find "$out/storefront" -name '*.swift' | wc -l) files in Sources/StorefrontAPI"
fi
