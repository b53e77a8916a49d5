// Reads of dns_provider_records for callers outside dns (GET /v1/dns/records).
#include "dns/server.hpp"
#include "storage/db.hpp"

namespace fc::dns {

Result<std::optional<ProviderRecordState>> provider_record_state(storage::Conn& c,
                                                                 const std::string& provider,
                                                                 const std::string& name,
                                                                 const std::string& type) {
  BOOST_OUTCOME_TRY(q, c.prepare("SELECT state, last_error, synced_at FROM dns_provider_records"
                                 " WHERE provider = ? AND name = ? AND type = ?"));
  q.bind_all(provider, name, type);
  BOOST_OUTCOME_TRY(row, q.step());
  if (!row) return std::optional<ProviderRecordState>();
  return std::optional<ProviderRecordState>(
      ProviderRecordState{q.col_text(0), q.col_opt_text(1), q.col_opt_int(2)});
}

}  // namespace fc::dns
