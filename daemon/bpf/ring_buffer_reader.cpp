#include "bpf/ring_buffer_reader.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace execmond {
namespace {

int deliver(void* ctx, void* data, std::size_t size) {
  static_cast<RecordSink*>(ctx)->on_record(data, size);
  return 0;
}

std::runtime_error system_error(const char* what) {
  return std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

void watch(int epoll_fd, int fd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) throw system_error("epoll_ctl");
}

}  // namespace

void RingBufferReader::RingBufferDeleter::operator()(ring_buffer* rb) const {
  ring_buffer__free(rb);
}

RingBufferReader::RingBufferReader(int ring_buffer_fd, RecordSink& sink,
                                   std::chrono::milliseconds poll_interval)
    : sink_(sink),
      poll_interval_(poll_interval),
      ring_buffer_(ring_buffer__new(ring_buffer_fd, deliver, &sink, nullptr)),
      stop_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!ring_buffer_) throw system_error("cannot map the BPF ring buffer");
  if (!stop_event_) throw system_error("eventfd");
  if (!epoll_) throw system_error("epoll_create1");
  watch(epoll_.get(), ring_buffer__epoll_fd(ring_buffer_.get()));
  watch(epoll_.get(), stop_event_.get());
  thread_ = std::thread(&RingBufferReader::run, this);
}

RingBufferReader::~RingBufferReader() { stop(); }

void RingBufferReader::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  if (write(stop_event_.get(), &one, sizeof(one)) != sizeof(one))
    spdlog::error("cannot wake the ring buffer reader: {}", std::strerror(errno));
  thread_.join();
}

void RingBufferReader::run() {
  epoll_event events[2];
  for (;;) {
    const int ready = epoll_wait(epoll_.get(), events, 2, static_cast<int>(poll_interval_.count()));
    if (ready < 0 && errno != EINTR) {
      spdlog::critical("ring buffer reader: epoll_wait: {}", std::strerror(errno));
      return;
    }
    // Wake-up, timeout or stop: drain everything that is there now.
    const int consumed = ring_buffer__consume(ring_buffer_.get());
    if (consumed < 0) spdlog::error("ring buffer reader: {}", std::strerror(-consumed));
    for (int i = 0; i < ready; ++i)
      if (events[i].data.fd == stop_event_.get()) return;
  }
}

}  // namespace execmond
