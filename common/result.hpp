// Result/Error vocabulary shared by every component (STYLE.md "Errors",
// docs/api-server.md "Error model").
//
// An Error has a generic class (`Code`, this small transport-neutral set) and,
// when the failure means something specific to one component, that
// component's own closed code: a value of its `Errc` enum, identified by the
// component's `ErrorDomain` (compare std::error_code / std::error_category).
// Nothing here knows any transport: how an Error becomes an HTTP status, a
// DNS rcode or an exit code is decided by whoever speaks that transport (the
// HTTP mapping lives in api/detail/problem.cpp only).
#pragma once
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/outcome/result.hpp>
#include <boost/outcome/try.hpp>

namespace fc {

// The generic classes. Callers that only care how to react (retry? report?
// give up?) look at this; every component code belongs to one of them.
enum class Code : std::uint8_t {
  kInvalidArgument,  // input is well-formed but not acceptable
  kParse,            // input is malformed
  kUnauthorized,     // no or unknown credentials
  kForbidden,        // valid credentials, not allowed to do this
  kNotFound,         // the named thing does not exist
  kConflict,         // the current state does not allow it (exists, in use, changed)
  kGone,             // existed once, no longer available (compacted, expired)
  kTooLarge,         // over a size limit
  kUnsupported,      // a format, algorithm or feature we do not implement
  kRateLimited,      // throttled; retry later
  kUnavailable,      // a dependency or a resource is missing or down; retry
  kTimeout,          // an operation ran out of time
  kIo,               // socket, file or database I/O failed
  kCrypto,           // a cryptographic operation failed
  kInternal,         // a bug; never caused by input
};

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
    case Code::kUnavailable: return "unavailable";
    case Code::kTimeout: return "timeout";
    case Code::kIo: return "io";
    case Code::kCrypto: return "crypto";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

// One value of a component's closed set: its stable name (for logs and
// metrics; never renamed) and the generic class it belongs to.
struct ErrcEntry {
  const char* name;
  Code generic;
};

// A component's closed set. `entries[v - 1]` describes value v of the
// component's `Errc` enum (values start at 1; 0 means "generic, no component
// code"). Each component defines exactly one, next to its enum, and an
// ADL-found `error_domain(Errc)` that returns it; identity is the address.
struct ErrorDomain {
  const char* component;
  std::span<const ErrcEntry> entries;

  const ErrcEntry* find(std::uint8_t value) const {
    return value >= 1 && value <= entries.size() ? &entries[value - 1] : nullptr;
  }
};

template <class E>
concept ComponentErrc = std::is_enum_v<E> && requires(E e) {
  { error_domain(e) } -> std::same_as<const ErrorDomain&>;
};

struct Error {
  Error() = default;
  Error(Code code, std::string detail) : code(code), detail(std::move(detail)) {}
  template <ComponentErrc E>
  Error(E e, std::string detail)
      : detail(std::move(detail)), domain(&error_domain(e)), value(static_cast<std::uint8_t>(e)) {
    const ErrcEntry* entry = domain->find(value);
    code = entry != nullptr ? entry->generic : Code::kInternal;
  }

  // True when this is exactly that component code.
  template <ComponentErrc E>
  bool is(E e) const {
    return domain == &error_domain(e) && value == static_cast<std::uint8_t>(e);
  }

  // Stable name for logs: "scheduler.no_capacity", or the generic class
  // ("not_found") when no component code is set.
  std::string name() const {
    const ErrcEntry* entry = domain != nullptr ? domain->find(value) : nullptr;
    if (entry == nullptr) return code_name(code);
    return std::string(domain->component) + "." + entry->name;
  }

  Code code = Code::kInternal;  // the generic class; always set
  std::string detail;
  const ErrorDomain* domain = nullptr;  // whose component code `value` is; null = generic
  std::uint8_t value = 0;
};

inline Error make_error(Code c, std::string detail) { return Error(c, std::move(detail)); }
template <ComponentErrc E>
Error make_error(E e, std::string detail) {
  return Error(e, std::move(detail));
}

// The same error (class and component code) with context in front of its detail.
inline Error with_context(Error e, const std::string& context) {
  e.detail = context + ": " + e.detail;
  return e;
}

template <class T>
using Result = boost::outcome_v2::result<T, Error, boost::outcome_v2::policy::terminate>;
using Status = Result<void>;

inline auto ok() { return boost::outcome_v2::success(); }

}  // namespace fc
