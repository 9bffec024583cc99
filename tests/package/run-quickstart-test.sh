#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# packaging/quickstart.sh test on a fresh machine of a release, in a clean root of it
# (packaging/debian-root.sh): a copy of this tree, the README's command, and of the
# suites the unit tests (the others need the host's kernel, systemd and network; they
# run on the host). Proves that the quick start's package lists exist on that release
# and that the whole tree, tests included, builds there with -Werror.
#
#   tests/package/run-quickstart-test.sh trixie
#
# The root holds the quick start's build and test packages already (its apt-get
# install then has nothing to do but must still succeed); ccache is kept between runs.
# Ends with "quickstart-test: N passed, M failed".
set -euo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
release=${1:-}
case $release in
  bookworm | trixie) ;;
  *) echo "usage: $0 bookworm|trixie" >&2; exit 2 ;;
esac
((EUID == 0)) || { echo "run-quickstart-test: must run as root (debootstrap, systemd-nspawn)" >&2; exit 2; }

test_packages=$("$SOURCE_DIR/packaging/quickstart.sh" packages test | paste -sd, -)
start=$SECONDS
rc=0
# A copy without the host's build tree: the quick start builds in ./build.
"$SOURCE_DIR/packaging/debian-root.sh" run "$release" --set build --with "$test_packages" \
  --ccache --apt-cache --bind-ro "$SOURCE_DIR:/src" \
  --setenv CMAKE_C_COMPILER_LAUNCHER=ccache --setenv CMAKE_CXX_COMPILER_LAUNCHER=ccache \
  --setenv EXECMOND_BUILD_JOBS="${EXECMOND_BUILD_JOBS:-$(nproc)}" -- /bin/sh -c '
    set -e
    mkdir /root/execmond
    tar -C /src --exclude=./build --exclude=./.git -cf - . | tar -C /root/execmond -xf -
    cd /root/execmond
    EXECMOND_UNIT_TEST_SPEC="~[host-namespaces]" packaging/quickstart.sh test -R "^unit\$" --no-tests=error
  ' || rc=$?
if ((rc)); then
  echo "FAIL: packaging/quickstart.sh test in a fresh $release root exited $rc"
  echo "quickstart-test: 0 passed, 1 failed"
  exit 1
fi
echo "PASS: packaging/quickstart.sh test in a fresh $release root: packages, -Werror build, unit tests but those tagged [host-namespaces] (they need the machine's initial namespaces, not a container's: the host's unit suite runs them) ($((SECONDS - start)) s)"
echo "quickstart-test: 1 passed, 0 failed"
