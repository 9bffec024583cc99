// Who ran it: unit and container labels from real cgroup paths, the unified hierarchy's
// mount point, and the id resolver's bounds, rate limit and aging on a directory tree.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "cgroups/cgroup_names.h"
#include "cgroups/cgroup_resolver.h"
#include "cgroups/interned_names.h"
#include "cgroups/unified_hierarchy.h"
#include "events/label_filter.h"

namespace {

using execmond::container_label;
using execmond::unit_label;

const std::string kId = "4f9a0e51c3b2d8e7a6f5041c2b3d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d";
const std::string kId12 = "4f9a0e51c3b2";

}  // namespace

TEST_CASE("systemd host: services, user managers, user units", "[cgroups][names]") {
  CHECK(unit_label("/system.slice/nginx.service") == "nginx.service");
  CHECK(unit_label("/system.slice/cron.service") == "cron.service");
  CHECK(unit_label("/system.slice/systemd-journald.socket") == "systemd-journald.socket");
  CHECK(unit_label("/system.slice/boot-efi.mount") == "boot-efi.mount");
  CHECK(unit_label("/system.slice/dev-zram0.swap") == "dev-zram0.swap");
  CHECK(unit_label("/init.scope") == "init.scope");
  CHECK(unit_label("/user.slice/user-1000.slice/user@1000.service") == "user@1000.service");
  CHECK(unit_label("/user.slice/user-1000.slice/user@1000.service/init.scope") ==
        "user@1000.service/init.scope");
  CHECK(unit_label("/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service") ==
        "user@1000.service/dbus.service");
  // A unit's own sub-cgroups belong to it.
  CHECK(unit_label("/system.slice/postgresql@15-main.service/worker/7") ==
        "postgresql@15-main.service");
  CHECK(container_label("/system.slice/nginx.service").empty());
}

TEST_CASE("sessions and transient units collapse to their slice", "[cgroups][names]") {
  CHECK(unit_label("/user.slice/user-1000.slice/session-42.scope") == "user-1000.slice");
  CHECK(unit_label("/user.slice/user-0.slice/session-c1.scope") == "user-0.slice");
  CHECK(unit_label("/system.slice/run-u123.service") == "system.slice");
  CHECK(unit_label("/system.slice/run-r6f0d7e3b2c1a4d5e.scope") == "system.slice");
  CHECK(unit_label("/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.service") ==
        "user@1000.service/app.slice");
  CHECK(unit_label("/user.slice/user-1000.slice/user@1000.service/run-u7.service") ==
        "user@1000.service");
  CHECK(unit_label("/run-u9.scope") == "-");  // no slice above
  // systemd-run --unit=churn-test keeps its name.
  CHECK(unit_label("/system.slice/churn-test.service") == "churn-test.service");
}

TEST_CASE("no unit: the slice, or -", "[cgroups][names]") {
  CHECK(unit_label("/") == "-");
  CHECK(unit_label("") == "-");
  CHECK(unit_label("/system.slice") == "system.slice");
  CHECK(unit_label("/user.slice/user-1000.slice") == "user-1000.slice");
  CHECK(unit_label("/payload") == "-");  // a hierarchy systemd does not manage
  CHECK(unit_label("/process_api/71caba97ed2466ca8d68406e9d0fda90") == "-");
}

TEST_CASE("nspawn: the container's systemd names its units", "[cgroups][names]") {
  // Seen from the host.
  CHECK(unit_label("/machine.slice/systemd-nspawn@deb.service/payload/system.slice/"
                   "churn-test.service") == "churn-test.service");
  CHECK(unit_label("/machine.slice/machine-deb.scope/payload/init.scope") == "init.scope");
  CHECK(unit_label("/machine.slice/machine-deb.scope/payload") == "machine-deb.scope");
  // Seen inside, through the cgroup namespace.
  CHECK(unit_label("/system.slice/churn-test.service") == "churn-test.service");
  CHECK(container_label("/machine.slice/systemd-nspawn@deb.service/payload").empty());
}

