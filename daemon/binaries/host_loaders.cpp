#include "binaries/host_loaders.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "binaries/elf_interpreter.h"
#include "binaries/path_walker.h"

namespace execmond {
namespace {

constexpr const char* kBinaryDirectories[] = {
    "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin", "/usr/libexec"};
// Loaders a host may have without a binary in those directories naming them.
constexpr const char* kUsualLoaders[] = {
    "/lib64/ld-linux-x86-64.so.2",     "/lib/ld-linux.so.2",
    "/libx32/ld-linux-x32.so.2",       "/lib/ld-linux-aarch64.so.1",
    "/lib/ld-linux-armhf.so.3",        "/lib/ld-musl-x86_64.so.1",
    "/lib/ld-musl-aarch64.so.1",       "/lib/ld-musl-armhf.so.1",
    "/lib/ld-musl-i386.so.1",          "/lib64/ld64.so.2",
    "/lib/ld-linux-riscv64-lp64d.so.1"};

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

// The interpreters named by the first ELF files of one host directory.
void read_directory(int host_root, const char* directory, std::vector<std::string>& out) {
  WalkResult walked = walk_path(host_root, host_root, "/", directory);
  auto* found = std::get_if<WalkedPath>(&walked);
  if (!found) return;
  const int fd = ::openat(found->file.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  const std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd));
  if (!dir) {
    ::close(fd);
    return;
  }
  std::size_t elf_files = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    if (entry->d_type != DT_REG && entry->d_type != DT_UNKNOWN) continue;
    const FileDescriptor file(
        ::openat(fd, entry->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file) continue;
    struct stat st {};
    if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const ElfFacts facts = read_elf_file(file.get());
    if (facts.kind == ElfFacts::Kind::kNotElf) continue;
    if (facts.kind == ElfFacts::Kind::kDynamic &&
        std::find(out.begin(), out.end(), facts.interpreter) == out.end())
      out.push_back(facts.interpreter);
    if (++elf_files == HostLoaders::kFilesPerDirectory) break;
  }
}

}  // namespace

HostLoaders HostLoaders::scan(int host_root) {
  std::vector<std::string> interpreters;
  for (const char* directory : kBinaryDirectories)
    read_directory(host_root, directory, interpreters);
  for (const char* usual : kUsualLoaders)
    if (std::find(interpreters.begin(), interpreters.end(), usual) == interpreters.end())
      interpreters.emplace_back(usual);
  HostLoaders loaders;
  for (const std::string& interpreter : interpreters)
    loaders.add_interpreter(host_root, interpreter);
  return loaders;
}

void HostLoaders::add_interpreter(int host_root, const std::string& interpreter) {
  if (loaders_.size() == kMaxLoaders || interpreter.empty() || interpreter.front() != '/') return;
  WalkResult walked = walk_path(host_root, host_root, "/", interpreter);
  auto* found = std::get_if<WalkedPath>(&walked);
  if (!found || !S_ISREG(found->facts.mode)) return;
  interpreters_.push_back(interpreter);
  if (find(found->facts.dev, found->facts.ino)) return;  // another name of one we have
  loaders_.push_back({found->path, found->facts});
}

bool HostLoaders::is_loader_path(std::string_view host_path) const {
  return std::any_of(loaders_.begin(), loaders_.end(),
                     [&](const HostLoader& loader) { return loader.path == host_path; });
}

const HostLoader* HostLoaders::find(std::uint32_t dev, std::uint64_t ino) const {
  for (const HostLoader& loader : loaders_)
    if (loader.facts.dev == dev && loader.facts.ino == ino) return &loader;
  return nullptr;
}

}  // namespace execmond
