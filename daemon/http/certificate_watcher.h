// SPDX-License-Identifier: Apache-2.0
// Renewed certificates without a SIGHUP, as the exporter-toolkit (which reads them on
// every handshake) and certificate tooling (cert-manager, certbot's deploy hooks) expect:
// once a second a thread of its own compares the stamps of the TLS files with those they
// had when read, and on a change reads them again. Reading happens here, never on the
// event loop or the thread that handles signals.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "http/endpoint_security.h"

namespace execmond::http {

class CertificateWatcher {
 public:
  // `renewed(base, next)`: `next` is `base` with its files read again. Called on the
  // watcher's thread; the receiver ignores it if `base` is no longer in use.
  using Renewed = std::function<void(std::shared_ptr<const EndpointSecurity> base,
                                     std::shared_ptr<const EndpointSecurity> next)>;

  CertificateWatcher(Renewed renewed, std::chrono::milliseconds period);
  ~CertificateWatcher();
  CertificateWatcher(const CertificateWatcher&) = delete;
  CertificateWatcher& operator=(const CertificateWatcher&) = delete;

  // The configuration in use now (at start, after every reload and renewal).
  void watch(std::shared_ptr<const EndpointSecurity> security);

 private:
  void run();
  void check(const std::shared_ptr<const EndpointSecurity>& security);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::shared_ptr<const EndpointSecurity> watched_;
  std::string last_failure_;  // logged once, not every second
  Renewed renewed_;
  std::chrono::milliseconds period_;
  std::thread thread_;
};

}  // namespace execmond::http
