#include "agent/detail/state.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "test_util.hpp"

namespace fc::agent {
namespace {

namespace fs = std::filesystem;

AgentState sample_state() {
  AgentState s;
  s.region = "eu-west-1";
  s.revision = 42;
  WorkspaceRecord r;
  r.assignment.workspace_id = "ws_01";
  r.assignment.name = "acme";
  r.assignment.generation = 3;
  r.assignment.hostnames = {"acme.fleet.test"};
  r.assignment.certificates = {{"crt_1", {"acme.fleet.test"}, 2}};
  r.objects = {{"apps/v1", "Deployment", "fleet", "ws-01"}, {"v1", "Service", "fleet", "ws-01"}};
  r.observed = {"ws_01", 3, proto::Phase::kRunning, ""};
  s.workspaces["ws_01"] = r;
  return s;
}

TEST_SUITE("agent") {
  TEST_CASE("state is written atomically and reloads equal") {
    test::TempDir dir;
    StateStore store(dir.path() / "state");
    REQUIRE(store.init());
    auto fresh = store.load();
    REQUIRE(fresh);
    CHECK(fresh.value().revision == 0);  // no file yet: list from 0
    CHECK(fresh.value().workspaces.empty());

    auto s = sample_state();
    REQUIRE(store.save(s));
    auto back = store.load();
    REQUIRE(back);
    CHECK(back.value() == s);
    struct stat st {};
    REQUIRE(::stat(store.state_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    for (const auto& e : fs::directory_iterator(dir.path() / "state")) {
      CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);  // no temp left over
    }
    s.revision = 43;
    REQUIRE(store.save(s));
    CHECK(store.load().value().revision == 43);
  }

  TEST_CASE("a corrupt state file starts from revision 0 with a warning") {
    test::TempDir dir;
    StateStore store(dir.path());
    REQUIRE(store.init());
    const char* corrupt[] = {"{not json", "[]", R"({"format":99,"revision":5,"workspaces":{}})",
                             R"({"format":1,"revision":5,"workspaces":{"ws":{"assignment":{}}}})"};
    for (const char* text : corrupt) {
      CAPTURE(text);
      test::spit(store.state_path(), text);
      CHECK_FALSE(store.load());
      std::string warning;
      auto s = store.load_or_fresh(warning);
      CHECK(s.revision == 0);
      CHECK(s.workspaces.empty());
      CHECK(warning.find("starting from revision 0") != std::string::npos);
    }
  }

  TEST_CASE("certificate cache persists bundles with mode 0600") {
    test::TempDir dir;
    StateStore store(dir.path());
    REQUIRE(store.init());
    proto::CertificateBundle b{"crt_1", 2, {"a.test"}, "CERT", "KEY", "2030-01-01T00:00:00Z"};
    REQUIRE(store.save_cert(b));
    test::spit(dir.path() / "certs" / "junk.json", "{");
    std::string warning;
    auto certs = store.load_certs(warning);
    REQUIRE(certs.size() == 1);
    CHECK(certs.at("crt_1") == b);
    CHECK(warning.find("junk.json") != std::string::npos);
    struct stat st {};
    REQUIRE(::stat((dir.path() / "certs" / "crt-1.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(store.remove_cert("crt_1"));
    warning.clear();
    CHECK(store.load_certs(warning).empty());
  }

  TEST_CASE("write_file_atomic creates parents and replaces content") {
    test::TempDir dir;
    auto p = dir.path() / "a" / "b" / "f.json";
    REQUIRE(write_file_atomic(p, "one"));
    REQUIRE(write_file_atomic(p, "two"));
    CHECK(test::slurp(p) == "two");
    test::spit(dir.path() / "plain", "file");
    CHECK_FALSE(write_file_atomic(dir.path() / "plain" / "x", "z"));  // parent is not a dir
    auto missing = read_file(dir.path() / "nope");
    REQUIRE(missing);
    CHECK_FALSE(missing.value().has_value());
  }
}

}  // namespace
}  // namespace fc::agent
