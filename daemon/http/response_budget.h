// The memory that clients still receiving a scrape may make the daemon hold. Connections
// that send the same render share its bytes (reference-counted, never copied), so what is
// held is one copy of each render some client has not finished receiving. A client that
// reads slowly and reconnects as it is cut off would otherwise keep a render of its own
// alive each time (60 such clients took a daemon from 51 MB to 406 MB). Pure, so that the
// policy is tested without sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace execmond::http {

struct HeldResponse {
  std::uint64_t render = 0;      // the render's cycle; 0: a small response of its own
  std::size_t render_bytes = 0;  // what that render keeps in memory
  std::size_t sent = 0;          // bytes of the response sent so far
  std::chrono::steady_clock::duration sending_for{};
};

// One copy of each render in `responses`.
std::size_t held_bytes(const std::vector<HeldResponse>& responses);

// The most held at once: twice the newest render (a scrape that started on the previous
// render finishes while the next one is served), at least `floor`.
std::size_t response_budget(std::size_t newest_render_bytes, std::size_t floor);

// The responses to cut off so that the renders still held fit in `budget`. The newest
// render (`newest`, the one new scrapes get) is never given up. The others go whole (a
// render's memory is freed only when its last sender goes), those whose fastest sender is
// slowest first: a client reading a few bytes a second goes before a scraper behind a slow
// link.
std::vector<std::size_t> choose_slow_senders(const std::vector<HeldResponse>& responses,
                                             std::uint64_t newest, std::size_t budget);

}  // namespace execmond::http
