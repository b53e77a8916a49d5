// SQL of releases, channels, workspace bindings and rollouts (migration
// 0017). Values are bound, never formatted into SQL.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "releases/plan.hpp"
#include "storage/db.hpp"

namespace fc::releases::store {

struct ReleaseRow {
  Release r;
  std::string body_hash;
};
Result<std::optional<ReleaseRow>> find_release(storage::Conn& c, const std::string& name);
Result<std::vector<Release>> list_releases(storage::Conn& c);
Status insert_release(storage::Conn& c, const Release& r, const std::string& body_hash);

struct ChannelRow {
  std::string name;
  std::string release;
  std::int64_t updated_at = 0;
};
Result<std::optional<ChannelRow>> find_channel(storage::Conn& c, const std::string& name);
Result<std::vector<ChannelRow>> list_channels(storage::Conn& c);
Status put_channel(storage::Conn& c, const ChannelRow& ch);

struct BindingRow {
  std::string workspace_id;
  std::optional<std::string> channel, pinned, release;
};
Result<std::optional<BindingRow>> find_binding(storage::Conn& c, const std::string& ws);
// The bindings of these workspaces (any order; none for an unbound one): one
// statement for a page of views.
Result<std::vector<BindingRow>> find_bindings(storage::Conn& c, const std::vector<std::string>& ws);
Result<std::map<std::string, BindingRow>> all_bindings(storage::Conn& c);
Status put_binding(storage::Conn& c, const BindingRow& b, std::int64_t now);
Status set_binding_release(storage::Conn& c, const std::string& ws,
                           const std::optional<std::string>& release, std::int64_t now);

struct RolloutRow {
  std::string id;
  std::optional<std::string> channel;
  std::string selector;  // JSON
  std::optional<std::string> from_release;
  std::string to_release;
  std::string spec;  // JSON
  std::string state;
  int wave = 0;
  int waves = 1;
  std::int64_t wave_started_at = 0;
  std::optional<std::int64_t> bake_started_at, promoted_wave, acked_wave;
  std::string conditions = "[]";
  std::int64_t created_at = 0, updated_at = 0;
  std::optional<std::int64_t> finished_at;
};
Result<std::optional<RolloutRow>> find_rollout(storage::Conn& c, const std::string& id);
Result<std::vector<RolloutRow>> list_rollouts(storage::Conn& c, bool active_only);
Status insert_rollout(storage::Conn& c, const RolloutRow& r);
Status update_rollout(storage::Conn& c, const RolloutRow& r);

struct MemberRow {
  Member m;
  std::string from_spec;  // JSON
  std::optional<std::string> from_release;
};
Status insert_member(storage::Conn& c, const std::string& rollout_id, const MemberRow& m);
// Members of a rollout: of one wave (wave >= 0), in one state (state != ""), or all.
Result<std::vector<MemberRow>> members(storage::Conn& c, const std::string& rollout_id, int wave,
                                       const std::string& state);
Status update_member(storage::Conn& c, const std::string& rollout_id, const MemberRow& m,
                     std::int64_t now);
// Workspace ids that are members of an active (running or paused) rollout.
Result<std::set<std::string>> active_member_ids(storage::Conn& c);
// The active rollout (running, paused, aborting or rolling back) that has the
// workspace as a member, if any.
Result<std::optional<std::string>> active_rollout_of(storage::Conn& c, const std::string& ws);
// Per wave, per state counts.
Result<std::map<int, std::map<std::string, std::int64_t>>> wave_counts(storage::Conn& c,
                                                                       const std::string& id);

}  // namespace fc::releases::store
