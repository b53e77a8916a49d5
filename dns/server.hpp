// Embedded authoritative DNS server for one zone, its immutable zone snapshot,
// the stub resolver and the RFC 2136 update client. See docs/dns.md.
#pragma once
#include <algorithm>
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "dns/codec.hpp"
#include "dns/detail/errc.hpp"

namespace fc::dns {

// --- Zone ------------------------------------------------------------------
struct NameServer {
  std::string name;               // absolute, e.g. "ns1.fleet.test."
  std::vector<std::string> ipv4;  // glue, used when the name is inside the zone
  std::vector<std::string> ipv6;
};

struct ZoneRecord {
  std::string name;  // absolute ("www.fleet.test." or without the final dot), inside the zone
  RrType type = RrType::kA;
  std::uint32_t ttl = 60;
  Rdata rdata;
};

// Plain values the daemon builds from its database.
struct ZoneSpec {
  std::string origin;        // "fleet.test."
  std::string mname, rname;  // SOA MNAME / RNAME
  std::uint32_t serial = 1, refresh = 3600, retry = 600, expire = 604800, minimum = 60;
  std::uint32_t ttl = 3600;  // TTL of the SOA and NS RRsets and the glue
  std::vector<NameServer> nameservers;
  std::vector<ZoneRecord> records;
};

struct RRset {
  RrType type = RrType::kA;
  std::uint32_t ttl = 0;
  std::vector<Rdata> rdatas;
};

// One change for ZoneSnapshot::apply. Replacing an RRset is a kRemoveRrset
// followed by kAdds in the same batch.
struct ZoneChange {
  enum class Kind { kAdd, kRemoveRrset, kRemoveName };
  Kind kind = Kind::kAdd;
  ZoneRecord record;  // kRemoveRrset uses name + type, kRemoveName the name only
};

// The bulk of a zone at fleet size, for ZoneSnapshot::build: names one label
// below the origin, each with the RRsets of a group that many names share
// (every workspace of a region has its region's ingress). Two allocations per
// thousand names instead of a ZoneRecord, a Name and an Rdata per record:
// dns::Publisher builds the start's zone from the published rows this way.
class LabelSets {
 public:
  // RRsets of distinct types, each with its rdatas in the order to serve.
  std::uint32_t add_group(std::vector<RRset> rrsets);
  // `label` (lower-cased when stored) with the RRsets of `group`. A label
  // that is not one plain label (a dot, an escape, too long) goes through
  // the checked path, as a record of ZoneSpec::records would.
  void add(std::string_view label, std::uint32_t group);
  std::size_t size() const { return items_.size(); }
  void reserve(std::size_t names, std::size_t label_bytes);

 private:
  friend class ZoneSnapshot;
  struct Item {
    std::uint32_t off = 0, len = 0, group = 0;
  };
  std::vector<std::vector<RRset>> groups_;
  std::string labels_;  // every label's bytes, back to back
  std::vector<Item> items_;
};

// Immutable, shared by every in-flight query; the server swaps the pointer.
// Compact (docs/dns.md "Zone layout"): nodes live in kShards hash shards, each
// an open-addressing index over a node array and two byte arenas (wire-format
// owner names; RRsets with A/AAAA inline and other rdata as wire bytes), about
// 60 bytes per name. Shards are shared between snapshots (copy-on-write), so
// apply() copies only the shards a change touches.
class ZoneSnapshot {
 public:
  // Rejects records outside the zone, CNAME beside other data or at the apex,
  // mismatched rdata types and bad names.
  static Result<std::shared_ptr<const ZoneSnapshot>> build(const ZoneSpec& spec);
  // The same with `names` too, written into each shard in shard order (the
  // start at 1M names: one hash and one copy of the group's encoded RRsets
  // per name). A name that is already there (a duplicate, a challenge's
  // parent) is merged as build() merges records.
  static Result<std::shared_ptr<const ZoneSnapshot>> build(const ZoneSpec& spec,
                                                           const LabelSets& names);
  // A new snapshot = base + changes, with SOA serial `serial`. The SOA and the
  // apex NS come from the spec: changes may not touch them.
  static Result<std::shared_ptr<const ZoneSnapshot>> apply(const ZoneSnapshot& base,
                                                           std::uint32_t serial,
                                                           const std::vector<ZoneChange>& changes);
  ~ZoneSnapshot();

