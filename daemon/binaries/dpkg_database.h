// SPDX-License-Identifier: Apache-2.0
// dpkg's database: /var/lib/dpkg/info/*.md5sums (checksums), *.list (ownership), the
// Conffiles of /var/lib/dpkg/status (their checksums), /var/lib/dpkg/diversions.
#pragma once

#include "binaries/package_database.h"

namespace execmond {

class DpkgDatabase : public PackageDatabase {
 public:
  // Bounds: a database file larger than this is refused (the largest on a desktop host
  // is status, ~3 MiB).
  static constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;
  static constexpr std::size_t kMaxInfoFiles = 200'000;

  std::string_view manager() const override { return "dpkg"; }
  bool present(int root_fd) const override;
  PackageIndex load(int root_fd, LoadStats& stats) const override;
  std::vector<std::string> watched_directories() const override;
  // dpkg's lock (/var/lib/dpkg/lock, or apt's lock-frontend) is held, or its journal
  // (/var/lib/dpkg/updates) holds entries not yet folded into status.
  bool busy(int root_fd) const override;

 private:
  PackageIndex read_database(int root_fd, LoadStats& stats) const;
};

}  // namespace execmond
