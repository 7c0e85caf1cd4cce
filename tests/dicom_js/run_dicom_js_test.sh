#!/usr/bin/env bash
# CTest dicom_seg_cornerstone: `swinsmt segment` writes the NIfTI label map and the DICOM SEG of the
# bundled series in one run; check_seg.mjs loads the SEG with dcmjs and @cornerstonejs/adapters and
# compares it with the NIfTI. Usage: run_dicom_js_test.sh SWINSMT WEIGHTS SERIES LABEL_TABLE
set -euo pipefail
swinsmt=$1 weights=$2 series=$3 label_table=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$swinsmt" segment -i "$series" -o "$work/out" --weights "$weights" --roi 64 --spacing 6 --threads 2 \
  --output-type nifti --output-type dicom-seg --quiet
node "$here/check_seg.mjs" "$series" "$work/out/seg.dcm" "$work/out/seg.nii.gz" "$label_table"
