#include "api/detail/scope_tokens.hpp"
#include "api/detail/token_store.hpp"

namespace fc::api::detail {

namespace {

class TokenScopeListener : public scheduler::ScopeListener {
 public:
  explicit TokenScopeListener(TokenStore& tokens) : tokens_(tokens) {}
  Status removing(storage::Conn& c, const std::string& region,
                  const std::string& workspace_id) override {
    return delete_scope_tokens(c, region, workspace_id);
  }
  void removed(const std::string& region, const std::string& workspace_id) override {
    tokens_.remove_scope(region, workspace_id);
  }

 private:
  TokenStore& tokens_;
};

}  // namespace

std::unique_ptr<scheduler::ScopeListener> token_scope_listener(TokenStore& tokens) {
  return std::make_unique<TokenScopeListener>(tokens);
}

}  // namespace fc::api::detail
