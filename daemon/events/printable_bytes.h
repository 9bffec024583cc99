// SPDX-License-Identifier: Apache-2.0
// Bytes a process chose (its name, a path, its arguments) as text that is safe to show
// and to parse: valid UTF-8 without control characters, mapping back to exactly those
// bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace execmond {

// The rules:
//   - printable ASCII other than `\` is itself;
//   - a well-formed UTF-8 sequence (RFC 3629: no overlong form, no surrogate, nothing
//     above U+10FFFF) of a printable character is itself; C1 controls, noncharacters
//     and the invisible format characters that could disguise a name (bidi overrides,
//     zero-width characters, tags, ...) are not printable;
//   - `\` is `\\`;
//   - every other byte is `\xHH`, lowercase hex.
//
// Valid UTF-8: each piece is ASCII or a well-formed sequence, and so is their
// concatenation.
// One text per byte string (injective): a backslash in the text always starts an escape,
// since a passed-through piece never contains one (ASCII `\` is escaped, and bytes of
// multi-byte sequences are >= 0x80). Reading the text left to right, `\\` gives `\`,
// `\xHH` gives byte HH and any other byte gives itself, which rebuilds the bytes; a
// function with a left inverse is injective. tests/unit/test_comm_label.cpp has that
// decoder.

// The text is at most this many times longer than the bytes (every byte escaped).
inline constexpr std::size_t kMaxEscapeExpansion = 4;

// Writes the text for `bytes` to `out`, which has room for kMaxEscapeExpansion *
// bytes.size() characters; returns how many it wrote.
std::size_t escape_bytes(std::string_view bytes, char* out);

// Appends the text for `bytes` to `out`.
void append_escaped_bytes(std::string& out, std::string_view bytes);

}  // namespace execmond
