// What the server answers: a parsed request through the rate limit, authentication and
// routing to its response, and renders to the scrapes waiting for them within the byte
// budget of slow clients.
#include <spdlog/spdlog.h>

#include <cmath>
#include <stdexcept>

#include "http/limits.h"
#include "http/metrics_server.h"
#include "http/response_budget.h"

namespace execmond::http {
namespace {

constexpr std::string_view kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

// "Retry-After: 3\r\n", rounded up to whole seconds, at least 1.
std::string retry_after(Clock::duration wait) {
  const double seconds = std::chrono::duration<double>(wait).count();
  return "Retry-After: " + std::to_string(std::max(1L, std::lround(std::ceil(seconds)))) + "\r\n";
}

}  // namespace

void MetricsServer::respond(Connection& connection, Response response, Clock::time_point now) {
  endpoint_metrics_->count_response(response.status);
  connection.respond(std::move(response), now);
}

void MetricsServer::respond_status(Connection& connection, int status, const Request& request,
                                   Clock::time_point now, std::string_view extra_headers) {
  respond(connection,
          make_status_response(status, request.keep_alive && !connection.retired(),
                               request.method == Method::kHead, extra_headers, security_->headers),
          now);
}

void MetricsServer::handle_request(Connection& connection, const ParsedHead& parsed,
                                   Clock::time_point now) {
  if (injected_fault_after_ != 0 && ++requests_handled_ >= injected_fault_after_) {
    throw std::runtime_error("injected server fault");
  }
  using Status = ParsedHead::Status;
  Request closing;  // what a refused request is answered as: no keep-alive, no HEAD
  closing.keep_alive = false;
  closing.method = Method::kGet;
  switch (parsed.status) {
    case Status::kBadRequest:
      return respond_status(connection, 400, closing, now);
    case Status::kTooLarge:
      return respond_status(connection, 431, closing, now);
    case Status::kBodyRefused:
      return respond_status(connection, 413, closing, now);
    case Status::kVersionUnsupported:
      return respond_status(connection, 505, closing, now);
    case Status::kIncomplete:
    case Status::kComplete:
      break;
  }
  connection.consume(parsed.length);
  if (rate_limit_ && !rate_limit_->take(now)) {
    return respond_status(connection, 429, parsed.request, now,
                          retry_after(rate_limit_->wait(now)));
  }
  authorize(connection, parsed.request, now);
}

void MetricsServer::authorize(Connection& connection, Request request, Clock::time_point now) {
  if (security_->users.empty()) return route(connection, std::move(request), now);
  const auto credentials =
      request.authorization ? decode_basic_authorization(*request.authorization) : std::nullopt;
  if (!credentials) return deny(connection, request, now);
  const ClientAddress::Key& client = connection.client().key;
  switch (authenticator_.check(*credentials, client, connection.id(), now)) {
    case Authenticator::Verdict::kAllowed:
      return route(connection, std::move(request), now);
    case Authenticator::Verdict::kDenied:
      return deny(connection, request, now);
    case Authenticator::Verdict::kPending:
      return connection.await(Connection::Stage::kAuthorizing, std::move(request), now);
    case Authenticator::Verdict::kBusy:
      request.keep_alive = false;
      return respond_status(connection, 503, request, now, "Retry-After: 1\r\n");
    case Authenticator::Verdict::kThrottled:
      spdlog::debug("/metrics: {} tried too many passwords: 429", connection.client().text);
      request.keep_alive = false;
      return respond_status(connection, 429, request, now,
                            retry_after(authenticator_.retry_after(client, now)));
  }
}

void MetricsServer::deny(Connection& connection, const Request& request, Clock::time_point now) {
  respond_status(connection, 401, request, now,
                 "WWW-Authenticate: Basic realm=\"execmond\", charset=\"UTF-8\"\r\n");
}

void MetricsServer::route(Connection& connection, Request request, Clock::time_point now) {
  const bool known = request.path == "/" || request.path == "/metrics";
  const bool head_only = request.method == Method::kHead;
  if (connection.retired()) request.keep_alive = false;
  if (!known) return respond_status(connection, 404, request, now);
  if (request.method == Method::kOther) {
    request.method = Method::kGet;  // the 405 has a body whatever the method
    return respond_status(connection, 405, request, now, "Allow: GET, HEAD\r\n");
  }
  if (request.path == "/") {
    ResponseOptions options;
    options.content_type = "text/html; charset=utf-8";
    options.keep_alive = request.keep_alive;
    options.head_only = head_only;
    options.configured_headers = security_->headers;
    return respond(connection, make_response(options, landing_page()), now);
  }
  // Until the programs are attached, numbers would be zeros that look like a quiet host.
  if (!ready_.load(std::memory_order_acquire)) {
    return respond_status(connection, 503, request, now, "Retry-After: 1\r\n");
  }
  // Slow clients hold renders up to the budget: a scrape shares the newest one, if it is
  // recent, rather than adding another render to what is held.
  if (shared_render_ && now - shared_render_at_ <= kMaxSharedRenderAge) {
    std::vector<HeldResponse> held;
    for (const auto& [id, other] : connections_) {
      const Response& response = other->response();
      if (other->stage() == Connection::Stage::kWriting && response.render_cycle != 0) {
        held.push_back({response.render_cycle, response.held_bytes, 0, {}});
      }
    }
    if (held_bytes(held) + newest_size_ > response_budget(newest_size_, kMinResponseBudget)) {
      endpoint_metrics_->count_shared_render();
      connection.await(Connection::Stage::kRendering, std::move(request), now);
      return answer_with(connection, shared_render_, now);
    }
  }
  connection.awaited_cycle = renderer_.request(request.accepts_gzip);
  connection.await(Connection::Stage::kRendering, std::move(request), now);
}

void MetricsServer::on_wake(Clock::time_point now) {
  std::uint64_t count;
  [[maybe_unused]] const ssize_t read_bytes = ::read(wake_fd_.get(), &count, sizeof count);
  std::vector<std::function<void()>> commands;
  {
    std::lock_guard lock(commands_mutex_);
    commands.swap(commands_);
  }
  for (auto& command : commands) command();

  for (const Authenticator::Outcome& outcome : authenticator_.take_outcomes()) {
    const auto found = connections_.find(outcome.ticket);
    if (found == connections_.end()) continue;  // gone meanwhile
    Connection& connection = *found->second;
    if (connection.stage() != Connection::Stage::kAuthorizing) continue;
    if (outcome.allowed) {
      route(connection, connection.request(), now);
    } else {
      deny(connection, connection.request(), now);
    }
    drive(connection, now);
  }
  serve_exposition(now);
}

// Every scrape waiting for a render that has finished gets its bytes.
void MetricsServer::serve_exposition(Clock::time_point now) {
  const std::shared_ptr<const Exposition> exposition = renderer_.latest();
  if (!exposition) return;
  if (exposition->cycle != last_counted_render_) {
    endpoint_metrics_->count_render();
    last_counted_render_ = exposition->cycle;
    if (!exposition->failed) {
      newest_cycle_ = exposition->cycle;
      newest_size_ = exposition->text.size() + exposition->gzip.size();
      shared_render_ = exposition;
      shared_render_at_ = now;
    }
  }
  std::vector<Connection*> ready;
  for (auto& [id, connection] : connections_) {
    if (connection->stage() == Connection::Stage::kRendering &&
        connection->awaited_cycle <= exposition->cycle) {
      ready.push_back(connection.get());
    }
  }
  for (Connection* connection : ready) answer_with(*connection, exposition, now);
  // The connections hold what they still send; nobody else needs these megabytes.
  renderer_.release(exposition->cycle);
  enforce_response_budget(now);
}

void MetricsServer::answer_with(Connection& connection,
                                const std::shared_ptr<const Exposition>& exposition,
                                Clock::time_point now) {
  const Request& request = connection.request();
  if (exposition->failed) {
    Request failed = request;
    failed.keep_alive = false;
    respond_status(connection, 500, failed, now);
    return drive(connection, now);
  }
  ResponseOptions options;
  options.content_type = kExpositionType;
  options.keep_alive = request.keep_alive && !connection.retired();
  options.head_only = request.method == Method::kHead;
  options.configured_headers = security_->headers;
  // Identity when this render was not compressed (a gzip scrape served by a later render
  // than the one it joined): Content-Encoding is the server's choice.
  const bool gzip = request.accepts_gzip && exposition->has_gzip;
  options.extra_headers =
      gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "Vary: Accept-Encoding\r\n";
  // Aliasing pointers: every scrape of this render shares its bytes.
  std::shared_ptr<const std::string> body(exposition, gzip ? &exposition->gzip : &exposition->text);
  Response response = make_response(options, std::move(body));
  if (response.body) {
    response.render_cycle = exposition->cycle;
    response.held_bytes = exposition->text.size() + exposition->gzip.size();
  }
  respond(connection, std::move(response), now);
  drive(connection, now);
}

// Cuts off the slowest senders of older renders while the renders held for clients exceed
// the budget, so that their memory goes back.
void MetricsServer::enforce_response_budget(Clock::time_point now) {
  std::vector<HeldResponse> held;
  std::vector<std::uint64_t> ids;
  for (const auto& [id, connection] : connections_) {
    const Response& response = connection->response();
    if (connection->stage() != Connection::Stage::kWriting || response.render_cycle == 0) continue;
    held.push_back({response.render_cycle, response.held_bytes, connection->sent(),
                    now - connection->response_started()});
    ids.push_back(id);
  }
  // Past its sharing age the newest render is for the connections sending it alone.
  if (shared_render_ && now - shared_render_at_ > kMaxSharedRenderAge) shared_render_.reset();
  const std::size_t budget = response_budget(newest_size_, kMinResponseBudget);
  const std::vector<std::size_t> victims = choose_slow_senders(held, newest_cycle_, budget);
  if (!victims.empty()) {
    spdlog::debug(
        "/metrics: {} bytes of renders held for clients, budget {}: cutting off {} "
        "slow senders",
        held_bytes(held), budget, victims.size());
  }
  for (const std::size_t victim : victims) close(ids[victim], EndpointMetrics::Drop::kSlowSender);
  if (!victims.empty()) {
    held.clear();
    for (const auto& [id, connection] : connections_) {
      const Response& response = connection->response();
      if (connection->stage() == Connection::Stage::kWriting && response.render_cycle != 0) {
        held.push_back({response.render_cycle, response.held_bytes, 0, {}});
      }
    }
  }
  endpoint_metrics_->set_response_bytes(held_bytes(held), budget);
}

}  // namespace execmond::http
