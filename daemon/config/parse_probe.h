// The child side of the bound on parsing YAML (parse_bound.h): `execmond
// --internal-parse-probe CPU_MS MEMORY_BYTES` limits itself, reads YAML on its standard
// input, parses it as the daemon would and exits. Not for people: it is hidden from the
// usage, and main() (and the unit tests' main()) dispatch to it before anything else runs.
#pragma once

namespace execmond {

inline constexpr char kParseProbeOption[] = "--internal-parse-probe";

// Exit codes of the probe besides 0 (the parse terminated, valid YAML or not).
namespace probe_exit {
constexpr int kOutOfMemory = 10;  // the parser asked for more than its memory budget
constexpr int kBadUsage = 11;     // wrong arguments: the parent and child disagree
}  // namespace probe_exit

// Whether the probe limits its heap: not under AddressSanitizer, whose shadow memory
// counts as heap. There the CPU-time limit bounds what a runaway parser can touch.
bool probe_limits_heap();

bool is_parse_probe(int argc, char* const argv[]);
int run_parse_probe(int argc, char* const argv[]);

}  // namespace execmond
