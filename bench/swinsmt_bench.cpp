// Timed benchmark of one sliding window forward and of the Soft MoE layer alone, comparing the
// official op sequence (MoeKernel::reference) with the chunked exact kernel, and of segment's
// sliding-window aggregation without the network. Each invocation measures one configuration so that the peak RSS
// belongs to it alone; bench/run_benchmarks.sh runs the grid side by side and writes the table.
//
//   swinsmt_bench model --size 128 --kernel chunked [--products bfloat16] [--repeat 2] [--save out.bin | --compare
//   ref.bin]
//                       [--profile trace.json] [--ct CT.nii.gz]
//   swinsmt_bench moe --tokens 32768 --dim 96 --experts 4 --kernel reference [--chunk 1024 --tile 0]
//   swinsmt_bench aggregate [--grid 243x201x223] [--accumulator-memory 512]
//   swinsmt_bench conv --size 128 --in 48 --out 48 [--repeat 8]
//   common: --threads N, --allocator pool|default (the CLI's CPU buffer pool, or LibTorch's own)
#include <swinsmt/swinsmt.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <sys/resource.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 2; i + 1 < argc; ++i)
    if (name == argv[i]) return argv[i + 1];
  return fallback;
}

swinsmt::MoeKernel parse_kernel(const std::string& name) {
  if (name == "reference") return swinsmt::MoeKernel::reference;
  if (name == "chunked") return swinsmt::MoeKernel::chunked;
  if (name == "chunked_aten") return swinsmt::MoeKernel::chunked_aten;
  throw swinsmt::Error("--kernel must be reference, chunked or chunked_aten, got " + name);
}

template <typename F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Repeated runs of one forward: the first pays for fresh memory; later ones vary by 5-20 % on a
// shared VM, so their median is what is reported ("seconds"), with every run listed.
struct RunTimes {
  double first = 0, later_median = 0;
  std::string all;  // comma-separated, for the JSON line
};

RunTimes summarise(const std::vector<double>& times) {
  RunTimes r;
  r.first = times.front();
  std::vector<double> later(times.size() > 1 ? times.begin() + 1 : times.begin(), times.end());
  std::sort(later.begin(), later.end());
  const std::size_t mid = later.size() / 2;
  r.later_median = later.size() % 2 == 1 ? later[mid] : (later[mid - 1] + later[mid]) / 2;
  for (const double t : times) {
    char text[32];
    std::snprintf(text, sizeof text, "%s%.2f", r.all.empty() ? "" : ",", t);
    r.all += text;
  }
  return r;
}

/// The central size^3 window of `ct_path` resampled to 1.5 mm RAS and scaled to [0, 1], as
/// swinsmt segment feeds the network (zero-padded where the CT is smaller).
at::Tensor central_window(const std::string& ct_path, int64_t size) {
  const auto ct = swinsmt::io::read_nifti(ct_path);
  const auto ras = swinsmt::orient_to_ras(ct.data, ct.affine);
  const std::array<int64_t, 3> shape{ras.data.size(0), ras.data.size(1), ras.data.size(2)};
  const auto plan = swinsmt::plan_spacing(ras.affine, shape, {1.5, 1.5, 1.5});
  const at::Tensor image = swinsmt::scale_intensity(swinsmt::spacing_linear(ras.data, plan), -1024, 1024);
  at::Tensor window = at::zeros({1, 1, size, size, size});
  std::vector<at::indexing::TensorIndex> from, to{at::indexing::Slice(), at::indexing::Slice()};
  for (int64_t d = 0; d < 3; ++d) {
    const int64_t n = std::min(size, image.size(d)), start = (image.size(d) - n) / 2;
    from.emplace_back(at::indexing::Slice(start, start + n));
    to.emplace_back(at::indexing::Slice(0, n));
  }
  window.index(to).copy_(image.index(from));
  return window;
}

