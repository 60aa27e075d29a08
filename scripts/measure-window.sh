#!/usr/bin/env bash
# Measures how the server's HTTP/2 flow-control window (--http2-window-bytes) changes upload
# throughput: uploads one image of SIZE MiB (default 64) through the CLI to a release server
# started with each window, three times each, and prints the best time per window.
#
#   scripts/measure-window.sh [SIZE_MIB]
#
# A measurement, not a test. Builds in release.
set -euo pipefail

size_mib="${1:-64}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/release-server.sh"

# A PNG signature, then random bytes.
{ printf '\x89PNG\r\n\x1a\n'; head -c $((size_mib * 1024 * 1024)) /dev/urandom; } >"$work/big.png"

for window in 65535 262144 1048576 4194304 16777216; do
  rm -rf "$work/data"
  start_server --data-dir "$work/data" --http2-window-bytes "$window" \
    --max-image-bytes $(((size_mib + 1) * 1024 * 1024))
  product="$("$bin" product create --sku "W-$window" --name Window --price-cents 1 \
    --server "$server" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  best=""
  for _ in 1 2 3; do
    start="$(date +%s.%N)"
    "$bin" image upload "$product" "$work/big.png" --server "$server" >/dev/null
    end="$(date +%s.%N)"
    seconds="$(echo "$end - $start" | bc -l)"
    if [[ -z "$best" ]] || (($(echo "$seconds < $best" | bc -l))); then best="$seconds"; fi
  done
  printf 'window %9d bytes: upload of %d MiB in %.2f s, %.0f MiB/s\n' \
    "$window" "$size_mib" "$best" "$(echo "$size_mib / $best" | bc -l)"
  stop_server
done
