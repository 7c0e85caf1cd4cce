// Reading checkpoints without Python: every wrapping and container of the reference state dict,
// the authors' Fabric checkpoint, the CLI commands on them, and hostile files (truncated, corrupted,
// code-executing, lying about sizes, deeply nested), which must give swinsmt::Error and nothing worse.
// Files: tests/data/checkpoints (fixtures, and cases made by tools/make_checkpoint_cases.py).
#include "common/file_io.hpp"
#include "fixtures.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

#include "checkpoint/pickle.hpp"
#include "checkpoint/reader.hpp"

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

using namespace swinsmt;
namespace fs = std::filesystem;

namespace {

std::string ckpt_path(const std::string& name) { return test::data_path("checkpoints/" + name); }

const SafetensorsContent& expected_tiny() {
  static const SafetensorsContent content = read_safetensors(ckpt_path("tiny.expected.safetensors"));
  return content;
}

// Same names, dtypes, shapes and values (bit for bit) as tiny.expected.safetensors.
void expect_tiny(const StateDict& state, const std::string& what) {
  const auto& expected = expected_tiny().tensors;
  std::set<std::string> names;
  for (const auto& item : state) names.insert(item.key());
  std::set<std::string> expected_names;
  for (const auto& item : expected) expected_names.insert(item.key());
  EXPECT_EQ(names, expected_names) << what;
  for (const auto& item : expected) {
    const auto* got = state.find(item.key());
    if (!got) continue;
    EXPECT_EQ(got->scalar_type(), item.value().scalar_type()) << what << ": " << item.key();
    EXPECT_EQ(got->sizes(), item.value().sizes()) << what << ": " << item.key();
    EXPECT_TRUE(got->is_contiguous()) << what << ": " << item.key();
    EXPECT_TRUE(got->device().is_cpu()) << what << ": " << item.key();
    if (got->scalar_type() == item.value().scalar_type() && got->sizes() == item.value().sizes())
      EXPECT_TRUE(at::equal(*got, item.value())) << what << ": " << item.key() << " values differ";
  }
}

std::string entry(const CheckpointInfo& info, const std::string& key) {
  for (const auto& [k, text] : info.entries)
    if (k == key) return text;
  return "<no entry \"" + key + "\">";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Every wrapping of the tiny state dict reads back to the expected tensors.

struct TinyCase {
  const char* file;
  ContainerKind container;
  const char* location;
  const char* prefix;
};

void PrintTo(const TinyCase& c, std::ostream* os) { *os << c.file; }

class TinyCheckpoint : public ::testing::TestWithParam<TinyCase> {};

TEST_P(TinyCheckpoint, EqualsExpectedTensors) {
  const TinyCase& c = GetParam();
  const auto ckpt = read_checkpoint(ckpt_path(c.file));
  expect_tiny(ckpt.state, c.file);
  EXPECT_EQ(ckpt.info.container, c.container);
  EXPECT_EQ(ckpt.info.location, c.location);
  EXPECT_EQ(ckpt.info.stripped_prefix, c.prefix);
  EXPECT_EQ(ckpt.info.path, ckpt_path(c.file));
}

constexpr auto kZip = ContainerKind::torch_zip;
constexpr auto kLegacy = ContainerKind::torch_legacy;

INSTANTIATE_TEST_SUITE_P(Fixtures, TinyCheckpoint,
                         ::testing::Values(TinyCase{"tiny.state_dict.pth", kZip, "", ""},
                                           TinyCase{"tiny.ddp.pth", kZip, "state_dict", "module."},
                                           TinyCase{"tiny.fabric.pth", kZip, "model", ""},
                                           TinyCase{"tiny.lightning.ckpt", kZip, "state_dict", "model."},
                                           TinyCase{"tiny.legacy.pth", kLegacy, "", ""}));

INSTANTIATE_TEST_SUITE_P(
    Generated, TinyCheckpoint,
    ::testing::Values(TinyCase{"tiny.proto4.pth", kZip, "", ""}, TinyCase{"tiny.proto5.pth", kZip, "", ""},
                      TinyCase{"tiny.legacy_proto4.pth", kLegacy, "", ""},
                      TinyCase{"tiny.monai.pth", kZip, "state_dict", ""}, TinyCase{"tiny.params.pth", kZip, "", ""},
                      TinyCase{"tiny.subclass.pth", kZip, "", ""},
                      TinyCase{"tiny.compiled_ddp.pth", kZip, "", "module._orig_mod."},
                      TinyCase{"tiny.network.pth", kZip, "network", "net."},
                      TinyCase{"tiny.nested.pth", kZip, "model.state_dict", ""},
                      TinyCase{"tiny.cuda.pth", kZip, "", ""}, TinyCase{"tiny.legacy_cuda.pth", kLegacy, "", ""},
                      TinyCase{"tiny.cuda_types.pth", kZip, "", ""},
                      TinyCase{"tiny.legacy_bigendian.pth", kLegacy, "", ""}, TinyCase{"tiny.zip64.pth", kZip, "", ""},
                      TinyCase{"tiny.deflate.pth", kZip, "", ""}, TinyCase{"tiny.bigendian.pth", kZip, "", ""},
                      TinyCase{"hostile.reduce_entry.pth", kZip, "state_dict", ""}));

TEST(Checkpoint, RebuildTensorV3OnUntypedStorage) {
  const auto state = read_state_dict(ckpt_path("tiny.v3.pth"));
  ASSERT_EQ(state.size(), 1u);
  EXPECT_TRUE(at::equal(state["half"], expected_tiny().tensors["half"]));
}

TEST(Checkpoint, SafetensorsReadsWithPrefixStripped) {
  test::ScratchDir dir("ckpt");
  StateDict prefixed;
  for (const auto& item : expected_tiny().tensors) prefixed.insert("module." + item.key(), item.value());
  write_safetensors(dir / "p.safetensors", prefixed, {{"note", "x"}});
  const auto ckpt = read_checkpoint(dir / "p.safetensors");
  expect_tiny(ckpt.state, "safetensors");
  EXPECT_EQ(ckpt.info.container, ContainerKind::safetensors);
  EXPECT_EQ(ckpt.info.stripped_prefix, "module.");
  EXPECT_EQ(ckpt.info.metadata.at("note"), "x");
}

TEST(Checkpoint, DescribesOtherEntries) {
  const auto monai = read_checkpoint(ckpt_path("tiny.monai.pth")).info;
  EXPECT_EQ(entry(monai, "epoch"), "int 7");
  EXPECT_EQ(entry(monai, "best_acc"), "numpy.float64 (opaque)");
  EXPECT_EQ(entry(monai, "args"), "argparse.Namespace (opaque)");
  EXPECT_EQ(entry(monai, "blob"), "bytes (8)");
  EXPECT_EQ(entry(monai, "big"), "int 1180591620717411303424");
  EXPECT_EQ(entry(monai, "neg_big"), "int -36893488147419103232");
  EXPECT_EQ(entry(monai, "i32"), "int 2147483648");
  EXPECT_EQ(entry(monai, "buffer"), "bytes (2)");
  EXPECT_EQ(entry(monai, "tags"), "set (2 items)");
  EXPECT_EQ(entry(monai, "nothing"), "None");
  EXPECT_EQ(entry(monai, "ratio"), "float 0.25");

  const auto lightning = read_checkpoint(ckpt_path("tiny.lightning.ckpt")).info;
  EXPECT_EQ(entry(lightning, "global_step"), "int 9000");
  EXPECT_EQ(entry(lightning, "hyper_parameters"), "dict (3 keys: lr=0.0001, roi=[128, 128, 128], use_moe=True)");
  EXPECT_EQ(entry(lightning, "optimizer_states"), "list (1 item)");

  const auto fabric = read_checkpoint(ckpt_path("tiny.fabric.pth")).info;
  EXPECT_EQ(entry(fabric, "step"), "int 1234");
  EXPECT_EQ(entry(fabric, "optimizer"), "dict (2 keys: state, param_groups)");
  for (const auto& [key, text] : fabric.entries) EXPECT_NE(key, "model");
}

TEST(Checkpoint, FabricModelGivesFixtureConfig) {
  const auto ckpt = read_checkpoint(ckpt_path("smt_f12_v2_e4.fabric.pth"));
  EXPECT_EQ(ckpt.info.location, "model");
  EXPECT_EQ(ckpt.info.stripped_prefix, "");
  EXPECT_EQ(entry(ckpt.info, "step"), "int 1234");
  test::Fixture io("smt_f12_v2_e4.io.safetensors");
  const auto expected = test::options_from_config_json(io.metadata().at("config"));
  const auto got = infer_options(ckpt.state);
  EXPECT_EQ(got.in_channels(), expected.in_channels());
  EXPECT_EQ(got.out_channels(), expected.out_channels());
  EXPECT_EQ(got.feature_size(), expected.feature_size());
  EXPECT_EQ(got.depths(), expected.depths());
  EXPECT_EQ(got.num_heads(), expected.num_heads());
  EXPECT_EQ(got.use_v2(), expected.use_v2());
  EXPECT_EQ(got.use_moe(), expected.use_moe());
  EXPECT_EQ(got.num_experts(), expected.num_experts());
  EXPECT_EQ(got.num_layers_with_moe(), expected.num_layers_with_moe());
  // The relative_position_index buffers are saved as int64, everything else float32.
  for (const auto& item : ckpt.state)
    EXPECT_EQ(item.value().scalar_type(),
              item.key().find("relative_position_index") != std::string::npos ? at::kLong : at::kFloat)
        << item.key();
}

TEST(Checkpoint, MissingOrUnknownFilesAreErrors) {
  test::ScratchDir dir("ckpt");
  try {
    read_checkpoint(dir / "absent.pth");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "absent.pth")) << e.what();
  }
  write_file_atomically(dir / "empty.pth", "", 0);
  EXPECT_THROW(read_checkpoint(dir / "empty.pth"), Error);
  write_file_atomically(dir / "text.pth", "hello world", 11);
  try {
    read_checkpoint(dir / "text.pth");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "68 65 6c 6c")) << e.what();
  }
  EXPECT_THROW(read_checkpoint(dir / ""), Error);  // a directory
}

