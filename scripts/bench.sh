#!/usr/bin/env bash
# The benchmark, one command (docs/performance.md): installs nginx and wrk from Debian when
# missing (and the build dependencies, via install-deps.sh), builds korehookd and bench/ in
# Release into $BUILD_DIR (default build-release), and runs korehook-bench, which prints one
# table of korehook's figures and their ratios to wrk and raw SQLite on this machine.
# The bench stops by itself: scenarios that would not fit in BENCH_BUDGET_S (default 570 s) are
# skipped, and `timeout` is the backstop. Quick run: BENCH_SCALE=0.1 bash scripts/bench.sh.
# Other knobs: BENCH_ONLY, BENCH_LOG_LEVEL, KOREHOOK_BENCH_WRAPPER (see bench/main.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
missing=()
for p in nginx wrk; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Only the binaries: no nginx service is enabled or started by the bench.
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir=${BUILD_DIR:-build-release}
# The tests are not needed here; bench/ is outside `all` (EXCLUDE_FROM_ALL), built explicitly.
BUILD_DIR=$build_dir bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release -DKOREHOOK_TESTS=OFF
cmake --build "$build_dir" --parallel "$(nproc)" --target korehook-bench korehook-bench-sqlite korehook-bench-ideal

# The daemons and nginx hold many connections (1,000 endpoints in the backlog scenario).
ulimit -n 20000 2>/dev/null || true
budget=${BENCH_BUDGET_S:-570}
export BENCH_BUDGET_S=$budget
timeout -k 10 $((budget + 30)) "$build_dir/bench/korehook-bench" | tee "$build_dir/bench/last-run.txt"
