#!/usr/bin/env bash
# The side-by-side benchmark: Storefront (its real SQLite store, a 100,000-product demo
# catalogue) on its own transport and, as the "stock" column, the same server and catalogue on
# grpc-swift-nio-transport's (`--transport nio`), against storefront-baseline (the same service protocol on grpc-swift-2 as it
# runs out of the box, no store) and the grpc-go peer (Tests/go/peer: the baseline's answers on
# grpc-go 1.33, built here from Debian's packages in GOPATH mode), every scenario of
# `storefront bench` against all three, h2load against GetProduct as an independent load
# generator, peak RSS and server CPU per operation per scenario, the memory 1,000 idle
# connections cost each server (scripts/measure-idle-connections.py), and the memory goals. Writes
# bench-results/latest.md and bench-results/latest.json and prints the tables.
#
#   scripts/bench.sh                 # builds in release first
#   BENCH_SKIP_BUILD=1 scripts/bench.sh
#   BENCH_DURATION=10 BENCH_WARMUP=2 scripts/bench.sh   # seconds per run (default 6, after 1)
#
# A measurement, not a test: on a shared machine, run it while nothing else compiles (here:
# `flock /work/swift-build.lock scripts/bench.sh`). Needs h2load and nghttp (Debian's
# nghttp2-client), Go, grpc-go and protoc with its Go plugins (the packages .ci/run names;
# all installed when missing and running as root) and python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
duration="${BENCH_DURATION:-6}"
warmup="${BENCH_WARMUP:-1}"
started_at="$(date +%s)"
build_seconds=""

if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null
  else
    echo "h2load and nghttp are missing: sudo apt-get install nghttp2-client" >&2
    exit 1
  fi
fi

go_packages=(golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev
  golang-github-golang-protobuf-1-5-dev golang-google-protobuf-dev golang-google-genproto-dev)
if ! dpkg -s "${go_packages[@]}" >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${go_packages[@]}" >/dev/null
  else
    echo "Go and grpc-go are missing: sudo apt-get install ${go_packages[*]}" >&2
    exit 1
  fi
fi

if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  build_start="$(date +%s)"
  swift build -c release --product storefront >&2
  swift build -c release --product storefront-baseline >&2
  build_seconds="$(($(date +%s) - build_start))"
  echo "release build: $build_seconds s" >&2
fi
bin="$root/.build/release"
work="$(mktemp -d)"
results="$work/results"
mkdir -p "$results" "$root/bench-results"
pids=()

source scripts/lib/go-workspace.sh
go_workspace "$work/go"
(cd "$work/go/src/storefront" && go build -o "$work/storefront-go-peer" ./peer)

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME COMMAND...: starts a server that prints "listening on HOST:PORT"; sets
# ${NAME}_pid and ${NAME}_addr.
start() {
  local name="$1"
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 3000); do
    grep -q "listening on" "$work/$name.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  local addr
  addr="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/$name.out" | head -1)"
  [[ -n "$addr" ]] || { echo "$name did not start" >&2; cat "$work/$name.err" >&2; exit 1; }
  printf -v "${name}_pid" '%s' "$pid"
  printf -v "${name}_addr" '%s' "$addr"
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# add_user DATA_DIR: a staff user for the bench, added before the server starts there.
add_user() {
  mkdir -p "$1"
  echo "bench-password" | "$bin/storefront" user add bench --role staff --password-stdin \
    --data-dir "$1" >/dev/null
}

