// SPDX-License-Identifier: Apache-2.0
// The content judge of the verdict pipeline (content_judge.h), built on ContentIdentity:
// translates the pipeline's question into content facts and the content decision back
// into an answer, and routes the answers that come later (digests, package holds) to
// the binaries stage on the reader thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "binaries/content_identity.h"
#include "binaries/content_judge.h"
#include "events/records.h"

namespace execmond {

class UnexpectedBinaries;

class ContentVerdicts : public ContentJudge {
 public:
  // Reader thread: a final answer for a key the judge answered kPending for; `name` is
  // the name it was judged by.
  using Answered = std::function<void(const execmond_binary_id& key, ContentAnswer answer,
                                      std::string_view name)>;
  // Reader thread: the digest of a file whose verdict was given without it; `name` is
  // the name it was judged by.
  using Hashed = std::function<void(const execmond_binary_id& key, const ContentAnswer& answer,
                                    std::string_view name)>;

  ContentVerdicts(int host_root, ContentIdentity::Post post, Answered answered, Hashed hashed,
                  const ContentIdentity::Settings& settings = {});

  // Reader thread (or before it starts): `binaries: allow:` and `packaged:`.
  void configure(const std::vector<std::string>& allow_entries, bool packaged) {
    identity_.configure(allow_entries, packaged);
  }
  ContentAnswer judge(const ContentQuestion& question) override;
  void forget_pending() override;

  const ContentIdentity& identity() const { return identity_; }

  // Pure: the question as content facts, and the decision as an answer.
  static ContentQuery query_of(const ContentQuestion& question);
  static ContentAnswer answer_of(const ContentQuestion& question, const ContentOutcome& outcome);

 private:
  struct Asked {
    execmond_binary_id key;
    UnexpectedReason name_reason;
    std::string name;
  };
  void on_answer(ContentOutcome&& outcome, bool final_answer);

  Answered answered_;
  Hashed hashed_;
  std::unordered_map<std::uint64_t, Asked> asked_;  // by ticket
  std::uint64_t next_ticket_ = 1;
  ContentIdentity identity_;  // last: its threads call back into the members above
};

}  // namespace execmond
