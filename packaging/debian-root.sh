#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Clean Debian roots of a named release, cached and shared by every heavy test and by
# the package builds: made once with debootstrap, entered with systemd-nspawn, each run
# in a throwaway overlay so that the cache stays pristine.
#
#   debian-root.sh ensure   [OPTIONS] RELEASE            make or reuse; prints its path
#   debian-root.sh run      [OPTIONS] RELEASE -- CMD...  CMD in a throwaway overlay of it
#   debian-root.sh packages [OPTIONS] RELEASE            the packages the root holds
#
#   RELEASE   bullseye (11), bookworm (12) or trixie (13)
#   --arch A  amd64 or arm64 (default: the host's). A foreign one makes a cross-build
#             root: the host's architecture, `dpkg --add-architecture A`, the -dev
#             packages as :A, and crossbuild-essential-A (only for --set build)
#   --set S   base   an init, a bus and curl: what a fresh server has (default)
#             build  what packaging/quickstart.sh installs to build, plus ccache,
#                    dpkg-dev, file and lintian for the packages (no test tools)
#             NAME   any other name: only the --with packages
#   --with P[,P...]  more packages (part of the root's identity, like the set)
# run only:
#   --bind HOST[:INSIDE]  --bind-ro HOST[:INSIDE]   mounts into the root
#   --chdir DIR           --setenv VAR=VALUE
#   --ccache              a ccache directory per release and architecture, kept between
#                         runs (CCACHE_DIR inside)
#   --apt-cache           the release's .deb cache at /var/cache/apt/archives, so that
#                         apt-get install in the run downloads each package once
#   --private-network     no network (default: the host's, for apt)
#
# Roots live in $EXECMOND_ROOTS_CACHE (default /var/cache/execmond-test/roots), one per
# release, architecture and set: <release>-<arch>/<set>[-<hash of --with>]. Each holds
# a stamp (/.execmond-root) listing what it was made with; a root whose stamp differs
# from what is asked is rebuilt next to it and swapped in whole, so an interrupted build
# never leaves half a root cached. EXECMOND_ROOTS_REFRESH=1 rebuilds regardless (newer
# packages). Runs hold a shared lock on the root, a rebuild an exclusive one.
#
# Also sourced (tests/systemd/lib.sh, packaging/build-deb.sh): then it only defines the
# debian_root_* functions and runs nothing.
#
# Needs root, debootstrap, systemd-nspawn (systemd-container) and, for a cold root, a
# Debian mirror: the host's (from /etc/apt) or EXECMOND_DEBIAN_MIRROR and
# EXECMOND_DEBIAN_SECURITY_MIRROR. What is missing is named; nothing is skipped.

DEBIAN_ROOTS_CACHE=${EXECMOND_ROOTS_CACHE:-/var/cache/execmond-test/roots}
DEBIAN_ROOT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
DEBIAN_ROOT_SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Set by debian_root_ensure: the root's directory, and its stamp.
DEBIAN_ROOT=""

debian_root_die() {
  printf 'debian-root: %s\n' "$*" >&2
  exit 2
}
debian_root_log() { printf 'debian-root: %s\n' "$*" >&2; }

debian_root_need_tools() {
  local missing=()
  ((EUID == 0)) || debian_root_die "must run as root (debootstrap, systemd-nspawn, mounts)"
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v dpkg >/dev/null || missing+=(dpkg)
  [[ -r $DEBIAN_ROOT_KEYRING ]] || missing+=(debian-archive-keyring)
  ((${#missing[@]} == 0)) ||
    debian_root_die "missing: ${missing[*]} (apt-get install ${missing[*]}, or packaging/quickstart.sh test)"
}

debian_root_release_ok() {
  case $1 in
    bullseye | bookworm | trixie) ;;
    *) debian_root_die "unknown release '$1' (bullseye, bookworm or trixie)" ;;
  esac
}

# The Debian mirror this host's APT uses: the first URI ending in /debian (or
# /debian-security for $1 = security), from the one-line or the deb822 sources.
debian_root_mirror() {
  local kind=${1:-debian} uri
  if [[ $kind == debian && -n ${EXECMOND_DEBIAN_MIRROR:-} ]]; then
    echo "$EXECMOND_DEBIAN_MIRROR"
    return
  fi
  if [[ $kind == debian-security && -n ${EXECMOND_DEBIAN_SECURITY_MIRROR:-} ]]; then
    echo "$EXECMOND_DEBIAN_SECURITY_MIRROR"
    return
  fi
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE '(https?|file)://[^][ ]+' | sed 's:/*$::' | grep -E "/${kind}\$" | head -n1 || true)
  echo "${uri:-http://deb.debian.org/$kind}"
}

