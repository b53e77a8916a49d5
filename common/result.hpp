// Result/Error vocabulary shared by every component (STYLE.md "Errors").
#pragma once
#include <string>
#include <utility>

#include <boost/outcome/result.hpp>
#include <boost/outcome/try.hpp>

namespace fc {

// A closed set of error classes. The API maps each to one HTTP status and a
// stable problem type; components put the specifics in `detail`.
enum class Code {
  kInvalidArgument,  // bad input (422 / FORMERR)
  kParse,            // malformed syntax (400)
  kUnauthorized,     // 401
  kForbidden,        // 403
  kNotFound,         // 404
  kConflict,         // 409
  kGone,             // 410
  kTooLarge,         // 413
  kUnsupported,      // 415 / NOTIMP
  kRateLimited,      // 429
  kNoCapacity,       // 503 no-capacity
  kUnavailable,      // 503: a dependency is down; retry
  kTimeout,          // an operation ran out of time
  kIo,               // socket, file or database I/O failed
  kCrypto,           // OpenSSL failure
  kInternal,         // a bug; never caused by input
};

struct Error {
  Code code = Code::kInternal;
  std::string detail;
};

inline Error make_error(Code c, std::string detail) { return Error{c, std::move(detail)}; }

template <class T>
using Result = boost::outcome_v2::result<T, Error, boost::outcome_v2::policy::terminate>;
using Status = Result<void>;

inline auto ok() { return boost::outcome_v2::success(); }

inline const char* code_name(Code c) {
  switch (c) {
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kParse: return "parse";
    case Code::kUnauthorized: return "unauthorized";
    case Code::kForbidden: return "forbidden";
    case Code::kNotFound: return "not_found";
    case Code::kConflict: return "conflict";
    case Code::kGone: return "gone";
    case Code::kTooLarge: return "too_large";
    case Code::kUnsupported: return "unsupported";
    case Code::kRateLimited: return "rate_limited";
    case Code::kNoCapacity: return "no_capacity";
    case Code::kUnavailable: return "unavailable";
    case Code::kTimeout: return "timeout";
    case Code::kIo: return "io";
    case Code::kCrypto: return "crypto";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace fc
