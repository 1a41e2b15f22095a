#!/usr/bin/env bash
# Hostile clients (issue 8, items 7-12) against h2push and, where the attack applies, h2o and
# nginx from Debian: per attack and server, how many other clients were served during and after
# it, the server's memory, time to answer, and bytes lost. Then runs bench/hostile-pages.sh and
# bench/hostile-paths.sh (items 1-6, 13) when they exist.
#
#   bench/hostile.sh [--quick] [ATTACK...]
#
# ATTACK is any of: idle drip sse buffers shutdown cutlog logspam (default: all, in that order).
# --quick uses smaller sizes and shorter holds, for a sanity run of a few minutes; the default
# sizes are the issue's and take about 15 minutes.
#
# Each attack gets a fresh server on a loopback port (the Debian services are stopped if they
# run), all serving one temp root with the same self-signed certificate. The attacks are the
# subcommands of examples/hostile (see `hostile --help`); this script starts and stops the
# servers, samples their resident memory from /proc every 0.2 s, and reads their logs.
#
# Environment:
#   HOSTILE_SERVERS    servers, in order                (default: "h2push h2o nginx")
#   HOSTILE_PORT_BASE  first loopback port              (default: 18460; one per server)
#   HOSTILE_NO_BUILD   set to 1 to skip `cargo build`   (default: build release h2push + example)
#   H2PUSH_BIN         h2push binary                    (default: target/release/h2push)
#
# Output: the table on stdout, also in bench/out/hostile-<date>.txt; every server's logs and the
# attack clients' output in bench/out/hostile-<date>.d/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
H2PUSH_BIN=${H2PUSH_BIN:-$TARGET/release/h2push}
HOSTILE_BIN=$TARGET/release/examples/hostile
SERVERS=${HOSTILE_SERVERS:-"h2push h2o nginx"}
PORT_BASE=${HOSTILE_PORT_BASE:-18460}
ALL_ATTACKS="idle drip sse buffers shutdown cutlog logspam"

die() { echo "hostile.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

QUICK=""
ATTACKS=""
for arg in "$@"; do
    case $arg in
        --quick) QUICK=--quick ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) [[ " $ALL_ATTACKS " == *" $arg "* ]] || die "unknown attack '$arg' (known: $ALL_ATTACKS)"
           ATTACKS="$ATTACKS $arg" ;;
    esac
done
ATTACKS=${ATTACKS:-$ALL_ATTACKS}

# Sizes: the issue's, or --quick.
if [[ -z $QUICK ]]; then
    IDLE_CONNS=1500 IDLE_HOLD=30 SSE_CONNS=2000 SSE_HOLD=20
    BUF_CONNS=50 BUF_STREAMS=100 BUF_HOLD=20
    DL_CLIENTS=50 DL_RATE=1 SPAM_STREAMS=500 SPAM_SECS=20
else
    IDLE_CONNS=1100 IDLE_HOLD=12 SSE_CONNS=1100 SSE_HOLD=8
    BUF_CONNS=10 BUF_STREAMS=100 BUF_HOLD=8
    DL_CLIENTS=10 DL_RATE=8 SPAM_STREAMS=100 SPAM_SECS=8
fi
BIG_MIB=100            # the big file: 100 MiB, sparse
SHUTDOWN_GRACE=120s    # h2push --shutdown-grace for the shutdown attack
SHUTDOWN_WAIT=180      # seconds the shutdown attack waits after the signal

# ---------------------------------------------------------------- tools and build
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install it with: apt-get install -y $2"; }
need openssl openssl
need curl curl
need pgrep procps
need ss iproute2
need truncate coreutils
for s in $SERVERS; do
    case $s in
        h2o) need h2o h2o ;;
        nginx) need nginx nginx-light ;;
        h2push) ;;
        *) die "unknown server '$s' in HOSTILE_SERVERS (known: h2push h2o nginx)" ;;
    esac
done
if [[ ${HOSTILE_NO_BUILD:-0} != 1 ]]; then
    log "building h2push and examples/hostile (release)"
    (cd "$REPO_ROOT" && cargo build --release --quiet --bin h2push --example hostile)
fi
[[ -x $H2PUSH_BIN && -x $HOSTILE_BIN ]] || die "missing $H2PUSH_BIN or $HOSTILE_BIN: cargo build --release --bin h2push --example hostile"

# The Debian packages start their own nginx and h2o; they would take CPU and memory.
for svc in nginx h2o; do
    if command -v service >/dev/null && service "$svc" status >/dev/null 2>&1; then
        log "stopping the system's $svc service"
        service "$svc" stop >/dev/null 2>&1 || echo "warning: could not stop the $svc service" >&2
    fi