TEST(Checkpoint, WholeModuleAndTorchScriptAreRefusedWithAHint) {
  try {
    read_checkpoint(ckpt_path("other.whole_module.pth"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "torch.nn.modules.linear.Linear (opaque)")) << e.what();
    EXPECT_TRUE(contains(e.what(), "save model.state_dict()")) << e.what();
  }
  try {
    read_checkpoint(ckpt_path("other.torchscript.pt"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "TorchScript")) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile files.

TEST(CheckpointHostile, OsSystemIsNeverExecuted) {
  const std::string marker = "/tmp/swinsmt_os_system_marker";  // what the pickles would `touch`
  fs::remove(marker);
  try {
    read_checkpoint(ckpt_path("hostile.os_system.pth"));
    FAIL() << "a file holding only an os.system call has no state dict";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "os.system (opaque)")) << e.what();
    EXPECT_TRUE(contains(e.what(), "no state dict")) << e.what();
  }
  const auto ckpt = read_checkpoint(ckpt_path("hostile.reduce_entry.pth"));
  EXPECT_EQ(entry(ckpt.info, "evil"), "posix.system (opaque)");
  EXPECT_FALSE(fs::exists(marker));
}

void expect_error(const std::string& file, std::initializer_list<const char*> parts) {
  const auto start = std::chrono::steady_clock::now();
  try {
    read_checkpoint(ckpt_path(file));
    ADD_FAILURE() << file << " was read without error";
  } catch (const Error& e) {
    for (const char* part : parts) EXPECT_TRUE(contains(e.what(), part)) << file << ": " << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << file;
}

TEST(CheckpointHostile, StorageRecordShorterThanTensor) {
  expect_error("hostile.short_storage.pth", {"storage \"0\"", "\"conv.weight\"", "holds 96 bytes", "192 bytes"});
}

TEST(CheckpointHostile, HugeDeclaredSizeIsRefusedBeforeAllocating) {
  // 10 GB declared over a 64 KiB record: refused by the size check, not by a failed allocation.
  expect_error("hostile.huge_size.pth", {"\"w\"", "holds 65536 bytes", "10000000000 bytes"});
  expect_error("hostile.expand.pth", {"\"w\"", "stride [0, 0]", "refused"});
}

TEST(CheckpointHostile, DeepNestingHitsLimit) {
  expect_error("hostile.deep.pth", {"nested more than 1000 levels", "data.pkl", "offset"});
}

TEST(CheckpointHostile, WrongShapedTensorNamesKeyAndShapes) {
  test::ScratchDir dir("ckpt");
  auto state = read_state_dict(ckpt_path("smt_f12_v2_e4.fabric.pth"));
  const std::string key = "swinViT.layers1.0.blocks.0.attn.qkv.weight";
  ASSERT_EQ(state[key].sizes(), at::IntArrayRef({36, 12}));
  state[key] = at::zeros({36, 11});
  write_safetensors(dir / "bad.safetensors", state);
  try {
    load(dir / "bad.safetensors");
    FAIL() << "loaded a wrong-shaped tensor";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, key + ": expected [36, 12]")) << m;
    EXPECT_TRUE(contains(m, "got [36, 11]")) << m;
    EXPECT_TRUE(contains(m, "bad.safetensors")) << m;
  }
}

