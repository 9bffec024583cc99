// SPDX-License-Identifier: Apache-2.0
// Tests read what a collector writes as prometheus-cpp families: the data model the
// collectors built before they streamed, so tests can look samples up by name and
// labels, and the differential test can hand them to prometheus-cpp's TextSerializer.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "metrics/metric_writer.h"

namespace execmond::testing {

// A MetricWriter that builds prometheus::MetricFamily objects, as prometheus-cpp's
// collectors did. Native histograms, which prometheus-cpp's model lacks, are kept
// beside them, keyed by family name and sample index.
class FamilyBuilder final : public MetricWriter {
 public:
  void family(std::string_view name, MetricType type, std::string_view help) override {
    prometheus::MetricFamily family;
    family.name = std::string(name);
    family.help = std::string(help);
    family.type = type == MetricType::kCounter ? prometheus::MetricType::Counter
                  : type == MetricType::kGauge ? prometheus::MetricType::Gauge
                                               : prometheus::MetricType::Histogram;
    families.push_back(std::move(family));
  }
  void sample(const LabelSet& labels, double value) override {
    prometheus::ClientMetric metric = labelled(labels);
    if (families.back().type == prometheus::MetricType::Counter)
      metric.counter.value = value;
    else
      metric.gauge.value = value;
    families.back().metric.push_back(std::move(metric));
  }
  void histogram(const LabelSet& labels, const HistogramSample& histogram) override {
    prometheus::ClientMetric metric = labelled(labels);
    metric.histogram.sample_count = histogram.count;
    metric.histogram.sample_sum = histogram.sum;
    for (std::size_t i = 0; i < histogram.bucket_count; ++i) {
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = histogram.cumulative_counts[i];
      bucket.upper_bound = histogram.upper_bounds[i];
      metric.histogram.bucket.push_back(bucket);
    }
    if (histogram.native != nullptr) {
      Native& native = natives[{families.back().name, families.back().metric.size()}];
      native.schema = histogram.native->schema;
      native.zero_threshold = histogram.native->zero_threshold;
      native.zero_count = histogram.native->zero_count;
      for (std::size_t i = 0; i < histogram.native->size; ++i)
        if (histogram.native->counts[i] != 0)
          native.buckets[histogram.native->first_index + static_cast<std::int32_t>(i)] =
              histogram.native->counts[i];
    }
    families.back().metric.push_back(std::move(metric));
  }

  struct Native {
    int schema = 0;
    double zero_threshold = 0;
    std::uint64_t zero_count = 0;
    std::map<std::int32_t, std::uint64_t> buckets;  // non-empty ones, by index
  };
  std::vector<prometheus::MetricFamily> families;
  std::map<std::pair<std::string, std::size_t>, Native> natives;

 private:
  static prometheus::ClientMetric labelled(const LabelSet& labels) {
    prometheus::ClientMetric metric;
    for (const Label& label : labels)
      metric.label.push_back({std::string(label.name), std::string(label.value)});
    return metric;
  }
};

// What `collector` writes, as families.
inline std::vector<prometheus::MetricFamily> collect_families(const Collector& collector) {
  FamilyBuilder builder;
  collector.collect(builder);
  return std::move(builder.families);
}

// What anything with collect(MetricWriter&) writes (a Collector, or a part of one).
template <typename Source>
std::vector<prometheus::MetricFamily> families_of(const Source& source) {
  FamilyBuilder builder;
  source.collect(builder);
  return std::move(builder.families);
}

}  // namespace execmond::testing
