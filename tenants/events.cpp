// The events of tenants/ (tenants/detail/events.hpp).
#include "tenants/detail/events.hpp"

#include "tenants/service.hpp"

namespace fc::tenants {

// TODO(w-tenants): issue #12 §3 — call events::append(c, {type, w.id, w.id,
// view}, now_ms) once the outbox (branch w-events) is merged.
Status append_event(storage::Conn& /*c*/, const std::string& /*type*/,
                    const scheduler::Workspace& /*w*/, const Tenancy& /*t*/,
                    std::int64_t /*now_ms*/) {
  return ok();
}

// TODO(w-tenants): issue #12 §3 — events::append(c, {"usage.hourly", "", hour,
// the hour's usage rows}, now_ms) once the outbox is merged.
Status append_hourly(storage::Conn& /*c*/, std::int64_t /*hour_start_s*/,
                     std::int64_t /*now_ms*/) {
  return ok();
}

}  // namespace fc::tenants
