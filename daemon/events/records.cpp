#include "events/records.h"

namespace execmond {

Event decode_event(const void* data, std::size_t size) {
  if (size < sizeof(execmond_event_header)) return MalformedRecord{size, 0};
  const auto* hdr = static_cast<const execmond_event_header*>(data);
  switch (hdr->type) {
    case EXECMOND_EVENT_EXEC: {
      const auto* e = static_cast<const execmond_exec_event*>(data);
      // Without argv capture the record stops where `args` starts.
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
  }
  return MalformedRecord{size, hdr->type};
}

std::size_t count_args(const char* args, std::size_t size) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < size; ++i)
    if (args[i] == '\0') ++count;
  // The last argument lacks its terminator when argv was cut.
  if (size > 0 && args[size - 1] != '\0') ++count;
  return count;
}

}  // namespace execmond
