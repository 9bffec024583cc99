// SPDX-License-Identifier: Apache-2.0
// What the host's package manager installed: which package owns a path, and the checksum
// it recorded for it. One immutable snapshot per load of the database, shared by the
// threads that judge (std::shared_ptr<const PackageIndex>); a reload builds a new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "binaries/content_digest.h"
#include "binaries/path_key.h"

namespace execmond {

class PackageIndex {
 public:
  enum class Ownership {
    not_owned,
    owned_without_checksum,  // listed, but the package recorded no checksum for it
    owned,
  };
  struct Lookup {
    Ownership ownership = Ownership::not_owned;
    // A package that owns it: the one whose checksum matched, else the first.
    std::string_view package;
    // Owned: whether `md5` is one of the recorded checksums (several packages may own
    // one path: Multi-Arch: same, or a file moving between packages).
    bool matches = false;
  };
  struct Stats {
    std::size_t packages = 0;
    std::size_t files = 0;        // paths with a checksum
    std::size_t unchecked = 0;    // owned paths without one (symlinks, mostly)
    std::size_t directories = 0;  // directories holding packaged files
    std::size_t bytes = 0;        // the index's memory
  };

  // `md5`: the file's content, or null when unknown (then `matches` is false).
  Lookup find(std::string_view host_path, const Md5* md5) const;
  // Does `host_path` sit in a directory that holds files a package installed
  // (/usr/bin, /etc/cron.daily)? Its parent directory is checked, as the host names it.
  bool in_package_directory(std::string_view host_path) const;
  Stats stats() const;
  std::string_view manager() const { return manager_; }

  // Filled by an index builder (one per package manager).
  class Builder;

 private:
  struct Entry {
    std::uint64_t key;
    std::uint32_t package;
    std::uint32_t has_md5;
    Md5 md5;
  };
  explicit PackageIndex(PathKeyer keyer) : keyer_(keyer) {}

  PathKeyer keyer_;
  std::string manager_;
  std::vector<std::string> packages_;
  std::vector<Entry> entries_;              // sorted by key
  std::vector<std::uint64_t> directories_;  // sorted
};

// Builds an index from canonical host paths (see HostPathCanonicalizer): every path
// is as the host names the file, so /bin/ls of a usrmerged host is added as
// /usr/bin/ls by the caller.
class PackageIndex::Builder {
 public:
  explicit Builder(std::string manager, PathKeyer keyer = PathKeyer());
  std::uint32_t package(std::string_view name);
  void add_file(std::string_view host_path, std::uint32_t package, const std::optional<Md5>& md5);
  // Owned, checksum or not; only recorded when no checksum entry of that package exists.
  void add_owned(std::string_view host_path, std::uint32_t package);
  PackageIndex build();

 private:
  PackageIndex index_;
  std::vector<Entry> unchecked_;
  std::unordered_map<std::string, std::uint32_t> package_ids_;
};

}  // namespace execmond
