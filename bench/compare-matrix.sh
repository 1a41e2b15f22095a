#!/usr/bin/env bash
# `compare` across networks and views, with nghttp as a referee (issue 11's table).
#
# Serves, with the h2push release binary, three pages on loopback and loads each through
# `compare`'s emulated link, under three networks:
#   flat     --rtt 100ms                               (a fixed-delay pipe)
#   slow     --rtt 100ms --slow-start                  (TCP slow start from 10 segments)
#   capped   --rtt 100ms --slow-start --bandwidth 10mbit
# Pages:
#   site     the repository's site/ (a four-level dependency chain through CSS)
#   reveal   reveal.js 6.0.2's demo.html (`npm pack reveal.js@6.0.2`, cached in bench/out/cache)
#   referee  a page whose subresources are all in the HTML (nghttp -a follows only the HTML)
# For each: the built-in client (`compare --views first,repeat --modes push,hints,none --json`),
# and on the referee page `nghttp -ans` through `compare --proxy-only` with the same network
# (push, and --no-push), the page-load time being the largest responseEnd.
#
# Environment:
#   BENCH_RUNS        loads per mode and view      (default 5)
#   BENCH_NETWORKS    which networks               (default "flat slow capped")
#   BENCH_PAGES       which pages                  (default "site reveal referee")
#   BENCH_PORT_BASE   first loopback port (6 used) (default 18490)
#   H2PUSH_BIN        h2push binary                (default target/release/h2push)
# Build first: cargo build --release. Needs nghttp (nghttp2-client), npm (for reveal), python3.
# Output: a table on stdout, also in bench/out/compare-matrix-<date>.txt.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${BENCH_RUNS:-5}
NETWORKS=${BENCH_NETWORKS:-"flat slow capped"}
PAGES=${BENCH_PAGES:-"site reveal referee"}
PORT_BASE=${BENCH_PORT_BASE:-18490}
H2PUSH_BIN=${H2PUSH_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/h2push}
OUT_DIR=$BENCH_DIR/out
CACHE_DIR=$OUT_DIR/cache

die() { echo "compare-matrix.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
need nghttp nghttp2-client
need python3 python3
[[ -x $H2PUSH_BIN ]] || die "no h2push at $H2PUSH_BIN: cargo build --release (or set H2PUSH_BIN)"
work_dir h2push-compare-matrix
mkdir -p "$OUT_DIR" "$CACHE_DIR"

network_flags() { # NAME
    case $1 in
        flat) echo "--rtt 100ms" ;;
        slow) echo "--rtt 100ms --slow-start" ;;
        capped) echo "--rtt 100ms --slow-start --bandwidth 10mbit" ;;
        *) die "unknown network '$1' (flat slow capped)" ;;
    esac
}

# ---------------------------------------------------------------- pages
fetch_reveal() {
    local tgz=$CACHE_DIR/reveal.js-6.0.2.tgz
    if [[ ! -f $tgz ]]; then
        need npm npm
        (cd "$CACHE_DIR" && npm pack reveal.js@6.0.2 >/dev/null 2>&1) ||
            die "npm pack reveal.js@6.0.2 failed"
    fi
    mkdir -p "$WORK/reveal"
    tar -xzf "$tgz" -C "$WORK/reveal"
}

make_referee() {
    mkdir -p "$WORK/referee"
    cp -r "$REPO_ROOT"/site/{css,js,img} "$WORK/referee/"
    cat >"$WORK/referee/index.html" <<'HTML'
<!doctype html><html lang="en"><head><meta charset="utf-8"><title>referee</title>
<link rel="stylesheet" href="css/article.css"><script src="js/app.js" defer></script>
</head><body><img src="img/hero.png" alt=""><img src="img/channels.svg" alt=""></body></html>
HTML
}

declare -A ROOT=([site]=$REPO_ROOT/site [reveal]=$WORK/reveal/package [referee]=$WORK/referee)
declare -A PATH_OF=([site]=/ [reveal]=/demo.html [referee]=/)
declare -A PORT_OF=()

start_h2push() { # NAME PORT
    local name=$1 port=$2
    "$H2PUSH_BIN" serve "${ROOT[$name]}" --listen "127.0.0.1:$port" --certs-dir "$WORK/certs" \
        >"$WORK/h2push-$name.log" 2>&1 &
    PID["h2push-$name"]=$!
    wait_listening "h2push-$name" "$port" || die "h2push on $name did not start"
    PORT_OF[$name]=$port
}

port=$PORT_BASE
for page in $PAGES; do
    case $page in
        reveal) fetch_reveal ;;
        referee) make_referee ;;
        site) ;;
        *) die "unknown page '$page' (site reveal referee)" ;;
    esac
    start_h2push "$page" "$port"
    port=$((port + 1))
done
CA=$WORK/certs/ca.pem
PROXY_PORT=$port

