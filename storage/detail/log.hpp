// storage's own named logger ("storage"): the one app/logging.cpp registers with
// the configured format and level, else a clone of the default logger.
#pragma once
#include <spdlog/spdlog.h>

#include <memory>

namespace fc::storage::detail {

inline std::shared_ptr<spdlog::logger> logger() {
  static auto l = [] {
    auto existing = spdlog::get("storage");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("storage");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

}  // namespace fc::storage::detail
