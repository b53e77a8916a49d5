// The PostgreSQL driver (libpq): Conn over PGconn. Only storage/db.cpp
// (Conn::open_postgres) and the storage tests include this.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "storage/db.hpp"

namespace fc::storage::postgres {

Result<std::unique_ptr<Conn>> open(const std::string& url);

// SQLite's placeholders as PostgreSQL's: `?NNN` becomes `$NNN`, a bare `?`
// the next number after the largest so far (SQLite's rule). Text in quotes
// and comments is left alone. *params: the highest number used.
std::string translate_placeholders(std::string_view sql, int* params);

// The URL (or key=value string) with its password replaced by "***": what
// logs, errors and Conn::path() show.
std::string redact_url(std::string_view url);

// A migration written for SQLite (migrations/NNNN_*.sql) as PostgreSQL DDL:
// INTEGER is BIGINT, INTEGER PRIMARY KEY an identity column, no WITHOUT ROWID.
std::string schema_from_sqlite(std::string_view sql);

}  // namespace fc::storage::postgres
