#include "api/detail/token_store.hpp"

#include "storage/db.hpp"

namespace fc::api::detail {

namespace {

#define FC_TOKEN_COLUMNS \
  "SELECT id, kind, sha256, region, workspace_id, created_at, last_used_at, tenant_id"
constexpr const char* kSelectAll = FC_TOKEN_COLUMNS " FROM tokens";
constexpr const char* kSelectByHash = FC_TOKEN_COLUMNS " FROM tokens WHERE sha256 = ?";
#undef FC_TOKEN_COLUMNS

TokenKind kind_from(const std::string& s) {
  if (s == "agent") return TokenKind::kAgent;
  if (s == "tenant") return TokenKind::kTenant;
  return TokenKind::kAdmin;
}

// A row selected by kSelectAll or kSelectByHash.
TokenRecord token_row(const storage::Stmt& s) {
  return TokenRecord{
      s.col_text(0), kind_from(s.col_text(1)), s.col_text(2), s.col_text(3), s.col_text(4),
      s.col_int(5),  s.col_opt_int(6),         s.col_text(7)};
}

}  // namespace

Status insert_token(storage::Conn& c, const TokenRecord& r) {
  BOOST_OUTCOME_TRY(st, c.prepare("INSERT INTO tokens(id, kind, sha256, region, workspace_id,"
                                  " created_at, tenant_id) VALUES(?,?,?,?,?,?,?)"));
  std::optional<std::string> region, ws;
  if (!r.region.empty()) region = r.region;
  if (!r.workspace_id.empty()) ws = r.workspace_id;
  return st
      .bind_all(r.id, std::string(kind_name(r.kind)), r.sha256, region, ws, r.created_at,
                r.tenant_id)
      .run();
}

Result<std::vector<TokenRecord>> load_tokens(storage::Conn& c) {
  BOOST_OUTCOME_TRY(st, c.prepare(kSelectAll));
  return st.collect(token_row);
}

Result<std::optional<TokenRecord>> find_token(storage::Conn& c, const std::string& sha256) {
  BOOST_OUTCOME_TRY(st, c.prepare(kSelectByHash));
  st.bind(1, sha256);
  BOOST_OUTCOME_TRY(row, st.step());
  if (!row) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(token_row(st));
}

Result<bool> delete_token(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(st, c.prepare("DELETE FROM tokens WHERE id = ?"));
  BOOST_OUTCOME_TRY(st.bind(1, id).run());
  return c.changes() > 0;
}

Result<std::int64_t> count_tokens(storage::Conn& c) {
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT count(*) FROM tokens"));
  BOOST_OUTCOME_TRY(row, st.step());
  return row ? st.col_int(0) : 0;
}

Status write_last_used(storage::Conn& c,
                       const std::vector<std::pair<std::string, std::int64_t>>& used) {
  for (const auto& [id, t] : used) {
    BOOST_OUTCOME_TRY(st, c.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?"));
    BOOST_OUTCOME_TRY(st.bind_all(t, id).run());
  }
  return ok();
}

Status delete_scope_tokens(storage::Conn& c, const std::string& region,
                           const std::string& workspace_id) {
  if (!region.empty()) {
    BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM tokens WHERE region = ?"));
    BOOST_OUTCOME_TRY(s.bind(1, region).run());
  }
  if (!workspace_id.empty()) {
    BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM tokens WHERE workspace_id = ?"));
    BOOST_OUTCOME_TRY(s.bind(1, workspace_id).run());
  }
  return ok();
}

}  // namespace fc::api::detail
