// releases, channels, workspace_releases, rollouts, rollout_members (0017).
#include "releases/detail/store.hpp"

#include <nlohmann/json.hpp>

#include "storage/json_rows.hpp"

namespace fc::releases::store {

using nlohmann::json;

namespace {

Env env_from(const std::string& text) {
  Env out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  return out;
}

constexpr const char* kReleaseCols =
    "SELECT name, seq, image, digest, env, min_from, max_from, body_hash, created_at FROM releases";

ReleaseRow release_from(storage::Stmt& s) {
  ReleaseRow row;
  row.r.name = s.col_text(0);
  row.r.seq = s.col_int(1);
  row.r.image = s.col_text(2);
  row.r.digest = s.col_text(3);
  row.r.env = env_from(s.col_text(4));
  row.r.min_from = s.col_opt_text(5);
  row.r.max_from = s.col_opt_text(6);
  row.body_hash = s.col_text(7);
  row.r.created_at = s.col_int(8);
  return row;
}

constexpr const char* kRolloutCols =
    "SELECT id, channel, selector, from_release, to_release, spec, state, wave, waves,"
    " wave_started_at, bake_started_at, promoted_wave, acked_wave, conditions, created_at,"
    " updated_at, finished_at FROM rollouts";

RolloutRow rollout_from(storage::Stmt& s) {
  RolloutRow r;
  r.id = s.col_text(0);
  r.channel = s.col_opt_text(1);
  r.selector = s.col_text(2);
  r.from_release = s.col_opt_text(3);
  r.to_release = s.col_text(4);
  r.spec = s.col_text(5);
  r.state = s.col_text(6);
  r.wave = static_cast<int>(s.col_int(7));
  r.waves = static_cast<int>(s.col_int(8));
  r.wave_started_at = s.col_int(9);
  r.bake_started_at = s.col_opt_int(10);
  r.promoted_wave = s.col_opt_int(11);
  r.acked_wave = s.col_opt_int(12);
  r.conditions = s.col_text(13);
  r.created_at = s.col_int(14);
  r.updated_at = s.col_int(15);
  r.finished_at = s.col_opt_int(16);
  return r;
}

}  // namespace

Result<std::optional<ReleaseRow>> find_release(storage::Conn& c, const std::string& name) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string(kReleaseCols) + " WHERE name = ?1"));
  s.bind(1, name);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<ReleaseRow>();
  return std::optional<ReleaseRow>(release_from(s));
}

Result<std::vector<Release>> list_releases(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string(kReleaseCols) + " ORDER BY seq"));
  std::vector<Release> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(release_from(s).r);
  }
}

Status insert_release(storage::Conn& c, const Release& r, const std::string& body_hash) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO releases(name, seq, image, digest, env, min_from, max_from,"
                   " body_hash, created_at) VALUES(?1, (SELECT coalesce(max(seq), 0) + 1 FROM"
                   " releases), ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  return s
      .bind_all(r.name, r.image, r.digest, json(r.env).dump(), r.min_from, r.max_from, body_hash,
                r.created_at)
      .run();
}

Result<std::optional<ChannelRow>> find_channel(storage::Conn& c, const std::string& name) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT name, release, updated_at FROM channels WHERE name = ?1"));
  s.bind(1, name);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<ChannelRow>();
  return std::optional<ChannelRow>(ChannelRow{s.col_text(0), s.col_text(1), s.col_int(2)});
}

Result<std::vector<ChannelRow>> list_channels(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT name, release, updated_at FROM channels ORDER BY name"));
  std::vector<ChannelRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(ChannelRow{s.col_text(0), s.col_text(1), s.col_int(2)});
  }
}

Status put_channel(storage::Conn& c, const ChannelRow& ch) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare("INSERT INTO channels(name, release, updated_at) VALUES(?1, ?2, ?3)"
                              " ON CONFLICT(name) DO UPDATE SET release = excluded.release,"
                              " updated_at = excluded.updated_at"));
  return s.bind_all(ch.name, ch.release, ch.updated_at).run();
}

namespace {
BindingRow binding_row(storage::Stmt& s) {
  return {s.col_text(0), s.col_opt_text(1), s.col_opt_text(2), s.col_opt_text(3)};
}
}  // namespace

Result<std::optional<BindingRow>> find_binding(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id, channel, pinned, release FROM"
                                 " workspace_releases WHERE workspace_id = ?1"));
  s.bind(1, ws);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<BindingRow>();
  return std::optional<BindingRow>(binding_row(s));
}

Result<std::vector<BindingRow>> find_bindings(storage::Conn& c,
                                              const std::vector<std::string>& ws) {
  // The ids travel as one JSON array parameter (docs/storage.md "Two backends").
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id, channel, pinned, release FROM"
                                 " workspace_releases WHERE workspace_id IN"
                                 " (SELECT value FROM " +
                                 storage::json_rows(c) + "(?1))"));
  s.bind(1, json(ws).dump());
  return s.collect(binding_row);
}

Result<std::map<std::string, BindingRow>> all_bindings(storage::Conn& c) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT workspace_id, channel, pinned, release FROM workspace_releases"));
  std::map<std::string, BindingRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    BindingRow b{s.col_text(0), s.col_opt_text(1), s.col_opt_text(2), s.col_opt_text(3)};
    out.emplace(b.workspace_id, std::move(b));
  }
}

Status put_binding(storage::Conn& c, const BindingRow& b, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO workspace_releases(workspace_id, channel, pinned, release,"
                   " updated_at) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(workspace_id) DO UPDATE"
                   " SET channel = excluded.channel, pinned = excluded.pinned,"
                   " release = excluded.release, updated_at = excluded.updated_at"));
  return s.bind_all(b.workspace_id, b.channel, b.pinned, b.release, now).run();
}

