// The kernel's cache of binaries the allow-list admits (bpf/binaries.bpf.h): an exec of
// one of them sends no binary record.
#pragma once

struct execmond_binary_id;

namespace execmond {

class AllowedBinaryCache {
 public:
  virtual ~AllowedBinaryCache() = default;
  // One bpf() system call: called once per binary record of an allowed binary, never
  // per exec.
  virtual void allow(const execmond_binary_id& binary) = 0;
  // Forgets every entry (the allow-list changed).
  virtual void clear() = 0;
};

}  // namespace execmond
