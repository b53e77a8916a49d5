// The agent and tenant tokens of a deleted region or workspace go with it:
// api's side of scheduler::ScopeListener (docs/storage.md "Table owners").
#pragma once
#include <memory>
#include <string>

#include "api/detail/tokens.hpp"
#include "scheduler/service.hpp"

namespace fc::api::detail {

// Deletes in the scheduler's transaction, forgets them in `tokens` after commit.
std::unique_ptr<scheduler::ScopeListener> token_scope_listener(TokenStore& tokens);

}  // namespace fc::api::detail
