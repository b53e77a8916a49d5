// certs::Service: key-encryption key, internal root, the certificates store
// and the API-facing operations. Orders run in issue.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "certs/detail/service_impl.hpp"

namespace fc::certs {

using detail::CertRow;
using detail::CertStatus;
using nlohmann::json;

namespace {

constexpr const char* kKekCheck = "fleetcommand key-encryption key check v1";

std::string to_hex(std::span<const std::uint8_t> b) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (auto x : b) {
    out += k[x >> 4];
    out += k[x & 15];
  }
  return out;
}

Result<std::array<std::uint8_t, 32>> parse_kek(const std::string& text, const std::string& path) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  std::array<std::uint8_t, 32> k{};
  if (t.size() == 64 && std::all_of(t.begin(), t.end(), ::isxdigit)) {
    for (std::size_t i = 0; i < 32; ++i)
      k[i] = static_cast<std::uint8_t>(std::stoi(t.substr(2 * i, 2), nullptr, 16));
    return k;
  }
  if (text.size() == 32) {
    std::copy(text.begin(), text.end(), k.begin());
    return k;
  }
  return make_error(Code::kInvalidArgument, "certs.key_encryption_key_file " + path +
                                                ": must hold 32 bytes (raw) or 64 hex digits");
}

Status write_new_kek(const std::string& path, const std::string& hex) {
  auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Code::kIo, "cannot create certs.key_encryption_key_file " + path);
  std::string line = hex + "\n";
  bool good = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  good = good && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!good) return make_error(Code::kIo, "cannot write certs.key_encryption_key_file " + path);
  return ok();
}

Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::kIo, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::int64_t> opt_int(const json& o, const char* k) {
  if (o.contains(k) && o[k].is_number_integer()) return o[k].get<std::int64_t>();
  return std::nullopt;
}

// `budgets`: the original keys give a capacity over Let's Encrypt's period
// ("orders_per_3h": 300); the bucket keys give both ({"capacity", "period_s"}).
void parse_budgets(const json& b, detail::BudgetLimits& l) {
  const std::pair<const char*, detail::BucketLimit*> counts[] = {
      {"orders_per_3h", &l.new_orders},
      {"certs_per_domain_per_week", &l.certs_per_domain},
      {"duplicates_per_week", &l.duplicates},
      {"failed_validations_per_hour", &l.failed_validations}};
  for (const auto& [key, limit] : counts)
    limit->capacity = opt_int(b, key).value_or(limit->capacity);
  const std::pair<const char*, detail::BucketLimit*> buckets[] = {
      {"new_orders", &l.new_orders},
      {"certs_per_domain", &l.certs_per_domain},
      {"duplicates", &l.duplicates},
      {"failed_validations", &l.failed_validations}};
  for (const auto& [key, limit] : buckets) {
    if (!b.contains(key) || !b[key].is_object()) continue;
    limit->capacity = opt_int(b[key], "capacity").value_or(limit->capacity);
    if (auto p = opt_int(b[key], "period_s")) limit->period_ms = *p * 1000;
  }
}

}  // namespace

Result<std::vector<IssuerConfig>> parse_issuers(const json& list) {
  std::vector<IssuerConfig> out;
  if (!list.is_array() || list.empty())
    return make_error(Code::kInvalidArgument, "certs.issuers: must be a non-empty list");
  for (const auto& it : list) {
    IssuerConfig ic;
    ic.type = it.value("type", "");
    if (ic.type == "internal") {
      ic.name = "internal";
      ic.validity_s = opt_int(it, "validity_s").value_or(ic.validity_s);
    } else {
      ic.acme.directory_url = it.value("directory", "");
      ic.name = "acme:" + ic.acme.directory_url;
      if (it.contains("ca_bundle") && it["ca_bundle"].is_string())
        ic.acme.ca_bundle = it["ca_bundle"].get<std::string>();
      if (it.contains("email") && it["email"].is_string())
        ic.acme.contact.push_back("mailto:" + it["email"].get<std::string>());
      if (it.contains("preferred_chain") && it["preferred_chain"].is_string())
        ic.acme.preferred_chain_issuer_cn = it["preferred_chain"].get<std::string>();
      if (it.value("key_type", "ecdsa-p256") == "rsa2048")
        ic.acme.certificate_key_type = KeyType::kRsa2048;
      if (it.contains("eab") && it["eab"].is_object())
        ic.acme.eab =
            ExternalAccountBinding{it["eab"].value("kid", ""), it["eab"].value("hmac_key", "")};
      parse_budgets(it.value("budgets", json::object()), ic.budgets);
    }
    out.push_back(std::move(ic));
  }
  return out;
}

