#pragma once
// The one exception type the library throws for bad input (files, options, shapes).
// Messages are one sentence that names the file or argument, the expected and the actual value.

#include <stdexcept>
#include <string>

namespace swinsmt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace swinsmt
