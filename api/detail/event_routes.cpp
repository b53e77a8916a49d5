// /v1/events (the pollable feed of lifecycle events) and /v1/webhooks
// (API.md "Events and webhooks").
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "api/server.hpp"
#include "events/events.hpp"
#include "webhooks/service.hpp"

namespace fc::api {
void Service::set_webhooks(webhooks::Service* w) { ctx_->webhooks = w; }
}  // namespace fc::api

namespace fc::api::detail {

using nlohmann::json;

namespace {

// Digits only, at most 18 of them (a sequence or a row id); nullopt otherwise.
std::optional<std::int64_t> read_count(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  return std::stoll(s);
}

// `after` (default 0) and `limit` (1..1000, default 100) of a feed; each bad
// one adds an error naming it.
std::pair<std::int64_t, int> read_feed_page(const Request& r, std::vector<FieldError>& errors) {
  std::int64_t after = 0;
  int limit = 100;
  if (auto it = r.query.find("after"); it != r.query.end()) {
    auto v = read_count(it->second);
    if (!v) errors.push_back({"after", "must be a sequence number (a non-negative integer)"});
    after = v.value_or(0);
  }
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    auto v = read_count(it->second);
    if (!v || *v < 1 || *v > 1000) errors.push_back({"limit", "must be an integer from 1 to 1000"});
    limit = static_cast<int>(std::clamp<std::int64_t>(v.value_or(100), 1, 1000));
  }
  return {after, limit};
}

// Unix seconds, or RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z".
std::optional<std::int64_t> read_time_ms(const std::string& s) {
  if (auto secs = read_count(s)) return *secs * 1000;
  std::tm tm{};
  int frac_ms = 0;
  char tail[8] = {};
  if (s.size() < 20 || s.size() > 30) return std::nullopt;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, tail) != 7)
    return std::nullopt;
  std::string rest = tail;
  if (rest.starts_with(".")) {
    std::size_t k = 1;
    int digits = 0;
    while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) {
      if (digits < 3) frac_ms = frac_ms * 10 + (rest[k] - '0');
      ++digits;
      ++k;
    }
    for (; digits < 3; ++digits) frac_ms *= 10;
    rest = rest.substr(k);
  }
  if (rest != "Z" || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + frac_ms;
}

json event_json(const events::Event& e) {
  json data = json::parse(e.data_json, nullptr, false);
  if (data.is_discarded()) data = json::object();
  return {{"id", e.id},
          {"seq", e.seq},
          {"type", e.type},
          {"time", format_rfc3339(e.created_at)},
          {"workspace_id", e.workspace_id.empty() ? json(nullptr) : json(e.workspace_id)},
          {"workspace_seq", e.workspace_id.empty() ? json(nullptr) : json(e.workspace_seq)},
          {"subject", e.subject},
          {"data", data}};
}

awaitable<Response> list_events(Context& ctx, Request& r) {
  std::vector<FieldError> errors;
  auto [after, limit] = read_feed_page(r, errors);
  events::Query q;
  q.after = after;
  q.limit = limit;
  if (auto it = r.query.find("type"); it != r.query.end()) {
    if (!events::valid_type_filter(it->second))
      errors.push_back(
          {"type", "must be an event type (workspace.created) or a family (workspace.*)"});
    q.type = it->second;
  }
  if (auto it = r.query.find("workspace"); it != r.query.end()) q.workspace_id = it->second;
  if (auto it = r.query.find("latest"); it != r.query.end()) {
    q.latest = it->second == "true" || it->second == "1";
    if (!q.latest && it->second != "false" && it->second != "0")
      errors.push_back({"latest", "must be true or false"});
  }
  if (!errors.empty()) co_return validation_failed(errors);
  // A tenant sees its own workspace's events only (404 for another's, as elsewhere).
  // A tenant-wide token names one of its tenant's workspaces (by id).
  if (r.principal->kind == TokenKind::kTenant) {
    if (!r.principal->tenant_id.empty() && q.workspace_id.empty())
      co_return validation_failed(
          {{"workspace", "required with a tenant-wide token: the id of one of its workspaces"}});
    const std::string mine =
        viewer_for(ctx, r, q.workspace_id.empty() ? r.principal->workspace_id : q.workspace_id);
    if (!q.workspace_id.empty() && q.workspace_id != mine)
      co_return problem_from(make_error(Code::kNotFound, "no workspace " + q.workspace_id),
                             r.request_id);
    q.workspace_id = mine;
  }
  auto items = events::list(ctx.db.read(), q);
  if (!items) co_return problem_from(items.error(), r.request_id);
  json out = json::array();
  for (const auto& e : items.value()) out.push_back(event_json(e));
  const std::int64_t next = items.value().empty() ? after : items.value().back().seq;
  co_return json_response(200, {{"items", out}, {"next_after", next}});
}

json endpoint_json(const webhooks::Endpoint& e) {
  auto opt_time = [](const std::optional<std::int64_t>& t) {
    return t ? json(format_rfc3339(*t)) : json(nullptr);
  };
  return {{"id", e.id},
          {"url", e.url},
          {"event_types", e.event_types},
          {"description", e.description},
          {"state", e.state},
          {"disabled_reason", e.disabled_reason ? json(*e.disabled_reason) : json(nullptr)},
          {"failing_since", opt_time(e.failing_since)},
          {"previous_secret_valid_until", opt_time(e.old_secret_until)},
          {"created_at", format_rfc3339(e.created_at)},
          {"updated_at", format_rfc3339(e.updated_at)}};
}