Result<std::string> Service::Impl::seal_text(std::string_view plain) {
  BOOST_OUTCOME_TRY(box, seal(kek, plain));
  return base64url_encode(box);
}

Result<std::string> Service::Impl::open_text(const std::string& sealed_b64) {
  BOOST_OUTCOME_TRY(bytes, base64url_decode(sealed_b64));
  return open(kek, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Status Service::Impl::load_kek() {
  const std::string& path = o.kek_file;
  BOOST_OUTCOME_TRY(check, detail::get_meta(db.read(), "kek_check"));
  if (!std::filesystem::exists(path)) {
    if (check)
      return make_error(Code::kCrypto,
                        "certs.key_encryption_key_file " + path +
                            " is missing, but this database holds keys sealed with one");
    std::array<std::uint8_t, 32> fresh{};
    if (RAND_bytes(fresh.data(), static_cast<int>(fresh.size())) != 1)
      return make_error(Code::kCrypto, "RAND_bytes failed");
    BOOST_OUTCOME_TRY(write_new_kek(path, to_hex(fresh)));
    spdlog::info("certs: generated a new key-encryption key path={} mode=0600", path);
  }
  BOOST_OUTCOME_TRY(text, read_small_file(path));
  BOOST_OUTCOME_TRY(k, parse_kek(text, path));
  kek = k;
  if (check) {
    auto opened = open_text(*check);
    if (!opened || opened.value() != kKekCheck)
      return make_error(Code::kCrypto,
                        "certs.key_encryption_key_file " + path +
                            " is not the key this database's private keys were sealed with"
                            " (wrong key-encryption key)");
    return ok();
  }
  BOOST_OUTCOME_TRY(sealed, seal_text(kKekCheck));
  return db.write_sync([&](storage::Conn& c) { return detail::put_meta(c, "kek_check", sealed); });
}

Status Service::Impl::load_internal_ca() {
  BOOST_OUTCOME_TRY(cert, detail::get_meta(db.read(), "internal_root_cert"));
  BOOST_OUTCOME_TRY(key, detail::get_meta(db.read(), "internal_root_key"));
  if (cert && key) {
    BOOST_OUTCOME_TRY(k, open_text(*key));
    internal_ca = InternalCa{*cert, k};
    return ok();
  }
  BOOST_OUTCOME_TRY(ca, create_internal_ca(clock.now(), "fleetcommand internal root"));
  BOOST_OUTCOME_TRY(sealed, seal_text(ca.root_key_pem));
  BOOST_OUTCOME_TRY(db.write_sync([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(detail::put_meta(c, "internal_root_cert", ca.root_cert_pem));
    return detail::put_meta(c, "internal_root_key", sealed);
  }));
  internal_ca = ca;
  spdlog::info("certs: created the internal root cn=\"fleetcommand internal root\"");
  return ok();
}

Status Service::Impl::enqueue_now(storage::Conn& c, const std::string& id, std::int64_t run_at) {
  return storage::enqueue(c, storage::NewJob{kOrderJob, id, "{}", run_at, 0}, clock.now_ms());
}

storage::JobOutcome Service::Impl::wait_for_slot(const std::string& id, bool renewal) {
  (renewal ? slot_waiters_renewal : slot_waiters_new).insert(id);
  // release_slot() wakes it; this re-check is only the fallback.
  const auto fallback = std::chrono::milliseconds(renewal ? 1000 : 5000);
  return storage::JobOutcome{false, "", fallback, false};
}

void Service::Impl::take_slot(const std::string& id) {
  in_flight.insert(id);
  slot_waiters_renewal.erase(id);
  slot_waiters_new.erase(id);
}

void Service::Impl::release_slot(const std::string& id) {
  in_flight.erase(id);
  auto& waiters = slot_waiters_renewal.empty() ? slot_waiters_new : slot_waiters_renewal;
  if (waiters.empty()) return;
  std::string next = *waiters.begin();
  waiters.erase(waiters.begin());
  asio::co_spawn(io, wake_job(std::move(next)), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("certs: waking an order job failed error={}", ex.what());
    }
  });
}