# ---------------------------------------------------------------- measuring
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=$OUT_DIR/compare-matrix-$STAMP.txt
RAW=$OUT_DIR/compare-matrix-$STAMP.d
mkdir -p "$RAW"

builtin() { # PAGE NETWORK: one JSON report
    local page=$1 net=$2
    # shellcheck disable=SC2046
    "$H2PUSH_BIN" compare "https://localhost:${PORT_OF[$page]}${PATH_OF[$page]}" --ca "$CA" \
        $(network_flags "$net") --runs "$RUNS" --views first,repeat --json \
        >"$RAW/$page-$net.json" 2>"$RAW/$page-$net.err" ||
        die "compare failed on $page/$net: $(tail -3 "$RAW/$page-$net.err")"
}

referee() { # NETWORK: nghttp through the proxy, push and no push, RUNS loads each
    local net=$1 mode i
    # shellcheck disable=SC2046
    "$H2PUSH_BIN" compare --proxy-only $(network_flags "$net") --listen "127.0.0.1:$PROXY_PORT" \
        --upstream "127.0.0.1:${PORT_OF[referee]}" 2>"$RAW/proxy-$net.err" &
    PID[proxy]=$!
    wait_listening proxy "$PROXY_PORT" || die "the proxy did not start"
    for mode in push nopush; do
        local flags=(-ans -w 24 -W 24)
        [[ $mode == nopush ]] && flags+=(--no-push)
        for ((i = 0; i < RUNS; i++)); do
            nghttp "${flags[@]}" "https://localhost:$PROXY_PORT/" >"$RAW/nghttp-$net-$mode-$i.txt" 2>&1 || true
        done
    done
    stop_server proxy
}

for net in $NETWORKS; do
    for page in $PAGES; do
        log "$page, $net: built-in client, first and repeat view"
        builtin "$page" "$net"
    done
    if [[ " $PAGES " == *" referee "* ]]; then
        log "referee, $net: nghttp"
        referee "$net"
    fi
done

# ---------------------------------------------------------------- table
{
    echo "compare matrix, $(date -u +%Y-%m-%d), $RUNS loads per cell (median ms; repeat = second load"
    echo "on a new connection with the first load's cache and cookies); h2push $("$H2PUSH_BIN" --version 2>/dev/null | head -1); $(nproc) cores"
    python3 - "$RAW" "$NETWORKS" "$PAGES" <<'PY'
import json, os, re, statistics, sys
raw, networks, pages = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print(f"{'page':<8} {'network':<7} {'view':<6} {'push':>8} {'hints':>8} {'none':>8} {'push KiB':>9} {'none/push':>9}")
for net in networks:
    for page in pages:
        path = os.path.join(raw, f"{page}-{net}.json")
        if not os.path.exists(path):
            continue
        report = json.load(open(path))
        for view in ("first", "repeat"):
            row = {m["mode"]: m for m in report["modes"] if m["view"] == view}
            if not row:
                continue
            ms = lambda mode: row[mode]["load_ms"]["median"] if mode in row else float("nan")
            pushed = row.get("push", {}).get("pushed_bytes", 0) / 1024
            print(f"{page:<8} {net:<7} {view:<6} {ms('push'):>8.1f} {ms('hints'):>8.1f} {ms('none'):>8.1f} {pushed:>9.1f} {ms('none')/ms('push'):>9.2f}")
print()
print("referee page: nghttp -ans through the same link (median of the largest responseEnd) vs the built-in client")
print(f"{'network':<7} {'mode':<7} {'nghttp':>8} {'built-in':>9} {'diff':>6}")
def end_ms(text):
    ends = []
    for m in re.finditer(r"^\s*\d+\s+\+([\d.]+)(ms|us|s)\b", text, re.M):
        v = float(m.group(1)); unit = m.group(2)
        ends.append(v * {"ms": 1, "us": 1e-3, "s": 1e3}[unit])
    return max(ends) if ends else None
for net in networks:
    path = os.path.join(raw, f"referee-{net}.json")
    if not os.path.exists(path):
        continue
    report = json.load(open(path))
    first = {m["mode"]: m["load_ms"]["median"] for m in report["modes"] if m["view"] == "first"}
    for mode, key in (("push", "push"), ("nopush", "none")):
        runs = []
        i = 0
        while os.path.exists(os.path.join(raw, f"nghttp-{net}-{mode}-{i}.txt")):
            v = end_ms(open(os.path.join(raw, f"nghttp-{net}-{mode}-{i}.txt")).read())
            if v is not None:
                runs.append(v)
            i += 1
        if not runs:
            print(f"{net:<7} {mode:<7} {'-':>8}")
            continue
        ng = statistics.median(runs)
        ours = first.get(key, float("nan"))
        print(f"{net:<7} {mode:<7} {ng:>8.1f} {ours:>9.1f} {100*(ours-ng)/ng:>5.1f}%")
PY
} | tee "$OUT"
echo "raw reports and nghttp output: $RAW" >&2
