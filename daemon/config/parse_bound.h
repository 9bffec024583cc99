// A hard bound on parsing YAML, whatever yaml-cpp does. Before the daemon parses a file it
// has a child process parse the same bytes under a CPU-time limit and a memory limit, and a
// wall-clock deadline enforced by the daemon (kill + reap); it parses them itself only once
// the child has proven that the parse terminates. yaml-cpp 0.7 and 0.8 have looped forever,
// allocating, on a few hundred malformed bytes: a defect nobody has found yet is refused in
// a fraction of a second instead of taking the host's memory.
//
// The child is /proc/self/exe run with kParseProbeOption (parse_probe.h): the same binary,
// even after a package upgrade replaced its file, and no fork() of a threaded daemon.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace execmond {

// What parsing `bytes` of YAML may take. yaml-cpp's work and memory are linear in the
// text: a valid 1 MiB configuration takes ~0.3 s of CPU and ~60 MiB; the budget is several
// times that, so a file is refused only when the parser runs away.
struct ParseBudget {
  std::chrono::milliseconds cpu;   // CPU time of the child, start-up included
  std::size_t memory;              // bytes of heap (RLIMIT_DATA); not in sanitizer builds
  std::chrono::milliseconds wall;  // the daemon's own deadline, for a child starved of CPU

  static ParseBudget for_text(std::size_t bytes);
};

// From now on every YAML parse of this process (load_single_document) is proven first in
// a child running `executable` ("/proc/self/exe"). main() turns it on; the unit tests and
// the fuzz targets parse in their own process.
void bound_yaml_parsing(std::string executable);

// Whether bound_yaml_parsing() was called, and with which executable ("" when not).
const std::string& yaml_parse_bound();

// Parses `text` in a child of `executable` within `budget`. Returns when the parse
// terminated (whether the YAML is valid or not: the caller parses it again to say so).
// Throws ConfigError "<name>: ..." when the parse ran past its CPU or memory budget or
// crashed, which no valid file does; ConfigUncheckable when the child could not run or
// was starved past the wall-clock deadline, which proves nothing about the file.
void prove_parse_terminates(std::string_view text, const std::string& name,
                            const std::string& executable, const ParseBudget& budget);

}  // namespace execmond
