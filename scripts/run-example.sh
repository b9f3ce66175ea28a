#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs korehookd in the
# foreground on config/korehook.example.yaml with the embedded SQLite store. Everything it
# writes stays under the checkout (./run for the API socket, ./var for the database).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh
exec "${BUILD_DIR:-build}/korehookd" --config config/korehook.example.yaml
