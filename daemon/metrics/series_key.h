// SPDX-License-Identifier: Apache-2.0
// What a per-process series is keyed by: every label value it carries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cgroups/interned_names.h"
#include "events/comm_filter.h"
#include "events/label_filter.h"
#include "events/records.h"
#include "metrics/comm_label.h"

namespace execmond {

// The label values of one series: the process name, and the unit and container when
// the configuration asks for them (null otherwise). Unit and container are interned,
// so equal values have equal addresses and the key compares as bytes.
struct SeriesKey {
  SeriesKey() = default;
  // A series of the name alone (labels: [comm]).
  SeriesKey(const CommName& name) : comm(name) {}  // NOLINT: implicit on purpose
  SeriesKey(const CommName& name, const InternedName* unit_name, const InternedName* container_name)
      : comm(name), unit(unit_name), container(container_name) {}

  CommName comm;
  const InternedName* unit = nullptr;
  const InternedName* container = nullptr;
};

// The label values as the exposition shows them, rendered once when a key is first seen.
// A label the key does not carry renders as "" and is left out by the exposition.
struct SeriesLabels {
  explicit SeriesLabels(const SeriesKey& key)
      : comm(key.comm),
        unit(key.unit ? key.unit->text : std::string_view()),
        container(key.container ? key.container->text : std::string_view()) {}
  // The series of every key beyond the bound: comm="execmond_overflow", which no name
  // encodes to (comm_label.h), so no other series has this label set, whatever its
  // other values.
  static SeriesLabels overflow() { return SeriesLabels(); }

  CommLabel comm;
  std::string_view unit;  // points into interned, never-freed storage
  std::string_view container;

 private:
  SeriesLabels()
      : comm(CommLabel::overflow()), unit(kOverflowCommLabel), container(kOverflowCommLabel) {}
};

// Which series are counted: the name filters on comm, the unit filters on unit.
class SeriesFilter {
 public:
  SeriesFilter() = default;
  SeriesFilter(CommFilter comms, LabelFilter units)
      : comms_(std::move(comms)), units_(std::move(units)) {}
  bool admits(const SeriesKey& key) const {
    return comms_.admits(key.comm) && (key.unit == nullptr || units_.admits(key.unit->text));
  }

 private:
  CommFilter comms_;
  LabelFilter units_;
};

}  // namespace execmond
