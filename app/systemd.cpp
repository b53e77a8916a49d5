#include "app/systemd.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <string>

namespace fc::app::systemd {

namespace {

void send(const std::string& state) {
  // unset_environment=0: the watchdog needs NOTIFY_SOCKET for every ping.
  const int r = sd_notify(0, state.c_str());
  if (r < 0) spdlog::warn("service manager notification failed state={} errno={}", state, -r);
}

}  // namespace

void ready(std::string_view status) { send("READY=1\nSTATUS=" + std::string(status)); }

void reloading() { send("RELOADING=1"); }

void stopping() { send("STOPPING=1\nSTATUS=shutting down"); }

std::chrono::microseconds watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

void watchdog() { send("WATCHDOG=1"); }

}  // namespace fc::app::systemd
