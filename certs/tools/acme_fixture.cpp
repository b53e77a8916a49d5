// fc-acme-fixture: test-only driver of AcmeClient against a real CA (Pebble)
// until the daemon wires certs in. Prints one JSON line; exit 0 on success.
//   fc-acme-fixture issue   --directory URL --account-key F --domain D... --out-dir DIR
//                           (--challenge http-01 --http-port P | --challenge dns-01
//                            --challtestsrv HOST:PORT) [--state F] [--max-steps N]
//                           [--preferred-chain CN] [--key-type ec|rsa]
//   fc-acme-fixture account --directory URL --account-key F [--only-existing]
//                           [--eab-kid K --eab-hmac B64URL] [--email E]
//   fc-acme-fixture revoke  --directory URL --account-key F --cert F [--reason N]
//   fc-acme-fixture ari     --directory URL --account-key F --cert F
// Common: [--ca-bundle F] [--account-url U]
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "certs/acme.hpp"
#include "certs/tools/fixture_solvers.hpp"

namespace {
using namespace fc;
using namespace fc::certs;
using nlohmann::json;

struct Args {
  std::string command;
  std::multimap<std::string, std::string> opts;
  std::string get(const std::string& k, std::string def = {}) const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second;
  }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> out;
    for (auto [a, b] = opts.equal_range(k); a != b; ++a) out.push_back(a->second);
    return out;
  }
  bool has(const std::string& k) const { return opts.count(k) > 0; }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

json error_json(const Error& e, const AcmeClient* client) {
  json j{{"ok", false}, {"code", code_name(e.code)}, {"error", e.detail}};
  if (client != nullptr && client->last_problem()) {
    j["problem_type"] = client->last_problem()->type;
    j["retryable"] = client->last_problem()->retryable();
  }
  if (client != nullptr) j["bad_nonce_retries"] = client->bad_nonce_retries();
  return j;
}

Result<std::string> account_key(const Args& a) {
  const std::string path = a.get("--account-key");
  if (path.empty()) return make_error(Code::kInvalidArgument, "--account-key is required");
  if (std::filesystem::exists(path)) return read_file(path);
  BOOST_OUTCOME_TRY(pem, generate_key_pem(KeyType::kEcdsaP256));
  write_file(path, pem);
  return pem;
}

std::unique_ptr<Solver> make_solver(const Args& a, asio::any_io_executor ex) {
  if (a.get("--challenge", "http-01") == "http-01") {
    return std::make_unique<fixture::Http01Responder>(
        ex, static_cast<unsigned short>(std::stoi(a.get("--http-port", "5002"))));
  }
  const std::string hp = a.get("--challtestsrv");
  return std::make_unique<fixture::ChallTestSrvDns01>(hp.substr(0, hp.rfind(':')),
                                                      hp.substr(hp.rfind(':') + 1));
}

// The order to run: resumed from --state when that file exists, else new.
Result<OrderState> initial_state(const Args& a) {
  const std::string state_file = a.get("--state");
  if (!state_file.empty() && std::filesystem::exists(state_file))
    return parse_order_state(read_file(state_file));
  OrderState st;
  st.identifiers = a.all("--domain");
  return st;
}

json issue_result(const Args& a, const OrderState& fin, const AcmeClient& client) {
  if (fin.status == OrderStatus::kInvalid) {
    json j{{"ok", false}, {"code", "invalid_order"}, {"order_url", fin.order_url}};
    if (fin.error) {
      j["error"] = problem_error(*fin.error).detail;
      j["problem_type"] = fin.error->type;
    }
    return j;
  }
  const std::string dir = a.get("--out-dir", ".");
  write_file(dir + "/chain.pem", fin.certificate_pem);
  write_file(dir + "/key.pem", fin.key_pem);
  auto info = parse_leaf(fin.certificate_pem);
  json j{{"ok", true},
         {"order_url", fin.order_url},
         {"account_url", fin.account_url},
         {"steps", fin.steps},
         {"bad_nonce_retries", client.bad_nonce_retries()}};
  if (info) {
    j["dns_names"] = info.value().dns_names;
    j["issuer_cn"] = info.value().issuer_cn;
    j["ari_id"] = info.value().ari_id;
  }
  return j;
}

