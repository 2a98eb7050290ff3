#!/usr/bin/env bash
# A real PostgreSQL streaming replica of the local cluster, for the database router's tests,
# the benchmarks and trying the "primary + replica" shape of docs/scaling.md on one machine.
#
#   scripts/pg_replica.sh start    # create (pg_basebackup -R) if missing, start, wait until it streams
#   scripts/pg_replica.sh stop     # stop it (the directory stays; start again catches up)
#   scripts/pg_replica.sh status   # running? streaming? replay lag in seconds
#   scripts/pg_replica.sh remove   # stop it and delete its directory
#
# Idempotent: `start` on a running, streaming replica only reports it. A replica that cannot
# catch up any more (stopped so long that the primary recycled the WAL it needs) is made
# anew from a fresh base backup. Run as root (it switches to the postgres user) or as postgres.
#
# What it changes on the primary, only when missing: one pg_hba.conf line that lets the
# postgres user open a replication connection from 127.0.0.1 without a password
# (`host replication postgres 127.0.0.1/32 trust`, the same trust the primary already gives
# normal loopback connections on this kind of machine), followed by a reload.
# wal_level=replica and max_wal_senders>0 are PostgreSQL's defaults and are only checked.
#
# Environment (defaults in brackets):
#   PRIMARY_HOST [127.0.0.1]  PRIMARY_PORT [5432]  PG_SUPERUSER [postgres]
#   REPLICA_PORT [5433]       REPLICA_DIR [/var/lib/postgresql/<version>/dikom-replica-<port>]
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PG_SUPERUSER=${PG_SUPERUSER:-postgres}
REPLICA_PORT=${REPLICA_PORT:-5433}
OS_USER=postgres

as_postgres() {
    if [ "$(id -un)" = "$OS_USER" ]; then
        "$@"
    else
        runuser -u "$OS_USER" -- "$@"
    fi
}

primary_sql() { as_postgres psql -X -q -At -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_SUPERUSER" -d postgres -c "$1"; }
replica_sql() { as_postgres psql -X -q -At -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PG_SUPERUSER" -d postgres -c "$1"; }

VERSION=$(primary_sql "SELECT current_setting('server_version_num')::int / 10000") || {
    echo "pg_replica: the primary at ${PRIMARY_HOST}:${PRIMARY_PORT} is not reachable" >&2
    exit 1
}
BIN=/usr/lib/postgresql/${VERSION}/bin
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/${VERSION}/dikom-replica-${REPLICA_PORT}}
LOG="${REPLICA_DIR}/server.log"

running() { as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" status >/dev/null 2>&1; }
streaming() { [ "$(replica_sql "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ]; }

ensure_primary_allows_replication() {
    local level senders rules hba
    level=$(primary_sql "SHOW wal_level")
    senders=$(primary_sql "SHOW max_wal_senders")
    if [ "$level" = minimal ] || [ "$senders" = 0 ]; then
        echo "pg_replica: the primary has wal_level=${level}, max_wal_senders=${senders}; streaming needs" \
            "wal_level=replica (or logical) and max_wal_senders>0, which need a restart to change" >&2
        exit 1
    fi
    rules=$(primary_sql "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)
        AND (user_name && ARRAY['all', '${PG_SUPERUSER}']) AND type = 'host' AND address = '127.0.0.1'
        AND auth_method = 'trust'")
    if [ "$rules" = 0 ]; then
        hba=$(primary_sql "SHOW hba_file")
        echo "pg_replica: adding a replication line for 127.0.0.1 to ${hba} and reloading"
        printf '\n# Added by dikom scripts/pg_replica.sh: the local streaming replica (loopback only).\nhost    replication     %s        127.0.0.1/32            trust\n' \
            "$PG_SUPERUSER" >>"$hba"
        primary_sql "SELECT pg_reload_conf()" >/dev/null
        sleep 1
    fi
}

create() {
    echo "pg_replica: base backup of ${PRIMARY_HOST}:${PRIMARY_PORT} into ${REPLICA_DIR}"
    rm -rf "$REPLICA_DIR"
    install -d -o "$OS_USER" -g "$OS_USER" -m 700 "$REPLICA_DIR"
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
    as_postgres "$BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_SUPERUSER" \
        -D "$REPLICA_DIR" -R -X stream -c fast --no-password
    # Debian keeps the configuration outside the data directory, so the copy has none: write
    # one. A hot standby needs these limits at least as high as the primary's.
    local limits
    limits=$(primary_sql "SELECT string_agg(name || ' = ' || setting, E'\n') FROM pg_settings WHERE name IN
        ('max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions',
         'max_locks_per_transaction')")
    as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<EOF
# The dikom test replica (scripts/pg_replica.sh); replication settings are in postgresql.auto.conf.
port = ${REPLICA_PORT}
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
hot_standby = on
# Long dashboard queries are not cancelled by vacuum on the primary.
hot_standby_feedback = on
${limits}
EOF
    as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<EOF
local   all     all                     trust
host    all     all     127.0.0.1/32    trust
EOF
}

# A replica that was stopped (or paused) while the primary kept writing replays that WAL before it accepts
# connections: on a loaded machine that took over a minute, so pg_ctl waits up to five.
start_server() {
    as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -l "$LOG" -w -t 300 start >/dev/null
}

wait_streaming() { # wait_streaming SECONDS
    local deadline=$(($(date +%s) + $1))
    until streaming; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 1
    done
}

start() {
    ensure_primary_allows_replication
    if [ ! -f "$REPLICA_DIR/standby.signal" ]; then
        create
    fi
    running || start_server
    if ! wait_streaming 60; then
        echo "pg_replica: the replica does not stream (see ${LOG}); making it anew from a fresh base backup"
        as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null 2>&1 || true
        create
        start_server
        wait_streaming 60 || {
            echo "pg_replica: the new replica does not stream either; see ${LOG}" >&2
            exit 1
        }
    fi
    echo "pg_replica: streaming replica of ${PRIMARY_HOST}:${PRIMARY_PORT} at 127.0.0.1:${REPLICA_PORT} (${REPLICA_DIR})"
    echo "pg_replica: e.g. DIKOM_DATABASE_REPLICA_URLS=postgres://${PG_SUPERUSER}@127.0.0.1:${REPLICA_PORT}/dikom"
}

stop() {
    if [ -d "$REPLICA_DIR" ] && running; then
        as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null
        echo "pg_replica: stopped the replica at port ${REPLICA_PORT}"
    else
        echo "pg_replica: no replica running at ${REPLICA_DIR}"
    fi
}

status() {
    if [ ! -d "$REPLICA_DIR" ]; then
        echo "pg_replica: no replica at ${REPLICA_DIR} (scripts/pg_replica.sh start)"
        return 3
    fi
    if ! running; then
        echo "pg_replica: the replica at ${REPLICA_DIR} is stopped"
        return 3
    fi
    replica_sql "SELECT 'pg_replica: in recovery=' || pg_is_in_recovery()
        || ', wal receiver=' || coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')
        || ', replay lag=' || CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN '0'
           ELSE coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::text, '?') END || ' s'"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
status) status ;;
remove)
    stop
    rm -rf "$REPLICA_DIR"
    echo "pg_replica: removed ${REPLICA_DIR}"
    ;;
*)
    echo "usage: $0 start|stop|status|remove" >&2
    exit 2
    ;;
esac
