#!/usr/bin/env bash
# Page load of the reveal.js 6.0.2 demo with compression on vs off, under a bandwidth cap.
#
# Fetches reveal.js@6.0.2 from npm (`npm pack`), serves its package/ directory with two h2push
# servers on loopback, identical but for compression:
#   on   the defaults (--compress on --precompressed on: br/zstd/gzip, kept once compressed)
#   off  --compress off --precompressed off
# and loads /demo.html with `h2push compare` (its client sends Chrome's accept-encoding and
# decodes HTML/CSS before discovery) through the compare proxy at BENCH_RTT and BENCH_BANDWIDTH.
# The `on` server compresses each file once, in the background, the first time it is asked for
# it; the script first loads the page until the bytes received stop shrinking, so the measured
# runs see the kept compressions (a steady-state server, not the first visitor).
#
# Environment:
#   BENCH_RUNS       page loads per mode and server   (default: 7)
#   BENCH_RTT        emulated round trip               (default: 100ms)
#   BENCH_BANDWIDTH  cap each direction                (default: 10mbit)
#   BENCH_MODES      compare modes                     (default: push,hints,none)
#   BENCH_PORT_BASE  first loopback port (two used)    (default: 18470)
#   H2PUSH_BIN       h2push binary (default: $CARGO_TARGET_DIR or target/, release/h2push)
# Build first: cargo build --release
#
# Output: one line per server and mode: median page load (ms, min–max), median bytes read
# from the socket (TLS records: what the capped link carried), median response body bytes;
# then the off/on load-time ratio per mode.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
RUNS=${BENCH_RUNS:-7}
RTT=${BENCH_RTT:-100ms}
BANDWIDTH=${BENCH_BANDWIDTH:-10mbit}
MODES=${BENCH_MODES:-push,hints,none}
PORT_BASE=${BENCH_PORT_BASE:-18470}
H2PUSH_BIN=${H2PUSH_BIN:-$TARGET_DIR/release/h2push}

die() { echo "compression.sh: $*" >&2; exit 1; }
[[ -x $H2PUSH_BIN ]] || die "no h2push at $H2PUSH_BIN: cargo build --release (or set H2PUSH_BIN)"
for tool in npm jq curl; do
    command -v "$tool" >/dev/null || die "'$tool' not found"
done

WORK=$(mktemp -d /tmp/compression-bench.XXXXXX)
declare -a PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$WORK" && npm pack --silent reveal.js@6.0.2 >/dev/null && tar xzf reveal.js-6.0.2.tgz) ||
    die "npm pack reveal.js@6.0.2 failed"
SITE=$WORK/package

start() { # NAME PORT FLAGS...: an h2push serving $SITE on PORT
    local name=$1 port=$2
    shift 2
    "$H2PUSH_BIN" serve "$SITE" --listen "127.0.0.1:$port" --certs-dir "$WORK/certs" "$@" \
        >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        curl -s -o /dev/null --cacert "$WORK/certs/ca.pem" "https://localhost:$port/" 2>/dev/null && return
        sleep 0.1
    done
    die "$name did not start: $(cat "$WORK/$name.log")"
}

compare() { # PORT ARGS...: compare's JSON report for /demo.html
    local port=$1
    shift
    "$H2PUSH_BIN" compare "https://localhost:$port/demo.html" --ca "$WORK/certs/ca.pem" \
        --rtt "$RTT" --bandwidth "$BANDWIDTH" --json "$@" 2>>"$WORK/compare.log"
}

start on "$PORT_BASE"
start off "$((PORT_BASE + 1))" --compress off --precompressed off

# Warm the `on` server: load until the body bytes stop shrinking (every compression kept).
previous=0
for _ in $(seq 30); do
    bytes=$(compare "$PORT_BASE" --runs 1 --modes none | jq '.modes[0].body_bytes')
    [[ $bytes == "$previous" ]] && break
    previous=$bytes
    sleep 2
done

printf '%-4s %-6s %9s %17s %12s %12s\n' server mode load_ms "(min–max)" wire_bytes body_bytes
declare -A LOAD=()
for server in on off; do
    port=$PORT_BASE
    [[ $server == off ]] && port=$((PORT_BASE + 1))
    report=$(compare "$port" --runs "$RUNS" --modes "$MODES")
    while read -r mode load min max wire body; do
        LOAD[$server.$mode]=$load
        printf '%-4s %-6s %9.1f %17s %12.0f %12.0f\n' "$server" "$mode" "$load" \
            "($(printf '%.1f–%.1f' "$min" "$max"))" "$wire" "$body"
    done < <(jq -r '.modes[] | [.mode, .load_ms.median, .load_ms.min, .load_ms.max, .wire_bytes, .body_bytes] | @tsv' <<<"$report")
done
for mode in ${MODES//,/ }; do
    printf 'off / on (%s) = %.2f×\n' "$mode" \
        "$(jq -n "${LOAD[off.$mode]} / ${LOAD[on.$mode]}")"
done
echo "rtt $RTT, bandwidth $BANDWIDTH, $RUNS runs per mode, reveal.js 6.0.2 /demo.html, $(date -u +%F)"