// The pickle machine itself, on hand-made pickles.
namespace {

ckpt::Value* unpickle(ckpt::Unpickler& u) { return u.load(); }

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// A string literal with its embedded NULs (without the terminating one).
template <size_t N>
std::string bytes_of(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string pickle_error(const std::string& bytes) {
  ckpt::Unpickler u(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test");
  try {
    u.load();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(Pickle, Protocols0And1) {
  // pickle.dumps({"a": [1, 2.5, "xé中", None, True, -5, 2**70, b"\0b"], "t": (1, 2)}, protocol=p)
  const std::string p0(
      "(dp0\nVa\np1\n(lp2\nI1\naF2.5\naVx\xe9\\u4e2d\np3\naNaI01\naI-5\naL1180591620717411303424L\nac_"
      "codecs\nencode\np4\n"
      "(V\\u0000b\np5\nVlatin1\np6\ntp7\nRp8\nasVt\np9\n(I1\nI2\ntp10\ns.");
  const std::string p1 = from_hex(
      "7d71002858010000006171015d7102284b01474004000000000000580600000078c3a9e4b8ad71034e4930310a4afbffffff4c3131"
      "38303539313632303731373431313330333432344c0a635f636f646563730a656e636f64650a71042858020000000062710558060000"
      "006c6174696e317106747107527108655801000000747109284b014b0274710a752e");
  for (const std::string& bytes : {p0, p1}) {
    ckpt::Unpickler u(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test");
    const ckpt::Value* v = unpickle(u);
    ASSERT_TRUE(v->is(ckpt::Kind::dict));
    const ckpt::Value* a = v->get("a");
    ASSERT_TRUE(a && a->is(ckpt::Kind::list));
    ASSERT_EQ(a->items.size(), 8u);
    EXPECT_EQ(a->items[0]->integer, 1);
    EXPECT_EQ(a->items[1]->floating, 2.5);
    EXPECT_EQ(a->items[2]->text, "x\xc3\xa9\xe4\xb8\xad");
    EXPECT_TRUE(a->items[3]->is(ckpt::Kind::none));
    EXPECT_TRUE(a->items[4]->is(ckpt::Kind::boolean) && a->items[4]->boolean);
    EXPECT_EQ(a->items[5]->integer, -5);
    EXPECT_EQ(a->items[6]->text, "1180591620717411303424");
    EXPECT_TRUE(a->items[7]->is(ckpt::Kind::bytes));
    EXPECT_EQ(a->items[7]->text, std::string("\0b", 2));
    const ckpt::Value* t = v->get("t");
    ASSERT_TRUE(t && t->is(ckpt::Kind::tuple) && t->items.size() == 2);
  }
}

TEST(Pickle, LimitsAndMalformedInput) {
  EXPECT_TRUE(contains(pickle_error("\x80\x02" + std::string(70000, '(')), "open MARKs (limit)"));
  // A list appended to itself over and over: depth grows through the memo, not the stack.
  std::string cycle = bytes_of("\x80\x02]q\x00");
  for (int i = 0; i < 1100; ++i)
    cycle += bytes_of(
        "h\x00"
        "a");
  EXPECT_TRUE(contains(pickle_error(cycle + "."), "nested more than 1000 levels"));
  EXPECT_TRUE(contains(pickle_error(std::string("\x80\x02\x8b\xff\xff\xff\xff.", 8)), "negative byte count"));
  EXPECT_TRUE(contains(pickle_error(std::string("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", 12)), "truncated"));
  EXPECT_TRUE(contains(pickle_error("\x80\x06N."), "protocol 6"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02\x82\x01."), "extension registry"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02N\xff."), "unknown opcode 0xff"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02h\x05."), "memo entry 5 was never stored"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02NNa."), "expected a list"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02N"), "without its STOP"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02."), "stack is empty"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02Q."), "stack is empty"));
  EXPECT_TRUE(contains(pickle_error("\x80\x02NQ."), "persistent id outside a torch file"));
  // Values and container elements are counted (here with small limits): popped values stay in the
  // arena, so "make an empty list, pop it" must not grow without bound.
  ckpt::Limits small;
  small.max_values = 1000;
  small.max_items = 1000;
  std::string lists = "\x80\x02";
  for (int i = 0; i < 1001; ++i) lists += "]0";
  ckpt::Unpickler ul(reinterpret_cast<const uint8_t*>(lists.data()), lists.size(), "test", nullptr, small);
  try {
    ul.load();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "more than 1000 values (limit)")) << e.what();
  }
  std::string items = "\x80\x02](" + std::string(500, 'N') + "e(" + std::string(501, 'N') + "e.";
  ckpt::Unpickler ui(reinterpret_cast<const uint8_t*>(items.data()), items.size(), "test", nullptr, small);
  try {
    ui.load();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "more than 1000 elements together (limit)")) << e.what();
  }
  // None, booleans, () and small ints are shared, so they do not count against the limit.
  std::string shared = "\x80\x02";
  for (int i = 0; i < 2000; ++i)
    shared +=
        "N0\x88"
        "0)0K\x07"
        "0";
  shared += "N.";
  ckpt::Unpickler us(reinterpret_cast<const uint8_t*>(shared.data()), shared.size(), "test", nullptr, small);
  EXPECT_TRUE(us.load()->is(ckpt::Kind::none));
  // A memo index of 2^32 - 1 is stored sparsely (no 4-billion-entry table).
  const std::string sparse = bytes_of(
      "\x80\x02Nr\xff\xff\xff\xff"
      "0j\xff\xff\xff\xff.");
  ckpt::Unpickler u(reinterpret_cast<const uint8_t*>(sparse.data()), sparse.size(), "test");
  EXPECT_TRUE(u.load()->is(ckpt::Kind::none));
  // A 100 kB integer is kept without converting it to decimal (which would be quadratic).
  std::string big = "\x80\x02\x8b";
  big += std::string("\xa0\x86\x01\x00", 4) + std::string(100000, '\x11') + ".";
  ckpt::Unpickler ub(reinterpret_cast<const uint8_t*>(big.data()), big.size(), "test");
  EXPECT_EQ(ub.load()->text, "<800000-bit integer>");
  // Unknown globals are opaque, whatever they are called with.
  const std::string call = bytes_of(
      "\x80\x02"
      "cbuiltins\neval\nX\x03\x00\x00\x00"
      "1+1\x85R}b.");
  ckpt::Unpickler uc(reinterpret_cast<const uint8_t*>(call.data()), call.size(), "test");
  const auto* o = uc.load();
  EXPECT_TRUE(o->is(ckpt::Kind::object));
  EXPECT_EQ(o->text, "builtins.eval");
}

// ---------------------------------------------------------------------------------------------
// Truncated and corrupted copies: swinsmt::Error or a valid result, never anything else.

namespace {

struct FuzzStats {
  size_t tried = 0, errors = 0, results = 0;
};

// One corrupted copy: must throw swinsmt::Error or give CPU tensors that the file could back.
void try_bytes(const std::vector<uint8_t>& bytes, const std::string& what, FuzzStats& stats) {
  ++stats.tried;
  try {
    const auto ckpt = ckpt::parse_checkpoint(bytes.data(), bytes.size(), what);
    uint64_t total = 0;
    for (const auto& item : ckpt.state) {
      ASSERT_TRUE(item.value().defined()) << what;
      ASSERT_TRUE(item.value().is_contiguous()) << what;
      total += item.value().numel() * item.value().element_size();
    }
    EXPECT_LE(total, bytes.size() + (uint64_t{64} << 20)) << what;
    ++stats.results;
  } catch (const Error&) {
    ++stats.errors;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw a non-swinsmt exception: " << e.what();
  }
}

const char* const kFuzzFiles[] = {"tiny.state_dict.pth", "tiny.ddp.pth",       "tiny.fabric.pth",
                                  "tiny.lightning.ckpt", "tiny.legacy.pth",    "tiny.legacy_proto4.pth",
                                  "tiny.proto5.pth",     "tiny.zip64.pth",     "tiny.deflate.pth",
                                  "tiny.monai.pth",      "tiny.bigendian.pth", "tiny.legacy_bigendian.pth"};

}  // namespace

TEST(CheckpointFuzz, TruncatedTinyFilesAreErrors) {
  FuzzStats stats;
  for (const char* file : kFuzzFiles) {
    const auto bytes = read_file_bytes(ckpt_path(file));
    std::set<size_t> cuts;
    for (size_t i = 0; i < 100; ++i) cuts.insert(bytes.size() * i / 100);
    for (size_t i = 0; i < 200 && i < bytes.size(); ++i) {
      cuts.insert(i);
      cuts.insert(bytes.size() - 1 - i);
    }
    for (const size_t cut : cuts) {
      const std::vector<uint8_t> head(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      const size_t before = stats.errors;
      try_bytes(head, std::string(file) + " cut at " + std::to_string(cut), stats);
      // Every container here ends with records it needs (ZIP end record, legacy storages).
      EXPECT_EQ(stats.errors, before + 1) << file << " cut at " << cut << " of " << bytes.size() << " was read";
    }
  }
  std::cout << "[ fuzz     ] truncation: " << stats.tried << " cut points, " << stats.errors << " errors\n";
  EXPECT_GT(stats.tried, 4000u);
}

TEST(CheckpointFuzz, FlippedBytesInTinyFiles) {
  FuzzStats stats;
  for (const char* file : kFuzzFiles) {
    const auto bytes = read_file_bytes(ckpt_path(file));
    for (size_t pos = 0; pos < bytes.size(); ++pos) {
      // Every position inverted; every third one also nudged by one (small values stay plausible).
      for (const int kind : {0, 1}) {
        if (kind == 1 && pos % 3) continue;
        auto copy = bytes;
        copy[pos] = kind == 0 ? static_cast<uint8_t>(~copy[pos]) : static_cast<uint8_t>(copy[pos] + 1);
        try_bytes(copy, std::string(file) + " byte " + std::to_string(pos) + (kind ? " +1" : " inverted"), stats);
      }
    }
  }
  std::cout << "[ fuzz     ] flips: " << stats.tried << " corrupted copies, " << stats.errors << " errors, "
            << stats.results << " read (bytes that do not matter, or tensor data without a checksum)\n";
  EXPECT_GT(stats.tried, 60000u);
}

TEST(CheckpointFuzz, TruncatedAndFlippedFabricModel) {
  const auto bytes = read_file_bytes(ckpt_path("smt_f12_v2_e4.fabric.pth"));
  FuzzStats cuts, flips;
  for (size_t i = 0; i < 100; ++i) {
    const size_t cut = bytes.size() * i / 100 + i;  // not always on a round offset
    try_bytes(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)),
              "fabric cut at " + std::to_string(cut), cuts);
  }
  EXPECT_EQ(cuts.errors, cuts.tried);
  // Flips where structure lives: the pickle (first records) and the central directory (the end).
  const size_t positions[] = {0,    3,    8,    20,   26,   28,   30,   40,    64,    70,    80,    100,  120,  140,
                              150,  200,  300,  333,  400,  512,  600,  640,   700,   800,   1000,  1200, 1500, 2000,
                              3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 12000, 15000, 20000, 30000};
  for (const size_t pos : positions) {
    auto copy = bytes;
    copy[pos] = static_cast<uint8_t>(~copy[pos]);
    try_bytes(copy, "fabric byte " + std::to_string(pos), flips);
  }
  for (size_t back = 1; back <= 2000; back += 53) {
    auto copy = bytes;
    auto& byte = copy.at(bytes.size() - back);
    byte = static_cast<uint8_t>(~byte);
    try_bytes(copy, "fabric byte " + std::to_string(bytes.size() - back), flips);
  }
  std::cout << "[ fuzz     ] fabric model: " << cuts.tried << " cut points, " << flips.tried << " flips ("
            << flips.errors << " errors, " << flips.results << " read)\n";
}

