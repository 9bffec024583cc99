// SPDX-License-Identifier: Apache-2.0
// Reads a file once and digests it with SHA-256 and MD5 together (OpenSSL's EVP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "binaries/content_digest.h"

// OpenSSL's context type, without its header (this folder alone links it).
struct evp_md_ctx_st;

namespace execmond {

class FileDigester {
 public:
  // Bytes read per system call: large enough that the calls cost nothing next to the
  // digests, small enough that a budget check comes every ~0.5 ms.
  static constexpr std::size_t kChunkBytes = 256 * 1024;
  // A larger file is not digested ("hash unknown"): its cost would be unbounded in the
  // worst case (a file that keeps growing while it is read).
  static constexpr std::uint64_t kMaxBytes = std::uint64_t{4} << 30;

  // Throws std::runtime_error when OpenSSL has no SHA-256 or MD5 (a FIPS-only provider
  // lacks MD5): the caller runs without content identity, and says so.
  FileDigester();
  ~FileDigester();
  FileDigester(const FileDigester&) = delete;
  FileDigester& operator=(const FileDigester&) = delete;

  enum class Outcome {
    digested,
    read_error,  // `error` holds the errno
    too_large,
    abandoned,  // after_chunk said stop
  };
  struct Result {
    Outcome outcome = Outcome::read_error;
    int error = 0;
    std::uint64_t bytes = 0;
    ContentDigest digest;
  };

  // Reads `fd` from offset 0 to its end. After each chunk, `after_chunk(bytes)` may
  // sleep (a budget) and returns false to abandon the file.
  Result digest(int fd, const std::function<bool(std::size_t)>& after_chunk);

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* context) const;
  };
  using Context = std::unique_ptr<evp_md_ctx_st, ContextDeleter>;
  Context sha256_;
  Context md5_;
  std::vector<unsigned char> buffer_;
};

}  // namespace execmond
