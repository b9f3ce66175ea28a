#!/usr/bin/env bash
# Installs what korehook needs to build, run and test, from Debian 12 packages only.
# Idempotent: installs nothing when everything is present. Run as root.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config clang-format
  # The fuzzing pass of scripts/test.sh: clang with its libFuzzer and sanitizer runtimes.
  clang libclang-rt-14-dev
  # Boost 1.81 headers: korehook uses only header-only Boost (Asio, Beast, JSON, URL), so
  # the header package is enough; libboost1.81-all-dev works as well.
  libboost1.81-dev
  libssl-dev openssl
  libsqlite3-dev
  # korehookd's allocator (CMakeLists.txt, KOREHOOK_MIMALLOC).
  libmimalloc-dev
  libspdlog-dev
  libyaml-cpp-dev
  libsystemd-dev
  catch2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
