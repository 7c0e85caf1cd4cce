#!/usr/bin/env bash
# CTest fixture dicom_js_dependencies: the npm packages of check_seg.mjs, exactly as package-lock.json
# pins them (npm ci), unless node_modules already holds that lock's install.
set -euo pipefail
cd "$(dirname "$0")"
if [ node_modules/.package-lock.json -nt package-lock.json ] && [ -d node_modules/@cornerstonejs/adapters ]; then
  echo "node_modules is up to date with package-lock.json"
  exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts
