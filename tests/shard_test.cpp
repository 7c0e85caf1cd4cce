// Shards of a batch: every case exactly once over the shards, from --shard or from the scheduler's
// environment (Slurm job arrays, Kubernetes Indexed Jobs), bad values as clear errors.
#include "test_support.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/shard.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace swinsmt;

namespace {
/// An environment holding exactly `variables`.
EnvironmentReader environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const char* name) -> const char* {
    const auto it = variables.find(name);
    return it == variables.end() ? nullptr : it->second.c_str();
  };
}
}  // namespace

TEST(Shard, EveryCaseExactlyOnce) {
  for (int64_t count = 1; count <= 5; ++count) {
    for (size_t cases : {0u, 1u, 4u, 5u, 6u, 13u}) {
      std::vector<int> taken(cases, 0);
      for (int64_t index = 0; index < count; ++index) {
        const auto mine = shard_cases(cases, Shard{index, count, "--shard"});
        for (size_t k = 0; k < mine.size(); ++k) {
          ++taken.at(mine[k]);
          if (k > 0) EXPECT_LT(mine[k - 1], mine[k]);
          EXPECT_EQ(mine[k] % static_cast<size_t>(count), static_cast<size_t>(index));
        }
      }
      for (size_t i = 0; i < cases; ++i) EXPECT_EQ(taken[i], 1) << "case " << i << " of " << cases << ", N " << count;
    }
  }
}

TEST(Shard, ParsesAndRefusesFlags) {
  const Shard s = parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(test::error_of([] { parse_shard("5/5"); }),
            "--shard 5/5: shard 5 does not exist among 5 shards (expected 0 to 4)");
  for (const char* bad : {"1", "a/3", "-1/3", "1/", "/3", "1/3/4"})
    EXPECT_NE(test::error_of([&] { parse_shard(bad); }).find("--shard takes I/N"), std::string::npos) << bad;
  EXPECT_NE(test::error_of([] { parse_shard("0/0"); }).find("at least 1"), std::string::npos);
}

TEST(Shard, FromTheSchedulersEnvironmentEqualsTheFlag) {
  EXPECT_FALSE(shard_from_environment(std::nullopt, environment({})));
  // sbatch --array=0-4: ids 0..4.
  auto s = shard_from_environment(std::nullopt, environment({{"SLURM_ARRAY_TASK_ID", "3"},
                                                             {"SLURM_ARRAY_TASK_COUNT", "5"},
                                                             {"SLURM_ARRAY_TASK_MIN", "0"},
                                                             {"SLURM_ARRAY_TASK_MAX", "4"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, parse_shard("3/5").index);
  EXPECT_EQ(s->count, parse_shard("3/5").count);
  EXPECT_EQ(s->source, "SLURM_ARRAY_TASK_ID");
  // --array=1-5: ids 1..5 are shards 0..4; MIN/MAX alone give the count.
  s = shard_from_environment(
      std::nullopt,
      environment({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "5"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 4);
  EXPECT_EQ(s->count, 5);
  // --array=0-8:2 (5 tasks, ids 0, 2, ..., 8): not consecutive.
  EXPECT_NE(test::error_of([] {
              shard_from_environment(std::nullopt, environment({{"SLURM_ARRAY_TASK_ID", "2"},
                                                                {"SLURM_ARRAY_TASK_COUNT", "5"},
                                                                {"SLURM_ARRAY_TASK_MIN", "0"},
                                                                {"SLURM_ARRAY_TASK_MAX", "8"}}));
            }).find("are not 5 consecutive numbers"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              shard_from_environment(std::nullopt,
                                     environment({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "5"}}));
            }).find("SLURM_ARRAY_TASK_ID must be a whole number >= 0, got \"x\""),
            std::string::npos);
  // Kubernetes Indexed Job.
  s = shard_from_environment(4, environment({{"JOB_COMPLETION_INDEX", "2"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 4);
  EXPECT_EQ(s->source, "JOB_COMPLETION_INDEX");
  EXPECT_NE(test::error_of([] {
              shard_from_environment(std::nullopt, environment({{"JOB_COMPLETION_INDEX", "2"}}));
            }).find("--shard-count"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              shard_from_environment(2, environment({{"JOB_COMPLETION_INDEX", "2"}}));
            }).find("shard 2 does not exist among 2 shards"),
            std::string::npos);
}
