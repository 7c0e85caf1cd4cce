// `swinsmt segment` never loses what the user has: --overwrite replaces only what swinsmt writes, an
// output is never an input, folders appear only for outputs, one bad case does not stop the others,
// an interrupted run leaves nothing partial, and every bad value is a clear error naming the flag.
#include "fixtures.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/kernels/runtime_info.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

using test::quoted;
const auto base = test::segment_args;
const auto fast = test::fast_segment_args;

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool has_leftovers(const std::string& folder) {
  for (const auto& f : test::list_files(folder))
    if (f.find(".partial") != std::string::npos || f.find(".tmp") != std::string::npos) return true;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.path().filename().string().find(".partial") != std::string::npos) return true;
  return false;
}

/// A copy of the synthetic 16 x 16 DICOM slice with top-level values replaced (same lengths).
void write_slice(const std::string& path, const std::vector<std::pair<std::string, std::string>>& replacements) {
  std::string bytes = file_text(test::data_path("dicom_synthetic/explicit_le.dcm"));
  for (const auto& [from, to] : replacements) {
    ASSERT_EQ(from.size(), to.size());
    const auto at = bytes.find(from, 132);
    ASSERT_NE(at, std::string::npos) << from;
    bytes.replace(at, from.size(), to);
  }
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST(CliNothingLost, OverwriteInAFolderReplacesOnlyWhatSwinsmtWrites) {
  test::ScratchDir dir("cli_keep");
  const std::string ct = dir / "ct.nii.gz";
  fs::copy_file(test::data_path("example_ct_sm.nii.gz"), ct);
  { std::ofstream(dir / "notes.txt") << "mine"; }
  fs::create_directories(dir / "mine");
  { std::ofstream(dir / "mine/more.txt") << "also mine"; }
  { std::ofstream(dir / "liver.nii.gz") << "an old mask"; }
  const std::string before = file_text(ct);

  // The masks go into the folder that holds the input and the user's files.
  const auto run =
      test::run_swinsmt(fast(ct, dir.path()) + " --masks --overwrite --roi-subset liver spleen --statistics");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(file_text(ct), before);
  EXPECT_EQ(file_text(dir / "notes.txt"), "mine");
  EXPECT_EQ(file_text(dir / "mine/more.txt"), "also mine");
  EXPECT_EQ(test::list_files(dir.path()),
            (std::vector<std::string>{"ct.nii.gz", "liver.nii.gz", "mine/more.txt", "notes.txt", "spleen.nii.gz",
                                      "statistics.json", "swinsmt.json"}));
  EXPECT_EQ(io::read_nifti(dir / "liver.nii.gz").data.scalar_type(), at::kByte);  // replaced: a real mask now
  EXPECT_FALSE(has_leftovers(dir.path()));

  // Without --overwrite the existing folder is refused before any inference.
  const auto again = test::run_swinsmt(fast(ct, dir.path()) + " --masks");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.output.find("were made by another run (another checkpoint or other settings); pass --overwrite"),
            std::string::npos)
      << again.output;
}

TEST(CliNothingLost, AnOutputIsNeverAnInput) {
  test::ScratchDir dir("cli_input_output");
  const std::string ct = dir / "ct.nii.gz";
  fs::copy_file(test::data_path("example_ct_sm.nii.gz"), ct);
  const std::string before = file_text(ct);
  auto run = test::run_swinsmt(fast(ct, ct) + " --overwrite");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.output.find("is the input " + ct + "; an input is never overwritten"), std::string::npos) << run.output;
  // Also through another spelling of the same path.
  run = test::run_swinsmt(fast(ct, dir / "sub/../ct.nii.gz") + " --overwrite");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.output.find("an input is never overwritten"), std::string::npos) << run.output;
  // A masks folder that holds the input under a structure's name.
  fs::create_directories(dir / "masks");
  fs::copy_file(ct, dir / "masks/liver.nii.gz");
  run = test::run_swinsmt(fast(dir / "masks/liver.nii.gz", dir / "masks") + " --masks --overwrite");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.output.find("under the name of the liver mask"), std::string::npos) << run.output;
  EXPECT_EQ(file_text(ct), before);
  EXPECT_EQ(file_text(dir / "masks/liver.nii.gz"), before);
}

