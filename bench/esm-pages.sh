#!/usr/bin/env bash
# Two real unbundled ES-module pages built from npm packages, and how much of their module graph
# `h2push scan` finds, against the graph Chromium really loads:
#
#   lit:      a small app on lit 3 (lit, lit-html, lit-element, @lit/reactive-element) with an
#             import map, three app modules deep (main.js -> app.js -> view.js -> lit);
#   shoelace: @shoelace-style/shoelace's cdn/ build, a page importing four components from an
#             inline <script type=module>.
#
# Needs npm (the tarballs are fetched once with `npm pack` into $ESM_CACHE; offline after that),
# a release build (cargo build --release, or H2PUSH_BIN), chromium and certutil for the real graph.
# Prints, per page: modules scan found, scan's time, modules Chromium requested with hints off;
# the built-in client's push, hints and none at 100 ms RTT; with COMPARE=1 also Chromium's
# (`compare --modes none --browser chromium`) against h2push's defaults and against hints off.
set -euo pipefail

BIN=${H2PUSH_BIN:-$(pwd)/target/release/h2push}
CACHE=${ESM_CACHE:-$HOME/.cache/h2push-esm}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
mkdir -p "$CACHE"

# The tarball of a package, fetched with npm once.
tarball() {
  local spec=$1 glob=$2
  local found
  found=$(ls "$CACHE"/$glob 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$found" ]; then
    (cd "$CACHE" && npm pack --silent "$spec" >/dev/null)
    found=$(ls "$CACHE"/$glob | sort -V | tail -1)
  fi
  echo "$found"
}

unpack() { mkdir -p "$2" && tar xzf "$1" --strip-components=1 -C "$2"; }

# --- lit app ---
LIT=$WORK/lit
unpack "$(tarball lit@3 'lit-3.*.tgz')" "$LIT/node_modules/lit"
unpack "$(tarball lit-html@3 'lit-html-3.*.tgz')" "$LIT/node_modules/lit-html"
unpack "$(tarball lit-element@4 'lit-element-4.*.tgz')" "$LIT/node_modules/lit-element"
unpack "$(tarball @lit/reactive-element@2 'lit-reactive-element-2.*.tgz')" \
  "$LIT/node_modules/@lit/reactive-element"
mkdir -p "$LIT/js"
cat > "$LIT/index.html" <<'EOF'
<!doctype html><html><head><meta charset=utf-8><title>lit app</title>
<script type=importmap>{"imports": {
  "lit": "/node_modules/lit/index.js", "lit/": "/node_modules/lit/",
  "lit-html": "/node_modules/lit-html/lit-html.js", "lit-html/": "/node_modules/lit-html/",
  "lit-element/lit-element.js": "/node_modules/lit-element/lit-element.js",
  "lit-element/": "/node_modules/lit-element/",
  "@lit/reactive-element": "/node_modules/@lit/reactive-element/reactive-element.js",
  "@lit/reactive-element/": "/node_modules/@lit/reactive-element/"}}</script>
<script type=module src="/js/main.js"></script></head>
<body><x-view></x-view></body></html>
EOF
echo "import './app.js';" > "$LIT/js/main.js"
echo "import './view.js';" > "$LIT/js/app.js"
cat > "$LIT/js/view.js" <<'EOF'
import { LitElement, html } from 'lit';
customElements.define('x-view', class extends LitElement {
  render() { return html`<h1>hello from lit</h1>`; }
});
EOF

# --- shoelace cdn/ ---
SL=$WORK/shoelace
unpack "$(tarball @shoelace-style/shoelace@2.20 'shoelace-style-shoelace-2.20.*.tgz')" "$WORK/sl-pkg"
mkdir -p "$SL" && cp -r "$WORK/sl-pkg/cdn" "$SL/cdn"
cat > "$SL/index.html" <<'EOF'
<!doctype html><html><head><meta charset=utf-8><title>shoelace</title>
<link rel=stylesheet href="/cdn/themes/light.css">
<script type=module>
import '/cdn/components/button/button.js';
import '/cdn/components/card/card.js';
import '/cdn/components/input/input.js';
import '/cdn/components/dialog/dialog.js';
</script></head>
<body><sl-card><sl-input label=name></sl-input><sl-button>go</sl-button></sl-card>
<sl-dialog label=d>x</sl-dialog></body></html>
EOF

# The modules Chromium requests for a page served with hints, preload headers and push off.
real_graph() {
  local dir=$1 port=$2
  local log=$WORK/access-$port.log
  "$BIN" serve "$dir" --listen 127.0.0.1:$port --certs-dir "$WORK/certs" --push off \
    --early-hints off --preload-headers off --access-log "$log" --log-format combined \
    2>/dev/null &
  local pid=$!
  sleep 1
  local home=$WORK/home
  if [ ! -d "$home/.pki/nssdb" ]; then
    mkdir -p "$home/.pki/nssdb"
    certutil -N -d "sql:$home/.pki/nssdb" --empty-password
    certutil -A -d "sql:$home/.pki/nssdb" -n h2push -t "CP,," -i "$WORK/certs/ca.pem"
  fi
  HOME=$home timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d -p "$WORK")" --virtual-time-budget=8000 --dump-dom \
    "https://localhost:$port/" >/dev/null 2>&1 || true
  kill $pid; wait $pid 2>/dev/null || true
  grep -c '\.js HTTP/2.0" 200' "$log" || true
}

