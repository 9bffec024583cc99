#include "events/records.h"

namespace execmond {

Event decode_event(const void* data, std::size_t size) {
  if (size < sizeof(execmond_event_header)) return MalformedRecord{size, 0};
  const auto* hdr = static_cast<const execmond_event_header*>(data);
  switch (hdr->type) {
    case EXECMOND_EVENT_EXEC: {
      const auto* e = static_cast<const execmond_exec_event*>(data);
      // The daemon's records stop where `filename` starts; `execmond trace`'s carry the
      // path and argv.
      if (size == offsetof(execmond_exec_event, filename)) return e;
      if (size < offsetof(execmond_exec_event, args)) break;
      if (e->args_size > size - offsetof(execmond_exec_event, args)) break;
      return e;
    }
    case EXECMOND_EVENT_EXIT:
      if (size < sizeof(execmond_exit_event)) break;
      return static_cast<const execmond_exit_event*>(data);
    case EXECMOND_EVENT_EXEC_FAILED:
      if (size < sizeof(execmond_exec_failed_event)) break;
      return static_cast<const execmond_exec_failed_event*>(data);
    case EXECMOND_EVENT_BINARY: {
      if (size < sizeof(execmond_binary_event)) break;
      const auto* e = static_cast<const execmond_binary_event*>(data);
      if (e->args_size > sizeof(e->args)) break;
      return e;
    }
  }
  return MalformedRecord{size, hdr->type};
}

}  // namespace execmond