// ---------------------------------------------------------------------------------------------
// The CLI.

TEST(CliInspect, FabricCheckpointText) {
  const auto run = test::run_swinsmt("inspect " + ckpt_path("smt_f12_v2_e4.fabric.pth"));
  ASSERT_EQ(run.code, 0) << run.output;
  for (const char* part :
       {"torch.save zip", "under \"model\"", "tensors:     257", "feature 12", "heads [3, 6, 12, 24]",
        "moe 4 experts in the last 3 stage(s)", "step -> int 1234", "optimizer -> dict (2 keys"})
    EXPECT_TRUE(contains(run.output, part)) << part << "\n" << run.output;
}

TEST(CliInspect, Json) {
  const std::string path = ckpt_path("smt_f12_v2_e4.fabric.pth");
  const auto run = test::run_swinsmt("inspect --json " + path);
  ASSERT_EQ(run.code, 0) << run.output;
  const auto j = nlohmann::json::parse(run.output);
  const auto state = read_state_dict(path);
  int64_t params = 0;
  for (const auto& item : state)
    if (item.value().is_floating_point() && item.key().find("relative_position_index") == std::string::npos)
      params += item.value().numel();
  EXPECT_EQ(j["container"], "torch.save zip");
  EXPECT_EQ(j["location"], "model");
  EXPECT_EQ(j["stripped_prefix"], "");
  EXPECT_EQ(j["tensors"], state.size());
  EXPECT_EQ(j["parameters"], params);
  EXPECT_EQ(j["entries"]["step"], "int 1234");
  test::Fixture io("smt_f12_v2_e4.io.safetensors");
  const auto fixture = nlohmann::json::parse(io.metadata().at("config"));
  for (const auto& [key, value] : fixture.items())
    if (key != "img_size") EXPECT_EQ(j["config"][key], value) << key;
  EXPECT_EQ(j["config"]["downsample"], "merging");
  EXPECT_EQ(j["config_error"], "");
}