printf '%-9s %8s %8s %10s %14s\n' page found skipped scan_ms chromium_real
port=18600
for page in lit shoelace; do
  dir=$WORK/$page
  json=$("$BIN" scan "$dir" /index.html --json)
  found=$(echo "$json" | node -e 'const r=JSON.parse(require("fs").readFileSync(0));
    console.log(r.pages[0].assets.filter(a=>a.path.endsWith(".js")).length)')
  skipped=$(echo "$json" | node -e 'const r=JSON.parse(require("fs").readFileSync(0));
    console.log(r.pages[0].skipped.length)')
  # Median of five scans, from scan's own summary.
  ms=$(for _ in 1 2 3 4 5; do "$BIN" scan "$dir" /index.html 2>&1 | grep -o 'in [0-9.]* ms' \
    | grep -o '[0-9.]*'; done | sort -n | sed -n 3p)
  real=$(real_graph "$dir" $port)
  printf '%-9s %8s %8s %10s %14s\n' "$page" "$found" "$skipped" "$ms" "$real"
  # The built-in client (no browser): push, hints and none against h2push's defaults.
  "$BIN" serve "$dir" --listen 127.0.0.1:$((port + 1)) --certs-dir "$WORK/certs" 2>/dev/null &
  spid=$!
  sleep 1
  echo "$page: built-in client, 100 ms RTT, 3 runs"
  "$BIN" compare "https://localhost:$((port + 1))/" --rtt 100ms --runs 3 --modes push,hints,none \
    --ca "$WORK/certs/ca.pem" 2>&1 | grep -iE 'load|push|hints|none' | head -20
  if [ "${COMPARE:-0}" = 1 ]; then
    # Chromium cannot ignore a 103, so "off" is a second server without hints, preloads, push.
    "$BIN" serve "$dir" --listen 127.0.0.1:$((port + 2)) --certs-dir "$WORK/certs" --push off \
      --early-hints off --preload-headers off 2>/dev/null &
    opid=$!
    sleep 1
    for p in $((port + 1)) $((port + 2)); do
      echo "$page: chromium, server on $p ($([ $p = $((port + 1)) ] && echo defaults || echo off))"
      "$BIN" compare "https://localhost:$p/" --rtt 100ms --runs 3 --modes none \
        --browser chromium --ca "$WORK/certs/ca.pem" 2>&1 | grep -iE 'load|lcp|none' | head -20
    done
    kill $opid; wait $opid 2>/dev/null || true
  fi
  kill $spid; wait $spid 2>/dev/null || true
  port=$((port + 3))
done