TEST(CliNothingLost, FoldersAppearOnlyForOutputs) {
  test::ScratchDir dir("cli_new_folder");
  // A trailing slash names the masks folder itself.
  const auto run =
      test::run_swinsmt(fast(test::data_path("example_ct_sm.nii.gz"), dir / "newdir/") + " --masks --roi-subset liver");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(test::list_files(dir.path()), (std::vector<std::string>{"newdir/liver.nii.gz", "newdir/swinsmt.json"}));
  // A failing case creates no folder.
  const auto failing = test::run_swinsmt(fast(test::data_path("bad/image_2d.nii.gz"), dir / "deep/er/out.nii.gz"));
  EXPECT_EQ(failing.code, 1) << failing.output;
  EXPECT_FALSE(fs::exists(dir / "deep"));
}

TEST(CliNothingLost, OneBadCaseDoesNotStopTheOthers) {
  test::ScratchDir dir("cli_batch");
  fs::create_directories(dir / "in");
  fs::copy_file(test::data_path("example_ct_sm.nii.gz"), dir / "in/a.nii.gz");
  { std::ofstream(dir / "in/b.nii.gz") << "not a NIfTI file"; }
  fs::copy_file(test::data_path("example_ct_sm.nii.gz"), dir / "in/c.nii.gz");
  const auto run = test::run_swinsmt(fast(dir / "in", dir / "out") + " --masks --roi-subset liver");
  EXPECT_EQ(run.code, 2) << run.output;
  EXPECT_NE(run.output.find("swinsmt: error: " + (dir / "in/b.nii.gz")), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("segmented 2 of 3 volumes"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("1 of 3 failed: " + (dir / "in/b.nii.gz")), std::string::npos) << run.output;
  EXPECT_EQ(test::list_files(dir / "out"),
            (std::vector<std::string>{"a/liver.nii.gz", "a/swinsmt.json", "c/liver.nii.gz", "c/swinsmt.json",
                                      "swinsmt_report.jsonl"}));
  EXPECT_FALSE(has_leftovers(dir.path()));
}

TEST(CliNothingLost, InterruptedRunLeavesNothingPartial) {
  test::ScratchDir dir("cli_interrupt");
  fs::create_directories(dir / "in");
  for (const char* name : {"a", "b", "c", "d", "e"})
    fs::copy_file(test::data_path("example_ct_sm.nii.gz"), dir / ("in/" + std::string(name) + ".nii.gz"));
  // SIGTERM once the first masks folder exists: the run stops at the next window, removes what it
  // was writing and exits with 128 + 15.
  const std::string script = std::string(SWINSMT_CLI_PATH) + " " + fast(dir / "in", dir / "out") +
                             " --masks --roi-subset liver spleen & pid=$!; for i in $(seq 3000); do [ -e " +
                             quoted(dir / "out/a") +
                             " ] && break; sleep 0.1; done; kill -TERM $pid; wait $pid; "
                             "echo status=$?";
  const auto run = test::run_command("bash -c " + quoted(script));
  ASSERT_TRUE(fs::exists(dir / "out/a")) << run.output;  // the signal came after the first case (at most 300 s)
  EXPECT_NE(run.output.find("status=143"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("interrupted by SIGTERM"), std::string::npos) << run.output;
  EXPECT_FALSE(has_leftovers(dir / "out")) << run.output;
  // Every folder that is there is complete.
  for (const auto& entry : fs::directory_iterator(dir / "out")) {
    if (!entry.is_directory()) continue;  // the run report
    const auto files = test::list_files(entry.path().string());
    EXPECT_EQ(files, (std::vector<std::string>{"liver.nii.gz", "spleen.nii.gz", "swinsmt.json"})) << entry.path();
  }
}

// A signal handler runs on the stack of the thread it lands on, and oneDNN 2.6's sgemm keeps data
// below its stack pointer: a SIGTERM that landed on a thread inside it corrupted the heap (about one
// run in 50 of the test above). So no thread but the watcher may take SIGTERM: every other thread of
// a running segment, OpenMP's and OpenBLAS's included, has it blocked (src/cli/stop_signals.hpp).
TEST(CliNothingLost, OnlyTheWatcherThreadTakesStopSignals) {
  test::ScratchDir dir("cli_signal_mask");
  fs::create_directories(dir / "in");
  for (const char* name : {"a", "b", "c"})
    fs::copy_file(test::data_path("example_ct_sm.nii.gz"), dir / ("in/" + std::string(name) + ".nii.gz"));
  // Once the first case is written (every thread pool has started), each thread's blocked signals.
  const std::string script = std::string(SWINSMT_CLI_PATH) + " " + fast(dir / "in", dir / "out") +
                             " --masks --roi-subset liver & pid=$!; for i in $(seq 3000); do [ -e " +
                             quoted(dir / "out/a") +
                             " ] && break; sleep 0.1; done; for t in /proc/$pid/task/*; do "
                             "echo \"thread $(grep SigBlk $t/status)\"; done; "
                             "kill -TERM $pid; wait $pid; echo status=$?";
  const auto run = test::run_command("bash -c " + quoted(script));
  ASSERT_TRUE(fs::exists(dir / "out/a")) << run.output;
  std::istringstream lines(run.output);
  std::string line;
  int threads = 0, taking_sigterm = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("thread SigBlk:", 0) != 0) continue;  // "thread SigBlk:\t<hex mask>"
    ++threads;
    const unsigned long long blocked = std::stoull(line.substr(14), nullptr, 16);
    if ((blocked & (1ull << (SIGTERM - 1))) == 0) ++taking_sigterm;
  }
  EXPECT_GE(threads, 3) << run.output;  // main, the watcher and at least one pool thread
  EXPECT_LE(taking_sigterm, 1) << run.output;
  EXPECT_NE(run.output.find("status=143"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("interrupted by SIGTERM"), std::string::npos) << run.output;
}

TEST(CliNothingLost, BadValuesAreClearErrors) {
  test::ScratchDir dir("cli_values");
  const std::string ct = test::data_path("example_ct_sm.nii.gz");
  const std::string out = dir / "out.nii.gz";
  struct Case {
    std::string flags, message;
  };
  const std::vector<Case> cases = {
      {"--spacing inf", "spacing (--spacing) inf mm is not usable: expected 0.1 to 100 mm"},
      {"--spacing 1e-9", "spacing (--spacing) 1e-09 mm is not usable: expected 0.1 to 100 mm"},
      {"--spacing 1.5 1.5", "--spacing takes one value, three (x y z) or \"native\", got 2"},
      {"--roi 100000", "window size 100000 is not usable (--roi): expected 64 to 512, divisible by 32"},
      {"--hu-window 100 1e999", "must be two finite numbers with min < max, got 100 inf"},
      {"--hu-window nan 100", "the HU window (--hu-window) must be two finite numbers with min < max"},
      {"--nan-as nan", "--nan-as must be a finite HU value"},
      {"--accumulator-memory -1", "the accumulator memory (--accumulator-memory) -1 MiB is not usable: expected 0 to"},
      {"--temp-dir /nonexistent/scratch",
       "the scratch folder (--temp-dir) /nonexistent/scratch is not an existing folder"},
  };
  for (const auto& c : cases) {
    const auto run = test::run_swinsmt(base(ct, out) + " " + c.flags);
    EXPECT_EQ(run.code, 1) << c.flags << "\n" << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.flags << "\n" << run.output;
  }
  EXPECT_TRUE(test::list_files(dir.path()).empty());
  // A NIfTI whose header declares 0 voxels along z (nifti_clib would read it as 1).
  const auto nifti = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  io::write_nifti(dir / "flat.nii", nifti.data.slice(2, 0, 2), nifti.geometry);
  {
    std::fstream f(dir / "flat.nii", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40 + 2 * 3);
    const int16_t zero = 0;
    f.write(reinterpret_cast<const char*>(&zero), 2);
  }
  const auto run = test::run_swinsmt(fast(dir / "flat.nii", out));
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("flat.nii declares 0 voxels along dimension 3 (dim[3]); expected at least 1"),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliNothingLost, ThreadsAreBoundedByTheCpus) {
  test::ScratchDir dir("cli_threads");
  const auto run = test::run_swinsmt(fast(test::data_path("example_ct_sm.nii.gz"), dir / "out.nii.gz") +
                                     " --threads 1000 --roi-subset liver");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("--threads 1000 is more than the"), std::string::npos) << run.output;
}

