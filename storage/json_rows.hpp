// The one SQL spelling that differs by backend for a JSON array bound as a
// single parameter (docs/storage.md "Two backends"): its elements as rows of
// `value` text. Any number of ids is then one statement:
//   "... WHERE id IN (SELECT value FROM " + json_rows(c) + "(?1))"
#pragma once
#include <string>

#include "storage/db.hpp"

namespace fc::storage {

// SQLite's json_each, PostgreSQL's json_array_elements_text.
inline std::string json_rows(const Conn& c) {
  return c.dialect() == Dialect::kPostgres ? "json_array_elements_text" : "json_each";
}

}  // namespace fc::storage
