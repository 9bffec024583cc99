// SPDX-License-Identifier: Apache-2.0
// openat2(2), which glibc does not wrap. The portable build's glibc (Debian 11, 2.31)
// predates its syscall number in <sys/syscall.h>; the number is the same on every
// architecture (the generic table, since Linux 5.6).
#pragma once

#include <linux/openat2.h>
#include <sys/syscall.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
