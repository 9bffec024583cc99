// SPDX-License-Identifier: Apache-2.0
// Content identity's metrics: what hashing costs and how far behind it is, the package
// database, and the bounded info metric of unexpected files' content.
//   execmond_content_hashes_total, execmond_content_hash_cache_hits_total,
//   execmond_content_hash_unknown_total{reason}, execmond_content_hashed_bytes_total,
//   execmond_content_hash_cpu_seconds_total, execmond_content_hash_throttled_seconds_total,
//   execmond_content_hash_queue, execmond_content_verdicts_waiting{for},
//   execmond_package_database_files, execmond_package_database_loads_total,
//   execmond_package_database_load_failures_total,
//   execmond_unexpected_file_info{path,sha256}, execmond_unexpected_file_info_series_limit
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "binaries/content_digest.h"
#include "metrics/metric_writer.h"

namespace execmond {

class ContentIdentity;

// Unexpected files by content: one series per (path, sha256) pair, 1 while kept. No
// per-exec label; at most kCapacity pairs, the least recently seen replaced first
// (counted), so that a flood of distinct files costs a bounded number of series.
class UnexpectedFileInfo {
 public:
  static constexpr std::size_t kCapacity = 1000;

  // Reader thread (any thread: a mutex shared with the scrape).
  void record(std::string_view path, std::string_view sha256_hex);
  void collect(MetricWriter& out) const;
  std::size_t size() const;

 private:
  struct Entry {
    std::string key;   // path bytes, NUL, sha256 bytes
    std::string path;  // the label value, escaped
    std::string sha256;
  };
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::uint64_t replaced_ = 0;
};

class ContentMetrics : public Collector {
 public:
  explicit ContentMetrics(const ContentIdentity& identity) : identity_(identity) {}
  UnexpectedFileInfo& unexpected_files() { return unexpected_files_; }
  void collect(MetricWriter& out) const override;

 private:
  const ContentIdentity& identity_;
  UnexpectedFileInfo unexpected_files_;
};

}  // namespace execmond
