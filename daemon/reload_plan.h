// What a SIGHUP changes: for each setting that differs between the running and the new
// configuration, whether it applies in place or only at the next start. A pure function,
// so that every case is tested without a kernel.
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

struct ReloadPlan {
  std::vector<SettingChange> changes;
  // The configuration the daemon runs on after the reload: the new one, except that
  // settings which cannot change in place keep their running values (so that the next
  // reload compares against what really runs).
  Config effective;
};

ReloadPlan plan_reload(const Config& running, const Config& next);

}  // namespace execmond
