// SPDX-License-Identifier: Apache-2.0
// What a path that should name a regular file names instead, for an error message
// ("/etc/execmond/web.yml is a FIFO"): reading a FIFO or a device would block or never end.
#pragma once

#include <sys/stat.h>

namespace execmond {

inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace execmond