done

# Thousands of connections: raise the descriptor limit for the servers and the clients.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 8192)) || echo "warning: only $(ulimit -n) file descriptors; the floods need about 4,000" >&2

# ---------------------------------------------------------------- root, certificate, servers
WORK=$(mktemp -d /tmp/h2push-hostile.XXXXXX)
declare -A PID=()
SAMPLER=""

stop_server() { # NAME: SIGTERM, up to 15 s, then SIGKILL (also whatever children are left)
    local name=$1 pid=${PID[$1]:-} kids i
    [[ -n $pid ]] || return 0
    kids=$(pgrep -P "$pid" || true)
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
        echo "warning: $name (pid $pid) did not exit 15 s after SIGTERM; killing it" >&2
        # What its threads were doing, for whoever looks into it.
        { grep -E '^(State|Threads)' "/proc/$pid/status"
          for i in /proc/"$pid"/task/*; do
              echo "$(cat "$i/comm" 2>/dev/null) $(awk '{print $3}' "$i/stat" 2>/dev/null) $(cat "$i/wchan" 2>/dev/null)"
          done | sort | uniq -c; } >"$RAW/$name-stuck-$(date +%s).txt" 2>&1 || true
        NOTE="${NOTE}did not exit 15 s after SIGTERM (killed); "
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for i in $kids; do kill -KILL "$i" 2>/dev/null || true; done
    unset "PID[$name]"
}

cleanup() {
    local name
    [[ -z $SAMPLER ]] || kill "$SAMPLER" 2>/dev/null || true
    for name in "${!PID[@]}"; do stop_server "$name"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ROOT=$WORK/www
mkdir -p "$ROOT"
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 >"$ROOT/small.txt"
truncate -s "${BIG_MIB}M" "$ROOT/big.bin" "$ROOT/abort.bin"
chmod 755 "$WORK" "$ROOT" # h2o and nginx workers run as nobody
chmod 644 "$ROOT"/*
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log" ||
    die "openssl could not make a certificate: $(cat "$WORK/openssl.log")"

# start_NAME PORT LOGDIR [EXTRA FLAGS]: in the background; PID[NAME] is the server's own pid.
start_h2push() {
    local port=$1 dir=$2
    shift 2
    NO_COLOR=1 RUST_LOG=info "$H2PUSH_BIN" serve "$ROOT" --listen "127.0.0.1:$port" \
        --cert "$WORK/cert.pem" --key "$WORK/key.pem" "$@" >"$dir/stderr.log" 2>&1 &
    PID[h2push]=$!
}

start_h2o() { # defaults, except logs: h2o's max-connections is 1024 like h2push's
    local port=$1 dir=$2
    cat >"$dir/h2o.conf" <<EOF
error-log: $dir/error.log
access-log:
  path: $dir/access.log
  format: "%U status=%s bytes=%b"
listen:
  host: 127.0.0.1
  port: $port
  ssl:
    certificate-file: $WORK/cert.pem
    key-file: $WORK/key.pem
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        file.dir: $ROOT
EOF
    h2o -c "$dir/h2o.conf" >"$dir/stderr.log" 2>&1 &
    PID[h2o]=$!
}

start_nginx() { # one worker with 1,024 connections: the same budget as h2push and h2o
    local port=$1 dir=$2 version listen http2
    version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    if [[ $(printf '%s\n' 1.25.1 "$version" | sort -V | head -n1) == 1.25.1 ]]; then
        listen="listen 127.0.0.1:$port ssl;" http2="http2 on;"
    else
        listen="listen 127.0.0.1:$port ssl http2;" http2=""
    fi
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 8192;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 1024; }
http {
    log_format hostile '\$uri status=\$status bytes=\$body_bytes_sent';
    access_log $dir/access.log hostile;
    default_type application/octet-stream;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        $listen
        $http2
        server_name localhost;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $ROOT;
    }
}
EOF
    nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/stderr.log" 2>&1 &
    PID[nginx]=$!
}

wait_ready() { # NAME PORT: listening and serving /small.txt over h2 (prints why not)
    local name=$1 port=$2 i
    for ((i = 0; i < 100; i++)); do
        kill -0 "${PID[$name]}" 2>/dev/null || { echo "exited at startup"; return 1; }
        if [[ $(curl -sk --http2 --max-time 3 -o /dev/null -w '%{http_version} %{http_code}' \
            --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/small.txt" 2>/dev/null) == "2 200" ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "no h2 200 for /small.txt within 10 s"
    return 1
}

rss_kib() { # PID: VmRSS summed over the server and its children, KiB
    local p t=0 v
    for p in "$1" $(pgrep -P "$1" || true); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

sample_rss() { # PID OUTFILE: the peak of rss_kib, every 0.2 s, until killed or the server exits
    local peak=0 v
    while kill -0 "$1" 2>/dev/null; do
        v=$(rss_kib "$1")
        ((v <= peak)) || { peak=$v; echo "$peak" >"$2"; }
        sleep 0.2
    done
}

mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

# ---------------------------------------------------------------- logs
access_lines() { # SERVER DIR URLPATH: the server's access-log lines for URLPATH, as "status bytes"
    case $1 in
        h2push) grep -a 'h2push::access' "$2/stderr.log" | grep -a " path=$3 " |
            sed -n 's/.* status=\([0-9]*\) bytes=\([0-9]*\).*/\1 \2/p' ;;
        *) grep -a "^$3 status=" "$2/access.log" 2>/dev/null |
            sed -n 's/.* status=\([0-9]*\) bytes=\([0-9]*\).*/\1 \2/p' ;;
    esac
}

