#!/usr/bin/env bash
# Throughput of h2push next to h2o, nginx and nghttpd: small-file requests over TLS HTTP/2.
#
# Every server gets one worker (thread or process) pinned to one core (BENCH_SERVER_CPU, default 0),
# the same ECDSA P-256 certificate and the same 1 KiB file; h2load runs on another core
# (BENCH_CLIENT_CPU, default 1) with 32 connections x 10 concurrent streams: a warm-up run, then a
# measured run. A server that fails or short-changes any request is reported as FAILED, not fast.
#
# Environment:
#   BENCH_PROTO        h2, or h1 for HTTP/1.1 (h2load --h1; nghttpd is left out: it has none)
#   BENCH_SERVERS      servers to run, in order      (default: "h2o nginx nghttpd h2push h2push-log";
#                      with BENCH_PROTO=h1 "h2o nginx h2push"). h2push-log is h2push with its default
#                      access log on (RUST_LOG=info: pretty lines to stderr, here a file); the report
#                      gives its ratio to h2push (issue 13 asks for at most 10 % less)
#   BENCH_SECONDS      length of the measured run    (default: 10)
#   BENCH_WARMUP       length of the warm-up run     (default: 3)
#   BENCH_CLIENTS      h2load -c                     (default: 32)
#   BENCH_STREAMS      h2load -m                     (default: 10)
#   BENCH_PORT_BASE    first loopback port to use    (default: 18440; one port per server)
#   BENCH_SERVER_CPU   core the servers are pinned to (default: 0)
#   BENCH_CLIENT_CPU   core h2load is pinned to      (default: 1)
#   H2PUSH_BIN         h2push binary (default: target/release/h2push under the repository root)
#   BENCH_H2PUSH_ACCESS_LOG  1: h2push logs every request (RUST_LOG=info) (default: 0, RUST_LOG=warn)
#   BENCH_H2PUSH_ARGS  extra h2push flags, e.g. "--log-format json" or "--access-log FILE"
#
# Output: a table on stdout, also written to bench/out/throughput-<date>.txt; the raw h2load
# output and the server logs of the run are kept in bench/out/throughput-<date>.d/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)

PROTO=${BENCH_PROTO:-h2}
case $PROTO in
    h2) H2LOAD_PROTO=() PROTO_LABEL="TLS h2" DEFAULT_SERVERS="h2o nginx nghttpd h2push h2push-log" ;;
    h1) H2LOAD_PROTO=(--h1) PROTO_LABEL="TLS http/1.1 (pipelined -m deep)" DEFAULT_SERVERS="h2o nginx h2push" ;;
    *) echo "throughput.sh: BENCH_PROTO must be h2 or h1" >&2; exit 2 ;;
esac
SERVERS=${BENCH_SERVERS:-$DEFAULT_SERVERS}
SECONDS_MEASURED=${BENCH_SECONDS:-10}
SECONDS_WARMUP=${BENCH_WARMUP:-3}
CLIENTS=${BENCH_CLIENTS:-32}
STREAMS=${BENCH_STREAMS:-10}
PORT_BASE=${BENCH_PORT_BASE:-18440}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
H2PUSH_BIN=${H2PUSH_BIN:-$REPO_ROOT/target/release/h2push}

FILE=1k.bin
FILE_SIZE=1024

