// Typed, validated views of the records the BPF programs put in the ring buffer.
#pragma once

#include <linux/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <variant>

extern "C" {
#include "execmond.h"
}

namespace execmond {

static_assert(sizeof(execmond_event_header) == 72);
static_assert(offsetof(execmond_event_header, comm) == 32);
static_assert(offsetof(execmond_event_header, cgroup_id) == 64);
static_assert(sizeof(execmond_binary_id) == 24);
static_assert(offsetof(execmond_binary_id, ctime_ns) == 8);
static_assert(offsetof(execmond_binary_id, dev) == 16);
static_assert(offsetof(execmond_binary_id, view) == 20);
static_assert(offsetof(execmond_exec_event, binary) == 72);
static_assert(offsetof(execmond_exec_event, binary_flags) == 96);
static_assert(offsetof(execmond_exec_event, filename) == 104);
static_assert(offsetof(execmond_exec_event, args_size) == 104 + EXECMOND_FILENAME_LEN);
static_assert(offsetof(execmond_exec_event, args) == 104 + EXECMOND_FILENAME_LEN + 8);
static_assert(sizeof(execmond_exec_event) == 104 + EXECMOND_FILENAME_LEN + 8 + EXECMOND_ARGS_LEN);
static_assert(sizeof(execmond_exec_context) == 24);
static_assert(offsetof(execmond_exec_context, userns_level) == 8);
static_assert(offsetof(execmond_exec_context, mntns) == 16);
static_assert(offsetof(execmond_exec_context, flags) == 20);
static_assert(offsetof(execmond_binary_event, binary) == 72);
static_assert(offsetof(execmond_binary_event, binary_flags) == 96);
static_assert(offsetof(execmond_binary_event, fs_magic) == 100);
static_assert(offsetof(execmond_binary_event, ctx) == 104);
static_assert(offsetof(execmond_binary_event, script) == 128);
static_assert(offsetof(execmond_binary_event, args_size) == 152);
static_assert(offsetof(execmond_binary_event, path) == 160);
static_assert(offsetof(execmond_binary_event, fs_path) == 160 + EXECMOND_PATH_LEN);
static_assert(offsetof(execmond_binary_event, script_path) == 160 + 2 * EXECMOND_PATH_LEN);
static_assert(offsetof(execmond_binary_event, cwd) == 160 + 3 * EXECMOND_PATH_LEN);
static_assert(offsetof(execmond_binary_event, args) == 160 + 4 * EXECMOND_PATH_LEN);
static_assert(sizeof(execmond_binary_event) ==
              160 + 4 * EXECMOND_PATH_LEN + EXECMOND_LOADER_ARGS_LEN);
static_assert(sizeof(execmond_exit_event) == 72 + 24);
static_assert(sizeof(execmond_exec_failed_event) == 72 + 8 + EXECMOND_FILENAME_LEN);

// A process name: the bytes before the first NUL of a 16-byte comm field, the rest
// zeroed so that two equal names compare and hash equal whatever the kernel left after
// the terminator.
class CommName {
 public:
  static constexpr std::size_t kCapacity = EXECMOND_COMM_LEN;

  CommName() = default;
  explicit CommName(const char (&field)[kCapacity]) {
    for (; length_ < kCapacity && field[length_] != '\0'; ++length_)
      bytes_[length_] = field[length_];
  }
  // Like the kernel, a name ends at its first NUL.
  explicit CommName(std::string_view name) {
    for (; length_ < kCapacity && length_ < name.size() && name[length_] != '\0'; ++length_)
      bytes_[length_] = name[length_];
  }

  std::string_view view() const { return {bytes_, length_}; }
  // Two machine words: the comm table hashes and compares these.
  std::uint64_t word(int i) const {
    std::uint64_t w;
    std::memcpy(&w, bytes_ + 8 * i, sizeof(w));
    return w;
  }
  bool operator==(const CommName& other) const {
    return std::memcmp(bytes_, other.bytes_, kCapacity) == 0;
  }

 private:
  char bytes_[kCapacity] = {};
  std::size_t length_ = 0;
};

// The wait(2) status of an exit, taken apart.
struct ExitStatus {
  int code = 0;    // exit code, when !signaled()
  int signal = 0;  // terminating signal, or 0
  bool core_dumped = false;

  static ExitStatus from_wait_status(std::uint32_t status) {
    ExitStatus s;
    s.signal = static_cast<int>(status & 0x7f);
    s.core_dumped = (status & 0x80) != 0;
    s.code = s.signal ? 0 : static_cast<int>((status >> 8) & 0xff);
    return s;
  }
  bool signaled() const { return signal != 0; }
};

struct MalformedRecord {
  std::size_t size;
  std::uint32_t type;  // 0 when the record is too short to carry one
};

using Event =
    std::variant<const execmond_exec_event*, const execmond_exit_event*,
                 const execmond_exec_failed_event*, const execmond_binary_event*, MalformedRecord>;

// Checks a ring buffer record's type and size. The views point into `data`, which the
// ring buffer owns only for the duration of the callback.
Event decode_event(const void* data, std::size_t size);

}  // namespace execmond