raw_log_lines() { # SERVER DIR URLPATH: what the server logged about URLPATH, verbatim
    case $1 in
        h2push) grep -a -- "$3" "$2/stderr.log" | sed 's/^[^ ]* *//' ;;
        *) grep -a -h -- "$3" "$2/access.log" "$2/error.log" 2>/dev/null | sed 's/^[0-9\/]* [0-9:]* //' ;;
    esac
}

# ---------------------------------------------------------------- one attack on one server
STAMP=$(date +%Y%m%d-%H%M%S)
OUT_DIR="$BENCH_DIR/out"
RAW="$OUT_DIR/hostile-$STAMP.d"
mkdir -p "$RAW"
ROWS=()

applies() { # ATTACK SERVER: the attack needs h2push's change feed
    case $1 in sse | logspam) [[ $2 == h2push ]] ;; *) return 0 ;; esac
}

label() {
    case $1 in
        idle) echo "7 idle TCP" ;; drip) echo "7 drip 1B/5s" ;; sse) echo "8 SSE slots" ;;
        buffers) echo "9 send bufs" ;; shutdown) echo "10 shutdown" ;; cutlog) echo "11 cut log" ;;
        logspam) echo "12 log spam" ;;
    esac
}

row() { # ATTACK SERVER DURING AFTER RSS ANSWER LOST NOTE
    ROWS+=("$(printf '%-13s %-7s %-7s %-6s %-11s %-11s %-9s %s' "$(label "$1")" "$2" "$3" "$4" "$5" "$6" "$7" "$8")")
    echo "${ROWS[-1]}" >&2
}

