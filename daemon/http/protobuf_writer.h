// The Prometheus protobuf exposition: delimited io.prometheus.client.MetricFamily
// messages, native histograms included (protobuf_wire.h has the schema).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/byte_sink.h"
#include "metrics/metric_writer.h"

namespace execmond::http {

// Each family is one message, preceded by its length as a varint; a family without
// samples is left out. A length comes before its message, so one family at a time is
// held encoded (at 10,000 names, the lifetime histograms' ~3.5 MB is the largest) before
// it goes to the sink.
//
// A histogram carries its classic buckets (+Inf implicit, as client_golang sends them)
// and, when the collector has one, its native histogram. Prometheus then stores the
// native one (and the classic buckets only with scrape_classic_histograms); a
// scraper without native histogram support reads the classic ones.
class ProtobufWriter final : public MetricWriter {
 public:
  static constexpr std::size_t kBlock = 64 * 1024;

  explicit ProtobufWriter(ByteSink& sink);
  void family(std::string_view name, MetricType type, std::string_view help) override;
  void sample(const LabelSet& labels, double value) override;
  void histogram(const LabelSet& labels, const HistogramSample& histogram) override;
  // Hands the last family to the sink. Call once, after the last family.
  void finish();

 private:
  void flush_family();
  // Appends one Metric (field 4 of the family) from metric_'s fields.
  void end_metric();
  void labels(const LabelSet& labels);
  std::uint64_t native(const NativeHistogram& histogram);

  ByteSink& sink_;
  MetricType type_ = MetricType::kGauge;
  std::string head_;  // the family's name, help and type fields
  // Its Metric fields so far, in blocks of about kBlock: a family of megabytes grows
  // without being copied into ever larger strings (which would need twice its size).
  std::vector<std::string> metrics_;
  std::size_t metrics_size_ = 0;
  std::string metric_;     // the Metric being encoded
  std::string histogram_;  // the Histogram being encoded
  std::string native_;     // its native fields
  std::string deltas_;     // its native bucket deltas, which follow the spans
};

}  // namespace execmond::http
