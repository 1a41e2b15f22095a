#!/usr/bin/env bash
# Hostile pages against h2push's asset discovery (issue 8, items 2 and 3).
#
# Each page below is served from a fresh temporary site and requested over h2c (discovery is
# the same as over TLS, and this keeps TLS out of the times):
#   div-self-closing  600 KB of <div/> x 100000 (html5ever nested them all: 32 s)
#   div-stray-end     <div></x> x 100000 (each stray end tag walked every open element: 30 s)
#   attrs-280k        one <link> with 280000 distinct attributes (quadratic attribute check: 19 s)
#   i-2mb             2 MiB of <i>x</i>, a page with 260000 elements
# For each: the time to answer its first (uncached) request and a second one, and how many
# Link values the answer carried (each ends with a stylesheet link that must be found).
# Then, on fresh servers:
#   64 x i-2mb        64 concurrent requests of the 2 MiB page (was 6.5 GB peak RSS, 6.25 GB after)
#   70 x div-186k     70 concurrent requests of a 186 KB <div/> page while a probe asks for a
#                     small file (the probe used to wait 80 s)
# with the server's peak RSS (VmHWM) and its RSS once the load is over, from /proc/PID/status.
#
# Environment:
#   H2PUSH_BIN   h2push binary (default: target/release/h2push under the repository root)
#   BENCH_PORT   first loopback port to use (default: 18560; two per server)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
H2PUSH_BIN=${H2PUSH_BIN:-$REPO_ROOT/target/release/h2push}
PORT=${BENCH_PORT:-18560}

die() { echo "hostile-pages.sh: $*" >&2; exit 1; }
for tool in curl h2load python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install curl nghttp2-client python3)"
done
[[ -x $H2PUSH_BIN ]] || die "no h2push binary at $H2PUSH_BIN: cargo build --release, or set H2PUSH_BIN"

WORK=$(mktemp -d /tmp/h2push-hostile-pages.XXXXXX)
SERVER_PID=""
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- pages
make_pages() { # make_pages DIR
    python3 - "$1" <<'EOF'
import os, sys
d = sys.argv[1]
link = b"<link rel=stylesheet href=s.css>"
def write(name, body):
    with open(os.path.join(d, name), "wb") as f:
        f.write(body)
write("s.css", b"body { color: black }\n")
write("small.txt", b"x" * 100)
write("div-self-closing.html", b"<div/>" * 100_000 + link)
write("div-stray-end.html", b"<div></x>" * 100_000 + link)
names = b"".join(b" z" + bytes(97 + (i // 26**k) % 26 for k in range(4)) for i in range(280_000))
write("attrs-280k.html", b"<link" + names + b" rel=stylesheet href=s.css>")
write("i-2mb.html", link + b"<i>x</i>" * ((2 * 1024 * 1024 - len(link)) // 8))
write("div-186k.html", b"<div/>" * 31_000 + link)
EOF
}

# ---------------------------------------------------------------- server
start_server() { # start_server SITE: h2c on $PORT, TLS on $PORT+1
    "$H2PUSH_BIN" serve "$1" --listen "127.0.0.1:$((PORT + 1))" --h2c "127.0.0.1:$PORT" \
        --certs-dir "$WORK/certs" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$PORT/small.txt" && return 0
        sleep 0.1
    done
    die "h2push did not start; log: $(cat "$WORK/server.log")"
}

status_kib() { # status_kib FIELD: VmHWM or VmRSS of the server, in KiB
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SERVER_PID/status"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# fetch PATH: "seconds status bytes links" for one request
fetch() {
    local out
    out=$(curl -s --http2-prior-knowledge -D "$WORK/headers" -o /dev/null --max-time 600 \
        -w '%{time_total} %{http_code} %{size_download}' "http://127.0.0.1:$PORT$1") || true
    echo "$out $(grep -ci '^link:' "$WORK/headers" || true)"
}

# ---------------------------------------------------------------- run
SITE=$WORK/site
mkdir -p "$SITE"
make_pages "$SITE"

echo "h2push $("$H2PUSH_BIN" --version | awk '{print $NF}') ($H2PUSH_BIN); $(nproc) cores; $(date '+%F %T')"
echo
printf '%-18s %8s %10s %10s %6s %6s\n' page KiB first-s cached-s status links
start_server "$SITE"
for page in div-self-closing div-stray-end attrs-280k i-2mb; do
    read -r t1 status bytes links <<<"$(fetch "/$page.html")"
    read -r t2 _ _ _ <<<"$(fetch "/$page.html")"
    size=$(($(stat -c %s "$SITE/$page.html") / 1024))
    # links counts the 103's Link lines and the page's own: 2 per asset.
    printf '%-18s %8s %10s %10s %6s %6s\n' "$page" "$size" "$t1" "$t2" "$status" "$links"
done
stop_server

echo
printf '%-18s %10s %12s %12s %10s  %s\n' load seconds peak-RSS-MiB after-RSS-MiB probe-s served
start_server "$SITE"
base=$(status_kib VmHWM)
start=$(date +%s.%N)
h2load -n 64 -c 64 -m 1 "http://127.0.0.1:$PORT/i-2mb.html" >"$WORK/h2load-64.txt" 2>&1 || true
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
sleep 1
served=$(awk '/^requests:/ { print $8 "/" $2 }' "$WORK/h2load-64.txt")
printf '%-18s %10s %12s %12s %10s  %s\n' "64 x i-2mb" "$took" "$(mib "$(status_kib VmHWM)")" \
    "$(mib "$(status_kib VmRSS)")" - "$served (RSS at start $(mib "$base") MiB)"
stop_server

start_server "$SITE"
start=$(date +%s.%N)
h2load -n 70 -c 70 -m 1 "http://127.0.0.1:$PORT/div-186k.html" >"$WORK/h2load-70.txt" 2>&1 &
load_pid=$!
sleep 0.05
read -r probe _ _ _ <<<"$(fetch /small.txt)"
wait "$load_pid" || true
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
sleep 1
served=$(awk '/^requests:/ { print $8 "/" $2 }' "$WORK/h2load-70.txt")
printf '%-18s %10s %12s %12s %10s  %s\n' "70 x div-186k" "$took" "$(mib "$(status_kib VmHWM)")" \
    "$(mib "$(status_kib VmRSS)")" "$probe" "$served"
stop_server