int run_model(int argc, char** argv) {
  const int64_t size = std::stoll(arg(argc, argv, "--size", "64"));
  const auto kernel_name = arg(argc, argv, "--kernel", "chunked");
  // The official README configuration (feature 48, v2, 4 experts in 3 stages, 118 classes).
  auto options = swinsmt::SwinSMTOptions(1, 118)
                     .img_size({size, size, size})
                     .feature_size(48)
                     .use_v2(true)
                     .use_moe(true)
                     .num_experts(4)
                     .num_layers_with_moe(3);
  at::manual_seed(0);
  swinsmt::SwinSMT model(options);
  model->eval();
  model->set_moe_kernel(parse_kernel(kernel_name));
  // --products bfloat16: the Soft MoE products with bfloat16 operands (what --dtype bfloat16 runs on the CPU).
  const auto products = arg(argc, argv, "--products", "float32");
  if (products != "float32" && products != "bfloat16")
    throw swinsmt::Error("--products must be float32 or bfloat16, got " + products);
  model->set_bf16_products(products == "bfloat16");
  c10::InferenceMode guard;
  // --ct: the central window of a CT as segment prepares it (RAS, 1.5 mm, HU -1024..1024 -> [0, 1])
  // instead of uniform noise: how fast a window runs depends a little on its content (the Soft MoE
  // softmax takes a second exp where a tile's logits spread widely).
  const auto ct_path = arg(argc, argv, "--ct", "");
  at::Tensor input = at::rand({1, 1, size, size, size});
  if (!ct_path.empty()) input = central_window(ct_path, size);
  at::Tensor logits;
  const auto profile = arg(argc, argv, "--profile", "");
  // --repeat R runs R windows in a row: the first pays for faulting in fresh memory, later ones
  // are what every further window of a sliding-window inference costs.
  const int repeat = std::max(1, std::stoi(arg(argc, argv, "--repeat", "1")));
  std::vector<double> times;
  long faults = 0;
  std::size_t fresh_bytes = 0;  // fresh memory the buffer pool mapped (and the kernel zeroed) in the last window
  for (int i = 0; i < repeat; ++i) {
    logits = at::Tensor();
    const long faults_before = minor_page_faults();
    const std::size_t mapped_before = swinsmt::cpu_buffer_pool_stats().mapped_bytes;
    // Chrome trace of every ATen op of the last window (bench/profile_summary.py aggregates it);
    // written when the recorder goes out of scope at the end of the iteration.
    std::unique_ptr<torch::autograd::profiler::RecordProfile> recorder;
    if (!profile.empty() && i + 1 == repeat)
      recorder = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
    times.push_back(seconds([&] { logits = model->forward(input); }));
    faults = minor_page_faults() - faults_before;
    fresh_bytes = swinsmt::cpu_buffer_pool_stats().mapped_bytes - mapped_before;
  }
  const RunTimes runs = summarise(times);
  const double rss = peak_rss_mb();
  double max_err = -1;
  const auto compare = arg(argc, argv, "--compare", "");
  if (!compare.empty()) {
    auto reference = at::empty_like(logits);
    std::ifstream in(compare, std::ios::binary);
    in.read(static_cast<char*>(reference.data_ptr()), static_cast<std::streamsize>(reference.nbytes()));
    if (!in) throw swinsmt::Error("cannot read reference logits " + compare);
    max_err = (logits - reference).abs().max().item<double>();
  }
  const auto save = arg(argc, argv, "--save", "");
  if (!save.empty()) {
    std::ofstream out(save, std::ios::binary);
    out.write(static_cast<const char*>(logits.data_ptr()), static_cast<std::streamsize>(logits.nbytes()));
  }
  std::printf(
      "{\"bench\":\"model\",\"size\":%lld,\"input\":\"%s\",\"kernel\":\"%s\",\"products\":\"%s\",\"threads\":%d,"
      "\"repeat\":%d,\"first_"
      "seconds\":%.2f,"
      "\"seconds\":%.2f,\"window_seconds\":[%s],\"peak_rss_mb\":%.0f,\"page_"
      "faults\":%ld,\"pool_fresh_mb\":%.0f,\"max_abs_diff_vs_reference\":%.3g}\n",
      static_cast<long long>(size), ct_path.empty() ? "uniform noise" : ct_path.c_str(), kernel_name.c_str(),
      products.c_str(), at::get_num_threads(), repeat, runs.first, runs.later_median, runs.all.c_str(), rss, faults,
      static_cast<double>(fresh_bytes) / (1 << 20), max_err);
  return 0;
}

