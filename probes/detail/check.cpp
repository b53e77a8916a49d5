// One probe, step by step (docs/probes.md "A probe"): the configured
// resolvers (dns::resolve, like the domain verifier), a TCP connect to the
// first address, TLS with SNI = hostname whose verification is recorded
// rather than enforced (so a foreign certificate is named, not just refused),
// then GET probes.path with Host = hostname, reading only the status line
// and headers. Every step has its own timeout (probes.timeout_ms).
#include "probes/detail/check.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/asio_net.hpp"
#include "dns/server.hpp"

namespace fc::probes::detail {
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string hex_lower(const unsigned char* p, unsigned n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 0xF]);
  }
  return out;
}

std::string x509_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  return hex_lower(md, n);
}

std::string issuer_common_name(X509* cert) {
  const X509_NAME* name = X509_get_issuer_name(cert);
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string no_dot(std::string s) {
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  return s;
}

std::string where(const tcp::endpoint& ep) {
  const auto a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

std::string net_message(const error_code& ec) {
  return ec == beast::error::timeout ? "timed out" : ec.message();
}

}  // namespace

struct Checker::Impl {
  asio::io_context& io;
  CheckOptions o;
  ssl::context ctx{ssl::context::tls_client};

  Impl(asio::io_context& i, CheckOptions opts) : io(i), o(std::move(opts)) {}
  Status load_trust();
  awaitable<std::optional<Outcome>> resolve(const std::string& host, tcp::endpoint& out);
  awaitable<std::optional<Outcome>> tls(Stream& s, const Target& t, const std::string& peer,
                                        std::string& fingerprint);
  awaitable<Outcome> get(Stream& s, const Target& t, const std::string& peer);
};

// The system store (or probes.ca_bundle instead) plus the internal root.
// Verification runs but never aborts the handshake: the verdict is read
// after it (SSL_get_verify_result), so the probe can say what it saw.
Status Checker::Impl::load_trust() {
  error_code ec;
  if (o.ca_bundle.empty())
    ctx.set_default_verify_paths(ec);
  else
    ctx.load_verify_file(o.ca_bundle, ec);
  if (ec)
    return make_error(Code::kInvalidArgument,
                      "probes.ca_bundle " + (o.ca_bundle.empty() ? "(system store)" : o.ca_bundle) +
                          ": " + ec.message());
  if (!o.internal_root_pem.empty()) {
    ctx.add_certificate_authority(asio::buffer(o.internal_root_pem), ec);
    if (ec) return make_error(Code::kInvalidArgument, "internal root: " + ec.message());
  }
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  return ok();
}

// A first, AAAA when there is none (the order a browser without Happy
// Eyeballs would take); the first address is the one probed.
awaitable<std::optional<Outcome>> Checker::Impl::resolve(const std::string& host,
                                                         tcp::endpoint& out) {
  auto name = dns::Name::from_text(host);
  if (!name) co_return Outcome{false, Step::kDns, "DNS: " + host + ": not a DNS name", ""};
  dns::ResolverOptions ro;
  ro.servers = o.resolvers;
  ro.timeout = o.timeout;
  ro.attempts = 1;
  std::vector<std::string> chain;
  std::string rcode;
  for (const auto type : {dns::RrType::kA, dns::RrType::kAaaa}) {
    auto r = co_await dns::resolve(ro, name.value(), type);
    if (!r) {
      const bool timeout = r.error().code == Code::kTimeout;
      co_return Outcome{
          false, Step::kDns,
          "DNS: " + host + ": " + (timeout ? "no answer (timeout)" : r.error().detail), ""};
    }
    for (const auto& rec : r.value().records) {
      if (const auto* a = std::get_if<dns::ARdata>(&rec.rdata)) {
        out = tcp::endpoint(asio::ip::address_v4(a->addr), o.port);
        co_return std::nullopt;
      }
      if (const auto* a6 = std::get_if<dns::AaaaRdata>(&rec.rdata)) {
        out = tcp::endpoint(asio::ip::address_v6(a6->addr), o.port);
        co_return std::nullopt;
      }
    }
    chain.clear();
    for (const auto& n : r.value().cname_chain) chain.push_back(no_dot(n.to_text()));
    rcode = dns::rcode_name(r.value().rcode);
  }
  co_return Outcome{false, Step::kDns, dns_no_address(host, chain, rcode), ""};
}

awaitable<std::optional<Outcome>> Checker::Impl::tls(Stream& s, const Target& t,
                                                     const std::string& peer,
                                                     std::string& fingerprint) {
  TlsFacts f;
  if (SSL_set_tlsext_host_name(s.native_handle(), t.hostname.c_str()) != 1)
    co_return Outcome{false, Step::kTls, "TLS: cannot set SNI", ""};
  error_code ec;
  beast::get_lowest_layer(s).expires_after(o.timeout);
  co_await s.async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
  f.handshake_ok = !ec;
  f.handshake_error = net_message(ec);
  if (f.handshake_ok) {
    X509Ptr leaf(SSL_get1_peer_certificate(s.native_handle()));
    if (leaf) {
      f.leaf_fingerprint = x509_sha256(leaf.get());
      f.issuer_cn = issuer_common_name(leaf.get());
      f.name_ok =
          X509_check_host(leaf.get(), t.hostname.data(), t.hostname.size(), 0, nullptr) == 1;
      f.chain_ok = SSL_get_verify_result(s.native_handle()) == X509_V_OK;
      f.chain_error = X509_verify_cert_error_string(SSL_get_verify_result(s.native_handle()));
    } else {
      f.handshake_ok = false;
      f.handshake_error = "no certificate served";
    }
  }
  fingerprint = f.leaf_fingerprint;
  co_return judge_tls(f, t.accepted, t.require_ours, peer);
}

awaitable<Outcome> Checker::Impl::get(Stream& s, const Target& t, const std::string& peer) {
  http::request<http::empty_body> req{http::verb::get, o.path, 11};
  req.set(http::field::host,
          o.port == 443 ? t.hostname : t.hostname + ":" + std::to_string(o.port));
  req.set(http::field::user_agent, "fleetcommand-probe/1");
  req.set(http::field::accept, "*/*");
  req.keep_alive(false);
  error_code ec;
  beast::get_lowest_layer(s).expires_after(o.timeout);
  co_await http::async_write(s, req, asio::redirect_error(use_awaitable, ec));
  if (ec)
    co_return Outcome{false, Step::kHttp, "HTTP: request to " + peer + ": " + net_message(ec), ""};
  beast::flat_buffer buf;
  http::response_parser<http::empty_body> parser;
  co_await http::async_read_header(s, buf, parser, asio::redirect_error(use_awaitable, ec));
  if (ec)
    co_return Outcome{false, Step::kHttp, "HTTP: no response from " + peer + ": " + net_message(ec),
                      ""};
  co_return judge_http(static_cast<int>(parser.get().result_int()), peer);
}

Checker::Checker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checker::~Checker() = default;

Result<std::unique_ptr<Checker>> Checker::create(asio::io_context& io, CheckOptions o) {
  auto impl = std::make_unique<Impl>(io, std::move(o));
  BOOST_OUTCOME_TRY(impl->load_trust());
  return std::unique_ptr<Checker>(new Checker(std::move(impl)));
}

// Each step returns early with the outcome that names it.
awaitable<Outcome> Checker::check(Target t) {
  auto& i = *impl_;
  tcp::endpoint ep;
  auto dns_fail = co_await i.resolve(t.hostname, ep);
  if (dns_fail) co_return *dns_fail;
  const std::string peer = where(ep);
  Stream s(i.io, i.ctx);
  error_code ec;
  beast::get_lowest_layer(s).expires_after(i.o.timeout);
  co_await beast::get_lowest_layer(s).async_connect(ep, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return Outcome{false, Step::kConnect, "connect: " + peer + ": " + net_message(ec), ""};
  std::string fingerprint;
  auto tls_fail = co_await i.tls(s, t, peer, fingerprint);
  if (tls_fail) co_return *tls_fail;
  Outcome out = co_await i.get(s, t, peer);
  out.fingerprint = fingerprint;
  beast::get_lowest_layer(s).socket().close(ec);
  co_return out;
}

std::string leaf_fingerprint(std::string_view chain_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())), &BIO_free);
  if (!bio) return {};
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return {};
  return x509_sha256(cert.get());
}

}  // namespace fc::probes::detail
