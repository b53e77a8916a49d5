// The service manager's notification protocol (sd_notify(3)) through
// libsystemd: READY=1 once migrations ran and every listener is bound,
// RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 at shutdown, and
// WATCHDOG=1 when the unit sets WatchdogSec=. Without NOTIFY_SOCKET in the
// environment every call does nothing.
#pragma once
#include <chrono>
#include <string_view>

namespace fc::app::systemd {

void ready(std::string_view status);
void reloading();
void stopping();
// The interval at which WATCHDOG=1 must arrive (WATCHDOG_USEC for this
// process), or zero when the watchdog is off.
std::chrono::microseconds watchdog_interval();
void watchdog();

}  // namespace fc::app::systemd
