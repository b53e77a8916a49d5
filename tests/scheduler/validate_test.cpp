#include "scheduler/placement.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace fc::scheduler;

namespace {

std::vector<std::string> fields(const FieldErrors& errs) {
  std::vector<std::string> out;
  for (const auto& e : errs) out.push_back(e.field);
  return out;
}

RegionSpec good_region() {
  return RegionSpec{"eu-west-1",
                    {{"jurisdiction", "eu"}},
                    {{"192.0.2.10"}, {}, std::nullopt},
                    {65536, 32000, 100}};
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("is_dns_label") {
    struct Case {
      std::string s;
      bool ok;
    };
    const std::vector<Case> cases = {
        {"a", true},
        {"0", true},
        {"eu-west-1", true},
        {"a--b", true},
        {std::string(63, 'a'), true},
        {std::string(64, 'a'), false},
        {"", false},
        {"-a", false},
        {"a-", false},
        {"A", false},
        {"Eu", false},
        {"a_b", false},
        {"a.b", false},
        {"a b", false},
        {std::string("a\0b", 3), false},
        {"é", false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.s);
      CHECK(is_dns_label(c.s) == c.ok);
    }
  }

  TEST_CASE("workspace names: DNS label and not reserved") {
    for (const char* r : {"www", "api", "admin", "app", "dashboard", "status", "mail", "ns", "ns1",
                          "ns2", "ns3", "ns4"}) {
      CAPTURE(r);
      CHECK(is_reserved_workspace_name(r));
      FieldErrors errs;
      validate_workspace_name(r, "name", errs);
      REQUIRE(errs.size() == 1);
      CHECK(errs[0].message == std::string("is reserved: ") + r);
    }
    for (const char* ok : {"acme", "ns5", "wwww", "apps", "mail2", "a"}) {
      CAPTURE(ok);
      FieldErrors errs;
      validate_workspace_name(ok, "name", errs);
      CHECK(errs.empty());
    }
    FieldErrors errs;
    validate_workspace_name("Acme", "name", errs);
    CHECK(fields(errs) == std::vector<std::string>{"name"});
  }

  TEST_CASE("is_dns_hostname") {
    struct Case {
      std::string s;
      bool ok;
    };
    const std::vector<Case> cases = {
        {"edge.example.com", true},
        {"edge.example.com.", true},
        {"Edge-1.Example.COM", true},
        {"a.b", true},
        {"localhost", false},
        {"", false},
        {".", false},
        {"a..b", false},
        {".a.b", false},
        {"a.b..", false},
        {"-a.b", false},
        {"a-.b", false},
        {"a_b.c", false},
        {"*.example.com", false},
        {std::string(64, 'a') + ".com", false},
        {std::string(63, 'a') + ".com", true},
    };
    for (const Case& c : cases) {
      CAPTURE(c.s);
      CHECK(is_dns_hostname(c.s) == c.ok);
    }
    std::string long_name;
    for (int i = 0; i < 50; ++i) long_name += "abcd.";
    long_name += "com";  // 253 characters
    CHECK(long_name.size() == 253);
    CHECK(is_dns_hostname(long_name));
    CHECK_FALSE(is_dns_hostname("x" + long_name));
  }

  TEST_CASE("resources and capacity must be positive") {
    FieldErrors errs;
    validate_resources({600, 250}, "resources", errs);
    CHECK(errs.empty());
    validate_resources({0, -1}, "resources", errs);
    CHECK(fields(errs) == std::vector<std::string>{"resources.memory_mib", "resources.cpu_millis"});
    errs.clear();
    validate_capacity({1, 1, 1}, "capacity", errs);
    CHECK(errs.empty());
    validate_capacity({0, 1, 0}, "capacity", errs);
    CHECK(fields(errs) == std::vector<std::string>{"capacity.memory_mib", "capacity.workspaces"});
    CHECK(errs[0].message == "must be a positive integer");
  }

  TEST_CASE("labels: non-empty keys and values of sane length") {
    struct Case {
      Labels labels;
      std::vector<std::string> fields;
    };
    const std::vector<Case> cases = {
        {{}, {}},
        {{{"jurisdiction", "eu"}, {"example.com/tier", "Gold_1"}}, {}},
        {{{"", "eu"}}, {"labels"}},
        {{{"k", ""}}, {"labels.k"}},
        {{{std::string(64, 'k'), "v"}}, {"labels"}},
        {{{"k", std::string(64, 'v')}}, {"labels.k"}},
        {{{"a=b", "v"}}, {"labels"}},
        {{{"k", "line\nbreak"}}, {"labels.k"}},
        {{{"k k", "v"}}, {"labels"}},
    };
    for (const Case& c : cases) {
      FieldErrors errs;
      validate_labels(c.labels, "labels", errs);
      CHECK(fields(errs) == c.fields);
    }
    Labels many;
    for (int i = 0; i <= static_cast<int>(kMaxLabels); ++i) many["k" + std::to_string(i)] = "v";
    FieldErrors errs;
    validate_labels(many, "labels", errs);
    CHECK(fields(errs) == std::vector<std::string>{"labels"});
  }

  TEST_CASE("ingress: addresses by inet_pton in their family, hostname a DNS name") {
    struct Case {
      Ingress ingress;
      std::vector<std::string> fields;
    };
    const std::vector<Case> cases = {
        {{{"192.0.2.10"}, {}, std::nullopt}, {}},
        {{{}, {"2001:db8::1"}, std::nullopt}, {}},
        {{{}, {}, std::string("edge.example.net")}, {}},
        {{{"192.0.2.10", "198.51.100.7"}, {"::1", "2001:db8::10"}, std::nullopt}, {}},
        {{{}, {}, std::nullopt}, {"ingress"}},
        {{{"256.0.0.1"}, {}, std::nullopt}, {"ingress.ipv4[0]"}},
        {{{"192.0.2.1", "1.2.3"}, {}, std::nullopt}, {"ingress.ipv4[1]"}},
        {{{"::1"}, {}, std::nullopt}, {"ingress.ipv4[0]"}},
        {{{""}, {}, std::nullopt}, {"ingress.ipv4[0]"}},
        {{{" 192.0.2.1"}, {}, std::nullopt}, {"ingress.ipv4[0]"}},
        {{{std::string("192.0.2.1\0x", 11)}, {}, std::nullopt}, {"ingress.ipv4[0]"}},
        {{{}, {"192.0.2.1"}, std::nullopt}, {"ingress.ipv6[0]"}},
        {{{}, {"2001:db8::g"}, std::nullopt}, {"ingress.ipv6[0]"}},
        {{{}, {}, std::string("not a host")}, {"ingress.hostname"}},
    };
    for (const Case& c : cases) {
      FieldErrors errs;
      validate_ingress(c.ingress, "ingress", errs);
      CHECK(fields(errs) == c.fields);
    }
  }

  TEST_CASE("policy names") {
    FieldErrors errs;
    validate_policy("spread", "scheduler.policy", errs);
    validate_policy("binpack", "scheduler.policy", errs);
    CHECK(errs.empty());
    validate_policy("random", "scheduler.policy", errs);
    validate_policy("", "scheduler.policy", errs);
    CHECK(errs.size() == 2);
  }

  TEST_CASE("placement: region ids, no duplicates, prefer within regions") {
    struct Case {
      PlacementConstraints p;
      std::vector<std::string> fields;
    };
    const std::vector<Case> cases = {
        {{}, {}},
        {{{"eu-west-1", "us-east-1"}, {{"jurisdiction", "eu"}}, {"eu-west-1"}}, {}},
        {{{}, {}, {"eu-west-1"}}, {}},  // prefer without a regions list
        {{{"EU"}, {}, {}}, {"placement.regions[0]"}},
        {{{"eu", "eu"}, {}, {}}, {"placement.regions[1]"}},
        {{{"eu"}, {}, {"us"}}, {"placement.prefer[0]"}},
        {{{}, {{"", "x"}}, {}}, {"placement.labels"}},
        {{{}, {}, {"a", "-b"}}, {"placement.prefer[1]"}},
    };
    for (const Case& c : cases) {
      FieldErrors errs;
      validate_placement(c.p, "placement", errs);
      CHECK(fields(errs) == c.fields);
    }
  }

  TEST_CASE("whole bodies report every field at once") {
    CHECK(validate_region(good_region()).empty());
    RegionSpec bad = good_region();
    bad.id = "EU West";
    bad.capacity.workspaces = 0;
    bad.ingress.ipv4 = {"300.1.1.1"};
    CHECK(fields(validate_region(bad)) ==
          std::vector<std::string>{"id", "ingress.ipv4[0]", "capacity.workspaces"});

    WorkspaceRequest req{{600, 250}, {{"eu-west-1"}, {{"jurisdiction", "eu"}}, {"eu-west-1"}}};
    CHECK(validate_workspace("acme", req).empty());
    req.resources.memory_mib = 0;
    req.placement.prefer = {"us-east-1"};
    CHECK(fields(validate_workspace("www", req)) ==
          std::vector<std::string>{"name", "resources.memory_mib", "placement.prefer[0]"});
  }
}
