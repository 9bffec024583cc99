// SPDX-License-Identifier: Apache-2.0
#include "events/printable_bytes.h"

namespace execmond {
namespace {

// Code points shown as nothing, or that reorder or hide what follows: a name made of
// them could pass for another on a dashboard.
struct CodePointRange {
  char32_t first;
  char32_t last;
};
constexpr CodePointRange kUnprintable[] = {
    {0x80, 0x9f},        // C1 controls
    {0xad, 0xad},        // soft hyphen
    {0x61c, 0x61c},      // Arabic letter mark
    {0x180e, 0x180e},    // Mongolian vowel separator
    {0x200b, 0x200f},    // zero-width space, joiners, LRM, RLM
    {0x2028, 0x202e},    // line and paragraph separators, bidi embeddings and overrides
    {0x2060, 0x206f},    // word joiner, invisible operators, bidi isolates
    {0xfdd0, 0xfdef},    // noncharacters
    {0xfeff, 0xfeff},    // byte order mark
    {0xfff9, 0xfffb},    // interlinear annotations
    {0xe0000, 0xe007f},  // tags
};

bool printable(char32_t code_point) {
  if ((code_point & 0xfffe) == 0xfffe) return false;  // U+xFFFE, U+xFFFF: noncharacters
  for (const CodePointRange& range : kUnprintable)
    if (code_point >= range.first && code_point <= range.last) return false;
  return true;
}

bool continuation(unsigned char byte) { return (byte & 0xc0) == 0x80; }

// The length of the well-formed UTF-8 sequence of a printable character that starts
// `bytes` (2 to 4), or 0. The second byte's ranges are RFC 3629's syntax (section 4): they
// rule out overlong forms, surrogates and code points above U+10FFFF.
std::size_t printable_sequence_length(const unsigned char* bytes, std::size_t available) {
  const unsigned char lead = bytes[0];
  std::size_t length;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  char32_t code_point;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
    if (lead == 0xe0) second_min = 0xa0;
    if (lead == 0xed) second_max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xf0) second_min = 0x90;
    if (lead == 0xf4) second_max = 0x8f;
  } else {
    return 0;
  }
  if (available < length) return 0;
  if (bytes[1] < second_min || bytes[1] > second_max) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if (!continuation(bytes[i])) return 0;
    code_point = (code_point << 6) | (bytes[i] & 0x3f);
  }
  return printable(code_point) ? length : 0;
}

}  // namespace

std::size_t escape_bytes(std::string_view text, char* out) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t written = 0;
  for (std::size_t i = 0; i < size;) {
    const unsigned char byte = bytes[i];
    if (byte == '\\') {
      out[written++] = '\\';
      out[written++] = '\\';
      ++i;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out[written++] = static_cast<char>(byte);
      ++i;
    } else if (std::size_t length = printable_sequence_length(bytes + i, size - i)) {
      for (; length > 0; --length) out[written++] = static_cast<char>(bytes[i++]);
    } else {
      out[written++] = '\\';
      out[written++] = 'x';
      out[written++] = kHexDigits[byte >> 4];
      out[written++] = kHexDigits[byte & 0xf];
      ++i;
    }
  }
  return written;
}

void append_escaped_bytes(std::string& out, std::string_view bytes) {
  const std::size_t old_size = out.size();
  out.resize(old_size + kMaxEscapeExpansion * bytes.size());
  out.resize(old_size + escape_bytes(bytes, out.data() + old_size));
}

}  // namespace execmond
