// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "events/records.h"

using namespace execmond;

namespace {

template <typename Record>
std::vector<unsigned char> bytes_of(const Record& record, std::size_t size = sizeof(Record)) {
  std::vector<unsigned char> bytes(size);
  std::memcpy(bytes.data(), &record, std::min(size, sizeof(Record)));
  return bytes;
}

}  // namespace

TEST_CASE("exit statuses decode as wait(2) reports them", "[records]") {
  CHECK(ExitStatus::from_wait_status(0).code == 0);
  const ExitStatus three = ExitStatus::from_wait_status(3 << 8);
  CHECK((three.code == 3 && !three.signaled() && !three.core_dumped));
  const ExitStatus killed = ExitStatus::from_wait_status(9);
  CHECK((killed.signaled() && killed.signal == 9 && killed.code == 0 && !killed.core_dumped));
  const ExitStatus segv_core = ExitStatus::from_wait_status(11 | 0x80);
  CHECK((segv_core.signal == 11 && segv_core.core_dumped));
  CHECK(ExitStatus::from_wait_status(255 << 8).code == 255);
}

TEST_CASE("comm names stop at the terminator and ignore what follows", "[records]") {
  const char field_a[16] = {'l', 's', '\0', 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
  const char field_b[16] = {'l', 's', '\0'};
  CHECK(CommName(field_a) == CommName(field_b));
  CHECK(CommName(field_a).view() == "ls");
  const char full[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                         '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  CHECK(CommName(full).view().size() == 16);
  CHECK_FALSE(CommName(std::string_view("ls")) == CommName(std::string_view("lsx")));
}

TEST_CASE("records are checked for type and size before use", "[records]") {
  execmond_exit_event exit_event{};
  exit_event.hdr.type = EXECMOND_EVENT_EXIT;
  auto exit_bytes = bytes_of(exit_event);
  CHECK(std::holds_alternative<const execmond_exit_event*>(
      decode_event(exit_bytes.data(), exit_bytes.size())));
  CHECK(std::holds_alternative<MalformedRecord>(
      decode_event(exit_bytes.data(), exit_bytes.size() - 1)));

  execmond_exec_event exec_event{};
  exec_event.hdr.type = EXECMOND_EVENT_EXEC;
  // The daemon's exec records stop where the path starts; trace's without argv where
  // argv starts.
  auto header_only = bytes_of(exec_event, offsetof(execmond_exec_event, filename));
  CHECK(std::holds_alternative<const execmond_exec_event*>(
      decode_event(header_only.data(), header_only.size())));
  auto cut_path = bytes_of(exec_event, offsetof(execmond_exec_event, filename) + 1);
  CHECK(std::holds_alternative<MalformedRecord>(decode_event(cut_path.data(), cut_path.size())));
  auto short_exec = bytes_of(exec_event, offsetof(execmond_exec_event, args));
  CHECK(std::holds_alternative<const execmond_exec_event*>(
      decode_event(short_exec.data(), short_exec.size())));
  // argv claimed beyond the record: rejected.
  exec_event.args_size = 10;
  auto lying_exec = bytes_of(exec_event, offsetof(execmond_exec_event, args) + 5);
  CHECK(
      std::holds_alternative<MalformedRecord>(decode_event(lying_exec.data(), lying_exec.size())));

  execmond_binary_event binary_event{};
  binary_event.hdr.type = EXECMOND_EVENT_BINARY;
  binary_event.args_size = EXECMOND_LOADER_ARGS_LEN;
  auto whole_binary = bytes_of(binary_event);
  CHECK(std::holds_alternative<const execmond_binary_event*>(
      decode_event(whole_binary.data(), whole_binary.size())));
  CHECK(std::holds_alternative<MalformedRecord>(
      decode_event(whole_binary.data(), whole_binary.size() - 1)));
  // argv claimed beyond its field: rejected.
  binary_event.args_size = EXECMOND_LOADER_ARGS_LEN + 1;
  auto lying_binary = bytes_of(binary_event);
  CHECK(std::holds_alternative<MalformedRecord>(
      decode_event(lying_binary.data(), lying_binary.size())));

  execmond_event_header unknown{};
  unknown.type = 77;
  auto unknown_bytes = bytes_of(unknown);
  const Event decoded = decode_event(unknown_bytes.data(), unknown_bytes.size());
  REQUIRE(std::holds_alternative<MalformedRecord>(decoded));
  CHECK(std::get<MalformedRecord>(decoded).type == 77);
  CHECK(std::get<MalformedRecord>(decode_event(unknown_bytes.data(), 3)).type == 0);
}
