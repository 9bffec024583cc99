// What a SIGHUP changes: for each setting that differs between the running and the new
// configuration, whether it applies in place or only at the next start, and the steps
// that apply it. A pure function, so that every case is tested without a kernel.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"

namespace execmond {

enum class Setting {
  kListen,
  kMinDuration,
  kExecFailures,
  kSeriesFilters,
  kSeriesBound,
  kLifetimeHistogram,
  kSeriesTtl,
  kLabels,
  kRingBufferSize,
  kPollInterval,
  kWebConfigFile,
  kAllowedBinaries,
  kLogLevel,
};

struct SettingChange {
  Setting setting;
  std::string_view name;  // as the configuration file spells it
  bool in_place;          // false: the running value stays until a restart
};

// One step of a reload. Each appears at most once in a plan, in the order below: the
// one step that can fail (binding the new address) comes first, so that a failure
// changes nothing. The web configuration is not a step: every reload reads it again,
// certificates included, whether its file name changed or not.
enum class ReloadAction {
  kRebindListener,       // listen
  kSetMinDuration,       // min_duration: a writable global of the programs
  kApplySeriesSettings,  // filters, bound, histogram: posted to the reader, which owns the table
  kReplaceAllowList,     // binaries: the reader's verdicts and the kernel's resolution together
  kSetPollInterval,      // poll_interval
  kSetLogLevel,          // log_level
};

struct ReloadPlan {
  std::vector<SettingChange> changes;  // every setting that differs, for the log
  std::vector<ReloadAction> actions;   // what applies the in-place ones, in order
  // The configuration the daemon runs on after the reload: the new one, except that
  // settings which cannot change in place keep their running values (so that the next
  // reload compares against what really runs).
  Config effective;
};

ReloadPlan plan_reload(const Config& running, const Config& next);

}  // namespace execmond
