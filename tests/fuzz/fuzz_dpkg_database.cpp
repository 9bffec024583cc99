// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: dpkg's database files (binaries/dpkg_parsers.h) and the index built
// from them. The first byte picks the file kind; the rest is its text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/dpkg_parsers.h"
#include "binaries/package_index.h"

namespace {

using namespace execmond;

void check_path(std::string_view path) {
  // Every path handed out is absolute and NUL-free, as the index's users assume.
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  PackageIndex::Builder builder("dpkg", PathKeyer({1, 2}));
  const std::uint32_t package = builder.package("fuzz");
  std::vector<std::string> paths;
  switch (data[0] % 4) {
    case 0:
      dpkg::parse_md5sums(text, [&](const Md5& md5, std::string_view path) {
        check_path(path);
        builder.add_file(path, package, md5);
        paths.emplace_back(path);
      });
      break;
    case 1:
      dpkg::parse_list(text, [&](std::string_view path) {
        check_path(path);
        builder.add_owned(path, package);
        paths.emplace_back(path);
      });
      break;
    case 2: {
      std::vector<dpkg::Diversion> diversions;
      dpkg::parse_diversions(text, diversions);
      for (const auto& diversion : diversions) {
        check_path(diversion.from);
        check_path(diversion.to);
        if (diversion.by.empty()) __builtin_trap();
      }
      break;
    }
    case 3:
      dpkg::parse_status_conffiles(text, [&](const dpkg::Conffile& conffile) {
        check_path(conffile.path);
        if (conffile.package.empty()) __builtin_trap();
        builder.add_file(conffile.path, builder.package(conffile.package), conffile.md5);
        paths.emplace_back(conffile.path);
      });
      break;
  }
  const PackageIndex index = builder.build();
  for (const std::string& path : paths) {
    // What was added is found.
    if (index.find(path, nullptr).ownership == PackageIndex::Ownership::not_owned) __builtin_trap();
    index.in_package_directory(path);
  }
  return 0;
}
