// SPDX-License-Identifier: Apache-2.0
// The server end to end on loopback, without BPF: what reload() and rebind() promise the
// daemon's SIGHUP handling.
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "config/config_error.h"
#include "http/metrics_server.h"

namespace execmond::http {
namespace {

// One request on a new connection; the whole response, or "" if nobody listens.
std::string http_exchange(std::uint16_t port, const std::string& request) {
  FileDescriptor fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  timeval timeout{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "";
  REQUIRE(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t count; (count = recv(fd.get(), buffer, sizeof buffer, 0)) > 0;) {
    response.append(buffer, static_cast<std::size_t>(count));
  }
  return response;
}

std::string get(std::uint16_t port, const std::string& extra_headers = "") {
  return http_exchange(
      port, "GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n" + extra_headers + "\r\n");
}

std::shared_ptr<const Collector> registry_with_counter() {
  struct Counter : Collector {
    void collect(MetricWriter& out) const override {
      write_single_sample(out, "test_scrapes_total", MetricType::kCounter, "h", 3);
    }
  };
  return std::make_shared<Counter>();
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/execmond-test-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

// Regression: a scrape before the programs were attached answered 200 with nothing in it,
// and the kernel smoke test went on before execmond counted anything.
TEST_CASE("/metrics answers 503 until the daemon marks the server ready") {
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  server.add_collector(registry_with_counter());
  const std::string early = get(server.port());
  CHECK(early.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(early.find("Retry-After: 1\r\n") != std::string::npos);
  server.mark_ready();
  CHECK(get(server.port()).find("test_scrapes_total 3") != std::string::npos);
}

TEST_CASE("the server serves its collectables and forgets removed ones") {
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  server.mark_ready();
  const auto registry = registry_with_counter();
  server.add_collector(registry);
  const std::string response = get(server.port());
  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(response.find("test_scrapes_total 3") != std::string::npos);
  server.remove_collector(registry);
  const std::string empty = get(server.port());
  CHECK(empty.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(empty.find("test_scrapes_total") == std::string::npos);
}

TEST_CASE("Accept picks the format, Accept-Encoding the encoding, HEAD the same headers") {
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  server.mark_ready();
  server.add_collector(registry_with_counter());
  const std::string protobuf_accept =
      "Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
      "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3\r\n";
  const auto header = [](const std::string& response, const std::string& name) {
    const std::size_t at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos) return std::string();
    const std::size_t start = at + name.size() + 4;
    return response.substr(start, response.find("\r\n", start) - start);
  };
  const auto body = [](const std::string& response) {
    return response.substr(response.find("\r\n\r\n") + 4);
  };

  const std::string text = get(server.port());
  CHECK(header(text, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(header(text, "Content-Encoding").empty());
  CHECK(header(text, "Vary") == "Accept, Accept-Encoding");
  CHECK(body(text).rfind("# HELP test_scrapes_total h\n# TYPE test_scrapes_total counter\n"
                         "test_scrapes_total 3\n",
                         0) == 0);
  CHECK(header(text, "Content-Length") == std::to_string(body(text).size()));

  const std::string protobuf = get(server.port(), protobuf_accept);
  CHECK(header(protobuf, "Content-Type") ==
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
        "encoding=delimited");
  // Delimited MetricFamily messages: a length, then name (field 1, 18 bytes), help...
  const std::string message = body(protobuf);
  REQUIRE(message.size() > 21);
  CHECK(static_cast<unsigned char>(message[0]) < message.size());
  CHECK(message.substr(1, 20) == std::string("\x0a\x12test_scrapes_total"));

  const std::string zipped = get(server.port(), protobuf_accept + "Accept-Encoding: gzip\r\n");
  CHECK(header(zipped, "Content-Encoding") == "gzip");
  CHECK(header(zipped, "Content-Length") == std::to_string(body(zipped).size()));
  CHECK(body(zipped).substr(0, 2) == "\x1f\x8b");  // a gzip member

  const std::string head = http_exchange(
      server.port(), "HEAD /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  // The GET's length, give or take the endpoint's own gauges (bytes held for clients,
  // responses counted), which move between two scrapes.
  const long head_length = std::stol(header(head, "Content-Length"));
  const long text_length = std::stol(header(text, "Content-Length"));
  CHECK(head_length > 0);
  CHECK(std::abs(head_length - text_length) < 64);
  CHECK(body(head).empty());
}

TEST_CASE("rebind moves the endpoint and keeps what it serves") {
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  server.mark_ready();
  server.add_collector(registry_with_counter());
  const std::uint16_t old_port = server.port();
  server.rebind(parse_listen_address("127.0.0.1:0"));
  const std::uint16_t new_port = server.port();
  REQUIRE(new_port != old_port);
  CHECK(get(new_port).find("test_scrapes_total 3") != std::string::npos);
  CHECK(get(old_port).empty());  // nobody listens there any more
  // An address in use: refused, and the endpoint stays where it is.
  MetricsServer other(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  CHECK_THROWS_AS(server.rebind(parse_listen_address("127.0.0.1:" + std::to_string(other.port()))),
                  ListenError);
  CHECK(server.port() == new_port);
  CHECK(get(new_port).find("test_scrapes_total 3") != std::string::npos);
}

TEST_CASE("reload applies a new web configuration; a bad one changes nothing") {
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  server.mark_ready();
  server.add_collector(registry_with_counter());

  const std::string bad = write_file("bad.yml", "basic_auth_users:\n  alice: secret\n");
  CHECK_THROWS_WITH(server.reload(bad), Catch::Contains(bad + ":2:10:"));
  CHECK(get(server.port()).find("test_scrapes_total 3") != std::string::npos);

  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const std::string hash = crypt_rn("pw", salt, &data, sizeof data);
  const std::string good = write_file("good.yml", "basic_auth_users:\n  alice: " + hash + "\n");
  server.reload(good);
  const std::string refused = get(server.port());
  CHECK(refused.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  CHECK(refused.find("WWW-Authenticate: Basic realm=\"execmond\"") != std::string::npos);
  // alice:pw
  CHECK(get(server.port(), "Authorization: Basic YWxpY2U6cHc=\r\n").find("test_scrapes_total 3") !=
        std::string::npos);
  server.reload(std::nullopt);
  CHECK(get(server.port()).find("test_scrapes_total 3") != std::string::npos);
  std::remove(bad.c_str());
  std::remove(good.c_str());
}

// A kept-alive connection: requests one after another, each response read whole.
class KeptAlive {
 public:
  explicit KeptAlive(std::uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_);
    timeval timeout{5, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  // The response's head and body, or "" once the server has closed the connection.
  std::string request(const std::string& path, const std::string& headers = "") {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: h\r\n" + headers + "\r\n";
    if (send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return "";
    std::string response;
    char buffer[4096];
    while (true) {
      const auto head_end = response.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto length_at = response.find("Content-Length: ");
        const std::size_t length = std::stoul(response.substr(length_at + 16));
        if (response.size() >= head_end + 4 + length) return response;
      }
      const ssize_t count = recv(fd_.get(), buffer, sizeof buffer, 0);
      if (count <= 0) return "";
      response.append(buffer, static_cast<std::size_t>(count));
    }
  }

 private:
  FileDescriptor fd_;
};

std::string bcrypt_hash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  return crypt_rn(password.c_str(), salt, &data, sizeof data);
}

// Regression: after a reload from basic auth to other credentials (or to TLS), a
// keep-alive connection opened before it went on getting 200 under the old rules.
TEST_CASE("a reload that changes who may connect ends the connections admitted before") {
  const std::string users =
      write_file("users.yml", "basic_auth_users:\n  alice: " + bcrypt_hash("pw") + "\n");
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(users));
  server.mark_ready();
  server.add_collector(registry_with_counter());
  const std::string alice = "Authorization: Basic YWxpY2U6cHc=\r\n";  // alice:pw
  KeptAlive before(server.port());
  CHECK(before.request("/metrics", alice).find("test_scrapes_total 3") != std::string::npos);
  // The same file again: nothing changed, the connection stays.
  server.reload(users);
  CHECK(before.request("/metrics", alice).find("test_scrapes_total 3") != std::string::npos);
  // alice's password changes: the connection admitted under the old one ends.
  const std::string changed =
      write_file("changed.yml", "basic_auth_users:\n  alice: " + bcrypt_hash("new") + "\n");
  server.reload(changed);
  CHECK(before.request("/metrics", alice).empty());
  KeptAlive after(server.port());
  CHECK(after.request("/metrics", alice).rfind("HTTP/1.1 401", 0) == 0);
  CHECK(after.request("/metrics", "Authorization: Basic YWxpY2U6bmV3\r\n")
            .find("test_scrapes_total 3") != std::string::npos);
  std::remove(users.c_str());
  std::remove(changed.c_str());
}

TEST_CASE("configured headers are on every response, and rate_limit answers 429") {
  const std::string web = write_file("headers.yml",
                                     "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
                                     "    Content-Security-Policy: default-src 'none'\n"
                                     "rate_limit:\n  interval: 1h\n  burst: 3\n");
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(web));
  server.mark_ready();
  KeptAlive client(server.port());
  for (const std::string path : {"/metrics", "/", "/nope"}) {
    const std::string response = client.request(path);
    CHECK(response.find("\r\nX-Frame-Options: deny\r\n") != std::string::npos);
    CHECK(response.find("\r\nContent-Security-Policy: default-src 'none'\r\n") !=
          std::string::npos);
  }
  const std::string limited = client.request("/metrics");
  CHECK(limited.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
  CHECK(limited.find("\r\nRetry-After: ") != std::string::npos);
  std::remove(web.c_str());
}

TEST_CASE("listen moves to another address on the same port: execmond's own") {
  // A port nobody else uses: the kernel's pick for a socket we then close.
  std::uint16_t port;
  {
    MetricsServer probe(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
    port = probe.port();
  }
  const std::string at = ":" + std::to_string(port);
  MetricsServer server(parse_listen_address("127.0.0.1" + at),
                       load_endpoint_security(std::nullopt));
  server.mark_ready();
  server.add_collector(registry_with_counter());
  for (const std::string& address : {"0.0.0.0" + at, at, "127.0.0.1" + at}) {
    CAPTURE(address);
    REQUIRE_NOTHROW(server.rebind(parse_listen_address(address)));
    CHECK(server.port() == port);
    CHECK(get(port).find("test_scrapes_total 3") != std::string::npos);
  }
}

TEST_CASE("a port held by another process is named with its holder") {
  MetricsServer other(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  try {
    MetricsServer server(parse_listen_address("127.0.0.1:" + std::to_string(other.port())),
                         load_endpoint_security(std::nullopt));
    FAIL("bound a port in use");
  } catch (const ListenError& error) {
    CHECK(error.error() == EADDRINUSE);
    CHECK_THAT(error.what(),
               Catch::Contains("is held by this execmond (pid " + std::to_string(getpid()) + ")"));
  }
}

// Regression: an event loop that failed returned silently; the daemon stayed "healthy",
// serving nothing, and every later reload waited 5 s for it.
TEST_CASE("a failed event loop says so, and nothing waits for it") {
  setenv("EXECMOND_INJECT_SERVER_FAULT_AFTER", "2", 1);
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  unsetenv("EXECMOND_INJECT_SERVER_FAULT_AFTER");
  server.mark_ready();
  CHECK(server.failure().empty());
  CHECK(get(server.port()).rfind("HTTP/1.1 200", 0) == 0);
  get(server.port());  // the second request: the loop fails on it
  pollfd failed{server.failure_fd(), POLLIN, 0};
  REQUIRE(poll(&failed, 1, 5000) == 1);
  CHECK(server.failure() == "injected server fault");
  const auto start = std::chrono::steady_clock::now();
  server.reload(std::nullopt);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

}  // namespace
}  // namespace execmond::http
