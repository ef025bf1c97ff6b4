#!/usr/bin/env bash
# Installs PostgreSQL 15 from Debian and starts a private cluster on 127.0.0.1:55432 for the PostgreSQL
# storage backend's tests. Idempotent: rerunning leaves a running cluster running.
#
#   server    127.0.0.1:55432, password (scram-sha-256) authentication only, no Unix-socket logins
#   role      agentconsole / agentconsole-test (superuser: the tests create one database per run)
#   data      $ROOT/data, log $ROOT/log
set -euo pipefail

ROOT="${AGENTCONSOLE_PG_DIR:-/var/tmp/agentconsole-pg}"
PORT="${AGENTCONSOLE_PG_PORT:-55432}"
PASSWORD="agentconsole-test"

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n AGENTCONSOLE_PG_DIR="$ROOT" AGENTCONSOLE_PG_PORT="$PORT" bash "$0" "$@"
    fi
    echo "postgres.sh: must run as root (installs packages and runs the server as the postgres user)" >&2
    exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql </dev/null >/dev/null
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$ROOT"
chown postgres: "$ROOT"
if [ ! -s "$ROOT/data/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "$PASSWORD" >"$pwfile"
    chown postgres: "$pwfile"
    as_pg "$BIN/initdb" -D "$ROOT/data" -U agentconsole --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >>"$ROOT/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$ROOT'
max_connections = 300
shared_buffers = 128MB
fsync = on
synchronous_commit = on
EOF
fi

if as_pg "$BIN/pg_ctl" -D "$ROOT/data" status >/dev/null 2>&1; then
    echo "postgres.sh: already running on 127.0.0.1:$PORT"
else
    as_pg "$BIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/log" -w -t 60 start >/dev/null
    echo "postgres.sh: started on 127.0.0.1:$PORT"
fi
PGPASSWORD="$PASSWORD" "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -t 30 >/dev/null
