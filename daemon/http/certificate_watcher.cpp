// SPDX-License-Identifier: Apache-2.0
#include "http/certificate_watcher.h"

#include <spdlog/spdlog.h>

#include "config/config_error.h"

namespace execmond::http {

CertificateWatcher::CertificateWatcher(Renewed renewed, std::chrono::milliseconds period)
    : renewed_(std::move(renewed)), period_(period), thread_([this] { run(); }) {}

CertificateWatcher::~CertificateWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CertificateWatcher::watch(std::shared_ptr<const EndpointSecurity> security) {
  std::lock_guard lock(mutex_);
  watched_ = std::move(security);
}

void CertificateWatcher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, period_, [this] { return stopping_; });
    if (stopping_) return;
    const std::shared_ptr<const EndpointSecurity> security = watched_;
    lock.unlock();
    if (security && security->tls) check(security);
    lock.lock();
  }
}

void CertificateWatcher::check(const std::shared_ptr<const EndpointSecurity>& security) {
  std::string changed;
  for (const auto& [path, stamp] : security->tls_files) {
    if (stamp_of(path) != stamp) changed = path;
  }
  if (changed.empty()) return;
  try {
    std::shared_ptr<const EndpointSecurity> next = reread_certificates(*security);
    last_failure_.clear();
    spdlog::info("/metrics: {} changed: TLS certificates read again ({})", changed,
                 next->tls->subject());
    {
      // Checked against the new stamps from now on, even before the server installs it.
      std::lock_guard lock(mutex_);
      if (watched_ == security) watched_ = next;
    }
    renewed_(security, std::move(next));
  } catch (const std::exception& error) {
    // Half-written (a certificate without its new key yet): the old ones serve until the
    // files agree again.
    if (error.what() != last_failure_) {
      spdlog::warn(
          "/metrics: {} changed but cannot be used, still serving the previous "
          "certificate: {}",
          changed, error.what());
      last_failure_ = error.what();
    }
  }
}

}  // namespace execmond::http
