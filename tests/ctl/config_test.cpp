#include "ctl/detail/config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fc::ctl {
namespace {

using nlohmann::json;

CtlConfig two_contexts(const std::string& token_file) {
  auto c = parse_ctl_config(
      json{{"current_context", "prod"},
           {"contexts",
            {{"prod", {{"server", "https://fleet.example.com"}, {"token_file", token_file}}},
             {"dev", {{"server", "http://127.0.0.1:8080"}, {"ca_file", "/ca.pem"}}}}}});
  REQUIRE(c);
  return c.value();
}

struct TokenFile {
  std::string path;
  explicit TokenFile(const std::string& content) {
    path = (std::filesystem::temp_directory_path() / ("fc-ctl-test-" + std::to_string(::getpid())))
               .string();
    std::ofstream(path) << content;
  }
  ~TokenFile() { std::remove(path.c_str()); }
};

TEST_SUITE("ctl") {
  TEST_CASE("ctl.json: contexts parsed, round trip, bad documents named") {
    auto c = two_contexts("/t");
    CHECK(c.current == "prod");
    CHECK(c.contexts.at("dev").ca_file == "/ca.pem");
    auto again = parse_ctl_config(to_json(c));
    REQUIRE(again);
    CHECK(to_json(again.value()) == to_json(c));
    CHECK_FALSE(parse_ctl_config(json::array()));
    auto no_server = parse_ctl_config(json{{"contexts", {{"x", {{"token_file", "/t"}}}}}});
    REQUIRE_FALSE(no_server);
    CHECK(no_server.error().detail == "contexts.x.server is required");
    auto bad_current =
        parse_ctl_config(json{{"current_context", "gone"}, {"contexts", json::object()}});
    REQUIRE_FALSE(bad_current);
    CHECK(bad_current.error().detail.find("gone") != std::string::npos);
  }

  TEST_CASE("resolution: flags over environment over context; token from the file") {
    TokenFile tf("fc_adm_secret\n");
    auto cfg = two_contexts(tf.path);
    auto t = resolve_target({}, {}, cfg);
    REQUIRE(t);
    CHECK(t.value().server == "https://fleet.example.com");
    CHECK(t.value().token == "fc_adm_secret");
    CHECK(t.value().source == "context prod");
    Environment env{std::string("http://env:1"), std::string("fc_adm_env")};
    t = resolve_target({}, env, cfg);
    REQUIRE(t);
    CHECK(t.value().server == "http://env:1");
    CHECK(t.value().token == "fc_adm_env");
    Flags f;
    f.server = "http://flag:2";
    f.token_file = tf.path;
    t = resolve_target(f, env, cfg);
    REQUIRE(t);
    CHECK(t.value().server == "http://flag:2");
    CHECK(t.value().token == "fc_adm_secret");
    Flags other;
    other.context = "dev";
    t = resolve_target(other, {}, cfg);
    REQUIRE(t);
    CHECK(t.value().ca_file == "/ca.pem");
    CHECK(t.value().token.empty());
    other.context = "nope";
    CHECK_FALSE(resolve_target(other, {}, cfg));
    auto none = resolve_target({}, {}, CtlConfig{});
    REQUIRE_FALSE(none);
    CHECK(none.error().detail.find("no server") == 0);
    Flags missing;
    missing.server = "http://x";
    missing.token_file = "/nonexistent/token";
    CHECK_FALSE(resolve_target(missing, {}, {}));
  }
}

}  // namespace
}  // namespace fc::ctl
