// `swinsmt`: command-line front end of the library. Errors are one sentence on stderr, exit code 1.

#include "commands.hpp"

#include <swinsmt/error.hpp>

#include <c10/util/Exception.h>

#include <filesystem>
#include <iostream>

namespace swinsmt::cli {

void check_writable_output(const std::string& path, bool overwrite) {
  if (std::filesystem::exists(path) && !overwrite)
    throw Error(path + " already exists; pass --overwrite to replace it");
}

}  // namespace swinsmt::cli

int main(int argc, char** argv) {
  CLI::App app{"swinsmt: Swin SMT whole-body CT segmentation (117 TotalSegmentator-v2 structures) on LibTorch"};
  app.require_subcommand(1);
  swinsmt::cli::add_forward_command(app);
  swinsmt::cli::add_segment_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const swinsmt::Error& e) {
    std::cerr << "swinsmt: error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "swinsmt: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "swinsmt: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
