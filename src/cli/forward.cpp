// `swinsmt forward`: runs the network on the tensor named "input" of a safetensors file.

#include "commands.hpp"
#include "common/file_io.hpp"

#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <iostream>

namespace swinsmt::cli {
namespace {

struct ForwardArgs {
  std::string weights, input, output;
  ModelArgs model;
  bool hidden = false, overwrite = false;
  int threads = 0;
};

void run_forward(const ForwardArgs& args) {
  // Cheap checks first (output, options), then the weights, then what the input holds: a wrong
  // weights file or device is reported even when the input is wrong too.
  check_writable_output(args.output, args.overwrite);
  set_threads(args.threads);
  const LoadOptions options = args.model.load_options();
  auto inputs = read_safetensors(args.input);
  auto loaded = load(args.weights, options);

  const auto* x = inputs.tensors.find("input");
  if (!x)
    throw Error(args.input + " has no tensor named \"input\" (found " + std::to_string(inputs.tensors.size()) +
                " others)");
  if (!x->is_floating_point())
    throw Error(args.input + ": tensor \"input\" must be floating point, got " +
                std::string(c10::toString(x->scalar_type())));
  validate_input_shape(loaded.config, x->sizes().vec());

  c10::InferenceMode guard;
  auto result = loaded.model->forward_with_hidden(x->to(options.device, options.dtype));
  StateDict out;
  out.insert("output", result.logits.to(at::kCPU, at::kFloat));
  if (args.hidden)
    for (size_t i = 0; i < result.hidden.size(); ++i)
      out.insert("hidden." + std::to_string(i), result.hidden[i].to(at::kCPU, at::kFloat));
  write_safetensors(args.output, out, {{"config", describe(loaded.config)}});
  std::cerr << "wrote " << args.output << ": output " << c10::str(result.logits.sizes()) << "\n";
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  auto* cmd = app.add_subcommand("forward",
                                 "Run the network on the tensor \"input\" (B x C x D x H x W) of a safetensors file");
  cmd->add_option("--weights,-w", args->weights, "Checkpoint (.pth, .ckpt, .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--input,-i", args->input, "safetensors file holding \"input\"")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", args->output,
                  "safetensors file to write (\"output\", and \"hidden.0..4\" with --hidden)")
      ->required();
  cmd->add_flag("--hidden", args->hidden, "Also write the five Swin encoder outputs hidden.0..4");
  add_configuration_options(*cmd, args->model);
  add_device_options(*cmd, args->model);
  cmd->add_flag("--overwrite", args->overwrite, "Replace the output file if it exists");
  cmd->add_option("--threads", args->threads, "CPU threads (default: every CPU this process may use)");
  cmd->callback([args] { run_forward(*args); });
}

}  // namespace swinsmt::cli
