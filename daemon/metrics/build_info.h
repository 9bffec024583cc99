// execmond_build_info: always 1, labelled with what is running.
#pragma once

#include <string>
#include <utility>

#include "metrics/metric_writer.h"

namespace execmond {

class BuildInfo : public Collector {
 public:
  BuildInfo(std::string version, std::string libbpf_version)
      : version_(std::move(version)), libbpf_version_(std::move(libbpf_version)) {}
  void collect(MetricWriter& out) const override {
    out.family("execmond_build_info", MetricType::kGauge,
               "Always 1: the version of execmond and of the libbpf it runs on");
    // In name order, as prometheus-cpp's registry wrote them.
    out.sample({{"libbpf_version", libbpf_version_}, {"version", version_}}, 1);
  }

 private:
  std::string version_;
  std::string libbpf_version_;
};

}  // namespace execmond
