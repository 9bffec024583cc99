#include "metrics/comm_label.h"

#include "events/printable_bytes.h"

namespace execmond {

static_assert(CommLabel::kMaxSize >= kMaxEscapeExpansion * CommName::kCapacity);

CommLabel::CommLabel(std::string_view comm) {
  size_ = static_cast<std::uint8_t>(escape_bytes(comm.substr(0, CommName::kCapacity), chars_));
}

}  // namespace execmond
