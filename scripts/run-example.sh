#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs korehookd in the
# foreground on config/korehook.example.yaml with the embedded SQLite store. Everything it
# writes stays under the checkout (./run for the API socket, ./var for the database).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh
mkdir -p run var
if [ ! -s var/secrets.key ]; then
  (umask 077 && openssl rand -hex 32 > var/secrets.key)
  echo "created var/secrets.key (the key that encrypts secrets at rest)"
fi
exec "${BUILD_DIR:-build}/korehookd" --config config/korehook.example.yaml
