#!/usr/bin/env bash
# A private PostgreSQL server for the conformance tests (dap initdb / syncdb).
#
#   scripts/postgres_service.sh install   apt-get install postgresql (only if no server binaries exist)
#   scripts/postgres_service.sh start     start (or reuse) the private cluster; print its connection string
#   scripts/postgres_service.sh status    print the connection string if running, else exit 3
#   scripts/postgres_service.sh dsn       same as status
#   scripts/postgres_service.sh stop      stop the private cluster (keeps its data directory)
#   scripts/postgres_service.sh destroy   stop it and delete its data directory
#   scripts/postgres_service.sh checkpoint NAME       copy database dapdb to dapdb_NAME (a benchmark
#                                                     saves its state before a step it may redo)
#   scripts/postgres_service.sh rollback NAME         replace dapdb by a copy of dapdb_NAME
#   scripts/postgres_service.sh drop-checkpoint NAME  drop dapdb_NAME if it exists
#   scripts/postgres_service.sh fresh-database NAME   (re)create an empty database dapdb_NAME owned
#                                                     by dap and print its connection string (a test
#                                                     module's own database, beside the others)
#
# The cluster is our own (initdb + pg_ctl run as the `postgres` OS user), not Debian's `main`
# cluster, so it needs no systemd, leaves the system's clusters alone and listens on a free
# port of 127.0.0.1 only. It has a role `dap` (password $CD2_PG_PASSWORD, default `dap`) owning
# database `dapdb`. Everything is idempotent; it runs as root with no stdin (CI).
#
#   CD2_PG_DIR        where the cluster lives (default <repo>/.cache/postgres; if the postgres
#                     user cannot reach it, /tmp/cd2-postgres-<hash of that path> is used)
#   CD2_PG_PORT       port to use when first started (default: a free port)
#   CD2_PG_PASSWORD   password of role dap (default: dap)
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_password="${CD2_PG_PASSWORD:-dap}"
pg_os_user="postgres"

log() { echo "postgres_service: $*" >&2; }
die() { log "$*"; exit 1; }

server_bin_dir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$dir" && -x "$dir/pg_ctl" ]] || return 1
    echo "$dir"
}

as_pg_user() {
    if [[ "$(id -un)" == "$pg_os_user" ]]; then
        "$@"
    else
        runuser -u "$pg_os_user" -- "$@"
    fi
}