TEST_CASE("docker: systemd and cgroupfs drivers", "[cgroups][names]") {
  const std::string scope = "/system.slice/docker-" + kId + ".scope";
  CHECK(unit_label(scope) == "system.slice");
  CHECK(container_label(scope) == "docker:" + kId12);
  CHECK(unit_label(scope + "/system.slice/nginx.service") == "nginx.service");
  CHECK(container_label(scope + "/system.slice/nginx.service") == "docker:" + kId12);
  CHECK(unit_label("/docker/" + kId) == "-");
  CHECK(container_label("/docker/" + kId) == "docker:" + kId12);
  CHECK(unit_label("/system.slice/docker.service") == "docker.service");
  CHECK(container_label("/system.slice/docker.service").empty());
  CHECK(container_label("/docker/not-a-container").empty());
}

TEST_CASE("podman: containers and conmon", "[cgroups][names]") {
  const std::string scope = "/machine.slice/libpod-" + kId + ".scope";
  CHECK(unit_label(scope) == "machine.slice");
  CHECK(container_label(scope) == "podman:" + kId12);
  CHECK(container_label(scope + "/container") == "podman:" + kId12);
  const std::string conmon = "/machine.slice/libpod-conmon-" + kId + ".scope";
  CHECK(unit_label(conmon) == "machine.slice");
  CHECK(container_label(conmon).empty());
  // Rootless, under the user's manager.
  const std::string rootless =
      "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope";
  CHECK(unit_label(rootless) == "user@1000.service/user.slice");
  CHECK(container_label(rootless) == "podman:" + kId12);
  CHECK(container_label("/libpod_parent/libpod-" + kId) == "podman:" + kId12);
}

TEST_CASE("kubernetes: containerd and cri-o pods collapse to their QoS slice", "[cgroups][names]") {
  const std::string burstable =
      "/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod8c1f6b8e_2d7a_4c55_9b1e_3f0a6d2c9e41.slice/";
  CHECK(unit_label(burstable + "cri-containerd-" + kId + ".scope") == "kubepods-burstable.slice");
  CHECK(container_label(burstable + "cri-containerd-" + kId + ".scope") == "containerd:" + kId12);
  CHECK(unit_label(burstable) == "kubepods-burstable.slice");
  const std::string guaranteed =
      "/kubepods.slice/kubepods-pod8c1f6b8e_2d7a_4c55_9b1e_3f0a6d2c9e41.slice/crio-" + kId +
      ".scope";
  CHECK(unit_label(guaranteed) == "kubepods.slice");
  CHECK(container_label(guaranteed) == "cri-o:" + kId12);
  const std::string conmon =
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-podabc.slice/crio-conmon-" +
      kId + ".scope";
  CHECK(unit_label(conmon) == "kubepods-besteffort.slice");
  CHECK(container_label(conmon).empty());
}

TEST_CASE("unit labels are printable and never shared by two names", "[cgroups][names]") {
  // A backslash is escaped too: systemd's own escape (\x2d) shows doubled, and a name
  // that spells an escape cannot pass for the byte it spells.
  CHECK(unit_label("/system.slice/dev-disk-by\\x2duuid-1234.swap") ==
        "dev-disk-by\\\\x2duuid-1234.swap");
  CHECK(unit_label(std::string("/system.slice/a\nb\xff.service")) == "a\\x0ab\\xff.service");
  CHECK(unit_label("/system.slice/a\\x0ab\\xff.service") == "a\\\\x0ab\\\\xff.service");
  CHECK(unit_label("/system.slice/a\\x01.service") != unit_label("/system.slice/a\x01.service"));
  CHECK(unit_label("/system.slice/caf\xc3\xa9.service") == "caf\xc3\xa9.service");  // UTF-8
  // No path gives the unresolved values.
  CHECK(unit_label("/execmond_unresolved") == "-");
  CHECK(container_label("/execmond_unresolved").empty());
}

