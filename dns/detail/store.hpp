// The dns component's SQL (docs/storage.md "Owners"): tables dns_challenges
// and dns_provider_records, and the 'dns.serial' setting. Nothing else in
// fleetcommand writes SQL on them; others go through dns::ZoneNotifier.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dns/server.hpp"
#include "storage/db.hpp"

namespace fc::dns::detail {

// The next SOA serial, persisted in the caller's transaction: strictly
// increasing across restarts (wraps after 2^32-1, RFC 1982).
Result<std::uint32_t> next_serial(storage::Conn& c);

// Challenges not expired at `now_ms`; `next_expiry` gets the earliest expiry.
Result<std::vector<ChallengeRow>> read_challenges(storage::Conn& c, std::int64_t now_ms,
                                                  std::optional<std::int64_t>* next_expiry);
// Replaces the row (name, value): a challenge presented again gets a new expiry.
Status put_challenge(storage::Conn& c, const std::string& name, const std::string& value,
                     std::int64_t now_ms, std::int64_t expires_at_ms);
Status remove_challenge(storage::Conn& c, const std::string& name, const std::string& value);

// A provider's record as stored: `desired` is the JSON list of rdata texts
// (NULL: to be removed).
Status upsert_provider_record(storage::Conn& c, const std::string& provider, const RrKey& k,
                              std::uint32_t ttl, const std::optional<std::string>& desired,
                              std::int64_t now_ms);
struct StoredProvider {
  RecordMap desired;      // rows with a desired value
  bool unsynced = false;  // any row not 'synced'
};
Result<StoredProvider> provider_records(storage::Conn& c, const std::string& provider);
// Providers with unsynced rows (the sweep's safety net).
Result<std::vector<std::string>> unsynced_providers(storage::Conn& c);
// Up to `limit` unsynced rows, ordered by name and type.
Result<std::vector<ProviderRow>> unsynced_rows(storage::Conn& c, const std::string& provider,
                                               int limit);
// Marks rows pushed; a row whose desired value changed meanwhile stays pending.
Status mark_synced(storage::Conn& c, const std::string& provider,
                   const std::vector<ProviderRow>& rows, std::int64_t now_ms);
Status mark_failed(storage::Conn& c, const std::string& provider,
                   const std::vector<ProviderRow>& rows, const std::string& error,
                   std::int64_t now_ms);

}  // namespace fc::dns::detail
