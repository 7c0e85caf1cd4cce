#!/usr/bin/env bash
# Runs every fuzz target of a SWINSMT_FUZZ=ON build for a bounded time on its seed corpus.
# Usage: fuzz/run-all.sh BUILD_DIR [SECONDS]. New inputs go to BUILD_DIR/fuzz-corpus/<target>, so
# the seeds in the repository stay untouched; a crash input is written to BUILD_DIR/fuzz-crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="$1"
SECONDS_EACH="${2:-60}"
data=tests/data
# Seeds: small fixtures of each format, referenced in place (see fuzz/README.md).
declare -A seeds=(
  [fuzz_pickle]="fuzz/seeds/pickle"
  [fuzz_torch_zip]="$data/checkpoints"
  [fuzz_torch_legacy]="$data/checkpoints"
  [fuzz_checkpoint]="$data/checkpoints"
  [fuzz_safetensors]="$data/orientation_reference.safetensors $data/softmoe_masked.safetensors $data/checkpoints/tiny.expected.safetensors"
  [fuzz_nifti]="fuzz/seeds/nifti $data/bad"
  [fuzz_dicom]="$data/dicom_synthetic $data/dicom_series/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016573"
)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:alloc_dealloc_mismatch=0:detect_container_overflow=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$BUILD_DIR/fuzz-crashes"
failed=0
targets="${FUZZ_TARGETS:-fuzz_pickle fuzz_torch_zip fuzz_torch_legacy fuzz_checkpoint fuzz_safetensors fuzz_nifti fuzz_dicom}"
for target in $targets; do
  corpus="$BUILD_DIR/fuzz-corpus/$target"
  mkdir -p "$corpus"
  seed_dirs=()
  for s in ${seeds[$target]}; do
    if [[ -d "$s" ]]; then seed_dirs+=("$s"); else cp -f "$s" "$corpus/"; fi
  done
  # -seed=1: the same mutation sequence on every run, so CI repeats the sequence checked before
  # committing (a new crash still fails the step; keep its input as a regression test).
  # -max_len: the checkpoints are up to a few MB; mutating near the start finds most paths and
  # keeps each execution fast. The rss/malloc limits turn over-allocation into a finding.
  limits=(-rss_limit_mb=4096 -malloc_limit_mb=2048)
  log="$BUILD_DIR/fuzz-crashes/$target.log"
  if "$BUILD_DIR/fuzz/$target" "$corpus" "${seed_dirs[@]}" -max_total_time="$SECONDS_EACH" -max_len=65536 \
      "${limits[@]}" -timeout=25 -seed=1 -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/fuzz-crashes/$target-" >"$log" 2>&1; then
    echo "$target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions in ${SECONDS_EACH} s, no crash"
  else
    echo "$target: FAILED (see $log)"; tail -n 40 "$log"; failed=1
  fi
done
exit "$failed"
