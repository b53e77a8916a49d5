// Releases, channels and workspace bindings (docs/releases.md "Model").
#include "releases/detail/impl.hpp"

namespace fc::releases {

using nlohmann::json;

namespace {

// A workspace's "release" (API.md "Releases"): channel, pinned, current.
json binding_view(const store::BindingRow* b) {
  json j = {{"channel", nullptr}, {"pinned", nullptr}, {"current", nullptr}};
  if (!b) return j;
  if (b->channel) j["channel"] = *b->channel;
  if (b->pinned) j["pinned"] = *b->pinned;
  if (b->release) j["current"] = *b->release;
  return j;
}

// The view decorator (scheduler::Service::ViewDecorator): one workspace by
// primary key, a page of them in one query.
Status decorate_view(storage::Conn& c, std::span<const scheduler::Workspace> ws,
                     std::span<json> views) {
  if (ws.size() == 1) {
    BOOST_OUTCOME_TRY(b, store::find_binding(c, ws[0].id));
    views[0]["release"] = binding_view(b ? &*b : nullptr);
    return ok();
  }
  BOOST_OUTCOME_TRY(rows, store::find_bindings(c, scheduler::Service::ids_of(ws)));
  const auto of = scheduler::Service::rows_of(ws, rows);
  for (std::size_t i = 0; i < ws.size(); ++i) views[i]["release"] = binding_view(of[i]);
  return ok();
}

}  // namespace

Service::Service(asio::io_context& io, storage::Database& db, scheduler::Service& sched,
                 const Clock& clock)
    : impl_(std::make_unique<Impl>(io, db, sched, clock)) {
  // The workspace view (GET and every workspace.* event) carries the binding.
  sched.set_view_decorator(kViewDecorator, decorate_view);
}

Service::~Service() = default;

void Service::created_view(const Binding* b, scheduler::CreatedView& view) {
  if (b) {
    const store::BindingRow row{"", b->channel, b->pinned, b->release};
    view.fields["release"] = binding_view(&row);
  } else {
    view.fields["release"] = binding_view(nullptr);
  }
  view.covered.emplace_back(kViewDecorator);
}

json Service::release_json(const Release& r) {
  return {{"name", r.name},
          {"image", r.image},
          {"digest", r.digest.empty() ? json(nullptr) : json(r.digest)},
          {"image_ref", image_ref(r)},
          {"env", r.env},
          {"min_from", r.min_from ? json(*r.min_from) : json(nullptr)},
          {"max_from", r.max_from ? json(*r.max_from) : json(nullptr)},
          {"created_at", format_rfc3339(r.created_at)}};
}

namespace {

// The canonical body of a release: what a second POST must repeat exactly.
std::string body_hash(const Release& r) {
  json j = {{"name", r.name},
            {"image", r.image},
            {"digest", r.digest},
            {"env", r.env},
            {"min_from", r.min_from ? json(*r.min_from) : json(nullptr)},
            {"max_from", r.max_from ? json(*r.max_from) : json(nullptr)}};
  return storage::sha256_hex(j.dump());
}

}  // namespace

awaitable<Result<Release>> Service::create_release(Release r, bool& created, FieldErrors& fields) {
  validate_release(r, fields);
  if (!fields.empty()) co_return make_error(Code::kInvalidArgument, "invalid release");
  auto& i = *impl_;
  r.created_at = i.clock.now_ms();
  const std::string hash = body_hash(r);
  Release out = r;
  created = false;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(existing, store::find_release(c, r.name));
    if (existing) {
      if (existing->body_hash != hash)
        return make_error(Code::kConflict, "release " + r.name +
                                               " exists with another body; releases are immutable");
      out = existing->r;
      created = false;
      return ok();
    }
    for (const auto& [field, ref] : {std::pair{"min_from", r.min_from}, {"max_from", r.max_from}}) {
      if (!ref) continue;
      BOOST_OUTCOME_TRY(found, store::find_release(c, *ref));
      if (!found) return invalid(fields, field, "no release " + *ref);
    }
    BOOST_OUTCOME_TRY(store::insert_release(c, r, hash));
    BOOST_OUTCOME_TRY(found, store::find_release(c, r.name));
    if (found) out = found->r;
    created = true;
    return ok();
  });
  if (!st) co_return st.error();
  if (created)
    releases_logger()->info("release created name={} image={}", out.name, image_ref(out));
  co_return out;
}

