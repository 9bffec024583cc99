// SPDX-License-Identifier: Apache-2.0
#include "bpf/ring_buffer_reader.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
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

void signal_event(int fd) {
  const std::uint64_t one = 1;
  if (write(fd, &one, sizeof(one)) != sizeof(one))
    spdlog::error("ring buffer reader: cannot signal an eventfd: {}", std::strerror(errno));
}

void clear_event(int fd) {
  std::uint64_t count;
  if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
    spdlog::error("ring buffer reader: cannot read an eventfd: {}", std::strerror(errno));
}

// A test knob: make the reader fail after this many records, as a bug in the sink
// would, so that the tests can prove the process then exits instead of serving stale
// numbers. 0 or unset: never.
std::uint64_t injected_fault_after() {
  const char* value = std::getenv("EXECMOND_INJECT_READER_FAULT_AFTER");
  return value ? std::strtoull(value, nullptr, 10) : 0;
}

}  // namespace

// The knob's sink wrapper; without the knob the reader calls deliver() directly.
int RingBufferReader::deliver_with_fault(void* ctx, void* data, std::size_t size) {
  auto* fault = static_cast<InjectedFault*>(ctx);
  if (--fault->remaining == 0) throw std::runtime_error("injected reader fault");
  fault->sink->on_record(data, size);
  return 0;
}

void RingBufferReader::RingBufferDeleter::operator()(ring_buffer* rb) const {
  ring_buffer__free(rb);
}

RingBufferReader::RingBufferReader(int ring_buffer_fd, RecordSink& sink,
                                   std::chrono::milliseconds poll_interval, Heartbeat heartbeat)
    : injected_fault_{&sink, injected_fault_after()},
      poll_interval_ms_(static_cast<int>(poll_interval.count())),
      heartbeat_(std::move(heartbeat)),
      stop_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      work_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      failed_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (injected_fault_.remaining > 0) {
    ring_buffer_.reset(
        ring_buffer__new(ring_buffer_fd, deliver_with_fault, &injected_fault_, nullptr));
  } else {
    ring_buffer_.reset(ring_buffer__new(ring_buffer_fd, deliver, &sink, nullptr));
  }
  if (!ring_buffer_) throw system_error("cannot map the BPF ring buffer");
  if (!stop_event_ || !work_event_ || !failed_event_) throw system_error("eventfd");
  if (!epoll_) throw system_error("epoll_create1");
  watch(epoll_.get(), ring_buffer__epoll_fd(ring_buffer_.get()));
  watch(epoll_.get(), stop_event_.get());
  watch(epoll_.get(), work_event_.get());
  thread_ = std::thread(&RingBufferReader::run, this);
}

RingBufferReader::~RingBufferReader() { stop(); }

void RingBufferReader::stop() {
  if (!thread_.joinable()) return;
  signal_event(stop_event_.get());
  thread_.join();
}

void RingBufferReader::post(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    work_.push_back(std::move(work));
  }
  signal_event(work_event_.get());
}

void RingBufferReader::set_poll_interval(std::chrono::milliseconds poll_interval) {
  poll_interval_ms_.store(static_cast<int>(poll_interval.count()), std::memory_order_relaxed);
}

std::string RingBufferReader::failure() const {
  std::lock_guard<std::mutex> lock(failure_mutex_);
  return failure_;
}

void RingBufferReader::fail(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    failure_ = why;
  }
  spdlog::critical("ring buffer reader stopped: {}", why);
  signal_event(failed_event_.get());
}

void RingBufferReader::run() {
  // Whatever ends the loop other than stop() is a failure the process must act on.
  try {
    loop();
  } catch (const std::exception& error) {
    fail(error.what());
  } catch (...) {
    fail("unknown exception");
  }
}

void RingBufferReader::run_posted_work() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(work_mutex_);
    work.swap(work_);
  }
  for (auto& item : work) item();
}

void RingBufferReader::loop() {
  epoll_event events[3];
  for (;;) {
    const int ready =
        epoll_wait(epoll_.get(), events, 3, poll_interval_ms_.load(std::memory_order_relaxed));
    if (ready < 0 && errno != EINTR) throw system_error("epoll_wait");
    // Wake-up, timeout or stop: drain everything that is there now.
    const int consumed = ring_buffer__consume(ring_buffer_.get());
    if (consumed < 0 && consumed != -EINTR)
      throw std::runtime_error(std::string("ring_buffer__consume: ") + std::strerror(-consumed));
    if (heartbeat_) heartbeat_();
    bool stopping = false;
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.fd == stop_event_.get()) stopping = true;
      if (events[i].data.fd == work_event_.get()) {
        clear_event(work_event_.get());
        run_posted_work();
      }
    }
    if (stopping) return;
  }
}

}  // namespace execmond
