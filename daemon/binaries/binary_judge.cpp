// SPDX-License-Identifier: Apache-2.0
#include "binaries/binary_judge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "binaries/loader_arguments.h"
#include "binaries/path_walker.h"
#include "binaries/process_view.h"

namespace execmond {
namespace {

std::uint64_t clock_ns(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + now.tv_nsec;
}

template <std::size_t N>
std::string_view field(const char (&bytes)[N]) {
  return {bytes, strnlen(bytes, N)};
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

FileVerdict unexpected(UnexpectedReason reason, std::string_view name, bool cacheable) {
  return {false, false, reason, std::string(name), cacheable};
}

// ld-linux-x86-64.so.2, ld-linux.so.2, ld-musl-x86_64.so.1, ld64.so.2, ld.so.1: names
// only a loader has. A file so named is judged as a loader (its arguments read), never
// more leniently.
bool named_like_a_loader(std::string_view path) {
  const std::string_view name = base_name(path);
  return name.substr(0, 8) == "ld-linux" || name.substr(0, 8) == "ld-musl-" ||
         name.substr(0, 6) == "ld64.s" || name.substr(0, 5) == "ld.so";
}

// The interpreter line of a script file: "#!/bin/sh -e" -> "/bin/sh"; nullopt when the
// file does not start with "#!" (binfmt_misc gave the handler some other file).
std::optional<std::string> interpreter_line(int file) {
  // An O_PATH descriptor is opened for reading again through its /proc/self/fd link.
  const std::string link = "/proc/self/fd/" + std::to_string(file);
  const FileDescriptor readable(::open(link.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  char head[256] = {};
  const int fd = readable ? readable.get() : -1;
  const ssize_t got = fd >= 0 ? ::pread(fd, head, sizeof(head) - 1, 0) : -1;
  if (got < 2 || head[0] != '#' || head[1] != '!') return std::nullopt;
  std::string_view line(head + 2, static_cast<std::size_t>(got) - 2);
  line = line.substr(0, line.find('\n'));
  const std::size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) return std::string();
  line = line.substr(start);
  return std::string(line.substr(0, line.find_first_of(" \t")));
}

// "/dev/fd/3/../x" -> {3, "../x"}; "/dev/fd/3" -> {3, ""}: how fs/exec.c names the file
// of an execveat() relative to a descriptor, or of fexecve().
struct DescriptorPath {
  int fd;
  std::string_view rest;
};
std::optional<DescriptorPath> descriptor_path(std::string_view given) {
  constexpr std::string_view kPrefix = "/dev/fd/";
  if (given.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = given.substr(kPrefix.size());
  int fd = 0;
  std::size_t digits = 0;
  while (digits < rest.size() && digits < 9 && rest[digits] >= '0' && rest[digits] <= '9')
    fd = fd * 10 + (rest[digits++] - '0');
  if (digits == 0 || (digits < rest.size() && rest[digits] != '/')) return std::nullopt;
  rest = rest.substr(digits);
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return DescriptorPath{fd, rest};
}

}  // namespace

std::string_view method_name(ResolutionMethod method) {
  switch (method) {
    case ResolutionMethod::kNone:
      return "none";
    case ResolutionMethod::kKernelHook:
      return "kernel hook";
    case ResolutionMethod::kProcessWalk:
      return "walk through /proc/PID";
    case ResolutionMethod::kHostWalk:
      return "walk from the host root";
    case ResolutionMethod::kUnresolved:
      return "unresolved";
  }
  return "none";
}

// A path resolved as the process resolved it, and where.
struct BinaryJudge::Resolved {
  bool found = false;
  UnexpectedReason failure = UnexpectedReason::kUnverified;
  ResolutionMethod method = ResolutionMethod::kUnresolved;
  WalkedPath walked;
  std::optional<FilesystemLocation> location;
  std::optional<ProcessView> process;  // kProcessWalk
  MountTable table;                    // the process's (kProcessWalk)
  int root = -1;
  int cwd = -1;
  std::string cwd_path;
  FileDescriptor host_cwd;  // kHostWalk
};

// The device of the superblock a walked file is on, as the kernel's records carry it.
// statx reports another on overlayfs (a layer's pseudo-device when the layers are on
// different filesystems) and on btrfs (a subvolume's): the mount the file was reached
// through always names the superblock's.
std::uint32_t BinaryJudge::superblock_dev(const Resolved& resolved, const FileFacts& facts) const {
  const MountTable& table =
      resolved.method == ResolutionMethod::kProcessWalk ? resolved.table : host_.mounts().current();
  const MountEntry* mount = table.by_id(static_cast<std::uint32_t>(facts.mount_id));
  return mount ? mount->dev : facts.dev;
}

BinaryJudge::BinaryJudge(HostPaths& host, const HostLoaders& loaders, Clock realtime,
                         Clock boottime)
    : host_(host),
      loaders_(loaders),
      realtime_(realtime ? std::move(realtime) : [] { return clock_ns(CLOCK_REALTIME); }),
      boottime_(boottime ? std::move(boottime) : [] { return clock_ns(CLOCK_BOOTTIME); }) {}

ExecContext BinaryJudge::context_of(const execmond_exec_context& ctx) {
  ExecContext context;
  context.euid = ctx.euid;
  context.egid = ctx.egid;
  context.userns_level = ctx.userns_level;
  context.userns_owner = ctx.userns_owner;
  context.mntns = ctx.mntns;
  context.userns = ctx.flags & EXECMOND_CTX_USERNS;
  context.userns_unprivileged = ctx.flags & EXECMOND_CTX_USERNS_UNPRIVILEGED;
  context.mntns_not_hosts = ctx.flags & EXECMOND_CTX_MNTNS;
  context.chroot = ctx.flags & EXECMOND_CTX_CHROOT;
  return context;
}

std::uint64_t BinaryJudge::exec_realtime_ns(const execmond_binary_event& e) const {
  const std::uint64_t boot_now = boottime_();
  const std::uint64_t ago = boot_now > e.hdr.timestamp_ns ? boot_now - e.hdr.timestamp_ns : 0;
  const std::uint64_t real_now = realtime_();
  return real_now > ago ? real_now - ago : 0;
}

FileVerdict BinaryJudge::by_name(std::string_view name) const {
  const bool allowed = !allow_list_ || allow_list_->allows(name);
  return {allowed, false, UnexpectedReason::kNotAllowed, std::string(name), true};
}

FileVerdict BinaryJudge::judge_executable(const execmond_binary_event& e, JudgingView view) {
  const std::uint32_t flags = e.binary_flags;
  const std::string_view process_path = field(e.path);
  const bool settled_version = settled(e.binary.ctime_ns);
  // No honest name, whatever the patterns say: these are facts of the identity.
  if (flags & EXECMOND_BINARY_MEMFD)
    return unexpected(UnexpectedReason::kMemfd, process_path, settled_version);
  if (flags & EXECMOND_BINARY_DELETED)
    return unexpected(UnexpectedReason::kDeleted, process_path, settled_version);
  if (view == JudgingView::kProcess) {
    if (flags & EXECMOND_BINARY_PATH_TRUNCATED)
      return unexpected(UnexpectedReason::kTruncated, process_path, settled_version);
    // Not reachable from the container's own root: it has no name there.
    if (flags & EXECMOND_BINARY_UNREACHABLE)
      return unexpected(UnexpectedReason::kPrivateMount, process_path, settled_version);
    FileVerdict verdict = by_name(process_path);
    verdict.cacheable = settled_version;
    return verdict;
  }
  if (flags & EXECMOND_BINARY_FS_PATH_TRUNCATED)
    return unexpected(UnexpectedReason::kTruncated, process_path, settled_version);
  const ExecContext context = context_of(e.ctx);
  // The process's own name is the host's too when it shares the host's mounts and root.
  const bool host_like = !context.mntns_not_hosts && !context.chroot &&
                         !(flags & (EXECMOND_BINARY_UNREACHABLE | EXECMOND_BINARY_PATH_TRUNCATED));
  const HostName named = host_.name(e.binary.dev, e.binary.ino, field(e.fs_path),
                                    host_like ? process_path : std::string_view());
  switch (named.status) {
    case HostName::Status::kVisible: {
      FileVerdict verdict = by_name(named.path);
      verdict.cacheable = settled_version;
      return verdict;
    }
    case HostName::Status::kNotVisible:
      return unexpected(UnexpectedReason::kPrivateMount, process_path, settled_version);
    case HostName::Status::kUnverified:
      break;
  }
  // Renamed or replaced since: judged again at its next exec.
  return unexpected(UnexpectedReason::kUnverified, process_path, false);
}

bool BinaryJudge::is_loader(const execmond_binary_event& e, JudgingView view,
                            const FileVerdict& executable) const {
  if (e.binary_flags & EXECMOND_BINARY_LOADER) return true;
  if (view == JudgingView::kHost &&
      (loaders_.find(e.binary.dev, e.binary.ino) || loaders_.is_loader_path(executable.name)))
    return true;
  return named_like_a_loader(executable.name) || named_like_a_loader(field(e.path));
}

BinaryJudge::Resolved BinaryJudge::resolve(const execmond_binary_event& e,
                                           const ExecContext& context, JudgingView view,
                                           std::string_view given) const {
  Resolved resolved;
  if (given.empty()) return resolved;
  const bool relative = given.front() != '/';
  const bool cwd_known = !(e.ctx.flags & EXECMOND_CTX_CWD_TRUNCATED) && e.cwd[0] == '/';
  const std::string record_cwd = cwd_known ? std::string(field(e.cwd)) : std::string();
  if (relative && !cwd_known) return resolved;  // relative to a directory not known

  resolved.process = ProcessView::open(static_cast<int>(e.hdr.pid), e.hdr.timestamp_ns);
  if (resolved.process) {
    ProcessView& process = *resolved.process;
    // The same mount namespace and root as at the exec, and for a relative path the
    // same working directory: else what the walk finds is not what the kernel did.
    if (process.mount_namespace() != context.mntns || process.chrooted() != context.chroot)
      return resolved;
    if (relative && process.cwd_path() != record_cwd) return resolved;
    resolved.method = ResolutionMethod::kProcessWalk;
    resolved.root = process.root();
    resolved.cwd = process.cwd();
    resolved.cwd_path = process.cwd_path().value_or("/");
    resolved.table = process.mounts();
  } else if (view == JudgingView::kHost && !context.mntns_not_hosts && !context.chroot) {
    // Gone, but its view was the host's own: the same walk from the host's root.
    resolved.method = ResolutionMethod::kHostWalk;
    resolved.root = host_.root();
    resolved.cwd_path = relative ? record_cwd : "/";
    WalkResult cwd = walk_path(resolved.root, resolved.root, "/", resolved.cwd_path);
    auto* found = std::get_if<WalkedPath>(&cwd);
    if (!found) {
      resolved.method = ResolutionMethod::kUnresolved;
      return resolved;
    }
    resolved.host_cwd = std::move(found->file);
    resolved.cwd = resolved.host_cwd.get();
  } else {
    return resolved;  // its namespace is not the host's and it is gone
  }
  WalkResult walked = ENOENT;
  if (const std::optional<DescriptorPath> through = descriptor_path(given)) {
    // execveat(fd, "path") and fexecve() name /dev/fd/N: the process's descriptor N,
    // while it lives and keeps it open.
    std::optional<ProcessView::Descriptor> dir =
        resolved.process ? resolved.process->descriptor(through->fd) : std::nullopt;
    if (!dir || !dir->name) return resolved;
    if (through->rest.empty()) {
      const std::optional<FileFacts> facts = file_facts(dir->file.get());
      if (!facts) return resolved;
      walked = WalkedPath{std::move(dir->file), *facts, *dir->name};
    } else {
      walked = walk_path(resolved.root, dir->file.get(), *dir->name, through->rest);
    }
  } else {
    walked = walk_path(resolved.root, resolved.cwd, resolved.cwd_path, given);
  }
  auto* found = std::get_if<WalkedPath>(&walked);
  if (!found) return resolved;
  resolved.walked = std::move(*found);
  // Which filesystem, and where in it: from the process's own mount table, which
  // leaves out every mount outside its root. In the host's mount namespace the host's
  // table has them all, with names from the namespace's root.
  if (resolved.method == ResolutionMethod::kHostWalk || !context.mntns_not_hosts) {
    std::string from_namespace_root = resolved.walked.path;
    if (resolved.method == ResolutionMethod::kProcessWalk && resolved.process->chrooted())
      from_namespace_root = join_mount_path(resolved.process->root_name(), resolved.walked.path);
    resolved.location = filesystem_location(host_.mounts().current(),
                                            resolved.walked.facts.mount_id, from_namespace_root);
  } else {
    resolved.location =
        filesystem_location(resolved.table, resolved.walked.facts.mount_id, resolved.walked.path);
  }
  resolved.found = resolved.location.has_value();
  return resolved;
}

FileVerdict BinaryJudge::name_resolved(const Resolved& resolved, const ExecContext& context,
                                       JudgingView view) const {
  if (!resolved.found) return unexpected(resolved.failure, "", false);
  if (view == JudgingView::kProcess) {
    FileVerdict verdict = by_name(resolved.walked.path);
    verdict.cacheable = false;
    return verdict;
  }
  const bool host_like = !context.mntns_not_hosts && !context.chroot;
  const HostName named =
      host_.name(resolved.location->dev, resolved.walked.facts.ino, resolved.location->fs_path,
                 host_like ? std::string_view(resolved.walked.path) : std::string_view());
  switch (named.status) {
    case HostName::Status::kVisible: {
      FileVerdict verdict = by_name(named.path);
      verdict.cacheable = false;
      return verdict;
    }
    case HostName::Status::kNotVisible:
      return unexpected(UnexpectedReason::kPrivateMount, resolved.walked.path, false);
    case HostName::Status::kUnverified:
      break;
  }
  return unexpected(UnexpectedReason::kUnverified, resolved.walked.path, false);
}

void BinaryJudge::judge_script(const execmond_binary_event& e, const ExecContext& context,
                               JudgingView view, ExecVerdict& verdict) {
  verdict.script = true;
  const std::string_view given = field(e.script_path);
  if (e.binary_flags & EXECMOND_BINARY_SCRIPT_TRUNCATED) {
    verdict.method = e.binary_flags & EXECMOND_BINARY_SCRIPT_SEEN ? ResolutionMethod::kKernelHook
                                                                  : ResolutionMethod::kUnresolved;
    verdict.script_file = unexpected(UnexpectedReason::kTruncated, given, false);
    return;
  }
  if (e.binary_flags & EXECMOND_BINARY_SCRIPT_SEEN) {
    // The kernel's own identity of the script's file: named like any file.
    verdict.method = ResolutionMethod::kKernelHook;
    if (view == JudgingView::kHost) {
      const HostName named = host_.name(e.script.dev, e.script.ino, given);
      if (named.status == HostName::Status::kVisible) {
        verdict.script_file = by_name(named.path);
      } else {
        verdict.script_file = unexpected(named.status == HostName::Status::kNotVisible
                                             ? UnexpectedReason::kPrivateMount
                                             : UnexpectedReason::kUnverified,
                                         given, false);
      }
    } else {
      // The container's name of it: its mounts, checked in its root.
      std::optional<ProcessView> process =
          ProcessView::open(static_cast<int>(e.hdr.pid), e.hdr.timestamp_ns);
      const HostName named =
          process ? name_in(process->mounts(), process->root(), e.script.dev, e.script.ino, given)
                  : HostName{HostName::Status::kUnverified, {}};
      verdict.script_file = named.status == HostName::Status::kVisible
                                ? by_name(named.path)
                                : unexpected(UnexpectedReason::kUnverified, given, false);
    }
    verdict.script_file.cacheable = false;
    return;
  }
  Resolved resolved = resolve(e, context, view, given);
  verdict.method = resolved.method;
  if (!resolved.found) {
    verdict.method = ResolutionMethod::kUnresolved;
    verdict.script_file = unexpected(UnexpectedReason::kUnverified, given, false);
    return;
  }
  // The file found must be the one the kernel read: a regular file, unchanged since the
  // exec, and (a #! script) naming the interpreter that really runs.
  const FileFacts& facts = resolved.walked.facts;
  bool same_file = S_ISREG(facts.mode) && facts.ctime_ns <= exec_realtime_ns(e);
  if (same_file) {
    if (const std::optional<std::string> interpreter =
            interpreter_line(resolved.walked.file.get())) {
      WalkResult walked = walk_path(resolved.root, resolved.cwd, resolved.cwd_path, *interpreter);
      const auto* found = std::get_if<WalkedPath>(&walked);
      same_file = found && found->facts.ino == e.binary.ino &&
                  superblock_dev(resolved, found->facts) == e.binary.dev;
    }
  }
  verdict.script_file =
      same_file ? name_resolved(resolved, context, view)
                : unexpected(UnexpectedReason::kUnverified, resolved.walked.path, false);
}

void BinaryJudge::judge_loader_program(const execmond_binary_event& e, const ExecContext& context,
                                       JudgingView view, ExecVerdict& verdict) {
  verdict.loader = true;
  std::string args;
  bool truncated = false;
  if (e.binary_flags & EXECMOND_BINARY_LOADER) {
    args.assign(e.args, std::min<std::size_t>(e.args_size, sizeof(e.args)));
    truncated = e.ctx.flags & EXECMOND_CTX_ARGS_TRUNCATED;
  } else if (std::optional<ProcessView> process =
                 ProcessView::open(static_cast<int>(e.hdr.pid), e.hdr.timestamp_ns)) {
    // A loader the kernel did not know yet: its argv is still the process's own.
    args = process->command_line(EXECMOND_LOADER_ARGS_LEN, truncated);
  } else {
    truncated = true;  // gone, argv unknown
  }
  const LoaderRun run =
      parse_loader_arguments(loader_family(verdict.executable.name), args, truncated);
  const auto refuse = [&](std::string_view name, std::string note) {
    verdict.program = unexpected(UnexpectedReason::kLoader, name, false);
    verdict.loader_note = std::move(note);
  };
  switch (run.kind) {
    case LoaderRun::Kind::kNoProgram:
      verdict.loader_note = "runs no program";
      return;
    case LoaderRun::Kind::kUndetermined:
      return refuse(verdict.executable.name, "its arguments were cut before the program");
    case LoaderRun::Kind::kProgram:
      break;
  }
  verdict.program_given = std::string(run.program);
  // Libraries it preloads or audits run code too.
  for (const std::string_view library : run.libraries) {
    if (library.find('/') == std::string_view::npos) {
      if (run.library_path) return refuse(library, "a library searched in --library-path");
      continue;  // the system's search path, as for any program's libraries
    }
    Resolved resolved = resolve(e, context, view, library);
    FileVerdict named = name_resolved(resolved, context, view);
    if (!named.allowed)
      return refuse(named.name.empty() ? library : named.name, "a library it loads");
  }
  if (run.maps_only) {
    verdict.loader_note = "maps the program without running it";
    return;
  }
  if (run.program.find('/') == std::string_view::npos &&
      loader_family(verdict.executable.name) == LoaderFamily::kGlibc)
    return refuse(run.program, "a program searched in the library path");
  Resolved resolved = resolve(e, context, view, run.program);
  verdict.method = resolved.method;
  FileVerdict named = name_resolved(resolved, context, view);
  if (named.name.empty()) named.name = std::string(run.program);
  if (!named.allowed) {
    named.reason = UnexpectedReason::kLoader;
    verdict.loader_note = "runs a program";
  }
  verdict.program = std::move(named);
}

void BinaryJudge::judge_exec(const execmond_binary_event& e, const FileVerdict& executable,
                             bool executable_is_loader, ExecVerdict& verdict) {
  const ExecContext context = context_of(e.ctx);
  const JudgingView view = judging_view(context);
  verdict = ExecVerdict{};
  verdict.view = view;
  verdict.executable = executable;
  if (e.binary_flags & EXECMOND_BINARY_SCRIPT) judge_script(e, context, view, verdict);
  if (executable_is_loader) judge_loader_program(e, context, view, verdict);
  // The first part that is unexpected names the exec: the file the caller gave, then
  // the file that runs, then what a loader runs; a part known for what it is before one
  // that could not be checked.
  const FileVerdict* parts[] = {verdict.script ? &verdict.script_file : nullptr,
                                &verdict.executable, verdict.program ? &*verdict.program : nullptr};
  const FileVerdict* named = nullptr;
  for (const FileVerdict* part : parts) {
    if (!part || part->allowed) continue;
    if (!named || (named->reason == UnexpectedReason::kUnverified &&
                   part->reason != UnexpectedReason::kUnverified))
      named = part;
  }
  if (named) {
    verdict.allowed = false;
    verdict.reason = named->reason;
    verdict.path = named->name;
    return;
  }
  verdict.allowed = true;
  verdict.path = verdict.script    ? verdict.script_file.name
                 : verdict.program ? verdict.program->name
                                   : executable.name;
}

}  // namespace execmond
