# Sourced by the bench scripts that put h2push next to other servers: start h2o, nginx, nghttpd
# and h2push on a loopback port, each with one worker, serving $WORK/www over TLS HTTP/2 with
# the certificate make_cert writes; read their logs; stop them.
#
# The caller defines die(), sets H2PUSH_BIN, calls work_dir, and may set SERVER_PIN to a command
# prefix such as "taskset -c 0" (it execs the server, so $! stays the server's own pid) and
# define cleanup_more(), run first when the script exits.

SERVER_PIN=${SERVER_PIN:-}
declare -A PID=() # server name -> pid of its main process

work_dir() { # PREFIX: WORK, a temp dir removed (after stopping every server) when the script exits
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

cleanup() {
    local name
    [[ $(type -t cleanup_more) != function ]] || cleanup_more
    for name in "${!PID[@]}"; do stop_server "$name"; done
    rm -rf "$WORK"
}

need() { # need COMMAND APT-PACKAGE
    command -v "$1" >/dev/null 2>&1 ||
        die "'$1' not found; install it with: apt-get install -y $2"
}

need_servers() { # NAMES...: the servers' own tools, or the h2push binary
    local s
    for s in "$@"; do
        case $s in
            h2o) need h2o h2o ;;
            nginx) need nginx nginx-light ;;
            nghttpd) need nghttpd nghttp2-server ;;
            h2push | h2push-log)
                [[ -x $H2PUSH_BIN ]] ||
                    die "h2push binary not found at $H2PUSH_BIN; build it (cargo build --release), point H2PUSH_BIN at it, or leave it out of BENCH_SERVERS"
                ;;
            *) die "unknown server '$s' in BENCH_SERVERS (known: h2o nginx nghttpd h2push h2push-log)" ;;
        esac
    done
}

make_cert() { # a self-signed ECDSA P-256 certificate for localhost and 127.0.0.1 in $WORK
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log" ||
        die "openssl could not make a certificate: $(cat "$WORK/openssl.log")"
}

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
    # no OCSP stapling: a self-signed certificate has no responder to ask
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        file.dir: $WORK/www
EOF
    $SERVER_PIN h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
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
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    # The default (1000 requests per connection, then GOAWAY) would make nginx reconnect
    # during a run; the other servers have no such limit.
    keepalive_requests 1000000;
    # h2o and nghttpd keep served files open between requests; without this nginx opens,
    # stats and closes the file on every request.
    open_file_cache max=1000;
    server {
        $listen
        $http2
        server_name localhost;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;  # before 1.23.4 the default has no TLSv1.3
        root $WORK/www;
    }
}
EOF
    $SERVER_PIN nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
        >"$WORK/nginx.log" 2>&1 &
    PID[nginx]=$!
}

start_nghttpd() { # PORT; nghttpd has a single thread unless given -n
    $SERVER_PIN nghttpd --address=127.0.0.1 -d "$WORK/www" "$1" "$WORK/key.pem" "$WORK/cert.pem" \
        >"$WORK/nghttpd.log" 2>&1 &
    PID[nghttpd]=$!
}

start_h2push() { # PORT; one tokio worker thread via H2PUSH_WORKER_THREADS
    # BENCH_H2PUSH_ACCESS_LOG=1 keeps the access log on (to $WORK/h2push.log, as stderr would go);
    # BENCH_H2PUSH_ARGS adds flags (e.g. "--log-format json").
    run_h2push h2push "$1" "${BENCH_H2PUSH_ACCESS_LOG:-0}"
}

start_h2push-log() { # PORT; h2push as above with its default access log on (pretty, to stderr)
    run_h2push h2push-log "$1" 1
}

run_h2push() { # NAME PORT LOG(0|1)
    local log=warn
    [ "$3" = 1 ] && log=info
    # shellcheck disable=SC2086 # BENCH_H2PUSH_ARGS is a list of flags
    H2PUSH_WORKER_THREADS=1 RUST_LOG=$log $SERVER_PIN "$H2PUSH_BIN" serve "$WORK/www" \
        --listen "127.0.0.1:$2" --cert "$WORK/cert.pem" --key "$WORK/key.pem" ${BENCH_H2PUSH_ARGS:-} \
        >"$WORK/$1.log" 2>&1 &
    PID[$1]=$!
}

server_log() { # NAME: the files a server wrote its complaints to
    case $1 in
        nginx) cat "$WORK/nginx.log" "$WORK/nginx/error.log" 2>/dev/null ;;
        h2o) cat "$WORK/h2o.log" "$WORK/h2o.err" 2>/dev/null ;;
        *) cat "$WORK/$1.log" 2>/dev/null ;;
    esac
}

# Prints what went wrong and returns 1, so the caller can report the server and go on.
wait_listening() { # NAME PORT: until the port accepts connections
    local name=$1 port=$2 i
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            echo "exited at startup: $(server_log "$name" | tail -n 5 | tr '\n' ' ')"
            return 1
        fi
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "did not listen on 127.0.0.1:$port within 10 s"
    return 1
}

stop_server() { # NAME: SIGTERM, wait up to 15 s, then SIGKILL whatever is left
    local name=$1 pid=${PID[$1]:-} kids i
    [[ -n $pid ]] || return 0
    kids=$(pgrep -P "$pid" || true)
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "warning: $name (pid $pid) ignored SIGTERM for 15 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for i in $kids; do # e.g. an nginx worker or h2o's key process that outlived its parent
        kill -KILL "$i" 2>/dev/null || true
    done
    unset "PID[$name]"
}
