#include "binaries/unexpected_reason.h"

namespace execmond {

std::string_view reason_label(UnexpectedReason reason) {
  switch (reason) {
    case UnexpectedReason::kNotAllowed:
      return "not_allowed";
    case UnexpectedReason::kPrivateMount:
      return "private_mount";
    case UnexpectedReason::kUnverified:
      return "unverified";
    case UnexpectedReason::kLoader:
      return "loader";
    case UnexpectedReason::kTruncated:
      return "truncated";
    case UnexpectedReason::kDeleted:
      return "deleted";
    case UnexpectedReason::kMemfd:
      return "memfd";
    case UnexpectedReason::kUnpackaged:
      return "unpackaged";
    case UnexpectedReason::kModified:
      return "modified";
    case UnexpectedReason::kDrift:
      return "drift";
  }
  return "not_allowed";
}

std::optional<UnexpectedReason> reason_from_label(std::string_view label) {
  for (const UnexpectedReason reason : kUnexpectedReasons)
    if (reason_label(reason) == label) return reason;
  return std::nullopt;
}

}  // namespace execmond
