#!/usr/bin/env bash
# Compares two korehookd builds on this machine. One run of the bench moves by 10-20 % with
# the machine, more than most single changes; so this runs korehook-bench for each build in
# turn (A B A B ...), PAIRS times, and prints for each figure of the table the mean of A and
# of B and the mean ratio B/A over the pairs with its standard error. The ratio of a pair
# takes out what drifts slowly; 20 pairs at BENCH_SCALE 0.3 took about 8 minutes for the
# drain scenario here and brought the standard error of its ratios to about 3 %.
#
#   bash bench/ab.sh [-n PAIRS] [-s SCALE] [-o ONLY] DAEMON_A DAEMON_B
#
# DAEMON_A and DAEMON_B: korehookd binaries (or scripts that exec one with some environment).
# PAIRS defaults to 20, SCALE to 0.3, ONLY (BENCH_ONLY) to drain. Other BENCH_* variables pass
# through (e.g. BENCH_E2E_RATES with -o e2e). Run scripts/bench.sh once first: it installs
# nginx and wrk and builds $BUILD_DIR/bench/korehook-bench (BUILD_DIR defaults to
# build-release). Each run's output is kept in $BUILD_DIR/bench/ab/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

pairs=20 scale=0.3 only=drain
while getopts "n:s:o:" opt; do
  case $opt in
    n) pairs=$OPTARG ;;
    s) scale=$OPTARG ;;
    o) only=$OPTARG ;;
    *) echo "usage: bash bench/ab.sh [-n PAIRS] [-s SCALE] [-o ONLY] DAEMON_A DAEMON_B" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -ne 2 ]; then
  echo "usage: bash bench/ab.sh [-n PAIRS] [-s SCALE] [-o ONLY] DAEMON_A DAEMON_B" >&2
  exit 2
fi
if ! [[ $pairs =~ ^[1-9][0-9]*$ ]] || [ "$pairs" -lt 2 ]; then
  echo "ab: PAIRS must be a whole number of at least 2 (got '$pairs')" >&2
  exit 2
fi
if ! [[ $scale =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || ! awk -v s="$scale" 'BEGIN { exit !(s > 0) }'; then
  echo "ab: SCALE must be a positive number such as 0.3 (got '$scale')" >&2
  exit 2
fi
if [ -z "$only" ]; then
  echo "ab: ONLY must name scenarios (drain, batch, e2e, latency, isolation, backlog)" >&2
  exit 2
fi
for daemon in "$1" "$2"; do
  if [ ! -x "$daemon" ]; then
    echo "ab: '$daemon' is not an executable file" >&2
    exit 2
  fi
done
daemon_a=$(realpath "$1")
daemon_b=$(realpath "$2")
cd "$root"
build_dir=${BUILD_DIR:-build-release}
bench="$build_dir/bench/korehook-bench"
if [ ! -x "$bench" ]; then
  echo "ab: $bench is missing: run scripts/bench.sh once first" >&2
  exit 2
fi
out="$build_dir/bench/ab"
mkdir -p "$out"
rm -f "$out"/run-*.txt
ulimit -n 20000 2>/dev/null || true

for ((i = 1; i <= pairs; i++)); do
  for side in a b; do
    if [ $side = a ]; then daemon=$daemon_a; else daemon=$daemon_b; fi
    file="$out/run-$i-$side.txt"
    KOREHOOK_BENCH_DAEMON=$daemon BENCH_SCALE=$scale BENCH_ONLY=$only \
      timeout -k 10 600 "$bench" >"$file" 2>&1 || echo "ab: run $i $side failed (see $file)" >&2
  done
  echo "ab: pair $i of $pairs done" >&2
done

# The figures of a run: for each row of the table, the first two numbers of its korehook
# column ("1" the drain rate; "4" and "4.2" the p50 and p99; "8" and "8.2" the CPU per
# delivery and per event), as "key value" lines, thousands separators dropped.
figures() {
  awk -F'|' '/^\| [0-9][a-z]? \|/ {
      key = $2; gsub(/ /, "", key)
      cell = $4; gsub(/,/, "", cell)
      n = 0
      # Numbers standing alone: not the 50 of "p50".
      while (match(cell, /(^| )[0-9]+(\.[0-9]+)?/) && n < 2) {
        n++
        number = substr(cell, RSTART, RLENGTH); sub(/^ /, "", number)
        print key (n == 1 ? "" : "." n), number
        cell = substr(cell, RSTART + RLENGTH)
      }
    }' "$1"
}

{
  for ((i = 1; i <= pairs; i++)); do
    figures "$out/run-$i-a.txt" | sed "s/^/$i a /"
    figures "$out/run-$i-b.txt" | sed "s/^/$i b /"
  done
} | awk -v A="$1" -v B="$2" '
  { v[$1, $2, $3] = $4; keys[$3] = 1; if ($1 > np) np = $1 }
  END {
    printf "A = %s\nB = %s\n", A, B
    printf "%-6s %5s %12s %12s %10s %8s\n", "figure", "pairs", "mean A", "mean B", "B/A", "+-se"
    for (k in keys) {
      n = 0; sa = 0; sb = 0; sr = 0; srr = 0
      for (i = 1; i <= np; i++) {
        if (!((i, "a", k) in v) || !((i, "b", k) in v) || v[i, "a", k] == 0) continue
        a = v[i, "a", k]; b = v[i, "b", k]; r = b / a
        n++; sa += a; sb += b; sr += r; srr += r * r
      }
      if (n < 2) continue
      mean = sr / n; var = (srr - n * mean * mean) / (n - 1); if (var < 0) var = 0
      printf "%-6s %5d %12.2f %12.2f %10.3f %8.3f\n", k, n, sa / n, sb / n, mean, sqrt(var / n)
    }
  }' | { read -r l1; read -r l2; read -r l3; printf '%s\n%s\n%s\n' "$l1" "$l2" "$l3"; sort; }
