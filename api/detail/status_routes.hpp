// Status chains (docs/status.md): the routes, and the one DNS fact they read
// from dns_routes.cpp. Apart from context.hpp so that adding them did not
// touch every handler's includes.
#pragma once
#include <nlohmann/json.hpp>

#include "api/detail/context.hpp"

namespace fc::dns {
struct Name;
}
namespace fc::domains {
struct Domain;
}

namespace fc::api::detail {

// GET /v1/workspaces/{id}/status, and with ctx.domains GET /v1/domains/{hostname}/status.
void register_status_routes(Context& ctx);
// GET /v1/dns/records' items at `name`: the live zone's RRsets with each
// provider's sync state (dns_routes.cpp).
Result<nlohmann::json> dns_records_at(Context& ctx, const dns::Name& name);
// The admin's chain of a domain reduced to {"ok", "failing"}: the first
// condition that is not True (Live NotProbed, informative, excepted) as
// GET /v1/domains/{hostname}/status shows it, or null (GET /v1/domains).
nlohmann::json domain_failing_step(Context& ctx, const domains::Domain& d);

}  // namespace fc::api::detail
