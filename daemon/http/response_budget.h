// SPDX-License-Identifier: Apache-2.0
// The memory that clients still receiving a scrape may make the daemon hold. Connections
// that send the same render share its bytes (reference-counted, never copied), so what is
// held is one copy of each render some client has not finished receiving, and the inflate
// window of each client that takes plain text. A client that reads slowly and reconnects
// as it is cut off would otherwise keep a render of its own alive each time (60 such
// clients took a daemon from 51 MB to 406 MB). Pure, so that the policy is tested without
// sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace execmond::http {

struct HeldResponse {
  std::uint64_t render = 0;      // the render's cycle
  std::size_t render_bytes = 0;  // what that render keeps in memory, shared
  std::size_t own_bytes = 0;     // what this response alone keeps (an inflate window)
  std::size_t sent = 0;          // bytes of the response sent so far
  std::chrono::steady_clock::duration sending_for{};
};

// One copy of each render in `responses`, and every response's own bytes.
std::size_t held_bytes(const std::vector<HeldResponse>& responses);

// The most held at once: twice the newest render (a scrape that started on the previous
// render finishes while the next one is served), at least `floor`.
std::size_t response_budget(std::size_t newest_render_bytes, std::size_t floor);

// The responses to cut off so that what is held fits in `budget`. First the renders
// other than the newest (`newest`, the one new scrapes get), whole (a render's memory is
// freed only when its last sender goes), those whose fastest sender is slowest first: a
// client reading a few bytes a second goes before a scraper behind a slow link. Then, if
// that is not enough, the slowest single senders whose own bytes count, among those
// sending for at least `grace` (a response that has just started has no rate yet).
std::vector<std::size_t> choose_slow_senders(const std::vector<HeldResponse>& responses,
                                             std::uint64_t newest, std::size_t budget,
                                             std::chrono::steady_clock::duration grace);

}  // namespace execmond::http
