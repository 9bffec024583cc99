#include "http/text_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace execmond::http {
namespace {

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

TextWriter::TextWriter(ByteSink& sink) : sink_(sink) { buffer_.reserve(kChunk + 4096); }

void TextWriter::family(std::string_view name, MetricType type, std::string_view help) {
  name_.assign(name);
  if (!help.empty()) {
    buffer_ += "# HELP ";
    buffer_ += name;
    buffer_ += ' ';
    for (const char c : help) {
      if (c == '\\')
        buffer_ += "\\\\";
      else if (c == '\n')
        buffer_ += "\\n";
      else
        buffer_ += c;
    }
    buffer_ += '\n';
  }
  buffer_ += "# TYPE ";
  buffer_ += name;
  buffer_ += ' ';
  buffer_ += type_name(type);
  end_line();
}

void TextWriter::sample(const LabelSet& labels, double number) {
  head({}, labels, nullptr);
  value(number);
  end_line();
}

void TextWriter::histogram(const LabelSet& labels, const HistogramSample& histogram) {
  head("_count", labels, nullptr);
  integer(histogram.count);
  end_line();
  head("_sum", labels, nullptr);
  value(histogram.sum);
  end_line();

  // The `le` value is the bound formatted like any value: "0.001", "86400", "+Inf".
  char bound[32];
  double last = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < histogram.bucket_count; ++i) {
    last = histogram.upper_bounds[i];
    std::size_t length;
    if (std::isinf(last)) {
      length = 4;
      std::copy_n(last < 0 ? "-Inf" : "+Inf", 4, bound);
    } else {
      length = static_cast<std::size_t>(
          std::to_chars(bound, bound + sizeof bound, last, std::chars_format::general, 16).ptr -
          bound);
    }
    const Label le{"le", {bound, length}};
    head("_bucket", labels, &le);
    integer(histogram.cumulative_counts[i]);
    end_line();
  }
  if (last != std::numeric_limits<double>::infinity()) {
    const Label le{"le", "+Inf"};
    head("_bucket", labels, &le);
    integer(histogram.count);
    end_line();
  }
}

void TextWriter::finish() {
  if (!buffer_.empty()) sink_.write(buffer_);
  buffer_.clear();
}

void TextWriter::head(std::string_view suffix, const LabelSet& labels, const Label* extra) {
  buffer_ += name_;
  buffer_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    char separator = '{';
    for (const Label& label : labels) {
      buffer_ += separator;
      buffer_ += label.name;
      buffer_ += "=\"";
      escaped(label.value);
      buffer_ += '"';
      separator = ',';
    }
    if (extra != nullptr) {
      buffer_ += separator;
      buffer_ += extra->name;
      buffer_ += "=\"";
      escaped(extra->value);
      buffer_ += '"';
    }
    buffer_ += '}';
  }
  buffer_ += ' ';
}

void TextWriter::escaped(std::string_view text) {
  std::size_t plain = 0;  // the start of bytes not yet appended
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    buffer_.append(text.data() + plain, i - plain);
    buffer_ += '\\';
    buffer_ += c == '\n' ? 'n' : c;
    plain = i + 1;
  }
  buffer_.append(text.data() + plain, text.size() - plain);
}

void TextWriter::value(double number) {
  if (std::isnan(number)) {
    buffer_ += "Nan";
  } else if (std::isinf(number)) {
    buffer_ += number < 0 ? "-Inf" : "+Inf";
  } else {
    // %.16g: prometheus-cpp streams with precision max_digits10 - 1 in the classic locale.
    char digits[32];
    const auto end =
        std::to_chars(digits, digits + sizeof digits, number, std::chars_format::general, 16).ptr;
    buffer_.append(digits, static_cast<std::size_t>(end - digits));
  }
}

void TextWriter::integer(std::uint64_t number) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
  buffer_.append(digits, static_cast<std::size_t>(end - digits));
}

void TextWriter::end_line() {
  buffer_ += '\n';
  if (buffer_.size() >= kChunk) {
    sink_.write(buffer_);
    buffer_.clear();
  }
}

}  // namespace execmond::http
