// How a collector hands its numbers to the exposition: one call per metric family, then
// one per sample, streamed straight into whatever renders them (the text format, the
// protobuf format, a test). No per-series object is built: a collector reads its
// counters and passes each sample on as it goes, so a scrape of 250,000 series costs a
// few kilobytes of buffers, not an object graph as large as the exposition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string_view>

namespace execmond {

enum class MetricType { kCounter, kGauge, kHistogram };

// A label value is passed as Prometheus will show it; each format escapes it its own way.
struct Label {
  std::string_view name;
  std::string_view value;
};

// The labels of one sample, in the order the exposition shows them, on the stack.
class LabelSet {
 public:
  // comm, unit, container and one of signal/errno: the most any execmond sample has.
  static constexpr std::size_t kMaxLabels = 4;

  LabelSet() = default;
  LabelSet(std::initializer_list<Label> labels) {
    for (const Label& label : labels) add(label.name, label.value);
  }
  void add(std::string_view name, std::string_view value) {
    if (size_ == kMaxLabels) throw std::length_error("more than LabelSet::kMaxLabels labels");
    labels_[size_++] = {name, value};
  }
  // These labels and one more.
  LabelSet with(std::string_view name, std::string_view value) const {
    LabelSet more = *this;
    more.add(name, value);
    return more;
  }

  const Label* begin() const { return labels_; }
  const Label* end() const { return labels_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  Label labels_[kMaxLabels];
  std::size_t size_ = 0;
};

// A native (exponential, sparse) histogram: bucket `i` of schema `s` holds the
// observations v with 2^((i-1)/2^s) < v <= 2^(i/2^s); the zero bucket those with
// v <= zero_threshold. Formats without native histograms ignore it.
struct NativeHistogram {
  int schema = 0;  // -4 to 8
  double zero_threshold = 0;
  std::uint64_t zero_count = 0;
  std::int32_t first_index = 0;           // the bucket index of counts[0]
  const std::uint64_t* counts = nullptr;  // per bucket, not cumulative; most are 0
  std::size_t size = 0;
};

// One histogram sample: its classic buckets and, if the collector keeps one, its native
// histogram. The counts come from one read of each bucket, so they agree with each
// other: `count` is the last cumulative count.
struct HistogramSample {
  std::uint64_t count = 0;
  double sum = 0;
  // Ascending, the last one +Inf; `cumulative_counts` has one count per bound.
  const double* upper_bounds = nullptr;
  const std::uint64_t* cumulative_counts = nullptr;
  std::size_t bucket_count = 0;
  const NativeHistogram* native = nullptr;
};

// Receives the families of an exposition. Every sample belongs to the family started
// last; a family may have no sample. Names and help texts are the collectors' literals:
// a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*, label values are valid UTF-8.
class MetricWriter {
 public:
  virtual ~MetricWriter() = default;
  virtual void family(std::string_view name, MetricType type, std::string_view help) = 0;
  // A sample of a counter or gauge family.
  virtual void sample(const LabelSet& labels, double value) = 0;
  // A sample of a histogram family.
  virtual void histogram(const LabelSet& labels, const HistogramSample& histogram) = 0;
};

// Anything that has metrics to show: the series table, the endpoint, the daemon's own
// numbers. collect() may run on any thread, concurrently with whatever updates the
// numbers, and must not block their writer.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void collect(MetricWriter& out) const = 0;
};

// A family of one unlabelled sample: the daemon's many single numbers.
inline void write_single_sample(MetricWriter& out, std::string_view name, MetricType type,
                                std::string_view help, double value) {
  out.family(name, type, help);
  out.sample({}, value);
}

}  // namespace execmond