// Moves the waiting job's run_at to now (its handler has returned, so the job
// is queued again) and wakes the runner.
awaitable<void> Service::Impl::wake_job(std::string id) {
  const auto now = clock.now_ms();
  auto st = co_await db.write([&](storage::Conn& c) { return enqueue_now(c, id, now); });
  if (!st)
    spdlog::warn("certs: order job not woken for a free slot id={} error={}", id,
                 st.error().detail);
  if (jobs) jobs->poke();
}

Service::Service(asio::io_context& io, storage::Database& db, const Clock& clock, ServiceOptions o)
    : impl_(std::make_unique<Impl>(io, db, clock, std::move(o))) {}
Service::~Service() = default;

Status Service::init(storage::JobRunner& jobs) {
  BOOST_OUTCOME_TRY(iss, parse_issuers(impl_->o.issuers));
  impl_->issuers = std::move(iss);
  BOOST_OUTCOME_TRY(zones, dns::parse_rfc2136_targets(impl_->o.dns_providers));
  impl_->rfc2136 = std::move(zones);
  BOOST_OUTCOME_TRY(impl_->load_kek());
  BOOST_OUTCOME_TRY(impl_->load_internal_ca());
  impl_->jobs = &jobs;
  // One daemon owns the database: an order job leased by a process that died
  // (kill -9) is resumed now instead of after its lease.
  const auto now = impl_->clock.now_ms();
  BOOST_OUTCOME_TRY(impl_->db.write_sync(
      [&](storage::Conn& c) { return storage::requeue_leased(c, kOrderJob, now); }));
  auto* impl = impl_.get();
  jobs.on(kOrderJob, [impl](storage::Job j) { return impl->run_job(std::move(j)); });
  return ok();
}

void Service::set_zone(dns::ZoneNotifier* zone) {
  impl_->zone = zone;
  impl_->dns_changed = nullptr;
  impl_->dns_settled = nullptr;
  if (zone == nullptr) return;
  impl_->dns_changed = [zone] { zone->challenges_changed(); };
  impl_->dns_settled = [zone] { return zone->settled(std::chrono::seconds(2)); };
}

Result<std::string> Service::seal_secret(std::string_view plain) { return impl_->seal_text(plain); }
Result<std::string> Service::open_secret(const std::string& sealed) {
  return impl_->open_text(sealed);
}

awaitable<void> Service::tick() {
  co_await impl_->sweep_external_txt();
  co_await impl_->announce_expiring();
}

void Service::add_issued_listener(IssuedListener& l) { impl_->issued.push_back(&l); }

awaitable<Result<std::string>> Service::ensure(std::vector<std::string> hostnames,
                                               std::string workspace_id, ChallengePref pref,
                                               std::string dns01_delegate_name) {
  if (hostnames.empty() || hostnames.size() > 100)
    co_return make_error(Code::kInvalidArgument, "hostnames: 1 to 100 names");
  CertRow row;
  row.names_key = detail::names_key(hostnames);
  row.hostnames = hostnames;
  row.workspace_id = std::move(workspace_id);
  row.challenge = pref == ChallengePref::kDns01 ? "dns-01" : "http-01";
  row.dns01_delegate = std::move(dns01_delegate_name);
  std::string id;
  const auto now = impl_->clock.now_ms();
  auto st = co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(existing, detail::find_by_names(c, row.names_key));
    if (existing) {
      id = *existing;
      return ok();
    }
    id = row.id = impl_->ids.next("crt_", now);
    BOOST_OUTCOME_TRY(detail::insert_cert(c, row, now));
    return impl_->enqueue_now(c, id, now);
  });
  if (!st) co_return st.error();
  if (impl_->jobs) impl_->jobs->poke();
  co_return id;
}

