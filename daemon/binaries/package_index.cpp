// SPDX-License-Identifier: Apache-2.0
#include "binaries/package_index.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace execmond {
namespace {

std::string_view parent_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

}  // namespace

PackageIndex::Lookup PackageIndex::find(std::string_view host_path, const Md5* md5) const {
  Lookup lookup;
  const std::uint64_t key = keyer_(host_path);
  auto at = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& e, std::uint64_t k) { return e.key < k; });
  for (; at != entries_.end() && at->key == key; ++at) {
    if (lookup.package.empty()) lookup.package = packages_[at->package];
    if (!at->has_md5) {
      if (lookup.ownership == Ownership::not_owned)
        lookup.ownership = Ownership::owned_without_checksum;
      continue;
    }
    lookup.ownership = Ownership::owned;
    if (md5 != nullptr && at->md5 == *md5 && !lookup.matches) {
      lookup.matches = true;
      lookup.package = packages_[at->package];
    }
  }
  return lookup;
}

bool PackageIndex::in_package_directory(std::string_view host_path) const {
  return std::binary_search(directories_.begin(), directories_.end(), keyer_(parent_of(host_path)));
}

PackageIndex::Stats PackageIndex::stats() const {
  Stats stats;
  stats.packages = packages_.size();
  for (const Entry& entry : entries_) (entry.has_md5 ? stats.files : stats.unchecked) += 1;
  stats.directories = directories_.size();
  stats.bytes = entries_.capacity() * sizeof(Entry) +
                directories_.capacity() * sizeof(std::uint64_t) +
                packages_.capacity() * sizeof(std::string);
  for (const std::string& name : packages_) stats.bytes += name.capacity() + 1;
  return stats;
}

PackageIndex::Builder::Builder(std::string manager, PathKeyer keyer) : index_(keyer) {
  index_.manager_ = std::move(manager);
}

std::uint32_t PackageIndex::Builder::package(std::string_view name) {
  const auto [at, added] =
      package_ids_.emplace(std::string(name), static_cast<std::uint32_t>(index_.packages_.size()));
  if (added) index_.packages_.emplace_back(name);
  return at->second;
}

void PackageIndex::Builder::add_file(std::string_view host_path, std::uint32_t package,
                                     const std::optional<Md5>& md5) {
  Entry entry{index_.keyer_(host_path), package, md5.has_value(), md5.value_or(Md5{})};
  if (!md5) {
    unchecked_.push_back(entry);
    return;
  }
  index_.entries_.push_back(entry);
  index_.directories_.push_back(index_.keyer_(parent_of(host_path)));
}

void PackageIndex::Builder::add_owned(std::string_view host_path, std::uint32_t package) {
  unchecked_.push_back(Entry{index_.keyer_(host_path), package, 0, Md5{}});
}

PackageIndex PackageIndex::Builder::build() {
  auto& entries = index_.entries_;
  const auto order = [](const Entry& a, const Entry& b) {
    return std::tie(a.key, a.package, a.has_md5, a.md5) <
           std::tie(b.key, b.package, b.has_md5, b.md5);
  };
  const auto same = [](const Entry& a, const Entry& b) {
    return a.key == b.key && a.package == b.package && a.has_md5 == b.has_md5 && a.md5 == b.md5;
  };
  std::sort(entries.begin(), entries.end(), order);
  // A path a package lists without a checksum for it (a symlink, a file of a package
  // built without md5sums) is owned all the same.
  const std::size_t checked = entries.size();
  for (const Entry& entry : unchecked_) {
    const auto has_checksum =
        std::binary_search(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(checked),
                           entry, [](const Entry& a, const Entry& b) {
                             return std::tie(a.key, a.package) < std::tie(b.key, b.package);
                           });
    if (!has_checksum) entries.push_back(entry);
  }
  unchecked_.clear();
  unchecked_.shrink_to_fit();
  std::sort(entries.begin(), entries.end(), order);
  entries.erase(std::unique(entries.begin(), entries.end(), same), entries.end());
  entries.shrink_to_fit();
  auto& directories = index_.directories_;
  std::sort(directories.begin(), directories.end());
  directories.erase(std::unique(directories.begin(), directories.end()), directories.end());
  directories.shrink_to_fit();
  package_ids_.clear();
  return std::move(index_);
}

}  // namespace execmond
