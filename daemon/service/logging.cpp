#include "service/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace execmond {
namespace {

// log_event()'s lines arrive with this source file: their text is logfmt already.
constexpr const char* kLogfmtEvent = "execmond-logfmt-event";

bool is_logfmt_event(const spdlog::details::log_msg& msg) {
  return msg.source.filename == kLogfmtEvent;
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// "<N>": sd-daemon(3) priority prefix for journald.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr const char* kPrefixes[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};
    const char* prefix = kPrefixes[static_cast<int>(msg.level)];
    dest.append(prefix, prefix + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

// The message: msg="…" (quoted, for stderr), or its escaped text alone (for journald,
// whose MESSAGE field it is); an event's logfmt text as it is.
class MessageFlag : public spdlog::custom_flag_formatter {
 public:
  explicit MessageFlag(bool quoted) : quoted_(quoted) {}

  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (is_logfmt_event(msg)) {
      append(dest, text);
      return;
    }
    std::string value;
    append_logfmt_value(value, text);
    if (quoted_) {
      append(dest, "msg=");
      append(dest, value);
    } else {
      append(dest, std::string_view(value).substr(1, value.size() - 2));
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<MessageFlag>(quoted_);
  }

 private:
  bool quoted_;
};

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(spdlog::sink_ptr sink, bool journal) {
  auto logger = std::make_shared<spdlog::logger>("execmond", std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<MessageFlag>('Q', !journal);
  if (journal) {
    formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%Q");
  } else {
    formatter->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%e%z level=%l %Q");
  }
  logger->set_formatter(std::move(formatter));
  return logger;
}

void setup_logging(spdlog::level::level_enum level) {
  auto logger = make_logger(std::make_shared<spdlog::sinks::stderr_sink_mt>(),
                            std::getenv("JOURNAL_STREAM") != nullptr);
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

void log_event(spdlog::level::level_enum level, std::string_view message,
               const std::vector<LogField>& fields) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string line = "msg=";
  append_logfmt_value(line, message);
  for (const LogField& field : fields) append_logfmt_field(line, field);
  logger->log(spdlog::source_loc{kLogfmtEvent, 0, ""}, level, std::string_view(line));
}

}  // namespace execmond
