#!/usr/bin/env bash
# `swinsmt segment` at its defaults end to end, against the official pipeline in the same run
# (issue 19). README configuration (feature 48, 4 experts, 3 MoE stages, 118 classes; random weights
# with the official initialisation), 2 threads on the 2-core machine (all CPUs by default):
#   1. the window benchmark: one 128^3 window, float32 and bfloat16 Soft MoE products; and the
#      aggregation benchmark: segment's sliding-window aggregation on the bundled CT's grid without
#      the network;
#   2. swinsmt segment on the bundled CT (examples/data/example_ct.nii.gz) at its defaults, float32
#      and --dtype bfloat16;
#   3. the official pipeline (bench/official_pipeline.py) on the same CT, same weights;
#   4. label agreement: swinsmt float32 vs official, swinsmt bfloat16 vs float32;
#   5. swinsmt segment on the synthetic whole-body CT (bench/make_whole_body_ct.py) at its defaults
#      (SKIP_WHOLE_BODY=1 leaves it out: ~30 min here).
# Each run is its own process; /usr/bin/time -v gives its peak RSS. Prints JSON lines.
#   cmake -S . -B build -DSWINSMT_BUILD_BENCH=ON && cmake --build build
#   OFFICIAL_PYTHONPATH=/ref:/ref/einops_src:/ref/swinsmt_src/src/models bash bench/segment_end_to_end.sh [WORK]
# WORK (default /tmp/swinsmt_end_to_end) keeps the checkpoint, the synthetic CT and the outputs.
# Do not rebuild while it runs: it runs the build tree's binaries.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/swinsmt_end_to_end}"
swinsmt="${SWINSMT:-$root/build/src/swinsmt}"
bench="${BENCH:-$root/build/bench/swinsmt_bench}"
: "${OFFICIAL_PYTHONPATH:?set OFFICIAL_PYTHONPATH to the fetched MONAI 1.3.2, einops and official sources (see tools/official_model.py)}"
python=(env "PYTHONPATH=$root/tools:$OFFICIAL_PYTHONPATH" /usr/bin/python3)
# The swinsmt CLI sets these itself; the benchmark and the official pipeline get the same.
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4
mkdir -p "$work"
ct="$root/examples/data/example_ct.nii.gz"
weights="$work/swinsmt_f48_random.pth"
[[ -f "$weights" ]] || "${python[@]}" "$root/bench/official_pipeline.py" --make-checkpoint "$weights" >&2
# The CPU and the instruction sets that change the numbers (AVX-512, bfloat16 products, AMX).
isa=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -x 'avx512f\|avx512_bf16\|amx_bf16' | paste -sd, - || true)
echo "{\"machine\": \"$(lscpu | sed -n 's/^Model name: *//p')\", \"isa\": \"$isa\", \"cpus\": $(nproc), \"date\": \"$(date -u +%FT%TZ)\"}"

# Peak RSS (MiB) and wall seconds of the /usr/bin/time -v log $1.
peak_mb() { echo $(($(sed -n 's/.*Maximum resident set size (kbytes): //p' "$1") / 1024)); }
wall_s() {
  sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; ++i) s = s * 60 + $i; print s }'
}

# 1. One 128^3 window (first and later windows), float32 and bfloat16 products.
"$bench" model --size 128 --repeat 3 --save "$work/window_fp32.bin"
"$bench" model --size 128 --repeat 3 --products bfloat16 --compare "$work/window_fp32.bin"
rm -f "$work/window_fp32.bin"
"$bench" aggregate --grid 243x201x223

# 2. and 5. swinsmt segment at its defaults: NAME CT [flags]
ours() {
  local name="$1" input="$2"
  shift 2
  /usr/bin/time -v "$swinsmt" segment -i "$input" -o "$work/$name.nii.gz" --weights "$weights" --overwrite "$@" \
    > "$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  local log="$work/$name.log"
  local windows grid steps
  windows=$(sed -n 's/.*: \([0-9]*\) windows\? on a .*/\1/p' "$log" | head -1)
  grid=$(sed -n 's/.* on a \([0-9]* x [0-9]* x [0-9]*\) grid.*/\1/p' "$log" | head -1)
  # "seconds: read 0.1, preprocessing 0.5, ..." -> {"read": 0.1, "preprocessing": 0.5, ...}
  steps=$(sed -n 's/.*seconds: //p' "$log" | head -1 |
    sed -E 's/([a-z +]+[a-z]) ([0-9.]+)/"\1": \2/g; s/" /"/g; s/^/{/; s/$/}/')
  printf '{"implementation": "swinsmt", "name": "%s", "flags": "%s", "windows": %s, "grid": "%s", "seconds": %s, "peak_rss_mb": %s, "steps": %s}\n' \
    "$name" "$*" "$windows" "$grid" "$(wall_s "$log")" "$(peak_mb "$log")" "$steps"
}
ours bundled_fp32 "$ct"
ours bundled_bf16 "$ct" --dtype bfloat16

# 3. The official pipeline on the same CT.
/usr/bin/time -v "${python[@]}" "$root/bench/official_pipeline.py" "$ct" "$weights" "$work/official_bundled.nii.gz" \
  > "$work/official.json" 2> "$work/official.log" || { cat "$work/official.log" >&2; exit 1; }
"${python[@]}" - "$work/official.json" "$(wall_s "$work/official.log")" "$(peak_mb "$work/official.log")" << 'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
result["process_seconds"], result["process_peak_rss_mb"] = float(sys.argv[2]), int(sys.argv[3])
print(json.dumps(result))
EOF

# 4. Label agreement (same grid: the input's).
"${python[@]}" - "$work" << 'EOF'
import json, sys
import nibabel as nib
import numpy as np
work = sys.argv[1]
load = lambda name: np.asanyarray(nib.load(f"{work}/{name}.nii.gz").dataobj)
for a, b in [("bundled_fp32", "official_bundled"), ("bundled_bf16", "bundled_fp32")]:
    x, y = load(a), load(b)
    print(json.dumps({"agreement": f"{a} vs {b}", "voxels": int(x.size), "equal_fraction": float((x == y).mean()),
                      "differing": int((x != y).sum())}))
EOF

# 5. The synthetic whole-body CT (512 x 512 x 900 at 0.8 x 0.8 x 1.0 mm).
if [[ "${SKIP_WHOLE_BODY:-0}" != 1 ]]; then
  [[ -f "$work/whole_body_ct.nii.gz" ]] || "${python[@]}" "$root/bench/make_whole_body_ct.py" "$work" >&2
  ours whole_body_fp32 "$work/whole_body_ct.nii.gz"
fi
