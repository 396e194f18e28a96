#!/usr/bin/env bash
# Start, stop or describe the servers the live-source tests use: nats-server (JetStream) and
# PostgreSQL, both on loopback, with their state under .services/. Everything PostgreSQL's own
# processes write (data, socket, log) lives in one directory the postgres user can write:
# .services/pg when it can reach the checkout, else a private /tmp/tracer-pg.* directory that
# `stop` removes. Installs the servers, protoc (which tests use to compile .proto files) and
# chromium (which opens the evidence report in a test) with apt-get when missing.
#
#   bash scripts/services.sh start   # install if missing, start, wait, print export lines
#   bash scripts/services.sh env     # print the export lines of running servers
#   bash scripts/services.sh stop    # stop the servers this script started
#
# `eval "$(bash scripts/services.sh start)"` sets TRACER_TEST_NATS_URL and TRACER_TEST_PG_DSN.
# Only the export lines go to stdout; progress goes to stderr. The lines are also written to
# .services/env. Set TRACER_SERVICES_DIR to keep the state elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${TRACER_SERVICES_DIR:-$ROOT/.services}"
PG_BIN="${TRACER_PG_BIN:-/usr/lib/postgresql/15/bin}"
ENV_FILE="$DIR/env"
WAIT_SECONDS=30

say() { echo "services: $*" >&2; }
die() { say "$*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {  # the first port from $1 on that nothing listens on
    local port=$1
    while port_open "$port"; do port=$((port + 1)); done
    echo "$port"
}

as_pg() {  # PostgreSQL refuses to run as root: run its tools as the postgres user then
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_missing() {
    local packages=()
    command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || packages+=(nats-server)
    [ -x "$PG_BIN/pg_ctl" ] || packages+=(postgresql)
    command -v protoc >/dev/null 2>&1 || packages+=(protobuf-compiler)  # .proto files in tests
    command -v chromium >/dev/null 2>&1 || packages+=(chromium)  # the evidence report's browser test
    [ ${#packages[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${packages[*]}: install them (apt-get install ${packages[*]})"
    say "installing ${packages[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >&2
    [ -x "$PG_BIN/pg_ctl" ] || PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
}

nats_bin() { command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server; }

nats_ready() {  # JetStream answers its health check
    curl -fsS "http://127.0.0.1:$1/healthz?js-enabled-only=true" >/dev/null 2>&1
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres; }

wait_for() {  # wait_for WHAT COMMAND...: poll until COMMAND succeeds or WAIT_SECONDS pass
    local what=$1; shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || die "$what did not become ready in ${WAIT_SECONDS}s (logs in $DIR)"
        sleep 0.1
    done
}

pg_home() {  # where PostgreSQL writes: data/ and pg.log, in a directory the postgres user owns
    if [ -f "$DIR/pg.path" ] && [ -d "$(cat "$DIR/pg.path")" ]; then cat "$DIR/pg.path"; return; fi
    local dir="$DIR/pg"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
            rmdir "$dir"
            dir="$(mktemp -d /tmp/tracer-pg.XXXXXX)"  # the checkout is closed to postgres
            chown postgres: "$dir"
        fi
    fi
    echo "$dir" > "$DIR/pg.path"
    echo "$dir"
}

start_nats() {
    local port mon
    if [ -f "$DIR/nats.port" ] && nats_ready "$(cat "$DIR/nats.mon")"; then
        port=$(cat "$DIR/nats.port")
    else
        port=$(free_port 14222)
        mon=$(free_port $((port + 1000)))
        mkdir -p "$DIR/nats"
        say "starting nats-server -js on 127.0.0.1:$port"
        setsid "$(nats_bin)" -js -a 127.0.0.1 -p "$port" -m "$mon" -sd "$DIR/nats" \
            -P "$DIR/nats.pid" -l "$DIR/nats.log" </dev/null >/dev/null 2>&1 &
        echo "$port" > "$DIR/nats.port"
        echo "$mon" > "$DIR/nats.mon"
        wait_for "nats-server" nats_ready "$mon"
    fi
    echo "export TRACER_TEST_NATS_URL=nats://127.0.0.1:$port"
}

start_pg() {
    local home data port
    home=$(pg_home)
    data="$home/data"
    if [ -f "$DIR/pg.port" ] && pg_ready "$(cat "$DIR/pg.port")"; then
        port=$(cat "$DIR/pg.port")
    else
        port=$(free_port 15432)
        if [ ! -f "$data/PG_VERSION" ]; then
            say "initdb $data"
            as_pg "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
                || die "initdb failed: see $DIR/initdb.log"
        fi
        say "starting PostgreSQL on 127.0.0.1:$port"
        as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$home/pg.log" -w -t "$WAIT_SECONDS" start \
            -o "-h 127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            >&2 || die "PostgreSQL did not start: $(tail -n 3 "$home/pg.log" 2>/dev/null | tr '\n' ' ')(log: $home/pg.log)"
        echo "$port" > "$DIR/pg.port"
        wait_for "PostgreSQL" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres
        as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres tracer_test 2>/dev/null || true
    fi
    echo "export TRACER_TEST_PG_DSN=postgresql://postgres@127.0.0.1:$port/tracer_test"
}

stop_all() {
    if [ -f "$DIR/nats.pid" ]; then
        local pid
        pid=$(cat "$DIR/nats.pid")
        if kill "$pid" 2>/dev/null; then
            say "stopping nats-server ($pid)"
            local deadline=$((SECONDS + WAIT_SECONDS))
            while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        fi
        rm -f "$DIR/nats.pid" "$DIR/nats.port" "$DIR/nats.mon"
    fi
    if [ -f "$DIR/pg.path" ]; then
        local home
        home=$(cat "$DIR/pg.path")
        if [ -f "$home/data/postmaster.pid" ]; then
            say "stopping PostgreSQL"
            as_pg "$PG_BIN/pg_ctl" -D "$home/data" -m fast -w stop >&2 || true
        fi
        case "$home" in  # what was made outside the checkout goes; .services/pg stays for reuse
            /tmp/tracer-pg.*) rm -rf "$home"; rm -f "$DIR/pg.path" ;;
        esac
    fi
    rm -f "$DIR/pg.port" "$ENV_FILE"
}

case "${1:-}" in
    start)
        mkdir -p "$DIR"
        install_missing
        nats_line="$(start_nats)"
        pg_line="$(start_pg)"
        lines="$nats_line"$'\n'"$pg_line"
        echo "$lines" > "$ENV_FILE"
        echo "$lines"
        ;;
    env)
        [ -f "$ENV_FILE" ] || die "not started (bash scripts/services.sh start)"
        cat "$ENV_FILE"
        ;;
    stop)
        stop_all
        ;;
    *)
        echo "usage: bash scripts/services.sh start|stop|env" >&2
        exit 2
        ;;
esac
