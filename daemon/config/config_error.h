// SPDX-License-Identifier: Apache-2.0
// The one error every configuration mistake becomes.
#pragma once

#include <stdexcept>

namespace execmond {

// A configuration mistake, located: "<source>:<line>:<column>: <what was expected>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace execmond