die() { echo "throughput.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- tools
# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
SERVER_PIN="taskset -c $SERVER_CPU"
need h2load nghttp2-client
need nghttp nghttp2-client
need openssl openssl
need taskset util-linux
need pgrep procps
need ss iproute2
need_servers $SERVERS
cores=$(nproc)
((SERVER_CPU < cores && CLIENT_CPU < cores)) ||
    die "need cores $SERVER_CPU (servers) and $CLIENT_CPU (h2load), this machine has $cores; set BENCH_SERVER_CPU/BENCH_CLIENT_CPU"
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || echo "warning: servers and h2load share core $SERVER_CPU" >&2

# ---------------------------------------------------------------- cleanup
work_dir h2push-bench
cleanup_more() { [[ -z ${H2LOAD_PID:-} ]] || kill -TERM "$H2LOAD_PID" 2>/dev/null || true; }

# ---------------------------------------------------------------- docroot and certificate
mkdir -p "$WORK/www"
head -c "$FILE_SIZE" /dev/urandom >"$WORK/www/$FILE"
# h2o and nginx drop root privileges to nobody: let them read the docroot.
chmod 755 "$WORK" "$WORK/www"
chmod 644 "$WORK/www/$FILE"

make_cert

# ---------------------------------------------------------------- checks
# check_serves_file prints what went wrong and returns 1: the server is then reported as failed
# and the run goes on with the next one (as for wait_listening, in lib/servers.sh).
check_serves_file() { # NAME PORT: status 200 over h2 (nghttp speaks nothing else) with the exact file
    local name=$1 url="https://127.0.0.1:$2/$FILE" status
    if ! nghttp -nv --timeout=5 "$url" >"$WORK/$name.nghttp" 2>&1; then
        echo "nghttp -nv $url failed: $(tail -n 3 "$WORK/$name.nghttp" | tr '\n' ' ')"
        return 1
    fi
    status=$(sed -n 's/^\[.*recv (stream_id=[0-9]*) :status: \([0-9]*\)$/\1/p' "$WORK/$name.nghttp" | head -n1)
    if [[ $status != 200 ]]; then
        echo "status ${status:-none} for $url"
        return 1
    fi
    nghttp --timeout=5 "$url" >"$WORK/$name.body" 2>/dev/null || true
    if ! cmp -s "$WORK/$name.body" "$WORK/www/$FILE"; then
        echo "the body of $url is not the file ($(stat -c %s "$WORK/$name.body") bytes)"
        return 1
    fi
}

hwm_kib() { # PID: peak resident set size (VmHWM) in KiB
    awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true
}

rss_kib() { # NAME PID: "serving all": VmHWM of the process that serves requests (nginx: its
    # worker), and summed over the server's processes (nginx master; h2o's key process and its
    # crash-report helper)
    local serving=$2 all=0 p kib
    [[ $1 != nginx ]] || serving=$(pgrep -P "$2" | head -n1)
    for p in "$2" $(pgrep -P "$2" || true); do
        kib=$(hwm_kib "$p")
        all=$((all + ${kib:-0}))
    done
    kib=$(hwm_kib "$serving")
    echo "${kib:-0} $all"
}

procs_threads() { # PID: "processes/threads" of the server (tokio's blocking pool shows up here)
    local p procs=0 threads=0
    for p in "$1" $(pgrep -P "$1" || true); do
        procs=$((procs + 1))
        threads=$((threads + $(awk '/^Threads:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$procs/$threads"
}

# ---------------------------------------------------------------- h2load
# Every server gets the same cipher: h2load offers only TLS_AES_128_GCM_SHA256 for TLS 1.3
# (servers that prefer their own order, like nghttpd, would pick AES-256 otherwise).
TLS13_CIPHER=TLS_AES_128_GCM_SHA256
H2LOAD_PID=""
run_h2load() { # URL SECONDS OUTFILE
    # In the background and waited for, so that a signal to this script stops the run at once.
    taskset -c "$CLIENT_CPU" h2load "${H2LOAD_PROTO[@]}" -c"$CLIENTS" -m"$STREAMS" -t1 -D "$2" --tls13-ciphers="$TLS13_CIPHER" "$1" \
        >"$3" 2>&1 &
    H2LOAD_PID=$!
    wait "$H2LOAD_PID" || true
    H2LOAD_PID=""
}

# Was anything else using the two cores during the measured run? Busy time of both cores, minus
# the CPU time of the server (all its processes and threads) and of h2load (the only child this
# script reaps during the run), in jiffies.
cpu_busy() { # busy jiffies of SERVER_CPU and CLIENT_CPU together
    awk -v a="cpu$SERVER_CPU" -v b="cpu$CLIENT_CPU" \
        '$1 == a || ($1 == b && a != b) {t += $2 + $3 + $4 + $7 + $8 + $9} END {print t}' /proc/stat
}
server_jiffies() { # PID: utime+stime of the server process and its children
    local p t=0
    for p in "$1" $(pgrep -P "$1" || true); do
        t=$((t + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
    done
    echo "$t"
}
children_jiffies() { # cutime+cstime of this script: the CPU time of the children it has reaped
    sed 's/.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'
}

field() { # FILE REGEX: the first number captured by a sed regex (empty if none)
    sed -n "s/$2/\1/p" "$1" | head -n1
}

# ---------------------------------------------------------------- run
STAMP=$(date +%Y%m%d-%H%M%S)
OUT_DIR="$BENCH_DIR/out"
mkdir -p "$OUT_DIR"
OUT="$OUT_DIR/throughput-$PROTO-$STAMP.txt"
RAW="$OUT_DIR/throughput-$STAMP.d"
mkdir -p "$RAW"

bench_one() { # NAME PORT: fills RPS FAILED RSS PROCS CIPHER NOTE for one server
    local s=$1 port=$2 url="https://127.0.0.1:$2/$FILE" f="$RAW/$1.h2load" why alive
    local rps started done_ ok2xx failed data bad stuck short
    FAILED[$s]="-"
    if ! why=$(wait_listening "$s" "$port") || ! why=$(check_serves_file "$s" "$port"); then
        NOTE[$s]="not benchmarked: $why; "
        return
    fi

    log "$s: warm-up ${SECONDS_WARMUP}s"
    run_h2load "$url" "$SECONDS_WARMUP" "$RAW/$s.warmup.h2load"
    log "$s: measuring ${SECONDS_MEASURED}s"
    local busy0 srv0 kids0 t0 busy1 srv1 kids1 t1
    busy0=$(cpu_busy) srv0=$(server_jiffies "${PID[$s]}") kids0=$(children_jiffies) t0=$(date +%s%N)
    run_h2load "$url" "$SECONDS_MEASURED" "$f"
    busy1=$(cpu_busy) srv1=$(server_jiffies "${PID[$s]}") kids1=$(children_jiffies) t1=$(date +%s%N)
    # As % of one core over the run; a few % is this script and the kernel.
    OTHER[$s]=$(awk -v o="$((busy1 - busy0 - (srv1 - srv0) - (kids1 - kids0)))" -v ns="$((t1 - t0))" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN {v = o / hz / (ns / 1e9) * 100; printf "%.0f", v < 0 ? 0 : v}')
    ((OTHER[$s] <= 10)) ||
        NOTE[$s]="${NOTE[$s]:-}other processes used ${OTHER[$s]}% of a core during the measured run: rerun on a quiet machine; "
    SERVER_CPU_PCT[$s]=$(awk -v j="$((srv1 - srv0))" -v ns="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.0f", j / hz / (ns / 1e9) * 100}')

    alive=yes
    kill -0 "${PID[$s]}" 2>/dev/null || alive=no
    if [[ $alive == yes ]]; then
        RSS[$s]=$(rss_kib "$s" "${PID[$s]}")
        PROCS[$s]=$(procs_threads "${PID[$s]}")
        # h2load -D does not count requests lost with a connection, so ask once more afterwards.
        if ! why=$(check_serves_file "$s" "$port"); then
            NOTE[$s]="${NOTE[$s]:-}after the run: $why; "
            alive=no
        fi
    else
        NOTE[$s]="${NOTE[$s]:-}server died during the run (h2load -D does not count what that lost); "
    fi

    rps=$(field "$f" '^finished in .*, \([0-9.]*\) req\/s,.*')
    done_=$(field "$f" '^requests: .*, \([0-9]*\) done,.*')
    ok2xx=$(field "$f" '^status codes: \([0-9]*\) 2xx,.*')
    failed=$(field "$f" '^requests: .*, \([0-9]*\) failed,.*')
    started=$(field "$f" '^requests: .*, \([0-9]*\) started,.*')
    data=$(field "$f" '^traffic: .* (\([0-9]*\)) data.*')
    CIPHER[$s]="$(field "$f" '^TLS Protocol: \(.*\)') $(field "$f" '^Cipher: \(.*\)')"
    [[ ${CIPHER[$s]} == "TLSv1.3 $TLS13_CIPHER" ]] ||
        NOTE[$s]="${NOTE[$s]:-}negotiated '${CIPHER[$s]}', not TLSv1.3 $TLS13_CIPHER like the others; "
    if [[ -z $rps || -z $started || -z $done_ || -z $ok2xx || -z $failed || -z $data ]]; then
        NOTE[$s]="${NOTE[$s]:-}h2load gave no result: $(tail -n 3 "$f" | tr '\n' ' '); "
        return
    fi

    # Anything but a 2xx carrying the whole file counts as failed: requests h2load saw fail
    # (reset, connection lost or timed out, status >= 400: `failed`), other non-2xx responses
    # (done - 2xx covers both), requests left hanging (when h2load stops, at most -c x -m may be
    # in flight), and bodies shorter than the file.
    bad=$((done_ - ok2xx > failed ? done_ - ok2xx : failed))
    stuck=$((started - done_ - CLIENTS * STREAMS))
    ((stuck > 0)) || stuck=0
    ((stuck == 0)) || NOTE[$s]="${NOTE[$s]:-}$stuck requests never answered; "
    bad=$((bad + stuck))
    short=$(((ok2xx * FILE_SIZE - data + FILE_SIZE - 1) / FILE_SIZE))
    ((short > 0)) || short=0
    ((short == 0)) || NOTE[$s]="${NOTE[$s]:-}body bytes missing for ~$short responses; "
    FAILED[$s]=$((bad > short ? bad : short))
    ((ok2xx > 0)) || NOTE[$s]="${NOTE[$s]:-}no request succeeded; "
    RPS[$s]=$rps
    # A server passes only if every request got the whole file, and it is still running.
    [[ ${FAILED[$s]} == 0 && $ok2xx -gt 0 && $alive == yes ]] && OK[$s]=1
    return 0
}

declare -A RPS=() FAILED=() RSS=() PROCS=() CIPHER=() NOTE=() OK=() OTHER=() SERVER_CPU_PCT=()
port=$PORT_BASE
for s in $SERVERS; do
    ! ss -Htln "sport = :$port" | grep -q . || die "port $port is in use; set BENCH_PORT_BASE"
    log "$s on 127.0.0.1:$port"
    "start_$s" "$port"
    bench_one "$s" "$port"
    stop_server "$s"
    server_log "$s" >"$RAW/$s.server.log"
    # Anything a server logged at warn level or above (h2push runs with RUST_LOG=warn).
    errs=$(grep -ciE 'error|warn|panic|\[emerg\]|\[crit\]|\[alert\]' "$RAW/$s.server.log" || true)
    ((errs == 0)) || NOTE[$s]="${NOTE[$s]:-}$errs error/warning lines in $s.server.log; "
    port=$((port + 1))
done

# ---------------------------------------------------------------- report
{
    echo "h2push throughput benchmark, $(date -Iseconds)"
    echo "h2load -c$CLIENTS -m$STREAMS -t1 -D $SECONDS_MEASURED (after a ${SECONDS_WARMUP}s warm-up), GET /$FILE ($FILE_SIZE bytes), $PROTO_LABEL, ECDSA P-256"
    echo "servers: one worker pinned to core $SERVER_CPU; h2load pinned to core $CLIENT_CPU; $(nproc) cores, $(uname -r)"
    echo "versions: $(for s in $SERVERS; do
        case $s in
            h2o) h2o --version | head -n1 ;;
            nginx) nginx -v 2>&1 ;;
            nghttpd) echo "nghttpd $(nghttpd --version | awk '{print $NF}')" ;;
            h2push | h2push-log) echo "$s $("$H2PUSH_BIN" --version | awk '{print $NF}') ($H2PUSH_BIN, built $(date -r "$H2PUSH_BIN" '+%F %T'))" ;;
        esac
    done | paste -sd';' | sed 's/;/; /g'); $(h2load --version | head -n1)"
    echo
    printf '%-10s %9s %6s %6s %7s %7s %7s %5s %5s  %s\n' \
        server req/s vs-h2o failed RSS-MiB all-MiB pr/thr cpu% other tls
    base=""
    [[ -z ${OK[h2o]:-} ]] || base=${RPS[h2o]}
    for s in $SERVERS; do
        rps=${RPS[$s]:-}
        if [[ -n ${OK[$s]:-} ]]; then
            shown=$(printf '%.0f' "$rps")
            if [[ -n $base ]]; then ratio=$(awk -v a="$rps" -v b="$base" 'BEGIN {printf "%.2f", a / b}'); else ratio=n/a; fi
        else
            shown=FAILED ratio=-
        fi
        read -r rss all <<<"$(awk -v r="${RSS[$s]:-}" 'BEGIN {
            n = split(r, k, " "); if (n == 2) printf "%.1f %.1f", k[1] / 1024, k[2] / 1024; else print "- -" }')"
        printf '%-10s %9s %6s %6s %7s %7s %7s %5s %5s  %s\n' "$s" "$shown" "$ratio" "${FAILED[$s]}" \
            "$rss" "$all" "${PROCS[$s]:--}" "${SERVER_CPU_PCT[$s]:--}" "${OTHER[$s]:--}" "${CIPHER[$s]:-?}"
    done
    if [[ -n ${OK[h2push]:-} && -n ${OK[h2push-log]:-} ]]; then
        echo
        awk -v a="${RPS[h2push-log]}" -v b="${RPS[h2push]}" 'BEGIN {
            printf "access log: h2push-log / h2push = %.3f (%.1f %% less with every request logged)\n", a / b, (1 - a / b) * 100 }'
    fi
    echo
    echo "failed: requests without a 2xx carrying the whole file (h2load failed, non-2xx, never answered, short bodies)."
    echo "RSS-MiB: peak RSS (VmHWM, read at the end of the run) of the process serving the requests (nginx: the worker);"
    echo "all-MiB: the same summed over all the server's processes; pr/thr: its processes/threads at the end."
    echo "cpu%: the server's CPU time during the measured run, in % of one core (100 = its core was saturated);"
    echo "other: CPU used on cores $SERVER_CPU and $CLIENT_CPU by anything but the server and h2load, in % of a core: well"
    echo "above a few % means something else was running and the numbers of that row are not to be trusted."
    for s in $SERVERS; do
        [[ -z ${NOTE[$s]:-} ]] || echo "note: $s: ${NOTE[$s]}"
    done
    echo "raw h2load output and server logs: $RAW"
} | tee "$OUT"

for s in $SERVERS; do
    [[ -n ${OK[$s]:-} ]] || exit 1
done
