// SPDX-License-Identifier: Apache-2.0
// A counter with one writer and any number of readers.
#pragma once

#include <atomic>

namespace execmond {

// A running total that one thread adds to and any thread reads. The writer's add is a
// relaxed load and store, not a locked read-modify-write: with a single writer no add
// is lost, and a reader sees some value the writer stored.
template <typename T>
class RunningTotal {
  static_assert(std::atomic<T>::is_always_lock_free);

 public:
  void add(T amount) {
    value_.store(value_.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }
  T value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> value_{0};
};

}  // namespace execmond
