// SPDX-License-Identifier: Apache-2.0
// The files a web configuration names (certificate, key, client CA), read the way the
// configuration files are: a regular file of bounded size or an error that says what it
// is. A FIFO or a device named as cert_file would otherwise block the thread that opens
// it, which at start and on SIGHUP is the thread that handles SIGTERM.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

namespace execmond::http {

// What identifies a file's content without reading it: when any of these changes, the
// file was replaced or written.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  long long modified_ns = 0;
  long long changed_ns = 0;

  bool operator==(const FileStamp& other) const;
  bool operator!=(const FileStamp& other) const { return !(*this == other); }
};

// stat() of `path`, following links; nullopt if it cannot be.
std::optional<FileStamp> stamp_of(const std::string& path);

// The whole file, at most 1 MiB (a CA bundle is a few hundred KiB). A ConfigError that
// starts with `at` ("web.yml:3:14: tls_server_config.cert_file") on any problem.
std::string read_credential_file(const std::string& path, const std::string& at);

}  // namespace execmond::http
