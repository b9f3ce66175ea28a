#!/usr/bin/env bash
# Applies .clang-format to every C++ file (or, with --check, lists the files that differ).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.cc' 2>/dev/null || find include src tests -name '*.[ch]pp')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
  echo "format: ${#files[@]} files clean"
else
  clang-format -i "${files[@]}"
fi