TEST(CliInspect, EveryTinyFileAndInferenceFailure) {
  for (const char* file : {"tiny.state_dict.pth", "tiny.ddp.pth", "tiny.fabric.pth", "tiny.lightning.ckpt",
                           "tiny.legacy.pth", "tiny.expected.safetensors"}) {
    const auto run = test::run_swinsmt("inspect " + ckpt_path(file));
    EXPECT_EQ(run.code, 0) << file << "\n" << run.output;
    EXPECT_TRUE(contains(run.output, "tensors:     12")) << run.output;
    // Not a SwinSMT: the reason is given, the rest is still printed.
    EXPECT_TRUE(contains(run.output, "config:      not inferred:")) << run.output;
    EXPECT_TRUE(contains(run.output, "swinViT.patch_embed.proj.weight")) << run.output;
  }
  const auto lightning = test::run_swinsmt("inspect --json " + ckpt_path("tiny.lightning.ckpt"));
  ASSERT_EQ(lightning.code, 0) << lightning.output;
  const auto j = nlohmann::json::parse(lightning.output);
  EXPECT_TRUE(j["config"].is_null());
  EXPECT_NE(j["config_error"], "");
  EXPECT_EQ(j["stripped_prefix"], "model.");
  EXPECT_EQ(j["entries"]["epoch"], "int 41");
}

