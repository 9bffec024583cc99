#include "metrics/event_recorder.h"

#include <spdlog/spdlog.h>

#include "events/records.h"

namespace execmond {
namespace {

template <class... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

}  // namespace

void EventRecorder::on_record(const void* data, std::size_t size) {
  std::visit(
      Overloaded{
          [&](const execmond_exec_event* e) { metrics_.record_exec(CommName(e->hdr.comm)); },
          [&](const execmond_exit_event* e) {
            metrics_.record_exit(CommName(e->hdr.comm),
                                 ExitStatus::from_wait_status(e->exit_status), e->lifetime_ns);
          },
          [&](const execmond_exec_failed_event* e) {
            metrics_.record_exec_failure(CommName(e->hdr.comm), e->error);
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
