#!/usr/bin/env bash
# Sets up (apt), builds everything and runs the whole test suite. Used by the README and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-debian.sh
bash tools/check-format.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j"$(nproc)"
# As many tests at once as CPUs, as the sanitizer run: the suite passes at -j2 on the 2-core
# machines, and CI's last run of this script took 69 of its 90 minutes with this step serial.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)"
# The ASan+UBSan build, its tests and bounded fuzz runs of every reader (fuzz/README.md).
# SWINSMT_SKIP_SANITIZERS=1 skips it for a quick local run; CI always runs it.
if [[ "${SWINSMT_SKIP_SANITIZERS:-0}" != 1 ]]; then
  bash tools/run-sanitizers.sh
fi
