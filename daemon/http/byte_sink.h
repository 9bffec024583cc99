// Where the exposition writers put the bytes they format: a gzip stream in the daemon,
// a string in tests.
#pragma once

#include <string>
#include <string_view>

namespace execmond::http {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::string_view bytes) = 0;
};

// Collects everything written: for tests and small bodies.
class StringSink final : public ByteSink {
 public:
  void write(std::string_view bytes) override { text.append(bytes); }
  std::string text;
};

}  // namespace execmond::http
