// SPDX-License-Identifier: Apache-2.0
// A directory tree the unit tests build and remove: files, symlinks, a fake host root.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

namespace execmond {

class TempTree {
 public:
  TempTree() {
    char pattern[] = "/tmp/execmond-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp");
    root_ = pattern;
  }
  ~TempTree() { std::system(("rm -rf '" + root_ + "'").c_str()); }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& relative) const { return root_ + "/" + relative; }

  void directory(const std::string& relative) const {
    std::system(("mkdir -p '" + path(relative) + "'").c_str());
  }
  // Writes a file (its directories made first).
  void file(const std::string& relative, const std::string& contents) const {
    const std::size_t slash = relative.rfind('/');
    if (slash != std::string::npos) directory(relative.substr(0, slash));
    std::ofstream out(path(relative), std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out) throw std::runtime_error("write " + relative);
  }
  void symlink(const std::string& target, const std::string& relative) const {
    const std::size_t slash = relative.rfind('/');
    if (slash != std::string::npos) directory(relative.substr(0, slash));
    if (::symlink(target.c_str(), path(relative).c_str()) != 0)
      throw std::runtime_error("symlink " + relative);
  }

 private:
  std::string root_;
};

}  // namespace execmond
