#!/usr/bin/env bash
# The push policy and the push digest on two real pages no one here wrote (issue 10, parts 2-3).
#
# Pages (fetched with `npm pack`, cached in bench/out/cache):
#   reveal  reveal.js 6.0.2, demo.html   (4 stylesheets, 6 scripts, 1.7 MiB, one script 900 KB)
#   h5bp    html5-boilerplate 9.0.1, dist/index.html (a stylesheet, a script, two icons)
# Servers, each on the same page directory over TLS HTTP/2 on loopback:
#   h2push          `h2push serve` with DEFAULT flags (push policy, 103, Link, push digest)
#   h2push-nodigest the same with --push-digest off (repeat views without the cookie)
#   nghttpd         with a hand-written push list (-p PAGE=ASSET,...): every asset the page
#                   needs, the list a careful person would write for nghttpd
# Through `h2push compare --proxy-only --rtt 100ms` (a fixed 100 ms round trip, no bandwidth
# cap), for each page:
#   nghttp -ans -w 24 -W 24 (large windows, as bench/compare-matrix.sh), push and --no-push, to
#   h2push and to nghttpd: page load = the largest responseEnd, median of BENCH_RUNS loads;
#   `h2push compare --rtt 100ms --modes push,hints,none --views first,repeat` on h2push and
#   on h2push-nodigest: medians and bytes pushed in the first and the repeat view (the repeat
#   view is a new connection carrying the first view's cache and cookies).
# Targets from the issue: h2push push <= 1.05 x nghttpd push, and push / no push <= 0.6.
#
# Environment:
#   BENCH_RUNS        loads per cell               (default 7)
#   BENCH_PORT_BASE   first loopback port (5 used) (default 18520)
#   H2PUSH_BIN        h2push binary                (default target/release/h2push)
# Build first: cargo build --release. Needs nghttp, nghttpd (nghttp2-client, nghttp2-server),
# npm, openssl, python3.
# Output: a table on stdout, also in bench/out/push-policy-<date>.txt.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${BENCH_RUNS:-7}
PORT_BASE=${BENCH_PORT_BASE:-18520}
H2PUSH_BIN=${H2PUSH_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/h2push}
OUT_DIR=$BENCH_DIR/out
CACHE_DIR=$OUT_DIR/cache
RTT=100ms

