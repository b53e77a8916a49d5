// Fuzzes what the API server does with bytes from the network before any
// handler runs: Beast's request parser with our limits, the conversion into
// api::Request (path and query percent-decoding, headers), and JSON body
// parsing with typed field reads.
#include "common/asio_net.hpp"  // first: Boost 1.74 Asio needs <utility> (STYLE.md)

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/detail/json_in.hpp"
#include "api/detail/request_convert.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  fc::api::Request req;
  fc::api::detail::convert_request(parser.get(), req);
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;
  std::vector<fc::api::FieldError> errors;
  fc::api::detail::JsonIn in(errors);
  (void)in.str(j, "name", "name", true);
  (void)in.integer(j, "memory_mib", "memory_mib", false);
  (void)in.str_list(j, "regions", "regions");
  (void)in.str_map(j, "labels", "labels");
  (void)in.object(j, "spec", "spec", false);
  in.only(j, {"name", "memory_mib", "regions", "labels", "spec"}, "");
  return 0;
}
