#!/usr/bin/env bash
# Installs what building and testing swinsmt needs on Debian 12 (bookworm). Idempotent.
# LibTorch is Debian's libtorch-dev 1.13 (CPU). libopenblas0-pthread matters: without it Debian's
# LibTorch runs its matrix products on the reference BLAS, about 5x slower on this model.
# libgdcm-dev (GDCM) reads DICOM series: one ImageReader decodes every common transfer syntax
# (JPEG, JPEG-LS, JPEG 2000, RLE) without the per-codec setup DCMTK needs.
# libdnnl-dev: the header of the oneDNN that Debian's LibTorch already links; its sgemm runs the
# Soft MoE products (src/kernels/cpu_matmul.hpp).
# clang-14 and libclang-rt-14-dev: the ASan/UBSan build and the libFuzzer targets
# (tools/run-sanitizers.sh); GCC has no libFuzzer.
# munge, slurmd, slurmctld, slurm-client: the test that runs examples/slurm/segment_array.sbatch on a
# one-node Slurm on localhost (tests/slurm/run_slurm_test.sh); the daemons are started by the test only.
# python3-kubernetes, python3-yaml: the offline check of the Kubernetes example against the API's models.
# libdcmtk-dev (DCMTK 3.6.7): the DICOM SEG and RT-STRUCT writers (dcmseg, dcmfg, dcmiod, dcmrt) and the
# tests that decode them; dicom3tools: dciodvfy, which the tests run on those outputs.
# nodejs (and npm, which Debian packages apart): the test that loads the SEG with dcmjs and
# @cornerstonejs/adapters (tests/dicom_js/; its CTest fixture runs npm ci there).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES=(build-essential cmake ccache pkg-config git clang-format clang-tidy
  libtorch-dev libopenblas0-pthread
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libnifti2-dev libpng-dev zlib1g-dev
  libgdcm-dev clang-14 libclang-rt-14-dev libdnnl-dev
  munge slurmd slurmctld slurm-client python3-kubernetes python3-yaml
  libdcmtk-dev dicom3tools nodejs)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's nodejs comes without npm (NodeSource's includes it, and conflicts with Debian's npm).
if ! command -v npm >/dev/null; then
  echo "setup: installing npm"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
fi