// Issue 13, row 12: a user names cgroups in their delegated subtree as they like.
TEST_CASE("a user's units never take a system unit's label", "[cgroups][names]") {
  const std::string user = "/user.slice/user-1000.slice/user@1000.service";
  CHECK(unit_label(user + "/app.slice/sshd.service") == "user@1000.service/sshd.service");
  CHECK(unit_label(user + "/app.slice/sshd.service") != unit_label("/system.slice/sshd.service"));
  CHECK(unit_label(user + "/sshd.service/x/y") == "user@1000.service/sshd.service");
  CHECK(unit_label(user + "/system.slice") == "user@1000.service/system.slice");
  CHECK(unit_label(user + "/payload") == "user@1000.service");
  // A user@ cgroup the user made inside their own subtree is still theirs.
  CHECK(unit_label(user + "/app.slice/user@0.service/sshd.service") ==
        "user@1000.service/sshd.service");
  CHECK(unit_label(user + "/app.slice/user@0.service") == "user@1000.service/user@0.service");
  // Another user's manager is another prefix.
  CHECK(unit_label("/user.slice/user-1001.slice/user@1001.service/app.slice/x.service") ==
        "user@1001.service/x.service");

  // exclude_units: a system unit's pattern matches no user unit; a user's are named.
  const execmond::LabelFilter excluding({}, {"sshd.service", "*.service"});
  CHECK_FALSE(excluding.admits("sshd.service"));
  CHECK(excluding.admits(unit_label(user + "/app.slice/sshd.service")));
  const execmond::LabelFilter including({"sshd.service"}, {});
  CHECK_FALSE(including.admits(unit_label(user + "/app.slice/sshd.service")));
  const execmond::LabelFilter users({}, {"user@*.service/*"});
  CHECK_FALSE(users.admits(unit_label(user + "/app.slice/sshd.service")));
  CHECK(users.admits("sshd.service"));
}

TEST_CASE("the unified hierarchy: pure v2, hybrid, none", "[cgroups]") {
  using execmond::find_unified_hierarchy;
  CHECK(find_unified_hierarchy("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n") ==
        "/sys/fs/cgroup");
  CHECK(find_unified_hierarchy("tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
                               "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
                               "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n") ==
        "/sys/fs/cgroup/unified");
  CHECK(find_unified_hierarchy("none /mnt/cg2 cgroup2 rw 0 0\n") == "/mnt/cg2");
  CHECK_FALSE(find_unified_hierarchy("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n").has_value());
  // This host has one.
  CHECK(execmond::locate_unified_hierarchy().has_value());
}

TEST_CASE("interned names: one address per text, bounded", "[cgroups]") {
  execmond::InternedNames names(3, 64, "execmond_overflow");
  const auto* a = names.intern("a.service");
  CHECK(names.intern("a.service") == a);
  CHECK(a->text == "a.service");
  const auto* b = names.intern("b.service");
  CHECK(b != a);
  names.intern("c.service");
  CHECK(names.intern("d.service") == names.overflow());
  CHECK(names.overflow()->text == "execmond_overflow");
  CHECK(names.intern("a.service") == a);
  CHECK(names.size() == 3);
  execmond::InternedNames small(10, 8, "x");
  CHECK(small.intern("123456789") == small.overflow());  // a name's length is bounded too
}

