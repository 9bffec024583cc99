// SPDX-License-Identifier: Apache-2.0
// Everything the binaries stage needs, built once: the host's root and mount table,
// the host's loaders, the judge and the stage itself. The daemon and `execmond trace`
// build the same one (trace writes only LOADER verdicts to its kernel cache).
#pragma once

#include <memory>
#include <string>

#include "binaries/binary_judge.h"
#include "binaries/host_loaders.h"
#include "binaries/host_paths.h"
#include "binaries/live_mount_table.h"
#include "binaries/unexpected_binaries.h"

namespace execmond {

class BinariesPipeline {
 public:
  // Reads the host's mount table and finds its loaders (a few ms); logs how files are
  // named (PID 1's root, or this process's where PID 1's is hidden).
  BinariesPipeline(BinaryVerdictCache& kernel_cache, UnexpectedBinaryMetrics& metrics,
                   const UnexpectedExecLog& log, UnexpectedBinaries::KernelVerdicts verdicts);

  UnexpectedBinaries& stage() { return stage_; }
  const HostLoaders& loaders() const { return loaders_; }
  // The host's root directory (O_PATH): where the content judge opens files.
  int host_root() const { return host_paths_.root(); }
  // One line for the log: where names come from, the loaders found, how scripts are
  // resolved.
  std::string describe(bool script_hook) const;

 private:
  HostRoot host_root_;  // its descriptor moves into host_paths_
  LiveMountTable mounts_;
  HostPaths host_paths_;
  HostLoaders loaders_;
  BinaryJudge judge_;
  UnexpectedBinaries stage_;
};

}  // namespace execmond
