// SPDX-License-Identifier: Apache-2.0
// A second stage of a file's verdict that may take time: what the file *is* (issue 14:
// hashes, packages, drift), after its name was judged. The binaries stage asks it once
// per judged identity; it answers at once, or "pending" and later posts the final answer
// back (UnexpectedBinaries::on_content_verdict(), on the reader thread). Meanwhile the
// kernel holds PENDING for the key, and every exec of it is counted when the answer
// arrives: none lost, none counted twice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "binaries/judging_view.h"
#include "binaries/unexpected_reason.h"
#include "events/records.h"

namespace execmond {

struct ContentQuestion {
  execmond_binary_id key{};    // the kernel's identity of the file that runs, and its view
  std::uint32_t binary_flags;  // enum execmond_binary_flags (OVERLAY_UPPER, MEMFD, …)
  std::uint32_t fs_magic;      // its superblock's magic
  JudgingView view;
  std::string_view name;          // the name it was judged by: host path, or container path
  std::string_view process_path;  // as the process saw it (/proc/PID/exe's name)
  std::uint32_t pid;              // alive maybe: /proc/PID/exe opens it when the host cannot
  bool name_allowed;              // what the allow-list said of `name`
  UnexpectedReason name_reason;   // when not allowed
};

struct ContentAnswer {
  enum class Kind { kAllowed, kUnexpected, kPending };
  ContentAnswer() = default;
  ContentAnswer(Kind kind_, UnexpectedReason reason_ = UnexpectedReason::kNotAllowed,
                std::string sha256_ = {}, std::string grounds_ = {})
      : kind(kind_), reason(reason_), sha256(std::move(sha256_)), grounds(std::move(grounds_)) {}
  Kind kind = Kind::kAllowed;
  UnexpectedReason reason = UnexpectedReason::kNotAllowed;  // kUnexpected
  std::string sha256;   // the file's content, lowercase hex; empty: not known (yet)
  std::string grounds;  // what the content said, for a person ("package coreutils", ...)
};

class ContentJudge {
 public:
  virtual ~ContentJudge() = default;
  // Reader thread; must not block (queue work, answer kPending). The answer replaces the
  // name's verdict: return {kAllowed} / {kUnexpected, name_reason} to keep it.
  virtual ContentAnswer judge(const ContentQuestion& question) = 0;
  // Reader thread: every pending question is void (the allow-list changed, or the
  // binaries section was turned off); answers posted for them later are ignored.
  virtual void forget_pending() {}
};

}  // namespace execmond
