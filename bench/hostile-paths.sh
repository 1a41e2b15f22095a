#!/usr/bin/env bash
# Hostile paths (issue 8, items 1, 4 and 6) against h2push, h2o and nginx in the same run, each
# serving the same temp docroot over TLS HTTP/2 on a loopback port:
#
#   1. FIFO: x.css in the root is a FIFO nobody writes to. BENCH_FIFO_REQUESTS (70) concurrent
#      GET /x.css (one curl each, giving up after BENCH_FIFO_WAIT s), and meanwhile BENCH_PROBES
#      (6) GET /probe.html probes one after another; once the FIFO requests are answered or given up,
#      the probes again; then SIGTERM, and how long the server takes to exit.
#   4. Open redirect: evil.com/ is a directory in the root. GET //evil.com and its encoded and
#      backslash spellings: status and Location (a Location starting with // or /\ sends a
#      browser to the host evil.com).
#   6. A file asked for as a directory: GET /a.txt/ and /a.txt%2F.
#
# Environment:
#   BENCH_SERVERS        servers to run, in order     (default: "h2o nginx h2push")
#   BENCH_PORT_BASE      first loopback port to use   (default: 18460; one port per server)
#   BENCH_FIFO_REQUESTS  concurrent requests for the FIFO (default: 70; h2push's blocking pool has 64)
#   BENCH_FIFO_WAIT      seconds a FIFO request waits before giving up (default: 15)
#   BENCH_PROBES         probes of /probe.html during and after (default: 6; each waits up to 2 s)
#   H2PUSH_BIN           h2push binary (default: target/release/h2push under the repository root)
#
# Output: tables on stdout, also written to bench/out/hostile-paths-<date>.txt; the server logs
# are kept in bench/out/hostile-paths-<date>.d/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)

SERVERS=${BENCH_SERVERS:-"h2o nginx h2push"}
PORT_BASE=${BENCH_PORT_BASE:-18460}
FIFO_REQUESTS=${BENCH_FIFO_REQUESTS:-70}
FIFO_WAIT=${BENCH_FIFO_WAIT:-15}
PROBES=${BENCH_PROBES:-6}
H2PUSH_BIN=${H2PUSH_BIN:-$REPO_ROOT/target/release/h2push}
# How long a server gets to exit after SIGTERM before it counts as hung (and is killed).
EXIT_WAIT=15

die() { echo "hostile-paths.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

need() { # need COMMAND APT-PACKAGE
    command -v "$1" >/dev/null 2>&1 ||
        die "'$1' not found; install it with: apt-get install -y $2"
}
need curl curl
need openssl openssl
need mkfifo coreutils
need ss iproute2
need pgrep procps
for s in $SERVERS; do
    case $s in
        h2o) need h2o h2o ;;
        nginx) need nginx nginx-light ;;
        h2push)
            [[ -x $H2PUSH_BIN ]] ||
                die "h2push binary not found at $H2PUSH_BIN; build it (cargo build --release) or point H2PUSH_BIN at it"
            ;;
        *) die "unknown server '$s' in BENCH_SERVERS (known: h2o nginx h2push)" ;;
    esac
done

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d /tmp/h2push-hostile.XXXXXX)
declare -A PID=()

release_fifo() { # a reader stuck in open() on the FIFO waits for a writer: be one, briefly
    [[ -p $WORK/www/x.css ]] || return 0
    exec 3<>"$WORK/www/x.css" && exec 3>&-
}

kill_server() { # NAME: whatever is left of it, children included
    local pid=${PID[$1]:-} kids k
    [[ -n $pid ]] || return 0
    kids=$(pgrep -P "$pid" || true)
    release_fifo
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
    unset "PID[$1]"
}

