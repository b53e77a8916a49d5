// releases::Service::Impl, shared by service.cpp (releases, channels,
// bindings), rollouts.cpp (start, actions, views) and reconcile.cpp.
#pragma once
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "releases/body.hpp"
#include "releases/detail/store.hpp"
#include "releases/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"

namespace fc::releases {

// The component's own logger ("releases"), a clone of the default one.
inline std::shared_ptr<spdlog::logger> releases_logger() {
  static auto l = [] {
    auto existing = spdlog::get("releases");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("releases");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

// The rollout events (rollout.started, .wave_started, .paused, .resumed,
// .promoted, .completed, .aborted, .rolled_back), appended inside the
// transaction that makes the transition (events::append once merged).
Status record_event(storage::Conn& c, const std::string& type, const std::string& rollout_id,
                    const nlohmann::json& data, std::int64_t now_ms);

// A 422 entry for `field`, and the error that carries it to the API.
inline Error invalid(FieldErrors& fields, const std::string& field, const std::string& message) {
  fields.push_back({field, message});
  return make_error(Code::kInvalidArgument, field + ": " + message);
}

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  scheduler::Service& sched;
  const Clock& clock;
  IdGenerator ids;
  asio::steady_timer sleeper;
  bool running = false;
  bool stopped = false;
  // What a pass that decided "wait" saw, per rollout: while none of it
  // changes and nothing falls due, the next pass would decide the same, so
  // it is skipped without reading the members (reconcile.cpp, BENCHMARKS.md
  // "Releases").
  struct Quiet {
    std::string state;
    int wave = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> bake_started_at, promoted_wave, acked_wave;
    std::uint64_t epoch = 0;
    std::map<std::string, bool> up;
    std::int64_t due_ms = 0;  // the first deadline or bake end; at most kMaxQuiet away
  };
  std::map<std::string, Quiet> quiet;
  PassCounts passes;

  Impl(asio::io_context& i, storage::Database& d, scheduler::Service& s, const Clock& c)
      : io(i), db(d), sched(s), clock(c), sleeper(i) {}

  awaitable<void> loop();
  awaitable<Status> reconcile_one(std::string id);
  awaitable<Status> observe_in_flight(const store::RolloutRow& r, const RolloutSpec& spec);
  awaitable<Status> start_members(const store::RolloutRow& r, const RolloutSpec& spec,
                                  std::vector<store::MemberRow> wave);
  awaitable<Status> roll_back(std::string id, std::string final_state, std::string why);
  std::map<std::string, bool> regions_up();
  void wake() { sleeper.cancel(); }
};

}  // namespace fc::releases
