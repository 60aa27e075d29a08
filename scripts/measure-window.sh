#!/usr/bin/env bash
# Measures how the server's HTTP/2 flow-control window (--http2-window-bytes) changes upload
# throughput: uploads one image of SIZE MiB (default 64) through the CLI to a release server
# started with each window, three times each, and prints the best time per window.
#
#   scripts/measure-window.sh [SIZE_MIB]
#
# A measurement, not a test. Builds in release.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_mib="${1:-64}"
cd "$root"
swift build -c release --product storefront >&2
bin="$root/.build/release/storefront"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A PNG signature, then random bytes.
{ printf '\x89PNG\r\n\x1a\n'; head -c $((size_mib * 1024 * 1024)) /dev/urandom; } >"$work/big.png"

for window in 65535 262144 1048576 4194304 16777216; do
  rm -rf "$work/data"
  "$bin" serve --port 0 --data-dir "$work/data" --http2-window-bytes "$window" \
    --max-image-bytes $(((size_mib + 1) * 1024 * 1024)) >"$work/serve.out" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/serve.out" 2>/dev/null && break
    sleep 0.1
  done
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.out")"
  product="$("$bin" product create --sku "W-$window" --name Window --price-cents 1 \
    --server "127.0.0.1:$port" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  best=""
  for _ in 1 2 3; do
    start="$(date +%s.%N)"
    "$bin" image upload "$product" "$work/big.png" --server "127.0.0.1:$port" >/dev/null
    end="$(date +%s.%N)"
    seconds="$(echo "$end - $start" | bc -l)"
    if [[ -z "$best" ]] || (($(echo "$seconds < $best" | bc -l))); then best="$seconds"; fi
  done
  printf 'window %9d bytes: upload of %d MiB in %.2f s, %.0f MiB/s\n' \
    "$window" "$size_mib" "$best" "$(echo "$size_mib / $best" | bc -l)"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done