/// The sliding-window aggregation of `segment` without the network: SlidingWindowInferer::argmax over a
/// --grid (default the bundled CT's 243 x 201 x 223 at 1.5 mm) with roi 128, overlap 0.5, gaussian
/// blending and the README configuration's output block (48 -> 118 channels, 1x1x1) as the pointwise
/// head, as segment runs it; every window's "decoder features" are one fixed random tensor. Reports
/// the total, the head's share (counted as network time by segment) and the rest (segment's
/// "aggregation"): what the pipeline adds to windows x the window benchmark.
int run_aggregate(int argc, char** argv) {
  std::vector<int64_t> grid;
  {
    std::string text = arg(argc, argv, "--grid", "243x201x223");
    for (size_t at = 0; at <= text.size();) {
      const size_t next = std::min(text.find('x', at), text.size());
      grid.push_back(std::stoll(text.substr(at, next - at)));
      at = next + 1;
    }
    if (grid.size() != 3) throw swinsmt::Error("--grid must be DxHxW, got " + text);
  }
  auto options = swinsmt::SwinSMTOptions(1, 118).img_size({128, 128, 128}).feature_size(48).use_v2(true);
  at::manual_seed(0);
  swinsmt::SwinSMT model(options);
  model->eval();
  c10::InferenceMode guard;
  const at::Tensor features = at::randn({1, 48, 128, 128, 128});
  swinsmt::SlidingWindowOptions sw;
  // MiB; negative never spills (a multiplication: shifting a negative value left is undefined in C++17).
  sw.accumulator_memory_bytes = std::stoll(arg(argc, argv, "--accumulator-memory", "512")) * (int64_t{1} << 20);
  const swinsmt::SlidingWindowInferer inferer(sw);
  double head_seconds = 0;
  const swinsmt::PointwiseHead head = [&](const at::Tensor& f) {
    at::Tensor logits;
    head_seconds += seconds([&] { logits = model->out(f.contiguous()); });
    return logits;
  };
  const at::Tensor image = at::zeros({1, 1, grid[0], grid[1], grid[2]});
  at::Tensor labels;
  const double total = seconds([&] {
    labels = inferer.argmax(
        image, [&](const at::Tensor&) { return features; }, head);
  });
  std::printf(
      "{\"bench\":\"aggregate\",\"grid\":\"%lldx%lldx%lld\",\"windows\":%lld,\"threads\":%d,\"seconds\":%.2f,"
      "\"head_seconds\":%.2f,\"aggregation_seconds\":%.2f,\"peak_rss_mb\":%.0f}\n",
      static_cast<long long>(grid[0]), static_cast<long long>(grid[1]), static_cast<long long>(grid[2]),
      static_cast<long long>(inferer.window_count(grid)), at::get_num_threads(), total, head_seconds,
      total - head_seconds, peak_rss_mb());
  return labels.defined() ? 0 : 1;
}

int run_moe(int argc, char** argv) {
  const int64_t tokens = std::stoll(arg(argc, argv, "--tokens", "4096"));
  const int64_t dim = std::stoll(arg(argc, argv, "--dim", "96"));
  const int64_t experts = std::stoll(arg(argc, argv, "--experts", "4"));
  const auto kernel_name = arg(argc, argv, "--kernel", "chunked");
  const int64_t chunk = std::stoll(arg(argc, argv, "--chunk", "1024"));
  const int64_t tile = std::stoll(arg(argc, argv, "--tile", "0"));
  const auto products = arg(argc, argv, "--products", "float32");
  if (products != "float32" && products != "bfloat16")
    throw swinsmt::Error("--products must be float32 or bfloat16, got " + products);
  at::manual_seed(0);
  swinsmt::SoftMoE moe(swinsmt::SoftMoEOptions(dim, experts)
                           .kernel(parse_kernel(kernel_name))
                           .chunk_size(chunk)
                           .tile_size(tile)
                           .bf16_products(products == "bfloat16"));
  c10::InferenceMode guard;
  const auto x = at::randn({1, tokens, dim});
  at::Tensor y;
  // --repeat R: as in a model forward, later calls reuse the first one's memory (buffer pool).
  const int repeat = std::max(1, std::stoi(arg(argc, argv, "--repeat", "1")));
  std::string status = "ok";
  std::vector<double> times;
  try {
    for (int i = 0; i < repeat; ++i) {
      y = at::Tensor();
      times.push_back(seconds([&] { y = moe->forward(x); }));
    }
  } catch (const std::exception& e) {
    status = "failed";  // e.g. out of memory for the quadratic reference at large N
  }
  const RunTimes runs = times.empty() ? RunTimes{} : summarise(times);
  std::printf(
      "{\"bench\":\"moe\",\"tokens\":%lld,\"dim\":%lld,\"experts\":%lld,\"kernel\":\"%s\",\"products\":\"%s\","
      "\"threads\":%d,\"status\":\"%"
      "s\",\"repeat\":%d,\"first_seconds\":%.2f,\"seconds\":%.2f,\"run_seconds\":[%s],\"peak_rss_mb\":%.0f}\n",
      static_cast<long long>(tokens), static_cast<long long>(dim), static_cast<long long>(experts), kernel_name.c_str(),
      products.c_str(), at::get_num_threads(), status.c_str(), repeat, runs.first, runs.later_median, runs.all.c_str(),
      peak_rss_mb());
  return status == "ok" ? 0 : 1;
}