Result<Release> Service::get_release(const std::string& name) {
  BOOST_OUTCOME_TRY(found, store::find_release(impl_->db.read(), name));
  if (!found) return make_error(Code::kNotFound, "no release " + name);
  return found->r;
}

Result<std::vector<Release>> Service::list_releases() {
  return store::list_releases(impl_->db.read());
}

awaitable<Result<json>> Service::put_channel(std::string name, std::string release,
                                             FieldErrors& fields) {
  if (!valid_name(name)) co_return invalid(fields, "name", "not a valid channel name");
  auto& i = *impl_;
  store::ChannelRow row{name, release, i.clock.now_ms()};
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_release(c, release));
    if (!found) return invalid(fields, "release", "no release " + release);
    BOOST_OUTCOME_TRY(active, store::list_rollouts(c, true));
    for (const auto& r : active) {
      if (r.channel == name)
        return make_error(Code::kConflict, "rollout " + r.id + " is moving channel " + name);
    }
    return store::put_channel(c, row);
  });
  if (!st) co_return st.error();
  co_return json{
      {"name", row.name}, {"release", row.release}, {"updated_at", format_rfc3339(row.updated_at)}};
}

Result<json> Service::list_channels() {
  BOOST_OUTCOME_TRY(rows, store::list_channels(impl_->db.read()));
  json items = json::array();
  for (const auto& r : rows)
    items.push_back(
        {{"name", r.name}, {"release", r.release}, {"updated_at", format_rfc3339(r.updated_at)}});
  return json{{"items", items}};
}

Result<Resolved> Service::resolve(const std::optional<std::string>& channel,
                                  const std::optional<std::string>& release, FieldErrors& fields) {
  auto& c = impl_->db.read();
  if (channel && release)
    return invalid(fields, "release", "give either channel or release, not both");
  Resolved out;
  std::string name;
  if (channel) {
    BOOST_OUTCOME_TRY(ch, store::find_channel(c, *channel));
    if (!ch) return invalid(fields, "channel", "no channel " + *channel);
    out.binding.channel = *channel;
    name = ch->release;
  } else if (release) {
    out.binding.pinned = *release;
    name = *release;
  } else {
    return invalid(fields, "channel", "give channel or release");
  }
  BOOST_OUTCOME_TRY(rel, store::find_release(c, name));
  if (!rel) return invalid(fields, channel ? "channel" : "release", "no release " + name);
  out.release = rel->r;
  out.binding.release = rel->r.name;
  return out;
}

Result<json> Service::spec_for(const json& current_spec,
                               const std::optional<std::string>& current_release,
                               const Release& to) {
  Env previous;
  if (current_release) {
    BOOST_OUTCOME_TRY(prev, store::find_release(impl_->db.read(), *current_release));
    if (prev) previous = prev->r.env;
  }
  Spec cur;
  json out = current_spec.is_object() ? current_spec : json::object();
  if (auto it = out.find("env"); it != out.end() && it->is_object()) {
    for (auto e = it->begin(); e != it->end(); ++e)
      if (e.value().is_string()) cur.env[e.key()] = e.value().get<std::string>();
  }
  const Spec next = upgrade_spec(cur, previous, to);
  out["image"] = next.image;
  out["env"] = next.env;
  return out;
}

Status Service::bind(storage::Conn& c, const std::string& workspace_id, const Binding& b,
                     std::int64_t now_ms) {
  // A member of an active rollout keeps its binding until the rollout ends:
  // the rollout moves (or restores) it, and a PATCH in between would be
  // overwritten or would make the rollback restore the wrong release.
  BOOST_OUTCOME_TRY(busy, store::active_rollout_of(c, workspace_id));
  if (busy)
    return make_error(
        Code::kConflict,
        "workspace " + workspace_id + " is a member of the active rollout " + *busy +
            ": change its channel or release after the rollout finishes, or abort it");
  return store::put_binding(c, {workspace_id, b.channel, b.pinned, b.release}, now_ms);
}

json Service::binding_json(const std::string& workspace_id) {
  auto b = store::find_binding(impl_->db.read(), workspace_id);
  return binding_view(b && b.value() ? &*b.value() : nullptr);
}

}  // namespace fc::releases