run_one() { # ATTACK SERVER PORT
    local attack=$1 s=$2 port=$3 dir="$RAW/$1-$2" why result before peak stderr0 n
    local -a args extra=()
    NOTE=""
    if ! applies "$attack" "$s"; then
        row "$attack" "$s" N/A N/A - - - "no change feed (event streams) in $s"
        return
    fi
    mkdir -p "$dir"
    rm -f "$ROOT/shrink.bin" && truncate -s "${BIG_MIB}M" "$ROOT/shrink.bin" && chmod 644 "$ROOT/shrink.bin"
    rm -rf "$ROOT/churn"
    [[ $attack != shutdown || $s != h2push ]] || extra=(--shutdown-grace "$SHUTDOWN_GRACE")
    log "$(label "$attack") vs $s on 127.0.0.1:$port"
    "start_$s" "$port" "$dir" "${extra[@]}"
    if ! why=$(wait_ready "$s" "$port"); then
        row "$attack" "$s" - - - - - "server not ready: $why"
        stop_server "$s"
        return
    fi
    args=(--addr "127.0.0.1:$port")
    case $attack in
        idle) args+=(idle-flood --conns "$IDLE_CONNS" --hold "$IDLE_HOLD") ;;
        drip) args+=(idle-flood --conns "$IDLE_CONNS" --hold "$IDLE_HOLD" --drip 5) ;;
        sse) args+=(sse-hold --conns "$SSE_CONNS" --hold "$SSE_HOLD") ;;
        buffers) args+=(send-buffers --conns "$BUF_CONNS" --streams "$BUF_STREAMS" --hold "$BUF_HOLD") ;;
        shutdown)
            local sig=TERM
            [[ $s != nginx ]] || sig=QUIT # nginx's graceful stop; SIGTERM is its fast one
            args+=(shutdown --clients "$DL_CLIENTS" --rate-mib "$DL_RATE" --pid "${PID[$s]}"
                --signal "$sig" --max-wait "$SHUTDOWN_WAIT") ;;
        cutlog) args+=(cut-log --shrink-file "$ROOT/shrink.bin") ;;
        logspam) args+=(log-spam --streams "$SPAM_STREAMS" --churn "$SPAM_SECS" --churn-dir "$ROOT/churn") ;;
    esac
    before=$(rss_kib "${PID[$s]}")
    echo "$before" >"$dir/rss.peak"
    stderr0=$(stat -c %s "$dir/stderr.log")
    sample_rss "${PID[$s]}" "$dir/rss.peak" &
    SAMPLER=$!
    "$HOSTILE_BIN" "${args[@]}" >"$dir/client.out" 2>"$dir/client.err" || true
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
    peak=$(cat "$dir/rss.peak")
    result=$(grep '^RESULT ' "$dir/client.out" || true)
    [[ -n $result ]] || NOTE="${NOTE}attack client failed: $(tail -n 2 "$dir/client.err" | tr '\n' ' '); "
    if [[ $attack == shutdown ]]; then
        stop_server "$s" # it was signalled; make sure it is gone before reading its log
    fi
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }

    case $attack in
        shutdown) # what the access log claims against what the clients got
            local lines full claimed delivered
            lines=$(access_lines "$s" "$dir" /big.bin | wc -l)
            full=$(access_lines "$s" "$dir" /big.bin | awk -v b=$((BIG_MIB << 20)) '$2 == b' | wc -l)
            claimed=$(access_lines "$s" "$dir" /big.bin | awk '{t += $2} END {printf "%.0f", t}')
            delivered=$(field delivered)
            NOTE="${NOTE}access log: $lines lines, $full claim all $((BIG_MIB << 20)) bytes, claimed $(mib $((claimed / 1024))) MiB vs delivered $(mib $((${delivered:-0} / 1024))) MiB; "
            ;;
        cutlog)
            NOTE="${NOTE}logged: [$(raw_log_lines "$s" "$dir" abort.bin | tail -n 3 | paste -sd'|')] [$(raw_log_lines "$s" "$dir" shrink.bin | tail -n 3 | paste -sd'|')]; "
            ;;
        logspam)
            n=$(tail -c +$((stderr0 + 1)) "$dir/stderr.log" | grep -ac ' WARN ' || true)
            NOTE="${NOTE}stderr during the attack: $n WARN lines, $(($(stat -c %s "$dir/stderr.log") - stderr0)) bytes; "
            ;;
    esac
    [[ $attack == shutdown ]] || stop_server "$s"
    row "$attack" "$s" "$(field during)" "$(field after)" "$(mib "$before")->$(mib "$peak")" \
        "$(field answer)" "$(field lost)" "$NOTE$(sed -n 's/.* note=//p' <<<"$result")"
}

# ---------------------------------------------------------------- run
HEADER=$(printf '%-13s %-7s %-7s %-6s %-11s %-11s %-9s %s' attack server during after RSS-MiB answer lost notes)
echo "$HEADER" >&2
for attack in $ATTACKS; do
    port=$PORT_BASE
    for s in $SERVERS; do
        ! ss -Htln "sport = :$port" | grep -q . || die "port $port is in use; set HOSTILE_PORT_BASE"
        run_one "$attack" "$s" "$port"
        port=$((port + 1))
    done
done

OUT="$OUT_DIR/hostile-$STAMP.txt"
{
    echo "h2push hostile clients (issue 8), $(date -Iseconds)${QUICK:+, --quick}"
    echo "$(nproc) cores, $(uname -r); h2push $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') ($H2PUSH_BIN);" \
        "$(h2o --version 2>/dev/null | head -n1); $(nginx -v 2>&1)"
    echo
    echo "$HEADER"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "during/after: probes served during the attack / after its clients left (a probe is a new TLS"
    echo "  h2 connection that must get all of /small.txt within 3 s); shutdown: downloads that got every byte."
    echo "RSS-MiB: resident memory of the server (all its processes) before the attack -> peak during it."
    echo "answer: median ms of the served probes during/after; shutdown: signal to process exit."
    echo "lost: bytes a client should have had and did not (shutdown: all downloads; cut log: bytes of the
  truncated file that never reached the client)."
    echo "logs and client output: $RAW"
} | tee "$OUT"

# Items 1-6 and 13 have their own scripts.
for extra in hostile-pages.sh hostile-paths.sh; do
    if [[ -x $BENCH_DIR/$extra ]]; then
        echo
        log "bench/$extra $QUICK"
        "$BENCH_DIR/$extra" $QUICK || echo "bench/$extra failed (status $?)"
    fi
done
