// logfmt: `key="value"` pairs on one line. Every value is quoted and escaped, so that no
// value a process chose (a file name, a process name) can end its field, start a forged
// one or start a line of its own.
#pragma once

#include <string>
#include <string_view>

namespace execmond {

struct LogField {
  std::string_view key;  // one of ours: [a-z_]+, never escaped
  std::string_view value;
};

// Appends `"value"`: `"` is `\"`, `\` is `\\`, newline, carriage return and tab are
// `\n`, `\r`, `\t`, any other control byte, DEL and every byte that is not part of
// well-formed UTF-8 is `\xHH`. One text per byte string (a backslash always starts an
// escape), so a reader can rebuild the exact bytes.
void append_logfmt_value(std::string& out, std::string_view bytes);

// Appends ` key="value"`.
void append_logfmt_field(std::string& out, const LogField& field);

}  // namespace execmond
