# Shared by the measurement scripts: builds the release binary and runs servers from it.
# Source it; it sets `bin`, `work` (a temporary folder removed at exit), and, after
# `start_server`, `server_pid` and `server` (host:port).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
swift build -c release --product storefront >&2
bin="$root/.build/release/storefront"
work="$(mktemp -d)"
server_pid=""
server=""

stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# start_server ARGS...: serves on a free port with ARGS; waits for its "listening on" line.
start_server() {
  "$bin" serve --port 0 "$@" >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/serve.out" 2>/dev/null && break
    sleep 0.1
  done
  local port
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.out")"
  [[ -n "$port" ]] || { echo "the server did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
  server="127.0.0.1:$port"
}
