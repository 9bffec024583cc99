#!/usr/bin/env bash
# Installs, upgrades and purges the Debian package the way an operator would, in a fresh
# Debian 12 root booted under a real systemd (systemd-nspawn), and proves what the
# package promises:
#   - `apt-get install ./execmond_<version>_<arch>.deb` pulls every library the binary
#     needs (Depends: from dpkg-shlibdeps) into a root that has none of them;
#   - the binary is in /usr/sbin, the unit in /lib/systemd/system names it, the
#     configuration is a conffile; the service is enabled and active (running) right
#     after the installation, and /metrics counts an exec;
#   - an upgrade to a rebuilt package (same build, a higher version) keeps an edited
#     configuration and restarts the service onto it;
#   - `apt-get remove` stops the service and frees its BPF programs; `apt-get purge`
#     leaves no unit, no configuration, no enablement or mask, and nothing attached in
#     the kernel (bpftool on the host);
#   - deploy/ansible's role, run in the container against itself, installs the package,
#     configures and restarts it from its variables, and a second run changes nothing.
#
# Usage: run-package-test.sh BUILD_DIR
#   BUILD_DIR is a configured and built tree: the test runs CPack on it twice, for the
#   version in the tree and for a higher one. As root, on a Debian 12 host whose kernel
#   has BTF and whose APT reaches a Debian mirror. About 40 s with the rootfs cached; the
#   first run debootstraps it (a minute or two). Ends with
#   "package-test: N passed, M failed"; exit 0 only if every check passed, 1 if one
#   failed, 2 if the test could not run. The container is torn down in every case.
# Environment:
#   EXECMOND_PACKAGE_ROOTFS_CACHE  the Debian rootfs kept between runs (default
#                                  /var/cache/execmond-test/rootfs-base): only systemd,
#                                  dbus and curl, so that the package must bring the rest
#   EXECMOND_DEBIAN_MIRROR         mirror for debootstrap and apt (default: the host's)
#   EXECMOND_TEST_KEEP=1           keep the run's work directory on exit
set -Eeuo pipefail

readonly SUITE=bookworm
# An init, a bus for systemctl, curl to scrape /metrics. Nothing execmond links against.
readonly BASE_PACKAGES=(systemd systemd-sysv dbus curl)
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly SOURCE_DIR
readonly CONFIG_FILE="$SOURCE_DIR/config/execmond.yaml"
readonly CACHE="${EXECMOND_PACKAGE_ROOTFS_CACHE:-/var/cache/execmond-test/rootfs-base}"
readonly STAMP_NAME=.execmond-test-rootfs
readonly PROGRAM_NAME_PATTERN='^handle_(exec|exit)'
readonly MACHINE="execmond-pkg-$$"
readonly TEST_NAME=package-test
# Libraries the package must pull in: if one is already in the root, the test proves
# nothing about Depends.
readonly PULLED_PACKAGES=(libbpf1 libspdlog1.10 libyaml-cpp0.7)
# The port the edited configuration moves /metrics to: the daemon answering there after
# the upgrade proves it runs on the kept edit.
readonly EDITED_PORT=9718
# What the Ansible role's run sets through its variables, to be read back on /metrics.
readonly ROLE_PORT=9719
readonly ROLE_MAX_COMM_SERIES=1234
readonly ANSIBLE_PACKAGES=(ansible-core python3-apt)
PROBE_COMM="xmpkg_$(printf '%06x' $(((RANDOM << 9 ^ RANDOM) & 0xffffff)))"
readonly PROBE_COMM
# shellcheck source=tests/systemd/lib.sh
source "$SOURCE_DIR/tests/systemd/lib.sh"

# --- The packages ----------------------------------------------------------------------