// Issue 13, row 13: names of cgroups that are gone are reclaimed, unless an event used
// them (a series may hold its address for good).
TEST_CASE("interned names: reclaimed with their last holder unless pinned", "[cgroups]") {
  execmond::InternedNames names(4, 2048, "execmond_overflow");
  const auto* kept = names.acquire("kept.service");
  names.pin(kept);
  for (int round = 0; round < 1000; ++round) {
    // Three long names at a time, each held by two cgroups, then gone.
    std::vector<const execmond::InternedName*> held;
    for (int i = 0; i < 3; ++i) {
      const std::string text =
          std::string(1020, 'a' + static_cast<char>(i)) + std::to_string(round);
      held.push_back(names.acquire(text));
      REQUIRE(held.back() != names.overflow());
      REQUIRE(names.acquire(text) == held.back());
      REQUIRE(held.back()->text == text);
    }
    CHECK(names.acquire("fifth.service") == names.overflow());  // full meanwhile
    for (const auto* name : held) names.release(name);
    REQUIRE(names.size() == 4);  // one holder left each
    for (const auto* name : held) names.release(name);
    REQUIRE(names.size() == 1);
  }
  // The pinned name kept its address and text through it all, holders or not.
  names.release(kept);
  CHECK(names.size() == 1);
  CHECK(names.acquire("kept.service") == kept);
  CHECK(kept->text == "kept.service");
  CHECK(names.pinned() == 1);
  names.release(names.overflow());  // no effect
  names.release(nullptr);
  CHECK(names.size() == 1);
}

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A directory tree standing in for the hierarchy: directory inode numbers are ids, as
// in cgroupfs.
class FakeHierarchy {
 public:
  FakeHierarchy() {
    char pattern[] = "/dev/shm/execmond-cgroups-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    root_ = pattern;
  }
  ~FakeHierarchy() { fs::remove_all(root_); }
  const std::string& root() const { return root_; }
  std::uint64_t make(const std::string& path) {
    fs::create_directories(root_ + path);
    return id(path);
  }
  std::uint64_t id(const std::string& path) const {
    struct stat st {};
    REQUIRE(::stat((root_ + path).c_str(), &st) == 0);
    return st.st_ino;
  }
  void remove(const std::string& path) { fs::remove_all(root_ + path); }

 private:
  std::string root_;
};

struct FakeClock {
  std::chrono::nanoseconds now{0};
  std::chrono::nanoseconds per_call{0};  // how long each look at the clock "takes"
  execmond::CgroupResolver::Clock clock() {
    return [this] {
      now += per_call;
      return now;
    };
  }
};

std::string unit_of(execmond::CgroupResolver& resolver, std::uint64_t id) {
  return std::string(resolver.labels_for(id).unit->text);
}

}  // namespace

TEST_CASE("resolver: ids of the tree resolve to their labels", "[cgroups][resolver]") {
  FakeHierarchy tree;
  const auto nginx = tree.make("/system.slice/nginx.service");
  const auto docker = tree.make("/system.slice/docker-" + kId + ".scope");
  const auto session = tree.make("/user.slice/user-1000.slice/session-7.scope");
  execmond::CgroupResolver resolver(tree.root(), {});
  CHECK(unit_of(resolver, nginx) == "nginx.service");
  CHECK(resolver.walks_completed() == 1);
  CHECK(unit_of(resolver, docker) == "system.slice");
  CHECK(resolver.labels_for(docker).container->text == "docker:" + kId12);
  CHECK(resolver.labels_for(nginx).container->text.empty());
  CHECK(unit_of(resolver, session) == "user-1000.slice");
  CHECK(unit_of(resolver, tree.id("")) == "-");
  CHECK(resolver.walks_completed() == 1);  // known ids cost no walk
  CHECK(resolver.unresolved_events() == 0);

  // Created later: an unknown id walks again.
  const auto later = tree.make("/test.slice/later.service");
  CHECK(unit_of(resolver, later) == "later.service");
  // Removed and created again under the same name: a new id, resolved too.
  tree.remove("/test.slice/later.service");
  const auto again = tree.make("/test.slice/later.service");
  REQUIRE(again != later);
  CHECK(unit_of(resolver, again) == "later.service");
}

TEST_CASE("resolver: an id no walk finds is unresolved, and soon stops causing walks",
          "[cgroups][resolver]") {
  FakeHierarchy tree;
  tree.make("/system.slice/a.service");
  execmond::CgroupResolver resolver(tree.root(), {});
  const std::uint64_t gone = 0xdead0000beefull;
  CHECK(unit_of(resolver, gone) == "execmond_unresolved");
  CHECK(resolver.labels_for(gone).container->text == "execmond_unresolved");
  const auto walks = resolver.walks_completed();
  for (int i = 0; i < 100; ++i) CHECK(unit_of(resolver, gone) == "execmond_unresolved");
  // At most one more walk, started after the first miss, proves it gone.
  CHECK(resolver.walks_completed() <= walks + 1);
  CHECK(resolver.unresolved_events() == 102);
  CHECK(unit_of(resolver, 0) == "execmond_unresolved");  // a record without an id
  CHECK(resolver.unresolved_events() == 103);
}

