// A response's bytes on the wire, written into one reused buffer per
// connection: the same bytes Beast's serializer writes for the message
// to_beast() builds (tests/api/response_wire_test.cpp compares them), without
// its per-field allocations and buffer sequences (docs/api-server.md "Hot path").
#pragma once
#include <string>
#include <string_view>

#include "api/http.hpp"

namespace fc::api::detail {

// Appends the status line, the fields (Server, Content-Type, X-Request-Id,
// r.headers in order, Connection, Content-Length) and the body to `out`
// (cleared first). False, with `out` unspecified, for what only Beast's
// message gets exactly right: 1xx/204/304 answers, an extra header that
// repeats a name (Beast's set() keeps the last) or names one of the fields
// above, a name or value with CR/LF, a status outside 100-999; the caller then
// writes the Beast message.
bool serialize_response(const Response& r, unsigned version, bool keep_alive,
                        std::string_view request_id, std::string& out);

// The bytes Beast's serializer writes for the message (the reference
// serialize_response() is tested against, and its fallback).
std::string beast_serialize(const Response& r, unsigned version, bool keep_alive,
                            std::string_view request_id);

// serialize_response(), else beast_serialize(), into `out`.
void wire_response(const Response& r, unsigned version, bool keep_alive,
                   std::string_view request_id, std::string& out);

}  // namespace fc::api::detail
