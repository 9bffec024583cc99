#include "binaries/elf_interpreter.h"

#include <elf.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace execmond {
namespace {

class MemoryBytes : public ElfBytes {
 public:
  explicit MemoryBytes(std::string_view bytes) : bytes_(bytes) {}
  bool read(std::uint64_t offset, void* out, std::size_t size) const override {
    if (offset > bytes_.size() || size > bytes_.size() - offset) return false;
    std::memcpy(out, bytes_.data() + offset, size);
    return true;
  }

 private:
  std::string_view bytes_;
};

class FileBytes : public ElfBytes {
 public:
  explicit FileBytes(int fd) : fd_(fd) {}
  bool read(std::uint64_t offset, void* out, std::size_t size) const override {
    auto* at = static_cast<char*>(out);
    while (size > 0) {
      const ssize_t got = ::pread(fd_, at, size, static_cast<off_t>(offset));
      if (got <= 0) return false;
      at += got;
      offset += static_cast<std::uint64_t>(got);
      size -= static_cast<std::size_t>(got);
    }
    return true;
  }

 private:
  int fd_;
};

// A field of `size` bytes at `offset` in `raw`, in the file's byte order.
std::uint64_t field(const unsigned char* raw, std::size_t offset, std::size_t size,
                    bool big_endian) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned char byte = raw[offset + (big_endian ? i : size - 1 - i)];
    value = (value << 8) | byte;
  }
  return value;
}

}  // namespace

ElfFacts read_elf(const ElfBytes& file) {
  ElfFacts facts;
  unsigned char header[sizeof(Elf64_Ehdr)] = {};
  if (!file.read(0, header, SELFMAG) || std::memcmp(header, ELFMAG, SELFMAG) != 0) return facts;
  facts.kind = ElfFacts::Kind::kMalformed;
  if (!file.read(0, header, EI_NIDENT)) return facts;
  const bool wide = header[EI_CLASS] == ELFCLASS64;
  const bool big_endian = header[EI_DATA] == ELFDATA2MSB;
  if ((!wide && header[EI_CLASS] != ELFCLASS32) || (!big_endian && header[EI_DATA] != ELFDATA2LSB))
    return facts;
  const std::size_t header_size = wide ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
  if (!file.read(0, header, header_size)) return facts;
  const auto get = [&](std::size_t offset, std::size_t size) {
    return field(header, offset, size, big_endian);
  };
  facts.type = static_cast<std::uint16_t>(get(offsetof(Elf64_Ehdr, e_type), 2));
  const std::uint64_t phoff =
      wide ? get(offsetof(Elf64_Ehdr, e_phoff), 8) : get(offsetof(Elf32_Ehdr, e_phoff), 4);
  const std::uint64_t phentsize =
      wide ? get(offsetof(Elf64_Ehdr, e_phentsize), 2) : get(offsetof(Elf32_Ehdr, e_phentsize), 2);
  const std::uint64_t phnum =
      wide ? get(offsetof(Elf64_Ehdr, e_phnum), 2) : get(offsetof(Elf32_Ehdr, e_phnum), 2);
  const std::size_t entry_size = wide ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
  // binfmt_elf's checks: the entry size is the struct's, and the table is bounded.
  if (phentsize != entry_size || phnum == 0 || phnum > kMaxProgramHeaders ||
      phoff > UINT64_MAX - phnum * entry_size)
    return facts;

  unsigned char entry[sizeof(Elf64_Phdr)];
  for (std::uint64_t i = 0; i < phnum; ++i) {
    if (!file.read(phoff + i * entry_size, entry, entry_size)) return facts;
    const auto at = [&](std::size_t offset, std::size_t size) {
      return field(entry, offset, size, big_endian);
    };
    if (at(0, 4) != PT_INTERP) continue;
    const std::uint64_t offset =
        wide ? at(offsetof(Elf64_Phdr, p_offset), 8) : at(offsetof(Elf32_Phdr, p_offset), 4);
    const std::uint64_t size =
        wide ? at(offsetof(Elf64_Phdr, p_filesz), 8) : at(offsetof(Elf32_Phdr, p_filesz), 4);
    // The kernel's bounds (fs/binfmt_elf.c): 2 to PATH_MAX bytes, the last one a NUL.
    if (size < 2 || size > 4096) return facts;
    std::string interpreter(static_cast<std::size_t>(size), '\0');
    if (!file.read(offset, interpreter.data(), interpreter.size()) || interpreter.back() != '\0')
      return facts;
    interpreter.resize(std::strlen(interpreter.c_str()));
    facts.kind = ElfFacts::Kind::kDynamic;
    facts.interpreter = std::move(interpreter);
    return facts;  // the first PT_INTERP is the one the kernel uses
  }
  facts.kind = ElfFacts::Kind::kStatic;
  return facts;
}

ElfFacts parse_elf(std::string_view bytes) { return read_elf(MemoryBytes(bytes)); }

ElfFacts read_elf_file(int fd) { return read_elf(FileBytes(fd)); }

}  // namespace execmond
