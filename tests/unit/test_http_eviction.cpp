// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "http/eviction.h"

namespace execmond::http {
namespace {

using Stage = Occupant::Stage;
using std::chrono::seconds;

Occupant at(Stage stage, int second) {
  return {stage, std::chrono::steady_clock::time_point(seconds(second))};
}

TEST_CASE("eviction takes the oldest idle connection first") {
  CHECK(choose_eviction({at(Stage::kIncomplete, 1), at(Stage::kIdle, 5), at(Stage::kIdle, 3),
                         at(Stage::kServing, 0)}) == std::optional<std::size_t>(2));
}

TEST_CASE("then the oldest incomplete request") {
  CHECK(choose_eviction({at(Stage::kServing, 0), at(Stage::kIncomplete, 7),
                         at(Stage::kIncomplete, 2)}) == std::optional<std::size_t>(2));
}

TEST_CASE("then the client that left its response unread longest") {
  CHECK(choose_eviction({at(Stage::kServing, 0), at(Stage::kStalled, 4), at(Stage::kStalled, 3)}) ==
        std::optional<std::size_t>(2));
  CHECK(choose_eviction({at(Stage::kStalled, 0), at(Stage::kIncomplete, 9)}) ==
        std::optional<std::size_t>(1));
}

TEST_CASE("never a connection being served") {
  CHECK(choose_eviction({at(Stage::kServing, 0), at(Stage::kServing, 1)}) == std::nullopt);
  CHECK(choose_eviction({}) == std::nullopt);
}

}  // namespace
}  // namespace execmond::http
