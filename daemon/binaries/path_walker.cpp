// SPDX-License-Identifier: Apache-2.0
#include "binaries/path_walker.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

namespace execmond {
namespace {

bool same_file(const FileFacts& a, const FileFacts& b) {
  return a.dev == b.dev && a.ino == b.ino && a.mount_id == b.mount_id;
}

std::vector<std::string> components_of(std::string_view path) {
  std::vector<std::string> components;
  for (std::size_t at = 0; at < path.size();) {
    const std::size_t slash = path.find('/', at);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view component = path.substr(at, end - at);
    if (!component.empty() && component != ".") components.emplace_back(component);
    at = end + 1;
  }
  return components;
}

// One text still to walk: the path, or a symbolic link's target pushed on top of it.
struct Frame {
  std::string text;
  std::size_t at = 0;
};

class Walk {
 public:
  Walk(int root, FileFacts root_facts) : root_(root), root_facts_(root_facts) {}

  // Starts at `dir` (a descriptor of ours to duplicate), named `components` from root.
  bool start_at(int dir, std::vector<std::string> components) {
    current_ = FileDescriptor(::openat(dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!current_) return false;
    const std::optional<FileFacts> facts = file_facts(current_.get());
    if (!facts) return false;
    facts_ = *facts;
    components_ = std::move(components);
    return true;
  }

  WalkResult run(std::string_view path) {
    frames_.push_back({std::string(path), 0});
    while (!frames_.empty()) {
      Frame& frame = frames_.back();
      if (frame.at == 0 && !frame.text.empty() && frame.text.front() == '/') {
        if (!start_at(root_, {})) return errno ? errno : EACCES;
      }
      // The next component of this frame.
      while (frame.at < frame.text.size() && frame.text[frame.at] == '/') ++frame.at;
      if (frame.at == frame.text.size()) {
        frames_.pop_back();
        continue;
      }
      const std::size_t end = std::min(frame.text.find('/', frame.at), frame.text.size());
      const std::string name = frame.text.substr(frame.at, end - frame.at);
      frame.at = end;
      // Every component is looked up in a directory (link_path_walk: ENOTDIR).
      if (!S_ISDIR(facts_.mode)) return ENOTDIR;
      if (name == ".") continue;
      if (const int error = name == ".." ? up() : down(name)) return error;
    }
    WalkedPath walked;
    walked.file = std::move(current_);
    walked.facts = facts_;
    for (const std::string& component : components_) walked.path += "/" + component;
    if (walked.path.empty()) walked.path = "/";
    return walked;
  }

  // A trailing slash asks for a directory.
  static bool wants_directory(std::string_view path) { return path.back() == '/'; }

 private:
  int up() {
    if (same_file(facts_, root_facts_)) return 0;  // ".." at the root is the root
    if (components_.empty()) return EXDEV;         // above a root it never passed
    FileDescriptor parent(::openat(current_.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!parent) return errno;
    const std::optional<FileFacts> facts = file_facts(parent.get());
    if (!facts) return errno;
    current_ = std::move(parent);
    facts_ = *facts;
    components_.pop_back();
    return 0;
  }

  int down(const std::string& name) {
    if (name.size() > kNameMax) return ENAMETOOLONG;
    FileDescriptor child(::openat(current_.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!child) return errno;
    const std::optional<FileFacts> facts = file_facts(child.get());
    if (!facts) return errno;
    if (!S_ISLNK(facts->mode)) {
      current_ = std::move(child);
      facts_ = *facts;
      components_.push_back(name);
      return 0;
    }
    if (++links_ > kMaxSymlinks) return ELOOP;
    struct statfs fs {};
    if (::fstatfs(child.get(), &fs) != 0) return errno;
    if (fs.f_type == PROC_SUPER_MAGIC) return EXDEV;  // a magic link: its text is not its target
    std::optional<std::string> target = read_link(child.get(), "");
    if (!target) return errno ? errno : ENAMETOOLONG;
    if (target->empty()) return ENOENT;
    // The target is walked from the link's directory (or the root), then the rest.
    frames_.push_back({std::move(*target), 0});
    return 0;
  }

  int root_;
  FileFacts root_facts_;
  FileDescriptor current_;
  FileFacts facts_;
  std::vector<std::string> components_;
  std::vector<Frame> frames_;
  int links_ = 0;
};

}  // namespace

WalkResult walk_path(int root, int start, std::string_view start_path, std::string_view path) {
  if (path.empty()) return ENOENT;
  if (path.size() >= kPathMax) return ENAMETOOLONG;
  const std::optional<FileFacts> root_facts = file_facts(root);
  if (!root_facts) return errno;
  Walk walk(root, *root_facts);
  const bool started = path.front() == '/' ? walk.start_at(root, {})
                                           : walk.start_at(start, components_of(start_path));
  if (!started) return errno ? errno : EACCES;
  WalkResult result = walk.run(path);
  if (auto* walked = std::get_if<WalkedPath>(&result)) {
    if (Walk::wants_directory(path) && !S_ISDIR(walked->facts.mode)) return ENOTDIR;
  }
  return result;
}

}  // namespace execmond
