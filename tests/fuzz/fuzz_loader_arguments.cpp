// libFuzzer target: a dynamic loader's argv as the kernel records it (NUL-separated, maybe
// cut), parsed as glibc's ld.so or musl's ld-musl would (daemon/binaries/
// loader_arguments.h). The first byte picks the family and whether the argv was cut.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "binaries/loader_arguments.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace execmond;
  if (size == 0) return 0;
  const LoaderFamily family = (data[0] & 1) ? LoaderFamily::kMusl : LoaderFamily::kGlibc;
  const bool truncated = (data[0] & 2) != 0;
  const std::string_view args(reinterpret_cast<const char*>(data + 1), size - 1);
  const LoaderRun run = parse_loader_arguments(family, args, truncated);
  // What it returns points into the input.
  const auto inside = [&](std::string_view part) {
    return part.empty() ||
           (part.data() >= args.data() && part.data() + part.size() <= args.data() + args.size());
  };
  if (!inside(run.program)) std::abort();
  for (const std::string_view library : run.libraries)
    if (!inside(library) || library.empty()) std::abort();
  if (run.kind != LoaderRun::Kind::kProgram && !run.program.empty()) std::abort();
  return 0;
}