Status set_binding_release(storage::Conn& c, const std::string& ws,
                           const std::optional<std::string>& release, std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE workspace_releases SET release = ?2, updated_at = ?3"
                                 " WHERE workspace_id = ?1"));
  return s.bind_all(ws, release, now).run();
}

Result<std::optional<RolloutRow>> find_rollout(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string(kRolloutCols) + " WHERE id = ?1"));
  s.bind(1, id);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<RolloutRow>();
  return std::optional<RolloutRow>(rollout_from(s));
}

Result<std::vector<RolloutRow>> list_rollouts(storage::Conn& c, bool active_only) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare(
          active_only
              ? std::string(kRolloutCols) +
                    " WHERE state IN ('running', 'paused', 'aborting', 'rolling_back') ORDER BY id"
              : std::string(kRolloutCols) + " ORDER BY id"));
  std::vector<RolloutRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(rollout_from(s));
  }
}

Status insert_rollout(storage::Conn& c, const RolloutRow& r) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO rollouts(id, channel, selector, from_release, to_release, spec,"
                   " state, wave, waves, wave_started_at, conditions, created_at, updated_at)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
  return s
      .bind_all(r.id, r.channel, r.selector, r.from_release, r.to_release, r.spec, r.state,
                static_cast<std::int64_t>(r.wave), static_cast<std::int64_t>(r.waves),
                r.wave_started_at, r.conditions, r.created_at, r.updated_at)
      .run();
}

Status update_rollout(storage::Conn& c, const RolloutRow& r) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("UPDATE rollouts SET state = ?2, wave = ?3, wave_started_at = ?4,"
                   " bake_started_at = ?5, promoted_wave = ?6, acked_wave = ?7, conditions = ?8,"
                   " updated_at = ?9, finished_at = ?10 WHERE id = ?1"));
  return s
      .bind_all(r.id, r.state, static_cast<std::int64_t>(r.wave), r.wave_started_at,
                r.bake_started_at, r.promoted_wave, r.acked_wave, r.conditions, r.updated_at,
                r.finished_at)
      .run();
}

Status insert_member(storage::Conn& c, const std::string& rollout_id, const MemberRow& m) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO rollout_members(rollout_id, workspace_id, region, wave, state,"
                   " from_spec, from_release) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  return s
      .bind_all(rollout_id, m.m.workspace_id, m.m.region, static_cast<std::int64_t>(m.m.wave),
                std::string(member_state_name(m.m.state)), m.from_spec, m.from_release)
      .run();
}

Result<std::vector<MemberRow>> members(storage::Conn& c, const std::string& rollout_id, int wave,
                                       const std::string& state) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT workspace_id, region, wave, state, generation, message, started_at,"
                   " from_spec, from_release FROM rollout_members WHERE rollout_id = ?1"
                   " AND (wave = ?2 OR ?2 < 0) AND (state = ?3 OR ?3 = '')"
                   " ORDER BY wave, region, workspace_id"));
  s.bind_all(rollout_id, static_cast<std::int64_t>(wave), state);
  std::vector<MemberRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    MemberRow m;
    m.m.workspace_id = s.col_text(0);
    m.m.region = s.col_text(1);
    m.m.wave = static_cast<int>(s.col_int(2));
    m.m.state = parse_member_state(s.col_text(3)).value_or(MemberState::kPending);
    m.m.generation = s.col_int(4);
    m.m.message = s.col_text(5);
    m.m.started_at = s.col_opt_int(6).value_or(0);
    m.from_spec = s.col_text(7);
    m.from_release = s.col_opt_text(8);
    out.push_back(std::move(m));
  }
}

Status update_member(storage::Conn& c, const std::string& rollout_id, const MemberRow& m,
                     std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("UPDATE rollout_members SET state = ?3, generation = ?4, message = ?5,"
                   " started_at = ?6, from_spec = ?7, finished_at = ?8"
                   " WHERE rollout_id = ?1 AND workspace_id = ?2"));
  const bool done = terminal(m.m.state);
  std::optional<std::int64_t> started;
  if (m.m.started_at > 0) started = m.m.started_at;
  std::optional<std::int64_t> finished;
  if (done) finished = now;
  return s
      .bind_all(rollout_id, m.m.workspace_id, std::string(member_state_name(m.m.state)),
                m.m.generation, m.m.message, started, m.from_spec, finished)
      .run();
}

Result<std::set<std::string>> active_member_ids(storage::Conn& c) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT m.workspace_id FROM rollout_members m JOIN rollouts r"
                   " ON r.id = m.rollout_id"
                   " WHERE r.state IN ('running', 'paused', 'aborting', 'rolling_back')"));
  std::set<std::string> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.insert(s.col_text(0));
  }
}

Result<std::optional<std::string>> active_rollout_of(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT r.id FROM rollout_members m JOIN rollouts r ON r.id = m.rollout_id"
                   " WHERE m.workspace_id = ?1"
                   " AND r.state IN ('running', 'paused', 'aborting', 'rolling_back')"
                   " ORDER BY r.id LIMIT 1"));
  s.bind(1, ws);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.col_text(0));
}

Result<std::map<int, std::map<std::string, std::int64_t>>> wave_counts(storage::Conn& c,
                                                                       const std::string& id) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT wave, state, count(*) FROM rollout_members"
                                 " WHERE rollout_id = ?1 GROUP BY wave, state"));
  s.bind(1, id);
  std::map<int, std::map<std::string, std::int64_t>> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out[static_cast<int>(s.col_int(0))][s.col_text(1)] = s.col_int(2);
  }
}

}  // namespace fc::releases::store
