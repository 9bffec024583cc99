#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Every source file states its licence in an SPDX line: Apache-2.0 for execmond, the BPF
# programs (bpf/, loaded into the kernel) (LGPL-2.1 OR BSD-2-Clause).
#
#   packaging/spdx-headers.sh [--check] [DIR [FILE...]]
#
# Without --check it adds the line where it is missing (first line, or second after a
# shebang), in the file's own comment syntax, and changes nothing else: running it
# again changes nothing. With --check it only lists the files that lack the line, or
# carry another licence than their place says, and exits 1 if there is any.
#
# Source files: C and C++ (.c .h .cpp and their .in templates), CMake (CMakeLists.txt,
# .cmake), Python (.py), shell (.sh) and every other file that starts with a shebang.
# Generated kernel headers (vmlinux.h) are not ours and are left alone. DIR defaults to
# the repository; its files come from git where it is a work tree, or are the FILEs
# (relative to DIR) when given.
set -euo pipefail

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
(($#)) && shift
only=("$@")
cd "$root"

readonly APACHE='Apache-2.0'
readonly BPF='(LGPL-2.1 OR BSD-2-Clause)'

# The files to look at, relative to DIR.
list_files() {
  if ((${#only[@]})); then
    printf '%s\n' "${only[@]}"
  elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
  else
    find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||'
  fi
}

# "c" (// comments), "hash" (# comments) or nothing: not a source file.
syntax_of() {
  local file=$1
  case $file in
    */vmlinux.h | vmlinux.h | */vmlinux/*) return ;;
    tests/fuzz/corpus/*) return ;;  # fuzz inputs, byte for byte
    *.c | *.h | *.cpp | *.cpp.in | *.h.in) echo c ;;
    CMakeLists.txt | */CMakeLists.txt | *.cmake | *.py | *.sh) echo hash ;;
    *)
      if [[ -f $file && "$(head -c 2 "$file" | tr -d '\000')" == '#!' ]]; then echo hash; fi
      ;;
  esac
}

licence_of() {
  case $1 in
    bpf/*) echo "$BPF" ;;
    *) echo "$APACHE" ;;
  esac
}

# The SPDX identifier a file declares in its first 3 lines, or nothing.
declared() {
  head -n 3 "$1" | sed -n 's/.*SPDX-License-Identifier: *\(.*[^ */]\)[ */]*$/\1/p' | head -n 1
}

add_line() {
  local file=$1 line=$2 tmp
  tmp=$(mktemp "$file.spdx.XXXXXX")
  if [[ "$(head -c 2 "$file" | tr -d '\\0')" == '#!' ]]; then
    { head -n 1 "$file"; printf '%s\n' "$line"; tail -n +2 "$file"; } >"$tmp"
  else
    { printf '%s\n' "$line"; cat "$file"; } >"$tmp"
  fi
  chmod --reference="$file" "$tmp"
  mv "$tmp" "$file"
}

bad=0
while read -r file; do
  [[ -f $file && ! -L $file ]] || continue
  syntax=$(syntax_of "$file")
  [[ -n $syntax ]] || continue
  want=$(licence_of "$file")
  have=$(declared "$file")
  [[ $have == "$want" ]] && continue
  if [[ -n $have ]]; then
    echo "$file: SPDX-License-Identifier: $have, expected $want"
    bad=1
    continue
  fi
  if ((check)); then
    echo "$file: no SPDX-License-Identifier line (expected $want)"
    bad=1
    continue
  fi
  if [[ $syntax == c ]]; then
    add_line "$file" "// SPDX-License-Identifier: $want"
  else
    add_line "$file" "# SPDX-License-Identifier: $want"
  fi
  echo "added: $file"
done < <(list_files | sort)

if ((bad && check)); then
  echo "spdx-headers: run packaging/spdx-headers.sh to add the missing lines" >&2
fi
exit "$bad"
