#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build the busybox initramfs the test VMs boot.
#
#   make-initramfs.sh OUTPUT [EXECMOND [WORKLOAD]]
#
# The image holds busybox, /init and /smoke-test.sh from guest/, and, when given, the
# execmond binary and the workload with every shared library `ldd` names (at the same
# paths, with the dynamic loader), so the host's build runs unchanged in the guest.
# Without EXECMOND the image only proves the VM boots (the smoke test reports that).
#
# For another architecture (tests/arm64/), whose binaries `ldd` cannot run:
#   EXECMOND_INITRAMFS_BUSYBOX  that architecture's static busybox
#   EXECMOND_INITRAMFS_SYSROOT  a root holding its C library (multiarch paths); each
#                               binary's loader and NEEDED libraries are taken from there
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE

die() { echo "make-initramfs: error: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 3 ]] || die "usage: make-initramfs.sh OUTPUT [EXECMOND [WORKLOAD]]"
readonly OUTPUT=$1 EXECMOND=${2:-} WORKLOAD=${3:-}
readonly SYSROOT=${EXECMOND_INITRAMFS_SYSROOT:-}
readonly BUSYBOX=${EXECMOND_INITRAMFS_BUSYBOX:-$(command -v busybox)}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# The libraries FILE names (NEEDED), from the sysroot into the image at the same paths,
# and theirs in turn.
install_needed() {
  local file=$1 needed candidate
  for needed in $(readelf -dW "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    for candidate in "$SYSROOT"/lib/*-linux-gnu/"$needed" "$SYSROOT"/usr/lib/*-linux-gnu/"$needed" \
      "$SYSROOT/lib/$needed" "$SYSROOT/usr/lib/$needed"; do
      if [[ -e $candidate ]]; then
        install_from_sysroot "${candidate#"$SYSROOT"}"
        continue 2
      fi
    done
    die "$file needs $needed, which $SYSROOT does not hold"
  done
}
install_from_sysroot() {
  local path=$1
  [[ -e $root$path ]] && return
  [[ -e $SYSROOT$path ]] || die "$path is not in $SYSROOT"
  mkdir -p "$root$(dirname "$path")"
  cp -L "$SYSROOT$path" "$root$path"
  install_needed "$SYSROOT$path"
}

# Copy an ELF file to DEST inside the image, and the libraries it is linked against.
install_elf() {
  local source=$1 dest=$2 lib
  [[ -x $source ]] || die "$source is not an executable"
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$source" "$root$dest"
  if [[ -n $SYSROOT ]]; then
    # A foreign binary: its loader (PT_INTERP, none if static) and libraries.
    local interpreter
    interpreter=$(readelf -lW "$source" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
    [[ -z $interpreter ]] || install_from_sysroot "$interpreter"
    install_needed "$source"
    return
  fi
  # "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"; a missing one
  # shows as "=> not found" and must stop the build, not the VM.
  if ldd "$source" 2>/dev/null | grep -q 'not found'; then
    die "$source needs libraries this machine lacks: $(ldd "$source" | grep 'not found')"
  fi
  for lib in $(ldd "$source" 2>/dev/null | grep -oE '/[^ ]+'); do
    [[ -e $root$lib ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,kt}
[[ -x $BUSYBOX ]] || die "no busybox: apt-get install busybox-static"
install_elf "$BUSYBOX" /bin/busybox
if [[ -n $SYSROOT ]]; then
  # A foreign busybox cannot list its applets on this host: /init runs
  # `busybox --install -s` first thing, through this one link.
  ln -s busybox "$root/bin/sh"
else
  for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
  done
fi
# Without a console node in the image the kernel starts /init with no stdout until it
# mounts devtmpfs; creating one needs root, so a non-root build goes without.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n' >"$root/etc/hosts"

install -m 755 "$HERE/guest/init" "$root/init"
install -m 755 "$HERE/guest/smoke-test.sh" "$root/smoke-test.sh"
install -m 755 "$HERE/guest/kt_probe.sh" "$root/kt/kt_probe.sh"
# log_level: debug makes execmond pass libbpf's and the verifier's log through; the
# guest falls back to the embedded configuration if this build does not accept it. The
# allow-list admits the workload where it is installed, not copies of it elsewhere.
printf 'log_level: debug\nbinaries:\n  allow: ["/usr/bin/*"]\n' >"$root/etc/execmond-debug.yaml"

[[ -n $EXECMOND ]] && install_elf "$EXECMOND" /usr/bin/execmond
[[ -n $WORKLOAD ]] && install_elf "$WORKLOAD" /usr/bin/execmond_workload

mkdir -p "$(dirname "$OUTPUT")"
(cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$OUTPUT.tmp"
mv "$OUTPUT.tmp" "$OUTPUT"
echo "make-initramfs: $OUTPUT ($(du -h "$OUTPUT" | cut -f1))" >&2
