#!/usr/bin/env bash
# Profiles GetProduct: starts the release server (a 100,000-product demo catalogue) or the
# baseline, loads it with h2load (-c 4 -m 32, GetProduct of one product), records the server
# with `perf record -g` for SECONDS (default 10) and prints where the time went: by thread,
# by library, and the top entries of `perf report --no-children` (self time).
#
#   scripts/profile-get.sh [storefront|baseline] [SECONDS] [SERVE-FLAGS...]
#   PROFILE_BY_MODULE=1 scripts/profile-get.sh ...   # DWARF call graphs: time by module
#
# With PROFILE_BY_MODULE=1 it records DWARF call graphs instead and charges each sample to the
# module of its innermost Swift frame (scripts/profile-attribution.py): how much of the
# server's time is Storefront's own code and how much grpc-swift's and SwiftNIO's.
#
# Needs perf (Debian's linux-perf) and h2load (nghttp2-client). Builds nothing: run
# `swift build -c release` first.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${1:-storefront}"
seconds="${2:-10}"
shift $(($# > 2 ? 2 : $#))
bin="$root/.build/release"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  "$@" >"$work/out" 2>"$work/err" &
  server_pid=$!
  for _ in $(seq 1 600); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    sleep 0.1
  done
  addr="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/out" | head -1)"
  [[ -n "$addr" ]] || { cat "$work/err" >&2; exit 1; }
}
# The product to get: the first of the demo catalogue (the baseline answers any id).
start_server "$bin/storefront" serve --port 0 --data-dir "$work/data" --demo-catalog 100000 "$@"
product_id="$("$bin/storefront" product list --limit 1 --json --server "$addr" |
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')"
if [[ "$target" == baseline ]]; then
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  start_server "$bin/storefront-baseline"
fi
python3 - "$product_id" "$work/get.bin" <<'PY'
import struct, sys
message = b"\x0a" + bytes([len(sys.argv[1])]) + sys.argv[1].encode()
open(sys.argv[2], "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
PY

h2load -c 4 -m 32 -D "$((seconds + 2))" --warm-up-time 2 -H 'content-type: application/grpc' \
  -H 'te: trailers' -d "$work/get.bin" "http://$addr/storefront.v1.ProductService/GetProduct" \
  >"$work/h2load.txt" &
h2load_pid=$!
sleep 3
if [[ -n "${PROFILE_BY_MODULE:-}" ]]; then
  perf record -F 499 --call-graph dwarf,16384 -p "$server_pid" -o "$work/perf.data" \
    -- sleep "$seconds" >/dev/null 2>&1
  wait "$h2load_pid"
  grep -E "finished in|requests:" "$work/h2load.txt"
  perf script -i "$work/perf.data" 2>/dev/null | python3 "$root/scripts/profile-attribution.py"
  exit 0
fi
perf record -F 999 -g -p "$server_pid" -o "$work/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$h2load_pid"
grep -E "finished in|requests:" "$work/h2load.txt"
report() {
  perf report -i "$work/perf.data" --no-children --stdio -g none "$@" 2>/dev/null |
    grep -v '^#' | grep -v '^$'
}
echo "-- by thread"
report --sort comm | head -8 || true
echo "-- by library"
report --sort dso | head -12 || true
echo "-- top symbols (self)"
report --sort sym | head -40 || true
echo "-- top symbols in the server's own binary (Storefront, grpc-swift, SwiftNIO, ...)"
report --sort sym --dsos "$(basename "$(readlink -f "/proc/$server_pid/exe")")" | head -30 || true
