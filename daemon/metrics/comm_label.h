// SPDX-License-Identifier: Apache-2.0
// Process names as Prometheus label values: valid UTF-8, and one value per name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/records.h"

namespace execmond {

// A comm is whatever bytes a process gave prctl(PR_SET_NAME). Its label value is the
// escaped text of events/printable_bytes.h: valid UTF-8, and one value per name (the
// proof is there). The text serializer escapes `\` and `"` again in the exposition;
// Prometheus then shows the value above.
//
// An empty comm (prctl(PR_SET_NAME, "")) gives the empty value, which Prometheus shows
// as a series without the label: still distinct from every other name.
class CommLabel {
 public:
  // Every byte escaped is the longest case.
  static constexpr std::size_t kMaxSize = 4 * CommName::kCapacity;

  CommLabel() = default;
  // Bytes past CommName::kCapacity are ignored.
  explicit CommLabel(std::string_view comm);
  explicit CommLabel(const CommName& comm) : CommLabel(comm.view()) {}
  // The value of the series that holds every name beyond the bound: kOverflowCommLabel.
  static CommLabel overflow();

  std::string_view view() const { return {chars_, size_}; }

 private:
  char chars_[kMaxSize] = {};
  std::uint8_t size_ = 0;
};

// The label value of the series that holds every name beyond max_comm_series. No name
// encodes to it, so no series of a real name, whatever its other labels, has this label
// set: an encoding without `\` is exactly as long as its comm, at most
// CommName::kCapacity (16) bytes, and this is 17 characters without a `\`.
inline constexpr std::string_view kOverflowCommLabel = "execmond_overflow";
static_assert(kOverflowCommLabel.size() > CommName::kCapacity &&
              kOverflowCommLabel.find('\\') == std::string_view::npos);

}  // namespace execmond
