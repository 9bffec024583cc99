// The server end to end on loopback, without BPF: what reload() and rebind() promise the
// daemon's SIGHUP handling.
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
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

std::shared_ptr<prometheus::Registry> registry_with_counter() {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("test_scrapes_total")
      .Help("h")
      .Register(*registry)
      .Add({})
      .Increment(3);
  return registry;
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
  server.add_collectable(registry_with_counter());
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
  server.add_collectable(registry);
  const std::string response = get(server.port());
  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(response.find("test_scrapes_total 3") != std::string::npos);
  server.remove_collectable(registry);
  const std::string empty = get(server.port());
  CHECK(empty.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(empty.find("test_scrapes_total") == std::string::npos);
}

TEST_CASE("rebind moves the endpoint and keeps what it serves") {
  MetricsServer server(parse_listen_address("127.0.0.1:0"), load_endpoint_security(std::nullopt));
  server.mark_ready();
  server.add_collectable(registry_with_counter());
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
  server.add_collectable(registry_with_counter());

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

}  // namespace
}  // namespace execmond::http
