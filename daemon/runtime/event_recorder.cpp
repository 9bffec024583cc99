#include "runtime/event_recorder.h"

#include <spdlog/spdlog.h>

#include "events/records.h"

namespace execmond {
namespace {

constexpr std::uint32_t kCachedVerdictFlags = EXECMOND_BINARY_UNEXPECTED | EXECMOND_BINARY_PENDING;

template <class... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

}  // namespace

SeriesKey EventRecorder::key_of(const execmond_event_header& hdr) {
  SeriesKey key(CommName(hdr.comm));
  if (cgroups_ != nullptr && (metrics_.unit_label() || metrics_.container_label())) {
    const CgroupLabels labels = cgroups_->labels_for(hdr.cgroup_id);
    if (metrics_.unit_label()) key.unit = labels.unit;
    if (metrics_.container_label()) key.container = labels.container;
  }
  return key;
}

void EventRecorder::on_record(const void* data, std::size_t size) {
  std::visit(
      Overloaded{
          [&](const execmond_exec_event* e) {
            metrics_.record_exec(key_of(e->hdr));
            // Flagged UNEXPECTED or PENDING by the kernel's verdict cache: counted from
            // the daemon's own, with no walk.
            if (binaries_ && (e->binary_flags & kCachedVerdictFlags)) binaries_->on_exec(*e);
          },
          [&](const execmond_exit_event* e) {
            metrics_.record_exit(key_of(e->hdr), ExitStatus::from_wait_status(e->exit_status),
                                 e->lifetime_ns);
          },
          [&](const execmond_exec_failed_event* e) {
            metrics_.record_exec_failure(key_of(e->hdr), e->error);
          },
          [&](const execmond_binary_event* e) {
            if (binaries_) binaries_->on_binary(*e);
          },
          [&](const MalformedRecord& bad) {
            // The object is built with this binary: this is a bug, not a condition.
            if (malformed_records_++ == 0)
              spdlog::error("malformed ring buffer record (type {}, {} bytes): please report",
                            bad.type, bad.size);
          },
      },
      decode_event(data, size));
}

}  // namespace execmond
