#!/usr/bin/env bash
# Configures and builds korehook into $BUILD_DIR (default: build/). Warnings are errors when
# CI is set or KOREHOOK_WERROR=ON.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
werror=${KOREHOOK_WERROR:-$([ -n "${CI:-}" ] && echo ON || echo OFF)}

cmake -S . -B "$build_dir" -G Ninja -DKOREHOOK_WERROR="$werror" "$@"
cmake --build "$build_dir" --parallel "$(nproc)"
