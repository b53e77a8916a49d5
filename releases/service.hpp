// fc::releases::Service — releases, channels, workspace bindings and
// rollouts on the database (docs/releases.md). Runs on the one I/O thread.
// The reconciler (start()) takes one step per active rollout per pass,
// derived from the stored state, so a restart resumes exactly.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>  // before common/asio.hpp, which uses std::optional without including it
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "releases/plan.hpp"

namespace fc::storage {
class Database;
class Conn;
}  // namespace fc::storage
namespace fc::scheduler {
class Service;
struct CreatedView;
}  // namespace fc::scheduler

namespace fc::releases {

// What a workspace follows: a channel or a pinned release, and the release
// its spec carries.
struct Binding {
  std::optional<std::string> channel;
  std::optional<std::string> pinned;
  std::optional<std::string> release;
};

// A binding asked for on create or PATCH, resolved against the database:
// the binding to store and the release whose image/env the spec gets.
struct Resolved {
  Binding binding;
  Release release;
};

// Bad input: an Error of Code::kInvalidArgument plus the `fields` list the
// caller passed (the API's 422 `errors`); 404 and 409 are plain Errors.

class Service {
 public:
  Service(asio::io_context& io, storage::Database& db, scheduler::Service& sched,
          const Clock& clock);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Releases. `created` false: the same body was posted before (200).
  awaitable<Result<Release>> create_release(Release r, bool& created, FieldErrors& fields);
  Result<Release> get_release(const std::string& name);
  Result<std::vector<Release>> list_releases();
  static nlohmann::json release_json(const Release& r);

  // Channels.
  awaitable<Result<nlohmann::json>> put_channel(std::string name, std::string release,
                                                FieldErrors& fields);
  Result<nlohmann::json> list_channels();

  // Workspace bindings. resolve() checks a create/PATCH request's `channel`
  // or `release` (exactly one); spec_for() is the workspace spec that
  // carries the release; bind() stores the binding inside the scheduler's
  // create/patch transaction.
  Result<Resolved> resolve(const std::optional<std::string>& channel,
                           const std::optional<std::string>& release, FieldErrors& fields);
  Result<nlohmann::json> spec_for(const nlohmann::json& current_spec,
                                  const std::optional<std::string>& current_release,
                                  const Release& to);
  static Status bind(storage::Conn& c, const std::string& workspace_id, const Binding& b,
                     std::int64_t now_ms);
  // The view decorator's name (scheduler::Service::set_view_decorator).
  static constexpr const char* kViewDecorator = "releases";
  // The view's `release` field for a create that bound `b` (null: none),
  // byte for byte what the decorator would read back (scheduler::CreatedView).
  static void created_view(const Binding* b, scheduler::CreatedView& view);
  // The `release` object of a workspace view: {"channel","pinned","current"}
  // (nulls when the workspace has no binding).
  nlohmann::json binding_json(const std::string& workspace_id);

  // Rollouts: the body of POST /v1/rollouts, checked; 422 through `fields`,
  // 409 for an overlap.
  awaitable<Result<nlohmann::json>> start_rollout(nlohmann::json body, FieldErrors& fields);
  Result<nlohmann::json> rollout_json(const std::string& id);
  Result<nlohmann::json> list_rollouts();
  // pause | resume | abort | promote: 404 unknown, 409 when the state does
  // not allow it.
  awaitable<Result<nlohmann::json>> act(std::string id, std::string action);

  // The reconciler: start() spawns its loop, stop() ends it. reconcile()
  // is one pass over every active rollout (tests call it directly).
  void start();
  void stop();
  awaitable<void> reconcile();
  // Reconciler passes per rollout since start: "full" read the in-flight
  // members, "quiet" found nothing changed and skipped them.
  struct PassCounts {
    std::uint64_t full = 0, quiet = 0;
  };
  PassCounts pass_counts() const;
  // fleetcommand_rollout_passes_total{result} for /metrics.
  std::string metrics_text() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::releases
