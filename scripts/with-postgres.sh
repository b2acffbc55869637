#!/usr/bin/env bash
# Runs a command with a throwaway Postgres server on loopback and TEST_DATABASE_URL pointing at it.
# The cluster lives in a temporary folder and is removed afterwards, whatever the command's outcome.
set -euo pipefail
bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
port=${PB_TEST_PG_PORT:-$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
dir=$(mktemp -d /tmp/pb-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null
psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE playbook_test" >/dev/null
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/playbook_test"
"$@"
