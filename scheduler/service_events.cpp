// The workspace view (Service::workspace_view) and the lifecycle events of
// workspaces and regions (docs/events.md), appended inside the transaction of
// the change: workspace.created/.placed/.running/.migrated/.deleted,
// region.healthy/.unhealthy.
#include <algorithm>
#include <charconv>
#include <string_view>

#include "events/events.hpp"
#include "scheduler/detail/impl.hpp"
#include "scheduler/detail/log.hpp"
#include "scheduler/detail/view_text.hpp"

namespace fc::scheduler {

using nlohmann::json;

json Service::base_view(const Workspace& w) const {
  json j = {
      {"id", w.id},
      {"name", w.name},
      {"hostname", hostname_of(w)},
      {"region", w.region},
      {"state", w.state},
      {"generation", w.generation},
      {"observed",
       {{"generation", w.observed_generation},
        {"phase", w.observed_phase},
        {"message", w.observed_message},
        {"since", w.observed_since > 0 ? json(format_rfc3339(w.observed_since)) : json(nullptr)}}},
      {"resources",
       {{"memory_mib", w.resources.memory_mib}, {"cpu_millis", w.resources.cpu_millis}}},
      {"placement", placement_json(w.placement)},
      {"spec", w.spec},
      {"dns",
       {{"published", w.dns_region.has_value()},
        {"region", w.dns_region ? json(*w.dns_region) : json(nullptr)}}},
      {"suspended", w.suspended},
      {"tenant", nullptr},
      {"plan", nullptr},
      {"created_at", format_rfc3339(w.created_at)},
      {"updated_at", format_rfc3339(w.updated_at)}};
  if (w.target_region) j["target_region"] = *w.target_region;
  return j;
}

Result<json> Service::workspace_view(storage::Conn& c, const Workspace& w) const {
  json j = base_view(w);
  for (const auto& [name, d] : view_decorators_) {
    BOOST_OUTCOME_TRY(d(c, std::span<const Workspace>(&w, 1), std::span<json>(&j, 1)));
  }
  return j;
}

void detail::append_rfc3339_json(std::string& out, std::int64_t unix_ms) {
  // format_rfc3339 (common/clock.hpp) between quotes, digits written directly.
  const CivilTime t = civil_from_unix_ms(unix_ms);
  if (t.year < 0 || t.year > 9999) {
    out += '"';
    out += format_rfc3339(unix_ms);
    out += '"';
    return;
  }
  char b[26] = "\"0000-00-00T00:00:00.000Z";
  const auto two = [&](int at, std::int64_t v) {
    b[at] = static_cast<char>('0' + v / 10);
    b[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(1, t.year / 100);
  two(3, t.year % 100);
  two(6, t.month);
  two(9, t.day);
  two(12, t.hour);
  two(15, t.minute);
  two(18, t.second);
  b[21] = static_cast<char>('0' + t.millis / 100);
  two(22, t.millis % 100);
  b[25] = '"';
  out.append(b, 26);
}

namespace {

// nlohmann's dump of one string (ensure_ascii off, invalid UTF-8 replaced):
// printable ASCII without '"' and '\\' as it is, anything else through dump.
void put_str(std::string& out, std::string_view s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

void put_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_json(std::string& out, const json& v) {
  out += v.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

void detail::append_apply_assignment(std::string& out, const ApplyAssignment& a) {
  out += "{\"action\":\"apply\",\"certificates\":[],\"generation\":";
  put_int(out, a.generation);
  out += ",\"hostnames\":[";
  put_str(out, a.hostname);
  out += "],\"name\":";
  put_str(out, a.name);
  out += ",\"resources\":{\"cpu_millis\":";
  put_int(out, a.cpu_millis);
  out += ",\"memory_mib\":";
  put_int(out, a.memory_mib);
  out += "},\"spec\":";
  out += a.spec_json;
  if (a.suspended) out += ",\"suspended\":true";
  out += ",\"workspace_id\":";
  put_str(out, a.workspace_id);
  out += '}';
}

namespace {

// One view object: the scheduler's fields in key order (std::map's, as
// nlohmann dumps an object), each replaced by a decorator's field of the same
// name and interleaved with the decorators' other fields.
class ViewText {
 public:
  ViewText(std::string& out, const json& extra) : out_(out) {
    if (extra.is_object()) {
      x_ = extra.get_ref<const json::object_t&>().begin();
      end_ = extra.get_ref<const json::object_t&>().end();
    }
    out_ += '{';
  }
  // Writes the key; false when a decorator's value was written with it.
  bool own(std::string_view key) {
    for (; x_ != end_ && std::string_view(x_->first) < key; ++x_) extra_field();
    if (x_ != end_ && x_->first == key) {
      extra_field();
      ++x_;
      return false;
    }
    put_key(key);
    return true;
  }
  void close() {
    for (; x_ != end_; ++x_) extra_field();
    out_ += '}';
  }

 private:
  void put_key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    put_str(out_, key);
    out_ += ':';
  }
  void extra_field() {
    put_key(x_->first);
    put_json(out_, x_->second);
  }
  std::string& out_;
  json::object_t::const_iterator x_{}, end_{};
  bool first_ = true;
};

}  // namespace

// The same fields as base_view (keep the two together).
std::string Service::workspace_views_json(storage::Conn& c, std::span<const Workspace> ws) const {
  std::vector<json> extra(ws.size(), json::object());
  for (const auto& [name, d] : view_decorators_) {
    if (ws.empty()) break;
    if (auto st = d(c, ws, extra); !st) {
      detail::logger()->warn("workspace views incomplete decorator={} count={} reason={}", name,
                             ws.size(), st.error().detail);
      std::fill(extra.begin(), extra.end(), json::object());
      break;
    }
  }
  std::string out;
  out.reserve(ws.size() * 640 + 2);
  out += '[';
  for (std::size_t i = 0; i < ws.size(); ++i) {
    if (i > 0) out += ',';
    put_view(out, ws[i], extra[i]);
  }
  out += ']';
  return out;
}

Result<std::string> Service::workspace_view_json(storage::Conn& c, const Workspace& w,
                                                 const CreatedView* known) const {
  json extra = known ? known->fields : json::object();
  for (const auto& [name, d] : view_decorators_) {
    if (known &&
        std::find(known->covered.begin(), known->covered.end(), name) != known->covered.end())
      continue;
    BOOST_OUTCOME_TRY(d(c, std::span<const Workspace>(&w, 1), std::span<json>(&extra, 1)));
  }
  std::string out;
  out.reserve(640);
  put_view(out, w, extra);
  return out;
}

void Service::put_view(std::string& out, const Workspace& w, const json& extra) const {
  ViewText v(out, extra);
  if (v.own("created_at")) detail::append_rfc3339_json(out, w.created_at);
  if (v.own("dns")) {
    out += w.dns_region ? "{\"published\":true,\"region\":" : "{\"published\":false,\"region\":";
    if (w.dns_region)
      put_str(out, *w.dns_region);
    else
      out += "null";
    out += '}';
  }
  if (v.own("generation")) put_int(out, w.generation);
  if (v.own("hostname")) put_str(out, hostname_of(w));
  if (v.own("id")) put_str(out, w.id);
  if (v.own("name")) put_str(out, w.name);
  if (v.own("observed")) {
    out += "{\"generation\":";
    put_int(out, w.observed_generation);
    out += ",\"message\":";
    put_str(out, w.observed_message);
    out += ",\"phase\":";
    put_str(out, w.observed_phase);
    out += ",\"since\":";
    if (w.observed_since > 0)
      detail::append_rfc3339_json(out, w.observed_since);
    else
      out += "null";
    out += '}';
  }
  if (v.own("placement")) {
    const auto& p = w.placement;
    if (p.regions.empty() && p.labels.empty() && p.prefer.empty())
      out += "{\"labels\":{},\"prefer\":[],\"regions\":[]}";
    else
      put_json(out, placement_json(p));
  }
  if (v.own("plan")) out += "null";
  if (v.own("region")) put_str(out, w.region);
  if (v.own("resources")) {
    out += "{\"cpu_millis\":";
    put_int(out, w.resources.cpu_millis);
    out += ",\"memory_mib\":";
    put_int(out, w.resources.memory_mib);
    out += '}';
  }
  if (v.own("spec")) put_json(out, w.spec);
  if (v.own("state")) put_str(out, w.state);
  if (v.own("suspended")) out += w.suspended ? "true" : "false";
  if (w.target_region && v.own("target_region")) put_str(out, *w.target_region);
  if (v.own("tenant")) out += "null";
  if (v.own("updated_at")) detail::append_rfc3339_json(out, w.updated_at);
  v.close();
}

std::vector<std::string> Service::ids_of(std::span<const Workspace> ws) {
  std::vector<std::string> out;
  out.reserve(ws.size());
  for (const auto& w : ws) out.push_back(w.id);
  return out;
}

Status Service::Impl::emit(storage::Conn& c, const std::string& type, const Workspace& w,
                           const json& extra) {
  BOOST_OUTCOME_TRY(view, svc.workspace_view(c, w));
  for (const auto& [k, v] : extra.items()) view[k] = v;
  return emit_view(c, type, w, view.dump(-1, ' ', false, json::error_handler_t::replace));
}

Status Service::Impl::emit_view(storage::Conn& c, const std::string& type, const Workspace& w,
                                const std::string& view_json) {
  return events::append(c, {type, w.id, w.id, view_json}, now());
}

// The state last announced per region: its newest region.healthy /
// region.unhealthy event, read for the whole fleet in two indexed queries
// after each load() (not one scan of the events table per region: with 1,000
// regions that stalled the I/O thread for seconds after a start).
Status Service::Impl::load_health_announced() {
  std::map<std::string, std::pair<std::int64_t, Health>> newest;
  for (const auto& [type, h] : {std::pair{"region.healthy", Health::kHealthy},
                                std::pair{"region.unhealthy", Health::kUnhealthy}}) {
    BOOST_OUTCOME_TRY(rows, events::newest_by_subject(db.read(), type));
    for (auto& [subject, seq] : rows) {
      auto& n = newest[subject];
      if (seq > n.first) n = {seq, h};
    }
  }
  health_announced.clear();
  for (const auto& [subject, n] : newest)
    health_announced.emplace_hint(health_announced.end(), subject, n.second);
  announced_loaded = true;
  return ok();
}

// Health is evaluated at read time (docs/scheduler.md); this turns its
// transitions into events. The announced state survives a restart (above), so
// a restart announces nothing twice. A region that never heartbeated is
// "unknown": its first healthy heartbeat is announced as region.healthy.
awaitable<void> Service::Impl::emit_health_transitions() {
  if (!announced_loaded) {
    if (auto st = load_health_announced(); !st) {
      detail::logger()->warn("reading the announced region health failed reason={}",
                             st.error().detail);
      co_return;
    }
  }
  // Both sorted by id: one merged pass, no lookup per region.
  std::vector<std::pair<std::string, Health>> changed;
  auto seen = health_announced.begin();
  for (const auto& v : views()) {
    while (seen != health_announced.end() && seen->first < v.id) ++seen;
    if (v.health.health == Health::kUnknown) continue;
    const Health before =
        seen != health_announced.end() && seen->first == v.id ? seen->second : Health::kUnknown;
    if (before != v.health.health) changed.emplace_back(v.id, v.health.health);
  }
  if (changed.empty()) co_return;
  const std::int64_t at = now();
  // Built here, on the I/O thread: the write fn runs on the writer thread,
  // which must not read the in-memory index.
  std::vector<events::NewEvent> evs;
  for (const auto& [id, h] : changed) {
    bool healthy = h == Health::kHealthy;
    json data = {{"id", id}, {"health", healthy ? "healthy" : "unhealthy"}};
    auto hb = index.last_heartbeat(id);
    data["last_heartbeat"] = hb ? json(format_rfc3339(*hb)) : json(nullptr);
    evs.push_back({healthy ? "region.healthy" : "region.unhealthy", "", id, data.dump()});
  }
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    for (const auto& e : evs) {
      BOOST_OUTCOME_TRY(events::append(c, e, at));
    }
    return ok();
  });
  if (!st) {
    detail::logger()->warn("region health events failed regions={} reason={}", changed.size(),
                           st.error().detail);
    co_return;
  }
  for (const auto& [id, h] : changed) {
    health_announced[id] = h;
    detail::logger()->info("region {} id={}", h == Health::kHealthy ? "healthy" : "unhealthy", id);
  }
}

}  // namespace fc::scheduler
