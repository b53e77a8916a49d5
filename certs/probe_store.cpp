// What the live checks (probes/, docs/probes.md) read of the certificates:
// the current chain of every issued certificate and the internal root.
#include <nlohmann/json.hpp>

#include "certs/detail/store.hpp"
#include "certs/service.hpp"

namespace fc::certs {

Result<std::vector<IssuedChain>> Service::issued_chains(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT id, version, hostnames, chain_pem FROM certificates"
                                 " WHERE chain_pem IS NOT NULL ORDER BY id"));
  std::vector<IssuedChain> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    IssuedChain ic{s.col_text(0), s.col_int(1), {}, s.col_text(3)};
    auto names = nlohmann::json::parse(s.col_text(2), nullptr, false);
    if (names.is_array()) {
      for (const auto& n : names)
        if (n.is_string()) ic.hostnames.push_back(n.get<std::string>());
    }
    out.push_back(std::move(ic));
  }
}

Result<std::string> Service::internal_root_pem(storage::Conn& c) {
  BOOST_OUTCOME_TRY(v, detail::get_meta(c, "internal_root_cert"));
  return v.value_or("");
}

}  // namespace fc::certs