# sign_in ADDR: signs the bench's user in; `storefront bench` sends STOREFRONT_TOKEN on every
# call, to the baseline too, so that both carry the same header.
sign_in() {
  STOREFRONT_TOKEN="$(echo "bench-password" | "$bin/storefront" login bench --password-stdin \
    --print-token --server "$1")"
  export STOREFRONT_TOKEN
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU seconds a process has used (user and system), from /proc/PID/stat.
clock_ticks="$(getconf CLK_TCK)"
cpu_seconds() { awk -v hz="$clock_ticks" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
now() { date +%s.%N; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# Resets the peak RSS (VmHWM) of a process to its current RSS.
reset_peak() { echo 5 >"/proc/$1/clear_refs"; }

# measure RESULT NAME PID WARMUP ARGS...: one `storefront bench ARGS --json` run against the
# server PID; its result, named NAME, in $results/RESULT.json, with the server's RSS before
# and at its peak, and the CPU seconds the server used from WARMUP seconds after the start to
# the end (the warm-up left out) and the wall time they were counted in.
measure() {
  local result="$1" name="$2" pid="$3" warm="$4"
  shift 4
  local before cpu_before cpu_from
  before="$(rss_kib "$pid")"
  reset_peak "$pid"
  "$bin/storefront" bench "$@" --json >"$work/run.json" &
  local bench_pid=$!
  sleep "$warm"
  cpu_before="$(cpu_seconds "$pid")"
  cpu_from="$(now)"
  wait "$bench_pid"
  python3 - "$work/run.json" "$results/$result.json" "$name" "$before" "$(hwm_kib "$pid")" \
    "$(echo "$(cpu_seconds "$pid") - $cpu_before" | bc -l)" "$(echo "$(now) - $cpu_from" | bc -l)" <<'EOF'
import json, sys
source, target, name, before, peak, cpu, wall = sys.argv[1:]
result = json.load(open(source))
result.update(name=name, rssBeforeKiB=int(before), rssPeakKiB=int(peak),
              serverCPUSeconds=float(cpu), serverCPUWallSeconds=float(wall))
json.dump(result, open(target, "w"))
EOF
}

# run_bench NAME TARGET PID ADDR ARGS...: one measured run of a scenario against TARGET, in
# $results/NAME.TARGET.json, and a line for people.
run_bench() {
  local name="$1" target="$2" pid="$3" addr="$4"
  shift 4
  measure "$name.$target" "$name" "$pid" "$warmup" "$@" --server "$addr" --label "$target" \
    --duration "$duration" --warmup "$warmup"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=r.get("latencyMilliseconds"); print("  %-10s %-10s %12.0f %s/s  %s  peak RSS %d MiB  errors %d" % (r["name"], r["label"], r["unitsPerSecond"], r["unit"], "p99 %.3f ms" % l["p99"] if l else "no call completed", r["rssPeakKiB"] // 1024, r["errors"]))' "$results/$name.$target.json" >&2
}

echo "== seeding a 100,000-product catalogue" >&2
add_user "$work/data"
seed_start="$(date +%s.%N)"
start storefront "$bin/storefront" serve --port 0 --data-dir "$work/data" \
  --demo-catalog 100000 --max-image-bytes 1200000000 --chat-rate 1000 --chat-burst 1000 \
  --log-level "${BENCH_LOG_LEVEL:-info}" --transport storefront
seed_seconds="$(echo "$(date +%s.%N) - $seed_start" | bc -l)"
sign_in "$storefront_addr"
# The stock transport's server: its own copy of the catalogue and user, the same token key.
add_user "$work/data-stock"
start stock "$bin/storefront" serve --port 0 --data-dir "$work/data-stock" \
  --demo-catalog 100000 --max-image-bytes 1200000000 --chat-rate 1000 --chat-burst 1000 \
  --log-level "${BENCH_LOG_LEVEL:-info}" --transport nio --token-key-file "$work/data/token.key"
start baseline "$bin/storefront-baseline" --catalogue 100000
start grpcgo "$work/storefront-go-peer" --catalogue 100000
echo "   seeded and listening in $(printf %.1f "$seed_seconds") s" >&2

# The "postgres" column: the same server, transport and catalogue on PostgreSQL (a throwaway
# server from scripts/lib/postgres.sh, made durable as SQLite is: fsync and synchronous
# commits on), with the same token key. BENCH_POSTGRES=0 leaves it out.
with_postgres="${BENCH_POSTGRES:-1}"
if [[ "$with_postgres" != 0 ]]; then
  source scripts/lib/postgres.sh
  start_postgres
  for setting in "fsync = on" "synchronous_commit = on" "full_page_writes = on"; do
    postgres_sql "ALTER SYSTEM SET $setting"
  done
  postgres_sql "SELECT pg_reload_conf()"
  postgres_sql "CREATE DATABASE bench"
  bench_database="postgres://storefront@127.0.0.1:$postgres_port/bench?sslmode=disable"
  echo "bench-password" | "$bin/storefront" user add bench --role staff --password-stdin \
    --database "$bench_database" >/dev/null
  pg_seed_start="$(date +%s.%N)"
  start postgres "$bin/storefront" serve --port 0 --data-dir "$work/data-postgres" \
    --database "$bench_database" --demo-catalog 100000 --max-image-bytes 1200000000 \
    --chat-rate 1000 --chat-burst 1000 --log-level "${BENCH_LOG_LEVEL:-info}" \
    --transport storefront --token-key-file "$work/data/token.key"
  echo "   PostgreSQL seeded and listening in $(printf %.1f "$(echo "$(date +%s.%N) - $pg_seed_start" | bc -l)") s" >&2
fi

# Each scenario against every server, one after the other: Storefront on each transport, the
# baseline, the grpc-go peer.
both() {
  local name="$1"
  shift
  run_bench "$name" storefront "$storefront_pid" "$storefront_addr" "$@"
  run_bench "$name" stock "$stock_pid" "$stock_addr" "$@"
  run_bench "$name" baseline "$baseline_pid" "$baseline_addr" "$@"
  run_bench "$name" grpcgo "$grpcgo_pid" "$grpcgo_addr" "$@"
  if [[ "$with_postgres" != 0 ]]; then
    run_bench "$name" postgres "$postgres_pid" "$postgres_addr" "$@"
  fi
}
echo "== storefront bench (${duration} s each after ${warmup} s of warm-up)" >&2
both get get --connections 4 --concurrency 32 --ids 1000
run_bench get-any storefront "$storefront_pid" "$storefront_addr" get --connections 4 \
  --concurrency 32 --ids 0
both list list --connections 4 --concurrency 4
both upload upload --connections 4 --concurrency 4 --size 1048576
both download download --connections 4 --concurrency 4 --size 1048576
both chat chat --connections 4 --members 100 --senders 10 --rate 20
both watch watch --connections 4 --watchers 100 --senders 10 --rate 20
both import import --connections 4 --concurrency 4 --batch 1000

# h2load: GetProduct of one product, a prebuilt gRPC message (5-byte prefix, then the
# request), after checking that one such call answers grpc-status 0.
echo "== h2load -c 4 -m 32 GetProduct" >&2
# The second product (the first carries the images of the download scenario and the memory goals).
# get_message ADDR FILE: that request of the server at ADDR, in FILE.
get_message() {
  local product_id
  product_id="$("$bin/storefront" product list --limit 2 --json --server "$1" |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readlines()[1])["id"])')"
  python3 - "$product_id" "$2" <<'EOF'
import struct, sys
product_id = sys.argv[1].encode()
message = b"\x0a" + bytes([len(product_id)]) + product_id
open(sys.argv[2], "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
EOF
}
get_message "$storefront_addr" "$work/get.bin"
# The stock server's catalogue has ids of its own.
get_message "$stock_addr" "$work/get-stock.bin"
# h2load_run TARGET ADDR PID [MESSAGE_FILE [NAME CONTENT_TYPE]]: NAME (h2load) names the
# results; CONTENT_TYPE (application/grpc) the protocol, for the web protocols' runs.
h2load_run() {
  local target="$1" addr="$2" pid="$3" message="${4:-$work/get.bin}" name="${5:-h2load}"
  local type="${6:-application/grpc}"
  local url="http://$addr/storefront.v1.ProductService/GetProduct"
  local answer
  answer="$(nghttp -v -H "content-type: $type" -H 'te: trailers' -d "$message" "$url" 2>&1 |
    tr -d '\0')"
  if [[ "$type" == application/grpc ]]; then
    local status
    status="$(sed -n 's/.*grpc-status: \([0-9]*\).*/\1/p' <<<"$answer" | head -1)"
    [[ "$status" == 0 ]] || { echo "h2load check: $target answered grpc-status '$status'" >&2; exit 1; }
  elif ! grep -q ':status: 200' <<<"$answer" || grep -q 'grpc-status: [1-9]' <<<"$answer"; then
    echo "h2load check: $target ($type) failed: $answer" >&2
    exit 1
  fi
  local before cpu_before cpu_from
  before="$(rss_kib "$pid")"
  reset_peak "$pid"
  h2load -c 4 -m 32 -D "$duration" --warm-up-time "$warmup" -H "content-type: $type" \
    -H 'te: trailers' -d "$message" "$url" >"$work/$name.$target.txt" &
  local h2load_pid=$!
  sleep "$warmup"
  cpu_before="$(cpu_seconds "$pid")"
  cpu_from="$(now)"
  wait "$h2load_pid"
  python3 - "$work/$name.$target.txt" "$results/$name.$target.json" "$target" "$before" \
    "$(hwm_kib "$pid")" "$duration" "$(echo "$(cpu_seconds "$pid") - $cpu_before" | bc -l)" \
    "$(echo "$(now) - $cpu_from" | bc -l)" <<'EOF'
import json, re, sys
source, target, label, before, peak, duration, cpu, wall = sys.argv[1:]
text = open(source).read()
rate = float(re.search(r"finished in [^,]+, ([\d.]+) req/s", text).group(1))
done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
# h2load's latency line: "time for request:  min  max  mean  sd  +/- sd"
latency = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text)
def ms(value):
    number = float(re.match(r"[\d.]+", value).group(0))
    return number / 1000 if value.endswith("us") else number * 1000 if value.endswith("s") and not value.endswith("ms") else number
json.dump(dict(
    name="h2load", label=label, unit="calls", unitsPerSecond=rate, operationsPerSecond=rate,
    operations=int(done.group(1)), errors=int(done.group(3)) + int(done.group(4)),
    seconds=float(duration), latencyMilliseconds=dict(mean=ms(latency.group(3)), max=ms(latency.group(2))),
    rssBeforeKiB=int(before), rssPeakKiB=int(peak), serverCPUSeconds=float(cpu),
    serverCPUWallSeconds=float(wall)), open(target, "w"))
EOF
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  %-10s %-10s %12.0f calls/s  mean %.3f ms  errors %d" % ("h2load", r["label"], r["unitsPerSecond"], r["latencyMilliseconds"]["mean"], r["errors"]))' "$results/$name.$target.json" >&2
}
h2load_run storefront "$storefront_addr" "$storefront_pid"
h2load_run stock "$stock_addr" "$stock_pid" "$work/get-stock.bin"
h2load_run baseline "$baseline_addr" "$baseline_pid"
h2load_run grpcgo "$grpcgo_addr" "$grpcgo_pid"

# The same call over the web protocols on Storefront's one port: Connect unary (JSON and
# proto bodies) and gRPC-Web, each beside the gRPC run above.
echo "== h2load -c 4 -m 32 GetProduct over Connect and gRPC-Web" >&2
python3 - "$work/get.bin" "$work" <<'EOF'
import json, sys
message = open(sys.argv[1], "rb").read()[5:]
open(sys.argv[2] + "/get.json", "w").write(json.dumps({"id": message[2:].decode()}))
open(sys.argv[2] + "/get.proto", "wb").write(message)
EOF
h2load_run connect-json "$storefront_addr" "$storefront_pid" "$work/get.json" h2load-web \
  application/json
h2load_run connect-proto "$storefront_addr" "$storefront_pid" "$work/get.proto" h2load-web \
  application/proto
h2load_run grpc-web "$storefront_addr" "$storefront_pid" "$work/get.bin" h2load-web \
  application/grpc-web+proto

# 1,000 idle connections, each having served one call, against every server.
echo "== 1,000 idle connections" >&2
idle_python=python3
[[ -x "$root/.venv/bin/python" ]] && idle_python="$root/.venv/bin/python"
for target in storefront stock baseline grpcgo; do
  pid_var="${target}_pid" addr_var="${target}_addr"
  "$idle_python" scripts/measure-idle-connections.py "${!addr_var}" "${!pid_var}" 1000 \
    >"$results/idle.$target.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  idle       %-10s %9.1f KiB per connection" % (sys.argv[2], r["perConnectionKiB"]))' "$results/idle.$target.json" "$target" >&2
done
stop "$storefront_pid"
stop "$stock_pid"
stop "$baseline_pid"
stop "$grpcgo_pid"

# image_of ADDR: the last image of the catalogue's first product (where a one-image upload
# attaches: the upload scenario gives the first 1,000 products an image each in turn).
image_of() {
  "$bin/storefront" product list --limit 1 --json --server "$1" |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["imageIds"][-1])'
}

# The memory goals of one 1 GiB image on PostgreSQL, whose bytes live in the database: the
# RSS growth while one client uploads it, then while one client downloads it.
if [[ "$with_postgres" != 0 ]]; then
  echo "== memory goals on PostgreSQL (one 1 GiB image)" >&2
  sleep 1
  measure memory.postgres-upload upload "$postgres_pid" 0 upload --connections 1 \
    --concurrency 1 --count 1 --warmup 0 --size 1073741824 --server "$postgres_addr" \
    --label postgres
  sleep 1
  measure memory.postgres-download download "$postgres_pid" 0 download --connections 1 \
    --concurrency 1 --count 1 --warmup 0 --image "$(image_of "$postgres_addr")" \
    --server "$postgres_addr" --label postgres
  stop "$postgres_pid"
fi

# The memory goals, on a server of their own with a 1,000,000-product catalogue: the growth
# of its RSS (peak during the run minus before it) while one client streams the whole
# catalogue, uploads one 1 GiB image, and while 1,000 chat members sit idle in one room.
echo "== memory goals (seeding 1,000,000 products)" >&2
add_user "$work/data-1m"
seed_start="$(date +%s.%N)"
start memory "$bin/storefront" serve --port 0 --data-dir "$work/data-1m" \
  --demo-catalog 1000000 --max-image-bytes 1200000000 --log-level warning
echo "   seeded in $(printf %.1f "$(echo "$(date +%s.%N) - $seed_start" | bc -l)") s" >&2
sign_in "$memory_addr"
memory_goal() {
  local name="$1"
  shift
  sleep 1
  measure "memory.$name" "$name" "$memory_pid" 0 "$@" --server "$memory_addr" --label storefront
}
# The catalogue streamed twice: the first listing after start also fills what the server keeps
# from then on (SQLite's page cache of each connection, statement caches, the allocator's
# arenas); the goal is judged on the second, whose growth is what streaming itself costs.
memory_goal list-cold list --connections 1 --concurrency 1 --count 1 --warmup 0
memory_goal list list --connections 1 --concurrency 1 --count 1 --warmup 0
memory_goal upload upload --connections 1 --concurrency 1 --count 1 --warmup 0 \
  --size 1073741824
memory_goal download download --connections 1 --concurrency 1 --count 1 --warmup 0 \
  --image "$(image_of "$memory_addr")"
# Ten rooms of 100: every join is announced to the room, and in one room of 1,000 that storm
# (half a million notices) drops members too slow to read it, as it should.
memory_goal chat-idle chat --connections 4 --members 1000 --rooms 10 --senders 0 --warmup 0 \
  --duration 5
stop "$memory_pid"

total_seconds="$(($(date +%s) - started_at))"
python3 - "$results" "$root/bench-results" "$seed_seconds" "$total_seconds" "$duration" "$warmup" \
  "$build_seconds" <<'EOF'
import json, os, platform, re, subprocess, sys, datetime
results, out, seed_seconds, total_seconds, duration, warmup, build_seconds = sys.argv[1:]
runs = {}
for name in sorted(os.listdir(results)):
    run = json.load(open(os.path.join(results, name)))
    runs[name[:-len(".json")]] = run

cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
machine = "%s, %d cores, %s, Linux %s, %s" % (
    cpu.group(1) if cpu else platform.machine(), os.cpu_count(),
    "%.0f GiB" % (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
    platform.release(),
    subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    if subprocess.run(["which", "swift"], capture_output=True).returncode == 0 else "swift")
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

def rate(run):
    if run["unit"] == "bytes":
        return "%.0f MiB/s" % (run["unitsPerSecond"] / 2**20)
    return "{:,.0f} {}/s".format(run["unitsPerSecond"], run["unit"])

def p99(run):
    # `storefront bench` leaves latency out when no call completed in the window (a listing
    # of the whole catalogue that outlasts it): say so rather than print a zero.
    latency = run.get("latencyMilliseconds")
    if not latency:
        return "no call completed"
    if "p99" in latency:
        return "%.2f ms" % latency["p99"]
    return "%.2f ms (mean)" % latency["mean"]

def cpu_per_unit(run):
    """Server CPU per unit of work at the run's rate: microseconds per call, product or
    delivery, milliseconds per MiB."""
    if not run.get("serverCPUWallSeconds") or not run["unitsPerSecond"]:
        return "-"
    fraction = run["serverCPUSeconds"] / run["serverCPUWallSeconds"]
    if run["unit"] == "bytes":
        return "%.2f ms/MiB" % (fraction / (run["unitsPerSecond"] / 2**20) * 1e3)
    return "%.1f \u00b5s" % (fraction / run["unitsPerSecond"] * 1e6)

def ratio(a, b):
    return "%.2fx" % (a["unitsPerSecond"] / b["unitsPerSecond"]) if a and b and b["unitsPerSecond"] else "-"

rows = []
labels = {
    "get": "get (GetProduct, 1,000 hot ids, c4 x 32)",
    "get-any": "get (any of 100,000 ids) vs baseline get",
    "list": "list (ListProducts, whole catalogue, c4 x 4)",
    "upload": "upload (1 MiB images, c4 x 4)",
    "download": "download (1 MiB image, c4 x 4)",
    "chat": "chat (100 members, 10 senders x 20/s)",
    "watch": "watch (100 watchers, 10 writers x 20 updates/s)",
    "import": "import (1,000 products a stream, c4 x 4)",
    "h2load": "h2load GetProduct (-c 4 -m 32, one id)",
}
for name in ["get", "get-any", "list", "upload", "download", "chat", "watch", "import", "h2load"]:
    storefront = runs.get(name + ".storefront")
    stock = runs.get(name + ".stock")
    baseline = runs.get(name + ".baseline") or (runs.get("get.baseline") if name == "get-any" else None)
    grpcgo = runs.get(name + ".grpcgo") or (runs.get("get.grpcgo") if name == "get-any" else None)
    if not storefront or not baseline:
        continue
    peers = [run for run in (storefront, baseline, grpcgo) if run]
    rows.append(dict(
        scenario=labels[name], storefront=rate(storefront), baseline=rate(baseline),
        stock=rate(stock) if stock else "-", ratioStock=ratio(storefront, stock),
        stockP99=p99(stock) if stock else "-", stockCPU=cpu_per_unit(stock) if stock else "-",
        stockPeakRSS="%d MiB" % (stock["rssPeakKiB"] // 1024) if stock else "-",
        grpcgo=rate(grpcgo) if grpcgo else "-",
        ratio=ratio(storefront, baseline), ratioGrpcgo=ratio(storefront, grpcgo),
        storefrontP99=p99(storefront), baselineP99=p99(baseline),
        grpcgoP99=p99(grpcgo) if grpcgo else "-",
        storefrontCPU=cpu_per_unit(storefront), baselineCPU=cpu_per_unit(baseline),
        grpcgoCPU=cpu_per_unit(grpcgo) if grpcgo else "-",
        storefrontPeakRSS="%d MiB" % (storefront["rssPeakKiB"] // 1024),
        baselinePeakRSS="%d MiB" % (baseline["rssPeakKiB"] // 1024),
        grpcgoPeakRSS="%d MiB" % (grpcgo["rssPeakKiB"] // 1024) if grpcgo else "-",
        errors=sum(run["errors"] for run in peers + ([stock] if stock else []))))

goals = []
def growth(name):
    run = runs.get("memory." + name)
    return (run["rssPeakKiB"] - run["rssBeforeKiB"]) / 1024 if run else None
list_growth, upload_growth, chat_growth = growth("list"), growth("upload"), growth("chat-idle")
download_growth = growth("download")
chat_run = runs.get("memory.chat-idle")
if list_growth is not None:
    run = runs["memory.list"]
    cold = growth("list-cold")
    goals.append(("stream a 1,000,000-product catalogue, second listing (%s products in %.1f s;"
        " the first listing after start grew %.1f MiB, caches kept from then on)" % (
        "{:,}".format(run["units"]), run["seconds"], cold if cold is not None else float("nan")),
        "%.1f MiB" % list_growth, "< 20 MiB", list_growth < 20))
if upload_growth is not None:
    run = runs["memory.upload"]
    goals.append(("upload one 1 GiB image (%.0f MiB/s)" % (run["unitsPerSecond"] / 2**20),
        "%.1f MiB" % upload_growth, "< 32 MiB", upload_growth < 32 and run["errors"] == 0))
if download_growth is not None:
    run = runs["memory.download"]
    goals.append(("download that 1 GiB image (%.0f MiB/s)" % (run["unitsPerSecond"] / 2**20),
        "%.1f MiB" % download_growth, "< 16 MiB", download_growth < 16 and run["errors"] == 0))
for name, verb, limit in (("postgres-upload", "upload one 1 GiB image", 32),
                          ("postgres-download", "download that 1 GiB image", 16)):
    run, grown = runs.get("memory." + name), growth(name)
    if run:
        goals.append(("PostgreSQL: %s (%.0f MiB/s)" % (verb, run["unitsPerSecond"] / 2**20),
            "%.1f MiB" % grown, "< %d MiB" % limit, grown < limit and run["errors"] == 0))
if chat_growth is not None:
    per_member = chat_growth * 1024 / 1000
    goals.append(("1,000 idle chat members in 10 rooms (%d stayed to the end)" % chat_run["operations"],
        "%.1f KiB each" % per_member, "< 50 KiB each", per_member < 50 and chat_run["operations"] == 1000))

lines = ["Measured %s on %s by `scripts/bench.sh` (%s s per run after %s s of warm-up; the "
         "100,000-product catalogue seeded in %.1f s; the whole script took %s s%s)." % (
         date, machine, duration, warmup, float(seed_seconds), total_seconds,
         ", of which %s s the release build" % build_seconds if build_seconds else
         " after the release build"), "",
         "\"stock\" is the same server and catalogue on `--transport nio`.", "",
         "| scenario | Storefront | stock | baseline | grpc-go | vs stock | vs baseline | vs grpc-go | p99 Storefront | p99 stock | p99 baseline | p99 grpc-go |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for row in rows:
    lines.append("| %(scenario)s | %(storefront)s | %(stock)s | %(baseline)s | %(grpcgo)s | "
                 "%(ratioStock)s | %(ratio)s | %(ratioGrpcgo)s | %(storefrontP99)s | %(stockP99)s | "
                 "%(baselineP99)s | %(grpcgoP99)s |" % row
                 + (" %d errors" % row["errors"] if row["errors"] else ""))
lines += ["", "Server CPU per unit of work (user and system time from /proc over the measured "
          "window, divided by the units served meanwhile) and peak RSS:", "",
          "| scenario | CPU Storefront | CPU stock | CPU baseline | CPU grpc-go | peak RSS Storefront | peak RSS stock | peak RSS baseline | peak RSS grpc-go |",
          "|---|---|---|---|---|---|---|---|---|"]
for row in rows:
    lines.append("| %(scenario)s | %(storefrontCPU)s | %(stockCPU)s | %(baselineCPU)s | %(grpcgoCPU)s | "
                 "%(storefrontPeakRSS)s | %(stockPeakRSS)s | %(baselinePeakRSS)s | %(grpcgoPeakRSS)s |" % row)
web = [("gRPC", runs.get("h2load.storefront"))] + [
    (label, runs.get("h2load-web." + key)) for label, key in (
        ("Connect unary, JSON", "connect-json"), ("Connect unary, proto", "connect-proto"),
        ("gRPC-Web, binary", "grpc-web"))]
if all(run for _, run in web):
    lines += ["", "GetProduct of one product by protocol on Storefront's one port (h2load -c 4 -m 32):",
              "", "| protocol | calls/s | vs gRPC | mean latency | CPU per call |", "|---|---|---|---|---|"]
    for label, run in web:
        lines.append("| %s | %s | %s | %.3f ms | %s |" % (label, rate(run), ratio(run, web[0][1]),
                     run["latencyMilliseconds"]["mean"], cpu_per_unit(run))
                     + (" %d errors" % run["errors"] if run["errors"] else ""))
stores = [(labels[name], runs.get(name + ".storefront"), runs.get(name + ".postgres"))
          for name in ["get", "list", "upload", "download", "chat", "watch", "import"]]
if any(postgres for _, _, postgres in stores):
    lines += ["", "The same server on PostgreSQL (the storefront transport; a local PostgreSQL with "
              "fsync and synchronous commits on, as SQLite runs with synchronous = FULL):", "",
              "| scenario | SQLite | PostgreSQL | PostgreSQL vs SQLite | p99 SQLite | p99 PostgreSQL | CPU SQLite | CPU PostgreSQL |",
              "|---|---|---|---|---|---|---|---|"]
    for label, sqlite, postgres in stores:
        if sqlite and postgres:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, rate(sqlite), rate(postgres), ratio(postgres, sqlite), p99(sqlite),
                p99(postgres), cpu_per_unit(sqlite), cpu_per_unit(postgres))
                + (" %d errors" % postgres["errors"] if postgres["errors"] else ""))
idle = [(target, runs.get("idle." + target)) for target in ("storefront", "stock", "baseline", "grpcgo")]
if any(run for _, run in idle):
    lines += ["", "| 1,000 idle connections (one call served on each) | RSS growth per connection |",
              "|---|---|"]
    for target, run in idle:
        if run:
            lines.append("| %s | %.1f KiB |" % (target, run["perConnectionKiB"]))
lines += ["", "| memory goal | RSS growth | goal | met |", "|---|---|---|---|"]
for goal in goals:
    lines.append("| %s | %s | %s | %s |" % (goal[0], goal[1], goal[2], "yes" if goal[3] else "**no**"))
markdown = "\n".join(lines) + "\n"
open(os.path.join(out, "latest.md"), "w").write(markdown)
json.dump(dict(date=date, machine=machine, seedSeconds=float(seed_seconds),
               totalSeconds=int(total_seconds), buildSeconds=int(build_seconds or 0),
               durationSeconds=float(duration), warmupSeconds=float(warmup), table=rows,
               memoryGoals=[dict(goal=g[0], growth=g[1], limit=g[2], met=g[3]) for g in goals],
               runs=runs), open(os.path.join(out, "latest.json"), "w"), indent=1, sort_keys=True)
print(markdown)
EOF
