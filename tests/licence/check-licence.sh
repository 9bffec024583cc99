#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What the repository says about its licence, everywhere it says it:
#   - LICENSE is the Apache License 2.0, word for word (Debian's copy when present);
#   - every source file carries its SPDX line (packaging/spdx-headers.sh --check);
#   - packaging/debian/copyright, shipped in the package, is machine-readable (DEP-5):
#     Apache-2.0 for the tree, (LGPL-2.1 or BSD-2-Clause) for bpf/, each licence with
#     its text or Debian's common-licenses file;
#   - the container image's label names the same licences.
# Ends with "licence: N passed, M failed".
set -uo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "PASS: $*"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*"
}

license=$SOURCE_DIR/LICENSE
if [[ ! -f $license ]]; then
  fail "no LICENSE file"
elif [[ -f /usr/share/common-licenses/Apache-2.0 ]]; then
  if cmp -s "$license" /usr/share/common-licenses/Apache-2.0; then
    pass "LICENSE is the Apache License 2.0 (identical to /usr/share/common-licenses/Apache-2.0)"
  else
    fail "LICENSE differs from /usr/share/common-licenses/Apache-2.0"
  fi
elif grep -q 'Apache License' "$license" && grep -q 'Version 2.0, January 2004' "$license" &&
  grep -q 'END OF TERMS AND CONDITIONS' "$license"; then
  pass "LICENSE is the Apache License 2.0"
else
  fail "LICENSE is not the Apache License 2.0"
fi

if out=$("$SOURCE_DIR/packaging/spdx-headers.sh" --check "$SOURCE_DIR" 2>&1); then
  pass "every source file carries its SPDX-License-Identifier line"
else
  fail "source files without their SPDX line (packaging/spdx-headers.sh adds them):"
  sed 's/^/    /' <<<"$out"
fi

copyright=$SOURCE_DIR/packaging/debian/copyright
# Files: stanzas as "PATTERN|LICENSE", and the licences that have a text of their own.
stanzas=$(awk '/^Files:/ { files = $2 } /^License:/ && files != "" { sub(/^License: */, ""); print files "|" $0; files = "" }' "$copyright")
texts=$(awk '/^License:/ && prev == "" { sub(/^License: */, ""); print } { prev = (/^Files:/ ? "files" : (/^$/ ? "" : prev)) }' "$copyright")
ok=1
head -n 1 "$copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
  { fail "packaging/debian/copyright does not declare the DEP-5 format"; ok=0; }
grep -qx '\*|Apache-2.0' <<<"$stanzas" || { fail "packaging/debian/copyright: no 'Files: *' under Apache-2.0"; ok=0; }
grep -qx 'bpf/\*|LGPL-2.1 or BSD-2-Clause' <<<"$stanzas" ||
  { fail "packaging/debian/copyright: no 'Files: bpf/*' under LGPL-2.1 or BSD-2-Clause"; ok=0; }
for name in Apache-2.0 LGPL-2.1 BSD-2-Clause; do
  grep -qx "$name" <<<"$texts" || { fail "packaging/debian/copyright has no standalone License: $name paragraph"; ok=0; }
done
grep -q '/usr/share/common-licenses/Apache-2.0' "$copyright" ||
  { fail "packaging/debian/copyright does not point to /usr/share/common-licenses/Apache-2.0"; ok=0; }
((ok)) && pass "packaging/debian/copyright is DEP-5: Apache-2.0 for the tree, (LGPL-2.1 or BSD-2-Clause) for bpf/"

if grep -q 'org.opencontainers.image.licenses="Apache-2.0 AND (LGPL-2.1 OR BSD-2-Clause)"' \
  "$SOURCE_DIR/deploy/container/Containerfile"; then
  pass "the image's org.opencontainers.image.licenses label names Apache-2.0 and the BPF licence"
else
  fail "deploy/container/Containerfile lacks org.opencontainers.image.licenses=\"Apache-2.0 AND (LGPL-2.1 OR BSD-2-Clause)\""
fi

echo "licence: $passed passed, $failed failed"
((failed == 0))
