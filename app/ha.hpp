// Several daemons on one PostgreSQL (issue #15 §2, docs/storage.md "Several
// daemons"): one leader, any number of standbys, all serving the API — the
// model of HashiCorp Vault's and Nomad's HA. The leader holds a lease row
// (migrations/0018_leases.sql) with a fencing token (its epoch); it alone
// loads the scheduler's in-memory state and runs the work that must run once.
// A standby forwards every request to the leader's advertised URL (503 with
// Retry-After while none is known) and takes the lease over once it expires;
// it then starts exactly as a single daemon starts. SQLite: no lease, always
// the leader.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "config/config.hpp"
#include "storage/db.hpp"

namespace fc::app::ha {

inline constexpr const char* kLeaseName = "leader";

struct Holder {
  std::string id;   // the holding daemon (host, pid, random)
  std::string url;  // where standbys forward to
  std::int64_t epoch = 0;
  bool live = false;  // the lease has not expired
};

// The lease of one daemon. try_acquire/read run on a connection of their own
// (autocommit); fence runs inside the leader's every write transaction.
class Lease {
 public:
  explicit Lease(const config::Config& cfg);
  const std::string& holder_id() const { return id_; }
  const std::string& advertise_url() const { return url_; }
  std::int64_t ttl_ms() const { return ttl_ms_; }
  std::int64_t epoch() const { return epoch_.load(); }

  // Takes the lease when nobody holds it, it expired or it is a previous run's
  // of this daemon (same host and address, process gone) (epoch + 1), or
  // renews it when this daemon holds it: true when this daemon holds it now.
  Result<bool> try_acquire(storage::Conn& c);
  // Who holds it, by the database's clock.
  Result<Holder> read(storage::Conn& c);
  // The fencing check, first in every write transaction of the leader: the
  // row must still name this daemon and its epoch (locked FOR SHARE, so a
  // takeover waits for this transaction), and renews it every third of the
  // TTL. Lost: Errc::kUnavailable, and on_lost runs once.
  Status fence(storage::Conn& c);
  // Called once, from the writer's thread, when another daemon took over.
  void set_on_lost(std::function<void()> f) { on_lost_ = std::move(f); }

 private:
  bool previous_run(const Holder& h) const;

  std::string id_;
  std::string url_;
  std::int64_t ttl_ms_;
  std::atomic<std::int64_t> epoch_{0};
  std::int64_t renewed_at_ms_ = 0;  // steady clock, writer thread only
  std::atomic<bool> lost_{false};
  std::function<void()> on_lost_;
};

// The lease thread: every sixth of the TTL, on a connection of its own, it
// tries to take the lease (and renews it once held) and else reads who holds
// it. Once this daemon leads, the group-commit writer renews the lease in its
// fence and the campaign is stopped.
class Campaign {
 public:
  Campaign(const config::Config& cfg, Lease& lease);
  ~Campaign();
  Campaign(const Campaign&) = delete;
  Campaign& operator=(const Campaign&) = delete;
  // on_leader runs once, on the lease thread, when this daemon took the lease.
  void start(std::function<void()> on_leader);
  Holder leader() const;
  void stop();

 private:
  void run(const std::function<void()>& on_leader);
  std::string url_;
  Lease& lease_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> leading_{false};
  Holder leader_;
  std::thread thread_;
};

// Runs this daemon as a standby until it holds the lease (returns -1; the
// campaign keeps renewing it until stopped) or SIGINT/SIGTERM stops it
// (returns the exit code). The API listener forwards every request to the
// leader; /healthz and /readyz are answered here.
int run_standby(const config::Config& cfg, Lease& lease, Campaign& campaign);

}  // namespace fc::app::ha
