#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installed in the guest as /kt/kt_probe, so execmond sees the comm "kt_probe".
#   kt_probe               exit 0
#   kt_probe exit CODE     exit CODE
#   kt_probe signal NAME   die by signal NAME
# Only shell builtins: the process never forks a child that would exit under its name.
case "$1" in
  exit) exit "$2" ;;
  signal) kill -s "$2" $$ ;;
esac
exit 0
