#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the test suite on 127.0.0.1 and export STEWARD_TEST_POSTGRES_URL.
# Sourced by .ci/run; installs PostgreSQL from Debian's packages when the machine lacks it.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(pg_bin)"
PG_PORT="${STEWARD_TEST_PG_PORT:-55432}"
PG_DATA="$(mktemp -d /tmp/steward-pg.XXXXXX)"
chown postgres:postgres "$PG_DATA"
as_postgres() { runuser -u postgres -- "$@"; }
as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
  -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
      -c full_page_writes=off -c max_connections=300" start >/dev/null
as_postgres psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE ROLE steward LOGIN SUPERUSER PASSWORD 'steward'"
export STEWARD_TEST_POSTGRES_URL="postgresql+psycopg://steward:steward@127.0.0.1:$PG_PORT/postgres"
stop_postgres() { as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PG_DATA"; }
