#!/usr/bin/env bash
# ASan + UBSan build (clang-14) of the library, its tests and the libFuzzer targets in build-asan;
# runs the test suite under the sanitizers, then every fuzz target for FUZZ_SECONDS (default 60) on
# its seed corpus. tools/run-tests.sh calls it after the normal tests. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${ASAN_BUILD_DIR:-build-asan}"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
JOBS="${JOBS:-$(nproc)}"
start=$(date +%s)

# -fno-sanitize-recover=undefined: a UBSan finding fails the run instead of only printing.
# -O1: ASan's recommended speed/precision trade-off; the Release -O3 would slow the build.
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DSWINSMT_FUZZ=ON -DSWINSMT_BUILD_EXAMPLES=OFF -DSWINSMT_INSTALL=OFF
cmake --build "$BUILD_DIR" -j"$JOBS"

# LibTorch, GDCM and nifti_clib are not instrumented, hence:
# - detect_leaks=0: LibTorch keeps allocator caches and registries alive until exit on purpose,
#   and LeakSanitizer reports them as leaks that are not ours.
# - alloc_dealloc_mismatch=0: memory allocated inside an uninstrumented library with one of
#   new/malloc and freed in another through an inline header path shows up as a mismatch.
# - detect_container_overflow=0: std::vector annotations are only in the instrumented half, and
#   vectors that cross into LibTorch trip false container-overflow reports.
export ASAN_OPTIONS="detect_leaks=0:alloc_dealloc_mismatch=0:detect_container_overflow=0:abort_on_error=0"
# print_stacktrace: say where; halt_on_error matches -fno-sanitize-recover.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Under ASan the end-to-end segmentation cases take minutes each (Segment.ExampleCt... 181 s
# instead of 54 s; the CliSegment runs 40-60 s): they spend that time in LibTorch, which is not
# instrumented, read their inputs through paths other tests cover, and the normal build runs them.
# CliSegment.BadInputsFailClearlyAndLeaveNothing (hostile inputs to the CLI) still runs here.
# Official/SegmentDefaultSpacing runs 300 windows of 64^3 at the default spacing (3.5 min without
# ASan), in LibTorch too; the MONAI resampling it checks is in Spacing.* (run here) bit for bit.
# NiftiLarge writes and reads a 4.3 GB label map: ASan's shadow memory and slow memcpy would make it
# a memory and time hog for no finding the normal build cannot make.
# Segment.ProbabilitiesArgmaxIsTheLabels (two runs of four 64^3 windows, ~2.5 min under ASan) is
# LibTorch time too; the whole-volume aggregation it uses runs here in SlidingWindow.*.
# CliBatch.ShardsTogether... (12 CLI runs, 3.7 min under ASan) and slurm_job_array (the same runs
# under Slurm, 1.8 min): their shard selection is index arithmetic (Shard.* runs here), and their
# writing, records, reports and failure paths run here in the other CliBatch and CliNothingLost tests.
# CliModelCard.BtcvCardMatchesTheBundlesPipeline, ProbabilitiesLinear.SegmentEqualsTheWholeVolumePath
# (each over 5 min under ASan) and ModelCardCodes.SegmentTakesTheCodesAndColoursOfItsCard (3 min):
# whole segment runs, LibTorch time; card parsing (ModelCard.*), the streamed probabilities
# (ProbabilitiesLinear.StreamedEquals...) and the card's codes in the writers
# (ModelCardCodes.ACardsOwnCodes...) run here.
# ASAN_CTEST_EXCLUDE='^$' runs everything.
default_exclude='^(Segment\.(ExampleCtMatchesOfficialMonaiPipeline|ProbabilitiesArgmaxIsTheLabels)|CliSegment\.(MultilabelMasks|LasInput|DicomSeries|FolderOfInputs).*|NiftiLarge\..*|Official/SegmentDefaultSpacing\..*|CliBatch\.ShardsTogether.*|slurm_job_array|CliModelCard\.BtcvCardMatchesTheBundlesPipeline|ProbabilitiesLinear\.SegmentEqualsTheWholeVolumePath|ModelCardCodes\.SegmentTakesTheCodesAndColoursOfItsCard)$'
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS" -E "${ASAN_CTEST_EXCLUDE:-$default_exclude}"
tests_done=$(date +%s)
echo "sanitizer tests: $((tests_done - start)) s (build included)"

if [[ "$FUZZ_SECONDS" -gt 0 ]]; then
  bash fuzz/run-all.sh "$BUILD_DIR" "$FUZZ_SECONDS"
fi
echo "sanitizer step: $(($(date +%s) - start)) s"
