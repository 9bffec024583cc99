// The kernel's verdict cache (bpf/binaries.bpf.h binary_verdicts): what the daemon said
// about an identity in a view. An exec whose key holds a verdict sends no binary record
// (a loader's still does, with argv and cwd).
#pragma once

#include "events/records.h"

namespace execmond {

class BinaryVerdictCache {
 public:
  virtual ~BinaryVerdictCache() = default;
  // One bpf() system call: once per judged identity, never per exec. `binary` must be
  // the key of the record the verdict was reached for (its view included).
  virtual void write(const execmond_binary_id& binary, execmond_verdict verdict) = 0;
  // Forgets one verdict: the daemon evicted it from its own cache.
  virtual void erase(const execmond_binary_id& binary) = 0;
  // Forgets every verdict (the allow-list changed).
  virtual void clear() = 0;
};

}  // namespace execmond
