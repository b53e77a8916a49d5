// storage's own error codes (common/result.hpp "ErrorDomain"); the API maps
// them to HTTP in api/detail/problem.cpp.
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::storage {

enum class Errc : std::uint8_t {
  kConstraint = 1,  // a UNIQUE/FOREIGN KEY/CHECK constraint rejected the write
  kBusy,            // locked past busy_timeout (SQLite); serialization failure (PostgreSQL)
  kClosing,         // the writer is shutting down; nothing more is committed
  kUnavailable,     // the database server cannot be reached (PostgreSQL); retry later
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"constraint", Code::kConflict},
    {"busy", Code::kUnavailable},
    {"closing", Code::kUnavailable},
    {"unavailable", Code::kUnavailable},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kUnavailable));
inline constexpr ErrorDomain kErrorDomain{"storage", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::storage
