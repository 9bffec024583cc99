// SPDX-License-Identifier: Apache-2.0
#include "binaries/file_digester.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace execmond {
namespace {

[[noreturn]] void fail(const char* what) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "no reason given";
  if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL: ") + what + ": " + reason);
}

// Every call is checked: a digest that silently failed would be a wrong identity.
void start(evp_md_ctx_st* context, const EVP_MD* type, const char* name) {
  if (type == nullptr) fail(name);
  if (EVP_DigestInit_ex(context, type, nullptr) != 1) fail(name);
}

template <std::size_t N>
void finish(evp_md_ctx_st* context, Digest<N>& digest, const char* name) {
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context, digest.bytes.data(), &size) != 1 || size != N) fail(name);
}

}  // namespace

void FileDigester::ContextDeleter::operator()(evp_md_ctx_st* context) const {
  EVP_MD_CTX_free(context);
}

FileDigester::FileDigester()
    : sha256_(EVP_MD_CTX_new()), md5_(EVP_MD_CTX_new()), buffer_(kChunkBytes) {
  if (!sha256_ || !md5_) fail("EVP_MD_CTX_new");
  // Probe both now, so that a missing algorithm is reported at start, not per file.
  start(sha256_.get(), EVP_sha256(), "SHA-256");
  start(md5_.get(), EVP_md5(), "MD5");
}

FileDigester::~FileDigester() = default;

FileDigester::Result FileDigester::digest(int fd,
                                          const std::function<bool(std::size_t)>& after_chunk) {
  Result result;
  start(sha256_.get(), EVP_sha256(), "SHA-256");
  start(md5_.get(), EVP_md5(), "MD5");
  for (;;) {
    const ssize_t got =
        ::pread(fd, buffer_.data(), buffer_.size(), static_cast<off_t>(result.bytes));
    if (got < 0) {
      if (errno == EINTR) continue;
      result.outcome = Outcome::read_error;
      result.error = errno;
      return result;
    }
    if (got == 0) break;
    const auto size = static_cast<std::size_t>(got);
    if (EVP_DigestUpdate(sha256_.get(), buffer_.data(), size) != 1) fail("SHA-256 update");
    if (EVP_DigestUpdate(md5_.get(), buffer_.data(), size) != 1) fail("MD5 update");
    result.bytes += size;
    if (result.bytes > kMaxBytes) {
      result.outcome = Outcome::too_large;
      return result;
    }
    if (!after_chunk(size)) {
      result.outcome = Outcome::abandoned;
      return result;
    }
  }
  finish(sha256_.get(), result.digest.sha256, "SHA-256 final");
  finish(md5_.get(), result.digest.md5, "MD5 final");
  result.outcome = Outcome::digested;
  return result;
}

}  // namespace execmond
