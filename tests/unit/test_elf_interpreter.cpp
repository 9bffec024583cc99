#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <climits>
#include <cstring>
#include <string>

#include "binaries/elf_interpreter.h"
#include "binaries/host_loaders.h"
#include "binaries/mount_table.h"

namespace execmond {
namespace {

// A minimal ELF image: header, program headers, then the interpreter string.
template <class Ehdr, class Phdr>
std::string elf_image(unsigned char klass, unsigned char data, const std::string& interp,
                      int extra_headers = 0, bool with_nul = true) {
  const bool big = data == ELFDATA2MSB;
  std::string image(sizeof(Ehdr) + (1 + extra_headers) * sizeof(Phdr), '\0');
  const auto put = [&](std::size_t at, std::uint64_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i)
      image[at + (big ? size - 1 - i : i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  };
  std::memcpy(image.data(), ELFMAG, SELFMAG);
  image[EI_CLASS] = static_cast<char>(klass);
  image[EI_DATA] = static_cast<char>(data);
  image[EI_VERSION] = EV_CURRENT;
  put(offsetof(Ehdr, e_type), ET_DYN, 2);
  put(offsetof(Ehdr, e_phoff), sizeof(Ehdr), sizeof(Ehdr::e_phoff));
  put(offsetof(Ehdr, e_phentsize), sizeof(Phdr), 2);
  put(offsetof(Ehdr, e_phnum), 1 + extra_headers, 2);
  for (int i = 0; i < extra_headers; ++i)
    put(sizeof(Ehdr) + i * sizeof(Phdr) + offsetof(Phdr, p_type), PT_LOAD, 4);
  const std::size_t phdr = sizeof(Ehdr) + extra_headers * sizeof(Phdr);
  put(phdr + offsetof(Phdr, p_type), PT_INTERP, 4);
  put(phdr + offsetof(Phdr, p_offset), image.size(), sizeof(Phdr::p_offset));
  put(phdr + offsetof(Phdr, p_filesz), interp.size() + (with_nul ? 1 : 0), sizeof(Phdr::p_filesz));
  image += interp;
  if (with_nul) image += '\0';
  return image;
}

ElfFacts facts_of_file(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const ElfFacts facts = read_elf_file(fd);
  ::close(fd);
  return facts;
}

}  // namespace

TEST_CASE("the interpreter of this host's binaries, and the loader itself", "[elf]") {
  const ElfFacts dynamic = facts_of_file("/usr/bin/true");
  CHECK(dynamic.kind == ElfFacts::Kind::kDynamic);
  CHECK(dynamic.interpreter == "/lib64/ld-linux-x86-64.so.2");
  const ElfFacts loader = facts_of_file("/lib64/ld-linux-x86-64.so.2");
  CHECK(loader.kind == ElfFacts::Kind::kStatic);
  CHECK(loader.type == ET_DYN);
  const ElfFacts script = facts_of_file("/usr/bin/ldd");  // a bash script
  CHECK(script.kind == ElfFacts::Kind::kNotElf);
}

TEST_CASE("32- and 64-bit, little- and big-endian images", "[elf]") {
  const auto check = [](const std::string& image) {
    const ElfFacts facts = parse_elf(image);
    CHECK(facts.kind == ElfFacts::Kind::kDynamic);
    CHECK(facts.interpreter == "/lib/ld-x.so.1");
    CHECK(facts.type == ET_DYN);
  };
  check(elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2LSB, "/lib/ld-x.so.1", 3));
  check(elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2MSB, "/lib/ld-x.so.1"));
  check(elf_image<Elf32_Ehdr, Elf32_Phdr>(ELFCLASS32, ELFDATA2LSB, "/lib/ld-x.so.1", 2));
  check(elf_image<Elf32_Ehdr, Elf32_Phdr>(ELFCLASS32, ELFDATA2MSB, "/lib/ld-x.so.1"));
}

TEST_CASE("images the kernel would refuse are malformed, never read past their end", "[elf]") {
  const std::string good = elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2LSB, "/l");
  CHECK(parse_elf(good).kind == ElfFacts::Kind::kDynamic);
  // Cut anywhere: malformed or not ELF, never a crash.
  for (std::size_t size = 0; size < good.size(); ++size) {
    const ElfFacts facts = parse_elf(std::string_view(good).substr(0, size));
    CHECK(facts.kind != ElfFacts::Kind::kDynamic);
    CHECK((size < SELFMAG) == (facts.kind == ElfFacts::Kind::kNotElf));
  }
  CHECK(
      parse_elf(elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2LSB, "/l", 0, false)).kind ==
      ElfFacts::Kind::kMalformed);  // no NUL at the end
  CHECK(parse_elf(elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2LSB, "")).kind ==
        ElfFacts::Kind::kMalformed);  // shorter than 2 bytes
  CHECK(
      parse_elf(elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2LSB, std::string(4096, 'a')))
          .kind == ElfFacts::Kind::kMalformed);  // longer than PATH_MAX
  std::string bad_class = good;
  bad_class[EI_CLASS] = 7;
  CHECK(parse_elf(bad_class).kind == ElfFacts::Kind::kMalformed);
  std::string no_headers = good;
  no_headers[offsetof(Elf64_Ehdr, e_phnum)] = 0;
  CHECK(parse_elf(no_headers).kind == ElfFacts::Kind::kMalformed);
  std::string wrong_entry = good;
  wrong_entry[offsetof(Elf64_Ehdr, e_phentsize)] = 32;
  CHECK(parse_elf(wrong_entry).kind == ElfFacts::Kind::kMalformed);
  std::string far = good;
  std::memset(far.data() + offsetof(Elf64_Ehdr, e_phoff), 0xff, 8);  // offset wraps
  CHECK(parse_elf(far).kind == ElfFacts::Kind::kMalformed);
  std::string interp_then_nul = elf_image<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ELFDATA2LSB, "/a");
  interp_then_nul[interp_then_nul.size() - 2] = '\0';  // "/\0\0": up to the first NUL
  CHECK(parse_elf(interp_then_nul).interpreter == "/");
}

}  // namespace execmond

namespace execmond {

TEST_CASE("the host's loaders are found from its binaries' interpreters", "[elf]") {
  const int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(root >= 0);
  const HostLoaders loaders = HostLoaders::scan(root);
  ::close(root);
  // Debian: /lib64/ld-linux-x86-64.so.2 is a link to the real file.
  CHECK(std::find(loaders.interpreters().begin(), loaders.interpreters().end(),
                  "/lib64/ld-linux-x86-64.so.2") != loaders.interpreters().end());
  char real[PATH_MAX];
  REQUIRE(::realpath("/lib64/ld-linux-x86-64.so.2", real) != nullptr);
  CHECK(loaders.is_loader_path(real));
  if (std::string(real) != "/lib64/ld-linux-x86-64.so.2")
    CHECK_FALSE(loaders.is_loader_path("/lib64/ld-linux-x86-64.so.2"));
  struct stat st {};
  REQUIRE(::stat(real, &st) == 0);
  const HostLoader* loader =
      loaders.find(kernel_dev(major(st.st_dev), minor(st.st_dev)), st.st_ino);
  REQUIRE(loader != nullptr);
  CHECK(loader->path == real);
  CHECK(loaders.find(kernel_dev(major(st.st_dev), minor(st.st_dev)), 1) == nullptr);
}

}  // namespace execmond