json delivery_json(const webhooks::Delivery& d) {
  const bool done = d.state == "delivered";
  return {{"id", d.id},
          {"event_id", d.event_id},
          {"event_type", d.event_type},
          {"workspace_id", d.workspace_id.empty() ? json(nullptr) : json(d.workspace_id)},
          {"state", d.state},
          {"attempts", d.attempts},
          {"last_status", d.last_status ? json(*d.last_status) : json(nullptr)},
          {"last_error", d.last_error ? json(*d.last_error) : json(nullptr)},
          {"next_attempt_at", done ? json(nullptr) : json(format_rfc3339(d.next_attempt_at))},
          {"created_at", format_rfc3339(d.created_at)},
          {"delivered_at", d.delivered_at ? json(format_rfc3339(*d.delivered_at)) : json(nullptr)},
          {"delivery_id", d.delivery_id ? json(*d.delivery_id) : json(nullptr)},
          {"recorded", d.recorded}};
}

awaitable<Response> create_webhook(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  const json& j = body.value();
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(j, {"url", "event_types", "description"}, "");
  auto url = in.str(j, "url", "url", true);
  auto types = in.str_list(j, "event_types", "event_types");
  auto description = in.str(j, "description", "description", false);
  if (url) {
    if (auto why = webhooks::check_url(*url, ctx.cfg.webhooks_allow_private)) in.error("url", *why);
  }
  if (types) {
    if (types->size() > 50) in.error("event_types", "at most 50 filters");
    for (std::size_t k = 0; k < types->size(); ++k) {
      const auto& t = (*types)[k];
      if (t.empty() || !events::valid_type_filter(t))
        in.error("event_types[" + std::to_string(k) + "]",
                 "must be an event type (workspace.created), a family (workspace.*) or *");
    }
  }
  if (description && description->size() > 500) in.error("description", "at most 500 characters");
  if (!errors.empty()) co_return validation_failed(errors);
  auto made = co_await ctx.webhooks->create(*url, types.value_or(std::vector<std::string>{}),
                                            description.value_or(""));
  if (!made && made.error().code == Code::kInvalidArgument)
    co_return validation_failed({{"url", made.error().detail}});
  if (!made) co_return problem_from(made.error(), r.request_id);
  json out = endpoint_json(made.value().endpoint);
  out["secret"] = made.value().secret;  // shown once
  co_return json_response(201, out);
}

awaitable<Response> list_deliveries(Context& ctx, Request& r) {
  std::vector<FieldError> errors;
  auto [after, limit] = read_feed_page(r, errors);
  if (!errors.empty()) co_return validation_failed(errors);
  auto items = ctx.webhooks->deliveries(r.params.at("id"), after, limit);
  if (!items) co_return problem_from(items.error(), r.request_id);
  json out = json::array();
  for (const auto& d : items.value()) out.push_back(delivery_json(d));
  const std::int64_t next = items.value().empty() ? after : items.value().back().id;
  co_return json_response(200, {{"items", out}, {"next_after", next}});
}

awaitable<Response> replay(Context& ctx, Request& r) {
  auto it = r.query.find("since");
  std::optional<std::int64_t> since;
  if (it != r.query.end()) since = read_time_ms(it->second);
  if (!since)
    co_return validation_failed(
        {{"since", "required: RFC 3339 UTC time (2026-01-02T03:04:05Z) or Unix seconds"}});
  auto n = co_await ctx.webhooks->replay(r.params.at("id"), *since);
  if (!n) co_return problem_from(n.error(), r.request_id);
  co_return json_response(202, {{"queued", n.value()}});
}

}  // namespace

void register_event_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("GET", "/v1/events", Scope::kAdminOrTenant,
         [&ctx](Request& r) { return list_events(ctx, r); });
  if (ctx.webhooks == nullptr) return;
  rt.add("POST", "/v1/webhooks", Scope::kAdmin,
         [&ctx](Request& r) { return create_webhook(ctx, r); });
  rt.add("GET", "/v1/webhooks", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto all = ctx.webhooks->list();
    if (!all) co_return problem_from(all.error(), r.request_id);
    json items = json::array();
    for (const auto& e : all.value()) items.push_back(endpoint_json(e));
    co_return json_response(200, {{"items", items}});
  });
  rt.add("GET", "/v1/webhooks/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto e = ctx.webhooks->get(r.params.at("id"));
    if (!e) co_return problem_from(e.error(), r.request_id);
    co_return json_response(200, endpoint_json(e.value()));
  });
  rt.add("DELETE", "/v1/webhooks/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto st = co_await ctx.webhooks->remove(r.params.at("id"));
    if (!st) co_return problem_from(st.error(), r.request_id);
    co_return no_content();
  });
  rt.add("POST", "/v1/webhooks/{id}/rotate", Scope::kAdmin,
         [&ctx](Request& r) -> awaitable<Response> {
           auto e = co_await ctx.webhooks->rotate(r.params.at("id"));
           if (!e) co_return problem_from(e.error(), r.request_id);
           json out = endpoint_json(e.value().endpoint);
           out["secret"] = e.value().secret;
           co_return json_response(200, out);
         });
  rt.add("POST", "/v1/webhooks/{id}/enable", Scope::kAdmin,
         [&ctx](Request& r) -> awaitable<Response> {
           auto e = co_await ctx.webhooks->enable(r.params.at("id"));
           if (!e) co_return problem_from(e.error(), r.request_id);
           co_return json_response(200, endpoint_json(e.value()));
         });
  rt.add("GET", "/v1/webhooks/{id}/deliveries", Scope::kAdmin,
         [&ctx](Request& r) { return list_deliveries(ctx, r); });
  rt.add("POST", "/v1/webhooks/{id}/replay", Scope::kAdmin,
         [&ctx](Request& r) { return replay(ctx, r); });
}

}  // namespace fc::api::detail
