// What domains adds to the scheduler (routed hostnames and certificate refs
// of an assignment) and how it binds the certificate service (CertPort).
#include <unordered_set>

#include "domains/detail/impl.hpp"

namespace fc::domains {

void Service::add_to_assignment(storage::Conn& c, const std::string& ws,
                                std::vector<std::string>& hostnames, nlohmann::json& certificates) {
  // Custom domains: routed hostnames; certificates of unrouted domains are withheld.
  std::vector<std::string> withheld;
  if (auto st = assignment_extras(c, ws, hostnames, withheld); !st)
    logger()->warn("domain hostnames not added workspace={} reason={}", ws, st.error().detail);
  auto refs = certs::Service::refs_for_workspace(c, ws);
  if (!refs) {
    logger()->warn("certificate refs not added workspace={} reason={}", ws, refs.error().detail);
    return;
  }
  const std::unordered_set<std::string> withheld_ids(withheld.begin(), withheld.end());
  for (auto& r : refs.value()) {
    const bool skip = r.contains("id") && r["id"].is_string() &&
                      withheld_ids.count(r["id"].get<std::string>()) > 0;
    if (!skip) certificates.push_back(std::move(r));
  }
}

CertPort cert_port(certs::Service& c) {
  CertPort p;
  p.ensure = [&c](std::vector<std::string> names, std::string ws, std::string delegate) {
    auto pref = delegate.empty() ? certs::ChallengePref::kHttp01 : certs::ChallengePref::kDns01;
    return c.ensure(std::move(names), std::move(ws), pref, std::move(delegate));
  };
  p.get = [&c](const std::string& id) -> Result<CertInfo> {
    BOOST_OUTCOME_TRY(v, c.get(id));
    return CertInfo{v.id, v.status, v.not_after_ms, v.last_error, v.version};
  };
  p.stop_renewing = [&c](std::string id) { return c.stop_renewing(std::move(id)); };
  p.resume_renewing = [&c](std::string id) { return c.resume_renewing(std::move(id)); };
  p.remove = [&c](std::string id) { return c.remove(std::move(id)); };
  return p;
}

}  // namespace fc::domains
