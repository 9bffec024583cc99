// SPDX-License-Identifier: Apache-2.0
#include "binaries/content_metrics.h"

#include "binaries/content_identity.h"
#include "events/printable_bytes.h"

namespace execmond {
namespace {

void counter(MetricWriter& out, std::string_view name, std::string_view help, double value) {
  write_single_sample(out, name, MetricType::kCounter, help, value);
}

void gauge(MetricWriter& out, std::string_view name, std::string_view help, double value) {
  write_single_sample(out, name, MetricType::kGauge, help, value);
}

}  // namespace

void UnexpectedFileInfo::record(std::string_view path, std::string_view sha256_hex) {
  std::string key(path);
  key.push_back('\0');
  key.append(sha256_hex);
  const std::lock_guard lock(mutex_);
  if (const auto found = index_.find(key); found != index_.end()) {
    order_.splice(order_.begin(), order_, found->second);
    return;
  }
  if (index_.size() >= kCapacity) {
    index_.erase(order_.back().key);
    order_.pop_back();
    ++replaced_;
  }
  Entry entry;
  entry.key = key;
  append_escaped_bytes(entry.path, path);
  entry.sha256 = std::string(sha256_hex);
  order_.push_front(std::move(entry));
  index_.emplace(std::move(key), order_.begin());
}

std::size_t UnexpectedFileInfo::size() const {
  const std::lock_guard lock(mutex_);
  return index_.size();
}

void UnexpectedFileInfo::collect(MetricWriter& out) const {
  out.family("execmond_unexpected_file_info", MetricType::kGauge,
             "Unexpected files by content: 1 for each (path, sha256) pair seen lately, the least "
             "recently seen replaced past the limit.");
  std::uint64_t replaced = 0;
  {
    const std::lock_guard lock(mutex_);
    for (const Entry& entry : order_)
      out.sample({{"path", entry.path}, {"sha256", entry.sha256}}, 1);
    replaced = replaced_;
  }
  gauge(out, "execmond_unexpected_file_info_series_limit",
        "Pairs execmond_unexpected_file_info keeps at most.", static_cast<double>(kCapacity));
  counter(out, "execmond_unexpected_file_info_replaced_total",
          "Pairs dropped from execmond_unexpected_file_info to make room.",
          static_cast<double>(replaced));
}

void ContentMetrics::collect(MetricWriter& out) const {
  const ContentIdentity::Stats stats = identity_.stats();
  const auto& hashing = stats.hashing;
  counter(out, "execmond_content_hashes_total",
          "Executed files digested (SHA-256 and MD5, one read): one per file version.",
          static_cast<double>(hashing.hashed));
  counter(out, "execmond_content_hash_cache_hits_total",
          "Digests found in the cache of file versions: no read.",
          static_cast<double>(hashing.cache_hits));
  out.family("execmond_content_hash_unknown_total", MetricType::kCounter,
             "Executed files whose content could not be digested, by reason.");
  for (std::size_t i = 1; i < kHashUnknownKinds; ++i)
    out.sample({{"reason", label(static_cast<HashUnknown>(i))}},
               static_cast<double>(hashing.unknown_by[i]));
  counter(out, "execmond_content_hashed_bytes_total", "Bytes read to digest executed files.",
          static_cast<double>(hashing.bytes));
  counter(out, "execmond_content_hash_cpu_seconds_total",
          "CPU time of the hash worker (its budget: 20% of one core).",
          static_cast<double>(hashing.cpu_ns) * 1e-9);
  counter(out, "execmond_content_hash_throttled_seconds_total",
          "Time the hash worker slept to stay within its CPU and read budget.",
          static_cast<double>(hashing.throttled_ns) * 1e-9);
  gauge(out, "execmond_content_hash_queue", "Files waiting to be digested.",
        static_cast<double>(hashing.queued));
  out.family("execmond_content_verdicts_waiting", MetricType::kGauge,
             "Verdicts that wait: for a file's digest (for=\"hash\") or for the package manager "
             "to finish (for=\"package_manager\").");
  out.sample({{"for", "hash"}}, static_cast<double>(stats.waiting));
  out.sample({{"for", "package_manager"}}, static_cast<double>(stats.held));
  counter(out, "execmond_content_verdicts_held_total",
          "Verdicts held while the package manager ran (an upgrade never pages).",
          static_cast<double>(stats.held_total));
  if (stats.packaged) {
    gauge(out, "execmond_package_database_files",
          "Files the package database records a checksum for (0: none loaded).",
          stats.packages ? static_cast<double>(stats.packages->stats().files) : 0);
    counter(out, "execmond_package_database_loads_total",
            "Loads of the package database: at start, then after each change the package "
            "manager made.",
            static_cast<double>(stats.package_loads.loads));
    counter(out, "execmond_package_database_load_failures_total",
            "Loads of the package database that failed (the last good one is kept).",
            static_cast<double>(stats.package_loads.failures));
  }
  unexpected_files_.collect(out);
}

}  // namespace execmond
