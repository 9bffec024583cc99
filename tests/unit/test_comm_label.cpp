// SPDX-License-Identifier: Apache-2.0
// Process names as label values: valid UTF-8 for any bytes, and never two names on one
// value.
#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "metrics/comm_label.h"

namespace {

using execmond::CommLabel;
using execmond::CommName;

// The inverse of the encoding: a label value back to the name's bytes, or nullopt when
// the value is not an encoding at all.
std::optional<std::string> decode(std::string_view label) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string name;
  for (std::size_t i = 0; i < label.size(); ++i) {
    if (label[i] != '\\') {
      name += label[i];
    } else if (i + 1 < label.size() && label[i + 1] == '\\') {
      name += '\\';
      i += 1;
    } else if (i + 3 < label.size() && label[i + 1] == 'x' && hex(label[i + 2]) >= 0 &&
               hex(label[i + 3]) >= 0) {
      name += static_cast<char>(hex(label[i + 2]) * 16 + hex(label[i + 3]));
      i += 3;
    } else {
      return std::nullopt;
    }
  }
  return name;
}

// Well-formed UTF-8 as the Unicode standard defines it, written independently of the
// encoder: decode each sequence, then reject overlong forms, surrogates and values
// above U+10FFFF.
bool valid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char lead = bytes[i];
    std::size_t length;
    char32_t code_point;
    char32_t minimum;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2, code_point = lead & 0x1f, minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, code_point = lead & 0x0f, minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, code_point = lead & 0x07, minimum = 0x10000;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (bytes[i + k] & 0x3f);
    }
    if (code_point < minimum || code_point > 0x10ffff) return false;
    if (code_point >= 0xd800 && code_point <= 0xdfff) return false;
    i += length;
  }
  return true;
}

std::string label_of(std::string_view comm) { return std::string(CommLabel(comm).view()); }

// Checks every property the exposition relies on, for one name.
void check_round_trip(const std::string& comm) {
  const std::string label = label_of(comm);
  INFO("comm bytes: " << Catch::Detail::stringify(comm) << " label: " << label);
  REQUIRE(valid_utf8(label));
  REQUIRE(label.size() <= CommLabel::kMaxSize);
  REQUIRE(decode(label) == comm);
  REQUIRE(label != execmond::kOverflowCommLabel);
}

}  // namespace

TEST_CASE("printable ASCII names are their own label value", "[comm_label]") {
  CHECK(label_of("bash") == "bash");
  CHECK(label_of("kworker/0:1-ev") == "kworker/0:1-ev");
  CHECK(label_of("a b\"c'd{e}=") == "a b\"c'd{e}=");
  CHECK(label_of("") == "");
}

