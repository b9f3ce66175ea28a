#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds with warnings as
# errors, checks formatting, and runs the whole test suite on every core. Then, unless
# skipped, the same suite again built with ASan + UBSan (build-asan/: the integration tests
# start the sanitized korehookd from there too).
#   KOREHOOK_SKIP_SANITIZE=1  skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export KOREHOOK_WERROR=ON
BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh
bash scripts/format.sh --check
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --parallel "$(nproc)" --timeout 300)

if [ "${KOREHOOK_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "test: sanitizer pass (build-asan)"
  BUILD_DIR=build-asan bash scripts/build.sh -DKOREHOOK_SANITIZE=ON
  # Any report fails the test that caused it: the process stops with a non-zero status.
  export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  (cd build-asan && ctest --output-on-failure --parallel "$(nproc)" --timeout 600)
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi
