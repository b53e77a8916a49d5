// The configured storage backend (storage.backend): SQLite by default, or
// PostgreSQL through storage.postgres_url (issue #15 §2).
#pragma once
#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"
#include "storage/db.hpp"

namespace fc::app {

bool on_postgres(const config::Config& cfg);
// One connection to the configured backend: the SQLite file, or PostgreSQL
// (every error names the URL with its password replaced, never the password).
Result<std::unique_ptr<storage::Conn>> open_conn(const config::Config& cfg, storage::OpenMode mode);
storage::Database::Options database_options(const config::Config& cfg);

}  // namespace fc::app
