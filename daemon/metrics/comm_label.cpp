// SPDX-License-Identifier: Apache-2.0
#include "metrics/comm_label.h"

#include "events/printable_bytes.h"

namespace execmond {

static_assert(CommLabel::kMaxSize >= kMaxEscapeExpansion * CommName::kCapacity);
static_assert(CommLabel::kMaxSize >= kOverflowCommLabel.size());

CommLabel::CommLabel(std::string_view comm) {
  size_ = static_cast<std::uint8_t>(escape_bytes(comm.substr(0, CommName::kCapacity), chars_));
}

CommLabel CommLabel::overflow() {
  CommLabel label;
  kOverflowCommLabel.copy(label.chars_, kOverflowCommLabel.size());
  label.size_ = static_cast<std::uint8_t>(kOverflowCommLabel.size());
  return label;
}

}  // namespace execmond
