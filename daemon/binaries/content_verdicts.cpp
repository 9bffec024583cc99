// SPDX-License-Identifier: Apache-2.0
#include "binaries/content_verdicts.h"

#include <utility>

namespace execmond {
namespace {

std::string grounds_of(const ContentOutcome& outcome) {
  const ContentDecision& decision = outcome.decision;
  if (decision.kind != ContentDecision::Kind::allowed) {
    if (!decision.package.empty()) return "package " + std::string(decision.package);
    return {};
  }
  switch (decision.grounds) {
    case ContentDecision::Grounds::package:
      return "package " + std::string(decision.package);
    case ContentDecision::Grounds::content:
      return "sha256 entry";
    case ContentDecision::Grounds::runtime_clone:
      return "runtime copy of " + decision.runtime;
    case ContentDecision::Grounds::upgrade:
      return "replaced by a package upgrade";
    case ContentDecision::Grounds::path:
    case ContentDecision::Grounds::none:
      break;
  }
  return {};
}

}  // namespace

ContentVerdicts::ContentVerdicts(int host_root, ContentIdentity::Post post, Answered answered,
                                 Hashed hashed, const ContentIdentity::Settings& settings)
    : answered_(std::move(answered)),
      hashed_(std::move(hashed)),
      identity_(
          host_root, std::move(post),
          [this](ContentOutcome&& outcome) { on_answer(std::move(outcome), true); },
          [this](ContentOutcome&& outcome) { on_answer(std::move(outcome), false); },
          known_package_databases(), settings) {}

ContentQuery ContentVerdicts::query_of(const ContentQuestion& question) {
  ContentQuery query;
  query.version = FileVersion{question.key.dev, question.key.ino, question.key.ctime_ns};
  query.nameless = (question.binary_flags & (EXECMOND_BINARY_MEMFD | EXECMOND_BINARY_DELETED)) != 0;
  const bool host_view = question.view == JudgingView::kHost;
  query.host_view = host_view;
  // The name is the host's, checked, only in the host view and when the pipeline found
  // it (not allowed is still a name; private_mount, unverified, truncated are not).
  const bool named =
      host_view && !query.nameless &&
      (question.name_allowed || question.name_reason == UnexpectedReason::kNotAllowed);
  if (named) query.host_path = std::string(question.name);
  query.upper_layer_in_container =
      (question.binary_flags & EXECMOND_BINARY_OVERLAY_UPPER) != 0 && !host_view;
  query.path_admitted = question.name_allowed;
  query.pid = static_cast<pid_t>(question.pid);
  return query;
}

ContentAnswer ContentVerdicts::answer_of(const ContentQuestion& question,
                                         const ContentOutcome& outcome) {
  ContentAnswer answer;
  if (outcome.digest) answer.sha256 = outcome.digest->sha256.hex();
  answer.grounds = grounds_of(outcome);
  const ContentDecision& decision = outcome.decision;
  switch (decision.kind) {
    case ContentDecision::Kind::allowed:
      answer.kind = ContentAnswer::Kind::kAllowed;
      return answer;
    case ContentDecision::Kind::need_hash:
    case ContentDecision::Kind::hold:
      answer.kind = ContentAnswer::Kind::kPending;
      return answer;
    case ContentDecision::Kind::unexpected:
      break;
  }
  answer.kind = ContentAnswer::Kind::kUnexpected;
  switch (decision.reason) {
    case ContentDecision::Reason::unpackaged:
      answer.reason = UnexpectedReason::kUnpackaged;
      break;
    case ContentDecision::Reason::modified:
      answer.reason = UnexpectedReason::kModified;
      break;
    case ContentDecision::Reason::drift:
      answer.reason = UnexpectedReason::kDrift;
      break;
    case ContentDecision::Reason::unverified:
      answer.reason = UnexpectedReason::kUnverified;
      break;
    case ContentDecision::Reason::path:
    case ContentDecision::Reason::none:
      answer.reason = question.name_allowed ? UnexpectedReason::kNotAllowed : question.name_reason;
      break;
  }
  return answer;
}

ContentAnswer ContentVerdicts::judge(const ContentQuestion& question) {
  const std::uint64_t ticket = next_ticket_++;
  ContentQuery query = query_of(question);
  query.ticket = ticket;
  // Another mount namespace is not always another file system: a systemd service with
  // PrivateTmp= or ProtectSystem= runs the host's own files. When the host holds this very
  // version at the same path, it is the host's file (its package checks apply), not a
  // container's (no drift: an overlay root of the host's own is no container).
  if (!query.host_view && !query.nameless && !question.name.empty() &&
      identity_.host_names(std::string(question.name), query.version)) {
    query.host_view = true;
    query.host_path = std::string(question.name);
    query.upper_layer_in_container = false;
  }
  // Remembered before asking: the answer may come back through a post at any time after.
  asked_.emplace(ticket, Asked{question.key, question.name_reason, std::string(question.name)});
  const std::optional<ContentOutcome> now = identity_.judge(std::move(query));
  if (!now) return ContentAnswer{ContentAnswer::Kind::kPending};
  // Decided: a digest may still follow (hashed_), keep the ticket until then.
  if (now->digest || now->unknown != HashUnknown::none) asked_.erase(ticket);
  return answer_of(question, *now);
}

void ContentVerdicts::on_answer(ContentOutcome&& outcome, bool final_answer) {
  const auto found = asked_.find(outcome.ticket);
  if (found == asked_.end()) return;  // forgotten: the list changed since
  const Asked asked = std::move(found->second);
  asked_.erase(found);
  ContentQuestion question{};
  question.key = asked.key;
  question.name_reason = asked.name_reason;
  // A path reason means the name was not allowed: its own reason stands.
  question.name_allowed = false;
  ContentAnswer answer = answer_of(question, outcome);
  if (final_answer) {
    if (answered_) answered_(asked.key, std::move(answer), asked.name);
  } else if (hashed_) {
    hashed_(asked.key, answer, asked.name);
  }
}

void ContentVerdicts::forget_pending() { asked_.clear(); }

}  // namespace execmond
