#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# packaging/spdx-headers.sh on a small tree of its own: --check fails while a source file
# lacks its SPDX line or carries the wrong licence, the script adds exactly the line
# each kind of file needs (after a shebang, in the file's comment syntax, the BPF
# licence under bpf/), a second run changes nothing, and then --check passes.
# Ends with "licence-script: N passed, M failed".
set -euo pipefail

script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/packaging/spdx-headers.sh"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
passed=0
pass() {
  passed=$((passed + 1))
  echo "PASS: $*"
}
fail() {
  echo "FAIL: $*" >&2
  echo "licence-script: $passed passed, 1 failed"
  exit 1
}

mkdir -p "$tree/daemon" "$tree/bpf/vmlinux" "$tree/tools" "$tree/docs"
printf 'int main() { return 0; }\n' >"$tree/daemon/main.cpp"
printf 'cmake_minimum_required(VERSION 3.18)\n' >"$tree/CMakeLists.txt"
printf '#!/bin/sh\necho hi\n' >"$tree/tools/run"
chmod 0755 "$tree/tools/run"
printf 'print(1)\n' >"$tree/tools/x.py"
printf 'int prog;\n' >"$tree/bpf/prog.bpf.c"
printf '#define VMLINUX\n' >"$tree/bpf/vmlinux/vmlinux.h"
printf '# Not a source file\n' >"$tree/docs/notes.md"

out=$("$script" --check "$tree") && fail "--check passed on a tree without SPDX lines"
for file in daemon/main.cpp CMakeLists.txt tools/run tools/x.py bpf/prog.bpf.c; do
  grep -q "^$file: no SPDX" <<<"$out" || fail "--check did not name $file: $out"
done
grep -q vmlinux <<<"$out" && fail "--check named the generated vmlinux.h"
grep -q notes.md <<<"$out" && fail "--check named a document"
pass "--check fails and names each source file without its line, and only those"

"$script" "$tree" >/dev/null || fail "adding the lines failed"
[[ "$(head -n 1 "$tree/daemon/main.cpp")" == '// SPDX-License-Identifier: Apache-2.0' ]] || fail "C++: $(head -n 1 "$tree/daemon/main.cpp")"
[[ "$(head -n 1 "$tree/CMakeLists.txt")" == '# SPDX-License-Identifier: Apache-2.0' ]] || fail "CMake: $(head -n 1 "$tree/CMakeLists.txt")"
[[ "$(sed -n 1,2p "$tree/tools/run")" == $'#!/bin/sh\n# SPDX-License-Identifier: Apache-2.0' ]] || fail "shebang script: $(head -n 2 "$tree/tools/run")"
[[ -x $tree/tools/run ]] || fail "the script lost its executable bit"
[[ "$(head -n 1 "$tree/bpf/prog.bpf.c")" == '// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)' ]] || fail "BPF: $(head -n 1 "$tree/bpf/prog.bpf.c")"
[[ "$(tail -n 1 "$tree/daemon/main.cpp")" == 'int main() { return 0; }' ]] || fail "the file's own content changed"
[[ "$(cat "$tree/bpf/vmlinux/vmlinux.h")" == '#define VMLINUX' ]] || fail "vmlinux.h was changed"
pass "the line is added in each file's syntax, after a shebang, BPF sources with their own licence, nothing else touched"

before=$(cd "$tree" && find . -type f -exec md5sum {} + | sort)
out=$("$script" "$tree") || fail "the second run failed"
[[ -z $out ]] || fail "the second run changed files: $out"
[[ "$(cd "$tree" && find . -type f -exec md5sum {} + | sort)" == "$before" ]] || fail "the second run changed files"
"$script" --check "$tree" >/dev/null || fail "--check fails after the lines were added"
pass "a second run changes nothing, and --check passes"

sed -i '1s/Apache-2.0/MIT/' "$tree/daemon/main.cpp"
out=$("$script" --check "$tree") && fail "--check passed a file with the wrong licence"
grep -q 'daemon/main.cpp: SPDX-License-Identifier: MIT, expected Apache-2.0' <<<"$out" || fail "--check: $out"
pass "--check fails on a file that declares another licence"
echo "licence-script: $passed passed, 0 failed"
