// Challenge answers in the database (certs/detail/store.hpp "challenge
// answers"): plain SQL on the caller's connection, no policy.
#include "certs/detail/store.hpp"

namespace fc::certs::detail {

Status put_http_token(storage::Conn& c, const std::string& token, const std::string& key_auth,
                      const std::string& cert_id, std::int64_t expires_at) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(
             "INSERT INTO acme_http_tokens(token, key_authorization, cert_id, expires_at)"
             " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(token) DO UPDATE SET"
             " key_authorization = excluded.key_authorization, expires_at = excluded.expires_at"));
  return s.bind_all(token, key_auth, cert_id, expires_at).run();
}

Status delete_http_token(storage::Conn& c, const std::string& token) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM acme_http_tokens WHERE token = ?"));
  return s.bind(1, token).run();
}

Status delete_http_tokens(storage::Conn& c, const std::string& cert_id, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("DELETE FROM acme_http_tokens WHERE cert_id = ?1 OR expires_at < ?2"));
  return s.bind_all(cert_id, now).run();
}

Result<std::optional<std::string>> http_token_answer(storage::Conn& c, const std::string& token) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT key_authorization FROM acme_http_tokens WHERE token = ?"));
  s.bind(1, token);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.col_text(0));
}

Status remember_external_txt(storage::Conn& c, const ExternalTxt& t, std::int64_t expires_at) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("INSERT INTO cert_dns01_external(server, zone, name, value, expires_at)"
                   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(server, zone, name, value)"
                   " DO UPDATE SET expires_at = excluded.expires_at"));
  return s.bind_all(t.server, t.zone, t.name, t.value, expires_at).run();
}

Status forget_external_txt(storage::Conn& c, const ExternalTxt& t) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM cert_dns01_external WHERE server = ?1 AND zone = ?2"
                                 " AND name = ?3 AND value = ?4"));
  return s.bind_all(t.server, t.zone, t.name, t.value).run();
}

Result<std::vector<ExternalTxt>> expired_external_txt(storage::Conn& c, std::int64_t now,
                                                      int limit) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT server, zone, name, value FROM cert_dns01_external"
                                 " WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2"));
  s.bind_all(now, limit);
  return s.collect([](storage::Stmt& s) {
    return ExternalTxt{s.col_text(0), s.col_text(1), s.col_text(2), s.col_text(3)};
  });
}

}  // namespace fc::certs::detail
