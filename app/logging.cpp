// spdlog set-up: text or JSON lines on stderr, UTC timestamps.
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "app/app.hpp"
#include "common/log_sink.hpp"
#include "common/utf8.hpp"

namespace fc::app {

namespace {

// %j: the message, escaped for a JSON string. Log messages can carry bytes
// from the network (a request path); invalid UTF-8 becomes U+FFFD so that
// every line stays valid JSON (RFC 8259 §8.1).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view s(msg.payload.data(), msg.payload.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) {
        std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
          dest.append(std::string_view("\\ufffd"));
          continue;
        }
        dest.append(s.substr(i, n));
        i += n - 1;
        continue;
      }
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// The components' named loggers (each also creates its own on first use when
// nothing registered it, as in unit tests).
constexpr const char* kComponentLoggers[] = {"storage", "scheduler", "dns",
                                             "certs",   "domains",   "probes"};

}  // namespace

void setup_logging(const std::string& level, const std::string& format) {
  // Asynchronous below warn (common/log_sink.hpp): a create's info lines are
  // not written on the I/O thread; drops counted in /metrics.
  auto sink = std::make_shared<fc::log::AsyncFdSink>(STDERR_FILENO);
  fc::log::set_process_sink(sink);
  auto logger = std::make_shared<spdlog::logger>("fleetcommand", sink);
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    f->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%j"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %n %v");
  }
  logger->set_formatter(std::move(f));
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
  // Each component logs through its own named logger (STYLE.md "Naming"),
  // found with spdlog::get(name): registered here so that every one has the
  // configured format and level, whichever logs first.
  for (const char* name : kComponentLoggers) {
    spdlog::drop(name);
    spdlog::register_logger(logger->clone(name));
  }
}

}  // namespace fc::app
