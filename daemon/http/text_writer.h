// The Prometheus text format (version 0.0.4), written as the collectors go.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/byte_sink.h"
#include "metrics/metric_writer.h"

namespace execmond::http {

// Writes exactly what prometheus-cpp's TextSerializer writes for the same families
// (a differential test holds it to that, line for line): `# HELP` when there is help,
// `# TYPE` always, even for a family without samples; label values with `\`, `"` and
// newline escaped; values as printf's %.16g in the C locale, NaN as `Nan`, infinities
// as `+Inf`/`-Inf`; a histogram as _count, _sum, then its buckets. One difference, for
// help texts no collector has: `\` and newline in help are escaped, as the format
// requires (prometheus-cpp writes them raw).
//
// Bytes reach the sink in chunks of about kChunk: the writer's own memory is one chunk.
class TextWriter final : public MetricWriter {
 public:
  static constexpr std::size_t kChunk = 64 * 1024;

  explicit TextWriter(ByteSink& sink);
  void family(std::string_view name, MetricType type, std::string_view help) override;
  void sample(const LabelSet& labels, double value) override;
  void histogram(const LabelSet& labels, const HistogramSample& histogram) override;
  // Hands the rest to the sink. Call once, after the last family.
  void finish();

 private:
  void head(std::string_view suffix, const LabelSet& labels, const Label* extra);
  void escaped(std::string_view value);
  void value(double number);
  void integer(std::uint64_t number);
  void end_line();

  ByteSink& sink_;
  std::string buffer_;
  std::string name_;  // of the family being written
};

}  // namespace execmond::http
