// SPDX-License-Identifier: Apache-2.0
// Parsers of dpkg's database files (/var/lib/dpkg). Pure, bounded, fuzzed
// (tests/fuzz/fuzz_dpkg_database.cpp): the files are root's, but a parser that crashes on
// a truncated or hostile one would take the daemon down with it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/content_digest.h"

namespace execmond::dpkg {

// What a parser made of its input: entries found, lines it skipped as malformed.
struct ParseCount {
  std::size_t entries = 0;
  std::size_t malformed = 0;
};

// info/PACKAGE.md5sums: "<32 hex>  <path without its leading />" per line (md5sum's
// format; " *" marks binary mode). Paths come out absolute ("/usr/bin/ls").
ParseCount parse_md5sums(std::string_view text,
                         const std::function<void(const Md5&, std::string_view path)>& entry);

// info/PACKAGE.list: one absolute path per line, directories included ("/." first).
ParseCount parse_list(std::string_view text,
                      const std::function<void(std::string_view path)>& entry);

// diversions: three lines per diversion: the path diverted, where it goes, and the
// package that diverts it (":" for a local diversion, `dpkg-divert --local`). Files of
// every other package named `from` are installed as `to`.
struct Diversion {
  std::string from;
  std::string to;
  std::string by;  // package name, or ":" (local)
  bool local() const { return by == ":"; }
};
ParseCount parse_diversions(std::string_view text, std::vector<Diversion>& diversions);

// status: the Conffiles of each package (their checksums are recorded nowhere else).
struct Conffile {
  std::string_view package;  // "cron"
  std::string_view path;     // "/etc/cron.daily/apt-compat"
  std::optional<Md5> md5;    // none: "newconffile" (being installed)
  bool obsolete = false;
};
ParseCount parse_status_conffiles(std::string_view text,
                                  const std::function<void(const Conffile&)>& entry);

// "libc6:amd64.md5sums" -> "libc6" (diversions name packages without architecture).
std::string_view package_of_info_file(std::string_view file_name);

}  // namespace execmond::dpkg