TEST_CASE("backslash and unprintable bytes are escaped", "[comm_label]") {
  CHECK(label_of("a\\b") == "a\\\\b");
  CHECK(label_of(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(label_of("tab\there") == "tab\\x09here");
  CHECK(label_of("nl\n") == "nl\\x0a");
  CHECK(label_of("\x7f") == "\\x7f");
  CHECK(label_of("\xff\xfe") == "\\xff\\xfe");
}

TEST_CASE("a name spelling an escape differs from the byte it spells", "[comm_label]") {
  // "a\x41" typed literally (5 bytes) against "aA" (2 bytes).
  const std::string spelled = "a\\x41";
  CHECK(label_of(spelled) == "a\\\\x41");
  CHECK(label_of("aA") == "aA");
  CHECK(label_of(spelled) != label_of("aA"));
  // "\\" typed literally against a single backslash.
  CHECK(label_of("\\\\") == "\\\\\\\\");
  CHECK(label_of("\\") == "\\\\");
  CHECK(label_of("\\x5c") != label_of("\\"));
}

TEST_CASE("well-formed UTF-8 of printable characters passes through", "[comm_label]") {
  CHECK(label_of("caf\xc3\xa9") == "caf\xc3\xa9");                            // é
  CHECK(label_of("\xe4\xb8\xad\xe6\x96\x87") == "\xe4\xb8\xad\xe6\x96\x87");  // 中文
  CHECK(label_of("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");                  // U+1F600
  CHECK(label_of("\xc2\xa0") == "\xc2\xa0");                                  // no-break space
}

TEST_CASE("malformed UTF-8 and disguising characters are escaped byte by byte", "[comm_label]") {
  CHECK(label_of("\xc3") == "\\xc3");                             // cut short
  CHECK(label_of("\xc3(") == "\\xc3(");                           // bad continuation
  CHECK(label_of("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  CHECK(label_of("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");           // overlong '/'
  CHECK(label_of("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate U+D800
  CHECK(label_of("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  CHECK(label_of("\xf0\x9f\x98") == "\\xf0\\x9f\\x98");           // cut at the end
  CHECK(label_of("\xc2\x85") == "\\xc2\\x85");                    // C1 control NEL
  CHECK(label_of("\xe2\x80\xae") == "\\xe2\\x80\\xae");           // right-to-left override
  CHECK(label_of("\xe2\x80\x8b") == "\\xe2\\x80\\x8b");           // zero-width space
  CHECK(label_of("\xef\xbb\xbf") == "\\xef\\xbb\\xbf");           // byte order mark
  CHECK(label_of("\xef\xbf\xbf") == "\\xef\\xbf\\xbf");           // noncharacter U+FFFF
  // A stray byte does not hide the well-formed character after it.
  CHECK(label_of("\x80\xc3\xa9") == "\\x80\xc3\xa9");
}

TEST_CASE("every single byte gives valid UTF-8 that decodes back", "[comm_label]") {
  for (int byte = 0; byte < 256; ++byte) check_round_trip(std::string(1, static_cast<char>(byte)));
}

TEST_CASE("no two names of up to two bytes share a label value", "[comm_label]") {
  std::unordered_map<std::string, std::string> names_by_label;
  names_by_label.emplace(label_of(""), "");
  for (int first = 0; first < 256; ++first) {
    const std::string one(1, static_cast<char>(first));
    REQUIRE(names_by_label.emplace(label_of(one), one).second);
    for (int second = 0; second < 256; ++second) {
      const std::string two = one + static_cast<char>(second);
      check_round_trip(two);
      REQUIRE(names_by_label.emplace(label_of(two), two).second);
    }
  }
  CHECK(names_by_label.size() == 1 + 256 + 256 * 256);
}

TEST_CASE("random and adversarial names round-trip through their label", "[comm_label]") {
  std::mt19937_64 random(20240601);
  // Bytes that make escaping interesting: the escape characters themselves, hex
  // digits, UTF-8 leads and continuations, controls.
  static constexpr char kTricky[] =
      "\\x5cAa09f\"\n\0\x7f\x80\xbf\xc2\xc3\xe0\xe2\xed\xef\xf0\xf4\xff";
  const std::string tricky(kTricky, sizeof(kTricky) - 1);
  std::unordered_map<std::string, std::string> names_by_label;
  for (int round = 0; round < 200000; ++round) {
    const std::size_t length = random() % (CommName::kCapacity + 1);
    std::string comm;
    for (std::size_t i = 0; i < length; ++i) {
      comm += random() % 2 ? tricky[random() % tricky.size()] : static_cast<char>(random());
    }
    check_round_trip(comm);
    const auto [it, inserted] = names_by_label.emplace(label_of(comm), comm);
    if (!inserted) REQUIRE(it->second == comm);
  }
}

TEST_CASE("the longest encoding fits, and no name reaches the overflow label", "[comm_label]") {
  const std::string all_escaped(CommName::kCapacity, '\x01');
  CHECK(label_of(all_escaped).size() == CommLabel::kMaxSize);
  // Names longer than a comm are cut, not overrun.
  CHECK(label_of(std::string(40, '\x01')).size() == CommLabel::kMaxSize);
  CHECK(label_of("execmond_overflow") == "execmond_overflo");
  CHECK(execmond::kOverflowCommLabel == "execmond_overflow");
}
