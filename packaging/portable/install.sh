#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs execmond from this release tarball, as root:
#
#   ./install.sh [--prefix DIR] [--no-start]   the binary in DIR/sbin (/usr/local/sbin),
#                                               the man page, /etc/execmond/execmond.yaml
#                                               (an existing one is kept), the unit in
#                                               /etc/systemd/system; enables and starts it
#   ./install.sh --uninstall [--prefix DIR]     stops and removes all of it but the
#                                               configuration
#
# Needs Linux 5.8 or later with BTF (/sys/kernel/btf/vmlinux) and glibc 2.31 or later;
# everything else is inside the binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=/usr/local
start=1
uninstall=0
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
    --no-start) start=0 ;;
    --uninstall) uninstall=1 ;;
    -h | --help) sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

binary=$prefix/sbin/execmond
unit=/etc/systemd/system/execmond.service
systemd=0
[ -d /run/systemd/system ] && systemd=1

if [ "$uninstall" = 1 ]; then
  if [ "$systemd" = 1 ]; then systemctl disable --now execmond 2>/dev/null || true; fi
  rm -f "$binary" "$prefix/share/man/man8/execmond.8" "$unit"
  [ "$systemd" = 1 ] && systemctl daemon-reload
  echo "execmond removed; /etc/execmond is kept"
  exit 0
fi

# Refuse early, with the reason, what the daemon would refuse at start.
ldd_version=$(ldd --version 2>/dev/null | head -n1 | grep -oE '[0-9]+\.[0-9]+$' || true)
if [ -n "$ldd_version" ] &&
  [ "$(printf '%s\n2.31\n' "$ldd_version" | sort -V | head -n1)" != 2.31 ]; then
  echo "install.sh: this system's glibc is $ldd_version; execmond needs 2.31 or later" >&2
  exit 1
fi
[ -r /sys/kernel/btf/vmlinux ] ||
  echo "install.sh: warning: no /sys/kernel/btf/vmlinux: execmond needs a kernel with BTF (5.8+)" >&2

install -D -m 0755 "$here/execmond" "$binary"
install -D -m 0644 "$here/execmond.8" "$prefix/share/man/man8/execmond.8"
if [ -e /etc/execmond/execmond.yaml ]; then
  echo "keeping the existing /etc/execmond/execmond.yaml"
else
  install -D -m 0644 "$here/execmond.yaml" /etc/execmond/execmond.yaml
fi
"$binary" --check-config --config /etc/execmond/execmond.yaml

if [ "$systemd" = 0 ]; then
  echo "execmond installed as $binary; no systemd here: start it with"
  echo "  $binary --config /etc/execmond/execmond.yaml"
  exit 0
fi
sed "s|^ExecStart=/usr/local/sbin/execmond |ExecStart=$binary |" "$here/execmond.service" >"$unit"
chmod 0644 "$unit"
systemctl daemon-reload
if [ "$start" = 1 ]; then
  systemctl enable --now execmond
  echo "execmond installed and started: metrics on http://localhost:9717/metrics"
else
  echo "execmond installed: systemctl enable --now execmond"
fi
