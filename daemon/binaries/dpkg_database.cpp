// SPDX-License-Identifier: Apache-2.0
#include "binaries/dpkg_database.h"

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "binaries/dpkg_parsers.h"
#include "binaries/host_path_canonicalizer.h"
#include "binaries/host_root.h"

namespace execmond {
namespace {

constexpr const char* kInfo = "/var/lib/dpkg/info";
constexpr const char* kDiversions = "/var/lib/dpkg/diversions";
constexpr const char* kStatus = "/var/lib/dpkg/status";
constexpr const char* kUpdates = "/var/lib/dpkg/updates";
constexpr const char* kLocks[] = {"/var/lib/dpkg/lock", "/var/lib/dpkg/lock-frontend"};

struct DirectoryCloser {
  void operator()(DIR* directory) const { ::closedir(directory); }
};

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

[[noreturn]] void fail(const std::string& what, int error) {
  throw PackageDatabaseError(what + ": " + std::strerror(error));
}

std::string read_or_fail(int root_fd, const char* path, PackageDatabase::LoadStats& stats) {
  std::string text;
  if (!read_file_in_root(root_fd, path, DpkgDatabase::kMaxFileBytes, text)) fail(path, errno);
  ++stats.files_read;
  stats.bytes_read += text.size();
  return text;
}

// Where dpkg put a package's file: `path`, unless another package (or the admin,
// `dpkg-divert --local`) diverted it; `dpkg-divert --rename` moved it there too.
class Diversions {
 public:
  void add(dpkg::Diversion&& diversion) {
    std::string from = diversion.from;
    by_path_.emplace(std::move(from), std::move(diversion));
  }
  std::string_view place(std::string_view path, std::string_view package) const {
    if (by_path_.empty()) return path;
    const auto found = by_path_.find(std::string(path));
    if (found == by_path_.end()) return path;
    const dpkg::Diversion& diversion = found->second;
    return diversion.local() || diversion.by != package ? std::string_view(diversion.to) : path;
  }