  const Name& origin() const { return origin_; }
  const SoaRdata& soa() const { return soa_; }
  std::uint32_t serial() const { return soa_.serial; }
  std::uint32_t soa_ttl() const { return soa_ttl_; }
  std::uint32_t negative_ttl() const { return std::min(soa_.minimum, soa_ttl_); }  // RFC 2308 §5
  // std::nullopt: the name does not exist (NXDOMAIN). An empty vector: an
  // empty non-terminal (NODATA). Case-insensitive, O(1); the RRsets are
  // decoded from the compact store (a copy).
  std::optional<std::vector<RRset>> find(const Name& name) const;
  bool contains(const Name& name) const;  // find(name).has_value(), without decoding
  Record soa_record() const;
  // Every record, SOA first (not repeated at the end), in a stable order.
  std::vector<Record> all_records() const;
  std::size_t node_count() const;
  std::size_t memory_bytes() const;  // what the shards hold (capacity), for logs and benches
  // The same names with the same RRsets (as sets) as `other`, the apex aside
  // (its SOA serial): whether a zone built again has anything new to serve.
  bool same_data(const ZoneSnapshot& other) const;

 private:
  struct Shard;  // dns/zone.cpp
  static constexpr std::size_t kShards = 2048;

  Name origin_;
  SoaRdata soa_;
  std::uint32_t soa_ttl_ = 3600;
  std::vector<std::shared_ptr<Shard>> shards_;  // never mutated once the snapshot is published
  std::vector<bool> writable_;                  // shards this snapshot owns while it is built

