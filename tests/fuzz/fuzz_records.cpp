// SPDX-License-Identifier: Apache-2.0
// The ring-buffer record decoder, and what reads a decoded record without touching the
// filesystem: both trace printers (a binary record's judge walks real paths: its string
// fields are read with strnlen within their arrays, see binaries/binary_judge.cpp). The kernel
// writes these records, but a decoder that trusts sizes, NULs or counts in them is one kernel bug
// away from reading past a record.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "events/records.h"
#include "trace/trace_printer.h"
#include "trace/wall_clock.h"

namespace {

struct Printers {
  execmond::WallClock clock;
  std::unique_ptr<execmond::TracePrinter> table = execmond::make_table_printer(clock);
  std::unique_ptr<execmond::TracePrinter> json = execmond::make_json_printer(clock);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Printers printers;
  // The ring buffer hands out exactly `size` bytes, 8-aligned: a copy of that size lets
  // ASan see any read past the record.
  std::vector<std::uint64_t> aligned((size + 7) / 8);
  if (size != 0) std::memcpy(aligned.data(), data, size);
  const execmond::Event event = execmond::decode_event(size ? aligned.data() : nullptr, size);
  std::string line;
  if (const auto* exec = std::get_if<const execmond_exec_event*>(&event)) {
    // A daemon-sized exec record has no filename or argv: only trace reads those.
    if (size >= offsetof(execmond_exec_event, args)) {
      printers.table->format(line, **exec, "-", nullptr);
      printers.json->format(line, **exec, "-", nullptr);
    }
  } else if (const auto* exit = std::get_if<const execmond_exit_event*>(&event)) {
    printers.table->format(line, **exit, "-");
    printers.json->format(line, **exit, "-");
  } else if (const auto* failed = std::get_if<const execmond_exec_failed_event*>(&event)) {
    printers.table->format(line, **failed, "-");
    printers.json->format(line, **failed, "-");
  }
  return 0;
}
