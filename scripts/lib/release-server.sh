# Shared by the measurement scripts: builds the release binary and runs servers from it.
# Source it; it sets `bin`, `work` (a temporary folder removed at exit), and, after
# `start_server`, `server_pid`, `server` (host:port) and STOREFRONT_TOKEN (exported: a staff
# user's token, which the CLI sends).

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

# start_server ARGS...: serves on a free port with ARGS (which name --data-dir); waits for its
# "listening on" line, then adds a staff user and signs in as them.
start_server() {
  local data_dir="" previous=""
  for arg in "$@"; do
    [[ "$previous" == "--data-dir" ]] && data_dir="$arg"
    previous="$arg"
  done
  [[ -n "$data_dir" ]] || { echo "start_server needs --data-dir" >&2; exit 1; }
  mkdir -p "$data_dir"
  echo "measure-password" | "$bin" user add measure --role staff --password-stdin \
    --data-dir "$data_dir" >/dev/null 2>&1 || true
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
  STOREFRONT_TOKEN="$(echo "measure-password" | "$bin" login measure --password-stdin \
    --print-token --server "$server")"
  export STOREFRONT_TOKEN
}