cleanup() {
    local name
    for name in "${!PID[@]}"; do kill_server "$name"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- docroot and certificate
mkdir -p "$WORK/www/evil.com"
PROBE_PAGE="<!doctype html><title>probe</title>"
echo "$PROBE_PAGE" >"$WORK/www/probe.html"
echo "a file" >"$WORK/www/a.txt"
echo "<!doctype html><title>a directory named evil.com</title>" >"$WORK/www/evil.com/index.html"
echo "<!doctype html><title>home</title>" >"$WORK/www/index.html"
mkfifo -m 644 "$WORK/www/x.css"
# h2o and nginx drop root privileges to nobody: let them read the docroot.
chmod 755 "$WORK" "$WORK/www" "$WORK/www/evil.com"
chmod 644 "$WORK/www/a.txt" "$WORK/www/probe.html" "$WORK/www/index.html" "$WORK/www/evil.com/index.html"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log" ||
    die "openssl could not make a certificate: $(cat "$WORK/openssl.log")"

# ---------------------------------------------------------------- servers (defaults, one worker)
start_h2o() { # PORT
    cat >"$WORK/h2o.conf" <<EOF
num-threads: 1
error-log: $WORK/h2o.err
listen:
  host: 127.0.0.1
  port: $1
  ssl:
    certificate-file: $WORK/cert.pem
    key-file: $WORK/key.pem
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        file.dir: $WORK/www
EOF
    h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
    PID[h2o]=$!
}

start_nginx() { # PORT
    local version listen http2
    version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    # nginx >= 1.25.1 turns HTTP/2 on with `http2 on;`; older versions with `listen ... http2`.
    if [[ $(printf '%s\n' 1.25.1 "$version" | sort -V | head -n1) == 1.25.1 ]]; then
        listen="listen 127.0.0.1:$1 ssl;" http2="http2 on;"
    else
        listen="listen 127.0.0.1:$1 ssl http2;" http2=""
    fi
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        $listen
        $http2
        server_name localhost;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        root $WORK/www;
    }
}
EOF
    nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 &
    PID[nginx]=$!
}

start_h2push() { # PORT
    RUST_LOG=warn "$H2PUSH_BIN" serve "$WORK/www" --listen "127.0.0.1:$1" \
        --cert "$WORK/cert.pem" --key "$WORK/key.pem" >"$WORK/h2push.log" 2>&1 &
    PID[h2push]=$!
}

server_log() { # NAME
    case $1 in
        nginx) cat "$WORK/nginx.log" "$WORK/nginx/error.log" 2>/dev/null ;;
        h2o) cat "$WORK/h2o.log" "$WORK/h2o.err" 2>/dev/null ;;
        *) cat "$WORK/$1.log" 2>/dev/null ;;
    esac
}

