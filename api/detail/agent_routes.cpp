// /v1/agent/* (API.md "Agent"): the region is always the token's.
#include <spdlog/spdlog.h>

#include "agent/protocol.hpp"
#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "scheduler/service.hpp"

namespace fc::api::detail {

using nlohmann::json;
namespace sch = fc::scheduler;

namespace {

std::optional<std::int64_t> query_int(const Request& r, const std::string& k, std::int64_t lo,
                                      std::int64_t hi) {
  auto it = r.query.find(k);
  if (it == r.query.end() || it->second.empty()) return lo;
  const auto& s = it->second;
  if (s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) return std::nullopt;
  std::int64_t v = std::stoll(s);
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

// The agent's wire shape; the assignments are stored encoded (scheduler) and
// go out as stored.
Response page_json(const sch::AssignmentsPage& p) {
  json j = agent::proto::AssignmentsResponse{p.region, p.revision, p.complete, {}};
  j["assignments"] = p.assignments;
  return json_response(200, j);
}

awaitable<Response> get_assignments(Context& ctx, Request& r) {
  auto since = query_int(r, "since", 0, INT64_MAX / 2);
  auto wait = query_int(r, "wait", 0, 60);
  std::vector<FieldError> errors;
  if (!since) errors.push_back({"since", "must be a non-negative integer"});
  if (!wait) errors.push_back({"wait", "must be an integer from 0 to 60"});
  if (!errors.empty()) co_return validation_failed(errors);
  const std::string region = r.principal->region;
  auto page = ctx.scheduler->assignments(region, *since);
  if (!page) co_return problem_from(page.error(), r.request_id);
  // An agent asks since=REV only once it has received REV: the acknowledgement
  // AssignmentDelivered reads (a response built for a poll whose agent has gone
  // proves nothing). In memory; persisted at most once a second.
  if (*since > 0) ctx.scheduler->fetched(region, *since);
  if (*since == 0 || !page.value().assignments.empty() || *wait == 0 || ctx.shutting_down)
    co_return page_json(page.value());
  co_await ctx.scheduler->wait_for_change(region, *since, std::chrono::seconds(*wait));
  auto again = ctx.scheduler->assignments(region, *since);
  if (!again) co_return problem_from(again.error(), r.request_id);
  co_return page_json(again.value());
}

awaitable<Response> post_heartbeat(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  auto hb = agent::proto::decode<agent::proto::Heartbeat>(body.value());
  if (!hb) co_return validation_failed({{"", hb.error().detail}});
  if (hb.value().agent_id.empty() || hb.value().agent_id.size() > 253)
    co_return validation_failed({{"agent_id", "must be 1 to 253 characters"}});
  co_await ctx.scheduler->agent_heartbeat(r.principal->region, hb.value().agent_id,
                                          hb.value().version.value_or(""));
  co_return json_response(
      200, {{"region", r.principal->region}, {"heartbeat_timeout_s", ctx.cfg.heartbeat_timeout_s}});
}

awaitable<Response> post_status(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  auto rep = agent::proto::decode<agent::proto::StatusReport>(body.value());
  if (!rep) co_return validation_failed({{"", rep.error().detail}});
  if (rep.value().workspaces.size() > 10000)
    co_return validation_failed({{"workspaces", "at most 10000 items per report"}});
  std::vector<sch::ReportItem> items;
  for (const auto& w : rep.value().workspaces) {
    items.push_back({w.workspace_id, w.generation, w.phase, w.message});
  }
  auto res = co_await ctx.scheduler->report(r.principal->region, items);
  if (!res) co_return problem_from(res.error(), r.request_id);
  json out = json::array();
  for (const auto& x : res.value()) {
    json item = {{"workspace_id", x.workspace_id}, {"accepted", x.accepted}};
    if (!x.accepted) item["error"] = x.error;
    out.push_back(item);
  }
  co_return json_response(200, {{"results", out}});
}

}  // namespace

void register_agent_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("GET", "/v1/agent/assignments", Scope::kAgent,
         [&ctx](Request& r) { return get_assignments(ctx, r); });
  rt.add("POST", "/v1/agent/heartbeat", Scope::kAgent,
         [&ctx](Request& r) { return post_heartbeat(ctx, r); });
  rt.add("POST", "/v1/agent/status", Scope::kAgent,
         [&ctx](Request& r) { return post_status(ctx, r); });
}

}  // namespace fc::api::detail
