#!/usr/bin/env bash
# Clean `cargo build --release` of one or more commits, one after another: wall time, user+sys
# CPU time (the fairer number on a shared machine), peak RSS and the number of crates compiled.
#
# Usage: bench/build-time.sh REV[:FEATURES] ...
#   e.g. bench/build-time.sh a3afcde HEAD HEAD:chromium
# Each REV is exported with `git archive` into a fresh directory under $BENCH_BUILD_DIR
# (default /tmp/h2push-build-time) and built with its own empty CARGO_TARGET_DIR there, so the
# worktree's target/ is not touched. Crates come from the local cargo registry (`--locked`);
# fetch them first (`cargo fetch`) so the download is not timed. FEATURES, when given, is passed
# as `--features`. The log and the timings of each build are kept beside it; the target directory
# is removed once measured (its size is printed), unless BENCH_KEEP_TARGET=1: a clean release
# target is gigabytes, and the disk is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 REV[:FEATURES] ..." >&2; exit 2; }
out=${BENCH_BUILD_DIR:-/tmp/h2push-build-time}
mkdir -p "$out"
printf '%-24s %9s %9s %9s %8s %8s %7s\n' "build" "wall" "user+sys" "maxRSS" "crates" "target" "status"
for spec in "$@"; do
  rev=${spec%%:*}
  features=""
  [ "$spec" != "$rev" ] && features=${spec#*:}
  sha=$(git rev-parse --short "$rev")
  name="$sha${features:+-$features}"
  dir="$out/$name"
  rm -rf "$dir"
  mkdir -p "$dir/src"
  git archive "$sha" | tar -x -C "$dir/src"
  args=(build --release --locked)
  [ -n "$features" ] && args+=(--features "$features")
  status=ok
  ( cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" CARGO_TERM_COLOR=never \
      /usr/bin/time -v -o "$dir/time.txt" cargo "${args[@]}" ) >"$dir/build.log" 2>&1 || status=failed
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.txt")
  user=$(sed -n 's/.*User time (seconds): //p' "$dir/time.txt")
  sys=$(sed -n 's/.*System time (seconds): //p' "$dir/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { t = u + s; printf "%dm%02ds", t / 60, t % 60 }')
  crates=$(grep -c '^ *Compiling ' "$dir/build.log" || true)
  size=$(du -sh "$dir/target" | cut -f1)
  [ "${BENCH_KEEP_TARGET:-0}" = 1 ] || rm -rf "$dir/target" "$dir/src"
  printf '%-24s %9s %9s %7sMB %8s %8s %7s\n' "$name" "$wall" "$cpu" "$((rss / 1024))" "$crates" "$size" "$status"
done
