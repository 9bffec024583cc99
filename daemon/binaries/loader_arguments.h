// What a dynamic loader run as a command will load: `/lib64/ld-linux-x86-64.so.2
// [OPTION]... PROGRAM [ARGS]...` runs PROGRAM, which the kernel never saw. The options
// are parsed exactly as the loader parses them (glibc's elf/rtld.c, musl's
// ldso/dynlink.c __dls3), so that `--argv0 /usr/bin/true /tmp/x/evil` names /tmp/x/evil
// and an option the loader refuses runs nothing.
#pragma once

#include <string_view>
#include <vector>

namespace execmond {

enum class LoaderFamily { kGlibc, kMusl };

// By the loader file's name: ld-musl-<arch>.so.1 is musl's, any other glibc's.
LoaderFamily loader_family(std::string_view loader_path);

struct LoaderRun {
  enum class Kind {
    kProgram,       // loads `program` (and `libraries`)
    kNoProgram,     // prints something and exits: --version, --list-tunables, a bad option
    kUndetermined,  // argv was cut before the loader's choice is known
  };
  Kind kind = Kind::kUndetermined;
  // The program's name as given: opened relative to the caller's working directory, or
  // (glibc, no '/') searched in the library path, where this cannot follow it.
  std::string_view program;
  // Only mapped, never run: --list (ldd), glibc's --verify, or --help with a program.
  bool maps_only = false;
  // --preload and --audit lists, each entry as given (code in them runs).
  std::vector<std::string_view> libraries;
  // --library-path was given: names without '/' are searched there first.
  bool library_path = false;
};

// `args`: argv as the kernel records it, NUL-separated (argv[0] first); `truncated`:
// the record holds only the first bytes of a longer argv (the last argument may be cut).
LoaderRun parse_loader_arguments(LoaderFamily family, std::string_view args, bool truncated);

// Splits NUL-separated argv; a trailing NUL ends the last argument.
std::vector<std::string_view> split_arguments(std::string_view args);

}  // namespace execmond
