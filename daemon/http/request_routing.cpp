// SPDX-License-Identifier: Apache-2.0
// What the server answers: a parsed request through the rate limit, authentication and
// routing to its response, and renders to the scrapes waiting for them within the byte
// budget of slow clients.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "http/limits.h"
#include "http/metrics_server.h"
#include "http/response_budget.h"

namespace execmond::http {
namespace {

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
  // recent and in its format, rather than adding another render to what is held.
  const ExpositionFormat format = negotiate_format(request.accept);
  if (shared_render_ && now - shared_render_at_ <= kMaxSharedRenderAge &&
      shared_render_->has(format) &&
      held_bytes(held_responses(now)) + newest_size_ >
          response_budget(newest_size_, kMinResponseBudget)) {
    endpoint_metrics_->count_shared_render();
    connection.await(Connection::Stage::kRendering, std::move(request), now);
    // The caller drives the connection on: no drive() here, which could close it under
    // the caller's feet.
    return answer_with(connection, shared_render_, now);
  }
  connection.awaited_cycle = renderer_.request(format);
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
  if (exposition->cycle() != last_counted_render_) {
    endpoint_metrics_->count_render();
    last_counted_render_ = exposition->cycle();
    if (!exposition->failed()) {
      newest_cycle_ = exposition->cycle();
      newest_size_ = exposition->stored_bytes();
      shared_render_ = exposition;
      shared_render_at_ = now;
    }
  }
  std::vector<Connection*> ready;
  for (auto& [id, connection] : connections_) {
    if (connection->stage() == Connection::Stage::kRendering &&
        connection->awaited_cycle <= exposition->cycle()) {
      ready.push_back(connection.get());
    }
  }
  for (Connection* connection : ready) {
    const ExpositionFormat format = negotiate_format(connection->request().accept);
    if (!exposition->failed() && !exposition->has(format)) {
      // A later render than the one it waited for, made for other scrapes' formats.
      connection->awaited_cycle = renderer_.request(format);
      continue;
    }
    answer_with(*connection, exposition, now);
    drive(*connection, now);
  }
  // The connections hold what they still send; the renderer need not keep it.
  renderer_.release(exposition->cycle());
  enforce_response_budget(now);
}

void MetricsServer::answer_with(Connection& connection,
                                const std::shared_ptr<const Exposition>& exposition,
                                Clock::time_point now) {
  const Request& request = connection.request();
  if (exposition->failed()) {
    Request failed = request;
    failed.keep_alive = false;
    return respond_status(connection, 500, failed, now);
  }
  const ExpositionFormat format = negotiate_format(request.accept);
  ResponseOptions options;
  options.content_type = content_type(format);
  options.keep_alive = request.keep_alive && !connection.retired();
  options.head_only = request.method == Method::kHead;
  options.configured_headers = security_->headers;
  options.extra_headers = request.accepts_gzip
                              ? "Content-Encoding: gzip\r\nVary: Accept, Accept-Encoding\r\n"
                              : "Vary: Accept, Accept-Encoding\r\n";
  // Every scrape of this render reads the same stored bytes through its own cursor.
  Response response = make_response(
      options, std::make_unique<ExpositionCursor>(exposition, format, request.accepts_gzip));
  if (response.exposition) {
    response.render_cycle = exposition->cycle();
    response.render_bytes = exposition->stored_bytes();
    response.own_bytes = request.accepts_gzip ? 0 : kPlainScrapeBytes;
  }
  respond(connection, std::move(response), now);
}

// The responses of rendered expositions being sent, as the byte budget sees them; `ids`
// gets their connections.
std::vector<HeldResponse> MetricsServer::held_responses(Clock::time_point now,
                                                        std::vector<std::uint64_t>* ids) const {
  std::vector<HeldResponse> held;
  for (const auto& [id, connection] : connections_) {
    const Response& response = connection->response();
    if (connection->stage() != Connection::Stage::kWriting || response.render_cycle == 0) continue;
    held.push_back({response.render_cycle, response.render_bytes, response.own_bytes,
                    connection->bytes_sent(), now - connection->response_started()});
    if (ids) ids->push_back(id);
  }
  return held;
}

// Cuts off the slowest senders while what is held for clients exceeds the budget, so that
// their memory goes back.
void MetricsServer::enforce_response_budget(Clock::time_point now) {
  // Past its sharing age the newest render is for the connections sending it alone.
  if (shared_render_ && now - shared_render_at_ > kMaxSharedRenderAge) shared_render_.reset();
  std::vector<std::uint64_t> ids;
  const std::vector<HeldResponse> held = held_responses(now, &ids);
  const std::size_t budget = response_budget(newest_size_, kMinResponseBudget);
  const std::vector<std::size_t> victims =
      choose_slow_senders(held, newest_cycle_, budget, kStalledAfter);
  if (!victims.empty()) {
    spdlog::debug("/metrics: {} bytes held for clients, budget {}: cutting off {} slow senders",
                  held_bytes(held), budget, victims.size());
    for (const std::size_t victim : victims) close(ids[victim], EndpointMetrics::Drop::kSlowSender);
  }
  const std::size_t still_held = held_bytes(held_responses(now));
  endpoint_metrics_->set_response_bytes(still_held, budget);
  // Once the clients that held much are gone, what they held goes back to the system:
  // glibc keeps freed memory in its arenas otherwise.
  held_since_trim_ = std::max(held_since_trim_, still_held);
  if (still_held == 0 && held_since_trim_ >= kTrimAfterHeld) {
    malloc_trim(0);
    held_since_trim_ = 0;
  }
}

}  // namespace execmond::http
