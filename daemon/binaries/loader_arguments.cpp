// SPDX-License-Identifier: Apache-2.0
#include "binaries/loader_arguments.h"

#include <algorithm>
#include <string>

namespace execmond {
namespace {

bool ends_with(std::string_view text, std::string_view tail) {
  return text.size() >= tail.size() && text.substr(text.size() - tail.size()) == tail;
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void add_list(std::vector<std::string_view>& out, std::string_view list,
              std::string_view separators) {
  for (std::size_t at = 0; at <= list.size();) {
    const std::size_t end = std::min(list.find_first_of(separators, at), list.size());
    if (end > at) out.push_back(list.substr(at, end - at));
    at = end + 1;
  }
}

// elf/rtld.c dl_main(), when ld.so is the program (glibc 2.36, Debian 12; the same
// options through 2.40).
LoaderRun parse_glibc(const std::vector<std::string_view>& argv) {
  LoaderRun run;
  enum class Mode {
    kNormal,
    kList,
    kVerify,
    kHelp,
    kListTunables,
    kListDiagnostics
  } mode = Mode::kNormal;
  std::size_t at = 1;
  const auto has_value = [&] { return at + 1 < argv.size(); };
  while (at < argv.size()) {
    const std::string_view option = argv[at];
    if (option == "--list") {
      if (mode != Mode::kHelp) mode = Mode::kList;
      ++at;
    } else if (option == "--verify") {
      if (mode != Mode::kHelp) mode = Mode::kVerify;
      ++at;
    } else if (option == "--inhibit-cache") {
      ++at;
    } else if (option == "--library-path" && has_value()) {
      run.library_path = true;
      at += 2;
    } else if ((option == "--inhibit-rpath" || option == "--argv0" ||
                option == "--glibc-hwcaps-prepend" || option == "--glibc-hwcaps-mask") &&
               has_value()) {
      at += 2;
    } else if (option == "--audit" && has_value()) {
      add_list(run.libraries, argv[at + 1], ":");
      at += 2;
    } else if (option == "--preload" && has_value()) {
      add_list(run.libraries, argv[at + 1], ": \t");
      at += 2;
    } else if (option == "--list-tunables") {
      mode = Mode::kListTunables;
      ++at;
    } else if (option == "--list-diagnostics") {
      mode = Mode::kListDiagnostics;
      ++at;
    } else if (option == "--help") {
      mode = Mode::kHelp;
      ++at;
    } else if (option == "--version") {
      run.kind = LoaderRun::Kind::kNoProgram;
      return run;
    } else if (option == "--") {
      // The end of the options: the program follows. glibc 2.36 (Debian 12) refuses
      // "--" (rtld.c tested argv[1][1] where it meant [2]) and runs nothing; 2.41
      // (Debian 13) runs the program. Judged as the program either way: at worst an
      // alert for an exec that did not happen, never a program run unseen.
      ++at;
      break;
    } else if (option.size() >= 2 && option[0] == '-' && option[1] == '-') {
      // Unrecognized: the loader prints its usage and exits.
      run.kind = LoaderRun::Kind::kNoProgram;
      return run;
    } else {
      break;
    }
  }
  // Tunables and diagnostics are printed once the options end (a later --list or
  // --help overrides them, as in rtld.c); no program: usage, or help.
  if (mode == Mode::kListTunables || mode == Mode::kListDiagnostics || at >= argv.size()) {
    run.kind = LoaderRun::Kind::kNoProgram;
    return run;
  }
  run.kind = LoaderRun::Kind::kProgram;
  run.program = argv[at];
  run.maps_only = mode == Mode::kList || mode == Mode::kVerify || mode == Mode::kHelp;
  return run;
}

// Splits "--name=value" / "--name value" as musl does: `inline_value` set for the '='
// form, `other` for any other text after the name (which musl refuses).
struct MuslOption {
  bool matches = false;
  bool inline_value = false;
  bool other = false;
};
MuslOption musl_option(std::string_view option, std::string_view name) {
  MuslOption parsed;
  if (option.substr(0, name.size()) != name) return parsed;
  parsed.matches = true;
  if (option.size() > name.size()) {
    parsed.inline_value = option[name.size()] == '=';
    parsed.other = !parsed.inline_value;
  }
  return parsed;
}

// ldso/dynlink.c __dls3(), when ld-musl is the program (musl 1.2).
LoaderRun parse_musl(const std::vector<std::string_view>& argv) {
  LoaderRun run;
  bool list = !argv.empty() && ends_with(argv[0], "ldd");
  std::size_t at = 1;
  while (at < argv.size() && argv[at].size() >= 2 && argv[at][0] == '-' && argv[at][1] == '-') {
    const std::string_view option = argv[at].substr(2);
    ++at;
    if (option.empty()) break;  // "--": the program follows
    if (option == "list") {
      list = true;
      continue;
    }
    bool known = false;
    for (const std::string_view name : {"library-path", "preload", "argv0"}) {
      const MuslOption parsed = musl_option(option, name);
      if (!parsed.matches) continue;
      known = true;
      if (parsed.other) {  // musl clears the next argument: no program
        run.kind = LoaderRun::Kind::kNoProgram;
        return run;
      }
      std::string_view value;
      if (parsed.inline_value) {
        value = option.substr(name.size() + 1);
      } else if (at < argv.size()) {
        value = argv[at++];
      }
      if (name == "library-path") run.library_path = true;
      if (name == "preload") add_list(run.libraries, value, ": \t");
      break;
    }
    if (!known) {  // an unknown option clears the program: usage
      run.kind = LoaderRun::Kind::kNoProgram;
      return run;
    }
  }
  if (at >= argv.size()) {
    run.kind = LoaderRun::Kind::kNoProgram;
    return run;
  }
  run.kind = LoaderRun::Kind::kProgram;
  run.program = argv[at];
  run.maps_only = list;
  return run;
}

}  // namespace

LoaderFamily loader_family(std::string_view loader_path) {
  return base_name(loader_path).substr(0, 8) == "ld-musl-" ? LoaderFamily::kMusl
                                                           : LoaderFamily::kGlibc;
}

std::vector<std::string_view> split_arguments(std::string_view args) {
  std::vector<std::string_view> argv;
  for (std::size_t at = 0; at < args.size();) {
    const std::size_t end = std::min(args.find('\0', at), args.size());
    argv.push_back(args.substr(at, end - at));
    at = end + 1;
  }
  return argv;
}

LoaderRun parse_loader_arguments(LoaderFamily family, std::string_view args, bool truncated) {
  std::vector<std::string_view> argv = split_arguments(args);
  LoaderRun run = family == LoaderFamily::kMusl ? parse_musl(argv) : parse_glibc(argv);
  if (!truncated || argv.empty()) return run;
  // The last argument may be cut, and more may follow it: a choice that depends on it,
  // or on whether there is more, is not known.
  const std::string_view last = argv.back();
  const bool depends_on_last =
      run.kind != LoaderRun::Kind::kProgram || run.program.data() == last.data();
  for (const std::string_view library : run.libraries)
    if (library.data() + library.size() == last.data() + last.size()) return LoaderRun{};
  if (depends_on_last) return LoaderRun{};
  return run;
}

}  // namespace execmond
