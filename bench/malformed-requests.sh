#!/usr/bin/env bash
# Malformed requests beside a download (issue 8, item 5) against h2push, h2o and nginx in the same
# run, each serving the same temp docroot over TLS HTTP/2 on a loopback port. For each kind of
# malformed field (see bench/malformed_requests.py), one connection downloads a large sparse file
# on stream 1 and sends the malformed request on stream 3 once the download has started. A server
# that treats the bad request as a connection error cuts the download (`CUT`, with a GOAWAY).
#
# Environment:
#   BENCH_SERVERS    servers to run, in order      (default: "h2o nginx h2push")
#   BENCH_PORT_BASE  first loopback port to use    (default: 18470; one port per server)
#   BENCH_BIG_MIB    size of the download in MiB   (default: 256; the issue used 1024)
#   H2PUSH_BIN       h2push binary (default: target/release/h2push under the repository root)
#
# Output: a table on stdout, also written to bench/out/malformed-requests-<date>.txt. The time
# column is the Python client's, which is slower than the servers: it is not a throughput figure.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
SERVERS=${BENCH_SERVERS:-"h2o nginx h2push"}
PORT_BASE=${BENCH_PORT_BASE:-18470}
BIG_MIB=${BENCH_BIG_MIB:-256}
H2PUSH_BIN=${H2PUSH_BIN:-$REPO_ROOT/target/release/h2push}

die() { echo "malformed-requests.sh: $*" >&2; exit 1; }
# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
need python3 python3
need openssl openssl
need pgrep procps
need ss iproute2
need_servers $SERVERS

work_dir h2push-malformed
mkdir -p "$WORK/www"
echo "a small file" >"$WORK/www/small.txt"
truncate -s "${BIG_MIB}M" "$WORK/www/big.bin"
# h2o and nginx drop root privileges to nobody: let them read the docroot.
chmod 755 "$WORK" "$WORK/www" && chmod 644 "$WORK/www"/*
make_cert

mkdir -p "$BENCH_DIR/out"
OUT="$BENCH_DIR/out/malformed-requests-$(date +%Y%m%d-%H%M%S).txt"
{
    echo "a malformed request on stream 3 while stream 1 downloads ${BIG_MIB} MiB, $(date -Iseconds)"
    printf '%-8s %-18s %12s %-4s %-16s %-8s %7s\n' server "stream 3 holds" "stream1-bytes" "" \
        "stream 3 got" GOAWAY time
} | tee "$OUT"
port=$PORT_BASE
for s in $SERVERS; do
    ! ss -Htln "sport = :$port" | grep -q . || die "port $port is in use; set BENCH_PORT_BASE"
    "start_$s" "$port"
    if why=$(wait_listening "$s" "$port"); then
        python3 "$BENCH_DIR/malformed_requests.py" "$s" "$port" /big.bin $((BIG_MIB << 20)) | tee -a "$OUT"
    else
        echo "$s: $why" | tee -a "$OUT"
    fi
    stop_server "$s"
    port=$((port + 1))
done