Result<CertificateView> Service::get(const std::string& id) {
  BOOST_OUTCOME_TRY(row, detail::load_cert(impl_->db.read(), id));
  if (!row) return make_error(Code::kNotFound, "certificate " + id + " not found");
  return detail::to_view(*row);
}

Result<std::vector<CertificateView>> Service::list(const std::string& hostname_filter) {
  BOOST_OUTCOME_TRY(rows, detail::list_certs(impl_->db.read(), hostname_filter, ""));
  std::vector<CertificateView> out;
  for (const auto& r : rows) out.push_back(detail::to_view(r));
  return out;
}

Result<ExpirySummary> Service::expiry_summary() {
  return detail::expiry_summary(impl_->db.read(), impl_->clock.now_ms());
}

Result<CertificateMaterial> Service::material(const std::string& id) {
  BOOST_OUTCOME_TRY(row, detail::load_cert(impl_->db.read(), id));
  if (!row || row->version == 0 || !row->chain_pem || !row->key_sealed)
    return make_error(Code::kNotFound, "certificate " + id + " not found");
  BOOST_OUTCOME_TRY(key, impl_->open_text(*row->key_sealed));
  return CertificateMaterial{row->id,          row->version, row->hostnames,
                             *row->chain_pem,  key,          row->not_after.value_or(0),
                             row->workspace_id};
}

awaitable<Status> Service::renew_now(std::string id) {
  const auto now = impl_->clock.now_ms();
  auto st = co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(row, detail::load_cert(c, id));
    if (!row) return make_error(Code::kNotFound, "certificate " + id + " not found");
    if (row->version > 0 && !row->order_state) {
      row->status = CertStatus::kRenewing;
      row->renew_after = now;
    }
    row->renew = true;
    row->failures = 0;
    row->next_attempt_at.reset();
    BOOST_OUTCOME_TRY(detail::update_cert(c, *row, now));
    return impl_->enqueue_now(c, id, now);
  });
  if (!st) co_return st;
  if (impl_->in_flight.count(id) > 0) impl_->kicked.insert(id);
  if (impl_->jobs) impl_->jobs->poke();
  co_return ok();
}

awaitable<Status> Service::stop_renewing(std::string id) {
  const auto now = impl_->clock.now_ms();
  co_return co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(row, detail::load_cert(c, id));
    if (!row) return make_error(Code::kNotFound, "certificate " + id + " not found");
    row->renew = false;
    return detail::update_cert(c, *row, now);
  });
}

awaitable<Status> Service::resume_renewing(std::string id) {
  const auto now = impl_->clock.now_ms();
  auto st = co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(row, detail::load_cert(c, id));
    if (!row) return make_error(Code::kNotFound, "certificate " + id + " not found");
    row->renew = true;
    BOOST_OUTCOME_TRY(detail::update_cert(c, *row, now));
    // The job ended when the certificate expired unrenewed; run_job decides
    // whether it is due (not_due) and otherwise waits for renew_after.
    return impl_->enqueue_now(c, id, now);
  });
  if (st && impl_->jobs) impl_->jobs->poke();
  co_return st;
}

awaitable<Status> Service::remove(std::string id) {
  co_return co_await impl_->db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(row, detail::load_cert(c, id));
    if (!row) return make_error(Code::kNotFound, "certificate " + id + " not found");
    return detail::delete_cert(c, id);
  });
}

Result<json> Service::refs_for_workspace(storage::Conn& c, const std::string& workspace_id) {
  json out = json::array();
  if (workspace_id.empty()) return out;
  BOOST_OUTCOME_TRY(rows, detail::list_certs(c, "", workspace_id));
  for (const auto& r : rows)
    if (r.version > 0)
      out.push_back({{"id", r.id}, {"hostnames", r.hostnames}, {"version", r.version}});
  return out;
}

Result<std::string> Service::http01_answer(storage::Conn& c, const std::string& token) {
  BOOST_OUTCOME_TRY(answer, detail::http_token_answer(c, token));
  if (!answer) return make_error(Code::kNotFound, "no challenge for this token");
  return std::move(*answer);
}

}  // namespace fc::certs
