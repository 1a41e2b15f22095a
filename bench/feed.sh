#!/usr/bin/env bash
# The change feed, transport against transport: for each of WebSocket over HTTP/1.1 and HTTP/2
# (RFC 8441), SSE over HTTP/1.1 and HTTP/2, the NDJSON stream and long-poll, N clients (one
# connection each: the honest default, as separate browser tabs would not share one) follow the
# feed while examples/feed_client.rs writes files under the served root at a fixed rate. Prints
# one JSON line per run (see feed_client.rs for the fields) and a Markdown table.
#
#   bench/feed.sh [CLIENT_COUNTS] [TRANSPORTS] [EVENTS] [INTERVAL_MS]
#   bench/feed.sh "100 1000 10000" "ws-h1 ws-h2 sse-h1 sse-h2 ndjson-h1 poll-h1" 5 300
#
# Each run gets a fresh release server on a free loopback port (so idle RSS is its own), with
# --max-event-streams and --max-connections raised above N; everything stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

counts=${1:-"100 1000 10000"}
transports=${2:-"ws-h1 ws-h2 sse-h1 sse-h2 ndjson-h1 poll-h1"}
events=${3:-5}
interval=${4:-300}

# Every client is a socket here and one more fd in the server.
ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet --bin h2push --example feed_client
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT

cp -r site "$work/site"
echo "h2push $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), ulimit -n $(ulimit -n)" >&2
results="$work/results.jsonl"
for n in $counts; do
  for t in $transports; do
    limit=$((n + 256))
    RUST_LOG=info,h2push::access=off NO_COLOR=1 "$target/release/h2push" serve "$work/site" \
      --listen 127.0.0.1:0 --certs-dir "$work/certs" \
      --max-event-streams "$limit" --max-connections "$limit" --max-handshakes 1024 2>"$work/log" &
    server_pid=$!
    port=
    for _ in $(seq 100); do
      port=$(sed -n 's#.*url=https://localhost:\([0-9]*\)/.*#\1#p' "$work/log" | head -1)
      [ -n "$port" ] && break
      sleep 0.1
    done
    if [ -z "$port" ]; then
      RUST_LOG=info "$target/release/h2push" --version >&2 || true
      cat "$work/log" >&2; echo "h2push did not start" >&2; exit 1
    fi
    timeout 180 "$target/release/examples/feed_client" "127.0.0.1:$port" "$work/certs/ca.pem" \
      "$work/site" "$server_pid" "$t" "$n" "$events" "$interval" | tee -a "$results" \
      || echo "{\"transport\":\"$t\",\"clients\":$n,\"error\":\"client failed\"}" | tee -a "$results"
    grep -E "ERROR" "$work/log" | head -3 >&2 || true
    stop_server
  done
done

echo
echo "| transport | clients | p50 ms | p99 ms | bytes/event/client | CPU ms per 1,000 deliveries | RSS KiB/client | server fds | probes ok (p99 ms) | reconnect: replayed/missed, ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
python3 - "$results" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "error" in r:
        print(f"| {r['transport']} | {r['clients']} | failed | | | | | | | |"); continue
    rc = r["reconnect"]
    short = "" if r["delivered"] >= r["expected"] and not r["failed"] else f" ({r['delivered']}/{r['events']*r['clients']} delivered, {r['failed']} failed)"
    print(f"| {r['transport']} | {r['clients']:,}{short} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['bytes_per_event_client']:.0f} | {r['cpu_ms_per_1000']:.0f} | {r['rss_per_client_kib']:.1f} | {r['fds']} | {r['probes']-r['probe_failed']}/{r['probes']} ({r['probe_p99_ms']:.0f}) | {rc['replayed']}/{rc['missed']}, {rc['ms']:.0f} |")
PY
