// The host's dynamic loaders: the files its binaries name as their program interpreter
// (PT_INTERP), e.g. /lib64/ld-linux-x86-64.so.2 -> /usr/lib/x86_64-linux-gnu/
// ld-linux-x86-64.so.2. An exec of one of them runs whatever program its arguments name,
// so the kernel is told to send their arguments (the LOADER verdict).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/file_facts.h"

namespace execmond {

struct HostLoader {
  std::string path;  // the host's name of the file, every link followed
  FileFacts facts;   // its identity: dev, inode, ctime
};

class HostLoaders {
 public:
  // Directories whose binaries are read for their PT_INTERP, and how many ELF files of
  // each at most: a few name every interpreter a host uses.
  static constexpr std::size_t kFilesPerDirectory = 64;
  static constexpr std::size_t kMaxLoaders = 16;

  HostLoaders() = default;
  // Reads the interpreters of the binaries in the usual directories (and the usual
  // loader names) through `host_root`, an O_PATH descriptor of the host's root.
  static HostLoaders scan(int host_root);

  const std::vector<HostLoader>& loaders() const { return loaders_; }
  // Every PT_INTERP string seen, as the binaries spell it.
  const std::vector<std::string>& interpreters() const { return interpreters_; }
  // A loader's host path (links followed), e.g. a new version of one after an upgrade.
  bool is_loader_path(std::string_view host_path) const;
  const HostLoader* find(std::uint32_t dev, std::uint64_t ino) const;

 private:
  void add_interpreter(int host_root, const std::string& interpreter);

  std::vector<HostLoader> loaders_;
  std::vector<std::string> interpreters_;
};

}  // namespace execmond
