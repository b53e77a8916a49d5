#include "agent/detail/sink.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "test_util.hpp"

namespace fc::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

RenderedObject obj(const std::string& kind, const std::string& name, const std::string& v) {
  ObjectRef ref{"v1", kind, "fleet", name};
  json body{{"apiVersion", "v1"},
            {"kind", kind},
            {"metadata", {{"name", name}, {"namespace", "fleet"}}},
            {"data", {{"v", v}}}};
  return {ref, body};
}

TEST_SUITE("agent") {
  TEST_CASE("--out writes one file per object, deterministic names, removes on delete") {
    test::TempDir dir;
    DirSink sink(dir.path());
    auto a = obj("ConfigMap", "ws-1", "one");
    auto s = obj("Secret", "ws-1-crt-1", "key");
    REQUIRE(sink.apply({a, s}));
    auto pa = dir.path() / "fleet" / "configmap-ws-1.json";
    auto ps = dir.path() / "fleet" / "secret-ws-1-crt-1.json";
    REQUIRE(fs::exists(pa));
    REQUIRE(fs::exists(ps));
    CHECK(json::parse(test::slurp(pa)) == a.body);
    struct stat st {};
    REQUIRE(::stat(ps.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);  // Secrets are not world-readable

    auto mtime = fs::last_write_time(pa);
    REQUIRE(sink.apply({a}));  // unchanged content: the file is not rewritten
    CHECK(fs::last_write_time(pa) == mtime);
    auto a2 = obj("ConfigMap", "ws-1", "two");
    REQUIRE(sink.apply({a2}));
    CHECK(json::parse(test::slurp(pa))["data"]["v"] == "two");

    REQUIRE(sink.remove({a.ref, s.ref}));
    CHECK_FALSE(fs::exists(pa));
    CHECK_FALSE(fs::exists(ps));
    CHECK(sink.remove({a.ref}));  // already gone: still fine (idempotent)
  }

  TEST_CASE("run_command feeds stdin, captures output and exit status") {
    auto r = run_command("tr a-z A-Z; echo oops >&2; exit 3", "hello", 10s);
    REQUIRE(r);
    CHECK(r.value().out == "HELLO");
    CHECK(r.value().err == "oops\n");
    CHECK(r.value().exit_code == 3);
    std::string big(1 << 20, 'x');  // larger than a pipe buffer both ways
    auto r2 = run_command("cat", big, 10s);
    REQUIRE(r2);
    CHECK(r2.value().out.size() == big.size());
    CHECK_FALSE(r2.value().truncated);
    // A status List of a large region: stdout beyond 1 MiB when allowed,
    // flagged as truncated (not silently cut) when not.
    auto large = run_command("head -c 3000000 /dev/zero", "", 10s, 4u << 20);
    REQUIRE(large);
    CHECK(large.value().out.size() == 3000000);
    CHECK_FALSE(large.value().truncated);
    auto capped = run_command("head -c 3000000 /dev/zero", "", 10s);
    REQUIRE(capped);
    CHECK(capped.value().out.size() <= (1u << 20));
    CHECK(capped.value().truncated);
    CHECK(capped.value().exit_code == 0);
    auto r3 = run_command("exit 0", big, 10s);  // never reads its stdin
    REQUIRE(r3);
    CHECK(r3.value().exit_code == 0);
    auto t = run_command("sleep 5", "", 200ms);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == Code::kTimeout);
  }

  TEST_CASE("command sink pipes a List and reports failures") {
    test::TempDir dir;
    auto applied = dir.path() / "applied.json";
    auto deleted = dir.path() / "deleted.json";
    CommandSink sink("cat > '" + applied.string() + "'", "cat > '" + deleted.string() + "'", 10s);
    auto a = obj("ConfigMap", "ws-1", "one");
    REQUIRE(sink.apply({a}));
    json list = json::parse(test::slurp(applied));
    CHECK(list["kind"] == "List");
    CHECK(list["items"] == json::array({a.body}));
    REQUIRE(sink.remove({a.ref}));
    json del = json::parse(test::slurp(deleted));
    CHECK(del["items"][0] == json{{"apiVersion", "v1"},
                                  {"kind", "ConfigMap"},
                                  {"metadata", {{"name", "ws-1"}, {"namespace", "fleet"}}}});
    CommandSink failing("echo 'error: forbidden' >&2; exit 1", "true", 10s);
    auto st = failing.apply({a});
    REQUIRE_FALSE(st);
    CHECK(st.error().detail == "command exited 1: error: forbidden");
  }
}

}  // namespace
}  // namespace fc::agent