TEST(CliNothingLost, NonFiniteVoxelsNeedAMeaning) {
  test::ScratchDir dir("cli_nan");
  auto ct = io::read_nifti(test::data_path("example_ct_sm.nii.gz"));
  auto data = ct.data.to(at::kFloat);
  data[10][10][10] = std::numeric_limits<float>::quiet_NaN();
  data[20][20][20] = std::numeric_limits<float>::infinity();
  io::write_nifti(dir / "nan.nii.gz", data, ct.geometry);
  auto run = test::run_swinsmt(fast(dir / "nan.nii.gz", dir / "out.nii.gz"));
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("has 2 voxels that are NaN or infinite"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(dir / "out.nii.gz"));
  run = test::run_swinsmt(fast(dir / "nan.nii.gz", dir / "out.nii.gz") + " --nan-as -1000 --statistics");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("2 NaN or infinite voxels set to -1000 HU"), std::string::npos) << run.output;
  EXPECT_EQ(file_text(dir / "statistics.json").find("NaN"), std::string::npos);
}

TEST(CliNothingLost, DicomInputsThatCannotBeCtAreRefusedOrSaidSo) {
  test::ScratchDir dir("cli_dicom");
  const std::string slice_a = "-100\\-120\\35.5", slice_b = "-100\\-120\\37.5";
  // A single DICOM file as -i: the folder is what holds a series.
  fs::create_directories(dir / "one");
  write_slice(dir / "one/a.dcm", {});
  auto run = test::run_swinsmt(fast(dir / "one/a.dcm", dir / "out.nii.gz"));
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("is a DICOM file; pass the folder that holds its series"), std::string::npos) << run.output;
  // A one-slice series: not a 3-D CT.
  run = test::run_swinsmt(fast(dir / "one", dir / "out.nii.gz"));
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("holds a single slice"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("expected at least 2 along each axis"), std::string::npos) << run.output;
  // An MR series.
  fs::create_directories(dir / "mr");
  write_slice(dir / "mr/a.dcm", {{"CT", "MR"}});
  write_slice(dir / "mr/b.dcm", {{"CT", "MR"}, {slice_a, slice_b}});
  run = test::run_swinsmt(fast(dir / "mr", dir / "out.nii.gz"));
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_NE(run.output.find("is a series of modality MR; the network segments CT"), std::string::npos) << run.output;
  // A gantry-tilted series: segmented in its own sheared grid, said in a warning, sform only.
  fs::create_directories(dir / "tilt");
  write_slice(dir / "tilt/a.dcm", {});
  write_slice(dir / "tilt/b.dcm", {{slice_a, "-99\\-120\\37.50"}});
  const auto tilted = io::read_dicom_series(dir / "tilt");
  ASSERT_EQ(tilted.warnings.size(), 1u);
  EXPECT_NE(tilted.warnings[0].find("gantry tilt"), std::string::npos) << tilted.warnings[0];
  EXPECT_EQ(tilted.geometry.qform_code, 0);
  EXPECT_EQ(tilted.geometry.sform_code, 1);
  EXPECT_FALSE(fs::exists(dir / "out.nii.gz"));
}

