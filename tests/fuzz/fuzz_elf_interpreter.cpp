// libFuzzer target: any bytes as an ELF file, read for its program interpreter
// (daemon/binaries/elf_interpreter.h). Bounded, whatever the headers claim.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "binaries/elf_interpreter.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace execmond;
  const ElfFacts facts = parse_elf({reinterpret_cast<const char*>(data), size});
  if (facts.kind == ElfFacts::Kind::kDynamic) {
    if (facts.interpreter.size() >= 4096) std::abort();
    if (std::memchr(facts.interpreter.data(), '\0', facts.interpreter.size()) != nullptr)
      std::abort();
  } else if (!facts.interpreter.empty()) {
    std::abort();
  }
  return 0;
}
