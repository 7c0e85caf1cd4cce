#!/usr/bin/env bash
# Runs the benchmark grid side by side on this machine: one sliding window forward of the official
# README configuration at 64^3, 96^3 and 128^3 with the official Soft MoE op sequence (reference)
# and the chunked exact kernel, then the Soft MoE layer alone, then the window's 3x3x3 convolutions
# (Winograd against direct). Each measurement is its own process so that its peak RSS is its own.
# Prints JSON lines; bench/results_table.py turns them into markdown.
#   cmake -S . -B build -DSWINSMT_BUILD_BENCH=ON && cmake --build build --target swinsmt_bench
#   bash bench/run_benchmarks.sh > bench/results.jsonl && python3 bench/results_table.py bench/results.jsonl
set -euo pipefail
BENCH="${BENCH:-build/bench/swinsmt_bench}"
SIZES="${SIZES:-64 96 128}"
THREADS="${THREADS:-$(nproc)}"
# Both kernels run under the same OpenMP wait policy: PASSIVE, as the swinsmt CLI sets it (see
# src/cli/main.cpp); with the default spinning policy both are 5-25 % slower on 2 cores.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}"
# Several windows per process, as in a sliding-window inference: "first_seconds" is the first
# (fresh memory), "seconds" the median of the others (buffers reused by the CPU buffer pool, as the
# CLI runs them).
REPEAT="${REPEAT:-5}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in $SIZES; do
  # The official Python implementation on the same machine, when its sources are given
  # (OFFICIAL_PYTHONPATH: see bench/official_python_bench.py).
  if [[ -n "${OFFICIAL_PYTHONPATH:-}" ]]; then
    PYTHONPATH="$(dirname "$0")/../tools:$OFFICIAL_PYTHONPATH" /usr/bin/python3 "$(dirname "$0")/official_python_bench.py" \
      --size "$size" --threads "$THREADS" --repeat "$REPEAT"
  fi
  "$BENCH" model --size "$size" --kernel reference --threads "$THREADS" --repeat "$REPEAT" --save "$tmp/ref$size.bin"
  "$BENCH" model --size "$size" --kernel chunked --threads "$THREADS" --repeat "$REPEAT" --compare "$tmp/ref$size.bin"
  rm -f "$tmp/ref$size.bin"
done
# Soft MoE layer alone: stage 3 and stage 2 of a 128^3 window, and a 98304-token stage. Three calls
# each ("seconds": the median of the later two, whose memory the buffer pool reuses). The reference
# at 98304 tokens would need 38.6 GB for one logits tensor: it is not attempted.
for kernel in reference chunked; do
  "$BENCH" moe --tokens 4096 --dim 192 --kernel $kernel --threads "$THREADS" --repeat 3
done
for kernel in reference chunked chunked_aten; do
  "$BENCH" moe --tokens 32768 --dim 96 --kernel $kernel --threads "$THREADS" --repeat 3
done
"$BENCH" moe --tokens 98304 --dim 96 --kernel chunked --threads "$THREADS"
# The 3x3x3 convolutions of a 128^3 window of the README configuration (feature 48): the model's
# ConvLayer (Winograd where it applies) against ATen's direct conv3d, alternating in one process.
for shape in "128 48 48" "128 96 48" "64 48 48" "64 96 48" "32 96 96" "32 192 96" "16 192 192" "16 384 192"; do
  read -r size in out <<<"$shape"
  "$BENCH" conv --size "$size" --in "$in" --out "$out" --threads "$THREADS"
done
