# Starts a throwaway PostgreSQL for the tests and benchmarks: Debian's postgresql package
# (`apt-get install postgresql`; .ci/run installs it), initdb into a temporary directory as
# the `postgres` user, on a free loopback port, stopped and deleted when the shell exits.
#
# Source it, then call `start_postgres`. It exports STOREFRONT_TEST_POSTGRES_URL (and
# sets `postgres_url`, `postgres_port`, `postgres_data`): a superuser `storefront` with trust
# authentication on 127.0.0.1 only, database `storefront`. `stop_postgres` stops it early
# (it stays stopped until `restart_postgres`). It adds its clean-up to the EXIT trap and
# keeps any trap already set. `postgres_sql SQL` runs SQL on it.

postgres_data=""
postgres_port=""
postgres_url=""

_postgres_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$dir" ]]; then
    echo "error: PostgreSQL is not installed (apt-get install postgresql)" >&2
    return 1
  fi
  echo "$dir"
}

# As the postgres user, for a root shell (initdb refuses to run as root); as ourselves if we
# are not root.
_as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_postgres_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_postgres() {
  local bin
  bin=$(_postgres_bin)
  postgres_data=$(mktemp -d /tmp/storefront-postgres.XXXXXX)
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$postgres_data"; fi
  postgres_port=$(_postgres_free_port)
  _as_postgres "$bin/initdb" -D "$postgres_data/data" -U storefront --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$postgres_data/initdb.log" 2>&1 || {
    cat "$postgres_data/initdb.log" >&2
    return 1
  }
  # Throwaway data: no fsync; enough connections for the tests' parallel stores.
  cat >>"$postgres_data/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $postgres_port
unix_socket_directories = '$postgres_data'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  _start_postgres_server "$bin"
  postgres_sql "CREATE DATABASE storefront"
  postgres_url="postgres://storefront@127.0.0.1:$postgres_port/storefront?sslmode=disable"
  export STOREFRONT_TEST_POSTGRES_URL="$postgres_url"
  local previous
  previous=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  # shellcheck disable=SC2064
  trap "_cleanup_postgres; $previous" EXIT
}

# postgres_sql SQL: runs SQL on the server's `postgres` database.
postgres_sql() {
  _as_postgres "$(_postgres_bin)/psql" -h 127.0.0.1 -p "$postgres_port" -U storefront \
    -d postgres -q -c "$1" >/dev/null
}

_start_postgres_server() {
  _as_postgres "$1/pg_ctl" -D "$postgres_data/data" -l "$postgres_data/server.log" -w -t 60 \
    start >/dev/null || {
    cat "$postgres_data/server.log" >&2
    return 1
  }
}

stop_postgres() {
  [[ -n "$postgres_data" && -d "$postgres_data/data" ]] || return 0
  _as_postgres "$(_postgres_bin)/pg_ctl" -D "$postgres_data/data" -m fast -w stop >/dev/null \
    2>&1 || true
}

restart_postgres() {
  _start_postgres_server "$(_postgres_bin)"
}

_cleanup_postgres() {
  stop_postgres
  [[ -n "$postgres_data" ]] && rm -rf "$postgres_data"
  postgres_data=""
}
