#!/usr/bin/env bash
# Flash crowds (issue 26, item 1) against h2push, h2o and nginx side by side: bursts of
# simultaneous connections, each doing one HTTP/1.1 request for a small file, over TLS and
# cleartext; then 1,500 idle TCP connections held while a burst of 1,000 arrives and a probe
# request goes out every second. Prints served/failed per server and case.
#
#   bench/burst.sh [SIZE...]        SIZE: burst sizes (default: 1000 4000)
#
# Environment:
#   BURST_SERVERS    servers, in order            (default: "h2push h2o nginx")
#   BURST_PORT_BASE  first loopback port          (default: 18560; two per server)
#   BURST_IDLE       idle connections to hold      (default: 1500; 0 skips the idle case)
#   H2PUSH_BIN       h2push binary                 (default: target/release/h2push, else debug)
#
# Each server runs with its defaults (h2o: one thread, max-connections 1024; nginx: one worker,
# worker_connections 1024, like bench/hostile.sh; h2push: one worker thread). The client is
# bench/burst_client.py (asyncio, bounded to 8,000 sockets and 30 s per request).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
H2PUSH_BIN=${H2PUSH_BIN:-$TARGET/release/h2push}
[[ -x $H2PUSH_BIN ]] || H2PUSH_BIN=$TARGET/debug/h2push
SERVERS=${BURST_SERVERS:-"h2push h2o nginx"}
PORT_BASE=${BURST_PORT_BASE:-18560}
IDLE=${BURST_IDLE:-1500}
SIZES=${*:-"1000 4000"}
CLIENT=$BENCH_DIR/burst_client.py

die() { echo "burst.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"

# A burst of 4,000 needs 4,000 client sockets and as many (or twice as many) server ones.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 12000)) || echo "warning: ulimit -n is $(ulimit -n); a 4,000 burst needs ~12,000" >&2
need python3 python3
need openssl openssl
need_servers $SERVERS

work_dir burst
make_cert
mkdir -p "$WORK/www"
printf 'hello from a small file\n' >"$WORK/www/small.txt"
chmod 755 "$WORK" "$WORK/www" # h2o and nginx workers may run as nobody

start() { # NAME TLS-PORT CLEAR-PORT
    local name=$1 tls=$2 clear=$3
    case $name in
        h2push)
            H2PUSH_WORKER_THREADS=1 NO_COLOR=1 RUST_LOG=warn "$H2PUSH_BIN" serve "$WORK/www" \
                --listen "127.0.0.1:$tls" --http "127.0.0.1:$clear" \
                --cert "$WORK/cert.pem" --key "$WORK/key.pem" >"$WORK/h2push.log" 2>&1 &
            ;;
        h2o)
            cat >"$WORK/h2o.conf" <<EOF
num-threads: 1
error-log: $WORK/h2o.err
listen:
  host: 127.0.0.1
  port: $tls
  ssl:
    certificate-file: $WORK/cert.pem
    key-file: $WORK/key.pem
    ocsp-update-interval: 0
listen:
  host: 127.0.0.1
  port: $clear
hosts:
  default:
    paths:
      /:
        file.dir: $WORK/www
EOF
            h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
            ;;
        nginx)
            mkdir -p "$WORK/nginx"
            cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
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
        listen 127.0.0.1:$tls ssl;
        listen 127.0.0.1:$clear;
        server_name localhost;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        root $WORK/www;
    }
}
EOF
            nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
                >"$WORK/nginx.log" 2>&1 &
            ;;
    esac
    PID[$name]=$!
}

echo "# bench/burst.sh $(date -u +%F) on $(nproc) cores ($(uname -r)); h2push: $H2PUSH_BIN"
echo "# somaxconn=$(cat /proc/sys/net/core/somaxconn) ulimit -n=$(ulimit -n)"
port=$PORT_BASE
for s in $SERVERS; do
    tls=$port clear=$((port + 1))
    port=$((port + 2))
    start "$s" "$tls" "$clear"
    if ! why=$(wait_listening "$s" "$tls"); then
        echo "$s: $why"
        continue
    fi
    wait_listening "$s" "$clear" >/dev/null || true
    for n in $SIZES; do
        for proto in tls clear; do
            p=$clear flag=""
            [[ $proto == tls ]] && p=$tls flag=--tls
            python3 "$CLIENT" burst --port "$p" $flag --conns "$n" --label "$s $proto burst $n"
            sleep 2 # let TIME_WAIT and the server's lingering closes settle
        done
    done
    if ((IDLE > 0)); then
        for proto in tls clear; do
            p=$clear flag=""
            [[ $proto == tls ]] && p=$tls flag=--tls
            python3 "$CLIENT" idle --port "$p" $flag --idle "$IDLE" --conns 1000 \
                --probe-secs 10 --label "$s $proto idle $IDLE +1000"
            sleep 2
        done
    fi
    if [[ $s == h2push ]]; then # its refusals, by reason (the last line of each has the total)
        grep -h "client refused" "$WORK/h2push.log" | sed 's/^/#   /' | tail -n 6 || true
    fi
    stop_server "$s"
done
