// storage's own error codes (common/result.hpp "ErrorDomain"); the API maps
// them to HTTP in api/detail/problem.cpp.
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::storage {

enum class Errc : std::uint8_t {
  kConstraint = 1,  // a UNIQUE/FOREIGN KEY/CHECK constraint rejected the write
  kBusy,            // the database stayed locked past busy_timeout
  kClosing,         // the writer is shutting down; nothing more is committed
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"constraint", Code::kConflict},
    {"busy", Code::kUnavailable},
    {"closing", Code::kUnavailable},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kClosing));
inline constexpr ErrorDomain kErrorDomain{"storage", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::storage