/// One 3x3x3 convolution of the model (stride 1, padding 1, no bias, float32) on a size^3 map with --in
/// and --out channels: the network's ConvLayer (Winograd F(2x2x2, 3x3x3) where it applies, see
/// kernels/winograd_conv3d.hpp) against ATen's direct conv3d (oneDNN) with the same weights, the two
/// alternating, --repeat runs each. Reports both medians of the runs after the first, and the largest
/// difference between their outputs.
int run_conv(int argc, char** argv) {
  const int64_t size = std::stoll(arg(argc, argv, "--size", "128"));
  const int64_t in = std::stoll(arg(argc, argv, "--in", "48"));
  const int64_t out = std::stoll(arg(argc, argv, "--out", "48"));
  const int repeat = std::max(2, std::stoi(arg(argc, argv, "--repeat", "8")));
  at::manual_seed(0);
  swinsmt::ConvLayer layer(swinsmt::ConvOptions(in, out, 3));
  c10::InferenceMode guard;
  const auto x = at::rand({1, in, size, size, size});  // [0, 1), as after the first layers' activations
  const auto& weight = layer->conv->weight;
  std::vector<double> ours, direct;
  at::Tensor y_ours, y_direct;
  for (int i = 0; i < repeat; ++i) {
    y_ours = at::Tensor();
    ours.push_back(seconds([&] { y_ours = layer->forward(x); }));
    y_direct = at::Tensor();
    direct.push_back(seconds([&] { y_direct = at::conv3d(x, weight, {}, 1, 1); }));
  }
  const double difference = (y_ours - y_direct).abs().max().item<double>();
  const double scale = y_direct.abs().max().item<double>();
  const RunTimes a = summarise(ours), b = summarise(direct);
  std::printf(
      "{\"bench\":\"conv\",\"size\":%lld,\"in\":%lld,\"out\":%lld,\"threads\":%d,\"repeat\":%d,"
      "\"seconds\":%.3f,\"run_seconds\":[%s],\"direct_seconds\":%.3f,\"direct_run_seconds\":[%s],"
      "\"direct_gflops\":%.0f,\"max_abs_diff_vs_direct\":%.3g,\"max_abs_direct\":%.3g}\n",
      static_cast<long long>(size), static_cast<long long>(in), static_cast<long long>(out), at::get_num_threads(),
      repeat, a.later_median, a.all.c_str(), b.later_median, b.all.c_str(),
      2.0 * 27 * in * out * static_cast<double>(size * size * size) / b.later_median / 1e9, difference, scale);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr
        << "usage: swinsmt_bench model|moe|aggregate|conv [--size N] [--kernel reference|chunked] [--threads N] ...\n";
    return 2;
  }
  try {
    const int threads = std::stoi(arg(argc, argv, "--threads", std::to_string(std::thread::hardware_concurrency())));
    at::set_num_threads(threads);
    // The CPU allocator the CLI uses (swinsmt/kernels/cpu_buffer_pool.hpp); --allocator default measures without it.
    const auto allocator = arg(argc, argv, "--allocator", "pool");
    if (allocator == "pool") {
      swinsmt::use_cpu_buffer_pool();
    } else if (allocator != "default") {
      throw swinsmt::Error("--allocator must be pool or default, got " + allocator);
    }
    const std::string what = argv[1];
    if (what == "model") return run_model(argc, argv);
    if (what == "moe") return run_moe(argc, argv);
    if (what == "aggregate") return run_aggregate(argc, argv);
    if (what == "conv") return run_conv(argc, argv);
    std::cerr << "unknown benchmark " << what << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "swinsmt_bench: " << e.what() << "\n";
    return 1;
  }
}
