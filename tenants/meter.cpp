// The usage meter on a transaction (tenants/service.hpp, usage.hpp).
#include "tenants/detail/store.hpp"
#include "tenants/service.hpp"

namespace fc::tenants {

UsageKey usage_key(const scheduler::Workspace& w, const Tenancy& t) {
  return {w.id,
          t.tenant_id,
          t.plan,
          w.suspended ? "suspended" : "running",
          w.resources.memory_mib,
          w.resources.cpu_millis};
}

namespace {

Status write_pieces(storage::Conn& c, const UsageKey& k, std::int64_t from, std::int64_t to) {
  for (const auto& [s, e] : split_hours(from, to)) {
    BOOST_OUTCOME_TRY(store::insert_interval(c, Interval{k, s, e}));
  }
  return ok();
}

}  // namespace

Status meter(storage::Conn& c, const std::string& workspace_id, const std::optional<UsageKey>& next,
             std::int64_t now_s) {
  BOOST_OUTCOME_TRY(open, store::find_open(c, workspace_id));
  std::int64_t t = now_s;
  if (open) {
    t = close_at(now_s, open->since_s);
    BOOST_OUTCOME_TRY(write_pieces(c, open->key, open->since_s, t));
  }
  if (!next) return store::delete_open(c, workspace_id);
  return store::put_open(c, store::OpenRow{*next, t});
}

Result<std::int64_t> roll_hours(storage::Conn& c, std::int64_t now_s) {
  const std::int64_t h = hour_floor(now_s);
  BOOST_OUTCOME_TRY(rows, store::open_before(c, h));
  std::int64_t written = 0;
  for (auto& o : rows) {
    written += static_cast<std::int64_t>(split_hours(o.since_s, h).size());
    BOOST_OUTCOME_TRY(write_pieces(c, o.key, o.since_s, h));
    o.since_s = h;
    BOOST_OUTCOME_TRY(store::put_open(c, o));
  }
  return written;
}

Result<std::vector<UsageRow>> usage(storage::Conn& c, const std::string& tenant_id,
                                    std::int64_t from_s, std::int64_t to_s,
                                    std::int64_t granularity_s, std::int64_t now_s) {
  BOOST_OUTCOME_TRY(ivs, store::intervals(c, tenant_id, from_s, to_s));
  BOOST_OUTCOME_TRY(open, store::open_of(c, tenant_id));
  for (const auto& o : open) {
    const std::int64_t end = close_at(now_s, o.since_s);
    if (end > o.since_s) ivs.push_back(Interval{o.key, o.since_s, end});
  }
  return aggregate(ivs, from_s, to_s, granularity_s);
}

}  // namespace fc::tenants
