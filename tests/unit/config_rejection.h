// SPDX-License-Identifier: Apache-2.0
// What the unit tests of the configuration ask: the error a text gets, or "(accepted)".
#pragma once

#include <string>

#include "config/config.h"

namespace execmond {

inline std::string rejection(const std::string& yaml) {
  try {
    parse_config(yaml, "execmond.yaml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

}  // namespace execmond