TEST(CliInspect, HostileFileIsOneErrorLine) {
  const auto run = test::run_swinsmt("inspect " + ckpt_path("hostile.short_storage.pth"));
  EXPECT_EQ(run.code, 1);
  EXPECT_TRUE(contains(run.output, "swinsmt: error: ")) << run.output;
  EXPECT_TRUE(contains(run.output, "holds 96 bytes")) << run.output;
}

TEST(CliConvert, FabricToSafetensorsWithConfig) {
  test::ScratchDir dir("ckpt");
  const std::string source = ckpt_path("smt_f12_v2_e4.fabric.pth");
  const std::string out = dir / "model.safetensors";
  const std::string args = "convert " + source + " " + out;
  const auto run = test::run_swinsmt(args);
  ASSERT_EQ(run.code, 0) << run.output;

  const auto converted = read_safetensors(out);
  const auto original = read_state_dict(source);
  ASSERT_EQ(converted.tensors.size(), original.size());
  for (const auto& item : original) {
    const auto* t = converted.tensors.find(item.key());
    ASSERT_TRUE(t) << item.key();
    EXPECT_TRUE(at::equal(*t, item.value())) << item.key();
  }
  // The config metadata is what the fixtures carry, so the fixtures' own parser reads it.
  const auto options = test::options_from_config_json(converted.metadata.at("config"));
  const auto inferred = infer_options(original);
  EXPECT_EQ(describe(options), describe(inferred));
  EXPECT_EQ(converted.metadata.at("description"), describe(inferred));
  const auto config = nlohmann::json::parse(converted.metadata.at("config"));
  for (const char* key : {"in_channels", "out_channels", "feature_size", "depths", "num_heads", "use_v2", "use_moe",
                          "num_experts", "num_layers_with_moe", "downsample", "normalize"})
    EXPECT_TRUE(config.contains(key)) << key;

  // The converted file loads into the model by itself.
  const auto loaded = load(out);
  EXPECT_EQ(describe(loaded.config), describe(inferred));

  const auto again = test::run_swinsmt(args);
  EXPECT_EQ(again.code, 1);
  EXPECT_TRUE(contains(again.output, "already exists")) << again.output;
  EXPECT_EQ(test::run_swinsmt(args + " --overwrite").code, 0);
  const auto v2 = test::run_swinsmt("convert --merging mergingv2 --no-normalize --overwrite " + source + " " + out);
  ASSERT_EQ(v2.code, 0) << v2.output;
  const auto v2config = nlohmann::json::parse(read_safetensors(out).metadata.at("config"));
  EXPECT_EQ(v2config["downsample"], "mergingv2");
  EXPECT_EQ(v2config["normalize"], false);
}

TEST(CliConvert, NonModelStateDictHasNoConfig) {
  test::ScratchDir dir("ckpt");
  const auto run = test::run_swinsmt("convert " + ckpt_path("tiny.legacy.pth") + " " + (dir / "tiny.safetensors"));
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "no config metadata")) << run.output;
  const auto converted = read_safetensors(dir / "tiny.safetensors");
  expect_tiny(converted.tensors, "converted tiny.legacy.pth");
  EXPECT_EQ(converted.metadata.count("config"), 0u);
}
