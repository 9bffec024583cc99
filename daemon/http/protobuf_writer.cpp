#include "http/protobuf_writer.h"

#include <algorithm>
#include <cmath>

#include "http/protobuf_wire.h"

namespace execmond::http {
namespace {

std::uint64_t wire_type(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return wire::kCounter;
    case MetricType::kGauge:
      return wire::kGauge;
    case MetricType::kHistogram:
      return wire::kHistogram;
  }
  return wire::kGauge;
}

// Buckets separated by at most this many empty ones share a span (with zero deltas), as
// client_golang does: a span costs more bytes than two empty buckets.
constexpr std::size_t kMaxGapInSpan = 2;

}  // namespace

ProtobufWriter::ProtobufWriter(ByteSink& sink) : sink_(sink) {}

void ProtobufWriter::family(std::string_view name, MetricType type, std::string_view help) {
  flush_family();
  type_ = type;
  wire::put_string_field(head_, wire::family::kName, name);
  if (!help.empty()) wire::put_string_field(head_, wire::family::kHelp, help);
  wire::put_varint_field(head_, wire::family::kType, wire_type(type));
}

void ProtobufWriter::labels(const LabelSet& labels) {
  for (const Label& label : labels) {
    wire::put_length_delimited(
        metric_, wire::metric::kLabel,
        wire::string_field_size(wire::label::kName, label.name.size()) +
            wire::string_field_size(wire::label::kValue, label.value.size()));
    wire::put_string_field(metric_, wire::label::kName, label.name);
    wire::put_string_field(metric_, wire::label::kValue, label.value);
  }
}

void ProtobufWriter::sample(const LabelSet& sample_labels, double value) {
  labels(sample_labels);
  const std::uint32_t field =
      type_ == MetricType::kCounter ? wire::metric::kCounter : wire::metric::kGauge;
  wire::put_length_delimited(metric_, field, wire::double_field_size(wire::kValue));
  wire::put_double_field(metric_, wire::kValue, value);
  end_metric();
}

void ProtobufWriter::histogram(const LabelSet& sample_labels, const HistogramSample& histogram) {
  labels(sample_labels);
  histogram_.clear();
  std::uint64_t count = histogram.count;
  // Native fields go first into a scratch string: their total decides sample_count.
  native_.clear();
  if (histogram.native != nullptr) count = std::max(count, native(*histogram.native));
  wire::put_varint_field(histogram_, wire::histogram::kSampleCount, count);
  wire::put_double_field(histogram_, wire::histogram::kSampleSum, histogram.sum);
  for (std::size_t i = 0; i < histogram.bucket_count; ++i) {
    const double bound = histogram.upper_bounds[i];
    if (std::isinf(bound) && bound > 0) continue;  // implicit: sample_count
    const std::uint64_t cumulative = histogram.cumulative_counts[i];
    wire::put_length_delimited(histogram_, wire::histogram::kBucket,
                               wire::varint_field_size(wire::bucket::kCumulativeCount, cumulative) +
                                   wire::double_field_size(wire::bucket::kUpperBound));
    wire::put_varint_field(histogram_, wire::bucket::kCumulativeCount, cumulative);
    wire::put_double_field(histogram_, wire::bucket::kUpperBound, bound);
  }
  histogram_ += native_;
  wire::put_length_delimited(metric_, wire::metric::kHistogram, histogram_.size());
  metric_ += histogram_;
  end_metric();
}

// Encodes the native histogram's fields into native_: schema, zero bucket, then the
// positive spans ((offset from the previous span's end, length)) and one delta per
// bucket in them against the bucket before. Returns the observations it holds.
std::uint64_t ProtobufWriter::native(const NativeHistogram& histogram) {
  wire::put_varint_field(native_, wire::histogram::kSchema, wire::zigzag(histogram.schema));
  wire::put_double_field(native_, wire::histogram::kZeroThreshold, histogram.zero_threshold);
  wire::put_varint_field(native_, wire::histogram::kZeroCount, histogram.zero_count);
  std::uint64_t total = histogram.zero_count;
  deltas_.clear();
  std::int64_t next_index = 0;  // the index after the previous span
  bool first_span = true;
  std::uint64_t previous = 0;
  std::size_t i = 0;
  while (i < histogram.size) {
    if (histogram.counts[i] == 0) {
      ++i;
      continue;
    }
    std::size_t end = i + 1;  // one past the span's last non-empty bucket
    for (std::size_t j = end; j < histogram.size && j - end <= kMaxGapInSpan; ++j) {
      if (histogram.counts[j] != 0) end = j + 1;
    }
    const std::int64_t index = histogram.first_index + static_cast<std::int64_t>(i);
    const std::uint64_t offset = wire::zigzag(first_span ? index : index - next_index);
    const std::uint64_t length = end - i;
    wire::put_length_delimited(native_, wire::histogram::kPositiveSpan,
                               wire::varint_field_size(wire::span::kOffset, offset) +
                                   wire::varint_field_size(wire::span::kLength, length));
    wire::put_varint_field(native_, wire::span::kOffset, offset);
    wire::put_varint_field(native_, wire::span::kLength, length);
    next_index = index + static_cast<std::int64_t>(length);
    first_span = false;
    for (; i < end; ++i) {
      const std::uint64_t count = histogram.counts[i];
      total += count;
      wire::put_varint_field(
          deltas_, wire::histogram::kPositiveDelta,
          wire::zigzag(static_cast<std::int64_t>(count) - static_cast<std::int64_t>(previous)));
      previous = count;
    }
  }
  native_ += deltas_;
  return total;
}

void ProtobufWriter::end_metric() {
  if (metrics_.empty() || metrics_.back().size() + metric_.size() + 10 > kBlock) {
    metrics_.emplace_back();
    metrics_.back().reserve(kBlock);
  }
  std::string& block = metrics_.back();
  const std::size_t before = block.size();
  wire::put_length_delimited(block, wire::family::kMetric, metric_.size());
  block += metric_;
  metrics_size_ += block.size() - before;
  metric_.clear();
}

void ProtobufWriter::flush_family() {
  if (metrics_size_ > 0) {
    std::string length;
    wire::put_varint(length, head_.size() + metrics_size_);
    sink_.write(length);
    sink_.write(head_);
    for (const std::string& block : metrics_) sink_.write(block);
  }
  head_.clear();
  metrics_.clear();
  metrics_size_ = 0;
}

void ProtobufWriter::finish() { flush_family(); }

}  // namespace execmond::http