cluster_dir() {
    local wanted="${CD2_PG_DIR:-$repo_dir/.cache/postgres}"
    mkdir -p "$wanted"
    chown "$pg_os_user" "$wanted" 2>/dev/null || true
    if as_pg_user test -w "$wanted" -a -x "$wanted"; then
        echo "$wanted"
        return
    fi
    # The repository may sit below a directory the postgres user cannot traverse.
    local fallback
    fallback="/tmp/cd2-postgres-$(printf '%s' "$wanted" | sha1sum | cut -c1-12)"
    mkdir -p "$fallback"
    chown "$pg_os_user" "$fallback"
    chmod 700 "$fallback"
    echo "$fallback"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_is_free() {
    python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

dsn_for_port() {
    echo "postgresql://dap:${pg_password}@127.0.0.1:$1/dapdb"
}

cmd_install() {
    if server_bin_dir >/dev/null; then
        log "PostgreSQL server binaries already installed in $(server_bin_dir)"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null
    apt-get install -y -qq postgresql </dev/null >&2
    server_bin_dir >/dev/null || die "apt-get installed postgresql but no server binaries were found"
}

# ---- cluster state ---------------------------------------------------------------------------
base=""
data_dir=""
socket_dir=""
port_file=""
bin_dir=""

load_layout() {
    bin_dir="$(server_bin_dir)" || die "PostgreSQL is not installed (run: $0 install)"
    base="$(cluster_dir)"
    data_dir="$base/data"
    socket_dir="$base/socket"
    port_file="$base/port"
}

is_running() {
    [[ -f "$data_dir/PG_VERSION" ]] || return 1
    as_pg_user "$bin_dir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

# Runs SQL from stdin as the superuser, over the cluster's private unix socket.
psql_super() {
    as_pg_user "$bin_dir/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -p "$(cat "$port_file")" -d postgres "$@"
}

init_cluster() {
    log "initialising a private cluster in $data_dir"
    rm -rf "$data_dir"
    mkdir -p "$data_dir" "$socket_dir"
    chown "$pg_os_user" "$data_dir" "$socket_dir"
    chmod 700 "$data_dir"
    as_pg_user "$bin_dir/initdb" -D "$data_dir" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null </dev/null
}

start_server() {
    local port
    if [[ -f "$port_file" ]] && port_is_free "$(cat "$port_file")"; then
        port="$(cat "$port_file")"
    else
        port="${CD2_PG_PORT:-$(free_port)}"
        echo "$port" >"$port_file"
    fi
    log "starting PostgreSQL on 127.0.0.1:$port"
    as_pg_user "$bin_dir/pg_ctl" -D "$data_dir" -l "$base/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$socket_dir" \
        start >/dev/null </dev/null || { tail -n 20 "$base/server.log" >&2; die "pg_ctl start failed"; }
}

ensure_role_and_database() {
    psql_super -v pw="$pg_password" <<'SQL' >/dev/null
SELECT format('CREATE ROLE dap LOGIN PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dap') \gexec
SELECT format('ALTER ROLE dap LOGIN PASSWORD %L', :'pw') \gexec
SELECT 'CREATE DATABASE dapdb OWNER dap ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'dapdb') \gexec
SQL
}

cmd_start() {
    load_layout
    if ! is_running; then
        [[ -f "$data_dir/PG_VERSION" ]] || init_cluster
        start_server
    fi
    ensure_role_and_database
    dsn_for_port "$(cat "$port_file")"
}

cmd_status() {
    load_layout
    is_running || { log "not running"; exit 3; }
    dsn_for_port "$(cat "$port_file")"
}

cmd_stop() {
    load_layout
    if is_running; then
        as_pg_user "$bin_dir/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null </dev/null
        log "stopped"
    else
        log "not running"
    fi
}

# The checkpoint commands work on the running server's databases.
require_running() {
    load_layout
    is_running || die "not running (start it with: $0 start)"
}

checkpoint_name() {
    [[ "${1:-}" =~ ^[a-z0-9_]+$ ]] || die "a checkpoint name is lower-case letters, digits and _ (got '${1:-}')"
    echo "dapdb_$1"
}

# Copies one database to another with a file copy (no WAL for every block); neither may be in use.
copy_database() {
    local from="$1" to="$2"
    psql_super -v from="$from" -v to="$to" <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN (:'from', :'to');
SELECT format('DROP DATABASE IF EXISTS %I', :'to') \gexec
SELECT format('CREATE DATABASE %I OWNER dap TEMPLATE %I STRATEGY FILE_COPY', :'to', :'from') \gexec
SQL
}

cmd_checkpoint() {
    local name
    name="$(checkpoint_name "${1:-}")"
    require_running
    copy_database dapdb "$name"
    log "saved dapdb as $name"
}

cmd_rollback() {
    local name
    name="$(checkpoint_name "${1:-}")"
    require_running
    [[ "$(psql_super -At -v name="$name" <<<"SELECT count(*) FROM pg_database WHERE datname = :'name'")" == 1 ]] ||
        die "no checkpoint $name to roll back to"
    copy_database "$name" dapdb
    log "dapdb is now a copy of $name"
}

cmd_drop_checkpoint() {
    local name
    name="$(checkpoint_name "${1:-}")"
    require_running
    psql_super -v name="$name" <<<"SET client_min_messages = warning;
SELECT format('DROP DATABASE IF EXISTS %I', :'name') \gexec" >/dev/null
}

cmd_fresh_database() {
    local name
    name="$(checkpoint_name "${1:-}")"
    require_running
    psql_super -v name="$name" <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'name';
SELECT format('DROP DATABASE IF EXISTS %I', :'name') \gexec
SELECT format('CREATE DATABASE %I OWNER dap ENCODING ''UTF8'' TEMPLATE template0', :'name') \gexec
SQL
    dsn_for_port "$(cat "$port_file")" | sed "s|/dapdb\$|/$name|"
}

cmd_destroy() {
    cmd_stop
    rm -rf "$base"
    log "removed $base"
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    status | dsn) cmd_status ;;
    stop) cmd_stop ;;
    destroy) cmd_destroy ;;
    checkpoint) cmd_checkpoint "${2:-}" ;;
    rollback) cmd_rollback "${2:-}" ;;
    drop-checkpoint) cmd_drop_checkpoint "${2:-}" ;;
    fresh-database) cmd_fresh_database "${2:-}" ;;
    *) die "usage: $0 install|start|status|stop|destroy|checkpoint NAME|rollback NAME|drop-checkpoint NAME|fresh-database NAME" ;;
esac
