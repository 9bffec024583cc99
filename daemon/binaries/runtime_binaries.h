// SPDX-License-Identifier: Apache-2.0
// Container runtimes that re-execute themselves from a copy: runc (1.1: a sealed memfd
// named "runc_cloned:/proc/self/exe", or an O_TMPFILE file) and crun do it so that a
// container cannot overwrite the host's binary (CVE-2019-5736). The copy has no name a
// path rule can judge; it is recognised by its content, which equals the runtime's.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "binaries/content_digest.h"

namespace execmond {

// Is `host_path` a container runtime's binary, by its file name (runc, crun, youki)? Only
// a file that is itself allowed at its path is remembered as one (RuntimeBinaries).
bool is_runtime_name(std::string_view host_path);

// The digests of the runtime binaries that ran and were allowed at their path, most
// recent first; bounded (a host has a few runtimes, and a few versions during an
// upgrade). Reader thread.
class RuntimeBinaries {
 public:
  static constexpr std::size_t kCapacity = 16;

  void remember(const Sha256& content, std::string_view host_path);
  // The runtime whose content this is, if any.
  std::optional<std::string> find(const Sha256& content) const;
  void clear() { size_ = 0; }

 private:
  struct Runtime {
    Sha256 content;
    std::string host_path;
  };
  std::array<Runtime, kCapacity> runtimes_;
  std::size_t size_ = 0;
};

}  // namespace execmond
