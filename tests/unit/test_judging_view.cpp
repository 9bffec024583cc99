#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "binaries/judging_view.h"

namespace execmond {
namespace {

// A child that enters namespaces (or a chroot) and stays there until released, so
// that its facts can be read from /proc like any process's.
class ChildIn {
 public:
  explicit ChildIn(const std::function<bool()>& setup) {
    int ready[2], release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      const char ok = setup() ? '1' : '0';
      if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
      char byte;
      (void)!::read(release[0], &byte, 1);
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_ = release[1];
    char ok = '0';
    REQUIRE(::read(ready[0], &ok, 1) == 1);
    ::close(ready[0]);
    set_up_ = ok == '1';
  }
  ~ChildIn() {
    ::close(release_);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  int pid() const { return pid_; }
  bool set_up() const { return set_up_; }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  bool set_up_ = false;
};

// What `unshare -U` does for an unprivileged user: a user namespace of its own, with
// its own uid mapped to 0 inside (so that it may create more namespaces in it).
bool own_user_namespace(int extra_flags = 0) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | extra_flags) != 0) return false;
  std::ofstream("/proc/self/setgroups") << "deny";
  std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
  std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
  return true;
}

// Leaves root for an unprivileged uid, when the tests run as root.
bool become_unprivileged() {
  if (::geteuid() != 0) return true;
  // A uid change makes the process non-dumpable: its /proc files (uid_map) would stay
  // root's. An unprivileged user's own process is dumpable.
  return ::setresgid(65534, 65534, 65534) == 0 && ::setresuid(65534, 65534, 65534) == 0 &&
         ::prctl(PR_SET_DUMPABLE, 1) == 0;
}

ExecContext context_of(int pid) {
  const std::optional<ExecContext> context = read_exec_context(pid, host_mount_namespace());
  REQUIRE(context);
  return *context;
}

}  // namespace

TEST_CASE("the rule: unprivileged user namespaces, then rootful mount namespaces", "[view]") {
  ExecContext context;
  CHECK(judging_view(context) == JudgingView::kHost);
  context.chroot = true;
  CHECK(judging_view(context) == JudgingView::kHost);
  context.mntns_not_hosts = true;
  CHECK(judging_view(context) == JudgingView::kProcess);
  context.userns = true;  // a user namespace root created (userns-remapped podman)
  CHECK(judging_view(context) == JudgingView::kProcess);
  context.userns_unprivileged = true;
  CHECK(judging_view(context) == JudgingView::kHost);
  context.mntns_not_hosts = false;
  CHECK(judging_view(context) == JudgingView::kHost);
  CHECK(view_name(JudgingView::kHost) == "host");
  CHECK(view_name(JudgingView::kProcess) == "process");
}

TEST_CASE("real namespace facts: this process is the host's", "[view]") {
  const ExecContext self = context_of(::getpid());
  CHECK(self.euid == ::geteuid());
  CHECK(self.userns_level == 0);
  CHECK_FALSE(self.userns);
  CHECK_FALSE(self.mntns_not_hosts);
  CHECK_FALSE(self.chroot);
  CHECK(judging_view(self) == JudgingView::kHost);
}

TEST_CASE("real namespace facts: unshare -Ur, -Urm, and nested, are the host's view", "[view]") {
  ChildIn user([] { return become_unprivileged() && own_user_namespace(); });
  REQUIRE(user.set_up());
  const ExecContext in_user = context_of(user.pid());
  CHECK(in_user.userns);
  CHECK(in_user.userns_level == 1);
  CHECK(in_user.userns_owner != 0);
  CHECK(in_user.userns_unprivileged);
  CHECK_FALSE(in_user.mntns_not_hosts);
  CHECK(judging_view(in_user) == JudgingView::kHost);

  ChildIn mounts([] { return become_unprivileged() && own_user_namespace(CLONE_NEWNS); });
  REQUIRE(mounts.set_up());
  const ExecContext in_mounts = context_of(mounts.pid());
  CHECK(in_mounts.mntns_not_hosts);
  CHECK(in_mounts.userns_unprivileged);
  CHECK(judging_view(in_mounts) == JudgingView::kHost);  // rootless: never its own view

  // A namespace created by "root" inside the user's: its owner is still the user.
  ChildIn nested([] {
    return become_unprivileged() && own_user_namespace() && own_user_namespace(CLONE_NEWNS);
  });
  REQUIRE(nested.set_up());
  const ExecContext in_nested = context_of(nested.pid());
  CHECK(in_nested.userns_level == 2);
  CHECK(in_nested.userns_unprivileged);
  CHECK(judging_view(in_nested) == JudgingView::kHost);

  // A user's chroot inside its own user namespace.
  char name[] = "/tmp/execmond-view-XXXXXX";
  const std::string root = ::mkdtemp(name);
  ::chmod(root.c_str(), 0755);
  ChildIn chrooted(
      [&] { return become_unprivileged() && own_user_namespace() && ::chroot(root.c_str()) == 0; });
  REQUIRE(chrooted.set_up());
  const ExecContext in_chroot = context_of(chrooted.pid());
  CHECK(in_chroot.chroot);
  CHECK(judging_view(in_chroot) == JudgingView::kHost);
  std::filesystem::remove(root);
}

TEST_CASE("real namespace facts: a mount namespace root made is a container's view",
          "[view][root]") {
  REQUIRE(::geteuid() == 0);  // what a rootful container runtime is
  ChildIn container([] { return ::unshare(CLONE_NEWNS) == 0; });
  REQUIRE(container.set_up());
  const ExecContext in_container = context_of(container.pid());
  CHECK(in_container.mntns_not_hosts);
  CHECK_FALSE(in_container.userns);
  CHECK(judging_view(in_container) == JudgingView::kProcess);

  // Root's user namespace (a runtime's userns-remap): created by uid 0.
  ChildIn remapped([] { return own_user_namespace(CLONE_NEWNS); });
  REQUIRE(remapped.set_up());
  const ExecContext in_remapped = context_of(remapped.pid());
  CHECK(in_remapped.userns);
  CHECK(in_remapped.userns_owner == 0);
  CHECK_FALSE(in_remapped.userns_unprivileged);
  CHECK(judging_view(in_remapped) == JudgingView::kProcess);

  // root's chroot on the host: the host's view.
  ChildIn chrooted([] { return ::chroot("/tmp") == 0; });
  REQUIRE(chrooted.set_up());
  const ExecContext in_chroot = context_of(chrooted.pid());
  CHECK(in_chroot.chroot);
  CHECK_FALSE(in_chroot.mntns_not_hosts);
  CHECK(judging_view(in_chroot) == JudgingView::kHost);
}

}  // namespace execmond
