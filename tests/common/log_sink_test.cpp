// The asynchronous log sink (common/log_sink.hpp) on a real file: every line
// kept and in order, warn and above on disk before the call returns, drops
// counted when the buffer is full, the rest written at flush and shutdown.
#include "common/log_sink.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct TempFile {
  std::string path;
  int fd = -1;
  TempFile() {
    char tmpl[] = "/tmp/fc-log-sink-XXXXXX";
    fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
};

std::shared_ptr<spdlog::logger> logger_on(const std::shared_ptr<fc::log::AsyncFdSink>& sink) {
  auto l = std::make_shared<spdlog::logger>("t", sink);
  l->set_pattern("%l %v");
  l->set_level(spdlog::level::trace);
  return l;
}

}  // namespace

TEST_SUITE("common") {
  TEST_CASE("log sink: every line, in order, once the sink is gone") {
    TempFile f;
    {
      auto sink = std::make_shared<fc::log::AsyncFdSink>(f.fd);
      auto l = logger_on(sink);
      for (int i = 0; i < 5000; ++i) l->info("line {}", i);
      CHECK(sink->dropped() == 0);
    }
    const auto lines = f.lines();
    REQUIRE(lines.size() == 5000);
    for (int i = 0; i < 5000; ++i)
      CHECK(lines[static_cast<std::size_t>(i)] == "info line " + std::to_string(i));
  }

  TEST_CASE(
      "log sink: warn and above are written before the call returns, after the buffered lines") {
    TempFile f;
    auto sink = std::make_shared<fc::log::AsyncFdSink>(f.fd);
    auto l = logger_on(sink);
    l->info("first");
    l->debug("second");
    l->warn("third");
    CHECK(f.lines() == std::vector<std::string>{"info first", "debug second", "warning third"});
    l->info("fourth");
    l->critical("fifth");
    CHECK(f.lines() == std::vector<std::string>{"info first", "debug second", "warning third",
                                                "info fourth", "critical fifth"});
  }

  TEST_CASE("log sink: flush writes what is buffered") {
    TempFile f;
    auto sink = std::make_shared<fc::log::AsyncFdSink>(f.fd);
    auto l = logger_on(sink);
    l->info("a");
    l->info("b");
    l->flush();
    CHECK(f.lines() == std::vector<std::string>{"info a", "info b"});
  }

  TEST_CASE("log sink: a full buffer drops lines below warn and counts them") {
    TempFile f;
    std::uint64_t dropped = 0;
    {
      auto sink = std::make_shared<fc::log::AsyncFdSink>(f.fd, 200);
      auto l = logger_on(sink);
      for (int i = 0; i < 10000; ++i) l->info("line number {}", i);
      l->error("kept");
      dropped = sink->dropped();
    }
    const auto lines = f.lines();
    CHECK(dropped > 0);
    CHECK(lines.size() + dropped == 10001);
    REQUIRE(!lines.empty());
    CHECK(lines.back() == "error kept");
    // What was written is in order.
    int last = -1;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
      const int n = std::atoi(lines[i].substr(std::string("info line number ").size()).c_str());
      CHECK(n > last);
      last = n;
    }
  }
}
