// Error type used across kestrel.
//
// Every user-facing failure (a malformed GGUF, an unsupported architecture, a
// prompt longer than the context) is thrown as kestrel::Error with a message
// that names the problem; the CLI prints it and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace kestrel {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace kestrel
