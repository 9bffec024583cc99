#include "binaries/binaries_pipeline.h"

#include "binaries/process_view.h"

namespace execmond {

BinariesPipeline::BinariesPipeline(BinaryVerdictCache& kernel_cache,
                                   UnexpectedBinaryMetrics& metrics, const UnexpectedExecLog& log,
                                   UnexpectedBinaries::KernelVerdicts verdicts)
    : host_root_(open_host_root()),
      mounts_(host_root_.mountinfo),
      host_paths_(std::move(host_root_.root), mounts_),
      loaders_(HostLoaders::scan(host_paths_.root())),
      judge_(host_paths_, loaders_),
      stage_(kernel_cache, metrics, log, judge_, loaders_, verdicts) {}

std::string BinariesPipeline::describe(bool script_hook) const {
  std::string text = "binaries: files are named as the host sees them through ";
  if (host_root_.pid1) {
    text += "/proc/1/root";
  } else if (host_root_.same_table) {
    text += "execmond's own root (" + host_root_.why + "; its mount table is PID 1's)";
  } else {
    text += "execmond's own root (" + host_root_.why +
            "; its mount table is not PID 1's: files only the host sees are \"unverified\"; "
            "give execmond CAP_SYS_PTRACE)";
  }
  text += "; " + std::to_string(loaders_.loaders().size()) + " dynamic loaders (";
  for (std::size_t i = 0; i < loaders_.loaders().size(); ++i)
    text += (i ? ", " : "") + loaders_.loaders()[i].path;
  text += "); scripts: ";
  if (!ProcessView::available())
    text +=
        "(this process does not see the host's pids: a process's own view is never read "
        "through /proc) ";
  text += script_hook ? "the kernel hook's identity of the script's file"
                      : "resolved from userspace through /proc/PID (no kernel hook on this "
                        "kernel)";
  return text;
}

}  // namespace execmond