TEST(CliNothingLost, ThreadsFollowTheCpusTheProcessMayUse) {
  // The default is every CPU of the affinity mask, and doctor reports the same numbers.
  test::ScratchDir dir("cli_taskset");
  const std::string cli = SWINSMT_CLI_PATH;
  const auto one_cpu =
      test::run_command("taskset -c 0 " + cli + " " +
                        fast(test::data_path("example_ct_sm.nii.gz"), dir / "out.nii.gz") + " --roi-subset liver");
  ASSERT_EQ(one_cpu.code, 0) << one_cpu.output;
  EXPECT_NE(one_cpu.output.find("1 volume, 1 thread\n"), std::string::npos) << one_cpu.output;
  const auto doctor = test::run_command("taskset -c 0 " + cli + " doctor");
  ASSERT_EQ(doctor.code, 0) << doctor.output;
  EXPECT_NE(doctor.output.find("threads 1 (CPUs available 1, hardware "), std::string::npos) << doctor.output;
  EXPECT_EQ(doctor.output.find("(set --threads)"), std::string::npos) << doctor.output;
  const auto all = test::run_command(cli + " doctor");
  const std::string cpus = std::to_string(available_cpus());
  EXPECT_NE(all.output.find("threads " + cpus + " (CPUs available " + cpus + ","), std::string::npos) << all.output;
}
