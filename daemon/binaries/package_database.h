// SPDX-License-Identifier: Apache-2.0
// The host's package database, whichever package manager keeps it. dpkg is the one
// implemented (dpkg_database.h); rpm is the next: its files and SHA-256 digests come
// from the rpmdb (rpm -q --dump, or librpm's header iterator), its activity from
// /var/lib/rpm/.rpm.lock, and an RpmDatabase would implement this interface beside
// DpkgDatabase with no change to its users (PackageIndex would gain a SHA-256 column:
// the daemon already digests every file with both).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/package_index.h"

namespace execmond {

// The database exists but could not be read (unreadable, too large).
class PackageDatabaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PackageDatabase {
 public:
  virtual ~PackageDatabase() = default;

  struct LoadStats {
    std::size_t files_read = 0;
    std::size_t bytes_read = 0;
    std::size_t malformed_lines = 0;  // skipped, with a warning
    std::size_t path_lookups = 0;     // fstatat() calls to name directories as the host does
    std::chrono::nanoseconds duration{0};
  };

  // "dpkg".
  virtual std::string_view manager() const = 0;
  // Does the host (its root at `root_fd`) keep this manager's database?
  virtual bool present(int root_fd) const = 0;
  // Reads the whole database. Throws PackageDatabaseError.
  virtual PackageIndex load(int root_fd, LoadStats& stats) const = 0;
  // Directories (host paths) whose changes are changes of the database: watched.
  virtual std::vector<std::string> watched_directories() const = 0;
  // Is the package manager installing or removing files right now? While it is, a file
  // may already hold its new content while the database still records the old one.
  virtual bool busy(int root_fd) const = 0;
};

// Every package manager execmond knows, most likely first.
std::vector<std::unique_ptr<PackageDatabase>> known_package_databases();

}  // namespace execmond
