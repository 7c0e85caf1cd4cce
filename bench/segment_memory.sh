#!/usr/bin/env bash
# Peak memory and wall time of `swinsmt segment` at its defaults (roi 128, 1.5 mm, cell-by-cell
# aggregation) on one CT, for one or more swinsmt binaries side by side (e.g. a build of an earlier
# commit as the baseline). Each run is its own process; /usr/bin/time -v gives the peak RSS.
#   bash bench/segment_memory.sh CT WEIGHTS BINARY [BINARY ...] [-- extra segment flags]
# Prints one JSON line per binary: binary, seconds, peak_rss_mb, windows, grid (the last two come from
# the per-volume line, so leave out -q).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: bench/segment_memory.sh CT WEIGHTS BINARY [BINARY ...] [-- extra segment flags]" >&2
  exit 2
fi
ct="$1"
weights="$2"
shift 2
binaries=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  binaries+=("$1")
  shift
done
[[ "${1:-}" == "--" ]] && shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for binary in "${binaries[@]}"; do
  /usr/bin/time -v "$binary" segment -i "$ct" -o "$tmp/out.nii.gz" --weights "$weights" --overwrite "$@" \
    > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/log")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/log")
  seconds=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; ++i) s = s * 60 + $i; print s }')
  windows=$(sed -n 's/.*: \([0-9]*\) windows\? on a .*/\1/p' "$tmp/log" | head -1)
  grid=$(sed -n 's/.* on a \([0-9]* x [0-9]* x [0-9]*\) grid.*/\1/p' "$tmp/log" | head -1)
  printf '{"binary": "%s", "seconds": %s, "peak_rss_mb": %d, "windows": "%s", "grid": "%s"}\n' \
    "$binary" "$seconds" "$((rss_kb / 1024))" "$windows" "$grid"
done