die() { echo "push-policy.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
need nghttp nghttp2-client
need nghttpd nghttp2-server
need python3 python3
need openssl openssl
[[ -x $H2PUSH_BIN ]] || die "no h2push at $H2PUSH_BIN: cargo build --release (or set H2PUSH_BIN)"
work_dir h2push-push-policy
mkdir -p "$OUT_DIR" "$CACHE_DIR"
make_cert

fetch() { # NPM-SPEC DIR TARBALL-NAME: npm pack (once, cached), untar into $WORK/DIR
    if [[ ! -f $CACHE_DIR/$3 ]]; then
        need npm npm
        (cd "$CACHE_DIR" && npm pack "$1" >/dev/null 2>&1) || die "npm pack $1 failed"
    fi
    mkdir -p "$WORK/$2"
    tar -xzf "$CACHE_DIR/$3" -C "$WORK/$2"
}
fetch reveal.js@6.0.2 reveal reveal.js-6.0.2.tgz
fetch html5-boilerplate@9.0.1 h5bp html5-boilerplate-9.0.1.tgz

declare -A ROOT=([reveal]=$WORK/reveal/package [h5bp]=$WORK/h5bp/package/dist)
declare -A PAGE=([reveal]=/demo.html [h5bp]=/index.html)
# The hand-written nghttpd push lists: what each page needs to render, plus h5bp's two icons.
declare -A PUSH_LIST=(
    [reveal]=/dist/reset.css,/dist/reveal.css,/dist/theme/black.css,/dist/plugin/highlight/monokai.css,/dist/reveal.js,/dist/plugin/zoom.js,/dist/plugin/notes.js,/dist/plugin/search.js,/dist/plugin/markdown.js,/dist/plugin/highlight.js
    [h5bp]=/css/style.css,/js/app.js,/favicon.ico,/icon.svg
)

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=$OUT_DIR/push-policy-$STAMP.txt
RAW=$OUT_DIR/push-policy-$STAMP.d
mkdir -p "$RAW"

serve_h2push() { # NAME PORT ROOT [FLAGS...]
    local name=$1 port=$2 root=$3
    shift 3
    RUST_LOG=warn "$H2PUSH_BIN" serve "$root" --listen "127.0.0.1:$port" \
        --cert "$WORK/cert.pem" --key "$WORK/key.pem" "$@" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    wait_listening "$name" "$port" || die "$name did not start"
}

proxy() { # NAME LISTEN-PORT UPSTREAM-PORT
    "$H2PUSH_BIN" compare --proxy-only --rtt "$RTT" --listen "127.0.0.1:$2" \
        --upstream "127.0.0.1:$3" >"$WORK/$1.log" 2>&1 &
    PID[$1]=$!
    wait_listening "$1" "$2" || die "proxy $1 did not start"
}

nghttp_runs() { # TAG URL [FLAGS...]: RUNS loads, raw output in $RAW/TAG-i.txt
    local tag=$1 url=$2 i
    shift 2
    for ((i = 0; i < RUNS; i++)); do
        nghttp -ans -w 24 -W 24 "$@" "$url" >"$RAW/$tag-$i.txt" 2>&1 || true
    done
}

for page in reveal h5bp; do
    p=$PORT_BASE
    serve_h2push h2push "$p" "${ROOT[$page]}"
    serve_h2push h2push-nodigest $((p + 1)) "${ROOT[$page]}" --push-digest off
    $SERVER_PIN nghttpd --address=127.0.0.1 -d "${ROOT[$page]}" \
        "-p${PAGE[$page]}=${PUSH_LIST[$page]}" $((p + 2)) "$WORK/key.pem" "$WORK/cert.pem" \
        >"$WORK/nghttpd.log" 2>&1 &
    PID[nghttpd]=$!
    wait_listening nghttpd $((p + 2)) || die "nghttpd did not start"
    proxy proxy-h2push $((p + 3)) "$p"
    proxy proxy-nghttpd $((p + 4)) $((p + 2))

    log "$page: nghttp -ans through the $RTT proxy"
    nghttp_runs "$page-nghttp-h2push-push" "https://localhost:$((p + 3))${PAGE[$page]}"
    nghttp_runs "$page-nghttp-h2push-none" "https://localhost:$((p + 3))${PAGE[$page]}" --no-push
    nghttp_runs "$page-nghttp-nghttpd-push" "https://localhost:$((p + 4))${PAGE[$page]}"
    nghttp_runs "$page-nghttp-nghttpd-none" "https://localhost:$((p + 4))${PAGE[$page]}" --no-push

    log "$page: repeat view without a cache (the page changed, its assets did not): bytes pushed"
    nghttp -nv "https://localhost:$p${PAGE[$page]}" >"$RAW/$page-first-v.txt" 2>&1 || true
    cookie=$(sed -n 's/.*set-cookie: \(h2push-digest=[^;]*\).*/\1/p' "$RAW/$page-first-v.txt" | head -1)
    [[ -n $cookie ]] || die "$page: no h2push-digest cookie in the first response"
    nghttp -nv -H "cookie: $cookie" "https://localhost:$p${PAGE[$page]}" \
        >"$RAW/$page-repeat-cookie-v.txt" 2>&1 || true
    nghttp -nv "https://localhost:$p${PAGE[$page]}" >"$RAW/$page-repeat-nocookie-v.txt" 2>&1 || true
    # One stylesheet edited (a new ETag): only it is pushed to the client with the cookie.
    css=${PUSH_LIST[$page]%%,*}
    echo "/* edited */" >>"${ROOT[$page]}$css"
    sleep 1
    nghttp -nv -H "cookie: $cookie" "https://localhost:$p${PAGE[$page]}" \
        >"$RAW/$page-repeat-edited-v.txt" 2>&1 || true

    log "$page: compare (built-in client), first and repeat view, with and without the digest"
    for name in h2push h2push-nodigest; do
        port=$p
        [[ $name == h2push-nodigest ]] && port=$((p + 1))
        "$H2PUSH_BIN" compare "https://localhost:$port${PAGE[$page]}" --insecure --rtt "$RTT" \
            --runs "$RUNS" --modes push,hints,none --views first,repeat --json \
            >"$RAW/$page-compare-$name.json" 2>"$RAW/$page-compare-$name.err" ||
            die "compare failed on $page/$name: $(tail -3 "$RAW/$page-compare-$name.err")"
    done
    for name in proxy-h2push proxy-nghttpd nghttpd h2push-nodigest h2push; do
        stop_server "$name"
    done
done

{
    echo "push policy, $(date -u +%Y-%m-%d), $RUNS loads per cell, $RTT RTT (compare --proxy-only, no"
    echo "bandwidth cap); h2push $("$H2PUSH_BIN" --version 2>/dev/null | head -1) default flags; $(nproc) cores"
    python3 - "$RAW" <<'PY'
import json, os, re, statistics, sys
raw = sys.argv[1]

def end_ms(text):
    ends = []
    for m in re.finditer(r"^\s*\d+\s+\+([\d.]+)(ms|us|s)\b", text, re.M):
        ends.append(float(m.group(1)) * {"ms": 1, "us": 1e-3, "s": 1e3}[m.group(2)])
    return max(ends) if ends else None

def nghttp(tag):
    runs, i = [], 0
    while os.path.exists(os.path.join(raw, f"{tag}-{i}.txt")):
        v = end_ms(open(os.path.join(raw, f"{tag}-{i}.txt")).read())
        if v is not None:
            runs.append(v)
        i += 1
    return statistics.median(runs) if runs else float("nan")

print()
print("nghttp -ans (median of the largest responseEnd, ms)")
print(f"{'page':<7} {'h2push push':>11} {'h2push none':>11} {'nghttpd push':>12} {'nghttpd none':>12} {'push/nghttpd':>12} {'push/none':>9}")
for page in ("reveal", "h5bp"):
    hp, hn = nghttp(f"{page}-nghttp-h2push-push"), nghttp(f"{page}-nghttp-h2push-none")
    np_, nn = nghttp(f"{page}-nghttp-nghttpd-push"), nghttp(f"{page}-nghttp-nghttpd-none")
    print(f"{page:<7} {hp:>11.1f} {hn:>11.1f} {np_:>12.1f} {nn:>12.1f} {hp/np_:>12.2f} {hp/hn:>9.2f}")

print()
print("repeat view without a cache (nghttp -nv on a new connection: the page is a 200 again), bytes pushed")
def pushed(tag):
    text = open(os.path.join(raw, f"{tag}-v.txt")).read()
    frames = re.findall(r"recv DATA frame <length=(\d+), flags=0x[0-9a-f]+, stream_id=(\d+)>", text)
    return sum(int(n) for n, sid in frames if int(sid) % 2 == 0), len(re.findall(r"recv PUSH_PROMISE", text))
print(f"{'page':<7} {'first':>16} {'repeat, no cookie':>20} {'repeat, cookie':>16} {'one CSS edited':>16}")
for page in ("reveal", "h5bp"):
    cells = []
    for tag in ("first", "repeat-nocookie", "repeat-cookie", "repeat-edited"):
        b, n = pushed(f"{page}-{tag}")
        cells.append(f"{b:,} B/{n}")
    print(f"{page:<7} {cells[0]:>16} {cells[1]:>20} {cells[2]:>16} {cells[3]:>16}")

print()
print("h2push compare (built-in client; median load ms; KiB pushed per load, median)")
print(f"{'page':<7} {'server':<16} {'view':<7} {'push':>7} {'hints':>7} {'none':>7} {'push/none':>9} {'pushed KiB':>10}")
for page in ("reveal", "h5bp"):
    for name in ("h2push", "h2push-nodigest"):
        path = os.path.join(raw, f"{page}-compare-{name}.json")
        if not os.path.exists(path):
            continue
        report = json.load(open(path))
        for view in ("first", "repeat"):
            row = {m["mode"]: m for m in report["modes"] if m["view"] == view}
            ms = lambda mode: row[mode]["load_ms"]["median"] if mode in row else float("nan")
            pushed = row.get("push", {}).get("pushed_bytes", 0) / 1024
            print(f"{page:<7} {name:<16} {view:<7} {ms('push'):>7.1f} {ms('hints'):>7.1f} {ms('none'):>7.1f} {ms('push')/ms('none'):>9.2f} {pushed:>10.1f}")
PY
} | tee "$OUT"
echo "raw reports and nghttp output: $RAW" >&2
