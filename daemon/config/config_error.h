// The one error every configuration mistake becomes.
#pragma once

#include <stdexcept>

namespace execmond {

// A configuration mistake, located: "<source>:<line>:<column>: <what was expected>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration that could not be checked, which proves nothing against it: the
// process that bounds its parse could not start, or the host starved it of CPU past its
// deadline. A reload with it changes nothing, like any ConfigError; at start it is a
// runtime failure (exit 1, which systemd retries), not an invalid file (exit 3, which it
// does not).
class ConfigUncheckable : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

}  // namespace execmond