# CPack on BUILD_DIR into OUT_DIR, optionally with another version: prints the .deb.
build_package() {
  local build=$1 out=$2 version=${3:-} args=()
  [[ -n $version ]] && args+=(-D "CPACK_PACKAGE_VERSION=$version")
  cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" "${args[@]}" >"$out.log" 2>&1 ||
    die "cpack failed on $build: $(tail -n 5 "$out.log")"
  local debs=("$out"/execmond_*.deb)
  [[ -f ${debs[0]} && ${#debs[@]} -eq 1 ]] || die "cpack wrote no single execmond_*.deb in $out"
  echo "${debs[0]}"
}

# Runs a command in the run's root as an ordinary (not booted) container that shares the
# host's network: how the test lets apt reach the mirror before the boot.
in_root_with_network() {
  local args=(--quiet --directory="$WORK/root" --machine="$MACHINE-apt" --pipe)
  if [[ ! -d /run/systemd/system ]]; then args+=(--register=no --keep-unit); fi
  systemd-nspawn "${args[@]}" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@" </dev/null
}

# The booted container has no network of its own (its /metrics port clashes with
# nothing on the host): fetch the package lists and the dependencies' .debs first, with
# the host's network. `apt-get install` in the booted container then resolves Depends
# itself and takes the files from its cache.
stage_packages() {
  local root=$WORK/root deb
  mkdir -p "$root/var/tmp/execmond-debs"
  for deb in "$@"; do cp "$deb" "$root/var/tmp/execmond-debs/"; done
  # As the host's APT: the mirror may be a dated snapshot.
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
    >"$root/etc/apt/apt.conf.d/99execmond-test"
  log "apt-get update and download of execmond's dependencies (host network)"
  in_root_with_network apt-get update -q >"$WORK/apt-update.log" 2>&1 ||
    die "apt-get update in the test root failed: $(tail -n 5 "$WORK/apt-update.log")"
  in_root_with_network apt-get install -y -q --download-only \
    "/var/tmp/execmond-debs/$(basename "$1")" >"$WORK/apt-download.log" 2>&1 ||
    die "apt-get --download-only of the package's dependencies failed: $(tail -n 5 "$WORK/apt-download.log")"
  # For the Ansible role, run inside the container against itself.
  in_root_with_network apt-get install -y -q --download-only --no-install-recommends "${ANSIBLE_PACKAGES[@]}" \
    >"$WORK/apt-download-ansible.log" 2>&1 ||
    die "apt-get --download-only ${ANSIBLE_PACKAGES[*]} failed: $(tail -n 5 "$WORK/apt-download-ansible.log")"
  cp -r "$SOURCE_DIR/deploy/ansible" "$root/var/tmp/execmond-ansible"
  printf '[execmond]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' \
    >"$root/var/tmp/execmond-ansible/inventory.ini"
}

# --- Checks ----------------------------------------------------------------------------

# Debian's own checker: no error. Its warnings and notes are printed for the log.
check_lintian() {
  local deb=$1 out rc=0
  command -v lintian >/dev/null || die "lintian not found (apt-get install lintian)"
  out=$(lintian --fail-on error --pedantic --display-info "$deb" 2>&1) || rc=$?
  out=$(grep -v 'running with root privileges' <<<"$out" | sed 's/^/    /') || true
  if [[ -n $out ]]; then printf '%s\n' "$out"; fi
  ((rc == 0)) || fail "lintian reports errors on $(basename "$deb")"
  pass "lintian: no error in $(basename "$deb")"
}

# apt-get in the booted container, without network: everything comes from its cache.
apt_in_container() {
  in_container env DEBIAN_FRONTEND=noninteractive apt-get -y -q \
    -o Acquire::http::Timeout=5 "$@" </dev/null
}

installed_version() {
  in_container dpkg-query -W -f='${db:Status-Abbrev}${Version}' execmond 2>/dev/null || true
}

check_fresh_root() {
  local pkg
  for pkg in "${PULLED_PACKAGES[@]}"; do
    if in_container dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
      die "the cached rootfs $CACHE already holds $pkg: remove it to rebuild"
    fi
  done
  pass "the fresh root has none of ${PULLED_PACKAGES[*]}"
}

check_install() {
  local deb=$1 version=$2 pkg props
  apt_in_container install "/var/tmp/execmond-debs/$(basename "$deb")" >"$WORK/apt-install.log" 2>&1 ||
    fail "apt-get install ./$(basename "$deb") failed: $(tail -n 20 "$WORK/apt-install.log")"
  [[ "$(installed_version)" == "ii $version" ]] || fail "execmond is '$(installed_version)', expected 'ii $version'"
  for pkg in "${PULLED_PACKAGES[@]}"; do
    in_container dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' ||
      fail "apt-get install did not pull in $pkg"
  done
  pass "apt-get install ./$(basename "$deb") pulled in its dependencies (${PULLED_PACKAGES[*]}, ...)"

  local root=$WORK/root
  [[ -x $root/usr/sbin/execmond ]] || fail "no /usr/sbin/execmond"
  grep -qx 'ExecStart=/usr/sbin/execmond --config /etc/execmond/execmond.yaml' \
    "$root/lib/systemd/system/execmond.service" ||
    fail "/lib/systemd/system/execmond.service does not start /usr/sbin/execmond"
  in_container dpkg-query -W -f='${Conffiles}\n' execmond | grep -q '^ /etc/execmond/execmond.yaml ' ||
    fail "/etc/execmond/execmond.yaml is not a conffile"
  pass "/usr/sbin/execmond, its unit in /lib/systemd/system, /etc/execmond/execmond.yaml a conffile"

  # postinst started it: no systemctl from the test.
  local i
  for ((i = 0; i < 50; i++)); do
    props=$(in_container timeout 10 systemctl show execmond -p UnitFileState,ActiveState,SubState | sort | tr '\n' ' ')
    [[ $props == "ActiveState=active SubState=running UnitFileState=enabled " ]] && break
    sleep 0.2
  done
  [[ $props == "ActiveState=active SubState=running UnitFileState=enabled " ]] ||
    fail "after the installation execmond.service is $props"
  pass "the installation enabled and started execmond.service (active, running)"
  find_execmond
  EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
  awk -v p="$PROGRAM_NAME_PATTERN" '$2 ~ p { found = 1 } END { exit !found }' <<<"$EXECMOND_PROGRAMS" ||
    fail "the installed execmond holds no handle_exec*/handle_exit* BPF program"
}

# One exec of the probe in the container, counted on /metrics (a restarted daemon
# counts from 0 again).
check_counts() {
  local expected=$1
  in_container "/usr/local/bin/$PROBE_COMM" || fail "the probe $PROBE_COMM failed"
  wait_for_metric "execmond_execs_total{comm=\"$PROBE_COMM\"}" "$expected"
  pass "$METRICS_URL counts the probe's exec ($PROBE_COMM: $expected)"
}

check_upgrade() {
  local deb=$1 version=$2 old_pid=$EXECMOND_HOST_PID old_programs=$EXECMOND_PROGRAMS
  local config=$WORK/root/etc/execmond/execmond.yaml
  # The operator's edit: another port, and a line of their own.
  sed -i "s/^listen: .*/listen: \"0.0.0.0:$EDITED_PORT\"/" "$config"
  echo "# edited by the package test" >>"$config"
  apt_in_container install "/var/tmp/execmond-debs/$(basename "$deb")" >"$WORK/apt-upgrade.log" 2>&1 ||
    fail "the upgrade to $(basename "$deb") failed: $(tail -n 20 "$WORK/apt-upgrade.log")"
  [[ "$(installed_version)" == "ii $version" ]] || fail "after the upgrade execmond is '$(installed_version)'"
  if ! grep -qx "listen: \"0.0.0.0:$EDITED_PORT\"" "$config" || ! grep -qx '# edited by the package test' "$config"; then
    fail "the upgrade did not keep the edited /etc/execmond/execmond.yaml"
  fi
  [[ ! -e $config.dpkg-new && ! -e $config.dpkg-dist ]] || fail "the upgrade left a .dpkg-new/.dpkg-dist next to the config"
  pass "the upgrade to $version kept the edited configuration"
  local props i
  for ((i = 0; i < 50; i++)); do
    props=$(in_container timeout 10 systemctl show execmond -p ActiveState,SubState | sort | tr '\n' ' ')
    [[ $props == "ActiveState=active SubState=running " ]] && break
    sleep 0.2
  done
  [[ $props == "ActiveState=active SubState=running " ]] || fail "after the upgrade execmond.service is $props"
  find_execmond
  [[ $EXECMOND_HOST_PID != "$old_pid" ]] || fail "the upgrade did not restart execmond (same pid $old_pid)"
  wait_programs_freed "$old_programs"
  EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
  METRICS_URL="http://127.0.0.1:$EDITED_PORT/metrics"
  pass "the upgrade restarted execmond onto the new binary and the edited configuration"
}

check_remove_and_purge() {
  local root=$WORK/root
  apt_in_container remove execmond >"$WORK/apt-remove.log" 2>&1 ||
    fail "apt-get remove execmond failed: $(tail -n 20 "$WORK/apt-remove.log")"
  [[ "$(in_container timeout 10 systemctl show -p ActiveState --value execmond)" == inactive ]] ||
    fail "apt-get remove left execmond running"
  wait_programs_freed "$EXECMOND_PROGRAMS"
  [[ -f $root/etc/execmond/execmond.yaml ]] || fail "apt-get remove deleted the configuration (only purge should)"
  pass "apt-get remove stopped execmond, freed its BPF programs and kept the configuration"

  apt_in_container purge execmond >"$WORK/apt-purge.log" 2>&1 ||
    fail "apt-get purge execmond failed: $(tail -n 20 "$WORK/apt-purge.log")"
  [[ -z "$(installed_version)" ]] || fail "dpkg still knows execmond after the purge: '$(installed_version)'"
  local path left=()
  for path in /usr/sbin/execmond /lib/systemd/system/execmond.service /etc/execmond \
    /etc/systemd/system/execmond.service /etc/systemd/system/multi-user.target.wants/execmond.service \
    /var/lib/systemd/deb-systemd-helper-enabled/execmond.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/execmond.service \
    /var/lib/systemd/deb-systemd-helper-masked/execmond.service /usr/share/doc/execmond; do
    if [[ -e $root$path || -L $root$path ]]; then left+=("$path"); fi
  done
  ((${#left[@]} == 0)) || fail "apt-get purge left ${left[*]}"
  [[ "$(in_container timeout 10 systemctl show -p LoadState --value execmond)" == not-found ]] ||
    fail "systemd still has a unit execmond.service after the purge"
  local status pid
  while read -r status; do
    pid=${status#/proc/}
    pid=${pid%/status}
    [[ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" == "$LEADER_PIDNS" ]] &&
      fail "an execmond process (host pid $pid) still runs in the container after the purge"
  done < <(grep -lx 'Name:[[:space:]]*execmond' /proc/[0-9]*/status 2>/dev/null || true)
  pass "apt-get purge left no binary, unit, configuration, enablement or mask, no execmond process, and its BPF programs freed"
}

# deploy/ansible's role, as an operator runs it, on the purged container (a host that
# never had execmond): it installs the package, writes the configuration from its
# variables, restarts onto it, checks /metrics; a second run changes nothing.
run_role() {
  in_container env HOME=/root ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=/tmp ANSIBLE_RETRY_FILES_ENABLED=0 \
    ansible-playbook -i /var/tmp/execmond-ansible/inventory.ini /var/tmp/execmond-ansible/site.yml \
    -e ansible_become=false -e "execmond_deb_src=/var/tmp/execmond-debs/$(basename "$1")" \
    -e execmond_listen=0.0.0.0:$ROLE_PORT -e execmond_max_comm_series=$ROLE_MAX_COMM_SERIES </dev/null
}

check_ansible_role() {
  local deb=$1 out
  # Byte-compiling ansible-core's thousands of modules in its postinst takes minutes on
  # a busy 2-core CI machine: a no-op py3compile earlier on dpkg's PATH skips it (Python
  # compiles what it imports).
  printf '#!/bin/sh\nexit 0\n' >"$WORK/root/usr/local/bin/py3compile"
  chmod 0755 "$WORK/root/usr/local/bin/py3compile"
  # Without Recommends: they bring the whole `ansible` collection set.
  apt_in_container install --no-install-recommends "${ANSIBLE_PACKAGES[@]}" >"$WORK/apt-ansible.log" 2>&1 ||
    fail "installing ${ANSIBLE_PACKAGES[*]} in the container failed: $(tail -n 20 "$WORK/apt-ansible.log")"
  out=$(run_role "$deb" 2>&1) || fail "ansible-playbook site.yml failed: $(tail -n 30 <<<"$out")"
  [[ "$(installed_version)" == ii* ]] || fail "the role did not install the package"
  grep -qx "max_comm_series: $ROLE_MAX_COMM_SERIES" "$WORK/root/etc/execmond/execmond.yaml" ||
    fail "the role did not write max_comm_series: $ROLE_MAX_COMM_SERIES into the configuration"
  METRICS_URL="http://127.0.0.1:$ROLE_PORT/metrics"
  wait_for_metric execmond_comm_series_limit "$ROLE_MAX_COMM_SERIES"
  pass "the Ansible role installed the package and restarted execmond onto its configuration ($METRICS_URL, max_comm_series $ROLE_MAX_COMM_SERIES)"
  out=$(run_role "$deb" 2>&1) || fail "the second ansible-playbook run failed: $(tail -n 30 <<<"$out")"
  grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' <<<"$out" ||
    fail "the second run of the role changed something: $(grep -A3 'PLAY RECAP' <<<"$out")"
  pass "a second run of the role changes nothing"
}

main() {
  (($# == 1)) || die "usage: $0 BUILD_DIR"
  local build
  build=$(readlink -f "$1") || die "$1: no such directory"
  [[ -f $build/CPackConfig.cmake ]] || die "$build has no CPackConfig.cmake: configure it with cmake first"
  ((EUID == 0)) || die "must run as root (debootstrap, systemd-nspawn, bpftool)"
  command -v cpack >/dev/null || die "cpack not found (Debian package cmake)"
  need_tools
  ensure_rootfs "${BASE_PACKAGES[@]}"

  WORK=$(mktemp -d /var/tmp/execmond-package-test.XXXXXX)
  trap teardown EXIT
  trap 'printf "run-package-test: unexpected failure at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT TERM

  local version upgrade_version deb upgrade_deb
  version=$(awk -F'"' '$1 == "set(CPACK_PACKAGE_VERSION " { print $2; exit }' "$build/CPackConfig.cmake")
  [[ -n $version ]] || die "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake"
  # What a rebuild for the next release would be: the same tree, a higher version.
  upgrade_version="$version+upgrade1"
  deb=$(build_package "$build" "$WORK/package")
  upgrade_deb=$(build_package "$build" "$WORK/package-upgrade" "$upgrade_version")
  [[ $(basename "$deb") == execmond_"${version}"_*.deb ]] || die "unexpected package name $(basename "$deb")"
  log "packages: $(basename "$deb"), $(basename "$upgrade_deb")"
  check_lintian "$deb"

  prepare_root
  stage_packages "$deb" "$upgrade_deb"
  printf '#!/bin/sh\nexit 0\n' >"$WORK/root/usr/local/bin/$PROBE_COMM"
  chmod 0755 "$WORK/root/usr/local/bin/$PROBE_COMM"
  METRICS_URL=$(metrics_url)
  boot_container
  check_fresh_root
  check_install "$deb" "$version"
  check_counts 1
  check_upgrade "$upgrade_deb" "$upgrade_version"
  check_counts 1
  check_remove_and_purge
  check_ansible_role "$deb"
  printf '%s: %d passed, 0 failed\n' "$TEST_NAME" "$PASSED"
}

main "$@"
