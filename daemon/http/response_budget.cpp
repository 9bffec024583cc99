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
  std::size_t bytes = 0;
  double fastest = 0;
  std::vector<std::size_t> senders;
};

std::map<std::uint64_t, Render> renders_of(const std::vector<HeldResponse>& responses) {
  std::map<std::uint64_t, Render> renders;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const HeldResponse& response = responses[i];
    if (response.render == 0) continue;
    Render& render = renders[response.render];
    render.bytes = std::max(render.bytes, response.render_bytes);
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
                                             std::uint64_t newest, std::size_t budget) {
  const std::map<std::uint64_t, Render> renders = renders_of(responses);
  std::size_t total = 0;
  std::vector<const Render*> others;
  for (const auto& [cycle, render] : renders) {
    total += render.bytes;
    if (cycle != newest) others.push_back(&render);
  }
  std::sort(others.begin(), others.end(),
            [](const Render* a, const Render* b) { return a->fastest < b->fastest; });
  std::vector<std::size_t> victims;
  for (const Render* render : others) {
    if (total <= budget) break;
    victims.insert(victims.end(), render->senders.begin(), render->senders.end());
    total -= render->bytes;
  }
  return victims;
}

}  // namespace execmond::http