# --- Package sets ------------------------------------------------------------------------

# The packages of SET for RELEASE and ARCH, one a line, sorted: what the root holds.
debian_root_packages() {
  local release=$1 arch=$2 set=$3 with=$4 host_arch pkg
  host_arch=$(dpkg --print-architecture)
  local list=()
  case $set in
    base) list=(systemd systemd-sysv dbus curl) ;;
    build)
      local tools libraries
      mapfile -t tools < <("$DEBIAN_ROOT_SOURCE_DIR/packaging/quickstart.sh" packages build-tools)
      mapfile -t libraries < <("$DEBIAN_ROOT_SOURCE_DIR/packaging/quickstart.sh" packages build-libraries)
      ((${#tools[@]} && ${#libraries[@]})) || debian_root_die "quickstart.sh listed no build packages"
      # Building packages in the root: CPack's shlibdeps needs dpkg-dev and file; the
      # release's own lintian checks them.
      list=("${tools[@]}" ccache dpkg-dev file lintian)
      if [[ $arch == "$host_arch" ]]; then
        list+=("${libraries[@]}")
      else
        # A cross build: the compilers for ARCH, the libraries of ARCH (multiarch). The
        # tests are not built (Catch2 is only for them), the native g++ stays for CMake's
        # host tools.
        list+=("crossbuild-essential-$arch")
        for pkg in "${libraries[@]}"; do
          [[ $pkg == catch2 ]] || list+=("$pkg:$arch")
        done
      fi
      ;;
    *) ;;
  esac
  if [[ -n $with ]]; then
    local extra
    IFS=, read -r -a extra <<<"$with"
    list+=("${extra[@]}")
  fi
  ((${#list[@]})) || debian_root_die "the set '$set' holds no package (give --with)"
  printf '%s\n' "${list[@]}" | sort -u
}

# <release>-<arch>/<set>, plus a short hash of --with so that sets with other extras
# never evict each other.
debian_root_dir() {
  local release=$1 arch=$2 set=$3 with=$4 name=$3
  if [[ -n $with ]]; then
    name+="-$(printf '%s' "$with" | tr ',' '\n' | sort -u | md5sum | cut -c1-8)"
  fi
  echo "$DEBIAN_ROOTS_CACHE/$release-$arch/$name"
}

# --- The cached root ---------------------------------------------------------------------

# rm -rf that first unmounts whatever an interrupted build or run left mounted inside,
# and never crosses into another file system.
debian_root_remove_tree() {
  local dir=$1 target
  [[ -e $dir ]] || return 0
  dir=$(readlink -f "$dir")
  while read -r target; do
    umount --lazy "$target" 2>/dev/null || true
  done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

# systemd-nspawn's options that do not depend on the run: no machined and no scope on a
# host without systemd (CI images, containers).
debian_root_nspawn_base() {
  local args=(--quiet --machine="execmond-root-$$-$RANDOM")
  if [[ ! -d /run/systemd/system ]]; then args+=(--register=no --keep-unit); fi
  printf '%s\n' "${args[@]}"
}

# The root's sources: the release, its updates and its security archive.
debian_root_write_sources() {
  local root=$1 release=$2 mirror security
  mirror=$(debian_root_mirror debian)
  security=$(debian_root_mirror debian-security)
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $release main
deb $mirror $release-updates main
deb $security $release-security main
EOF
  # The mirror may be a dated snapshot, as the host's own.
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\nAcquire::Retries "3";\n' \
    >"$root/etc/apt/apt.conf.d/99execmond-root"
}

# Builds the root into NEW: debootstrap minbase, then apt in the root (it resolves
# alternatives and multiarch where debootstrap's resolver does not).
debian_root_build() {
  local new=$1 release=$2 arch=$3 packages=$4 host_arch mirror debs rc=0
  host_arch=$(dpkg --print-architecture)
  mirror=$(debian_root_mirror debian)
  debs="$DEBIAN_ROOTS_CACHE/debs/$release-$host_arch"
  mkdir -p "$debs"
  debian_root_log "building $new: Debian $release from $mirror (once; a few minutes)"
  debian_root_remove_tree "$new"
  # In the background, so that an interrupted run stops it too instead of leaving it
  # writing into the next run's tree.
  debootstrap --variant=minbase --arch="$host_arch" --cache-dir="$debs" \
    --keyring="$DEBIAN_ROOT_KEYRING" "$release" "$new" "$mirror" >"$new.log" 2>&1 &
  local pid=$!
  # (|| true: under set -e a killed debootstrap's status would end the trap early.)
  trap 'kill "$pid" 2>/dev/null; wait "$pid" || true; debian_root_remove_tree "$new"; exit 130' INT TERM
  wait "$pid" || rc=$?
  trap - INT TERM
  if ((rc)); then
    tail -n 15 "$new.log" >&2
    debian_root_die "debootstrap $release from $mirror failed (exit $rc; no network, or the mirror lacks $release? log: $new.log)"
  fi
  debian_root_write_sources "$new" "$release"
  local foreign=()
  if [[ $arch != "$host_arch" ]]; then foreign=(dpkg --add-architecture "$arch" '&&'); fi
  local nspawn
  mapfile -t nspawn < <(debian_root_nspawn_base)
  local -a install
  mapfile -t install <<<"$packages"
  # shellcheck disable=SC2016
  systemd-nspawn "${nspawn[@]}" --directory="$new" --pipe --bind="$debs:/var/cache/apt/archives" \
    -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    /bin/sh -c "${foreign[*]} apt-get -q update && apt-get -y -q --no-install-recommends install \"\$@\"" \
    sh "${install[@]}" </dev/null >>"$new.log" 2>&1 || rc=$?
  if ((rc)); then
    tail -n 25 "$new.log" >&2
    debian_root_die "installing the packages in the $release root failed (exit $rc; log: $new.log)"
  fi
  # A fresh machine id at each boot, a name to recognise in logs, no stale lists.
  : >"$new/etc/machine-id"
  echo execmond-test >"$new/etc/hostname"
  rm -rf "$new/var/lib/apt/lists/"* "$new/var/cache/apt/archives/"*.deb
  rm -f "$new.log"
}

# Makes the root of RELEASE/ARCH/SET (+WITH) if it is missing or stale, into DEBIAN_ROOT.
# The caller holds nothing afterwards; debian_root_hold keeps it from being swapped.
debian_root_ensure() {
  local release=$1 arch=$2 set=$3 with=${4:-} dir packages stamp
  debian_root_release_ok "$release"
  debian_root_need_tools
  packages=$(debian_root_packages "$release" "$arch" "$set" "$with")
  dir=$(debian_root_dir "$release" "$arch" "$set" "$with")
  stamp=$(printf 'release %s\narch %s\n%s\n' "$release" "$arch" "$packages")
  mkdir -p "$(dirname "$dir")"
  local fd
  exec {fd}>"$dir.lock"
  flock "$fd"
  if [[ ${EXECMOND_ROOTS_REFRESH:-0} != 1 && -f $dir/.execmond-root && "$(<"$dir/.execmond-root")" == "$stamp" ]]; then
    debian_root_log "using the cached root $dir"
  else
    [[ -d $dir ]] && debian_root_log "$dir was made with other packages: rebuilding it"
    debian_root_build "$dir.new" "$release" "$arch" "$packages"
    printf '%s\n' "$stamp" >"$dir.new/.execmond-root"
    debian_root_remove_tree "$dir"
    mv "$dir.new" "$dir"
  fi
  exec {fd}>&-
  DEBIAN_ROOT=$dir
}

# Takes a shared lock on DEBIAN_ROOT for as long as this shell lives: no rebuild swaps
# it away under a run's overlay.
debian_root_hold() {
  local fd
  exec {fd}>"$DEBIAN_ROOT.lock"
  flock -s "$fd"
}

# Mounts a throwaway overlay of DEBIAN_ROOT at WORK/root; copies the root where overlayfs
# is not available. Prints 1 if it mounted. The run's writes go to a tmpfs (WORK/rw):
# removing what a run installed (apt, Ansible: thousands of files) is then one umount,
# where rm -rf on a busy disk took minutes. debian_root_remove_tree WORK unmounts all.
debian_root_overlay() {
  local work=$1
  mkdir -p "$work/rw" "$work/root"
  mount -t tmpfs -o mode=0755 execmond-root-rw "$work/rw" ||
    debian_root_die "cannot mount a tmpfs on $work/rw"
  mkdir -p "$work/rw/upper" "$work/rw/work"
  if mount -t overlay overlay \
    -o "lowerdir=$DEBIAN_ROOT,upperdir=$work/rw/upper,workdir=$work/rw/work" "$work/root" 2>/dev/null; then
    echo 1
  else
    debian_root_log "overlayfs unavailable: copying the root"
    cp -a "$DEBIAN_ROOT/." "$work/root/"
    echo 0
  fi
}

# --- The command line --------------------------------------------------------------------

debian_root_usage() {
  sed -n '4,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

debian_root_main() {
  set -euo pipefail
  local command=${1:-}
  (($#)) && shift
  case $command in
    ensure | run | packages) ;;
    *) debian_root_usage ;;
  esac
  local arch set=base with="" release="" ccache=0 apt_cache=0 network=1 chdir=""
  arch=$(dpkg --print-architecture)
  local mounts=() env=()
  while (($#)); do
    case $1 in
      --arch) arch=$2; shift 2 ;;
      --set) set=$2; shift 2 ;;
      --with) with=${with:+$with,}$2; shift 2 ;;
      --bind | --bind-ro) mounts+=("$1=$2"); shift 2 ;;
      --chdir) chdir=$2; shift 2 ;;
      --setenv) env+=("$2"); shift 2 ;;
      --ccache) ccache=1; shift ;;
      --apt-cache) apt_cache=1; shift ;;
      --private-network) network=0; shift ;;
      --) shift; break ;;
      -*) debian_root_die "unknown option $1" ;;
      *)
        [[ -z $release ]] || debian_root_die "one release only ($release, then $1)"
        release=$1
        shift
        ;;
    esac
  done
  [[ -n $release ]] || debian_root_usage
  debian_root_release_ok "$release"
  case $arch in amd64 | arm64) ;; *) debian_root_die "unknown architecture '$arch' (amd64 or arm64)" ;; esac
  if [[ $arch != "$(dpkg --print-architecture)" && $set != build ]]; then
    debian_root_die "a $arch root on this $(dpkg --print-architecture) host is a cross-build root: --set build"
  fi
  case $command in
    packages)
      debian_root_packages "$release" "$arch" "$set" "$with"
      return
      ;;
    ensure)
      debian_root_ensure "$release" "$arch" "$set" "$with"
      echo "$DEBIAN_ROOT"
      return
      ;;
  esac
  (($#)) || debian_root_die "run: no command after --"
  debian_root_ensure "$release" "$arch" "$set" "$with"
  debian_root_hold

  local work mounted
  work=$(mktemp -d /var/tmp/execmond-root-run.XXXXXX)
  # shellcheck disable=SC2064
  trap "debian_root_remove_tree '$work'" EXIT
  trap 'exit 130' INT TERM
  mounted=$(debian_root_overlay "$work")
  local args
  mapfile -t args < <(debian_root_nspawn_base)
  args+=(--directory="$work/root")
  ((network)) || args+=(--private-network)
  [[ -t 0 && -t 1 ]] || args+=(--pipe)
  [[ -n $chdir ]] && args+=(--chdir="$chdir")
  local mount host inside
  for mount in "${mounts[@]}"; do
    host=${mount#*=}
    host=${host%%:*}
    [[ -e $host ]] || debian_root_die "${mount%%=*} $host: no such file or directory"
    args+=("$mount")
  done
  if ((ccache)); then
    mkdir -p "$DEBIAN_ROOTS_CACHE/ccache/$release-$arch"
    args+=(--bind="$DEBIAN_ROOTS_CACHE/ccache/$release-$arch:/var/cache/ccache")
    env+=(CCACHE_DIR=/var/cache/ccache)
  fi
  if ((apt_cache)); then
    inside="$DEBIAN_ROOTS_CACHE/debs/$release-$(dpkg --print-architecture)"
    mkdir -p "$inside"
    args+=(--bind="$inside:/var/cache/apt/archives")
  fi
  local rc=0
  systemd-nspawn "${args[@]}" -- /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "${env[@]}" "$@" || rc=$?
  if ((mounted)); then umount "$work/root" 2>/dev/null || umount --lazy "$work/root"; fi
  return "$rc"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  debian_root_main "$@"
fi
