// `swinsmt segment` over a batch as a cluster runs it: inputs from a list file, shards that together
// take every case once (from --shard or the scheduler's environment), a run report with one line per
// case, and a rerun after an interruption that skips what is finished and completes the rest with the
// same outputs.
#include "common/sha256.hpp"
#include "fixtures.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

#include <swinsmt/io/nifti.hpp>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

using test::quoted;
const auto fast = test::fast_segment_args;

/// The report's lines, parsed.
std::vector<nlohmann::json> report_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

/// `count` copies of the small CT in `folder`/in named c0.nii.gz, c1.nii.gz, ...; `corrupt` is not a NIfTI file.
void make_inputs(const test::ScratchDir& dir, int count, int corrupt = -1) {
  fs::create_directories(dir / "in");
  for (int i = 0; i < count; ++i) {
    const std::string path = dir / ("in/c" + std::to_string(i) + ".nii.gz");
    if (i == corrupt) {
      std::ofstream(path) << "not a NIfTI file";
    } else {
      fs::copy_file(test::data_path("example_ct_sm.nii.gz"), path);
    }
  }
}

bool same_voxels(const std::string& a, const std::string& b) {
  return at::equal(io::read_nifti(a).data, io::read_nifti(b).data);
}

}  // namespace

TEST(CliBatch, InputListWithCommentsBlankLinesAndRelativePaths) {
  test::ScratchDir dir("cli_list");
  make_inputs(dir, 2);
  {
    std::ofstream list(dir / "in/cases.txt");
    list << "# two CTs\n\nc1.nii.gz\r\n  " << (dir / "in/c0.nii.gz") << "  \n";
  }
  const auto run = test::run_swinsmt(fast("@" + (dir / "in/cases.txt"), dir / "out"));
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_TRUE(fs::exists(dir / "out/c0.nii.gz") && fs::exists(dir / "out/c1.nii.gz")) << run.output;
  { std::ofstream(dir / "in/bad.txt") << "c0.nii.gz\nmissing.nii.gz\n"; }
  const auto bad = test::run_swinsmt(fast("@" + (dir / "in/bad.txt"), dir / "out2"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.output.find(dir / "in/bad.txt" + " line 2: " + (dir / "in/missing.nii.gz") + ": no such file"),
            std::string::npos)
      << bad.output;
  { std::ofstream(dir / "in/empty.txt") << "# nothing\n"; }
  EXPECT_NE(test::run_swinsmt(fast("@" + (dir / "in/empty.txt"), dir / "out3")).output.find("names no CT"),
            std::string::npos);
}

TEST(CliBatch, ShardsTogetherSegmentEveryCaseOnceAndReportEach) {
  test::ScratchDir dir("cli_shards");
  make_inputs(dir, 6, /*corrupt=*/3);
  // Three shards into one folder and one report, as a 3-task job array does.
  for (int shard = 0; shard < 3; ++shard) {
    const auto run = test::run_swinsmt(fast(dir / "in", dir / "out") + " --shard " + std::to_string(shard) + "/3");
    EXPECT_NE(run.output.find("shard " + std::to_string(shard) + "/3: 2 of 6 volumes"), std::string::npos)
        << run.output;
    EXPECT_EQ(run.code, shard == 0 ? 2 : 0) << run.output;  // shard 0 holds c0 and c3 (corrupt)
  }
  std::map<std::string, nlohmann::json> by_input;
  for (const auto& line : report_lines(dir / "out/swinsmt_report.jsonl")) {
    EXPECT_TRUE(by_input.emplace(line.at("input").get<std::string>(), line).second) << line;
  }
  ASSERT_EQ(by_input.size(), 6u);
  const std::string sha = sha256_of_file(test::example_weights());
  for (int i = 0; i < 6; ++i) {
    const std::string input = dir / ("in/c" + std::to_string(i) + ".nii.gz");
    const auto& line = by_input.at(input);
    EXPECT_EQ(line.at("checkpoint_sha256"), sha);
    EXPECT_EQ(line.at("shard"), std::to_string(i % 3) + "/3");
    EXPECT_FALSE(line.at("host").get<std::string>().empty());
    if (i == 3) {
      EXPECT_EQ(line.at("status"), "failed");
      EXPECT_NE(line.at("error").get<std::string>().find(input), std::string::npos) << line;
      EXPECT_FALSE(fs::exists(dir / "out/c3.nii.gz"));
      continue;
    }
    EXPECT_EQ(line.at("status"), "done") << line;
    EXPECT_EQ(line.at("windows"), 1);
    EXPECT_GT(line.at("seconds").get<double>(), 0.0);
    EXPECT_GT(line.at("peak_rss_mb").get<int64_t>(), 0);
    EXPECT_EQ(line.at("outputs").at(0), dir / ("out/c" + std::to_string(i) + ".nii.gz"));
    EXPECT_TRUE(fs::exists(dir / ("out/c" + std::to_string(i) + ".nii.gz")));
  }
  // The shard a Slurm array task takes from its environment is the one --shard names.
  const auto from_slurm = test::run_command(
      "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=0 "
      "SLURM_ARRAY_TASK_MAX=2 " +
      std::string(SWINSMT_CLI_PATH) + " " + fast(dir / "in", dir / "slurm"));
  EXPECT_EQ(from_slurm.code, 0) << from_slurm.output;
  EXPECT_NE(from_slurm.output.find("shard 1/3 (from SLURM_ARRAY_TASK_ID): 2 of 6 volumes"), std::string::npos)
      << from_slurm.output;
  const auto from_kubernetes = test::run_command("JOB_COMPLETION_INDEX=1 " + std::string(SWINSMT_CLI_PATH) + " " +
                                                 fast(dir / "in", dir / "kubernetes") + " --shard-count 3");
  EXPECT_EQ(from_kubernetes.code, 0) << from_kubernetes.output;
  const std::vector<std::string> shard1{"c1.nii.gz", "c1.swinsmt.json", "c4.nii.gz", "c4.swinsmt.json",
                                        "swinsmt_report.jsonl"};
  EXPECT_EQ(test::list_files(dir / "slurm"), shard1);
  EXPECT_EQ(test::list_files(dir / "kubernetes"), shard1);
  EXPECT_TRUE(same_voxels(dir / "slurm/c4.nii.gz", dir / "out/c4.nii.gz"));
}

TEST(CliBatch, RerunAfterAnInterruptionSkipsFinishedCasesAndCompletesTheRest) {
  test::ScratchDir dir("cli_resume");
  make_inputs(dir, 4);
  const std::string flags = " --masks --roi-subset liver spleen";
  const auto reference = test::run_swinsmt(fast(dir / "in", dir / "reference") + flags);
  ASSERT_EQ(reference.code, 0) << reference.output;
  // SIGTERM once the first case's folder exists.
  const std::string script = std::string(SWINSMT_CLI_PATH) + " " + fast(dir / "in", dir / "out") + flags +
                             " & pid=$!; for i in $(seq 3000); do [ -e " + quoted(dir / "out/c0") +
                             " ] && break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo status=$?";
  const auto interrupted = test::run_command("bash -c " + quoted(script));
  ASSERT_NE(interrupted.output.find("status=143"), std::string::npos) << interrupted.output;
  ASSERT_TRUE(fs::exists(dir / "out/c0/swinsmt.json")) << interrupted.output;
  // The same command again: what is finished is skipped, the rest is done.
  const auto rerun = test::run_swinsmt(fast(dir / "in", dir / "out") + flags);
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_NE(rerun.output.find(dir / "in/c0.nii.gz" + ": finished by an earlier run, skipped"), std::string::npos)
      << rerun.output;
  for (int i = 0; i < 4; ++i)
    for (const char* mask : {"liver.nii.gz", "spleen.nii.gz"}) {
      const std::string name = "c" + std::to_string(i) + "/" + mask;
      ASSERT_TRUE(fs::exists(dir / ("out/" + name))) << name << "\n" << rerun.output;
      EXPECT_TRUE(same_voxels(dir / ("out/" + name), dir / ("reference/" + name))) << name;
    }
  // A third run has nothing left to do.
  const auto third = test::run_swinsmt(fast(dir / "in", dir / "out") + flags);
  EXPECT_EQ(third.code, 0) << third.output;
  EXPECT_NE(third.output.find("segmented 0 volumes"), std::string::npos) << third.output;
  EXPECT_NE(third.output.find("4 finished before, skipped"), std::string::npos) << third.output;
  int skipped_lines = 0;
  for (const auto& line : report_lines(dir / "out/swinsmt_report.jsonl"))
    skipped_lines += line.at("status") == "skipped";
  EXPECT_GE(skipped_lines, 5);  // c0 in the rerun, all four in the third run
}

TEST(CliBatch, OutputsOfAnotherRunOrOfSomeoneElseAreNotReplacedUnasked) {
  test::ScratchDir dir("cli_other_run");
  make_inputs(dir, 1);
  const std::string ct = dir / "in/c0.nii.gz";
  ASSERT_EQ(test::run_swinsmt(fast(ct, dir / "out/seg.nii.gz") + " --roi-subset liver").code, 0);
  EXPECT_TRUE(fs::exists(dir / "out/seg.swinsmt.json"));
  // Same settings: skipped.
  const auto same = test::run_swinsmt(fast(ct, dir / "out/seg.nii.gz") + " --roi-subset liver");
  EXPECT_EQ(same.code, 0) << same.output;
  EXPECT_NE(same.output.find("finished by an earlier run, skipped"), std::string::npos) << same.output;
  // Other settings: refused, then replaced with --overwrite.
  const auto other = test::run_swinsmt(fast(ct, dir / "out/seg.nii.gz") + " --roi-subset spleen");
  EXPECT_EQ(other.code, 1) << other.output;
  EXPECT_NE(other.output.find("were made by another run (another checkpoint or other settings); pass --overwrite"),
            std::string::npos)
      << other.output;
  EXPECT_EQ(test::run_swinsmt(fast(ct, dir / "out/seg.nii.gz") + " --roi-subset spleen --overwrite").code, 0);
  // The input changed since: refused.
  fs::last_write_time(ct, fs::last_write_time(ct) + std::chrono::seconds(5));
  const auto changed = test::run_swinsmt(fast(ct, dir / "out/seg.nii.gz") + " --roi-subset spleen");
  EXPECT_NE(changed.output.find("the input has changed since"), std::string::npos) << changed.output;
  // A file of the same name that swinsmt did not write is never replaced unasked, nor its record's name.
  { std::ofstream(dir / "out/mine.nii.gz") << "keep me"; }
  EXPECT_NE(test::run_swinsmt(fast(ct, dir / "out/mine.nii.gz")).output.find("already exists; pass --overwrite"),
            std::string::npos);
  { std::ofstream(dir / "out/theirs.swinsmt.json") << "keep me too"; }
  EXPECT_NE(test::run_swinsmt(fast(ct, dir / "out/theirs.nii.gz")).output.find("theirs.swinsmt.json already exists"),
            std::string::npos);
  std::ifstream mine(dir / "out/theirs.swinsmt.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(mine), {}), "keep me too");
}
