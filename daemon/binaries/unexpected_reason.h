// Why an exec was unexpected: the bounded `reason` label of
// execmond_unexpected_execs_total, the log's and the trace's. One enum for issues 13 and
// 14; README "Which binary ran" and deploy/RUNBOOK.md say what each means and what to do.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace execmond {

enum class UnexpectedReason : std::uint8_t {
  kNotAllowed,    // the host's name of the file (or the container's) is not on the list
  kPrivateMount,  // on a filesystem the host has no mount of: no host name at all
  kUnverified,    // its name could not be checked (renamed, replaced, the process gone)
  kLoader,        // a dynamic loader ran a program (or library) that is not allowed, or
                  // one that cannot be determined
  kTruncated,     // a name the kernel had to cut
  kDeleted,       // unlinked before or while it ran
  kMemfd,         // a memfd_create() file: no file system name ever
  kUnpackaged,    // issue 14: no package owns it
  kModified,      // issue 14: its content differs from its package's
  kDrift,         // issue 14: written into a container after it started
};

inline constexpr std::array<UnexpectedReason, 10> kUnexpectedReasons = {
    UnexpectedReason::kNotAllowed, UnexpectedReason::kPrivateMount, UnexpectedReason::kUnverified,
    UnexpectedReason::kLoader,     UnexpectedReason::kTruncated,    UnexpectedReason::kDeleted,
    UnexpectedReason::kMemfd,      UnexpectedReason::kUnpackaged,   UnexpectedReason::kModified,
    UnexpectedReason::kDrift};

// "not_allowed", "private_mount", "unverified", "loader", "truncated", "deleted",
// "memfd", "unpackaged", "modified", "drift".
std::string_view reason_label(UnexpectedReason reason);
std::optional<UnexpectedReason> reason_from_label(std::string_view label);

}  // namespace execmond