TEST_CASE("resolver: walks spend a bounded time per second", "[cgroups][resolver]") {
  FakeHierarchy tree;
  for (int i = 0; i < 64; ++i) tree.make("/test.slice/s" + std::to_string(i) + ".service");
  FakeClock clock;
  clock.per_call = 1ms;  // each directory step "takes" a millisecond
  execmond::CgroupResolver::Limits limits;
  limits.walk_time_per_second = 3ms;
  limits.watch_new_cgroups = false;  // the walks alone
  execmond::CgroupResolver resolver(tree.root(), limits, clock.clock());
  const auto deep = tree.make("/z.slice/z1.slice/z2.slice/z3.slice/deep.service");
  // Each call may spend about 3 ms; the deep directory needs more steps than that.
  const auto visited_before = resolver.directories_visited();
  CHECK(unit_of(resolver, deep) == "execmond_unresolved");
  const auto visited = resolver.directories_visited() - visited_before;
  CHECK(visited > 0);
  CHECK(visited <= 3 * 8 + 8);  // the budget's steps, eight directories each, and one over
  // With no time passing, nothing more is walked.
  clock.per_call = 0ms;
  CHECK(unit_of(resolver, deep) == "execmond_unresolved");
  CHECK(resolver.directories_visited() - visited_before == visited);
  // Seconds later the walk resumes where it stopped and finds it.
  for (int second = 0; second < 40 && unit_of(resolver, deep) != "deep.service"; ++second) {
    clock.now += 1s;
    clock.per_call = 1ms;
  }
  CHECK(unit_of(resolver, deep) == "deep.service");
}

TEST_CASE("resolver: removed cgroups age out, memory stays bounded", "[cgroups][resolver]") {
  FakeHierarchy tree;
  tree.make("/system.slice/keep.service");
  execmond::CgroupResolver::Limits limits;
  limits.max_cgroups = 64;
  execmond::CgroupResolver resolver(tree.root(), limits);
  for (int round = 0; round < 50; ++round) {
    // 40 short-lived cgroups, each seen while it exists, then removed.
    for (int i = 0; i < 40; ++i) {
      const std::string path =
          "/test.slice/t" + std::to_string(round) + "-" + std::to_string(i) + ".scope";
      const auto id = tree.make(path);
      const std::string unit = unit_of(resolver, id);
      CHECK((unit == "t" + std::to_string(round) + "-" + std::to_string(i) + ".scope" ||
             unit == "execmond_unresolved"));
      tree.remove(path);
    }
    REQUIRE(resolver.cached_cgroups() <= limits.max_cgroups);
  }
  CHECK(unit_of(resolver, tree.id("/system.slice/keep.service")) == "keep.service");
  CHECK(resolver.walks_completed() > 2);
}

TEST_CASE("resolver: a full table resolves what it holds and leaves the rest unresolved",
          "[cgroups][resolver]") {
  FakeHierarchy tree;
  execmond::CgroupResolver::Limits limits;
  limits.max_cgroups = 8;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(tree.make("/test.slice/s" + std::to_string(i) + ".service"));
  execmond::CgroupResolver resolver(tree.root(), limits);
  int resolved = 0;
  for (const auto id : ids) resolved += unit_of(resolver, id) != "execmond_unresolved";
  CHECK(resolver.cached_cgroups() <= 8);
  CHECK(resolved <= 8);
}

