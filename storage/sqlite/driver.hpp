// The SQLite driver (the default backend): Conn over sqlite3. Only
// storage/db.cpp (Conn::open) includes this.
#pragma once
#include <memory>
#include <string>

#include "storage/db.hpp"

namespace fc::storage::sqlite {

Result<std::unique_ptr<Conn>> open(const std::string& path, OpenMode mode);

}  // namespace fc::storage::sqlite
