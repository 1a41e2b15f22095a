#!/usr/bin/env bash
# Time to first byte of an HTML page with the push engine on vs off, warm caches, over TLS HTTP/2.
#
# Two h2push servers on the same copy of the site, pinned to one core (BENCH_SERVER_CPU):
#   off  --push off --early-hints off --preload-headers off   (a plain static server)
#   on   the defaults: 103 Early Hints, PUSH_PROMISE, Link preload on the page
# The client is examples/ttfb.rs (the crate's own h2 client over rustls), pinned to another core
# (BENCH_CLIENT_CPU). It opens a fresh connection per sample (not timed: the server pushes an
# asset only once per connection, so a reused connection would push only on its first load),
# times one GET of the page, and reads the page and every pushed response in full. Samples are
# taken in turn from each target, one request at a time (no concurrency), after a warm-up, so
# both servers see the same machine. Three targets:
#   off         the plain server
#   on          push-capable client (SETTINGS_ENABLE_PUSH=1, like nghttp): 103 + promises + page
#   on-nopush   client that refuses push (SETTINGS_ENABLE_PUSH=0, like every browser today):
#               103 + Link headers, no promises
# h2load is not used: it always sends SETTINGS_ENABLE_PUSH=0, so it can never measure push.
#
# Measures (ms from handing the request to h2 until ...):
#   headers     the page's final response HEADERS (after any 103 and PUSH_PROMISEs): TTFB
#   first_byte  the first DATA byte of the page
#   all         the page and every pushed response complete
# This is loopback with no added latency: it shows what the engine costs the server and the
# wire, not what it saves a browser on a real network (that is what `compare` is for).
#
# Environment:
#   BENCH_SAMPLES      measured samples per target      (default: 1000)
#   BENCH_WARMUP       warm-up samples per target       (default: 100)
#   BENCH_PAGE         page to load                     (default: /)
#   BENCH_SITE         directory to serve               (default: the repository's site/)
#   BENCH_PORT_BASE    first loopback port (two used)   (default: 18450)
#   BENCH_SERVER_CPU / BENCH_CLIENT_CPU  cores          (default: 0 / 1)
#   H2PUSH_BIN         h2push binary   (default: $CARGO_TARGET_DIR or target/, release/h2push)
#   TTFB_BIN           the client      (default: ... release/examples/ttfb)
# Build both first:  cargo build --release && cargo build --release --example ttfb
#
# Output: a table on stdout, also written to bench/out/ttfb-<date>.txt.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}

SAMPLES=${BENCH_SAMPLES:-1000}
WARMUP=${BENCH_WARMUP:-100}
PAGE=${BENCH_PAGE:-/}
SITE=${BENCH_SITE:-$REPO_ROOT/site}
PORT_BASE=${BENCH_PORT_BASE:-18450}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
H2PUSH_BIN=${H2PUSH_BIN:-$TARGET_DIR/release/h2push}
TTFB_BIN=${TTFB_BIN:-$TARGET_DIR/release/examples/ttfb}

# The engine's budget, from issue 3: push on may add at most this much to the median TTFB.
LIMIT_PCT=5

die() { echo "ttfb.sh: $*" >&2; exit 1; }

command -v taskset >/dev/null || die "'taskset' not found; apt-get install -y util-linux"
[[ -x $H2PUSH_BIN ]] || die "no h2push at $H2PUSH_BIN: cargo build --release (or set H2PUSH_BIN)"
[[ -x $TTFB_BIN ]] || die "no ttfb client at $TTFB_BIN: cargo build --release --example ttfb (or set TTFB_BIN)"
[[ -d $SITE ]] || die "no site at $SITE"
cores=$(nproc)
((SERVER_CPU < cores && CLIENT_CPU < cores)) ||
    die "need cores $SERVER_CPU and $CLIENT_CPU, this machine has $cores; set BENCH_SERVER_CPU/BENCH_CLIENT_CPU"

WORK=$(mktemp -d /tmp/h2push-ttfb.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One copy of the site for both servers, so neither sees the other's file-system cache state.
cp -r "$SITE" "$WORK/site"

start() { # NAME PORT FLAGS...: starts a server, waits until it prints its URL
    local name=$1 port=$2
    shift 2
    RUST_LOG=warn,h2push=info taskset -c "$SERVER_CPU" "$H2PUSH_BIN" serve "$WORK/site" \
        --listen "127.0.0.1:$port" --certs-dir "$WORK/certs" "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "https://localhost:$port/" "$WORK/$name.log" 2>/dev/null && return 0
        kill -0 "${PIDS[-1]}" 2>/dev/null || die "$name did not start: $(cat "$WORK/$name.log")"
        sleep 0.1
    done
    die "$name did not start within 10 s: $(cat "$WORK/$name.log")"
}

ON_PORT=$PORT_BASE
OFF_PORT=$((PORT_BASE + 1))
# The first server writes the CA and certificate; the second reuses them.
start on "$ON_PORT"
start off "$OFF_PORT" --push off --early-hints off --preload-headers off

RAW="$WORK/raw.txt"
taskset -c "$CLIENT_CPU" "$TTFB_BIN" --ca "$WORK/certs/ca.pem" --path "$PAGE" \
    -n "$SAMPLES" --warmup "$WARMUP" \
    --target "off=127.0.0.1:$OFF_PORT" \
    --target "on=127.0.0.1:$ON_PORT" \
    --target "on-nopush=127.0.0.1:$ON_PORT/no-push" >"$RAW"

mkdir -p "$BENCH_DIR/out"
OUT="$BENCH_DIR/out/ttfb-$(date +%Y%m%d-%H%M%S).txt"
{
    echo "# h2push TTFB, push on vs off: $("$H2PUSH_BIN" --version), page $PAGE of $SITE"
    echo "# $SAMPLES samples per target after $WARMUP warm-up, fresh connection each, sequential;"
    echo "# servers on core $SERVER_CPU, client on core $CLIENT_CPU; $(nproc) cores, $(uname -r)"
    printf '%-10s %-11s %9s %9s %9s %9s\n' target measure p50_ms p90_ms p50_vs_off p90_vs_off
    awk -v limit="$LIMIT_PCT" '
        { p50[$1" "$2] = $4; p90[$1" "$2] = $5; if (!($1 in seen)) { seen[$1]; order[++n] = $1 } }
        END {
            split("headers first_byte all pushes", ms, " ")
            for (t = 1; t <= n; t++) for (m = 1; m <= 4; m++) {
                k = order[t]" "ms[m]; base = "off "ms[m]
                if (!(k in p50)) continue
                r50 = "-"; r90 = "-"
                if (ms[m] != "pushes" && p50[base] > 0) {
                    r50 = sprintf("%+.1f%%", (p50[k] / p50[base] - 1) * 100)
                    r90 = sprintf("%+.1f%%", (p90[k] / p90[base] - 1) * 100)
                }
                printf "%-10s %-11s %9s %9s %9s %9s\n", order[t], ms[m], p50[k], p90[k], r50, r90
            }
            for (t = 1; t <= n; t++) {
                if (order[t] == "off") continue
                k = order[t]" headers"
                pct = (p50[k] / p50["off headers"] - 1) * 100
                printf "# %s: median TTFB %+.1f%% vs off: %s the %d%% budget\n", order[t], pct,
                    (pct <= limit ? "within" : "OVER"), limit
            }
        }' "$RAW"
} | tee "$OUT"
echo "(written to $OUT)" >&2
