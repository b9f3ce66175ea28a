#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds with warnings as
# errors, checks formatting, and runs the whole test suite on every core.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export KOREHOOK_WERROR=ON
BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh
bash scripts/format.sh --check
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" --timeout 300
