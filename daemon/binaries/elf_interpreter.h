// The program interpreter an ELF file asks for (its PT_INTERP), read the way the
// kernel's binfmt_elf reads it, bounded: a small reader for the host's own binaries and
// for any file an exec ran, hostile ones included.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace execmond {

struct ElfFacts {
  enum class Kind {
    kNotElf,     // no ELF magic
    kMalformed,  // ELF magic, but headers the kernel would refuse (or we will not read)
    kStatic,     // ELF without PT_INTERP: runs without a loader (or is a loader, a library)
    kDynamic,    // ELF with PT_INTERP: `interpreter` runs it
  };
  Kind kind = Kind::kNotElf;
  std::uint16_t type = 0;   // e_type: ET_EXEC 2, ET_DYN 3
  std::string interpreter;  // kDynamic: the path, up to its NUL
};

// Reads `size` bytes at `offset` into `out`; false when the file has not that many.
class ElfBytes {
 public:
  virtual ~ElfBytes() = default;
  virtual bool read(std::uint64_t offset, void* out, std::size_t size) const = 0;
};

// Program headers read at most (the kernel refuses more than 64 KiB of them).
inline constexpr std::size_t kMaxProgramHeaders = 1024;

ElfFacts read_elf(const ElfBytes& file);
// The same over bytes in memory (tests, fuzzing).
ElfFacts parse_elf(std::string_view bytes);
// The same over an open file (pread()).
ElfFacts read_elf_file(int fd);

}  // namespace execmond