 private:
  std::unordered_map<std::string, dpkg::Diversion> by_path_;
};

// The names in info/ with one of the suffixes, sorted (a stable load order).
std::vector<std::string> info_files(int info_fd) {
  const int listing = ::dup(info_fd);
  if (listing < 0) fail(kInfo, errno);
  std::unique_ptr<DIR, DirectoryCloser> directory(::fdopendir(listing));
  if (!directory) {
    const int error = errno;
    ::close(listing);
    fail(kInfo, error);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(directory.get())) {
    const std::string_view name = entry->d_name;
    if (!ends_with(name, ".md5sums") && !ends_with(name, ".list")) continue;
    if (names.size() >= DpkgDatabase::kMaxInfoFiles) {
      throw PackageDatabaseError(std::string(kInfo) + ": more than " +
                                 std::to_string(DpkgDatabase::kMaxInfoFiles) + " files");
    }
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_info_file(int info_fd, const std::string& name,
                           PackageDatabase::LoadStats& stats) {
  const FileDescriptor fd(
      ::openat(info_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  std::string text;
  if (!fd) fail(std::string(kInfo) + "/" + name, errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail(std::string(kInfo) + "/" + name, errno);
  if (!S_ISREG(info.st_mode) ||
      static_cast<std::size_t>(info.st_size) > DpkgDatabase::kMaxFileBytes)
    fail(std::string(kInfo) + "/" + name, EFBIG);
  text.resize(static_cast<std::size_t>(info.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::string(kInfo) + "/" + name, errno);
    if (n == 0) break;  // shortened while read (dpkg rewrote it): what was there
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  ++stats.files_read;
  stats.bytes_read += got;
  return text;
}

}  // namespace

bool DpkgDatabase::present(int root_fd) const {
  const FileDescriptor info(open_in_root(root_fd, kInfo, O_RDONLY | O_DIRECTORY));
  return static_cast<bool>(info);
}

std::vector<std::string> DpkgDatabase::watched_directories() const {
  return {kInfo, "/var/lib/dpkg", kUpdates};
}

PackageIndex DpkgDatabase::load(int root_fd, LoadStats& stats) const {
  const auto started = std::chrono::steady_clock::now();
  PackageIndex index = read_database(root_fd, stats);
  // The parse's garbage (texts, names, the directory map) goes back to the system, not
  // only to malloc's free lists: the daemon keeps the index alone.
  ::malloc_trim(0);
  stats.duration = std::chrono::steady_clock::now() - started;
  return index;
}

PackageIndex DpkgDatabase::read_database(int root_fd, LoadStats& stats) const {
  Diversions diversions;
  {
    std::string text;
    if (read_file_in_root(root_fd, kDiversions, kMaxFileBytes, text)) {
      ++stats.files_read;
      stats.bytes_read += text.size();
      std::vector<dpkg::Diversion> parsed;
      stats.malformed_lines += dpkg::parse_diversions(text, parsed).malformed;
      for (auto& diversion : parsed) diversions.add(std::move(diversion));
    } else if (errno != ENOENT) {
      fail(kDiversions, errno);
    }
  }
  const FileDescriptor info(open_in_root(root_fd, kInfo, O_RDONLY | O_DIRECTORY));
  if (!info) fail(kInfo, errno);

  HostPathCanonicalizer canonicalizer(root_fd);
  PackageIndex::Builder builder("dpkg");
  std::unordered_set<std::string_view> parents, unchecked;
  const std::vector<std::string> names = info_files(info.get());
  // Sorted, a package's .list and .md5sums are neighbours (almost always: "foo.list" <
  // "foo.lzma.list" < "foo.md5sums" splits them, which costs time, not correctness: the
  // builder drops an unchecked entry that has a checksum). Read together, a listed
  // file with a checksum is named once, not twice.
  for (std::size_t at = 0; at < names.size();) {
    const std::string_view package_name = dpkg::package_of_info_file(names[at]);
    const std::string stem = names[at].substr(0, names[at].rfind('.'));
    std::string list, sums;
    for (; at < names.size() && names[at].compare(0, names[at].rfind('.'), stem) == 0; ++at) {
      (ends_with(names[at], ".list") ? list : sums) = read_info_file(info.get(), names[at], stats);
    }
    const std::uint32_t package = builder.package(package_name);
    // .list: ownership. A directory is listed before what it holds; the other entries
    // are files and symlinks, owned even when the package recorded no checksum.
    parents.clear();
    unchecked.clear();
    stats.malformed_lines += dpkg::parse_list(list, [&](std::string_view path) {
                               parents.insert(path.substr(0, path.rfind('/')));
                             }).malformed;
    dpkg::parse_list(list, [&](std::string_view path) {
      if (parents.count(path) == 0) unchecked.insert(path);
    });
    stats.malformed_lines +=
        dpkg::parse_md5sums(sums, [&](const Md5& md5, std::string_view path) {
          unchecked.erase(path);
          builder.add_file(canonicalizer.canonical(diversions.place(path, package_name)), package,
                           md5);
        }).malformed;
    for (const std::string_view path : unchecked)
      builder.add_owned(canonicalizer.canonical(diversions.place(path, package_name)), package);
  }
  // Conffiles (/etc/cron.daily/*, /etc/kernel/postinst.d/*): their checksums are in
  // status alone.
  const std::string status = read_or_fail(root_fd, kStatus, stats);
  stats.malformed_lines +=
      dpkg::parse_status_conffiles(status, [&](const dpkg::Conffile& conffile) {
        builder.add_file(canonicalizer.canonical(diversions.place(conffile.path, conffile.package)),
                         builder.package(conffile.package), conffile.md5);
      }).malformed;
  stats.path_lookups = canonicalizer.lookups();
  return builder.build();
}

bool DpkgDatabase::busy(int root_fd) const {
  for (const char* lock_path : kLocks) {
    const FileDescriptor lock(open_in_root(root_fd, lock_path, O_RDONLY | O_NONBLOCK));
    if (!lock) continue;
    struct flock query {};
    query.l_type = F_WRLCK;
    query.l_whence = SEEK_SET;
    // Asks who would block a write lock on the whole file, taking none.
    if (::fcntl(lock.get(), F_GETLK, &query) == 0 && query.l_type != F_UNLCK) return true;
  }
  const FileDescriptor updates(open_in_root(root_fd, kUpdates, O_RDONLY | O_DIRECTORY));
  if (!updates) return false;
  std::unique_ptr<DIR, DirectoryCloser> directory(::fdopendir(::dup(updates.get())));
  if (!directory) return false;
  while (const dirent* entry = ::readdir(directory.get())) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) return true;
  }
  return false;
}

std::vector<std::unique_ptr<PackageDatabase>> known_package_databases() {
  std::vector<std::unique_ptr<PackageDatabase>> databases;
  databases.push_back(std::make_unique<DpkgDatabase>());
  return databases;
}

}  // namespace execmond
