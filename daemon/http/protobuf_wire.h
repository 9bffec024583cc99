// The Prometheus protobuf exposition on the wire, written out here rather than generated:
// the messages of io.prometheus.client (prometheus/client_model, metrics.proto) that
// execmond sends, their field numbers and wire types (facts of the format), and the
// protobuf encoding primitives they need.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace execmond::http::wire {

// https://protobuf.dev/programming-guides/encoding/
enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

// message MetricFamily
namespace family {
inline constexpr std::uint32_t kName = 1;    // string
inline constexpr std::uint32_t kHelp = 2;    // string
inline constexpr std::uint32_t kType = 3;    // enum MetricType
inline constexpr std::uint32_t kMetric = 4;  // repeated Metric
}  // namespace family

// enum MetricType
inline constexpr std::uint64_t kCounter = 0;
inline constexpr std::uint64_t kGauge = 1;
inline constexpr std::uint64_t kHistogram = 4;

// message Metric
namespace metric {
inline constexpr std::uint32_t kLabel = 1;      // repeated LabelPair
inline constexpr std::uint32_t kGauge = 2;      // Gauge
inline constexpr std::uint32_t kCounter = 3;    // Counter
inline constexpr std::uint32_t kHistogram = 7;  // Histogram
}  // namespace metric

// message LabelPair
namespace label {
inline constexpr std::uint32_t kName = 1;   // string
inline constexpr std::uint32_t kValue = 2;  // string
}  // namespace label

// message Gauge, message Counter
inline constexpr std::uint32_t kValue = 1;  // double

// message Histogram
namespace histogram {
inline constexpr std::uint32_t kSampleCount = 1;     // uint64
inline constexpr std::uint32_t kSampleSum = 2;       // double
inline constexpr std::uint32_t kBucket = 3;          // repeated Bucket (classic)
inline constexpr std::uint32_t kSchema = 5;          // sint32
inline constexpr std::uint32_t kZeroThreshold = 6;   // double
inline constexpr std::uint32_t kZeroCount = 7;       // uint64
inline constexpr std::uint32_t kPositiveSpan = 12;   // repeated BucketSpan
inline constexpr std::uint32_t kPositiveDelta = 13;  // repeated sint64
}  // namespace histogram

// message Bucket
namespace bucket {
inline constexpr std::uint32_t kCumulativeCount = 1;  // uint64
inline constexpr std::uint32_t kUpperBound = 2;       // double
}  // namespace bucket

// message BucketSpan
namespace span {
inline constexpr std::uint32_t kOffset = 1;  // sint32
inline constexpr std::uint32_t kLength = 2;  // uint32
}  // namespace span

inline std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

inline void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

// sint32 and sint64 are zigzag-encoded: small negative numbers stay short.
inline std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

inline std::size_t tag_size(std::uint32_t field) { return varint_size(std::uint64_t{field} << 3); }

inline void put_tag(std::string& out, std::uint32_t field, WireType type) {
  put_varint(out, (std::uint64_t{field} << 3) | type);
}

inline void put_varint_field(std::string& out, std::uint32_t field, std::uint64_t value) {
  put_tag(out, field, kVarint);
  put_varint(out, value);
}

inline std::size_t varint_field_size(std::uint32_t field, std::uint64_t value) {
  return tag_size(field) + varint_size(value);
}

// Little-endian IEEE 754, whatever the host's byte order.
inline void put_double_field(std::string& out, std::uint32_t field, double value) {
  put_tag(out, field, kFixed64);
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xff);
}

inline std::size_t double_field_size(std::uint32_t field) { return tag_size(field) + 8; }

inline void put_length_delimited(std::string& out, std::uint32_t field, std::size_t length) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, length);
}

inline void put_string_field(std::string& out, std::uint32_t field, std::string_view text) {
  put_length_delimited(out, field, text.size());
  out.append(text);
}

inline std::size_t string_field_size(std::uint32_t field, std::size_t length) {
  return tag_size(field) + varint_size(length) + length;
}

}  // namespace execmond::http::wire
