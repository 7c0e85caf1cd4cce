#!/usr/bin/env bash
# Fails when a C++ file of the project is not formatted as .clang-format says (CI runs this).
# With --fix, formats the files in place instead.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT="${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}"
if [ -z "$CLANG_FORMAT" ]; then
  echo "check-format: clang-format not found (apt-get install clang-format)" >&2
  exit 1
fi
# Tracked files and new ones not yet added (but not ignored): a file about to be committed is
# checked before it lands, not by the next CI run.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | grep -v '^tests/data/' | sort -u)
if [ "${1:-}" = "--fix" ]; then
  "$CLANG_FORMAT" -i "${files[@]}"
  exit 0
fi
"$CLANG_FORMAT" --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted"