wait_listening() { # NAME PORT
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "${PID[$1]}" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- clients
get() { # PORT PATH [CURL ARGS...]: TLS h2, the path sent as is, the certificate not checked
    local port=$1 path=$2
    shift 2
    curl -sk --http2 --path-as-is "$@" "https://127.0.0.1:$port$path" || true
}

probes() { # PORT: how many of PROBES GET /probe.html got 200 with the page, each within 2 s
    # (A page, because h2push keeps small non-HTML files in memory, which needs no blocking
    # thread: a page always goes to disk, as most requests of a real site do.)
    local ok=0 i
    for ((i = 0; i < PROBES; i++)); do
        [[ $(get "$1" /probe.html --max-time 2) == "$PROBE_PAGE" ]] && ok=$((ok + 1))
    done
    echo "$ok/$PROBES"
}

status_and_location() { # PORT PATH: "STATUS LOCATION" (location "-" when none)
    get "$1" "$2" --max-time 5 -o /dev/null -D - |
        awk 'BEGIN {s = "none"; l = "-"}
             /^HTTP\// {s = $2}
             tolower($1) == "location:" {l = $2; sub(/\r$/, "", l)}
             END {print s, l}'
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# ---------------------------------------------------------------- attacks
REDIRECT_PATHS=("//evil.com" "///evil.com" "/%2F%2Fevil.com" "/.//evil.com" '/\evil.com' '/%5Cevil.com')
SLASH_PATHS=("/a.txt/" "/a.txt%2F")

attack_paths() { # NAME PORT: items 4 and 6, one line each
    local p
    for p in "${REDIRECT_PATHS[@]}"; do
        printf '%-8s %-18s %s\n' "$1" "$p" "$(status_and_location "$2" "$p")" >>"$WORK/redirects"
    done
    for p in "${SLASH_PATHS[@]}"; do
        printf '%-8s %-18s %s\n' "$1" "$p" "$(status_and_location "$2" "$p" | cut -d' ' -f1)" >>"$WORK/slashes"
    done
}

attack_fifo() { # NAME PORT: item 1, then SIGTERM; one line
    local name=$1 port=$2 i pids=() during after answers slowest started exit_time
    rm -f "$WORK"/fifo.*
    for ((i = 0; i < FIFO_REQUESTS; i++)); do
        get "$port" /x.css --max-time "$FIFO_WAIT" -o /dev/null -w '%{http_code} %{time_total}\n' \
            >"$WORK/fifo.$i" &
        pids+=($!)
    done
    sleep 1
    during=$(probes "$port")
    wait "${pids[@]}" || true
    answers=$(cat "$WORK"/fifo.* | awk '{print $1}' | sort | uniq -c |
        awk '{printf "%s%sx%s", (NR > 1 ? "," : ""), ($2 == "000" ? "none" : $2), $1}')
    slowest=$(cat "$WORK"/fifo.* | awk '$2 > m {m = $2} END {printf "%.2f", m}')
    after=$(probes "$port")

    started=$(now)
    kill -TERM "${PID[$name]}" 2>/dev/null || true
    exit_time="hung>${EXIT_WAIT}s"
    for ((i = 0; i < EXIT_WAIT * 10; i++)); do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            exit_time="$(elapsed "$started")s"
            break
        fi
        sleep 0.1
    done
    server_log "$name" >"$RAW/$name.server.log"
    kill_server "$name"
    printf '%-8s %-22s %8s %8s %8s %14s\n' "$name" "$answers" "${slowest}s" "$during" "$after" \
        "$exit_time" >>"$WORK/fifo"
}

# ---------------------------------------------------------------- run
STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$BENCH_DIR/out"
OUT="$BENCH_DIR/out/hostile-paths-$STAMP.txt"
RAW="$BENCH_DIR/out/hostile-paths-$STAMP.d"
mkdir -p "$RAW"
: >"$WORK/fifo"
: >"$WORK/redirects"
: >"$WORK/slashes"

port=$PORT_BASE
for s in $SERVERS; do
    ! ss -Htln "sport = :$port" | grep -q . || die "port $port is in use; set BENCH_PORT_BASE"
    log "$s on 127.0.0.1:$port"
    "start_$s" "$port"
    if ! wait_listening "$s" "$port"; then
        echo "$s did not start: $(server_log "$s" | tail -n 3 | tr '\n' ' ')" >&2
        kill_server "$s"
        port=$((port + 1))
        continue
    fi
    attack_paths "$s" "$port"
    log "$s: $FIFO_REQUESTS requests for a FIFO"
    attack_fifo "$s" "$port"
    port=$((port + 1))
done

{
    echo "hostile paths, $(date -Iseconds); $(nproc) cores, $(uname -r)"
    echo "versions: $(for s in $SERVERS; do
        case $s in
            h2o) h2o --version | head -n1 ;;
            nginx) nginx -v 2>&1 ;;
            h2push) echo "h2push ($H2PUSH_BIN, built $(date -r "$H2PUSH_BIN" '+%F %T'))" ;;
        esac
    done | paste -sd';' | sed 's/;/; /g')"
    echo
    echo "1. $FIFO_REQUESTS concurrent GET /x.css (a FIFO; clients give up after ${FIFO_WAIT}s), GET /probe.html probes during and after, then SIGTERM"
    printf '%-8s %-22s %8s %8s %8s %14s\n' server fifo-answers slowest during after exit-on-TERM
    cat "$WORK/fifo"
    echo
    echo "4. directory redirects (evil.com/ is a directory in the root)"
    printf '%-8s %-18s %s\n' server request "status location"
    cat "$WORK/redirects"
    echo
    echo "6. a file asked for as a directory"
    printf '%-8s %-18s %s\n' server request status
    cat "$WORK/slashes"
} | tee "$OUT"