TEST_CASE("resolver: a cgroup made and removed before its id is looked up still resolves",
          "[cgroups][resolver]") {
  FakeHierarchy tree;
  tree.make("/system.slice");
  execmond::CgroupResolver resolver(tree.root(), {});
  REQUIRE(resolver.watching());
  // Like systemd-run: the unit's cgroup is made, its process runs a moment, it is removed,
  // all before the reader drains the ring buffer.
  const auto brief = tree.make("/system.slice/brief.service");
  const auto nested = tree.make("/test.slice/app.slice/nested.scope");  // parents made too
  std::this_thread::sleep_for(200ms);  // the watcher's thread reads the events meanwhile
  tree.remove("/system.slice/brief.service");
  tree.remove("/test.slice");
  CHECK(unit_of(resolver, brief) == "brief.service");
  CHECK(unit_of(resolver, nested) == "nested.scope");
  CHECK(resolver.unresolved_events() == 0);

  // Without the watcher, only the walks: gone is gone.
  execmond::CgroupResolver::Limits walks_only;
  walks_only.watch_new_cgroups = false;
  execmond::CgroupResolver blind(tree.root(), walks_only);
  const auto gone = tree.make("/system.slice/gone.service");
  std::this_thread::sleep_for(50ms);
  tree.remove("/system.slice/gone.service");
  CHECK(unit_of(blind, gone) == "execmond_unresolved");
}

TEST_CASE("resolver: cgroups the watcher reported and that are gone age out too",
          "[cgroups][resolver]") {
  FakeHierarchy tree;
  tree.make("/system.slice");
  execmond::CgroupResolver::Limits limits;
  limits.max_cgroups = 16;
  execmond::CgroupResolver resolver(tree.root(), limits);
  REQUIRE(resolver.watching());
  int resolved = 0;
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<std::pair<std::uint64_t, std::string>> made;
    for (int i = 0; i < 5; ++i) {
      const std::string name = "b" + std::to_string(batch) + "-" + std::to_string(i) + ".service";
      made.emplace_back(tree.make("/system.slice/" + name), name);
    }
    std::this_thread::sleep_for(100ms);
    for (const auto& [id, name] : made) tree.remove("/system.slice/" + name);
    for (const auto& [id, name] : made) resolved += unit_of(resolver, id) == name;
    REQUIRE(resolver.cached_cgroups() <= limits.max_cgroups);
  }
  // Every batch fits: the dead entries of earlier batches were aged out for it.
  CHECK(resolved >= 45);
}

// Issue 13, row 13: 200 cgroups with ~1 KB escaped names, made and removed, used to fill
// the unit names' text (4096 x 48 bytes, never freed): every later unit was overflow.
TEST_CASE("resolver: a burst of long-named cgroups leaves the unit names free",
          "[cgroups][resolver]") {
  FakeHierarchy tree;
  tree.make("/system.slice");
  execmond::CgroupResolver::Limits limits;
  limits.max_units = 64;  // far fewer than the burst
  execmond::CgroupResolver resolver(tree.root(), limits);
  for (int round = 0; round < 4; ++round) {
    std::vector<std::string> burst;
    for (int i = 0; i < 50; ++i) {
      // 240 bytes that each escape to \xHH: a label of about 1 KB.
      std::string name(240, '\x01');
      name += std::to_string(round * 100 + i) + ".service";
      burst.push_back("/system.slice/" + name);
      tree.make(burst.back());
    }
    // Walks see them (an unknown id starts one); no event used their names.
    CHECK(unit_of(resolver, 0xdead0000beefull) == "execmond_unresolved");
    for (const auto& path : burst) tree.remove(path);
    // Two complete walks without them retire them.
    CHECK(unit_of(resolver, 0xdead0001beefull + static_cast<std::uint64_t>(round)) ==
          "execmond_unresolved");
    CHECK(unit_of(resolver, 0xdead0002beefull + static_cast<std::uint64_t>(round)) ==
          "execmond_unresolved");
  }
  CHECK(resolver.unit_names() < 64);
  const auto later = tree.make("/system.slice/later.service");
  CHECK(unit_of(resolver, later) == "later.service");
}