awaitable<json> cmd_issue(const Args& a, AcmeClient& client) {
  auto ex = co_await asio::this_coro::executor;
  std::unique_ptr<Solver> solver = make_solver(a, ex);
  auto st = initial_state(a);
  if (!st) co_return error_json(st.error(), &client);
  const std::string state_file = a.get("--state");
  auto persist = [&](const OrderState& s) {
    if (!state_file.empty()) write_file(state_file, serialize_order_state(s));
  };
  const int max_steps = std::stoi(a.get("--max-steps", "60"));
  std::vector<Solver*> solvers{solver.get()};
  auto done = co_await client.run_order(st.value(), solvers, timer_sleeper(), max_steps, persist);
  if (!done) co_return error_json(done.error(), &client);
  co_return issue_result(a, done.value(), client);
}

AcmeConfig acme_config(const Args& a, std::string account_key_pem) {
  AcmeConfig cfg;
  cfg.directory_url = a.get("--directory");
  cfg.ca_bundle = a.get("--ca-bundle");
  cfg.account_key_pem = std::move(account_key_pem);
  cfg.account_url = a.get("--account-url");
  cfg.preferred_chain_issuer_cn = a.get("--preferred-chain");
  cfg.request_timeout = std::chrono::milliseconds(std::stoi(a.get("--timeout-ms", "10000")));
  if (a.get("--key-type") == "rsa") cfg.certificate_key_type = KeyType::kRsa2048;
  if (a.has("--email")) cfg.contact = {"mailto:" + a.get("--email")};
  if (a.has("--eab-kid")) cfg.eab = ExternalAccountBinding{a.get("--eab-kid"), a.get("--eab-hmac")};
  return cfg;
}

awaitable<json> run(Args a) {
  auto key = account_key(a);
  if (!key) co_return error_json(key.error(), nullptr);
  SystemClock clock;
  auto client = AcmeClient::create(acme_config(a, key.value()), clock);
  if (!client) co_return error_json(client.error(), nullptr);
  AcmeClient& c = *client.value();
  if (a.command == "issue") {
    auto j = co_await cmd_issue(a, c);
    co_return j;
  }
  if (a.command == "account") {
    auto acct = co_await c.account(a.has("--only-existing"));
    if (!acct) co_return error_json(acct.error(), &c);
    co_return json{{"ok", true},
                   {"account_url", acct.value().url},
                   {"created", acct.value().created},
                   {"status", acct.value().status},
                   {"bad_nonce_retries", c.bad_nonce_retries()}};
  }
  const std::string cert = read_file(a.get("--cert"));
  if (a.command == "revoke") {
    std::optional<int> reason;
    if (a.has("--reason")) reason = std::stoi(a.get("--reason"));
    auto r = co_await c.revoke(cert, reason);
    if (!r) co_return error_json(r.error(), &c);
    co_return json{{"ok", true}, {"bad_nonce_retries", c.bad_nonce_retries()}};
  }
  if (a.command == "ari") {
    auto ri = co_await c.renewal_info(cert);
    if (!ri) co_return error_json(ri.error(), &c);
    co_return json{{"ok", true}, {"has_ari", ri.value().has_value()}};
  }
  co_return json{{"ok", false}, {"error", "unknown command " + a.command}};
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (argc < 2) {
    std::cerr << "usage: fc-acme-fixture issue|account|revoke|ari --directory URL ...\n";
    return 2;
  }
  args.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    const bool flag = k == "--only-existing";
    if (!flag && i + 1 >= argc) {
      std::cerr << "missing value for " << k << "\n";
      return 2;
    }
    args.opts.emplace(k, flag ? "1" : argv[++i]);
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("fixture"));  // stdout: the JSON result
  asio::io_context io;
  json result;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        result = co_await run(args);
        io.stop();  // the HTTP-01 responder's accept loop would keep run() going
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  std::cout << result.dump() << std::endl;
  return result.value("ok", false) ? 0 : 1;
}
