#include "common_options.hpp"

#include <c10/util/Exception.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <iostream>

namespace swinsmt::cli {

ConfigOverrides ModelArgs::overrides() const {
  // Only what was asked for: everything else comes from the model card (or the file's "config"
  // metadata), else the official defaults.
  ConfigOverrides o;
  if (!merging.empty()) o.downsample = parse_merging(merging);
  if (no_normalize) o.normalize = false;
  return o;
}

LoadOptions ModelArgs::load_options() const {
  LoadOptions o;
  o.config = overrides();
  o.device = parse_device(device);
  o.dtype = parse_dtype(dtype);
  return o;
}

void add_configuration_options(CLI::App& command, ModelArgs& args) {
  command
      .add_option("--merging", args.merging,
                  "Patch merging version of the weights (not visible in the tensors; default: the model card's, "
                  "else merging)")
      ->check(CLI::IsMember({"merging", "mergingv2"}));
  command.add_flag("--no-normalize", args.no_normalize,
                   "The model was built with normalize=False (not visible in the tensors; default: the model "
                   "card's, else normalize=True)");
}

void add_device_options(CLI::App& command, ModelArgs& args) {
  command.add_option("--device", args.device, "cpu, cuda or cuda:N")->capture_default_str();
  command
      .add_option("--dtype", args.dtype,
                  "Network precision: float32, float16 or bfloat16 (on the CPU: float32 with the Soft MoE products in "
                  "bfloat16, where the CPU has AVX512-BF16)")
      ->check(CLI::IsMember({"float32", "float16", "bfloat16"}))
      ->capture_default_str();
}

int set_threads(int requested) {
  const int cpus = available_cpus();
  int threads = requested > 0 ? requested : cpus;
  if (threads > cpus) {
    std::cerr << "swinsmt: warning: --threads " << requested << " is more than the " << cpus
              << " CPUs this process may use; using " << cpus << "\n";
    threads = cpus;
  }
  at::set_num_threads(threads);
  return threads;
}

std::string current_error_message() {
  try {
    throw;
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();  // swinsmt::Error's sentence, or the standard library's
  } catch (...) {
    return "unknown failure";
  }
}

int& exit_status() {
  static int status = 0;
  return status;
}

nlohmann::json config_json(const SwinSMTOptions& o) {
  return {{"img_size", o.img_size()},
          {"in_channels", o.in_channels()},
          {"out_channels", o.out_channels()},
          {"feature_size", o.feature_size()},
          {"depths", o.depths()},
          {"num_heads", o.num_heads()},
          {"use_v2", o.use_v2()},
          {"use_moe", o.use_moe()},
          {"num_experts", o.num_experts()},
          {"num_layers_with_moe", o.num_layers_with_moe()},
          {"downsample", merging_name(o.downsample())},
          {"normalize", o.normalize()}};
}

}  // namespace swinsmt::cli
