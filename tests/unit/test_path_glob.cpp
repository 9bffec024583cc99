#include <catch2/catch.hpp>
#include <string>

#include "binaries/binary_allow_list.h"
#include "events/path_glob.h"

namespace execmond {
namespace {

bool matches(const char* pattern, const std::string& path) {
  return PathGlob(pattern).matches(path);
}

std::string invalid(const std::string& pattern) {
  try {
    PathGlob glob(pattern);
  } catch (const InvalidGlob& error) {
    return error.what();
  }
  return "(valid)";
}

}  // namespace

TEST_CASE("literal patterns match only themselves", "[glob]") {
  CHECK(matches("/usr/bin/true", "/usr/bin/true"));
  CHECK_FALSE(matches("/usr/bin/true", "/usr/bin/truex"));
  CHECK_FALSE(matches("/usr/bin/true", "/usr/bin/tru"));
  CHECK_FALSE(matches("/usr/bin/true", "/usr/bin/True"));
  CHECK_FALSE(matches("/usr/bin/true", ""));
}

TEST_CASE("* and ? stay within one component", "[glob]") {
  CHECK(matches("/usr/bin/*", "/usr/bin/ls"));
  CHECK(matches("/usr/bin/*", "/usr/bin/"));  // * may be empty
  CHECK_FALSE(matches("/usr/bin/*", "/usr/bin/x/ls"));
  CHECK_FALSE(matches("/usr/bin/*", "/usr/bin"));
  CHECK(matches("/usr/*/ls", "/usr/bin/ls"));
  CHECK_FALSE(matches("/usr/*/ls", "/usr/a/b/ls"));
  CHECK(matches("/usr/bin/py*3", "/usr/bin/python3"));
  CHECK(matches("/usr/bin/*a*b*c", "/usr/bin/xxaxbxxc"));
  CHECK_FALSE(matches("/usr/bin/*a*b*c", "/usr/bin/xxaxcxxb"));
  CHECK(matches("/usr/bin/l?", "/usr/bin/ls"));
  CHECK_FALSE(matches("/usr/bin/l?", "/usr/bin/l"));
  CHECK_FALSE(matches("/a?b", "/a/b"));
}

TEST_CASE("** crosses directories", "[glob]") {
  CHECK(matches("/usr/lib/**", "/usr/lib/x"));
  CHECK(matches("/usr/lib/**", "/usr/lib/systemd/systemd-journald"));
  CHECK(matches("/usr/lib/**", "/usr/lib/a/b/c/d/e"));
  CHECK_FALSE(matches("/usr/lib/**", "/usr/lib64/x"));
  CHECK_FALSE(matches("/usr/lib/**", "/usr/libexec/x"));
  // As a whole component in the middle: zero or more whole components.
  CHECK(matches("/opt/**/bin/*", "/opt/bin/x"));
  CHECK(matches("/opt/**/bin/*", "/opt/a/bin/x"));
  CHECK(matches("/opt/**/bin/*", "/opt/a/b/c/bin/x"));
  CHECK_FALSE(matches("/opt/**/bin/*", "/opt/abin/x"));
  CHECK_FALSE(matches("/opt/**/bin/*", "/opt/a/bin/x/y"));
  CHECK_FALSE(matches("/opt/**/bin/*", "/optbin/x"));
  // Inside a component: any run of characters, '/' included.
  CHECK(matches("/opt/a**z", "/opt/a/b/z"));
  CHECK(matches("/opt/a**z", "/opt/az"));
  CHECK_FALSE(matches("/opt/a**z", "/opt/a/b/zz/y"));
  CHECK(matches("/**", "/anything/at/all"));
  CHECK(matches("/***", "/a/b"));
  CHECK(matches("/**/x", "/x"));
  CHECK(matches("/**/x", "/a/b/x"));
  CHECK_FALSE(matches("/**/x", "/a/bx"));
}

TEST_CASE("character classes", "[glob]") {
  CHECK(matches("/bin/[abc]", "/bin/b"));
  CHECK_FALSE(matches("/bin/[abc]", "/bin/d"));
  CHECK(matches("/bin/[a-z]sh", "/bin/zsh"));
  CHECK_FALSE(matches("/bin/[a-z]sh", "/bin/Zsh"));
  CHECK(matches("/bin/[!a-z]sh", "/bin/Zsh"));
  CHECK(matches("/bin/[^a-z]sh", "/bin/1sh"));
  CHECK_FALSE(matches("/bin/[!a-z]sh", "/bin/zsh"));
  CHECK(matches("/bin/[]]", "/bin/]"));
  CHECK(matches("/bin/[a-]", "/bin/-"));
  CHECK(matches("/bin/[\\]]x", "/bin/]x"));
  // A class never matches '/', even negated.
  CHECK_FALSE(matches("/a[!x]b", "/a/b"));
  CHECK_FALSE(matches("/a[/]b", "/a/b"));
}

TEST_CASE("escapes and bytes", "[glob]") {
  CHECK(matches("/bin/\\*", "/bin/*"));
  CHECK_FALSE(matches("/bin/\\*", "/bin/x"));
  CHECK(matches("/bin/a\\?", "/bin/a?"));
  CHECK(matches("/bin/\xc3\xa9*", "/bin/\xc3\xa9t\xc3\xa9"));
  CHECK(matches("/bin/?", std::string("/bin/\xff")));
  CHECK(matches("/tmp/*", std::string("/tmp/a\0b", 8)));  // bytes, not C strings
}

TEST_CASE("invalid patterns are refused with a reason", "[glob]") {
  CHECK(invalid("usr/bin/*") == "expected an absolute path pattern starting with /");
  CHECK(invalid("") == "expected an absolute path pattern starting with /");
  CHECK(invalid("*") == "expected an absolute path pattern starting with /");
  CHECK(invalid("/usr/[bin") == "a [ that starts a set of characters has no closing ]");
  CHECK(invalid("/usr/[]") == "a [ that starts a set of characters has no closing ]");
  CHECK(invalid("/usr/bin\\") == "a \\ at the end escapes nothing");
  CHECK(invalid("/" + std::string(PathGlob::kMaxLength, 'a')) ==
        "expected at most 1024 characters");
  CHECK(invalid("/[a-z]") == "(valid)");
}

TEST_CASE("matching is linear: no pattern backtracks exponentially", "[glob]") {
  const PathGlob glob("/**a**a**a**a**a**a**a**a**a**b");
  const std::string path = "/" + std::string(1000, 'a');
  CHECK_FALSE(glob.matches(path));
  CHECK(glob.matches(path + "b"));
  const PathGlob stars("/*a*a*a*a*a*a*a*a*a*a*b");
  CHECK_FALSE(stars.matches(path));
}

TEST_CASE("one PathGlob matches many paths in a row", "[glob]") {
  const PathGlob glob("/usr/**/bin/[a-z]*");
  for (int i = 0; i < 5000; ++i) {
    CHECK(glob.matches("/usr/x/bin/a" + std::to_string(i)));
    CHECK_FALSE(glob.matches("/usr/x/bin/A" + std::to_string(i)));
  }
}

TEST_CASE("the allow-list admits a path any pattern matches", "[glob]") {
  const BinaryAllowList list({"/usr/bin/*", "/usr/lib/**"});
  CHECK(list.allows("/usr/bin/ls"));
  CHECK(list.allows("/usr/lib/x/y"));
  CHECK_FALSE(list.allows("/tmp/sshd"));
  CHECK_FALSE(BinaryAllowList().allows("/usr/bin/ls"));
}

}  // namespace execmond
