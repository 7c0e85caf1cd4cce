// `swinsmt forward` from the command line against the official reference tensors.
#include "fixtures.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

#include <swinsmt/checkpoint/safetensors.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace swinsmt;
namespace fs = std::filesystem;

class CliForward : public ::testing::TestWithParam<std::string> {};

TEST_P(CliForward, ReproducesOfficialOutputAndHidden) {
  const std::string model = GetParam();
  test::ScratchDir dir("cli");
  test::Fixture io(model + ".io.safetensors");
  const auto config = nlohmann::json::parse(io.metadata().at("config"));
  StateDict input;
  input.insert("input", io.at("input"));
  input.insert("ignored", at::zeros({3}));
  write_safetensors(dir / "input.safetensors", input);

  std::string weights;
  if (model == "smt_f12_v2_e4") {
    weights = test::data_path("checkpoints/smt_f12_v2_e4.fabric.pth");  // the authors' checkpoint format
  } else {
    weights = dir / "weights.safetensors";
    write_safetensors(weights, test::fixture_weights(model));
  }
  std::string args = "forward --weights " + weights + " --input " + (dir / "input.safetensors") + " --output " +
                     (dir / "out.safetensors") + " --hidden";
  if (config.value("downsample", std::string("merging")) == "mergingv2") args += " --merging mergingv2";
  if (!config.value("normalize", true)) args += " --no-normalize";
  const auto run = test::run_swinsmt(args);
  ASSERT_EQ(run.code, 0) << run.output;

  auto result = read_safetensors(dir / "out.safetensors");
  test::expect_close(model + " CLI output", result.tensors["output"], io.at("output"));
  for (int i = 0; i < 5; ++i) {
    const auto name = "hidden." + std::to_string(i);
    test::expect_close(model + " CLI " + name, result.tensors[name], io.at(name));
  }
  // An existing output is not replaced without --overwrite.
  const auto again = test::run_swinsmt(args);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
  EXPECT_EQ(test::run_swinsmt(args + " --overwrite").code, 0);
}

INSTANTIATE_TEST_SUITE_P(Official, CliForward,
                         ::testing::Values("smt_f12_v2_e4", "swinunetr_f12_b2", "smt_f12_mergingv2_e3"));

TEST(CliErrors, OneClearSentenceAndNonZeroExit) {
  test::ScratchDir dir("cli");
  const std::string weights = test::data_path("checkpoints/smt_f12_v2_e4.fabric.pth");
  StateDict bad;
  bad.insert("input", at::zeros({1, 1, 64, 64, 48}));
  write_safetensors(dir / "bad_shape.safetensors", bad);
  StateDict none;
  none.insert("x", at::zeros({1}));
  write_safetensors(dir / "no_input.safetensors", none);

  auto r = test::run_swinsmt("forward --weights " + weights + " --input " + (dir / "bad_shape.safetensors") +
                             " --output " + (dir / "o.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("divisible by 32"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "o.safetensors"));

  r = test::run_swinsmt("forward --weights " + weights + " --input " + (dir / "no_input.safetensors") + " --output " +
                        (dir / "o.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("no tensor named \"input\""), std::string::npos) << r.output;

  r = test::run_swinsmt("forward --weights " + (dir / "missing.pth") + " --input " + (dir / "no_input.safetensors") +
                        " --output " + (dir / "o.safetensors"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("missing.pth"), std::string::npos) << r.output;

  r = test::run_swinsmt("forward --weights " + (dir / "no_input.safetensors") + " --input " +
                        (dir / "no_input.safetensors") + " --output " + (dir / "o.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("swinViT.patch_embed.proj.weight"), std::string::npos) << r.output;

  r = test::run_swinsmt("forward --weights " + weights + " --input " + (dir / "no_input.safetensors") + " --output " +
                        (dir / "o.safetensors") + " --device tpu");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("tpu"), std::string::npos) << r.output;
}

TEST(CliDoctor, ReportsLibTorchBlasAndThreads) {
  const auto r = test::run_swinsmt("doctor --threads 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("LibTorch "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("BLAS /"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("threads 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Soft MoE products (CPU) "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CPU allocator swinsmt buffer pool"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3x3x3 convolutions (CPU) "), std::string::npos) << r.output;
  // Two threads asked for: the fused kernels must use both (see kernel_parallelism.hpp).
  const auto two = test::run_swinsmt("doctor --threads 2");
  EXPECT_NE(two.output.find("fused CPU kernels 2 threads"), std::string::npos) << two.output;
  const auto without_pool = test::run_command("SWINSMT_CPU_BUFFER_POOL=0 " + std::string(SWINSMT_CLI_PATH) + " doctor");
  EXPECT_NE(without_pool.output.find("CPU allocator LibTorch default"), std::string::npos) << without_pool.output;
  const auto v = test::run_swinsmt("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.output.find("swinsmt 0."), std::string::npos) << v.output;
}

TEST(CliDoctor, RunsWithSleepingThreadPoolsUnlessTheUserChose) {
  // The CLI re-executes itself with OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4
  // (src/cli/main.cpp says why), each only where the user did not set it.
  const std::string cli = SWINSMT_CLI_PATH;
  const auto unset = test::run_command("env -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT " + cli + " doctor");
  EXPECT_EQ(unset.code, 0) << unset.output;
  EXPECT_NE(unset.output.find("OMP_WAIT_POLICY PASSIVE"), std::string::npos) << unset.output;
  EXPECT_NE(unset.output.find("OPENBLAS_THREAD_TIMEOUT 4"), std::string::npos) << unset.output;
  const auto chosen = test::run_command("env -u OPENBLAS_THREAD_TIMEOUT OMP_WAIT_POLICY=ACTIVE " + cli + " doctor");
  EXPECT_NE(chosen.output.find("OMP_WAIT_POLICY ACTIVE"), std::string::npos) << chosen.output;
  EXPECT_NE(chosen.output.find("OPENBLAS_THREAD_TIMEOUT 4"), std::string::npos) << chosen.output;
  const auto timeout = test::run_command("env -u OMP_WAIT_POLICY OPENBLAS_THREAD_TIMEOUT=20 " + cli + " doctor");
  EXPECT_NE(timeout.output.find("OPENBLAS_THREAD_TIMEOUT 20"), std::string::npos) << timeout.output;
  EXPECT_NE(timeout.output.find("OMP_WAIT_POLICY PASSIVE"), std::string::npos) << timeout.output;
}
