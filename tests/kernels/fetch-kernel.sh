#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Fetch one Debian cloud kernel into the cache, leaving the system's apt untouched.
#
#   fetch-kernel.sh NAME PACKAGE_REGEX
#
# Prints the directory holding `vmlinuz`, `config` and `package` (name and version).
# A kernel already in the cache is reused without any network access; set
# EXECMOND_KERNEL_REFRESH=1 to look for a newer one.
#
# apt runs on a private tree under $EXECMOND_KERNEL_CACHE/apt (its own sources.list,
# lists, archives and dpkg status) and only downloads: nothing is installed.
# EXECMOND_KERNEL_ARCH=arm64 fetches an arm64 kernel (default: amd64) through a tree of
# its own, apt-arm64; NAME should then say the architecture (e.g. arm64-6.1).
set -euo pipefail

readonly CACHE="${EXECMOND_KERNEL_CACHE:-/var/cache/execmond-test/kernels}"
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly ARCH=${EXECMOND_KERNEL_ARCH:-amd64}
# Debian's cloud kernels need none of these as modules for an initramfs-only VM
# with a serial console and loopback networking: the PC's 8250 UART under
# qemu-system-x86_64, the PL011 of qemu's arm64 "virt" machine.
case $ARCH in
  amd64) SERIAL_CONFIG=(CONFIG_SERIAL_8250 CONFIG_SERIAL_8250_CONSOLE) ;;
  arm64) SERIAL_CONFIG=(CONFIG_SERIAL_AMBA_PL011 CONFIG_SERIAL_AMBA_PL011_CONSOLE) ;;
  *) echo "fetch-kernel: error: EXECMOND_KERNEL_ARCH must be amd64 or arm64" >&2; exit 1 ;;
esac
readonly REQUIRED_CONFIG=(
  CONFIG_BPF_SYSCALL CONFIG_BPF_JIT CONFIG_DEBUG_INFO_BTF CONFIG_BLK_DEV_INITRD
  CONFIG_RD_GZIP CONFIG_DEVTMPFS CONFIG_PROC_FS CONFIG_SYSFS "${SERIAL_CONFIG[@]}"
  CONFIG_NET CONFIG_INET CONFIG_UNIX
)

log() { echo "fetch-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 2 ]] || die "usage: fetch-kernel.sh NAME PACKAGE_REGEX"
readonly NAME=$1 PATTERN=$2
readonly IMAGE_DIR="$CACHE/images/$NAME"
APT_DIR="$CACHE/apt"
[[ $ARCH == amd64 ]] || APT_DIR="$CACHE/apt-$ARCH"
readonly APT_DIR

# The Debian mirror this machine already uses: the first URI ending in /debian or
# /debian-security in its one-line or deb822 sources.
mirror_uri() {
  local suffix=$1 fallback=$2 uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
          /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE '(https?|file)://[^][ ]+' | sed 's:/*$::' |
        grep -E "/${suffix}\$" | head -n1 || true)
  echo "${uri:-$fallback}"
}

write_sources() {
  local main security
  main=${EXECMOND_DEBIAN_MIRROR:-$(mirror_uri debian http://deb.debian.org/debian)}
  security=${EXECMOND_DEBIAN_SECURITY_MIRROR:-$(mirror_uri debian-security \
    http://deb.debian.org/debian-security)}
  log "mirrors: $main and $security"
  cat >"$APT_DIR/sources.list" <<EOF
deb [signed-by=$KEYRING] $main trixie main
deb [signed-by=$KEYRING] $main trixie-updates main
deb [signed-by=$KEYRING] $security trixie-security main
deb [signed-by=$KEYRING] $main bookworm main
deb [signed-by=$KEYRING] $main bookworm-updates main
deb [signed-by=$KEYRING] $security bookworm-security main
deb [signed-by=$KEYRING] $main bullseye main
deb [signed-by=$KEYRING] $security bullseye-security main
EOF
}

APT_OPTIONS=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache"
  -o "Dir::Cache::Archives=$APT_DIR/archives" -o "Dir::State::status=$APT_DIR/status"
  -o APT::Sandbox::User=root -o Acquire::Retries=2
  -o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH"
)

check_config() {
  local config=$1 option missing=()
  for option in "${REQUIRED_CONFIG[@]}"; do
    grep -qx "$option=y" "$config" || missing+=("$option")
  done
  [[ ${#missing[@]} -eq 0 ]] ||
    die "$NAME: the kernel lacks built-in ${missing[*]} (see $config)"
}

if [[ -s "$IMAGE_DIR/vmlinuz" && -s "$IMAGE_DIR/package" && "${EXECMOND_KERNEL_REFRESH:-0}" != 1 ]]; then
  log "$NAME: cached $(cat "$IMAGE_DIR/package")"
  echo "$IMAGE_DIR"
  exit 0
fi

[[ -r $KEYRING ]] || die "$KEYRING is missing: apt-get install debian-archive-keyring"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$APT_DIR/cache" "$CACHE/debs"
touch "$APT_DIR/status"
write_sources
log "updating the private package lists"
apt-get "${APT_OPTIONS[@]}" -qq update >&2 || die "apt-get update failed (see above)"

mapfile -t candidates < <(apt-cache "${APT_OPTIONS[@]}" pkgnames linux-image- |
  grep -E "^(${PATTERN})\$" | sort -rV)
[[ ${#candidates[@]} -gt 0 ]] || die "no package matches $PATTERN"

# The .deb of PACKAGE at VERSION in the download directory, if it is there.
downloaded() {
  local files=("$CACHE/debs/${1}_${2//:/%3a}_"*.deb)
  [[ -e ${files[0]} ]] && echo "${files[0]}"
}

deb=""
for package in "${candidates[@]}"; do
  version=$(apt-cache "${APT_OPTIONS[@]}" show --no-all-versions "$package" |
    sed -n 's/^Version: //p' | head -n1)
  deb=$(downloaded "$package" "$version") && break
  log "$NAME: downloading $package $version"
  if (cd "$CACHE/debs" && apt-get "${APT_OPTIONS[@]}" -qq download "$package" >&2); then
    deb=$(downloaded "$package" "$version") && break
  fi
  log "$NAME: $package $version is listed but not served; trying an older one"
done
[[ -n $deb ]] || die "$NAME: no candidate could be downloaded: ${candidates[*]}"

scratch=$(mktemp -d "$CACHE/extract.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
dpkg-deb -x "$deb" "$scratch"
shopt -s nullglob
boot_files=("$scratch"/boot/vmlinuz-* "$scratch"/boot/config-*)
shopt -u nullglob
[[ ${#boot_files[@]} -eq 2 ]] || die "$deb holds no single /boot/vmlinuz-* and config-*"
check_config "${boot_files[1]}"

# Older downloads of this kernel are superseded by the one just extracted.
for old in "$CACHE"/debs/*.deb; do
  if [[ $old != "$deb" && $(basename "$old") =~ ^(${PATTERN})_ ]]; then rm -f "$old"; fi
done
rm -rf "$IMAGE_DIR"
mkdir -p "$IMAGE_DIR"
cp "${boot_files[0]}" "$IMAGE_DIR/vmlinuz"
cp "${boot_files[1]}" "$IMAGE_DIR/config"
dpkg-deb -f "$deb" Package Version | awk '{printf "%s%s", (NR > 1 ? " " : ""), $2} END {print ""}' \
  >"$IMAGE_DIR/package"
log "$NAME: ready $(cat "$IMAGE_DIR/package")"
echo "$IMAGE_DIR"
