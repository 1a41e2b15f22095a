#!/usr/bin/env bash
# Load for the change feed: 1,000 concurrent Server-Sent Events streams on one h2push server
# (10 h2 connections x 100 streams by default), one file written, time until every stream has
# the change, and the server's memory (VmRSS/VmHWM from /proc).
#
#   bench/sse-load.sh [STREAMS] [STREAMS_PER_CONNECTION]
#
# Builds release binaries, serves a copy of site/ on a free loopback port, runs
# examples/sse_load.rs against it, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."

streams=${1:-1000}
per_conn=${2:-100}

cargo build --release --quiet --bin h2push --example sse_load
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cp -r site "$work/site"
RUST_LOG=info,h2push::access=warn NO_COLOR=1 "$target/release/h2push" serve "$work/site" \
  --listen 127.0.0.1:0 --certs-dir "$work/certs" \
  --max-concurrent-streams "$per_conn" 2>"$work/log" &
server_pid=$!

port=
for _ in $(seq 100); do
  port=$(sed -n 's#.*url=https://localhost:\([0-9]*\)/.*#\1#p' "$work/log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/log"; echo "h2push did not start" >&2; exit 1; }

echo "h2push $(git rev-parse --short HEAD 2>/dev/null || echo '?') pid $server_pid on port $port; $(nproc) cores"
"$target/release/examples/sse_load" "127.0.0.1:$port" "$work/certs/ca.pem" \
  "$work/site/css/base.css" "$server_pid" "$streams" "$per_conn"
grep -E "WARN|ERROR" "$work/log" || true
