// SPDX-License-Identifier: Apache-2.0
#include "http/response_budget.h"

#include <algorithm>
#include <map>

namespace execmond::http {
namespace {

// Bytes a second, counting at least a millisecond so that a response that has just
// started is not infinitely fast nor infinitely slow.
double rate(const HeldResponse& response) {
  const double seconds =
      std::max(0.001, std::chrono::duration<double>(response.sending_for).count());
  return static_cast<double>(response.sent) / seconds;
}

struct Render {
  std::size_t bytes = 0;  // the render's, and its senders' own
  double fastest = 0;
  std::vector<std::size_t> senders;
};

std::map<std::uint64_t, Render> renders_of(const std::vector<HeldResponse>& responses) {
  std::map<std::uint64_t, Render> renders;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const HeldResponse& response = responses[i];
    Render& render = renders[response.render];
    if (render.senders.empty()) render.bytes += response.render_bytes;
    render.bytes += response.own_bytes;
    render.fastest = std::max(render.fastest, rate(response));
    render.senders.push_back(i);
  }
  return renders;
}

}  // namespace

std::size_t held_bytes(const std::vector<HeldResponse>& responses) {
  std::size_t total = 0;
  for (const auto& [cycle, render] : renders_of(responses)) total += render.bytes;
  return total;
}

std::size_t response_budget(std::size_t newest_render_bytes, std::size_t floor) {
  return std::max(floor, 2 * newest_render_bytes);
}

std::vector<std::size_t> choose_slow_senders(const std::vector<HeldResponse>& responses,
                                             std::uint64_t newest, std::size_t budget,
                                             std::chrono::steady_clock::duration grace) {
  const std::map<std::uint64_t, Render> renders = renders_of(responses);
  std::size_t total = 0;
  std::vector<const Render*> older;
  for (const auto& [cycle, render] : renders) {
    total += render.bytes;
    if (cycle != newest) older.push_back(&render);
  }
  std::sort(older.begin(), older.end(),
            [](const Render* a, const Render* b) { return a->fastest < b->fastest; });
  std::vector<std::size_t> victims;
  for (const Render* render : older) {
    if (total <= budget) return victims;
    victims.insert(victims.end(), render->senders.begin(), render->senders.end());
    total -= render->bytes;
  }
  const auto found = renders.find(newest);
  if (total <= budget || found == renders.end()) return victims;
  std::vector<std::size_t> senders;
  for (const std::size_t i : found->second.senders) {
    if (responses[i].own_bytes > 0 && responses[i].sending_for >= grace) senders.push_back(i);
  }
  std::sort(senders.begin(), senders.end(), [&responses](std::size_t a, std::size_t b) {
    return rate(responses[a]) < rate(responses[b]);
  });
  for (const std::size_t i : senders) {
    if (total <= budget) break;
    victims.push_back(i);
    total -= responses[i].own_bytes;
  }
  return victims;
}

}  // namespace execmond::http
