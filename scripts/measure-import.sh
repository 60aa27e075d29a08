#!/usr/bin/env bash
# Measures ImportProducts: how long an import of N products (default 100,000) takes through
# the CLI, how much the server's memory grows, and that the change feed shows every product.
#
#   scripts/measure-import.sh [N] [SERVE_FLAGS...]
#
# e.g. `scripts/measure-import.sh 100000 --http2-window-bytes 65535` to compare windows.
#
# Builds in release, runs the server on a fresh data dir in a temporary folder, and prints
# one line of results. A measurement, not a test: it never fails on a number.
set -euo pipefail

count="${1:-100000}"
shift || true
source "$(dirname "${BASH_SOURCE[0]}")/lib/release-server.sh"
start_server --data-dir "$work/data" "$@"

python3 - "$count" >"$work/products.jsonl" <<'PY'
import json, sys
categories = ["kitchen", "garden", "tools", "toys", "books", "audio", "sports", "office", "bath", "pets"]
for i in range(int(sys.argv[1])):
    print(json.dumps({
        "sku": f"IMPORT-{i:07d}",
        "name": f"Imported product {i}",
        "description": "A product from a bulk import, with a description of ordinary length.",
        "category": categories[i % len(categories)],
        "priceCents": 100 + i % 10000,
        "currency": "USD",
        "stock": i % 50,
    }))
PY

rss_kib() { awk -v key="$2" '$1 == key":" { print $2 }' "/proc/$1/status"; }
rss_before="$(rss_kib "$server_pid" VmRSS)"
head_before=0
start="$(date +%s.%N)"
"$bin" product import "$work/products.jsonl" --server "$server" >"$work/import.out"
end="$(date +%s.%N)"
peak="$(rss_kib "$server_pid" VmHWM)"
rss_after="$(rss_kib "$server_pid" VmRSS)"

# Every imported product appears on the feed once: replay the feed from before the import
# until it has shown them all (or two minutes have passed).
"$bin" product watch --since "$head_before" --json --server "$server" \
  >"$work/feed.jsonl" 2>/dev/null &
watch_pid=$!
for _ in $(seq 1 1200); do
  [[ "$(wc -l <"$work/feed.jsonl")" -ge "$count" ]] && break
  sleep 0.1
done
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
feed="$(wc -l <"$work/feed.jsonl")"

# The same import again: every product is found unchanged, nothing is written.
again_start="$(date +%s.%N)"
"$bin" product import "$work/products.jsonl" --server "$server" >"$work/again.out"
again_end="$(date +%s.%N)"
again="$(echo "$again_end - $again_start" | bc -l)"

seconds="$(echo "$end - $start" | bc -l)"
printf 'import of %d products: %.1f s (%.0f products/s); server RSS %d MiB before, peak %d MiB, %d MiB after; feed showed %d changes\n' \
  "$count" "$seconds" "$(echo "$count / $seconds" | bc -l)" \
  $((rss_before / 1024)) $((peak / 1024)) $((rss_after / 1024)) "$feed"
printf 'the same import again (all unchanged): %.1f s\n' "$again"
cat "$work/import.out" "$work/again.out" >&2