  ZoneSnapshot() = default;
  ZoneSnapshot(const ZoneSnapshot&) = default;
  Status add_bulk(const LabelSets& names);
  Shard& mutable_shard(std::size_t i);
  Status add(const Name& owner, RrType type, std::uint32_t ttl, Rdata rd);
  Status change(const ZoneChange& c);
  void prune(const Name& name);
  std::uint32_t create_node(const Name& name, std::size_t* shard);
};

// --- Server ----------------------------------------------------------------
struct ServerOptions {
  std::string listen = "127.0.0.1:5353";  // host:port, [v6]:port; port 0 picks one for UDP and TCP
  std::vector<std::string> axfr_allow;    // addresses or CIDRs
  std::vector<TsigKey> axfr_tsig;         // signed transfers with these keys are allowed
  std::vector<std::string> secondaries;   // host:port that get NOTIFY on serial changes
  std::uint32_t rrl_responses_per_second = 0;  // per /24 or /56; 0 = off
  std::size_t rrl_table_size = 65536;
  std::chrono::milliseconds tcp_idle_timeout{10000};
  std::size_t max_tcp_connections = 128;
  int notify_attempts = 5;
  std::chrono::milliseconds notify_timeout{1000};
  std::uint16_t edns_udp_size = 1232;  // our advertised and maximum UDP payload
  // UDP worker threads, each with its own socket (SO_REUSEPORT when > 1),
  // batching with recvmmsg/sendmmsg; TCP and NOTIFY stay on the io_context.
  std::size_t udp_workers = 1;
  // Per worker: slots of the direct-mapped answer cache (0 = off). A slot
  // holds one (name, type, EDNS) reply; a new zone snapshot empties them all.
  std::size_t answer_cache_slots = 65536;
};

struct ServerStats {
  std::uint64_t udp_queries = 0, tcp_queries = 0, dropped = 0, rate_limited = 0, slipped = 0;
  std::uint64_t transfers = 0, notifies_acked = 0;
  std::uint64_t cache_hits = 0, cache_misses = 0;  // UDP answer cache
};

// `io` and `clock` must outlive the server; run `io` on one thread (TCP,
// NOTIFY). UDP is answered on `udp_workers` threads of the server's own, which
// read `clock` too.
class Server {
 public:
  Server(asio::io_context& io, ServerOptions opts, const Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status start();  // binds and starts serving; call on or before io.run()
  void stop();  // joins the UDP workers, closes the acceptor; open TCP sessions end at their idle
                // timeout
  // Thread-safe atomic swap. NOTIFY goes to the secondaries when the serial changed.
  void publish(std::shared_ptr<const ZoneSnapshot> zone);
  std::shared_ptr<const ZoneSnapshot> zone() const;
  std::uint16_t port() const;
  ServerStats stats() const;  // a consistent-enough copy of relaxed counters

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// --- Stub resolver -----------------------------------------------------------
struct ResolverOptions {
  std::vector<std::string> servers;         // host:port, tried in order
  std::chrono::milliseconds timeout{2000};  // per attempt
  int attempts = 2;                         // rounds over the whole server list
  std::uint16_t udp_size = 1232;
  bool recursion_desired = true;
};

struct Resolution {
  Rcode rcode = Rcode::kNoError;
  Name name;                      // the final name after the CNAME chain
  std::vector<Record> records;    // answers of the asked type at the final name
  std::vector<Name> cname_chain;  // targets followed, in order
  std::vector<Record> authority;  // e.g. the SOA of a negative answer
  bool authoritative = false;
  std::string server;  // who answered
};

// UDP with TCP fallback on TC; random ids and source ports; a response whose
// id or question does not match is ignored. Errors: kTimeout when no server
// answered, kParse when every answer was malformed.
awaitable<Result<Resolution>> resolve(ResolverOptions opts, Name name, RrType type);

// --- RFC 2136 client ---------------------------------------------------------
struct UpdateOp {
  enum class Kind { kAdd, kDeleteRrset, kDeleteRecord, kDeleteName };
  Kind kind = Kind::kAdd;
  Record record;  // kDeleteRrset uses name+type, kDeleteName uses name only
};

struct UpdateRequest {
  std::string server;  // host:port
  std::string zone;
  std::optional<TsigKey> key;
  std::vector<UpdateOp> ops;
  std::chrono::milliseconds timeout{3000};
  int attempts = 2;
};

// Sends one UPDATE and returns the server's rcode (NOERROR, REFUSED, NOTZONE …)
// after checking the response's TSIG. A TSIG failure reported by the server
// (BADSIG/BADKEY/BADTIME) or NOTAUTH is Errc::kNotAuth, a missing or bad
// signature on the response Errc::kBadResponseTsig (both of class
// kUnauthorized); no answer is kTimeout.
// `clock` (TSIG time) must outlive the returned awaitable.
awaitable<Result<Rcode>> send_update(UpdateRequest req, const Clock& clock);

// Builds the UPDATE message (pure; exposed for tests).
Result<Message> build_update(const UpdateRequest& req, std::uint16_t id);

// One external primary that takes RFC 2136 updates: an entry of dns.providers,
// used by the provider sync (dns::Publisher) and by certs' DNS-01 solver.
struct Rfc2136Target {
  std::string id;      // "<server>/<zone>"
  std::string server;  // host:port
  std::string zone;    // lower case, no trailing dot
  std::optional<TsigKey> key;
  std::chrono::milliseconds retry_base{2000};  // retry_base_ms: the provider sync's backoff base
  // DNS-01 propagation (certs): the servers asked for the challenge TXT before
  // the CA validates — `nameservers` (host:port) when set, else the zone's NS
  // set at `nameserver_port`; given up after `propagation_timeout` (0: off).
  std::vector<std::string> nameservers;
  std::uint16_t nameserver_port = 53;
  std::chrono::milliseconds propagation_timeout{60000};
};
// The "rfc2136" entries of dns.providers (the list config validated); a bad
// TSIG secret is an error naming "dns.providers <zone>.tsig".
Result<std::vector<Rfc2136Target>> parse_rfc2136_targets(const nlohmann::json& providers);
// Sends `ops` in one UPDATE to the target's primary (TSIG-signed when it has a
// key) and checks the answer: send_update's errors, or Errc::kUpdateRejected
// "update answered <RCODE>" for any rcode but NOERROR. `clock` must outlive it.
awaitable<Status> update(const Rfc2136Target& target, std::vector<UpdateOp> ops,
                         std::chrono::milliseconds timeout, const Clock& clock);

// --- What the publisher offers the components that change the zone -----------
// The scheduler (workspaces, regions) and certs (DNS-01 challenges) call this;
// dns::Publisher (dns/publisher.hpp, library fc_dns_publisher) implements it,
// so they link fc_dns only.
class ZoneNotifier {
 public:
  virtual ~ZoneNotifier() = default;
  // Something the zone is built from changed: recompute soon (bursts coalesce).
  // A full pass: every published workspace and challenge is read again.
  virtual void changed() = 0;
  // Narrower signals, so a pass reads only what changed: the published rows
  // of these workspace names (the scheduler: a workspace started or stopped
  // being published, or was deleted), or the DNS-01 challenges (certs).
  // A region's ingress change needs changed(). Default: changed().
  virtual void names_changed(const std::vector<std::string>& workspace_names) {
    (void)workspace_names;
    changed();
  }
  virtual void challenges_changed() { changed(); }
  // Returns once every change signalled before the call is served, or after `max`.
  virtual awaitable<void> settled(std::chrono::milliseconds max) = 0;
  // A TXT `value` at `name` (absolute, no trailing dot) until removed or
  // `expires_at_ms` (table dns_challenges). Call changed() to publish it.
  virtual awaitable<Status> put_challenge(std::string name, std::string value,
                                          std::int64_t expires_at_ms) = 0;
  virtual awaitable<Status> remove_challenge(std::string name, std::string value) = 0;
};

// --- The record set the daemon publishes (pure; dns::Publisher feeds it) ---------
struct RrKey {
  std::string name;  // absolute, lower case, no trailing dot
  std::string type;  // "A", "AAAA", "CNAME", "TXT"
  auto operator<=>(const RrKey&) const = default;
};
struct RrValue {
  std::uint32_t ttl = 0;
  std::vector<std::string> data;  // rdata presentation, sorted, unique
  bool operator==(const RrValue&) const = default;
};
using RecordMap = std::map<RrKey, RrValue>;

struct PublishedName {
  std::string name;  // workspace label
  std::optional<std::string> ingress_hostname;
  std::vector<std::string> ipv4, ipv6;
};
struct ChallengeRow {
  std::string name;  // absolute, no trailing dot
  std::string value;
};

// Workspaces → A/AAAA (or CNAME to the region's ingress hostname); open
// challenges → TXT. Names outside `zone` are skipped.
RecordMap desired_records(const std::vector<PublishedName>& pub,
                          const std::vector<ChallengeRow>& ch, const std::string& zone,
                          std::uint32_t ttl);
// Keys whose value differs between a and b (added, removed or changed), sorted.
std::vector<RrKey> diff_records(const RecordMap& a, const RecordMap& b);
// The ZoneSnapshot::apply batch that turns the old set into `next` for the
// changed keys: every removal first, then the adds (so A ↔ CNAME swaps work).
Result<std::vector<ZoneChange>> zone_changes(const RecordMap& next,
                                             const std::vector<RrKey>& changed);
// Records for ZoneSpec (the challenges at start; a full rebuild).
Result<std::vector<ZoneRecord>> zone_records(const RecordMap& m);
// The RRsets desired_records gives one workspace of a region with this
// ingress, in the order it gives them (type, then rdata text): a CNAME to the
// hostname, else A and AAAA; none without any. For LabelSets at start.
Result<std::vector<RRset>> address_rrsets(const std::optional<std::string>& hostname,
                                          const std::vector<std::string>& ipv4,
                                          const std::vector<std::string>& ipv6, std::uint32_t ttl);
// The served zone is what the publisher compares against (it keeps no second
// copy of the records): true when `zone` has exactly `want` at k — the TTL
// and the same rdata set — or, for want == nullptr, no RRset of k's type.
bool zone_has(const ZoneSnapshot& zone, const RrKey& k, const RrValue* want);
bool name_in_zone(const std::string& name, const std::string& zone);

// The RFC 2136 operations that turn `pushed` into `desired` for one RRset:
// deletes of records we pushed that are no longer wanted (never an RRset or
// name delete: records others added stay), then adds.
struct ProviderRow {
  RrKey key;
  std::uint32_t ttl = 0;
  std::optional<std::vector<std::string>> desired, pushed;
  std::optional<std::string> desired_json;  // as stored, to confirm after the push
};
Result<std::vector<UpdateOp>> provider_ops(const std::vector<ProviderRow>& rows);

}  // namespace fc::dns
